package hyperliquid

import (
	"fmt"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/event"
)

// BenchmarkTradesFrame decodes trades messages of 10 trades each (20 fills).
func BenchmarkTradesFrame(b *testing.B) {
	const perFrame, frames = 10, 256
	msgs := make([][]byte, frames)
	for i := range msgs {
		tids := make([]int, perFrame)
		for j := range tids {
			tids[j] = i*perFrame + j + 1
		}
		msgs[i] = []byte(tradesFrame("ETH", tids...))
	}
	// A window smaller than the cycle of frames: every trade is new again.
	d := newWSDecoder(event.Rules{Now: fixedNow}, perFrame, nil)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		f := d.decode(msgs[n%frames], fixedNow())
		if len(f.items) != 2*perFrame || f.items[0].rej != nil {
			b.Fatalf("%d items, first rejected: %v", len(f.items), f.items[0].rej)
		}
		n++
	}
	b.ReportMetric(float64(n*2*perFrame)/b.Elapsed().Seconds(), "fills/s")
}

// BenchmarkUserFills decodes a full userFills page (2000 fills).
func BenchmarkUserFills(b *testing.B) {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range 2000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"closedPnl":"-0.25686","coin":"SUI","crossed":true,"dir":"Close Long","fee":"0.0","hash":"0x3d4770d0527317ef77c404017559cb0103000b34010cc95e97b437cbc3b6087a","oid":189324432,"px":"1.3189","side":"A","startPosition":"4623.5","sz":"142.7","time":%d,"tid":%d}`,
			1683245884863-int64(i), 118906512037719+i)
	}
	sb.WriteByte(']')
	body := []byte(sb.String())
	r := event.Rules{Now: fixedNow}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	n := 0
	for b.Loop() {
		items, rej := decodeFills(body, fillsWallet, r)
		if rej != nil || len(items) != 2000 {
			b.Fatalf("%d items, %v", len(items), rej)
		}
		sortByTime(items)
		n += len(items)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "fills/s")
}
