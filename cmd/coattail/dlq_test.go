package main

import (
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

type dlqStatsOut struct {
	Total     int64            `json:"total"`
	ByReason  map[string]int64 `json:"by_reason"`
	StreamLen int64            `json:"stream_len"`
}

func (s schema) dlqStatsOf(t *testing.T) dlqStatsOut {
	t.Helper()
	r := s.cli.run(t, "dlq", "stats", "--json")
	if r.code != 0 {
		t.Fatalf("dlq stats: %s", r)
	}
	var st dlqStatsOut
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("dlq stats --json: %v\n%s", err, r)
	}
	return st
}

type dlqEntry struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
	Source string `json:"source"`
	Detail string `json:"detail"`
	Raw    string `json:"raw"`
}

func (s schema) dlqList(t *testing.T, args ...string) []dlqEntry {
	t.Helper()
	r := s.cli.run(t, append([]string{"dlq", "list", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("dlq list: %s", r)
	}
	var out []dlqEntry
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("dlq list --json: %v\n%s", err, r)
	}
	return out
}

// TestCLIDLQListShowStatsPurge: dead letters made by `coattail replay` of a file with
// bad lines, listed, shown, counted and purged (Postgres and the dead-letter stream).
func TestCLIDLQListShowStatsPurge(t *testing.T) {
	s := newSchema(t)
	longBad := strings.Replace(testenv.GoodTrade, `"side":"buy"`, `"side":"hold"`, 1)
	lines := []string{
		`not json, line 1`,
		testenv.GoodTrade,
		longBad,
		strings.Replace(testenv.GoodFill, `"px":"1.3189"`, `"px":"-1"`, 1),
		`not json, line 5`,
		strings.Replace(testenv.GoodFill, `"side":"sell"`, `"side":"short"`, 1),
	}
	path := filepath.Join(t.TempDir(), "bad.ndjson")
	testenv.WriteLines(t, path, lines, false)
	if r := s.cli.run(t, "replay", "--json", path); r.code != 0 {
		t.Fatalf("replay: %s", r)
	}
	want := map[string]int64{"bad_json": 2, "bad_side": 2, "non_positive": 1}
	st := s.dlqStatsOf(t)
	if st.Total != 5 || !maps.Equal(st.ByReason, want) || st.StreamLen != 5 {
		t.Fatalf("dlq stats = %+v, want 5 by %s, 5 on the stream", st, testenv.Reasons(want))
	}

	all := s.dlqList(t)
	if len(all) != 5 {
		t.Fatalf("dlq list: %d entries, want 5", len(all))
	}
	if got := s.dlqList(t, "--limit", "2"); len(got) != 2 || got[0].Key != all[0].Key || got[1].Key != all[1].Key {
		t.Errorf("dlq list --limit 2 = %v, want the first two of %v", got, all)
	}
	sides := s.dlqList(t, "--reason", "bad_side")
	if len(sides) != 2 || sides[0].Reason != "bad_side" || sides[1].Reason != "bad_side" {
		t.Fatalf("dlq list --reason bad_side = %+v", sides)
	}
	var hold dlqEntry
	for _, e := range sides {
		if e.Raw == longBad {
			hold = e
		}
	}
	if hold.Key == "" || hold.Source != path+":3" || !strings.Contains(hold.Detail, "hold") {
		t.Fatalf("the bad_side line 3 is not listed with its raw line, source and detail: %+v", sides)
	}
	r := s.cli.run(t, "dlq", "list", "--reason", "bad_side")
	if r.code != 0 || !strings.Contains(r.stdout, hold.Key[:16]) || strings.Contains(r.stdout, longBad) || !strings.Contains(r.stdout, "…") {
		t.Errorf("dlq list (text) should show the key and the start of the raw line only: %s", r)
	}
	r = s.cli.run(t, "dlq", "show", strings.ToUpper(hold.Key[:10]))
	if r.code != 0 || !strings.Contains(r.stdout, longBad) || !strings.Contains(r.stdout, hold.Key) ||
		!strings.Contains(r.stdout, "still fails: bad_side") {
		t.Errorf("dlq show by key prefix should print the raw line in full: %s", r)
	}
	if r := s.cli.run(t, "dlq", "show", "0123456789abcdef0123456789abcdef"); r.code != 1 || !strings.Contains(r.stderr, "no dead letter") {
		t.Errorf("dlq show of an unknown key: %s", r)
	}

	// purge refuses without --yes and says how many it would delete.
	r = s.cli.run(t, "dlq", "purge", "--reason", "bad_side")
	if r.code != 2 || !strings.Contains(r.stderr, "would delete 2 dead letter(s)") || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("purge without --yes: %s", r)
	}
	if st := s.dlqStatsOf(t); st.Total != 5 {
		t.Fatalf("purge without --yes deleted something: %+v", st)
	}
	r = s.cli.run(t, "dlq", "purge", "--reason", "bad_side", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "deleted 2 dead letter(s)") || !strings.Contains(r.stdout, "removed 2 entries") {
		t.Errorf("purge --reason bad_side --yes: %s", r)
	}
	delete(want, "bad_side")
	if st := s.dlqStatsOf(t); st.Total != 3 || !maps.Equal(st.ByReason, want) || st.StreamLen != 3 {
		t.Errorf("after purging bad_side: %+v, want 3 by %s, 3 on the stream", st, testenv.Reasons(want))
	}
	r = s.cli.run(t, "dlq", "purge", "--older-than", "1h", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "deleted 0 dead letter(s)") {
		t.Errorf("purge --older-than 1h of fresh letters: %s", r)
	}
	r = s.cli.run(t, "dlq", "purge", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "deleted 3 dead letter(s)") {
		t.Errorf("purge --yes: %s", r)
	}
	if st := s.dlqStatsOf(t); st.Total != 0 || st.StreamLen != 0 {
		t.Errorf("after purging everything: %+v", st)
	}
	if r := s.cli.run(t, "dlq", "list"); r.code != 0 || !strings.Contains(r.stdout, "no dead letters") {
		t.Errorf("dlq list of nothing: %s", r)
	}
}

