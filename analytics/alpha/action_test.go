package alpha

import (
	"errors"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/book"
	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

// fill returns a fill event of wallet w in coin c at second sec.
func fill(w, c string, sec int, side event.Side, px, sz, start string) event.Event {
	e := event.Event{
		Kind: event.KindFill, Src: "hyperliquid", TS: epoch().Add(time.Duration(sec) * time.Second),
		Wallet: w, Coin: c, Side: side, Px: decimal.RequireFromString(px), Sz: decimal.RequireFromString(sz),
		Fee: decimal.NullDecimal{Decimal: decimal.RequireFromString("0.1"), Valid: true},
	}
	if start != "" {
		e.StartPosition = decimal.NullDecimal{Decimal: decimal.RequireFromString(start), Valid: true}
	}
	return e
}

func TestActionsFromFillsKinds(t *testing.T) {
	evs := []event.Event{
		{Kind: event.KindPrice, Symbol: "BTC", Price: decimal.NewFromInt(100), TS: epoch()}, // ignored
		fill("0xa", "BTC", 1, event.Buy, "100", "1", "0"),
		fill("0xa", "BTC", 2, event.Buy, "110", "1", "1"),
		fill("0xa", "BTC", 3, event.Sell, "120", "0.5", "2"),
		fill("0xa", "BTC", 4, event.Sell, "90", "1.5", "1.5"),
		fill("0xa", "BTC", 5, event.Sell, "100", "2", "0"),
		fill("0xa", "BTC", 6, event.Buy, "80", "3", "-2"),
	}
	got, err := ActionsFromFills(evs, ActionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind              Kind
		dir               int
		before, after     float64
		entry, entryAfter float64
		closed, pnl       float64
		openedAt          int // second; -1 zero
	}{
		{KindOpen, +1, 0, 1, 0, 100, 0, 0, -1},
		{KindAdd, +1, 1, 2, 100, 105, 0, 0, 1},
		{KindReduce, -1, 2, 1.5, 105, 105, 0.5, 7.5, 1},
		{KindClose, -1, 1.5, 0, 105, 0, 1.5, -22.5, 1},
		{KindOpen, -1, 0, -2, 0, 100, 0, 0, -1},
		{KindFlip, +1, -2, 1, 100, 80, 2, 40, 5},
	}
	if len(got) != len(want) {
		t.Fatalf("%d actions, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		a := got[i]
		if a.Kind != w.kind || a.Dir != w.dir || a.PosBefore != w.before || a.PosAfter != w.after ||
			!near(a.EntryPx, w.entry, 1e-9) || !near(a.EntryPxAfter, w.entryAfter, 1e-9) ||
			!near(a.ClosedSize, w.closed, 1e-12) || !near(a.RealizedPnl, w.pnl, 1e-9) {
			t.Errorf("action %d: got %+v, want %+v", i, a, w)
		}
		wantOpened := time.Time{}
		if w.openedAt >= 0 {
			wantOpened = epoch().Add(time.Duration(w.openedAt) * time.Second)
		}
		if !a.OpenedAt.Equal(wantOpened) {
			t.Errorf("action %d: OpenedAt %s, want %s", i, a.OpenedAt, wantOpened)
		}
		if a.Fee != 0.1 || a.Fills != 1 || a.Wallet != "0xa" || a.Coin != "BTC" {
			t.Errorf("action %d: fee %v fills %d wallet %s coin %s", i, a.Fee, a.Fills, a.Wallet, a.Coin)
		}
	}
	if !near(got[1].NotionalUSD, 110, 1e-9) || !near(got[5].Size, 3, 1e-12) {
		t.Errorf("notional %v size %v", got[1].NotionalUSD, got[5].Size)
	}
}

func TestActionsFromFillsMerge(t *testing.T) {
	// Three fills of one order at the same time (as Hyperliquid reports an order that
	// meets three makers), then a fill of the other side at the same time, then one of
	// the same side a second later.
	evs := []event.Event{
		fill("0xa", "ETH", 0, event.Buy, "10", "1", "0"),
		fill("0xa", "ETH", 0, event.Buy, "11", "1", "1"),
		fill("0xa", "ETH", 0, event.Buy, "12", "2", "2"),
		fill("0xa", "ETH", 0, event.Sell, "12", "1", "4"),
		fill("0xa", "ETH", 1, event.Sell, "12", "1", "3"),
	}
	tests := []struct {
		name   string
		window time.Duration
		fills  []int
		kinds  []Kind
	}{
		{"same time only", 0, []int{3, 1, 1}, []Kind{KindOpen, KindReduce, KindReduce}},
		{"two-second window", 2 * time.Second, []int{3, 2}, []Kind{KindOpen, KindReduce}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ActionsFromFills(evs, ActionConfig{MergeWindow: tt.window})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.fills) {
				t.Fatalf("%d actions, want %d", len(got), len(tt.fills))
			}
			for i := range got {
				if got[i].Fills != tt.fills[i] || got[i].Kind != tt.kinds[i] {
					t.Errorf("action %d: %d fills %s, want %d %s", i, got[i].Fills, got[i].Kind, tt.fills[i], tt.kinds[i])
				}
			}
			open := got[0]
			if open.Size != 4 || !near(open.Px, (10+11+24)/4.0, 1e-12) || !near(open.NotionalUSD, 45, 1e-9) ||
				open.PosBefore != 0 || open.PosAfter != 4 || !near(open.Fee, 0.3, 1e-12) {
				t.Errorf("merged open: %+v", open)
			}
		})
	}
}

