package stage

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/store"
	"github.com/redis/go-redis/v9"
)

// publishScript adds an anomaly to the stream only if its id was never published:
// the guard key and the entry are written atomically, so a batch redone after a crash,
// or an outbox drained twice, publishes each anomaly once.
var publishScript = redis.NewScript(`
if redis.call('set', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('xadd', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'id', ARGV[3], 'kind', ARGV[4], 'venue', ARGV[5],
    'symbol', ARGV[6], 'ts', ARGV[7], 'value', ARGV[8], 'baseline', ARGV[9], 'score', ARGV[10], 'evidence', ARGV[11])
end
return false`)

// publishGuardTTL bounds how long a published id is remembered: far longer than any
// outbox stays undrained.
const publishGuardTTL = 7 * 24 * time.Hour

// publish sends anomalies to the anomalies stream (when Redis is configured) and marks
// them published.
func (w *Windows) publish(ctx context.Context, rows []store.AnomalyRow) error {
	if w.cfg.Redis == nil || len(rows) == 0 {
		return nil
	}
	name := AnomaliesStream(w.cfg.Stream)
	pipe := w.cfg.Redis.Pipeline()
	ids := make([][]byte, len(rows))
	for i, a := range rows {
		ids[i] = a.ID
		id := hex.EncodeToString(a.ID)
		publishScript.Eval(ctx, pipe, []string{name + ":published:" + id, name},
			int64(publishGuardTTL.Seconds()), 100000, id, a.Kind, a.Venue, a.Symbol, a.TS.UTC().Format(time.RFC3339Nano),
			a.Value, a.Baseline, a.Score, string(a.Evidence))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("publish %d anomalies: %w", len(rows), err)
	}
	return w.st.MarkAnomaliesPublished(ctx, ids)
}

// publishPending drains the shard's outbox: anomalies committed but not yet published.
func (w *Windows) publishPending(ctx context.Context, streamName string) error {
	if w.cfg.Redis == nil {
		return nil
	}
	for {
		rows, err := w.st.UnpublishedAnomalies(ctx, streamName, 500)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		if err := w.publish(ctx, rows); err != nil {
			return err
		}
		if len(rows) < 500 {
			return nil
		}
	}
}
