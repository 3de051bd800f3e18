package chaos

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// TestWorkersKilled: a replay is committed by worker processes that are SIGKILLed
// again and again (one at a time, then three sharing the shards with kills among them);
// the replay finishes and the result tables equal an uninterrupted run's.
func TestWorkersKilled(t *testing.T) {
	in := testenv.WriteDemoInput(t, t.TempDir(), 23, ticks())
	want := reference(t, in.Path)
	for _, workers := range []int{1, 3} {
		t.Run(map[int]string{1: "one worker", 3: "three workers"}[workers], func(t *testing.T) {
			url := testenv.Schema(t)
			_, prefix := testenv.Redis(t)
			e := newEnv(url, testenv.RedisURL(), prefix)
			e.migrate(t)
			followSome(t, url, in.Path)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			rp := e.start(t, ctx, "replay", "--no-workers", "--quiet", in.Path)
			ws := make([]*proc, workers)
			for i := range ws {
				ws[i] = e.start(t, ctx, "worker")
			}
			rng := rand.New(rand.NewPCG(uint64(workers), 7))
			// Each kill holds the dead worker's shards until its lease expires (5 s), so
			// the long run kills less often, to let the replay progress between kills.
			kills, maxKills := 0, 8
			gap, jitter := 400, 800 // ms
			if long() {
				maxKills, gap, jitter = 25, 4000, 4000
			}
		loop:
			for kills < maxKills {
				select {
				case <-rp.done:
					break loop
				case <-time.After(time.Duration(gap+rng.IntN(jitter)) * time.Millisecond):
				}
				i := rng.IntN(len(ws))
				ws[i].kill()
				kills++
				ws[i] = e.start(t, ctx, "worker")
			}
			rp.wait(t, 30*time.Minute, "replay with workers killed")
			for _, w := range ws {
				w.stop()
			}
			t.Logf("%d lines, %d worker(s), %d SIGKILLs", in.Lines, workers, kills)
			if kills < 2 {
				t.Logf("only %d kills happened before the replay finished: the input is too small to exercise much", kills)
			}
			testenv.SameState(t, "workers killed", checksums(t, url), want)
		})
	}
}
