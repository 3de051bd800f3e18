package wstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/klauspost/compress/zstd"
)

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// TestServer drives one connection through everything a handler does: frames out,
// a client message in, a ping answered by the client, then a drop.
func TestServer(t *testing.T) {
	before := runtime.NumGoroutine()
	got := make(chan string, 4)
	srv := NewServer(func(c *Conn) {
		got <- c.Request.URL.RequestURI()
		if err := c.SendAll([][]byte{[]byte("one"), []byte("two")}); err != nil {
			t.Errorf("send: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		msg, err := c.Next(ctx)
		if err != nil {
			t.Errorf("next: %v", err)
		}
		got <- string(msg)
		if err := c.Ping(ctx, "p"); err != nil {
			t.Errorf("ping: %v", err)
		}
		got <- "pong"
		c.Drop()
	}, nil)
	ws := dial(t, srv.URL()+"/stream?streams=a@b")
	for _, want := range []string{"one", "two"} {
		_, msg, err := ws.ReadMessage()
		if err != nil || string(msg) != want {
			t.Fatalf("read %q, %v; want %q", msg, err, want)
		}
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	// The default ping handler answers while we read; then the drop ends the read
	// without a close frame.
	_, _, err := ws.ReadMessage()
	var ce *websocket.CloseError
	if err == nil || (errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure) {
		t.Fatalf("read after drop: %v, want an abnormal end", err)
	}
	for _, want := range []string{"/stream?streams=a@b", "hello", "pong"} {
		if g := <-got; g != want {
			t.Errorf("handler saw %q, want %q", g, want)
		}
	}
	if srv.Accepted() != 1 {
		t.Errorf("accepted %d", srv.Accepted())
	}
	ws.Close()
	srv.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left, %d before", n, before)
	}
}

// TestServerRefuseRESTAndClose: refused upgrades get their status, plain requests go
// to the REST handler, and Close ends a held connection.
func TestServerRefuseRESTAndClose(t *testing.T) {
	rest := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "rest:"+r.URL.Path) })
	srv := NewServer(func(c *Conn) { c.Hold() }, rest)
	srv.Refuse(http.StatusServiceUnavailable)
	_, resp, err := websocket.DefaultDialer.Dial(srv.URL(), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("first dial: %v, %v; want 503", err, resp)
	}
	ws := dial(t, srv.URL())
	resp, err = http.Get(srv.HTTPURL() + "/api/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "rest:/api/x" {
		t.Errorf("REST answered %q", body)
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a held connection")
	}
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Error("the connection survived Close")
	}
	srv.Close() // twice is fine
}

func TestReadCapture(t *testing.T) {
	lines := `{"t":"header","format":2,"exchange":"X"}
{"t":"connect","conn":"X.ws.1","ts":1.5,"addr":"wss://x"}
{"t":"send","conn":"X.ws.1","ts":1.6,"data":"{\"type\":\"subscribe\"}"}
{"t":"recv","conn":"X.ws.1","ts":1.7,"data":"{\"a\":1}"}

{"t":"recv","conn":"X.ws.1","ts":1.8,"data":"not json"}
`
	dir := t.TempDir()
	plain := filepath.Join(dir, "c.jsonl")
	if err := os.WriteFile(plain, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	compressed := filepath.Join(dir, "c.jsonl.zst")
	if err := os.WriteFile(compressed, enc.EncodeAll([]byte(lines), nil), 0o600); err != nil {
		t.Fatal(err)
	}
	enc.Close()
	for _, path := range []string{plain, compressed} {
		recs, err := ReadCapture(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(recs) != 5 || recs[1].Addr != "wss://x" || recs[1].TS != 1.5 {
			t.Errorf("%s: records %+v", path, recs)
		}
		got := Frames(recs, "recv")
		if want := [][]byte{[]byte(`{"a":1}`), []byte("not json")}; !slices.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Errorf("%s: recv frames %q", path, got)
		}
		if s := Frames(recs, "send"); len(s) != 1 {
			t.Errorf("%s: send frames %q", path, s)
		}
	}
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"t\":\"recv\"}\n{oops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCapture(bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad capture: %v, want an error naming line 2", err)
	}
	ft := &fakeTB{TB: t}
	if recs := LoadCapture(ft, filepath.Join(dir, "absent.jsonl.zst")); recs != nil || !ft.skipped || ft.failed {
		t.Errorf("absent capture: skipped %v, failed %v", ft.skipped, ft.failed)
	}
}

// fakeTB records Skipf and Fatal instead of ending the test.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()              {}
func (f *fakeTB) Skipf(string, ...any) { f.skipped = true }
func (f *fakeTB) Fatal(...any)         { f.failed = true }
