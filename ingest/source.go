package ingest

import (
	"context"

	"github.com/coattailcapital/coattail/event"
)

// Emit hands one normalised event to the pipeline (in production, an Ingress that
// validates it and produces it into the streams). It returns an error only when the
// pipeline cannot take events any more; a source then stops and returns it.
type Emit func(ctx context.Context, ev *event.Event) error

// Reject hands the pipeline an input the source could not normalise, with a reason
// code and the offending bytes, to be dead-lettered. Sources never drop input silently.
type Reject func(ctx context.Context, reason, detail string, raw []byte) error

// Source is one live or replayed feed. Run emits events until ctx is done, reconnecting
// by itself with backoff and jitter; it returns nil on cancellation and an error only
// for a failure it cannot recover from (bad configuration, a rejected subscription).
type Source interface {
	Name() string
	Run(ctx context.Context, emit Emit, reject Reject) error
}

// Checkpointer is a source that can say where it stands, so that a restarted process
// resumes there instead of at the live edge (or replaying what it already emitted).
//
// Checkpoint returns the source's position as an opaque JSON value, which the
// pipeline stores (store.SaveSourceCheckpoint) and the process hands back on the next
// start through the source's own Config (each adapter has a function that turns the
// bytes into its Config.Resume). It may be called from any goroutine while Run runs,
// and before Run (a position with nothing emitted).
//
// The guarantee a Checkpointer must keep: a checkpoint covers only events (and
// rejected inputs) whose Emit (or Reject) call has RETURNED before Checkpoint was
// called. An event whose Emit is still in progress — or that was decoded but not yet
// handed over — must not be covered, or a crash between the checkpoint being saved
// and that event reaching the streams would lose it for good. The pipeline relies on
// this: it takes the checkpoint, then makes sure every event emitted before it is
// flushed into the streams, and only then saves it (pipeline.RunSourceWith).
// Covering less than that is allowed; the events emitted again after a resume are
// duplicates that the events' keys make harmless.
type Checkpointer interface {
	Checkpoint() ([]byte, error)
}
