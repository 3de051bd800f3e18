package main

import (
	"context"
	"fmt"
	"log/slog"
)

// redisLogger routes go-redis's internal messages (dial failures while Redis
// restarts, pool noise) into our structured log at debug level: the components that
// retry already warn once per attempt with context, so at the default level an
// operator sees one line per retry instead of a burst of raw library lines.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", "msg", fmt.Sprintf(format, v...))
}
