package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/ingest/wstest"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/jackc/pgx/v5/pgxpool"
)

// feedTrades is how many trades each fake venue publishes; the fakes drop the
// socket every dropEvery of them, losing some on the way, until all are out.
const (
	feedTrades = 1200
	dropEvery  = 150
)

// binanceFeed is a fake Binance: aggTrades of ETHUSDT with ids 1..feedTrades on the
// combined-stream websocket, and the REST aggTrades endpoint that backfills gaps.
// Every connection is dropped after dropEvery frames and the next starts 20 trades
// later, so every drop leaves a gap only the REST backfill can close.
type binanceFeed struct {
	t0   time.Time
	mu   sync.Mutex
	next int // first trade id the next connection sends
}

func (b *binanceFeed) ts(id int) int64 {
	return b.t0.Add(time.Duration(id) * 10 * time.Millisecond).UnixMilli()
}

func (b *binanceFeed) item(id int) string {
	return fmt.Sprintf(`{"a":%d,"p":"2000.%02d","q":"0.5","f":%d,"l":%d,"T":%d,"m":%v,"M":true}`, id, id%100, id, id, b.ts(id), id%2 == 0)
}

func (b *binanceFeed) frame(id int) []byte {
	return []byte(fmt.Sprintf(`{"stream":"ethusdt@aggTrade","data":{"e":"aggTrade","E":%d,"s":"ETHUSDT","a":%d,"p":"2000.%02d","q":"0.5","f":%d,"l":%d,"T":%d,"m":%v,"M":true}}`,
		b.ts(id), id, id%100, id, id, b.ts(id), id%2 == 0))
}

func (b *binanceFeed) ws(c *wstest.Conn) {
	b.mu.Lock()
	from := b.next
	b.next = min(from+dropEvery+20, feedTrades+1)
	b.mu.Unlock()
	for id := from; id < from+dropEvery && id <= feedTrades; id++ {
		if err := c.Send(b.frame(id)); err != nil {
			return
		}
	}
	if from+dropEvery <= feedTrades {
		time.Sleep(50 * time.Millisecond)
		c.Drop()
		return
	}
	c.Hold()
}

func (b *binanceFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v3/aggTrades" {
		http.NotFound(w, r)
		return
	}
	from, _ := strconv.Atoi(r.URL.Query().Get("fromId"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	b.mu.Lock()
	upto := min(b.next-1, feedTrades) // the exchange has what it has published
	b.mu.Unlock()
	var items []string
	for id := max(from, 1); id <= upto && len(items) < limit; id++ {
		items = append(items, b.item(id))
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("[" + strings.Join(items, ",") + "]"))
}

// coinbaseFeed is a fake Coinbase Advanced Trade: every connection starts with a
// snapshot of the 50 latest trades (as Coinbase does), then updates; it drops after
// dropEvery updates and the next connection skips 30 trades, which its snapshot
// covers.
type coinbaseFeed struct {
	t0   time.Time
	mu   sync.Mutex
	next int
	seq  int
}

func (f *coinbaseFeed) trade(id int) string {
	side := "BUY"
	if id%3 == 0 {
		side = "SELL"
	}
	return fmt.Sprintf(`{"product_id":"BTC-USD","trade_id":"%d","price":"60000.%02d","size":"0.01","time":%q,"side":%q}`,
		id, id%100, f.t0.Add(time.Duration(id)*10*time.Millisecond).Format(time.RFC3339Nano), side)
}

func (f *coinbaseFeed) frame(typ string, ids ...int) []byte {
	f.seq++
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[len(ids)-1-i] = f.trade(id) // newest first
	}
	return []byte(fmt.Sprintf(`{"channel":"market_trades","client_id":"","timestamp":%q,"sequence_num":%d,"events":[{"type":%q,"trades":[%s]}]}`,
		time.Now().UTC().Format(time.RFC3339Nano), f.seq, typ, strings.Join(parts, ",")))
}

func (f *coinbaseFeed) ws(c *wstest.Conn) {
	f.mu.Lock()
	from := f.next
	f.next = min(from+dropEvery+30, feedTrades+1)
	var snap []int
	for id := max(1, from-50); id < from; id++ {
		snap = append(snap, id)
	}
	snapshot := f.frame("snapshot", snap...)
	var updates [][]byte
	for id := from; id < from+dropEvery && id <= feedTrades; id++ {
		updates = append(updates, f.frame("update", id))
	}
	f.mu.Unlock()
	if err := c.Send(snapshot); err != nil {
		return
	}
	if err := c.SendAll(updates); err != nil {
		return
	}
	if from+dropEvery <= feedTrades {
		time.Sleep(50 * time.Millisecond)
		c.Drop()
		return
	}
	c.Hold()
}

