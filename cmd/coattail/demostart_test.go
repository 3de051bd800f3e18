package main

import (
	"testing"
	"time"
)

func TestDemoStartAfterStoredEvents(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 400e6, time.UTC)
	tests := []struct {
		name        string
		newest      time.Time
		wantStart   time.Time
		wantBacklog int
	}{
		{"empty database", time.Time{}, time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), 7200},
		{"events older than the history", now.Add(-5 * time.Hour), time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), 7200},
		// An earlier run's events up to 11:30:00.5: the next tick after them.
		{"an earlier run within the history", time.Date(2026, 11, 26, 11, 30, 0, 500e6, time.UTC),
			time.Date(2026, 11, 26, 11, 30, 1, 0, time.UTC), 1799},
		{"events up to now", now, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), 0},
		{"events from the future", now.Add(time.Hour), time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, backlog := demoStart(now, 2*time.Hour, time.Second, tt.newest)
			if !start.Equal(tt.wantStart) || backlog != tt.wantBacklog {
				t.Errorf("start %s with %d ticks of history, want %s with %d", start, backlog, tt.wantStart, tt.wantBacklog)
			}
			if !tt.newest.IsZero() && backlog > 0 && !start.After(tt.newest) {
				t.Errorf("start %s is not after the stored events (%s)", start, tt.newest)
			}
		})
	}
}
