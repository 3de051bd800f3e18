package event

import (
	"testing"
)

func BenchmarkDecode(b *testing.B) {
	for name, line := range map[string]string{
		"fill":     exFill,
		"trade":    exTrade,
		"price":    exPrice,
		"position": exPos,
		"transfer": exXfer,
		"swap":     exSwap,
	} {
		b.Run(name, func(b *testing.B) {
			l := []byte(line)
			r := testRules()
			b.SetBytes(int64(len(l)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(l, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeReject(b *testing.B) {
	l := []byte(set(exFill, "side", `"BUY"`))
	r := testRules()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(l, r); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	for name, line := range map[string]string{"fill": exFill, "trade": exTrade, "transfer": exXfer} {
		b.Run(name, func(b *testing.B) {
			e := mustDecode(b, line)
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendJSON(buf[:0], &e)
			}
		})
	}
}

func BenchmarkKeyHash(b *testing.B) {
	for name, line := range map[string]string{
		"fill":                    exFill,
		"transfer":                exXfer,
		"trade without id (hash)": del(exTrade, "id"),
	} {
		b.Run(name, func(b *testing.B) {
			e := mustDecode(b, line)
			b.ReportAllocs()
			for b.Loop() {
				_ = e.KeyHash()
			}
		})
	}
}

func BenchmarkKey(b *testing.B) {
	e := mustDecode(b, exFill)
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Key()
	}
}
