package pipeline_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
)

type tracker struct {
	mu    sync.Mutex
	calls []string
}

func (t *tracker) Track(w string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls = append(t.calls, w)
	return nil
}

func (t *tracker) got() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.calls...)
}

func TestTrackWalletsHandsEachWalletOverOnce(t *testing.T) {
	var mu sync.Mutex
	lists := [][]string{{"0xa", "0xb"}, {"0xb", "0xa", "0xc"}}
	i := 0
	list := func(context.Context) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		l := lists[min(i, len(lists)-1)]
		i++
		return l, nil
	}
	tr := &tracker{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- pipeline.TrackWallets(ctx, tr, list, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	ok := testenv.WaitFor(ctx, func() bool { return len(tr.got()) >= 3 })
	time.Sleep(50 * time.Millisecond) // a few more rounds: nothing may be tracked twice
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := tr.got()
	if !ok || len(got) != 3 || got[0] != "0xa" || got[1] != "0xb" || got[2] != "0xc" {
		t.Fatalf("tracked %v, want 0xa 0xb 0xc once each", got)
	}
}
