package hyperliquid

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/coattailcapital/coattail/event"
)

// fakeWS is a Hyperliquid websocket server on httptest. Each connection is handed
// to the test, which scripts what the server says.
type fakeWS struct {
	srv   *httptest.Server
	conns chan *wsConn
}

// wsConn is the server side of one connection. A reader goroutine collects what
// the client sends and answers pings with pongs when autoPong is set.
type wsConn struct {
	c         *websocket.Conn
	wmu       sync.Mutex
	recv      chan []byte // client messages other than pings; closed when the client is gone
	pings     chan []byte
	closeCode int // the client's close code, once recv is closed
}

func newFakeWS(t *testing.T, autoPong bool) *fakeWS {
	f := &fakeWS{conns: make(chan *wsConn, 16)}
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wc := &wsConn{c: c, recv: make(chan []byte, 256), pings: make(chan []byte, 1024)}
		go wc.read(autoPong)
		f.conns <- wc
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWS) url() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws" }

// accept waits for the client's next connection.
func (f *fakeWS) accept(t *testing.T) *wsConn {
	t.Helper()
	select {
	case c := <-f.conns:
		t.Cleanup(func() { _ = c.c.Close() })
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("the source did not connect")
		return nil
	}
}

func (c *wsConn) read(autoPong bool) {
	defer close(c.recv)
	for {
		_, msg, err := c.c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.closeCode = ce.Code
			}
			return
		}
		if string(msg) == `{"method":"ping"}` {
			select {
			case c.pings <- msg:
			default:
			}
			if autoPong {
				c.send(`{"channel":"pong"}`)
			}
			continue
		}
		c.recv <- msg
	}
}

func (c *wsConn) send(msgs ...string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, m := range msgs {
		if err := c.c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			return // the client is gone; the test notices by what it receives
		}
	}
}

// drop cuts the connection without a close handshake.
func (c *wsConn) drop() { _ = c.c.UnderlyingConn().Close() }

// expect reads n client messages.
func (c *wsConn) expect(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		select {
		case m, ok := <-c.recv:
			if !ok {
				t.Fatalf("connection closed after %d of %d messages: %q", len(out), n, out)
			}
			out = append(out, string(m))
		case <-time.After(15 * time.Second):
			t.Fatalf("got %d of %d messages: %q", len(out), n, out)
		}
	}
	return out
}

// subscribed checks the subscriptions of a connection and acknowledges them.
func (c *wsConn) subscribed(t *testing.T, coins ...string) {
	t.Helper()
	want := []string{`{"method":"subscribe","subscription":{"type":"allMids"}}`}
	for _, coin := range coins {
		want = append(want, `{"method":"subscribe","subscription":{"type":"trades","coin":"`+coin+`"}}`)
	}
	got := c.expect(t, len(want))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("subscriptions %q, want %q", got, want)
	}
	for _, m := range got {
		var sub struct {
			Subscription json.RawMessage `json:"subscription"`
		}
		_ = json.Unmarshal([]byte(m), &sub)
		c.send(`{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":` + string(sub.Subscription) + `}}`)
	}
}

// Wallets of the written trades.
const (
	buyer  = "0x1111111111111111111111111111111111111111"
	seller = "0x2222222222222222222222222222222222222222"
)

