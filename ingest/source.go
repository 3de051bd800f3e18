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
