package main

import (
	"context"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/ingest/wstest"
	"github.com/coattailcapital/coattail/internal/testenv"
)

// `coattail run --sources binance` is switched to a live source by configuration
// alone: pointed at a fake Binance, its trades end up committed in Postgres.
func TestRunWithALiveSourceByConfigurationAlone(t *testing.T) {
	s := newSchema(t)
	ts := time.Now().UTC().Add(-time.Minute).UnixMilli()
	frames := [][]byte{
		[]byte(fmt.Sprintf(`{"stream":"ethusdt@aggTrade","data":{"e":"aggTrade","E":%d,"s":"ETHUSDT","a":1001,"p":"2000.10","q":"1.5","f":1,"l":1,"T":%d,"m":false,"M":true}}`, ts, ts)),
		[]byte(fmt.Sprintf(`{"stream":"ethusdt@aggTrade","data":{"e":"aggTrade","E":%d,"s":"ETHUSDT","a":1002,"p":"2000.20","q":"0.5","f":2,"l":2,"T":%d,"m":true,"M":true}}`, ts+1, ts+1)),
		[]byte(`this frame is not JSON`),
	}
	srv := wstest.NewServer(func(c *wstest.Conn) {
		_ = c.SendAll(frames)
		c.Hold()
	}, http.NotFoundHandler())
	defer srv.Close()
	c := s.cli.with("COATTAIL_SOURCES", "binance", "COATTAIL_BINANCE_SYMBOLS", "ETH-USDT",
		"COATTAIL_BINANCE_WS_URL", srv.URL(), "COATTAIL_BINANCE_REST_URL", srv.HTTPURL(),
		"COATTAIL_HTTP_ADDR", "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, _, stderr := c.command(ctx, "run", "--no-chat")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ok := testenv.WaitFor(ctx, func() bool {
		var n int
		err := s.st.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE src = 'binance' AND kind = 'trade'`).Scan(&n)
		dl, err2 := s.st.DeadLetterCounts(ctx)
		return err == nil && err2 == nil && n == 2 && len(dl) > 0
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	werr := cmd.Wait()
	if !ok {
		t.Fatalf("the live trades were not committed (or the bad frame not dead-lettered); stderr:\n%s", stderr.String())
	}
	if werr != nil {
		t.Errorf("run did not stop cleanly on SIGTERM: %v\n%s", werr, stderr.String())
	}
	var demo int
	if err := s.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM events WHERE src = 'hyperliquid'`).Scan(&demo); err != nil || demo != 0 {
		t.Errorf("demo events %d (err %v): COATTAIL_SOURCES=binance must not play the demo market", demo, err)
	}
}
