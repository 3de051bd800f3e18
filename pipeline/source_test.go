package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/stream"
	"github.com/shopspring/decimal"
)

// scripted is a source that emits a fixed list, rejects one frame, then waits.
type scripted struct{ evs []event.Event }

func (s scripted) Name() string { return "scripted" }

func (s scripted) Run(ctx context.Context, emit ingest.Emit, reject ingest.Reject) error {
	for i := range s.evs {
		if err := emit(ctx, &s.evs[i]); err != nil {
			return err
		}
	}
	if err := reject(ctx, "bad_frame", "not JSON", []byte("garbage")); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestRunSourceProducesAndDeadLetters(t *testing.T) {
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scfg := stream.Config{Prefix: prefix}
	ts := time.Now().UTC().Add(-time.Minute)
	src := scripted{evs: []event.Event{
		{Kind: event.KindPrice, Src: "hyperliquid", TS: ts, Symbol: "ETH", Price: decimal.RequireFromString("2000")},
		{Kind: event.KindPrice, Src: "hyperliquid", TS: ts.Add(time.Second), Symbol: "BTC", Price: decimal.RequireFromString("90000")},
		{Kind: event.KindPrice, Src: "hyperliquid", TS: ts, Symbol: "ETH", Price: decimal.RequireFromString("-1")}, // fails validation
	}}
	ok := runSourceWithBook(t, st, rdb, scfg, func(ctx context.Context, in *pipeline.Ingress) error {
		return pipeline.RunSource(ctx, src, in, event.Rules{})
	}, func(ctx context.Context) bool {
		n, err := st.EventCount(ctx)
		dl, err2 := st.DeadLetterCounts(ctx)
		return err == nil && err2 == nil && n == 2 && dl["bad_frame"] == 1 && dl["non_positive"] == 1
	})
	if !ok {
		n, _ := st.EventCount(context.Background())
		dl, _ := st.DeadLetterCounts(context.Background())
		t.Fatalf("events %d dead letters %v, want 2 events, bad_frame 1 and non_positive 1", n, dl)
	}
}
