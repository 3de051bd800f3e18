package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// issueMetrics are the series issue 8 asks /metrics to expose, by what they measure.
var issueMetrics = map[string][]string{
	"events in/out":         {"coattail_events_read_total", "coattail_events_accepted_total", "coattail_stage_entries_committed_total"},
	"batch sizes":           {"coattail_stage_batch_size", "coattail_stage_commit_seconds"},
	"consumer lag":          {"coattail_consumer_lag_entries", "coattail_group_lag_entries", "coattail_consumer_behind_seconds"},
	"pending entries":       {"coattail_consumer_pending_entries"},
	"dead letters by rule":  {"coattail_quality_rejects_total"},
	"window lateness":       {"coattail_window_late_events_total", "coattail_watermark_delay_seconds"},
	"signal latency":        {"coattail_signal_latency_seconds"},
	"alert latency":         {"coattail_alert_delivery_seconds"},
	"chat send errors":      {"coattail_alert_failures_total"},
	"health of the reading": {"coattail_pipeline_health_up"},
}

// `coattail run` on the demo market, with Telegram configured (a fake Bot API) so the
// alert dispatcher runs, serves every series of issueMetrics on its /metrics.
func TestRunServesTheIssueMetrics(t *testing.T) {
	s := newSchema(t)
	fake := &fakeTelegram{}
	tg := httptest.NewServer(fake)
	defer tg.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := s.cli.with("COATTAIL_HTTP_ADDR", addr, "COATTAIL_TELEGRAM_TOKEN", "123:secret-token",
		"COATTAIL_TELEGRAM_API", tg.URL+"/bot%s/%s")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd, _, stderr := c.command(ctx, "run", "--no-chat", "--demo-speed", "20")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	typeLine := regexp.MustCompile(`(?m)^# TYPE (\S+) `)
	var missing []string
	var last time.Time
	ok := testenv.WaitFor(ctx, func() bool {
		if time.Since(last) < 250*time.Millisecond {
			return false // a scrape reads Redis and Postgres: a few a second is plenty
		}
		last = time.Now()
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var have []string
		for _, m := range typeLine.FindAllStringSubmatch(string(b), -1) {
			have = append(have, m[1])
		}
		missing = missing[:0]
		for what, names := range issueMetrics {
			for _, n := range names {
				if !slices.Contains(have, n) {
					missing = append(missing, what+": "+n)
				}
			}
		}
		return len(missing) == 0
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if !ok {
		t.Fatalf("/metrics of coattail run lacks %v; stderr:\n%s", missing, stderr.String())
	}
}
