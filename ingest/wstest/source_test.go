package wstest

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest"
)

// fakeSource emits one event and rejects one input, then waits for cancellation and
// returns the emit error, if any, or stopErr.
type fakeSource struct{ stopErr error }

func (f fakeSource) Run(ctx context.Context, emit ingest.Emit, reject ingest.Reject) error {
	if err := emit(ctx, &event.Event{Kind: event.KindTrade, ID: "1"}); err != nil {
		return err
	}
	if err := reject(ctx, "bad_json", "not JSON", []byte("x")); err != nil {
		return err
	}
	<-ctx.Done()
	return f.stopErr
}

func TestStartCollectStop(t *testing.T) {
	before := runtime.NumGoroutine()
	var c Collector
	run := Start(t, fakeSource{}, &c)
	WaitFor(t, "a rejection", func() bool { _, rejs := c.Snapshot(); return len(rejs) == 1 })
	if err := run.Stop(t); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if err := run.Stop(t); err != nil {
		t.Errorf("second Stop = %v, want nil", err)
	}
	evs, rejs := c.Snapshot()
	if len(evs) != 1 || evs[0].ID != "1" {
		t.Errorf("events %+v", evs)
	}
	if len(rejs) != 1 || rejs[0].Reason != "bad_json" || rejs[0].Detail != "not JSON" || string(rejs[0].Raw) != "x" {
		t.Errorf("rejections %+v", rejs)
	}
	CheckGoroutines(t, before)
}

func TestStopReturnsRunError(t *testing.T) {
	boom := errors.New("boom")
	var c Collector
	run := Start(t, fakeSource{stopErr: boom}, &c)
	WaitFor(t, "a rejection", func() bool { _, rejs := c.Snapshot(); return len(rejs) == 1 })
	if err := run.Stop(t); !errors.Is(err, boom) {
		t.Errorf("Stop = %v, want %v", err, boom)
	}
}

func TestEmitErr(t *testing.T) {
	boom := errors.New("pipeline down")
	c := Collector{EmitErr: boom}
	run := Start(t, fakeSource{}, &c)
	if err := run.Stop(t); !errors.Is(err, boom) {
		t.Errorf("Stop = %v, want the emit error", err)
	}
	if evs, rejs := c.Snapshot(); len(evs) != 0 || len(rejs) != 0 {
		t.Errorf("recorded %d events, %d rejections with a failing pipeline", len(evs), len(rejs))
	}
}
