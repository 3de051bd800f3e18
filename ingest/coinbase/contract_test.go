package coinbase_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/coinbase"
	"github.com/coattailcapital/coattail/ingest/sourcetest"
	"github.com/coattailcapital/coattail/ingest/wstest"
	"github.com/shopspring/decimal"
)

// TestContract runs the contract suite every source must pass against a fake
// Coinbase Advanced Trade websocket: subscriptions, a snapshot of recent trades on
// every connection, updates and heartbeats.
func TestContract(t *testing.T) { sourcetest.Run(t, harness{}) }

type harness struct{}

const contractBackoff = 30 * time.Millisecond

// trade is one market trade of the script.
type trade struct {
	product string
	id      int
	price   string
	size    string
	side    string // the maker's side, as Coinbase writes it
}

func (tr trade) time() time.Time {
	return time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC).Add(time.Duration(tr.id) * 1234567 * time.Nanosecond)
}

func (tr trade) json() string {
	return fmt.Sprintf(`{"product_id":%q,"trade_id":"%d","price":%q,"size":%q,"time":%q,"side":%q}`,
		tr.product, tr.id, tr.price, tr.size, tr.time().Format(time.RFC3339Nano), tr.side)
}

// event is what the trade must become, written independently of the decoder: the
// event carries the taker's side, the opposite of the maker's.
func (tr trade) event() event.Event {
	side := event.Buy
	if tr.side == "BUY" {
		side = event.Sell
	}
	return event.Event{Kind: event.KindTrade, Src: "coinbase", TS: tr.time(), Symbol: tr.product,
		Price: decimal.RequireFromString(tr.price), Qty: decimal.RequireFromString(tr.size), Side: side,
		ID: fmt.Sprint(tr.id)}
}

// tradesFrame is a market_trades message; Coinbase lists trades newest first.
func tradesFrame(seq int, typ string, trades ...trade) []byte {
	parts := make([]string, len(trades))
	for i, tr := range trades {
		parts[len(trades)-1-i] = tr.json()
	}
	return []byte(fmt.Sprintf(`{"channel":"market_trades","client_id":"","timestamp":"2026-01-10T12:00:05.000000001Z","sequence_num":%d,"events":[{"type":%q,"trades":[%s]}]}`,
		seq, typ, strings.Join(parts, ",")))
}

func subscriptionsFrame(seq int) []byte {
	return []byte(fmt.Sprintf(`{"channel":"subscriptions","client_id":"","timestamp":"2026-01-10T12:00:00Z","sequence_num":%d,"events":[{"subscriptions":{"heartbeats":["heartbeats"],"market_trades":["BTC-USD","ETH-USD"]}}]}`, seq))
}

// The script. Part one: a snapshot of four recent trades, a heartbeat, a frame that is
// not JSON, updates, one with a trade of size 0 (rejected). Part two, after the drop:
// a snapshot overlapping part one, then an update.
var (
	btc1001 = trade{"BTC-USD", 1001, "60000.01", "0.01", "BUY"}
	btc1002 = trade{"BTC-USD", 1002, "60000.02", "0.02", "SELL"}
	eth2001 = trade{"ETH-USD", 2001, "2001.10", "1.5", "SELL"}
	eth2002 = trade{"ETH-USD", 2002, "2001.20", "0.25000000", "BUY"}
	eth2003 = trade{"ETH-USD", 2003, "2001.30", "3", "SELL"}
	btc1003 = trade{"BTC-USD", 1003, "60000.03", "0", "SELL"} // rejected: non_positive
	btc1004 = trade{"BTC-USD", 1004, "60000.04", "0.04", "BUY"}
	eth2004 = trade{"ETH-USD", 2004, "2001.40", "4", "BUY"}
	btc1005 = trade{"BTC-USD", 1005, "60000.05", "0.05", "SELL"}
	eth2005 = trade{"ETH-USD", 2005, "2001.50", "5", "SELL"}
	eth2006 = trade{"ETH-USD", 2006, "2001.60", "6", "BUY"}
)

func (harness) Start(t *testing.T, opts sourcetest.Options) sourcetest.Setup {
	t.Helper()
	part1 := [][]byte{
		subscriptionsFrame(0),
		tradesFrame(1, "snapshot", btc1001, eth2001, btc1002, eth2002),
		[]byte(`{"channel":"heartbeats","client_id":"","timestamp":"2026-01-10T12:00:01Z","sequence_num":2,"events":[{"current_time":"2026-01-10 12:00:01","heartbeat_counter":1}]}`),
		[]byte(`{"channel":"market_trades","events":[`), // cut short: bad_json
		tradesFrame(3, "update", eth2003),
		tradesFrame(4, "update", btc1003, btc1004),
		tradesFrame(5, "update", eth2004),
	}
	part2 := [][]byte{
		subscriptionsFrame(0),
		tradesFrame(1, "snapshot", btc1002, eth2003, btc1004, eth2004, btc1005, eth2005),
		tradesFrame(2, "update", eth2006),
	}
	// The client subscribes to market_trades and heartbeats first.
	subscribed := func(c *wstest.Conn) error {
		for range 2 {
			if _, err := c.Next(context.Background()); err != nil {
				return err
			}
		}
		return nil
	}
	srv := sourcetest.NewServer(sourcetest.Play(part1, subscribed), sourcetest.Play(part2, subscribed), nil)
	cfg, err := coinbase.Config{
		URL:        srv.URL(),
		ProductIDs: []string{"BTC-USD", "ETH-USD"},
		BackoffMin: contractBackoff,
		BackoffMax: 4 * contractBackoff,
		Logger:     slog.New(slog.DiscardHandler),
		Now:        sourcetest.Now,
	}.WithCheckpoint(opts.Resume)
	if err != nil {
		t.Fatal(err)
	}
	src, err := coinbase.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sourcetest.Setup{
		Source: src,
		Venue:  srv,
		// The source emits a frame's trades by product, then oldest first.
		First:            sourcetest.Events(trade.event, btc1001, btc1002, eth2001, eth2002, eth2003, btc1004, eth2004),
		Rest:             sourcetest.Events(trade.event, btc1005, eth2005, eth2006),
		BadFrames:        2,
		MinReconnectWait: contractBackoff, // full jitter: the first wait is the minimum
		Rules:            event.Rules{Now: sourcetest.Now},
	}
}
