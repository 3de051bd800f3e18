package book

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/shopspring/decimal"
)

// cassetteDir holds recorded Hyperliquid info API responses (see
// /work/shared/data/SOURCES.md), read in place from the repository's parent directory.
const cassetteDir = "../../../shared/data/hyperliquid/info-api-cassettes"

// hlFill is one element of a userFills / userFillsByTime response.
type hlFill struct {
	Coin          string `json:"coin"`
	Side          string `json:"side"` // "A" ask (sell), "B" bid (buy)
	Dir           string `json:"dir"`
	Px            string `json:"px"`
	Sz            string `json:"sz"`
	StartPosition string `json:"startPosition"`
	ClosedPnl     string `json:"closedPnl"`
	Fee           string `json:"fee"`
	Time          int64  `json:"time"` // Unix milliseconds
}

// TestHyperliquidFills replays the recorded fills of one wallet (500 fills over ~5
// minutes of May 2023, 15 coins) through the book and compares each fill's realized PnL
// with the venue's closedPnl.
//
// What the data shows (and this test pins down):
//   - The API lists fills newest first, but fills of the same millisecond in execution
//     order: keeping the API order within a millisecond makes every startPosition chain
//     (start + signed sz = next start), except for self-trades, whose two halves carry
//     the same start. So the fills are sorted by time, stably, without reversing.
//   - The oldest fill is half of a self-trade whose other half fell outside the
//     500-fill window: the book's only resync.
//   - In 2023 Hyperliquid moved the entry price on every fill, closes included, to
//     trunc_tick((entry×|start| + px×sz) / (|start| + sz)), and reported a flip's
//     closedPnl as closedSz×(px − entry) whatever the side. Its current rule, which the
//     book implements (see the "hyperliquid keeps entry on partial close" case of
//     TestApply), keeps the entry on a close. The two agree up to the truncation of the
//     entry to the price tick until the first partial close after a fresh basis; from
//     there the venue's 2023 entry drifts towards the close prices.
//
// So: every fill with a known basis that the two rules price alike is checked against
// the book, within one price tick of entry × closed size; every other known-basis fill
// must be reproduced exactly by a model of the 2023 rule (legacyBook), which proves the
// difference is that rule and not the book's sizes, order or basis tracking.
func TestHyperliquidFills(t *testing.T) {
	if _, err := os.Stat(cassetteDir); err != nil {
		t.Skipf("real data not present (%v): needs /work/shared beside the repository", err)
	}
	for _, name := range []string{"test_get_user_fills.yaml", "test_get_user_fills_by_time.yaml"} {
		t.Run(name, func(t *testing.T) {
			var fills []hlFill
			if err := json.Unmarshal([]byte(testenv.CassetteBody(t, filepath.Join(cassetteDir, name))), &fills); err != nil {
				t.Fatalf("decode fills: %v", err)
			}
			if len(fills) < 100 {
				t.Fatalf("%d fills, want the recorded 500", len(fills))
			}
			replayHyperliquid(t, fills)
		})
	}
}

type coinBook struct {
	pos    Position
	legacy legacyBook
	tick   decimal.Decimal
	// drifted: a partial close happened since the basis was last fresh (opened from
	// flat or by a flip), so the 2023 entry may differ from the average cost.
	drifted bool
	// adds since the basis was last fresh: each moved the venue's entry by a weighted
	// average truncated to the tick, losing less than one tick (and scaling down what
	// earlier truncations lost), so the venue's entry is within adds ticks of ours.
	adds int64
}

