package binance_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/binance"
	"github.com/coattailcapital/coattail/ingest/sourcetest"
	"github.com/shopspring/decimal"
)

// TestContract runs the contract suite every source must pass against a fake
// Binance: a combined aggTrade stream and the aggTrades REST endpoint that closes the
// gap a reconnect leaves.
func TestContract(t *testing.T) { sourcetest.Run(t, harness{}) }

// harness plays a script of aggregate trades of two symbols.
type harness struct{}

const contractBackoff = 30 * time.Millisecond

// aggTrade is one trade of the script.
type aggTrade struct {
	sym   string // Binance symbol
	id    int64
	price string
	qty   string
	maker bool
}

func (a aggTrade) ms() int64 {
	return time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC).UnixMilli() + a.id
}

// frame is the trade as a combined-stream frame.
func (a aggTrade) frame() []byte {
	return []byte(fmt.Sprintf(`{"stream":"%s@aggTrade","data":{"e":"aggTrade","E":%d,"s":%q,"a":%d,"p":%q,"q":%q,"f":%d,"l":%d,"T":%d,"m":%t,"M":true}}`,
		lower(a.sym), a.ms()+3, a.sym, a.id, a.price, a.qty, a.id*10, a.id*10+1, a.ms(), a.maker))
}

// rest is the trade as an /api/v3/aggTrades item.
func (a aggTrade) rest() map[string]any {
	return map[string]any{"a": a.id, "p": a.price, "q": a.qty, "f": a.id * 10, "l": a.id*10 + 1, "T": a.ms(), "m": a.maker, "M": true}
}

// event is what the trade must become, written independently of the decoder.
func (a aggTrade) event() event.Event {
	side := event.Buy
	if a.maker {
		side = event.Sell
	}
	name := map[string]string{"ETHUSDT": "ETH-USDT", "BTCUSDT": "BTC-USDT"}[a.sym]
	return event.Event{Kind: event.KindTrade, Src: "binance", TS: time.UnixMilli(a.ms()).UTC(), Symbol: name,
		Price: decimal.RequireFromString(a.price), Qty: decimal.RequireFromString(a.qty), Side: side,
		ID: "a" + strconv.FormatInt(a.id, 10)}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// The script. The first connection carries part1 (with a frame that is not JSON, a
// trade with a negative price and a depth frame, which is not a trade and ignored).
// Then the connection drops; ETH 106-107 and BTC 505 are traded meanwhile (only REST
// has them), and the second connection resends BTC 504 (a duplicate), then sends ETH
// 107 (backfilled by then), BTC 506 and ETH 108.
var (
	eth101 = aggTrade{"ETHUSDT", 101, "2001.10", "0.5000", false}
	btc501 = aggTrade{"BTCUSDT", 501, "60000.01", "0.01", true}
	eth102 = aggTrade{"ETHUSDT", 102, "2001.20", "1.25", true}
	eth103 = aggTrade{"ETHUSDT", 103, "-1", "1", false} // rejected: non_positive
	btc502 = aggTrade{"BTCUSDT", 502, "60000.02", "0.02", false}
	eth104 = aggTrade{"ETHUSDT", 104, "2001.40", "3", false}
	btc503 = aggTrade{"BTCUSDT", 503, "60000.03", "0.030", true}
	eth105 = aggTrade{"ETHUSDT", 105, "2001.50", "0.001", true}
	btc504 = aggTrade{"BTCUSDT", 504, "60000.04", "0.04", false}
	eth106 = aggTrade{"ETHUSDT", 106, "2001.60", "6", false}
	eth107 = aggTrade{"ETHUSDT", 107, "2001.70", "7", true}
	btc505 = aggTrade{"BTCUSDT", 505, "60000.05", "0.05", true}
	btc506 = aggTrade{"BTCUSDT", 506, "60000.06", "0.06", false}
	eth108 = aggTrade{"ETHUSDT", 108, "2001.80", "8", false}
)

func (harness) Start(t *testing.T, opts sourcetest.Options) sourcetest.Setup {
	t.Helper()
	part1 := [][]byte{
		eth101.frame(), btc501.frame(), eth102.frame(),
		[]byte(`{"stream":"ethusdt@aggTrade","data":{"e":"aggTrade"`), // cut short: bad_json
		btc502.frame(), eth103.frame(), eth104.frame(),
		[]byte(`{"stream":"ethusdt@depth","data":{"e":"depthUpdate","s":"ETHUSDT","b":[],"a":[]}}`),
		btc503.frame(), eth105.frame(), btc504.frame(),
	}
	part2 := [][]byte{btc504.frame(), eth107.frame(), btc506.frame(), eth108.frame()}
	api := restTrades(t, []aggTrade{eth101, btc501, eth102, btc502, eth104, btc503, eth105, btc504, eth106, eth107, btc505})
	srv := sourcetest.NewServer(sourcetest.Play(part1, nil), sourcetest.Play(part2, nil), api)
	cfg, err := binance.Config{
		BaseURL:    srv.URL(),
		RESTURL:    srv.HTTPURL(),
		Symbols:    []string{"ETH-USDT", "BTCUSDT"},
		BackoffMin: contractBackoff,
		BackoffMax: 4 * contractBackoff,
		// No idle connections outlive the run: the suite counts goroutines.
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second},
		Logger:     slog.New(slog.DiscardHandler),
		Now:        sourcetest.Now,
	}.WithCheckpoint(opts.Resume)
	if err != nil {
		t.Fatal(err)
	}
	src, err := binance.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sourcetest.Setup{
		Source:           src,
		Venue:            srv,
		First:            sourcetest.Events(aggTrade.event, eth101, btc501, eth102, btc502, eth104, btc503, eth105, btc504),
		Rest:             sourcetest.Events(aggTrade.event, eth106, eth107, btc505, btc506, eth108),
		BadFrames:        2,
		MinReconnectWait: contractBackoff, // full jitter: the first wait is the minimum
		Rules:            event.Rules{Now: sourcetest.Now},
	}
}

// restTrades fakes /api/v3/aggTrades over the trades the exchange has.
func restTrades(t *testing.T, have []aggTrade) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		from, err := strconv.ParseInt(q.Get("fromId"), 10, 64)
		if r.URL.Path != "/api/v3/aggTrades" || err != nil {
			t.Errorf("unexpected REST request %s", r.URL)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		items := []map[string]any{}
		for _, a := range have {
			if a.sym == q.Get("symbol") && a.id >= from {
				items = append(items, a.rest())
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(items); err != nil {
			t.Errorf("encode REST answer: %v", err)
		}
	})
}
