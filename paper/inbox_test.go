package paper_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/paper"
)

// The runner reads the inbox's two forms of ticks alike: a row per tick (what the
// signal stage wrote before migration 016, still in an inbox at the upgrade) and a
// row per run of ticks (what it writes now). The same ticks, in either form or mixed,
// leave the same marks.
func TestRunnerReadsBothFormsOfTicks(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
	type tick struct {
		coin string
		px   float64
	}
	ticks := []tick{{"ETH", 2000}, {"ETH", 2010}, {"BTC", 60000}, {"ETH", 2020}, {"BTC", 60300}, {"ETH", 2030}}
	// runs groups the ticks into rows: runs[i] ticks in row i (1: the old form)
	marks := func(runs []int) string {
		st := testenv.Store(t)
		i := 0
		for _, n := range runs {
			var coins []string
			var pxs []float64
			var tss []time.Time
			for ; len(coins) < n; i++ {
				coins, pxs, tss = append(coins, ticks[i].coin), append(pxs, ticks[i].px), append(tss, t0.Add(time.Duration(i)*time.Minute))
			}
			var err error
			if n == 1 {
				_, err = st.Pool().Exec(ctx, `INSERT INTO paper_inbox (coin, px, ts) VALUES ($1, $2, $3)`, coins[0], pxs[0], tss[0])
			} else {
				_, err = st.Pool().Exec(ctx, `INSERT INTO paper_inbox (coin, ts, ticks_coin, ticks_px, ticks_ts) VALUES ('', $1, $2, $3, $4)`,
					tss[0], coins, pxs, tss)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		n, err := paper.NewRunner(st, paper.NewTrader(paper.Config{}), paper.RunnerConfig{Batch: 2}).Drain(ctx)
		if err != nil || n != len(runs) {
			t.Fatalf("drained %d rows (%v), want %d", n, err, len(runs))
		}
		rows, err := st.Pool().Query(ctx, `SELECT coin, px, ts, var_sec, n FROM paper_marks ORDER BY coin`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var coin string
			var px, v float64
			var ts time.Time
			var k int64
			if err := rows.Scan(&coin, &px, &ts, &v, &k); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %.2f %s %.12g %d", coin, px, ts.UTC().Format(time.TimeOnly), v, k))
		}
		return strings.Join(out, "; ")
	}
	old := marks([]int{1, 1, 1, 1, 1, 1})
	if want := "BTC 60300.00 10:04:00"; !strings.HasPrefix(old, want) || !strings.Contains(old, "ETH 2030.00 10:05:00") {
		t.Fatalf("marks from one row per tick: %s", old)
	}
	for _, runs := range [][]int{{6}, {2, 1, 3}, {1, 4, 1}} {
		if got := marks(runs); got != old {
			t.Errorf("ticks in rows of %v: marks %s; one row per tick: %s", runs, got, old)
		}
	}
}