func replayHyperliquid(t *testing.T, fills []hlFill) {
	t.Helper()
	for i := 1; i < len(fills); i++ {
		if fills[i].Time > fills[i-1].Time {
			t.Fatalf("fill %d is newer than fill %d: the API order is not newest first", i, i-1)
		}
	}
	sort.SliceStable(fills, func(i, j int) bool { return fills[i].Time < fills[j].Time })

	books := map[string]*coinBook{}
	szDecimals := map[string]int32{} // the coin's size decimals, as the most any size uses
	for _, f := range fills {
		if i := strings.IndexByte(f.Sz, '.'); i >= 0 {
			szDecimals[f.Coin] = max(szDecimals[f.Coin], int32(len(strings.TrimRight(f.Sz[i+1:], "0"))))
		}
	}
	for coin, d := range szDecimals { // Hyperliquid's perp price tick: 10^-(6 - szDecimals)
		books[coin] = &coinBook{tick: decimal.New(1, d-6)}
	}

	var opens, closesChecked, withinBrief, legacyExplained, unknown, resyncs, selfTradePairs int
	var worstTicks decimal.Decimal
	for i, hf := range fills {
		b := books[hf.Coin]
		f := Fill{Px: dec(hf.Px), Sz: dec(hf.Sz), StartPosition: null(hf.StartPosition), Fee: null(hf.Fee),
			TS: time.UnixMilli(hf.Time).UTC()}
		switch hf.Side {
		case "A":
			f.Side = event.Sell
		case "B":
			f.Side = event.Buy
		default:
			t.Fatalf("fill %d: side %q", i, hf.Side)
		}
		fresh, before := !b.pos.Started, b.pos.Size
		c, err := b.pos.ApplyFill(f)
		if err != nil {
			t.Fatalf("fill %d (%s %s): %v", i, hf.Coin, hf.Dir, err)
		}
		pre := b.pos.Size.Sub(c.Delta) // the size the fill was applied to, after any resync
		if !pre.Equal(f.StartPosition.Decimal) {
			selfTradePairs++ // ApplyFill accepted a disagreeing start without a resync
		}
		if c.Resynced {
			resyncs++
			t.Logf("resync: %s %s at %d, book %s, venue start %s", hf.Coin, hf.Dir, hf.Time,
				before, hf.StartPosition)
		}
		if fresh || c.Resynced {
			b.legacy = legacyBook{known: pre.IsZero(), flat: pre.IsZero()}
		}
		legacyPnl, legacyKnown := b.legacy.apply(f.StartPosition.Decimal, c.Delta, f.Px, b.tick)

		want := dec(hf.ClosedPnl)
		switch {
		case c.BasisUnknown:
			unknown++
		case c.Action == ActionOpen || c.Action == ActionAdd:
			opens++
			if !want.IsZero() || !c.RealizedDelta.IsZero() {
				t.Errorf("fill %d %s %s: realized %s, closedPnl %s: want both 0", i, hf.Coin, hf.Dir, c.RealizedDelta, want)
			}
		case !b.drifted && !(c.Action == ActionFlip && pre.IsNegative()):
			closesChecked++
			closed := decimal.Min(pre.Abs(), f.Sz)
			diff := c.RealizedDelta.Sub(want).Abs()
			oneTick := closed.Mul(b.tick)
			if tol := oneTick.Mul(decimal.NewFromInt(max(1, b.adds))); diff.GreaterThan(tol) {
				t.Errorf("fill %d %s %s %s@%s start %s: realized %s, closedPnl %s (|diff| %s > %s)",
					i, hf.Coin, hf.Dir, hf.Sz, hf.Px, hf.StartPosition, c.RealizedDelta, want, diff, tol)
			}
			if ticks := diff.DivRound(oneTick, 4); ticks.GreaterThan(worstTicks) {
				worstTicks = ticks
			}
			// the tolerance first asked for: 0.05% relative, or 1e-6 absolute
			if diff.LessThanOrEqual(decimal.Max(want.Abs().Mul(dec("0.0005")), dec("0.000001"))) {
				withinBrief++
			}
		default:
			legacyExplained++
			if !legacyKnown || !legacyPnl.Equal(want) {
				t.Errorf("fill %d %s %s %s@%s start %s: closedPnl %s not the 2023 rule's %s (known %v); book %s",
					i, hf.Coin, hf.Dir, hf.Sz, hf.Px, hf.StartPosition, want, legacyPnl, legacyKnown, c.RealizedDelta)
			}
		}
		switch c.Action {
		case ActionReduce:
			b.drifted = true
		case ActionAdd:
			b.adds++
		case ActionOpen, ActionClose, ActionFlip:
			b.drifted, b.adds = false, 0
		}
	}
	t.Logf("%d fills: %d opens/adds (closedPnl 0 = book 0); %d closes checked against the book "+
		"(worst diff %s ticks of entry; %d within 0.05%% or 1e-6); "+
		"%d closes priced by the 2023 drifting entry, reproduced exactly by legacyBook; "+
		"%d skipped as unknown basis; %d self-trade second halves; %d resyncs",
		len(fills), opens, closesChecked, worstTicks, withinBrief, legacyExplained, unknown, selfTradePairs, resyncs)
	if resyncs != 1 {
		t.Errorf("%d resyncs, want 1 (the oldest fill, half of a self-trade cut by the 500-fill window)", resyncs)
	}
	if closesChecked < 20 || opens < 50 {
		t.Errorf("only %d closes and %d opens checked against the book", closesChecked, opens)
	}
}

func relDiff(diff, want decimal.Decimal) decimal.Decimal {
	if want.IsZero() {
		return decimal.Zero
	}
	return diff.DivRound(want.Abs(), 8)
}

// legacyBook models how Hyperliquid priced closedPnl in 2023, as read from the recorded
// fills: every fill moves the entry to the size-weighted average of the entry at the
// fill's start position and the fill price, truncated to the price tick; a flip reports
// closedSz × (px − entry) whatever its side. It works from the venue's start positions,
// which for the second half of a self-trade are the position before the pair.
type legacyBook struct {
	entry decimal.Decimal
	known bool
	flat  bool // closed to zero by the last fill, whatever the next start position says
}

// apply takes a fill of signed size delta at px from the venue's start position and
// returns the closedPnl the 2023 rule gives it, and whether its basis was known.
func (l *legacyBook) apply(start, delta, px, tick decimal.Decimal) (decimal.Decimal, bool) {
	known := l.known
	held, qty := start.Abs(), delta.Abs()
	avg := func() decimal.Decimal {
		v := l.entry.Mul(held).Add(px.Mul(qty)).Div(held.Add(qty))
		return v.Div(tick).Floor().Mul(tick)
	}
	if start.IsZero() || start.Sign() == delta.Sign() {
		switch {
		case start.IsZero() || l.flat:
			l.entry, l.known = px, true
		case known:
			l.entry = avg()
		}
		l.flat = false
		return decimal.Zero, known
	}
	var pnl decimal.Decimal
	flip := qty.GreaterThan(held)
	if known {
		pnl = decimal.Min(held, qty).Mul(px.Sub(l.entry))
		if start.IsNegative() && !flip {
			pnl = pnl.Neg()
		}
	}
	l.flat = false
	switch after := start.Add(delta); {
	case after.IsZero():
		l.entry, l.known, l.flat = decimal.Zero, true, true
	case flip:
		l.entry, l.known = px, true
	case known:
		l.entry = avg()
	}
	return pnl, known
}
