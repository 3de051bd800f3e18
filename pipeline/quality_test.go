package pipeline_test

import (
	"context"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/quality"
	"github.com/coattailcapital/coattail/stream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/shopspring/decimal"
)

// gather returns the registry's counters by metric name and label value ("" for a
// series without labels).
func gather(t *testing.T, reg *prometheus.Registry) map[string]map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, f := range fams {
		if f.GetType() != dto.MetricType_COUNTER {
			continue
		}
		m := map[string]float64{}
		for _, s := range f.GetMetric() {
			label := ""
			if ls := s.GetLabel(); len(ls) > 0 {
				label = ls[0].GetValue()
			}
			m[label] = s.GetCounter().GetValue()
		}
		out[f.GetName()] = m
	}
	return out
}

// Every rule is on /metrics from the start, at 0, with the checked counter.
func TestMetricsQualityRulesPreinitialised(t *testing.T) {
	reg := prometheus.NewRegistry()
	pipeline.NewMetrics(reg)
	got := gather(t, reg)
	rejects := got["coattail_quality_rejects_total"]
	rules := quality.Rules()
	if len(rejects) != len(rules) {
		t.Errorf("coattail_quality_rejects_total has %d series, want one per rule (%d): %v", len(rejects), len(rules), rejects)
	}
	for _, r := range rules {
		if v, ok := rejects[r.Name]; !ok || v != 0 {
			t.Errorf("coattail_quality_rejects_total{rule=%q} = %v, %v; want present at 0", r.Name, v, ok)
		}
	}
	if v, ok := got["coattail_quality_checked_total"][""]; !ok || v != 0 {
		t.Errorf("coattail_quality_checked_total = %v, %v; want present at 0", v, ok)
	}
}

