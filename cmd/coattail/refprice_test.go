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
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

// A live source starts with its quality gate seeded by the reference prices of the
// stored bars: the first ETH-USDT print after the start, far from where ETH trades on
// the other venues, is dead-lettered instead of becoming the reference, and the sane
// print after it is accepted.
func TestLiveSourceGateIsSeededWithReferencePrices(t *testing.T) {
	s := newSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	end := time.Now().UTC().Truncate(time.Minute)
	bar := store.BarRow{Venue: "coinbase", Symbol: "ETH-USD", Res: "1m", Start: end.Add(-time.Minute), End: end,
		Open: 2000, High: 2001, Low: 1999, Close: 2000, OpenTS: end.Add(-time.Minute), CloseTS: end.Add(-time.Second),
		Volume: 10, Quote: 20000, Trades: 4, Ticks: 4, Final: true}
	if err := pgx.BeginFunc(ctx, s.st.Pool(), func(tx pgx.Tx) error { return store.WriteBars(ctx, tx, []store.BarRow{bar}, false) }); err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UTC().Add(-30 * time.Second).UnixMilli()
	frame := func(id int64, px string) []byte {
		return []byte(fmt.Sprintf(`{"stream":"ethusdt@aggTrade","data":{"e":"aggTrade","E":%d,"s":"ETHUSDT","a":%d,"p":%q,"q":"1","f":%d,"l":%d,"T":%d,"m":false,"M":true}}`,
			ts+id, id, px, id, id, ts+id))
	}
	srv := wstest.NewServer(func(c *wstest.Conn) {
		_ = c.SendAll([][]byte{frame(1001, "5000.00"), frame(1002, "2000.20")})
		c.Hold()
	}, http.NotFoundHandler())
	defer srv.Close()
	c := s.cli.with("COATTAIL_SOURCES", "binance", "COATTAIL_BINANCE_SYMBOLS", "ETH-USDT",
		"COATTAIL_BINANCE_WS_URL", srv.URL(), "COATTAIL_BINANCE_REST_URL", srv.HTTPURL(),
		"COATTAIL_HTTP_ADDR", "127.0.0.1:0")
	cmd, _, stderr := c.command(ctx, "run", "--no-chat")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var prices []string
	ok := testenv.WaitFor(ctx, func() bool {
		dl, err := s.st.DeadLetterCounts(ctx)
		if err != nil || dl["price_deviation"] != 1 {
			return false
		}
		rows, err := s.st.Pool().Query(ctx, `SELECT body::jsonb->>'price' FROM events WHERE src = 'binance' AND kind = 'trade'`)
		if err != nil {
			return false
		}
		prices, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err == nil && len(prices) == 1
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	werr := cmd.Wait()
	if !ok {
		t.Fatalf("want the 5000 print dead-lettered as price_deviation and one trade stored (have %v); stderr:\n%s", prices, stderr.String())
	}
	if prices[0] != "2000.2" {
		t.Errorf("stored trade at %s, want the sane 2000.20", prices[0])
	}
	if werr != nil {
		t.Errorf("run did not stop cleanly on SIGTERM: %v", werr)
	}
}
