package book

import (
	"errors"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

var t0 = time.Date(2023, 5, 5, 0, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func null(s string) decimal.NullDecimal {
	if s == "" {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(dec(s))
}

// step is one event applied to a book and the change it must report. The event time is
// t0 + the step's index in seconds unless at is set.
type step struct {
	fill *Fill
	obs  *Observation
	at   time.Time
	want Change
}

func buy(sz, px, start string) *Fill  { return mkFill(event.Buy, sz, px, start) }
func sell(sz, px, start string) *Fill { return mkFill(event.Sell, sz, px, start) }

func mkFill(side event.Side, sz, px, start string) *Fill {
	return &Fill{Side: side, Sz: dec(sz), Px: dec(px), StartPosition: null(start)}
}

func withFee(f *Fill, fee string) *Fill { f.Fee = null(fee); return f }

func obs(size, px, entry string) *Observation {
	return &Observation{Size: dec(size), Px: dec(px), EntryPx: null(entry)}
}

func chg(a Action, delta, realized string) Change {
	return Change{Action: a, Delta: dec(delta), RealizedDelta: dec(realized)}
}

func unknownChg(a Action, delta string) Change {
	return Change{Action: a, Delta: dec(delta), BasisUnknown: true}
}

// want is the book's final state (Started, UpdatedAt and Last are checked separately).
type want struct {
	size, entry, realized, fees string
	n, unknownCloses            int64
	unknownBasis                bool
}

func TestApply(t *testing.T) {
	sync := Change{Action: ActionSync}
	none := Change{Action: ActionNone}
	tests := []struct {
		name  string
		steps []step
		want  want
	}{
		{
			name:  "open long",
			steps: []step{{fill: buy("2", "100", ""), want: chg(ActionOpen, "2", "0")}},
			want:  want{size: "2", entry: "100", realized: "0", fees: "0", n: 1},
		},
		{
			// entry (2*100 + 1*130) / 3 = 110; fees 0.5 - 0.1 = 0.4
			name: "add long averages entry and sums fees",
			steps: []step{
				{fill: withFee(buy("2", "100", "0"), "0.5"), want: chg(ActionOpen, "2", "0")},
				{fill: withFee(buy("1", "130", "2"), "-0.1"), want: chg(ActionAdd, "1", "0")},
			},
			want: want{size: "3", entry: "110", realized: "0", fees: "0.4", n: 2},
		},
		{
			// entry 110; sell 1 @ 140 realizes 1*(140-110) = 30, entry unchanged;
			// sell 2 @ 90 realizes 2*(90-110) = -40: total -10, flat
			name: "reduce then close long",
			steps: []step{
				{fill: buy("2", "100", "0"), want: chg(ActionOpen, "2", "0")},
				{fill: buy("1", "130", "2"), want: chg(ActionAdd, "1", "0")},
				{fill: sell("1", "140", "3"), want: chg(ActionReduce, "-1", "30")},
				{fill: sell("2", "90", "2"), want: chg(ActionClose, "-2", "-40")},
			},
			want: want{size: "0", entry: "0", realized: "-10", fees: "0", n: 4},
		},
		{
			// long 3 @ 110; sell 5 @ 120 closes 3: 3*(120-110) = 30, opens short 2 @ 120
			name: "flip long to short",
			steps: []step{
				{fill: buy("2", "100", "0"), want: chg(ActionOpen, "2", "0")},
				{fill: buy("1", "130", "2"), want: chg(ActionAdd, "1", "0")},
				{fill: sell("5", "120", "3"), want: chg(ActionFlip, "-5", "30")},
			},
			want: want{size: "-2", entry: "120", realized: "30", fees: "0", n: 3},
		},
		{
			// short 4 @ 50 + 4 @ 40: entry 45; buy 2 @ 42 realizes 2*(45-42) = 6
			name: "short add and reduce",
			steps: []step{
				{fill: sell("4", "50", "0"), want: chg(ActionOpen, "-4", "0")},
				{fill: sell("4", "40", "-4"), want: chg(ActionAdd, "-4", "0")},
				{fill: buy("2", "42", "-8"), want: chg(ActionReduce, "2", "6")},
			},
			want: want{size: "-6", entry: "45", realized: "6", fees: "0", n: 3},
		},
		{
			// short 8 @ 45; buy 10 @ 47 closes 8: 8*(45-47) = -16, opens long 2 @ 47;
			// sell 2 @ 50 realizes 2*(50-47) = 6: total -10
			name: "flip short to long then close",
			steps: []step{
				{fill: sell("4", "50", "0"), want: chg(ActionOpen, "-4", "0")},
				{fill: sell("4", "40", "-4"), want: chg(ActionAdd, "-4", "0")},
				{fill: buy("10", "47", "-8"), want: chg(ActionFlip, "10", "-16")},
				{fill: sell("2", "50", "2"), want: chg(ActionClose, "-2", "6")},
			},
			want: want{size: "0", entry: "0", realized: "-10", fees: "0", n: 4},
		},
		{
			// A live Hyperliquid example (github.com/richkuo/go-trader issue #698): long
			// 0.428 ETH @ 2331.5, closed in two halves; the venue's closedPnl was 4.9862 =
			// 0.214*(2354.8-2331.5) and 7.49 = 0.214*(2366.5-2331.5): the entry is kept
			// on a close.
			name: "hyperliquid keeps entry on partial close",
			steps: []step{
				{fill: buy("0.428", "2331.5", "0"), want: chg(ActionOpen, "0.428", "0")},
				{fill: sell("0.214", "2354.8", "0.428"), want: chg(ActionReduce, "-0.214", "4.9862")},
				{fill: sell("0.214", "2366.5", "0.214"), want: chg(ActionClose, "-0.214", "7.49")},
			},
			want: want{size: "0", entry: "0", realized: "12.4762", fees: "0", n: 3},
		},
		{
			// starts at +5 opened before our history: the sell of 1 realizes nothing; the
			// add keeps the basis unknown; the close realizes nothing and makes it known;
			// long 1 @ 20 then sell 3 @ 25: 1*(25-20) = 5, short 2 @ 25
			name: "unknown basis start",
			steps: []step{
				{fill: sell("1", "10", "5"), want: unknownChg(ActionReduce, "-1")},
				{fill: buy("2", "12", "4"), want: unknownChg(ActionAdd, "2")},
				{fill: sell("6", "11", "6"), want: unknownChg(ActionClose, "-6")},
				{fill: buy("1", "20", "0"), want: chg(ActionOpen, "1", "0")},
				{fill: sell("3", "25", "1"), want: chg(ActionFlip, "-3", "5")},
			},
			want: want{size: "-2", entry: "25", realized: "5", fees: "0", n: 5, unknownCloses: 2},
		},
		{
			// +3 of unknown basis, sell 5 @ 10: the close of 3 realizes nothing, short 2 @ 10
			// has a known basis: buy 2 @ 8 realizes 2*(10-8) = 4
			name: "flip out of unknown basis",
			steps: []step{
				{fill: sell("5", "10", "3"), want: unknownChg(ActionFlip, "-5")},
				{fill: buy("2", "8", "-2"), want: chg(ActionClose, "2", "4")},
			},
			want: want{size: "0", entry: "0", realized: "4", fees: "0", n: 2, unknownCloses: 1},
		},
		{
			name:  "unknown basis start short",
			steps: []step{{fill: buy("1", "10", "-3"), want: unknownChg(ActionReduce, "1")}},
			want:  want{size: "-2", entry: "0", realized: "0", fees: "0", n: 1, unknownCloses: 1, unknownBasis: true},
		},
		{
			// book at +2, the fill says it starts at +5: resync to 5 (unknown), add 1 -> 6;
			// the close of 6 realizes nothing
			name: "resync on gap",
			steps: []step{
				{fill: buy("2", "100", "0"), want: chg(ActionOpen, "2", "0")},
				{fill: buy("1", "110", "5"), want: Change{Action: ActionAdd, Delta: dec("1"), BasisUnknown: true, Resynced: true}},
				{fill: sell("6", "120", "6"), want: unknownChg(ActionClose, "-6")},
			},
			want: want{size: "0", entry: "0", realized: "0", fees: "0", n: 3, unknownCloses: 1},
		},
		{
			// book at +2, the fill says flat: resync to 0 has a known (empty) basis
			name: "resync to flat",
			steps: []step{
				{fill: buy("2", "100", "0"), want: chg(ActionOpen, "2", "0")},
				{fill: buy("1", "90", "0"), want: Change{Action: ActionOpen, Delta: dec("1"), RealizedDelta: dec("0"), Resynced: true}},
			},
			want: want{size: "1", entry: "90", realized: "0", fees: "0", n: 2},
		},
		{
			// short 10 @ 50. Self-trade at one time: buy 3 @ 48 closes 3*(50-48) = 6;
			// sell 3 @ 48 carries the same start (-10) and adds back: entry
			// (7*50 + 3*48)/10 = 49.4; buy 10 @ 49 closes 10*(49.4-49) = 4. Total 10.
			name: "self-trade pair is not a gap",
			steps: []step{
				{fill: sell("10", "50", "0"), want: chg(ActionOpen, "-10", "0")},
				{fill: buy("3", "48", "-10"), at: t0.Add(time.Minute), want: chg(ActionReduce, "3", "6")},
				{fill: sell("3", "48", "-10"), at: t0.Add(time.Minute), want: chg(ActionAdd, "-3", "0")},
				{fill: buy("10", "49", "-10"), at: t0.Add(2 * time.Minute), want: chg(ActionClose, "10", "4")},
			},
			want: want{size: "0", entry: "0", realized: "10", fees: "0", n: 4},
		},
		{
			// the same pair a millisecond apart is a gap: resync to -10, unknown
			name: "self-trade lookalike at another time is a gap",
			steps: []step{
				{fill: sell("10", "50", "0"), want: chg(ActionOpen, "-10", "0")},
				{fill: buy("3", "48", "-10"), at: t0.Add(time.Minute), want: chg(ActionReduce, "3", "6")},
				{fill: sell("3", "48", "-10"), at: t0.Add(time.Minute + time.Millisecond),
					want: Change{Action: ActionAdd, Delta: dec("-3"), BasisUnknown: true, Resynced: true}},
			},
			want: want{size: "-13", entry: "0", realized: "6", fees: "0", n: 3, unknownBasis: true},
		},
		{
			// same time, opposite size, but another price: not one match, a gap
			name: "self-trade lookalike at another price is a gap",
			steps: []step{
				{fill: sell("10", "50", "0"), want: chg(ActionOpen, "-10", "0")},
				{fill: buy("3", "48", "-10"), at: t0.Add(time.Minute), want: chg(ActionReduce, "3", "6")},
				{fill: sell("3", "47", "-10"), at: t0.Add(time.Minute),
					want: Change{Action: ActionAdd, Delta: dec("-3"), BasisUnknown: true, Resynced: true}},
			},
			want: want{size: "-13", entry: "0", realized: "6", fees: "0", n: 3, unknownBasis: true},
		},
		{
			// no start position: trusted, the book starts flat
			name: "fills without start position",
			steps: []step{
				{fill: sell("1", "10", ""), want: chg(ActionOpen, "-1", "0")},
				{fill: buy("1", "9", ""), want: chg(ActionClose, "1", "1")},
			},
			want: want{size: "0", entry: "0", realized: "1", fees: "0", n: 2},
		},
		{
			// first observation -5 with the venue's entry 20: known. Then -2 at mark 18
			// is a buy of 3: 3*(20-18) = 6
			name: "observation with entry gives the basis",
			steps: []step{
				{obs: obs("-5", "21", "20"), want: sync},
				{obs: obs("-2", "18", "19.5"), want: chg(ActionReduce, "3", "6")},
			},
			want: want{size: "-2", entry: "20", realized: "6", fees: "0", n: 2},
		},
		{
			// no entry: unknown; an unchanged observation is none; going flat realizes
			// nothing
			name: "observation without entry is unknown",
			steps: []step{
				{obs: obs("4", "21", ""), want: sync},
				{obs: obs("4", "22", ""), want: none},
				{obs: obs("0", "23", ""), want: unknownChg(ActionClose, "-4")},
			},
			want: want{size: "0", entry: "0", realized: "0", fees: "0", n: 3, unknownCloses: 1},
		},
		{
			name:  "first observation flat",
			steps: []step{{obs: obs("0", "21", ""), want: none}},
			want:  want{size: "0", entry: "0", realized: "0", fees: "0", n: 1},
		},
		{
			// long 2 @ 100; observed 5 at mark 110: a buy of 3 @ 110, entry
			// (200 + 330)/5 = 106; the venue's entry (107) does not override ours
			name: "observed change after fills is a trade at mark",
			steps: []step{
				{fill: buy("2", "100", "0"), want: chg(ActionOpen, "2", "0")},
				{obs: obs("5", "110", "107"), want: chg(ActionAdd, "3", "0")},
			},
			want: want{size: "5", entry: "106", realized: "0", fees: "0", n: 2},
		},
		{
			// short 4 @ 10 (venue entry); observed +2 at 12: closes 4*(10-12) = -8, long 2 @ 12
			name: "observed flip short to long",
			steps: []step{
				{obs: obs("-4", "10.5", "10"), want: sync},
				{obs: obs("2", "12", ""), want: chg(ActionFlip, "6", "-8")},
			},
			want: want{size: "2", entry: "12", realized: "-8", fees: "0", n: 2},
		},
		{
			// long 2 @ 100; observed 1 with no price: an unpriced close, basis unknown;
			// the next observation brings the venue's entry 100
			name: "unpriced observed change",
			steps: []step{
				{fill: buy("2", "100", "0"), want: chg(ActionOpen, "2", "0")},
				{obs: obs("1", "0", ""), want: sync},
				{obs: obs("1", "0", "100"), want: none},
			},
			want: want{size: "1", entry: "100", realized: "0", fees: "0", n: 3, unknownCloses: 1},
		},
		{
			// +5 unknown from the fill's start; an observation with the venue's entry 9
			// gives the basis; sell 5 @ 10 realizes 5*(10-9) = 5
			name: "observation entry resolves unknown basis",
			steps: []step{
				{fill: buy("1", "10", "4"), want: unknownChg(ActionAdd, "1")},
				{obs: obs("5", "10", "9"), want: none},
				{fill: sell("5", "10", "5"), want: chg(ActionClose, "-5", "5")},
			},
			want: want{size: "0", entry: "0", realized: "5", fees: "0", n: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Position
			var last time.Time
			for i, s := range tt.steps {
				ts := s.at
				if ts.IsZero() {
					ts = t0.Add(time.Duration(i) * time.Second)
				}
				last = ts
				var got Change
				var err error
				if s.fill != nil {
					f := *s.fill
					f.TS = ts
					got, err = p.ApplyFill(f)
				} else {
					o := *s.obs
					o.TS = ts
					got, err = p.ApplyObservation(o)
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if !sameChange(got, s.want) {
					t.Errorf("step %d: change = %s, want %s", i, fmtChange(got), fmtChange(s.want))
				}
			}
			checkPosition(t, p, tt.want)
			if !p.Started || !p.UpdatedAt.Equal(last) {
				t.Errorf("Started = %v, UpdatedAt = %s; want true, %s", p.Started, p.UpdatedAt, last)
			}
		})
	}
}

func sameChange(a, b Change) bool {
	return a.Action == b.Action && a.Delta.Equal(b.Delta) && a.RealizedDelta.Equal(b.RealizedDelta) &&
		a.BasisUnknown == b.BasisUnknown && a.Resynced == b.Resynced
}

func fmtChange(c Change) string {
	return string(c.Action) + " delta=" + c.Delta.String() + " realized=" + c.RealizedDelta.String() +
		" unknown=" + boolStr(c.BasisUnknown) + " resynced=" + boolStr(c.Resynced)
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func checkPosition(t *testing.T, p Position, w want) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want decimal.Decimal
	}{
		{"Size", p.Size, dec(w.size)},
		{"EntryPx", p.EntryPx, dec(w.entry)},
		{"Realized", p.Realized, dec(w.realized)},
		{"Fees", p.Fees, dec(w.fees)},
	} {
		if !c.got.Equal(c.want) {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
	if p.N != w.n || p.UnknownCloses != w.unknownCloses || p.UnknownBasis != w.unknownBasis {
		t.Errorf("N, UnknownCloses, UnknownBasis = %d, %d, %v; want %d, %d, %v",
			p.N, p.UnknownCloses, p.UnknownBasis, w.n, w.unknownCloses, w.unknownBasis)
	}
}

func TestEntryRounding(t *testing.T) {
	// (1*1 + 2*2) / 3 = 1.666... is kept to entryPlaces places
	var p Position
	for _, f := range []*Fill{buy("1", "1", "0"), buy("2", "2", "1")} {
		f.TS = t0
		if _, err := p.ApplyFill(*f); err != nil {
			t.Fatal(err)
		}
	}
	if want := dec("1.666666666666666667"); !p.EntryPx.Equal(want) {
		t.Errorf("EntryPx = %s, want %s", p.EntryPx, want)
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name    string
		fill    *Fill
		obs     *Observation
		at      time.Time
		wantErr error
	}{
		{name: "bad side", fill: mkFill("B", "1", "10", ""), wantErr: ErrInvalid},
		{name: "zero px", fill: buy("1", "0", ""), wantErr: ErrInvalid},
		{name: "negative sz", fill: sell("-1", "10", ""), wantErr: ErrInvalid},
		{name: "fill before the book", fill: buy("1", "10", "2"), at: t0.Add(-time.Millisecond), wantErr: ErrOutOfOrder},
		{name: "negative observed px", obs: obs("1", "-1", ""), wantErr: ErrInvalid},
		{name: "negative observed entry", obs: obs("1", "1", "-1"), wantErr: ErrInvalid},
		{name: "observation before the book", obs: obs("1", "10", ""), at: t0.Add(-time.Second), wantErr: ErrOutOfOrder},
		{name: "same time is in order", fill: buy("1", "10", "2"), at: t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Position{}
			f0 := *buy("2", "100", "0")
			f0.TS = t0
			if _, err := p.ApplyFill(f0); err != nil {
				t.Fatal(err)
			}
			before := p
			at := tt.at
			if at.IsZero() {
				at = t0.Add(time.Second)
			}
			var err error
			if tt.fill != nil {
				f := *tt.fill
				f.TS = at
				_, err = p.ApplyFill(f)
			} else {
				o := *tt.obs
				o.TS = at
				_, err = p.ApplyObservation(o)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !samePosition(p, before) {
				t.Errorf("book changed on error: %+v, was %+v", p, before)
			}
		})
	}
}

func samePosition(a, b Position) bool {
	return a.Size.Equal(b.Size) && a.EntryPx.Equal(b.EntryPx) && a.Realized.Equal(b.Realized) &&
		a.Fees.Equal(b.Fees) && a.N == b.N && a.UnknownBasis == b.UnknownBasis && a.Started == b.Started &&
		a.UnknownCloses == b.UnknownCloses && a.UpdatedAt.Equal(b.UpdatedAt) &&
		a.Last.TS.Equal(b.Last.TS) && a.Last.Delta.Equal(b.Last.Delta) && a.Last.Px.Equal(b.Last.Px)
}

func TestUnrealized(t *testing.T) {
	tests := []struct {
		name string
		p    Position
		mark string
		want string
	}{
		{name: "long", p: Position{Size: dec("2"), EntryPx: dec("110")}, mark: "120", want: "20"},      // 2*(120-110)
		{name: "short", p: Position{Size: dec("-6"), EntryPx: dec("45")}, mark: "40", want: "30"},      // 6*(45-40)
		{name: "short loss", p: Position{Size: dec("-6"), EntryPx: dec("45")}, mark: "46", want: "-6"}, // 6*(45-46)
		{name: "flat", p: Position{}, mark: "40", want: "0"},
		{name: "unknown basis", p: Position{Size: dec("3"), UnknownBasis: true}, mark: "40", want: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Unrealized(dec(tt.mark)); !got.Equal(dec(tt.want)) {
				t.Errorf("Unrealized(%s) = %s, want %s", tt.mark, got, tt.want)
			}
		})
	}
}

func TestFromEvent(t *testing.T) {
	f := FillFromEvent(&event.Event{Kind: event.KindFill, Side: event.Sell, Px: dec("1.3189"), Sz: dec("142.7"),
		StartPosition: null("4623.5"), Fee: null("0.01"), TS: t0})
	if f.Side != event.Sell || !f.Px.Equal(dec("1.3189")) || !f.Sz.Equal(dec("142.7")) ||
		!f.StartPosition.Decimal.Equal(dec("4623.5")) || !f.Fee.Decimal.Equal(dec("0.01")) || !f.TS.Equal(t0) {
		t.Errorf("FillFromEvent = %+v", f)
	}
	for _, tt := range []struct{ mark, entry, want string }{
		{mark: "1.5431", entry: "1.565548", want: "1.5431"},
		{entry: "1.565548", want: "1.565548"},
		{want: "0"},
	} {
		o := ObservationFromEvent(&event.Event{Kind: event.KindPosition, Size: dec("-63628"),
			MarkPx: null(tt.mark), EntryPx: null(tt.entry), TS: t0})
		if !o.Px.Equal(dec(tt.want)) || !o.Size.Equal(dec("-63628")) || o.EntryPx.Valid != (tt.entry != "") {
			t.Errorf("ObservationFromEvent(mark %q, entry %q) = %+v, want px %s", tt.mark, tt.entry, o, tt.want)
		}
	}
}

func BenchmarkApplyFill(b *testing.B) {
	// A realistic mix: opens, adds, partial closes and flips with start positions that
	// chain, so every path of trade() runs.
	fills := []Fill{
		{Side: event.Buy, Sz: dec("104.4"), Px: dec("1.3281")},
		{Side: event.Buy, Sz: dec("124.4"), Px: dec("1.328")},
		{Side: event.Sell, Sz: dec("89.7"), Px: dec("1.3283")},
		{Side: event.Sell, Sz: dec("250.5"), Px: dec("1.3279")},
		{Side: event.Buy, Sz: dec("111.4"), Px: dec("1.3282")},
	}
	var p Position
	start := decimal.Zero
	for i := range fills {
		fills[i].StartPosition = decimal.NewNullDecimal(start)
		fills[i].Fee = decimal.NewNullDecimal(dec("0.0123"))
		if fills[i].Side == event.Buy {
			start = start.Add(fills[i].Sz)
		} else {
			start = start.Sub(fills[i].Sz)
		}
	}
	// the cycle nets to zero, so it repeats with consistent start positions
	if !start.IsZero() {
		b.Fatalf("bench fills net to %s, want 0", start)
	}
	b.ReportAllocs()
	ts := t0
	for i := 0; b.Loop(); i++ {
		f := fills[i%len(fills)]
		ts = ts.Add(time.Millisecond)
		f.TS = ts
		if _, err := p.ApplyFill(f); err != nil {
			b.Fatal(err)
		}
	}
}
