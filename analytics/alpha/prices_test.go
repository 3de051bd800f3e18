package alpha

import (
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

func TestSeriesAt(t *testing.T) {
	s := NewSeries()
	at := func(sec int) time.Time { return epoch().Add(time.Duration(sec) * time.Second) }
	// Added out of order, with a duplicate time (the later add wins) and a bad price.
	s.Add("X", at(20), 120)
	s.Add("X", at(10), 110)
	s.Add("X", at(30), 130)
	s.Add("X", at(20), 121)
	s.Add("X", at(40), 0)
	tests := []struct {
		name string
		coin string
		sec  int
		want float64
		ok   bool
	}{
		{"before the first", "X", 9, 0, false},
		{"at the first", "X", 10, 110, true},
		{"between", "X", 15, 110, true},
		{"duplicate time, last added", "X", 20, 121, true},
		{"at the last", "X", 30, 130, true},
		{"after the last", "X", 99, 130, true},
		{"unknown coin", "Y", 20, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.At(tt.coin, at(tt.sec))
			if got != tt.want || ok != tt.ok {
				t.Errorf("At(%s, %d) = %v, %v; want %v, %v", tt.coin, tt.sec, got, ok, tt.want, tt.ok)
			}
		})
	}
	first, last, ok := s.Span("X")
	if !ok || !first.Equal(at(10)) || !last.Equal(at(30)) {
		t.Errorf("Span = %s, %s, %v", first, last, ok)
	}
	if _, _, ok := s.Span("Y"); ok {
		t.Error("Span of an unknown coin is ok")
	}
	if s.Len("X") != 4 {
		t.Errorf("Len %d, want 4", s.Len("X"))
	}
}

func TestSeriesFromEvents(t *testing.T) {
	evs := []event.Event{
		{Kind: event.KindPrice, Symbol: "BTC", Price: decimal.NewFromInt(95000), TS: epoch()},
		{Kind: event.KindTrade, Symbol: "BTC-USDT", Price: decimal.NewFromInt(1), TS: epoch()},
		{Kind: event.KindPrice, Symbol: "ETH", Price: decimal.RequireFromString("3300.5"), TS: epoch()},
	}
	s := SeriesFromEvents(evs)
	if got := s.Coins(); len(got) != 2 || got[0] != "BTC" || got[1] != "ETH" {
		t.Fatalf("coins %v", got)
	}
	if p, ok := s.At("ETH", epoch()); !ok || p != 3300.5 {
		t.Errorf("ETH %v %v", p, ok)
	}
}

func TestUntil(t *testing.T) {
	s := walk("X", 1, 100, time.Second, 0.01)
	cut := epoch().Add(50 * time.Second)
	u := Until(s, cut)
	if _, last, ok := u.Span("X"); !ok || !last.Equal(cut) {
		t.Errorf("Span last %s, want %s", last, cut)
	}
	p50, _ := s.At("X", cut)
	if p, ok := u.At("X", cut.Add(30*time.Second)); !ok || p != p50 {
		t.Errorf("At after the cut = %v, want the price at the cut %v", p, p50)
	}
	if _, _, ok := Until(s, epoch().Add(-time.Second)).Span("X"); ok {
		t.Error("Span before the first price is ok")
	}
}
