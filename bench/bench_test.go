package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/stage"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// assertCleanedUp checks that the scratch schema and keys of a run are gone.
func assertCleanedUp(t *testing.T, schema, prefix string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.DatabaseURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil {
		t.Fatalf("look up schema: %v", err)
	}
	if n != 0 {
		t.Errorf("scratch schema %s still exists", schema)
	}
	opt, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatalf("redis url: %v", err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	keys, err := rdb.Keys(ctx, prefix+":*").Result()
	if err != nil {
		t.Fatalf("redis keys: %v", err)
	}
	if len(keys) != 0 {
		t.Errorf("keys left under %s: %v", prefix, keys)
	}
}

func TestRunSmall(t *testing.T) {
	var progress []string
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	cmd := "./bin/coattail bench --events 5000 --out docs/BENCHMARKS.md"
	res, err := Run(context.Background(), Config{
		DatabaseURL: testenv.DatabaseURL(),
		RedisURL:    testenv.RedisURL(),
		Events:      5000,
		Shards:      4,
		TempDir:     t.TempDir(),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Command:     cmd,
		Progress:    func(l string) { progress = append(progress, l) },
		Now:         func() time.Time { return date },
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	assertCleanedUp(t, res.Schema, res.Prefix)

	if res.Settings.Events < 5000 || res.Settings.Events > 6000 {
		t.Errorf("generated %d events, want about 5000", res.Settings.Events)
	}
	if res.Settings.AvgBody < 100 || res.Settings.AvgBody > 1000 {
		t.Errorf("average body %.0f bytes, want an event-sized few hundred", res.Settings.AvgBody)
	}
	if !res.Date.Equal(date) {
		t.Errorf("date %v, want the injected clock's %v", res.Date, date)
	}
	names := []string{FigRedisXAdd, FigRedisRead, FigRedisRoundTrip, FigPGCopy, FigPGUpsert, FigEndToEnd}
	if len(res.Figures) != len(names) {
		t.Errorf("%d figures, want %d: %+v", len(res.Figures), len(names), res.Figures)
	}
	for _, name := range names {
		f, ok := res.Figure(name)
		if !ok {
			t.Errorf("figure %s missing", name)
			continue
		}
		if f.Count != int64(res.Settings.Events) {
			t.Errorf("%s moved %d, want all %d events", name, f.Count, res.Settings.Events)
		}
		if !(f.Seconds > 0) || !(f.PerSec > 0) {
			t.Errorf("%s: seconds %v, rate %v; want both > 0", name, f.Seconds, f.PerSec)
		}
	}
	for name, ref := range map[string]string{FigEndToEnd: FigRedisRoundTrip, FigPGUpsert: FigPGCopy} {
		f, _ := res.Figure(name)
		if f.Reference != ref || !(f.OfReference > 0) {
			t.Errorf("%s: reference %q x%v, want %q and > 0", name, f.Reference, f.OfReference, ref)
		}
	}
	for _, name := range []string{FigRedisXAdd, FigRedisRead, FigRedisRoundTrip, FigPGCopy} {
		if f, _ := res.Figure(name); f.Reference != "" {
			t.Errorf("%s is a raw reference but compared with %q", name, f.Reference)
		}
	}
	// The round trip takes the XADD time plus the read time.
	add, _ := res.Figure(FigRedisXAdd)
	rd, _ := res.Figure(FigRedisRead)
	rt, _ := res.Figure(FigRedisRoundTrip)
	if d := rt.Seconds - (add.Seconds + rd.Seconds); d > 1e-9 || d < -1e-9 {
		t.Errorf("round trip %vs, want XADD %vs + read %vs", rt.Seconds, add.Seconds, rd.Seconds)
	}
	e2e, _ := res.Figure(FigEndToEnd)
	if want := e2e.PerSec / rt.PerSec; res.Verdict.Ratio != want {
		t.Errorf("ratio %v, want %v", res.Verdict.Ratio, want)
	}
	if res.Replay.Accepted != int64(res.Settings.Events) || res.Replay.DeadLettered != 0 || !res.Replay.Committed {
		t.Errorf("replay summary %+v, want all %d accepted and committed", res.Replay, res.Settings.Events)
	}
	if res.Stored != int64(res.Settings.Events) {
		t.Errorf("%d events stored, want %d", res.Stored, res.Settings.Events)
	}
	if res.Machine.Redis == "" || res.Machine.Redis == "unknown" || res.Machine.Postgres == "" || res.Machine.NumCPU < 1 {
		t.Errorf("machine %+v: want server versions and CPUs", res.Machine)
	}
	if len(progress) < 4 {
		t.Errorf("progress lines %q, want one per step", progress)
	}

	var md bytes.Buffer
	if err := res.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Benchmarks", "`" + cmd + "`", "2026-03-04 05:06:07 UTC",
		"| measure | n | seconds | rate | vs reference |", "|---|", res.Machine.Redis, res.Machine.Postgres,
		"Ratio end to end / raw Redis round trip", "Target (>= 100,000 events/s"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	for _, f := range res.Figures {
		if !strings.Contains(md.String(), "| "+f.Label+" | ") {
			t.Errorf("markdown lacks a row for %s", f.Label)
		}
	}
	var tbl bytes.Buffer
	if err := res.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(tbl.String(), "\n"); got != len(names)+5 {
		t.Errorf("table has %d lines, want header + %d figures + blank + two ratio lines + verdict:\n%s", got, len(names), tbl.String())
	}

	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if f, ok := back.Figure(FigEndToEnd); !ok || f.PerSec != e2e.PerSec {
		t.Errorf("JSON round trip lost the end-to-end figure: %s", b)
	}
}

func TestRunCleansUpWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := Run(ctx, Config{
		DatabaseURL: testenv.DatabaseURL(),
		RedisURL:    testenv.RedisURL(),
		Events:      3000,
		TempDir:     t.TempDir(),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Progress: func(l string) {
			if strings.HasPrefix(l, "postgres: COPY") && !strings.Contains(l, "rows/s") {
				cancel() // after the Redis figures, before Postgres
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: err %v, want context.Canceled", err)
	}
	if res == nil || res.Schema == "" {
		t.Fatalf("result %+v: want the scratch names", res)
	}
	if _, ok := res.Figure(FigRedisRoundTrip); !ok {
		t.Errorf("partial result lacks the Redis figures measured before the cancel")
	}
	assertCleanedUp(t, res.Schema, res.Prefix)
}

func TestRunRejectsConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"negative events": {Events: -1},
		"too many events": {Events: MaxEvents + 1},
		"too many shards": {Shards: 2000},
		"negative batch":  {UpsertBatch: -5},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Run(context.Background(), cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("err %v, want ErrInvalidConfig", err)
			}
			if res != nil {
				t.Errorf("result %+v for an invalid config", res)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	tests := map[string]struct {
		e2e, rt float64
		want    Verdict
	}{
		"fast and close": {150000, 270000, Verdict{Ratio: 150000.0 / 270000, FastEnough: true, WithinFactor: true, Met: true}},
		"fast, far":      {120000, 400000, Verdict{Ratio: 0.3, FastEnough: true, WithinFactor: false}},
		"slow, close":    {90000, 135000, Verdict{Ratio: 90000.0 / 135000, FastEnough: false, WithinFactor: true}},
		"exactly 3x":     {100000, 300000, Verdict{Ratio: 1.0 / 3, FastEnough: true, WithinFactor: true, Met: true}},
		"no reference":   {100000, 0, Verdict{FastEnough: true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := judge(tc.e2e, tc.rt); got != tc.want {
				t.Errorf("judge(%v, %v) = %+v, want %+v", tc.e2e, tc.rt, got, tc.want)
			}
		})
	}
}

func TestReportVerdictWords(t *testing.T) {
	mk := func(e2e float64) *Result {
		r := &Result{Figures: []Figure{
			{Name: FigRedisRoundTrip, Label: "rt", Count: 10, Seconds: 1, PerSec: 200000, Unit: "msg/s"},
			{Name: FigEndToEnd, Label: "e2e", Count: 10, Seconds: 1, PerSec: e2e, Unit: "events/s", Reference: FigRedisRoundTrip, OfReference: e2e / 200000},
		}}
		r.Verdict = judge(e2e, 200000)
		return r
	}
	tests := map[string]struct {
		e2e  float64
		want []string
	}{
		"met":    {120000, []string{"): met — 120,000 events/s", "0.60x of Redis round trip", "ratio", "1.67x faster"}},
		"missed": {50000, []string{"): MISSED — 50,000 events/s", ">= 100,000: NO", "within 3x: NO", "4.00x faster"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var md, tbl bytes.Buffer
			r := mk(tc.e2e)
			if err := r.WriteMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteTable(&tbl); err != nil {
				t.Fatal(err)
			}
			for _, out := range []string{md.String(), tbl.String()} {
				for _, w := range tc.want {
					if !strings.Contains(strings.ToLower(out), strings.ToLower(w)) {
						t.Errorf("output lacks %q:\n%s", w, out)
					}
				}
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1,000", 281234.6: "281,235", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkRun runs the whole measurement with b.N events and reports each figure's
// rate as a metric (go test -run '^$' -bench Run -benchtime 100000x ./bench/).
func BenchmarkRun(b *testing.B) {
	res, err := Run(context.Background(), Config{
		DatabaseURL: testenv.DatabaseURL(),
		RedisURL:    testenv.RedisURL(),
		Events:      b.N,
		TempDir:     b.TempDir(),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range res.Figures {
		b.ReportMetric(f.PerSec, f.Name+"/s")
	}
}

// TestRunWithStages: with AllStages set, the run adds a figure with every stage on and
// one per stage beyond the book, each committing every event, and cleans up their
// scratch schemas and keys too.
func TestRunWithStages(t *testing.T) {
	res, err := Run(context.Background(), Config{
		DatabaseURL: testenv.DatabaseURL(),
		RedisURL:    testenv.RedisURL(),
		Events:      3000,
		Shards:      2,
		TempDir:     t.TempDir(),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		AllStages: func(st *store.Store, rdb *redis.Client, scfg stream.Config) []pipeline.Stage {
			return []pipeline.Stage{
				{Group: pipeline.BookGroup, Sink: pipeline.NewBookSink(st)},
				{Group: stage.WindowsGroup, Sink: stage.NewWindows(st, stage.WindowsConfig{Redis: rdb, Stream: scfg})},
			}
		},
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, suffix := range []string{"", "_all", "_windows"} {
		assertCleanedUp(t, res.Schema+suffix, res.Prefix)
	}
	all, ok1 := res.Figure(FigAllStages)
	win, ok2 := res.Figure(FigStagePrefix + stage.WindowsGroup)
	if !ok1 || !ok2 {
		t.Fatalf("figures %+v: want every-stage and windows-alone figures", res.Figures)
	}
	if all.Count != int64(res.Settings.Events) || win.Count != int64(res.Settings.Events) || all.PerSec <= 0 || win.PerSec <= 0 {
		t.Errorf("every stage %+v, windows alone %+v: each must commit all %d events", all, win, res.Settings.Events)
	}
	if _, ok := res.Figure(FigStagePrefix + pipeline.BookGroup); ok {
		t.Error("the book alone is the end-to-end figure; it must not be measured twice")
	}
	if all.Reference != FigRedisRoundTrip || win.Reference != FigRedisRoundTrip {
		t.Errorf("stage figures must be compared with the Redis round trip: %+v %+v", all, win)
	}
}
