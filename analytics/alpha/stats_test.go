package alpha

import (
	"math"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
)

func TestComputeStats(t *testing.T) {
	day := 24 * time.Hour
	at := func(d float64) int { return int(d * float64(day/time.Second)) } // seconds from epoch
	evs := []event.Event{
		// 10 days before the as-of time: a long round trip, +10.
		fill("0xa", "BTC", at(0), event.Buy, "100", "1", "0"),
		fill("0xa", "BTC", at(1), event.Sell, "110", "1", "1"),
		// In the last week: a short round trip, −20, and a long still open.
		fill("0xa", "BTC", at(5), event.Sell, "110", "2", "0"),
		fill("0xa", "BTC", at(6), event.Buy, "120", "2", "-2"),
		fill("0xa", "BTC", at(7), event.Buy, "120", "1", "0"),
	}
	acts, err := ActionsFromFills(evs, ActionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	asOf := epoch().Add(10 * day)
	marks := NewSeries()
	marks.Add("BTC", epoch(), 100)
	marks.Add("BTC", asOf.Add(-time.Hour), 130)
	got := ComputeStats(acts, marks, asOf, nil)
	if len(got) != 3 || got[0].Window != "7d" || got[1].Window != "30d" || got[2].Window != "all" {
		t.Fatalf("got %+v", got)
	}
	const fee = 0.1
	all := got[2]
	r1, r2 := (10-fee)/100, (-20-fee)/220
	mean := (r1 + r2) / 2
	want := Stats{
		Wallet: "0xa", Window: "all", To: asOf, Trades: 5, Closes: 2,
		RealizedPnl: 10 - 20 - 5*fee, Fees: 5 * fee, UnrealizedPnl: 10, Capital: 220,
		WinRate: 0.5, ProfitFactor: (10 - fee) / (20 + fee),
		MaxDrawdown: (10 - 2*fee) - (-10 - 5*fee),
		Sortino:     mean / math.Sqrt(r2*r2/2),
	}
	want.ROI = (want.RealizedPnl + want.UnrealizedPnl) / want.Capital
	checkStats(t, all, want)

	week := got[0]
	want = Stats{
		Wallet: "0xa", Window: "7d", From: asOf.Add(-7 * day), To: asOf, Trades: 3, Closes: 1,
		RealizedPnl: -20 - 3*fee, Fees: 3 * fee, UnrealizedPnl: 10, Capital: 220,
		WinRate: 0, ProfitFactor: 0, MaxDrawdown: 20 + 3*fee, Sortino: 0,
	}
	want.ROI = (want.RealizedPnl + want.UnrealizedPnl) / want.Capital
	checkStats(t, week, want)

	// Only wins: an infinite profit factor and Sortino.
	wins := ComputeStats(acts[:2], nil, asOf, []Window{{"all", 0}})[0]
	if !math.IsInf(wins.ProfitFactor, 1) || wins.Sortino != 0 || wins.UnrealizedPnl != 0 || wins.WinRate != 1 {
		t.Errorf("one win: %+v", wins)
	}
}

func checkStats(t *testing.T, got, want Stats) {
	t.Helper()
	if got.Wallet != want.Wallet || got.Window != want.Window || !got.From.Equal(want.From) || !got.To.Equal(want.To) ||
		got.Trades != want.Trades || got.Closes != want.Closes {
		t.Errorf("%s: got %+v\nwant %+v", want.Window, got, want)
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"RealizedPnl", got.RealizedPnl, want.RealizedPnl}, {"Fees", got.Fees, want.Fees},
		{"UnrealizedPnl", got.UnrealizedPnl, want.UnrealizedPnl}, {"Capital", got.Capital, want.Capital},
		{"ROI", got.ROI, want.ROI}, {"WinRate", got.WinRate, want.WinRate},
		{"ProfitFactor", got.ProfitFactor, want.ProfitFactor}, {"MaxDrawdown", got.MaxDrawdown, want.MaxDrawdown},
		{"Sortino", got.Sortino, want.Sortino},
	} {
		if !near(f.got, f.want, 1e-9) {
			t.Errorf("%s %s = %v, want %v", want.Window, f.name, f.got, f.want)
		}
	}
}
