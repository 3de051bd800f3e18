package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// TestRunLatencySmall: at a small steady load every event fires exactly one signal
// whose latency is measured, alerts are delivered, and the report names the figures.
func TestRunLatencySmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := RunLatency(ctx, LatencyConfig{DatabaseURL: testenv.DatabaseURL(), RedisURL: testenv.RedisURL(),
		Rates: []int{300}, Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Wallets: 40, Shards: 4})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Figures[0]
	if f.Events < 300 || f.Followed < f.Events/10 || int64(f.Signals) != f.Followed {
		t.Errorf("%d events, %d followed fills, %d signals: every tenth event is a followed fill and must fire one signal",
			f.Events, f.Followed, f.Signals)
	}
	// The followed fills that open a position fire entry signals, judged by the gate.
	if opens := int(f.Entries); opens == 0 || f.Decisions != opens || f.Decided != opens {
		t.Errorf("%d risk decisions stored, %d timed, for %d signals: each of the %d opens must go through the risk gate once",
			f.Decisions, f.Decided, f.Signals, opens)
	}
	if f.DP50ms < f.P50ms || f.DP99ms < f.DP50ms || f.DMaxMs < f.DP99ms {
		t.Errorf("decision latencies p50 %.2f p99 %.2f max %.2f: not ordered, or before their signals (p50 %.2f)", f.DP50ms, f.DP99ms, f.DMaxMs, f.P50ms)
	}
	if f.P50ms <= 0 || f.P99ms < f.P50ms || f.MaxMs < f.P99ms {
		t.Errorf("signal latencies p50 %.2f p99 %.2f max %.2f are not ordered", f.P50ms, f.P99ms, f.MaxMs)
	}
	if f.Alerts == 0 || int64(f.Alerts) > f.Events || f.AP50ms <= 0 {
		t.Errorf("%d alerts (p50 %.2f ms) for %d events", f.Alerts, f.AP50ms, f.Events)
	}
	var b strings.Builder
	if err := res.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| 300 |") {
		t.Errorf("report:\n%s", b.String())
	}
	if _, err := RunLatency(ctx, LatencyConfig{Rates: []int{0}}); err == nil {
		t.Error("a zero rate must be refused")
	}
}
