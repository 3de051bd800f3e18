package demo

import (
	"strconv"
	"testing"

	"github.com/coattailcapital/coattail/event"
)

func TestFirstIDStartsBothIDRanges(t *testing.T) {
	m, err := New(Config{Seed: 3, FirstID: 5_000_000})
	if err != nil {
		t.Fatal(err)
	}
	var minTrade, minFill uint64 = ^uint64(0), ^uint64(0)
	for i := 0; i < 50; i++ {
		for _, ev := range m.Next() {
			id, err := strconv.ParseUint(ev.ID, 10, 64)
			if ev.ID == "" || err != nil {
				continue
			}
			switch ev.Kind {
			case event.KindTrade:
				minTrade = min(minTrade, id)
			case event.KindFill:
				minFill = min(minFill, id)
			}
		}
	}
	if minTrade != 5_000_000 || minFill != 5_000_000 {
		t.Fatalf("first trade id %d, first fill id %d, want both 5000000", minTrade, minFill)
	}
}
