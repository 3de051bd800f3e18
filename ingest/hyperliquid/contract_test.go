package hyperliquid_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/hyperliquid"
	"github.com/coattailcapital/coattail/ingest/sourcetest"
	"github.com/coattailcapital/coattail/ingest/wstest"
	"github.com/shopspring/decimal"
)

// TestContract runs the contract suite every source must pass against a fake
// Hyperliquid websocket serving public trades: each trade becomes two fills, and a
// new subscription starts with recent trades the source must not emit again.
func TestContract(t *testing.T) { sourcetest.Run(t, harness{}) }

type harness struct{}

const contractBackoff = 40 * time.Millisecond

// hlTrade is one public trade of the script.
type hlTrade struct {
	coin   string
	tid    uint64
	ms     int64 // offset from base, in milliseconds
	px, sz string
	side   string // the taker's: B or A
}

const (
	buyer  = "0xAAAabbbbcccCDdDdEEeeFfff0000111122223333" // EIP-55 mixed case on the wire
	seller = "0x4444555566667777888899990000aaaabbbbcccc"
)

var baseMS = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC).UnixMilli()

func (tr hlTrade) json() string {
	return fmt.Sprintf(`{"coin":%q,"side":%q,"px":%q,"sz":%q,"hash":"0x%064x","time":%d,"tid":%d,"users":[%q,%q]}`,
		tr.coin, tr.side, tr.px, tr.sz, tr.tid, baseMS+tr.ms, tr.tid, buyer, seller)
}

// fills are the two events the trade must become, written independently of the
// decoder: the buyer's buy, then the seller's sell.
func (tr hlTrade) fills() []event.Event {
	base := event.Event{Kind: event.KindFill, Src: "hyperliquid", TS: time.UnixMilli(baseMS + tr.ms).UTC(), Coin: tr.coin,
		Px: decimal.RequireFromString(tr.px), Sz: decimal.RequireFromString(tr.sz), ID: strconv.FormatUint(tr.tid, 10)}
	buy, sell := base, base
	buy.Wallet, buy.Side = strings.ToLower(buyer), event.Buy
	sell.Wallet, sell.Side = seller, event.Sell
	return []event.Event{buy, sell}
}

func tradesFrame(trades ...hlTrade) []byte {
	parts := make([]string, len(trades))
	for i, tr := range trades {
		parts[i] = tr.json()
	}
	return []byte(`{"channel":"trades","data":[` + strings.Join(parts, ",") + `]}`)
}

// The script. Trade ids are not ordered (Hyperliquid's are not); eth2 and eth3 share a
// millisecond. Part one: a snapshot of recent ETH trades, a pong, a message that is
// not JSON, BTC, then an ETH message whose first trade has a bad price (rejected).
// Part two, after the drop: new snapshots overlapping part one, then a new trade.
var (
	eth1 = hlTrade{"ETH", 907188554740950, 1, "2001.5", "0.10", "B"}
	eth2 = hlTrade{"ETH", 907188554740990, 2, "2001.6", "0.2", "A"}
	eth3 = hlTrade{"ETH", 907188554740970, 2, "2001.7", "0.3", "B"}
	btc1 = hlTrade{"BTC", 907188554741100, 3, "60000", "0.01", "A"}
	eth4 = hlTrade{"ETH", 907188554741200, 4, "abc", "0.4", "B"} // rejected: bad_number
	eth5 = hlTrade{"ETH", 907188554741300, 5, "2001.9", "0.5", "A"}
	eth6 = hlTrade{"ETH", 907188554741400, 6, "2002", "0.6", "B"}
	btc2 = hlTrade{"BTC", 907188554741500, 7, "60001", "0.02", "B"}
	eth7 = hlTrade{"ETH", 907188554741600, 8, "2002.1", "0.7", "A"}
)

func (harness) Start(t *testing.T, opts sourcetest.Options) sourcetest.Setup {
	t.Helper()
	part1 := [][]byte{
		tradesFrame(eth1, eth2, eth3),
		[]byte(`{"channel":"pong"}`),
		[]byte(`{"channel":"trades","data":[`), // cut short: bad_json
		tradesFrame(btc1),
		tradesFrame(eth4, eth5),
	}
	part2 := [][]byte{
		tradesFrame(eth2, eth3, eth5, eth6),
		tradesFrame(btc1, btc2),
		tradesFrame(eth7),
	}
	greet := func(c *wstest.Conn) error {
		if err := c.Send([]byte("Websocket connection established.")); err != nil {
			return err
		}
		// One subscription a coin, each acknowledged.
		for range 2 {
			msg, err := c.Next(context.Background())
			if err != nil {
				return err
			}
			var sub struct {
				Subscription json.RawMessage `json:"subscription"`
			}
			if err := json.Unmarshal(msg, &sub); err != nil {
				t.Errorf("subscription %s: %v", msg, err)
				return err
			}
			if err := c.Send([]byte(`{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":` + string(sub.Subscription) + `}}`)); err != nil {
				return err
			}
		}
		return nil
	}
	srv := sourcetest.NewServer(sourcetest.Play(part1, greet), sourcetest.Play(part2, greet), nil)
	cfg, err := hyperliquid.Config{
		WSURL:      srv.URL() + "/ws",
		InfoURL:    srv.HTTPURL() + "/info",
		Coins:      []string{"ETH", "BTC"},
		MidCoins:   []string{}, // trades only: no allMids
		MinBackoff: contractBackoff,
		MaxBackoff: 4 * contractBackoff,
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second},
		Logger:     slog.New(slog.DiscardHandler),
		Now:        sourcetest.Now,
	}.WithCheckpoint(opts.Resume)
	if err != nil {
		t.Fatal(err)
	}
	src, err := hyperliquid.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fills := func(ts ...hlTrade) []event.Event {
		var out []event.Event
		for _, tr := range ts {
			out = append(out, tr.fills()...)
		}
		return out
	}
	return sourcetest.Setup{
		Source:           src,
		Venue:            srv,
		First:            fills(eth1, eth2, eth3, btc1, eth5),
		Rest:             fills(eth6, btc2, eth7),
		BadFrames:        2,
		Group:            2,                   // a trade's two fills; the checkpoint moves per trade
		MinReconnectWait: contractBackoff / 2, // equal jitter: half the minimum at least
		Rules:            event.Rules{Now: sourcetest.Now},
	}
}
