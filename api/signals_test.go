package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/api"
	"github.com/coattailcapital/coattail/store"
)

const (
	walletA = "0x51f63885534cb494f4592a0311551f369bff2b39"
	walletB = "0xebf1cc891400938e7b881a3b55f3324923a3d8f6"
)

func TestSignalsFilters(t *testing.T) {
	e := newEnv(t, nil)
	a1 := insertSignal(t, e.st, "followed_move", walletA, "ETH", 1000)
	b1 := insertSignal(t, e.st, "alpha_move", walletB, "BTC", 2000)
	a2 := insertSignal(t, e.st, "alpha_move", walletA, "BTC", 3000)
	ids := func(body string) []int64 {
		var out []int64
		for _, s := range decode[[]store.FeedSignal](t, body) {
			out = append(out, s.ID)
		}
		return out
	}
	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{a2, b1, a1}},
		{"?wallet=" + walletA, []int64{a2, a1}},
		{"?wallet=0x" + strings.ToUpper(walletA[2:]), []int64{a2, a1}},
		{"?coin=BTC", []int64{a2, b1}},
		{"?rule=alpha_move&coin=BTC&wallet=" + walletB, []int64{b1}},
		{fmt.Sprintf("?since=%d", b1), []int64{a2}},
		{"?limit=1", []int64{a2}},
		{"?coin=DOGE", nil},
	}
	for _, tt := range tests {
		code, body := do(t, "GET", e.srv.URL+"/api/signals"+tt.query, "", "")
		if code != 200 {
			t.Fatalf("GET %s = %d %s", tt.query, code, body)
		}
		if got := ids(body); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("GET /api/signals%s ids %v, want %v", tt.query, got, tt.want)
		}
	}
	s := decode[[]store.FeedSignal](t, func() string { _, b := do(t, "GET", e.srv.URL+"/api/signals?limit=1", "", ""); return b }())[0]
	if s.Rule != "alpha_move" || s.Wallet != walletA || s.Coin != "BTC" || s.USD != 3000 || s.Side != "long" ||
		s.Action != "open" || string(s.Evidence) != `{"n":1}` {
		t.Errorf("signal %+v (evidence %s): fields not as inserted", s, s.Evidence)
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?since=-1", "?since=x", "?wallet=0x12"} {
		if code, body := do(t, "GET", e.srv.URL+"/api/signals"+q, "", ""); code != 400 {
			t.Errorf("GET /api/signals%s = %d %s, want 400", q, code, body)
		}
	}
}

// sseEvent is one parsed server-sent event.
type sseEvent struct{ id, event, data, comment string }

// openStream connects to the signal stream and delivers its events on a channel until
// the test ends.
func openStream(t *testing.T, url, lastEventID string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	// The client goes first: a server's Close waits for open streams.
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

// next returns the next event that is a signal, skipping comments.
func next(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.event == "signal" {
				return ev
			}
		case <-timeout:
			t.Fatal("no signal event within 10s")
		}
	}
}

func TestSignalStreamDeliversNewSignalsAndResumes(t *testing.T) {
	e := newEnv(t, nil)
	old := insertSignal(t, e.st, "followed_move", walletA, "ETH", 1)
	// Without a cursor the stream starts after the newest existing signal.
	ch := openStream(t, e.srv.URL+"/api/signals/stream", "")
	first := <-ch
	if want := fmt.Sprintf("signals after id %d", old); first.comment != want {
		t.Fatalf("first frame %+v, want the comment %q", first, want)
	}
	s1 := insertSignal(t, e.st, "alpha_move", walletB, "BTC", 2)
	s2 := insertSignal(t, e.st, "alpha_move", walletA, "SOL", 3)
	for _, want := range []int64{s1, s2} {
		ev := next(t, ch)
		if ev.id != fmt.Sprint(want) || !strings.Contains(ev.data, fmt.Sprintf(`"id":%d`, want)) {
			t.Fatalf("event %+v, want signal %d", ev, want)
		}
	}
	// A reconnecting browser sends the last id it saw and gets what it missed, in order.
	s3 := insertSignal(t, e.st, "consensus", walletA, "ETH", 4)
	re := openStream(t, e.srv.URL+"/api/signals/stream", fmt.Sprint(s1))
	for _, want := range []int64{s2, s3} {
		if ev := next(t, re); ev.id != fmt.Sprint(want) {
			t.Fatalf("after Last-Event-ID %d: event %s, want %d", s1, ev.id, want)
		}
	}
	// Filters apply to the stream too.
	f := openStream(t, e.srv.URL+"/api/signals/stream?since=0&coin=SOL", "")
	if ev := next(t, f); ev.id != fmt.Sprint(s2) {
		t.Fatalf("coin=SOL stream: event %s, want %d", ev.id, s2)
	}
	if code, _ := do(t, "GET", e.srv.URL+"/api/signals/stream?limit=0", "", ""); code != 400 {
		t.Errorf("bad filter: %d, want 400", code)
	}
}

func TestSignalStreamHeartbeat(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Heartbeat = 20 * time.Millisecond })
	ch := openStream(t, e.srv.URL+"/api/signals/stream", "")
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.comment == "heartbeat" {
				return
			}
		case <-timeout:
			t.Fatal("no heartbeat comment on an idle stream")
		}
	}
}

// TestShutdownEndsStreams: a server with an open stream shuts down cleanly, instead of
// waiting for the stream until its shutdown timeout and failing.
func TestShutdownEndsStreams(t *testing.T) {
	e := newEnv(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := api.New(api.Config{Store: e.st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/signals/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatalf("stream did not start: %v", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Serve with an open stream: %v, want a clean shutdown", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("the stream should end cleanly at shutdown: %v", err)
	}
}