func TestActionsFromFillsObservationsAndGaps(t *testing.T) {
	pos := func(sec int, size, mark string) event.Event {
		return event.Event{Kind: event.KindPosition, TS: epoch().Add(time.Duration(sec) * time.Second), Wallet: "0xb", Coin: "SOL",
			Size: decimal.RequireFromString(size), MarkPx: decimal.NullDecimal{Decimal: decimal.RequireFromString(mark), Valid: true}}
	}
	evs := []event.Event{
		pos(0, "0", "100"),  // first observation, flat: nothing
		pos(10, "5", "101"), // an observed open at the mark
		pos(20, "5", "102"), // unchanged: nothing
		fill("0xb", "SOL", 30, event.Sell, "103", "2", "5"),
		fill("0xb", "SOL", 40, event.Sell, "104", "1", "7"), // start 7 ≠ book 3: a gap
	}
	got, err := ActionsFromFills(evs, ActionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d actions, want 3: %+v", len(got), got)
	}
	if a := got[0]; a.Kind != KindOpen || a.Dir != 1 || a.Px != 101 || a.Size != 5 || a.Fee != 0 {
		t.Errorf("observed open: %+v", a)
	}
	if a := got[1]; a.Kind != KindReduce || !near(a.RealizedPnl, 4, 1e-9) || !a.OpenedAt.Equal(epoch().Add(10*time.Second)) {
		t.Errorf("reduce: %+v", a)
	}
	// After the gap the basis is unknown: the reduce realises nothing, and neither its
	// entry price nor its opening time is known.
	if a := got[2]; a.Kind != KindReduce || a.PosBefore != 7 || a.PosAfter != 6 || a.EntryPx != 0 ||
		!a.BasisUnknown || a.RealizedPnl != 0 || !a.OpenedAt.IsZero() {
		t.Errorf("reduce after a gap: %+v", a)
	}
}

func TestActionsFromFillsOrderAndWallets(t *testing.T) {
	// Out of order across and within wallets; the result is in time order.
	evs := []event.Event{
		fill("0xb", "BTC", 5, event.Buy, "100", "1", ""),
		fill("0xa", "BTC", 9, event.Sell, "100", "1", ""),
		fill("0xa", "BTC", 3, event.Buy, "100", "1", ""),
	}
	got, err := ActionsFromFills(evs, ActionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Wallet != "0xa" || got[1].Wallet != "0xb" || got[2].Kind != KindClose {
		t.Fatalf("got %+v", got)
	}
}

func TestActionsFromFillsInvalid(t *testing.T) {
	evs := []event.Event{fill("0xa", "BTC", 1, event.Buy, "0", "1", "0")}
	evs[0].ID = "42"
	_, err := ActionsFromFills(evs, ActionConfig{})
	if !errors.Is(err, book.ErrInvalid) {
		t.Fatalf("err %v, want book.ErrInvalid", err)
	}
}