// TestReplayQualityGate: lines that pass the codec but fail a gate rule (or the EIP-55
// checksum) are dead-lettered with their reason and counted by rule; the good lines
// are committed; a second replay of the file changes nothing.
func TestReplayQualityGate(t *testing.T) {
	e := newEnv(t)
	const (
		from  = "0x8032eaede5c55f744387ca53aaf0499abcd783e5"
		to    = "0xb4e16d0168e52d35cacd2c6185b44281ec28c9dc"
		wal   = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
		walOK = "0xb7b6f3CeA3f66bF525f5d8f965F6DBf6d9B017B2" // its EIP-55 checksum
		walNo = "0xB7b6F3CEA3f66BF525f5D8f965F6DbF6d9B017B2" // mixed case, not its checksum
	)
	xfer := func(logIndex int, pairs ...string) string {
		pairs = append([]string{`"log_index":1`, `"log_index":` + strconv.Itoa(logIndex)}, pairs...)
		return strings.NewReplacer(pairs...).Replace(testenv.GoodTransfer)
	}
	price := func(ts, px string) string {
		return strings.NewReplacer("09:34:27.568479Z", ts, `"price":"1.6"`, `"price":"`+px+`"`).Replace(testenv.GoodPrice)
	}
	type line struct {
		text, reason string // "" accepted
	}
	input := []line{
		{testenv.GoodTrade, ""},
		{testenv.GoodTrade, "duplicate"},
		{xfer(2, to, from), "self_transfer"},
		{xfer(3, `"raw_amount":"26369360912168932"`, `"raw_amount":"0"`), "zero_value"},
		{strings.Replace(testenv.GoodFill, wal, walNo, 1), "bad_checksum"},
		{strings.Replace(testenv.GoodFill, wal, walOK, 1), ""},
		{testenv.GoodTransfer, ""},
		{xfer(4, `"decimals":18`, `"decimals":6`), "decimals_mismatch"},
		{price("09:34:27Z", "1.6"), ""},
		{price("09:35:27Z", "2.4"), "price_deviation"},
		{price("09:36:27Z", "1.65"), ""},
		{testenv.GoodSwap, ""},
		{testenv.GoodPosition, ""},
		{testenv.GoodFill, "duplicate"}, // the checksummed fill again, in lower case
	}
	var lines []string
	wantReason := map[string]int64{}
	wantSource := map[string]string{}
	wantRule := map[string]float64{}
	var accepted int64
	path := filepath.Join(t.TempDir(), "gate.ndjson")
	for i, l := range input {
		lines = append(lines, l.text)
		if l.reason == "" {
			accepted++
			continue
		}
		wantReason[l.reason]++
		wantSource[path+":"+strconv.Itoa(i+1)] = l.reason
		r, ok := quality.RuleFor(event.Reason(l.reason))
		if !ok {
			t.Fatalf("reason %s is no rule's", l.reason)
		}
		wantRule[r.Name]++
	}
	testenv.WriteLines(t, path, lines, false)

	reg := prometheus.NewRegistry()
	m := pipeline.NewMetrics(reg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := e.replay(ctx, []string{path}, func(c *pipeline.ReplayConfig) { c.Metrics, c.Strict = m, true })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != int64(len(input)) || sum.Accepted != accepted || !sum.Committed || !maps.Equal(sum.ByReason, wantReason) {
		t.Errorf("summary read %d accepted %d committed %v by reason %s; want %d, %d, committed, %s",
			sum.Read, sum.Accepted, sum.Committed, testenv.Reasons(sum.ByReason), len(input), accepted, testenv.Reasons(wantReason))
	}
	if n := e.eventCount(t); n != accepted {
		t.Errorf("%d events stored, want %d", n, accepted)
	}
	rows, err := e.st.Pool().Query(ctx, `SELECT source, reason, detail FROM dead_letters`)
	if err != nil {
		t.Fatal(err)
	}
	gotSource := map[string]string{}
	for rows.Next() {
		var src, reason, detail string
		if err := rows.Scan(&src, &reason, &detail); err != nil {
			t.Fatal(err)
		}
		gotSource[src] = reason
		if !strings.HasPrefix(detail, reason+": ") {
			t.Errorf("dead letter %s: detail %q does not start with its reason", src, detail)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(gotSource, wantSource) {
		t.Errorf("dead letters by file:line:\n got  %v\n want %v", gotSource, wantSource)
	}
	// The dead-letter stream carries the rule with the reason.
	msgs, err := e.rdb.XRange(ctx, e.scfg().DLQ(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != len(wantSource) {
		t.Errorf("%d entries on the dead-letter stream, want %d", len(msgs), len(wantSource))
	}
	for _, msg := range msgs {
		reason, _ := msg.Values["reason"].(string)
		rule, _ := msg.Values["rule"].(string)
		if r, ok := quality.RuleFor(event.Reason(reason)); !ok || r.Name != rule {
			t.Errorf("dead-letter stream entry %v: rule %q, want the rule of reason %q", msg.Values, rule, reason)
		}
	}
	// Metrics: each reject counted under its rule, every line checked once.
	got := gather(t, reg)
	for _, r := range quality.Rules() {
		if v := got["coattail_quality_rejects_total"][r.Name]; v != wantRule[r.Name] {
			t.Errorf("coattail_quality_rejects_total{rule=%q} = %v, want %v", r.Name, v, wantRule[r.Name])
		}
	}
	if v := got["coattail_quality_checked_total"][""]; v != float64(len(input)) {
		t.Errorf("coattail_quality_checked_total = %v, want %d", v, len(input))
	}
	// The checksummed fill reached the book under the lower-case wallet.
	if _, err := e.st.Wallet(ctx, wal); err != nil {
		t.Errorf("wallet of the checksummed fill: %v", err)
	}

	// Replayed again (a new run, a new gate): the same verdicts, the same state.
	want := testenv.StateChecksum(t, e.st.Pool())
	sum, err = e.replay(ctx, []string{path}, func(c *pipeline.ReplayConfig) { c.Strict = true })
	if err != nil || !maps.Equal(sum.ByReason, wantReason) || sum.Accepted != accepted {
		t.Errorf("second replay: %v, summary %+v", err, sum)
	}
	testenv.SameState(t, "replayed twice", testenv.StateChecksum(t, e.st.Pool()), want)
}

// TestReplayQualityConfig: the replay's gate follows ReplayConfig.Quality; lateness is
// off by default in replay, as files need not be in time order.
func TestReplayQualityConfig(t *testing.T) {
	at := func(ts, px string) string {
		return strings.NewReplacer("2025-02-04T09:34:27.568479Z", ts, `"price":"1.6"`, `"price":"`+px+`"`).Replace(testenv.GoodPrice)
	}
	lines := []string{at("2025-02-04T10:00:00Z", "1.6"), at("2025-02-04T10:01:00Z", "3.2"), at("2025-02-04T08:00:00Z", "1.6")}
	path := filepath.Join(t.TempDir(), "unordered.ndjson")
	testenv.WriteLines(t, path, lines, false)
	for _, tc := range []struct {
		name string
		cfg  quality.Config
		want map[string]int64
	}{
		{"defaults", quality.Config{}, map[string]int64{"price_deviation": 1}},
		{"lateness on, deviation off", quality.Config{AllowedLateness: time.Hour, MaxDeviation: quality.Off}, map[string]int64{"late": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sum, err := e.replay(ctx, []string{path}, func(c *pipeline.ReplayConfig) { c.Strict, c.Quality = true, tc.cfg })
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(sum.ByReason, tc.want) {
				t.Errorf("by reason %s, want %s", testenv.Reasons(sum.ByReason), testenv.Reasons(tc.want))
			}
		})
	}
}

// TestRunSourceQualityGate: a live source's events pass the live gate: a re-sent event
// and one late beyond the allowed lateness are dead-lettered.
func TestRunSourceQualityGate(t *testing.T) {
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scfg := stream.Config{Prefix: prefix}
	ts := time.Now().UTC().Add(-time.Minute)
	eth := event.Event{Kind: event.KindPrice, Src: "hyperliquid", TS: ts, Symbol: "ETH", Price: decimal.RequireFromString("2000")}
	old := eth
	old.TS, old.Price = ts.Add(-time.Hour), decimal.RequireFromString("1990")
	btc := eth
	btc.Symbol, btc.TS, btc.Price = "BTC", ts.Add(-time.Hour), decimal.RequireFromString("90000") // its own partition
	src := scripted{evs: []event.Event{eth, eth, old, btc}}
	prod, err := stream.NewProducer(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	grp, err := stream.NewGroup(rdb, scfg, stream.GroupConfig{Group: pipeline.BookGroup, Block: 50 * time.Millisecond,
		Rebalance: 50 * time.Millisecond}, pipeline.NewBookSink(st))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := pipeline.NewIngress(prod, rdb, st, nil, "scripted")
	done := make(chan error, 2)
	go func() { done <- grp.Run(ctx) }()
	go func() { done <- pipeline.RunSource(ctx, src, in, event.Rules{}) }()
	want := map[string]int64{"duplicate": 1, "late": 1, "bad_frame": 1}
	ok := testenv.WaitFor(ctx, func() bool {
		n, err := st.EventCount(ctx)
		dl, err2 := st.DeadLetterCounts(ctx)
		return err == nil && err2 == nil && n == 2 && maps.Equal(dl, want)
	})
	cancel()
	for range 2 {
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("run: %v", err)
		}
	}
	if !ok {
		n, _ := st.EventCount(context.Background())
		dl, _ := st.DeadLetterCounts(context.Background())
		t.Fatalf("events %d dead letters %v, want 2 events and %v", n, dl, want)
	}
	if g := in.Gate(); g == nil || g.Config().AllowedLateness != quality.DefaultAllowedLateness {
		t.Errorf("RunSource did not give the ingress the live gate: %+v", g)
	}
}
