package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// TestRunScaleSmall runs the scale figures on a small workload with the real binary:
// every wallet ends in the book, each worker count commits every event, and the report
// names both figures.
func TestRunScaleSmall(t *testing.T) {
	dir := t.TempDir()
	bin, err := testenv.BuildCoattail(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := RunScale(ctx, ScaleConfig{DatabaseURL: testenv.DatabaseURL(), RedisURL: testenv.RedisURL(), Binary: bin,
		Wallets: 3000, Events: 4000, Workers: []int{1, 2}, Shards: 4, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Wallets == nil || res.Wallets.Positions != 3000 || res.Wallets.MaxRSSBytes <= 0 {
		t.Errorf("wallets figure %+v: want 3000 positions and a peak RSS", res.Wallets)
	}
	if len(res.Workers) != 2 || res.Workers[0].Events < 4000 || res.Workers[1].Events != res.Workers[0].Events {
		t.Errorf("worker figures %+v: every count must commit every event", res.Workers)
	}
	if res.Workers[0].OfOne != 1 || res.Workers[1].OfOne <= 0 {
		t.Errorf("worker ratios %+v", res.Workers)
	}
	var b strings.Builder
	if err := res.WriteMarkdown(&b, "coattail bench --wallets 3000 --workers 1,2"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Memory with 3,000 wallets", "| 2 | ", "vs one worker"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := RunScale(ctx, ScaleConfig{Wallets: 1}); err == nil {
		t.Error("RunScale without a binary must fail")
	}
	_ = os.Remove(bin)
}