// TestFeedsDropped: `coattail run` with live Binance and Coinbase sources whose
// websockets are dropped again and again mid-stream, trades lost during each drop.
// The process reconnects by itself and every trade ends up committed exactly once.
func TestFeedsDropped(t *testing.T) {
	t0 := time.Now().UTC().Add(-5 * time.Minute)
	bf := &binanceFeed{t0: t0, next: 1}
	bsrv := wstest.NewServer(bf.ws, bf)
	defer bsrv.Close()
	cf := &coinbaseFeed{t0: t0, next: 1}
	csrv := wstest.NewServer(cf.ws, http.NotFoundHandler())
	defer csrv.Close()

	url := testenv.Schema(t)
	_, prefix := testenv.Redis(t)
	e := newEnv(url, testenv.RedisURL(), prefix)
	for k, v := range map[string]string{
		"COATTAIL_SOURCES":           "binance,coinbase",
		"COATTAIL_BINANCE_SYMBOLS":   "ETH-USDT",
		"COATTAIL_BINANCE_WS_URL":    bsrv.URL(),
		"COATTAIL_BINANCE_REST_URL":  bsrv.HTTPURL(),
		"COATTAIL_COINBASE_WS_URL":   csrv.URL(),
		"COATTAIL_COINBASE_PRODUCTS": "BTC-USD",
		"COATTAIL_HTTP_ADDR":         "127.0.0.1:0",
	} {
		e[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := e.start(t, ctx, "run", "--no-chat")
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var countErr error // the last count's error: a count that fails must not read as none committed
	counts := func() (b, c int) {
		// Not ctx: the count after a timeout must still run.
		qctx, qcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer qcancel()
		countErr = pool.QueryRow(qctx, `SELECT count(*) FILTER (WHERE src = 'binance'), count(*) FILTER (WHERE src = 'coinbase') FROM events WHERE kind = 'trade'`).Scan(&b, &c)
		return
	}
	ok := testenv.WaitFor(ctx, func() bool {
		b, c := counts()
		return b >= feedTrades && c >= feedTrades
	})
	b, c := counts()
	p.stop()
	if !ok {
		t.Fatalf("after the drops %d Binance and %d Coinbase trades were committed, want %d each (last count's error: %v)\nstderr:\n%s",
			b, c, feedTrades, countErr, clip(p.stderr.String()))
	}
	// Exactly once: one row per trade id, ids 1..feedTrades, nothing else.
	for _, src := range []string{"binance", "coinbase"} {
		var n, distinct int
		var lo, hi int64
		err := pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT body::jsonb->>'id'),
			min(ltrim(body::jsonb->>'id', 'a')::bigint), max(ltrim(body::jsonb->>'id', 'a')::bigint)
			FROM events WHERE kind = 'trade' AND src = $1`, src).Scan(&n, &distinct, &lo, &hi)
		if err != nil {
			t.Fatal(err)
		}
		if n != feedTrades || distinct != feedTrades || lo != 1 || hi != feedTrades {
			t.Errorf("%s: %d rows, %d distinct ids from %d to %d; want exactly ids 1..%d once", src, n, distinct, lo, hi, feedTrades)
		}
	}
	if bsrv.Accepted() < 4 || csrv.Accepted() < 4 {
		t.Errorf("connections: binance %d, coinbase %d; the fakes drop every %d trades, so expected at least 4 each", bsrv.Accepted(), csrv.Accepted(), dropEvery)
	}
	var sample string
	_ = pool.QueryRow(context.Background(), `SELECT body FROM events WHERE src = 'binance' LIMIT 1`).Scan(&sample)
	var ev map[string]any
	if err := json.Unmarshal([]byte(sample), &ev); err != nil || ev["symbol"] != "ETH-USDT" {
		t.Errorf("a committed Binance trade looks wrong: %s", sample)
	}
	t.Logf("binance: %d connections; coinbase: %d connections; %d trades each committed once", bsrv.Accepted(), csrv.Accepted(), feedTrades)
}
