package alpha

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

// userFillsCassette is a recorded real Hyperliquid userFillsByTime response: 500
// fills of one wallet over five minutes of May 2023 (/work/shared/data/SOURCES.md).
const userFillsCassette = "../../../shared/data/hyperliquid/info-api-cassettes/test_get_user_fills_by_time.yaml"

// cassetteBody returns the response body of the first interaction of a VCR cassette:
// the YAML single-quoted scalar after "string: '", unfolded.
func cassetteBody(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.FromSlash(path))
	if os.IsNotExist(err) {
		t.Skipf("real data %s is absent (it lives beside the repository in shared/data)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i := strings.Index(s, "string: '")
	if i < 0 {
		t.Fatalf("%s: no response body", path)
	}
	s = s[i+len("string: '"):]
	var b strings.Builder
	for j := 0; j < len(s); j++ {
		switch {
		case s[j] == '\'' && j+1 < len(s) && s[j+1] == '\'':
			b.WriteByte('\'')
			j++
		case s[j] == '\'':
			return b.String()
		case s[j] == '\n':
			// A line break and the next line's indentation fold into one space.
			for j+1 < len(s) && s[j+1] == ' ' {
				j++
			}
			b.WriteByte(' ')
		default:
			b.WriteByte(s[j])
		}
	}
	t.Fatalf("%s: unterminated body", path)
	return ""
}

func TestRealHyperliquidFills(t *testing.T) {
	body := cassetteBody(t, userFillsCassette)
	var raw []struct {
		Coin, Side, Px, Sz, StartPosition, ClosedPnl, Fee string
		Time                                              int64
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	const wallet = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
	evs := make([]event.Event, 0, len(raw))
	prices := NewSeries()
	for i, f := range raw {
		side := event.Buy
		if f.Side == "A" {
			side = event.Sell
		}
		nd := func(s string) decimal.NullDecimal {
			return decimal.NullDecimal{Decimal: decimal.RequireFromString(s), Valid: true}
		}
		e := event.Event{Kind: event.KindFill, Src: "hyperliquid", ID: strconv.Itoa(i), TS: time.UnixMilli(f.Time).UTC(),
			Wallet: wallet, Coin: f.Coin, Side: side, Px: decimal.RequireFromString(f.Px), Sz: decimal.RequireFromString(f.Sz),
			StartPosition: nd(f.StartPosition), ClosedPnl: nd(f.ClosedPnl), Fee: nd(f.Fee)}
		evs = append(evs, e)
		prices.Add(f.Coin, e.TS, e.Px.InexactFloat64())
	}
	// The response is newest first; within one millisecond the parts of an order come
	// in the order they filled, so sort by time only (stably).
	acts, err := ActionsFromFills(evs, ActionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	fills, unknown := 0, 0
	kinds := map[Kind]int{}
	for _, a := range acts {
		fills += a.Fills
		kinds[a.Kind]++
		if a.BasisUnknown {
			unknown++
		}
		if a.Dir != 1 && a.Dir != -1 || !(a.Size > 0) || !(a.Px > 0) {
			t.Errorf("bad action %+v", a)
		}
	}
	t.Logf("%d fills → %d actions %v, %d on an unknown basis", len(evs), len(acts), kinds, unknown)
	if fills != len(evs) {
		t.Errorf("actions hold %d fills, want %d", fills, len(evs))
	}
	if len(acts) >= len(evs) {
		t.Errorf("no fills merged: %d actions of %d fills", len(acts), len(evs))
	}
	// The whole chain runs on real fills without a NaN reaching the score.
	sc := mustScorer(t, Config{Returns: ReturnConfig{Horizons: []time.Duration{30 * time.Second, time.Minute}}, MinObs: 5})
	scores := sc.Score(acts, prices, time.Time{})
	if len(scores) != 1 || scores[0].Wallet != wallet || math.IsNaN(scores[0].Score) || scores[0].N == 0 {
		t.Errorf("scores %+v", scores)
	}
	st := ComputeStats(acts, prices, time.Time{}, nil)
	if len(st) != 3 || st[2].Trades != len(acts) {
		t.Errorf("stats %+v", st)
	}
	t.Logf("score %+.3f (mean %+.3f, n %d, %s); all-time realised %.2f USD over %d closes", scores[0].Score, scores[0].Mean, scores[0].N, scores[0].Reason, st[2].RealizedPnl, st[2].Closes)
}