type dlqReplayJSON struct {
	DryRun        bool             `json:"dry_run"`
	Scanned       int64            `json:"scanned"`
	Replayed      int64            `json:"replayed"`
	StillFailing  int64            `json:"still_failing"`
	AlreadyStored int64            `json:"already_stored"`
	Failing       map[string]int64 `json:"failing"`
	ByReason      map[string]int64 `json:"by_reason"`
	Committed     bool             `json:"committed"`
}

func (s schema) dlqReplay(t *testing.T, args ...string) dlqReplayJSON {
	t.Helper()
	r := s.cli.run(t, append([]string{"dlq", "replay", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("dlq replay %v: %s", args, r)
	}
	var out dlqReplayJSON
	if err := json.Unmarshal([]byte(lastLine(r.stdout)), &out); err != nil {
		t.Fatalf("dlq replay --json: %v\n%s", err, r)
	}
	return out
}

// TestCLIDLQReplay: dead letters whose raw line passes the current rules go back
// through the pipeline, are committed to the events table and leave dead_letters;
// those that still fail, or whose event is already stored, stay.
func TestCLIDLQReplay(t *testing.T) {
	s := newSchema(t)
	ctx := context.Background()
	// The price event is stored by an ordinary replay first.
	path := filepath.Join(t.TempDir(), "price.ndjson")
	testenv.WriteLines(t, path, []string{testenv.GoodPrice}, false)
	if r := s.cli.run(t, "replay", "--json", path); r.code != 0 {
		t.Fatalf("replay: %s", r)
	}
	dead := []store.DeadLetter{
		// Rejected under older rules, valid now.
		{Reason: "future_timestamp", Detail: "ts in the future", Source: "old.ndjson:1", Raw: []byte(testenv.GoodTrade)},
		// A worker gave up on it (the database was down).
		{Reason: "max_deliveries", Detail: "failed 5 times", Source: "coattail:events:{3}:1-1", Raw: []byte(testenv.GoodFill)},
		// Still bad.
		{Reason: "bad_json", Detail: "not a JSON object", Source: "old.ndjson:2", Raw: []byte(`not json`)},
		// The book refused it; its event is stored, so replaying changes nothing.
		{Reason: "book_refused", Detail: "refused", Source: "book", Raw: []byte(testenv.GoodPrice)},
	}
	if err := s.st.AddDeadLetters(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if n := s.eventCount(t); n != 1 {
		t.Fatalf("%d events before dlq replay, want 1", n)
	}

	dry := s.dlqReplay(t, "--dry-run")
	if !dry.DryRun || dry.Scanned != 4 || dry.Replayed != 2 || dry.StillFailing != 1 || dry.AlreadyStored != 1 || dry.Committed {
		t.Errorf("dry run: %+v, want 4 scanned, 2 to replay, 1 failing, 1 already stored", dry)
	}
	if n, err := s.st.CountDeadLetters(ctx, store.DeadLetterFilter{}); err != nil || n != 4 || s.eventCount(t) != 1 {
		t.Fatalf("the dry run changed something: %d dead letters (%v), %d events", n, err, s.eventCount(t))
	}

	if only := s.dlqReplay(t, "--reason", "bad_json"); only.Scanned != 1 || only.Replayed != 0 || only.Failing["bad_json"] != 1 {
		t.Errorf("replay --reason bad_json: %+v", only)
	}

	got := s.dlqReplay(t)
	wantBy := map[string]int64{"future_timestamp": 1, "max_deliveries": 1}
	if got.Replayed != 2 || !maps.Equal(got.ByReason, wantBy) || got.StillFailing != 1 || got.AlreadyStored != 1 || !got.Committed {
		t.Errorf("replay: %+v, want 2 replayed (by %s), 1 failing, 1 already stored, committed", got, testenv.Reasons(wantBy))
	}
	if n := s.eventCount(t); n != 3 {
		t.Errorf("%d events after dlq replay, want 3 (the price, the trade and the fill)", n)
	}
	var keys [][]byte
	for _, line := range []string{testenv.GoodTrade, testenv.GoodFill} {
		ev, err := event.Decode([]byte(line), event.Rules{})
		if err != nil {
			t.Fatal(err)
		}
		kh := ev.KeyHash()
		keys = append(keys, kh[:])
	}
	stored, err := s.st.StoredEventKeys(ctx, keys)
	if err != nil || len(stored) != 2 {
		t.Errorf("the replayed trade and fill are not both in the events table: %v, %v", stored, err)
	}
	left, err := s.st.DeadLetterCounts(ctx)
	if want := map[string]int64{"bad_json": 1, "book_refused": 1}; err != nil || !maps.Equal(left, want) {
		t.Errorf("dead letters left: %s, %v; want %s", testenv.Reasons(left), err, testenv.Reasons(want))
	}

	again := s.dlqReplay(t)
	if again.Scanned != 2 || again.Replayed != 0 || again.StillFailing != 1 || again.AlreadyStored != 1 {
		t.Errorf("second replay: %+v, want nothing replayed", again)
	}
	if n := s.eventCount(t); n != 3 {
		t.Errorf("%d events after the second dlq replay, want 3", n)
	}
}

// TestCLIDLQUsage: command-line mistakes are exit status 2, before connecting.
func TestCLIDLQUsage(t *testing.T) {
	// Nothing listens on port 1: a command that connected would fail differently.
	base := newCLI("postgres://postgres@127.0.0.1:1/postgres?sslmode=disable", "unused").with("COATTAIL_REDIS_URL", "redis://127.0.0.1:1/0")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"dlq"}, "subcommand"},
		{"unknown subcommand", []string{"dlq", "frob"}, "frob"},
		{"limit out of range", []string{"dlq", "list", "--limit", "0"}, "--limit"},
		{"show without key", []string{"dlq", "show"}, "key"},
		{"show non-hex key", []string{"dlq", "show", "xyz"}, "hex"},
		{"purge bad age", []string{"dlq", "purge", "--older-than", "yesterday", "--yes"}, "--older-than"},
		{"replay stray argument", []string{"dlq", "replay", "now"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base.run(t, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit 2 and %q on stderr, got %s", tc.want, r)
			}
		})
	}
}