// tradesFrame writes a trades message in Hyperliquid's format: one trade of coin per
// tid, buyer buying from seller.
func tradesFrame(coin string, tids ...int) string {
	var b strings.Builder
	b.WriteString(`{"channel":"trades","data":[`)
	for i, tid := range tids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"coin":%q,"side":"B","px":"%d.5","sz":"0.%d","hash":"0x%064x","time":%d,"tid":%d,"users":[%q,%q]}`,
			coin, 2000+tid, tid, tid, 1767878803000+int64(tid), 907188554740000+tid, buyer, seller)
	}
	b.WriteString(`]}`)
	return b.String()
}

const midsFrame = `{"channel":"allMids","data":{"mids":{"BTC":"60000.5","ETH":"2001.25","SOL":"150.0"}}}`

// wsSetup starts a fake websocket server and info API (answering allMids) and a
// Source on them.
func wsSetup(t *testing.T, autoPong bool, edit func(*Config)) (*fakeWS, *Source, *collector) {
	t.Helper()
	ws := newFakeWS(t, autoPong)
	info := newFakeInfo(t)
	info.answer("allMids", []byte(`{"BTC":"59999.0","ETH":"2000.0","SOL":"149.0"}`))
	cfg := testConfig(info.srv.URL)
	cfg.WSURL = ws.url()
	cfg.Coins = []string{"ETH", "BTC"}
	if edit != nil {
		edit(&cfg)
	}
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ws, src, newCollector()
}

// TestWSReconnect: the first connection delivers some trades and is cut; the second
// must be resubscribed and resends overlapping trades. Every trade must come out
// once, as a buy and a sell, none lost and none twice.
func TestWSReconnect(t *testing.T) {
	ws, src, c := wsSetup(t, true, nil)
	stop := run(t, src, c)

	first := ws.accept(t)
	first.send(greeting)
	first.subscribed(t, "ETH", "BTC")
	first.send(tradesFrame("ETH", 1, 2, 3), tradesFrame("ETH", 4, 5), tradesFrame("BTC", 101, 102), midsFrame)
	first.drop()

	second := ws.accept(t)
	second.subscribed(t, "ETH", "BTC")
	second.send(tradesFrame("ETH", 3, 4, 5, 6), tradesFrame("BTC", 102, 103), tradesFrame("ETH", 7, 8), midsFrame)

	const wantFills, wantPrices = 2 * (8 + 3), 2 + 2 + 2 // ETH and BTC: snapshot + two allMids
	c.waitFor(t, "every trade and price", func(evs []event.Event, _ []rejection) bool {
		return len(ofKind(evs, event.KindFill)) >= wantFills && len(ofKind(evs, event.KindPrice)) >= wantPrices
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	evs, rejs := c.snapshot()
	if len(rejs) != 0 {
		t.Errorf("rejections: %v", rejs)
	}
	fills := ofKind(evs, event.KindFill)
	if len(fills) != wantFills {
		t.Errorf("%d fills, want %d", len(fills), wantFills)
	}
	seen := map[string]bool{}
	var order = map[string][]string{}
	for i := 0; i+1 < len(fills); i += 2 {
		b, s := fills[i], fills[i+1]
		if b.Side != event.Buy || s.Side != event.Sell || b.Wallet != buyer || s.Wallet != seller ||
			b.ID != s.ID || b.Coin != s.Coin || !b.Px.Equal(s.Px) || !b.Sz.Equal(s.Sz) || !b.TS.Equal(s.TS) {
			t.Errorf("fills %d, %d are not the two sides of one trade: %+v / %+v", i, i+1, b, s)
		}
		if b.StartPosition.Valid || b.ClosedPnl.Valid || b.Fee.Valid || b.Dir != "" {
			t.Errorf("a trade-feed fill has fields the feed does not carry: %+v", b)
		}
		for _, ev := range []event.Event{b, s} {
			if seen[ev.Key()] {
				t.Errorf("duplicate fill %s %s %s", ev.Coin, ev.ID, ev.Side)
			}
			seen[ev.Key()] = true
		}
		order[b.Coin] = append(order[b.Coin], b.ID)
	}
	for coin, tids := range map[string][2]int{"ETH": {1, 8}, "BTC": {101, 103}} {
		var want []string
		for tid := tids[0]; tid <= tids[1]; tid++ {
			want = append(want, fmt.Sprint(907188554740000+tid))
		}
		if !slices.Equal(order[coin], want) {
			t.Errorf("%s trade ids %v, want %v (each once, in order)", coin, order[coin], want)
		}
	}
	prices := ofKind(evs, event.KindPrice)
	if len(prices) != wantPrices {
		t.Errorf("%d prices, want %d: %+v", len(prices), wantPrices, prices)
	}
	for _, p := range prices {
		if p.Symbol == "SOL" || !p.TS.Equal(fixedNow()) {
			t.Errorf("price %s at %v: want only ETH and BTC, at the receive time", p.Symbol, p.TS)
		}
	}
	// Clean shutdown: the client said goodbye.
	for range second.recv {
	}
	if second.closeCode != websocket.CloseNormalClosure {
		t.Errorf("close code %d, want %d", second.closeCode, websocket.CloseNormalClosure)
	}
}

// TestWSHeartbeat: the source pings on its own; pongs keep the connection.
func TestWSHeartbeat(t *testing.T) {
	ws, src, c := wsSetup(t, true, func(cfg *Config) { cfg.PingInterval = time.Millisecond })
	stop := run(t, src, c)
	conn := ws.accept(t)
	conn.subscribed(t, "ETH", "BTC")
	for i := 0; i < 3; i++ {
		select {
		case p := <-conn.pings:
			if string(p) != `{"method":"ping"}` {
				t.Fatalf("ping %q", p)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("got %d pings, want 3", i)
		}
	}
	conn.send(tradesFrame("ETH", 1))
	c.waitFor(t, "the trade after the pings", func(evs []event.Event, _ []rejection) bool {
		return len(ofKind(evs, event.KindFill)) == 2
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, rejs := c.snapshot(); len(rejs) != 0 {
		t.Errorf("pongs were rejected: %v", rejs)
	}
}

// TestWSSilentConnection: a connection that goes silent is replaced.
func TestWSSilentConnection(t *testing.T) {
	ws, src, c := wsSetup(t, false, func(cfg *Config) {
		cfg.PingInterval = time.Hour
		cfg.ReadTimeout = 20 * time.Millisecond
	})
	stop := run(t, src, c)
	first := ws.accept(t)
	first.subscribed(t, "ETH", "BTC") // then nothing more
	// Every later connection gets the trade: one of them may itself time out before
	// it is sent. The dedupe makes it one trade whatever the number of connections.
	go func() {
		for {
			select {
			case <-t.Context().Done():
				return
			case conn := <-ws.conns:
				for range 3 {
					<-conn.recv
				}
				conn.send(tradesFrame("BTC", 9))
			}
		}
	}()
	c.waitFor(t, "the trade on a new connection", func(evs []event.Event, _ []rejection) bool {
		return len(ofKind(evs, event.KindFill)) >= 2
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if evs, _ := c.snapshot(); len(ofKind(evs, event.KindFill)) != 2 {
		t.Errorf("fills %+v, want the trade's two", ofKind(evs, event.KindFill))
	}
}

// TestWSMalformed: every bad message or trade is rejected with its reason, and the
// source goes on reading.
func TestWSMalformed(t *testing.T) {
	trade := func(fields string) string {
		return `{"channel":"trades","data":[{` + fields + `}]}`
	}
	const ok = `"coin":"ETH","side":"A","time":1767878803102,"tid":7`
	users := `"users":["` + buyer + `","` + seller + `"]`
	frames := []struct {
		msg, reason string
	}{
		{`not json`, "bad_json"},
		{`{"channel":"trades","data":{"coin":"ETH"}}`, "bad_type"},
		{`{"channel":"candle","data":[]}`, "bad_value"},
		{`{"data":[]}`, "missing_field"},
		{trade(`"coin":"ETH","side":"A","px":"abc","sz":"1","time":1767878803102,"tid":1,` + users), "bad_number"},
		{trade(`"coin":"ETH","side":"A","px":"1","sz":"1","time":1767878803102,"tid":2,"users":["` + buyer + `"]`), "bad_value"},
		{trade(`"coin":"ETH","side":"A","px":"1","sz":"1","time":1767878803102,"tid":3,"users":["` + buyer + `","` + buyer + `"]`), "bad_value"},
		{trade(`"coin":"ETH","side":"A","px":"1","sz":"0","time":1767878803102,"tid":4,` + users), "non_positive"},
		{trade(`"coin":"ETH","side":"A","px":"1","sz":"1","time":1767878803102,"tid":5,"users":["0x12","` + seller + `"]`), "bad_address"},
		{trade(`"coin":"ETH","side":"A","px":"1","sz":"1","time":1767878803102,"tid":-6,` + users), "bad_value"},
		{trade(`"coin":"ETH","side":"X","px":"1","sz":"1","time":1767878803102,"tid":8,` + users), "bad_side"},
		{trade(`"coin":"ETH","side":"A","px":1,"sz":"1","time":1767878803102,"tid":9,` + users), "bad_type"},
		{trade(`"coin":"ETH","side":"A","px":"1","sz":"1","time":1999999999999,"tid":10,` + users), "future_timestamp"},
		{`{"channel":"allMids","data":{"mids":{"ETH":2001}}}`, "bad_type"},
		{`{"channel":"allMids","data":{}}`, "missing_field"},
	}
	ws, src, c := wsSetup(t, false, nil)
	stop := run(t, src, c)
	conn := ws.accept(t)
	conn.subscribed(t, "ETH", "BTC")
	conn.send(`{"channel":"pong"}`)
	for _, f := range frames {
		conn.send(f.msg)
	}
	conn.send(trade(ok + `,"px":"2000.5","sz":"0.25",` + users))
	c.waitFor(t, "the good trade after the bad ones", func(evs []event.Event, _ []rejection) bool {
		return len(ofKind(evs, event.KindFill)) == 2
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	_, rejs := c.snapshot()
	if len(rejs) != len(frames) {
		t.Fatalf("%d rejections, want %d: %v", len(rejs), len(frames), rejs)
	}
	for i, f := range frames {
		if rejs[i].reason != f.reason {
			t.Errorf("frame %d %s: reason %q (%s), want %q", i, f.msg, rejs[i].reason, rejs[i].detail, f.reason)
		}
		if len(rejs[i].raw) == 0 || !strings.Contains(f.msg, string(rejs[i].raw)) {
			t.Errorf("frame %d: raw %q is not the offending input", i, rejs[i].raw)
		}
	}
}

// TestWSSubscriptionRefused: an error answer to a subscription stops Run.
func TestWSSubscriptionRefused(t *testing.T) {
	ws, src, c := wsSetup(t, false, nil)
	done := make(chan error, 1)
	go func() { done <- src.Run(t.Context(), c.emit, c.reject) }()
	conn := ws.accept(t)
	conn.expect(t, 3)
	conn.send(`{"channel":"error","data":"Invalid subscription {\"type\":\"trades\",\"coin\":\"NOPE\"}"}`)
	select {
	case err := <-done:
		if !errors.Is(err, ErrSubscription) || !strings.Contains(err.Error(), "NOPE") {
			t.Errorf("Run: %v, want ErrSubscription quoting the server", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
}

// TestPipelineFailure: when emit fails, Run stops and returns the error.
func TestPipelineFailure(t *testing.T) {
	ws, src, c := wsSetup(t, false, func(cfg *Config) { cfg.MidCoins = []string{} })
	full := errors.New("pipeline full")
	c.fail = full
	done := make(chan error, 1)
	go func() { done <- src.Run(t.Context(), c.emit, c.reject) }()
	conn := ws.accept(t)
	conn.expect(t, 2)
	conn.send(tradesFrame("ETH", 1))
	select {
	case err := <-done:
		if !errors.Is(err, full) {
			t.Errorf("Run: %v, want the emit error", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestRunTwice(t *testing.T) {
	ws, src, c := wsSetup(t, false, nil)
	stop := run(t, src, c)
	ws.accept(t) // the first Run is running
	if err := src.Run(t.Context(), c.emit, c.reject); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run: %v, want ErrRunning", err)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}
