package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/ingest/wstest"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/jackc/pgx/v5"
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

// A live source saves its checkpoint in Postgres and the next run resumes from it:
// Binance backfills from REST what was traded while the process was down.
func TestLiveSourceResumesFromItsCheckpoint(t *testing.T) {
	s := newSchema(t)
	ts := time.Now().UTC().Add(-time.Minute).UnixMilli()
	trade := func(id int64) map[string]any {
		return map[string]any{"a": id, "p": "2000.10", "q": "1.5", "f": id, "l": id, "T": ts + id - 1000, "m": false, "M": true}
	}
	frame := func(id int64) []byte {
		data := trade(id)
		data["e"], data["E"], data["s"] = "aggTrade", ts, "ETHUSDT"
		b, err := json.Marshal(map[string]any{"stream": "ethusdt@aggTrade", "data": data})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var fromIDs []string
	var mu sync.Mutex
	rest := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, err := strconv.ParseInt(r.URL.Query().Get("fromId"), 10, 64)
		if r.URL.Path != "/api/v3/aggTrades" || err != nil {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		fromIDs = append(fromIDs, r.URL.Query().Get("fromId"))
		mu.Unlock()
		items := []map[string]any{}
		for id := from; id <= 1005; id++ {
			items = append(items, trade(id))
		}
		_ = json.NewEncoder(w).Encode(items)
	})
	// run plays frames to one `coattail run` until the store holds want binance
	// trades, stops it, and returns the checkpoint it left.
	run := func(frames [][]byte, want int) string {
		t.Helper()
		srv := wstest.NewServer(func(c *wstest.Conn) {
			_ = c.SendAll(frames)
			c.Hold()
		}, rest)
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
			return err == nil && n == want
		})
		_ = cmd.Process.Signal(syscall.SIGTERM)
		werr := cmd.Wait()
		if !ok {
			t.Fatalf("%d binance trades never committed; stderr:\n%s", want, stderr.String())
		}
		if werr != nil {
			t.Fatalf("run did not stop cleanly on SIGTERM: %v\n%s", werr, stderr.String())
		}
		pos, found, err := s.st.LoadSourceCheckpoint(context.Background(), "binance")
		if err != nil || !found {
			t.Fatalf("no binance checkpoint after the run (found %v, %v); stderr:\n%s", found, err, stderr.String())
		}
		return string(pos)
	}

	if got, want := run([][]byte{frame(1001), frame(1002)}, 2), `{"last_ids": {"ETH-USDT": 1002}}`; got != want {
		t.Fatalf("checkpoint after the first run %s, want %s", got, want)
	}
	// Down while 1003 and 1004 were traded; the new connection starts at 1005.
	if got, want := run([][]byte{frame(1005)}, 5), `{"last_ids": {"ETH-USDT": 1005}}`; got != want {
		t.Errorf("checkpoint after the second run %s, want %s", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(fromIDs) != 1 || fromIDs[0] != "1003" {
		t.Errorf("REST backfill requests from ids %v, want one from 1003", fromIDs)
	}
	var ids []string
	rows, err := s.st.Pool().Query(context.Background(), `SELECT body::jsonb->>'id' FROM events WHERE src = 'binance' ORDER BY 1`)
	if err == nil {
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil || strings.Join(ids, ",") != "a1001,a1002,a1003,a1004,a1005" {
		t.Errorf("stored trade ids %v (%v), want a1001..a1005 once each", ids, err)
	}
}
