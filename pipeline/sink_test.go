package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/analytics/demo"
	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/pipeline"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
)

// The book sink driven directly, without Redis: batches of two shards' entries (streams
// s0 and s1), committed one by one, combined, or again.

var sinkStreams = []string{"s0", "s1"}

// bookEntries returns the entries of the two shards: a demo market (fills, positions,
// prices, trades), transfers to and from a labelled exchange with a retraction, an
// undecodable line and a fill the book refuses (older than the position before it),
// each on its shard as the producer places it, with ids 1-0, 2-0, ... per stream.
func bookEntries(t *testing.T) map[string][]stream.Entry {
	t.Helper()
	var buf bytes.Buffer
	if _, err := demo.WriteNDJSON(&buf, demo.Config{Seed: 7}, 100); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	extra := []string{
		transferLine(1, 1, "b1", exWallet, exBinance14, "10", `,"usd":"30000.5"`),
		transferLine(2, -1, "b2", exBinance14, exWallet, "2.5", `,"usd":"7500"`),
		transferLine(3, 2, "b3", exBinance, exBinance14, "1000", ``),
		transferLine(4, 1, "b4", exWallet, exOther, "1", ``),
		transferLine(6, 3, "b6", exWallet, exBinance14, "4", `,"usd":"12000"`),
		transferLine(8, 1, "b8", exWallet, exBinance14, "9", `,"removed":true`),
		transferLine(8, 1, "b8", exWallet, exBinance14, "9", ``),
		transferLine(6, 3, "b6", exWallet, exBinance14, "4", `,"usd":"12000","removed":true`),
		`not json at all`,
		testenv.GoodPosition,
		strings.NewReplacer(`0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2`, `0x51f63885534cb494f4592a0311551f369bff2b39`,
			`"coin":"SUI"`, `"coin":"PENDLE"`).Replace(testenv.GoodFill),
	}
	// Spread over the run, in order.
	step := len(lines) / (len(extra) + 1)
	var all []string
	for i, l := range lines {
		if k := i / step; i%step == 0 && k > 0 && k <= len(extra) {
			all = append(all, extra[k-1])
		}
		all = append(all, l)
	}
	out := map[string][]stream.Entry{}
	for _, l := range all {
		s := sinkStreams[len(sinkStreams)-1] // an undecodable line: the last shard's
		var key []byte
		if ev, err := event.Decode([]byte(l), event.Rules{MaxFuture: 365 * 24 * time.Hour}); err == nil {
			s = sinkStreams[event.Shard(ev.ShardKey(), len(sinkStreams))]
			h := ev.KeyHash()
			key = h[:]
		}
		out[s] = append(out[s], stream.Entry{ID: fmt.Sprintf("%d-0", len(out[s])+1), Key: key, Body: []byte(l)})
	}
	return out
}

// sinkEnv is a schema with exchange labels and a book sink owning both streams.
type sinkEnv struct {
	st    *store.Store
	sink  *pipeline.BookSink
	epoch map[string]int64
}

func newSinkEnv(t *testing.T) *sinkEnv {
	t.Helper()
	ctx := context.Background()
	st := testenv.StoreAt(t, testenv.Schema(t))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := st.ImportLabels(ctx, []store.Label{
		{Address: exBinance14, Source: "test", Name: "Binance 14", Categories: []string{"binance"}, UpdatedAt: now},
		{Address: exBinance, Source: "test", Name: "Binance", Categories: []string{"binance"}, UpdatedAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	e := &sinkEnv{st: st, sink: pipeline.NewBookSink(st), epoch: map[string]int64{}}
	for _, s := range sinkStreams {
		e.claim(t, s)
	}
	return e
}

func (e *sinkEnv) claim(t *testing.T, s string) {
	t.Helper()
	ep, _, err := e.sink.Claim(context.Background(), s, pipeline.BookGroup, "test")
	if err != nil {
		t.Fatal(err)
	}
	e.epoch[s] = ep
}

// batch is entries of stream s as one batch of the current owner.
func (e *sinkEnv) batch(s string, es []stream.Entry) stream.Batch {
	return stream.Batch{Stream: s, Group: pipeline.BookGroup, Epoch: e.epoch[s], Entries: es, LastID: es[len(es)-1].ID}
}

func (e *sinkEnv) commit(t *testing.T, bs ...stream.Batch) {
	t.Helper()
	if err := e.sink.CommitMany(context.Background(), bs); err != nil {
		t.Fatalf("commit %d batches: %v", len(bs), err)
	}
}

// state is the result tables' checksums and the checkpoints.
func (e *sinkEnv) state(t *testing.T) map[string]string {
	t.Helper()
	st := testenv.StateChecksum(t, e.st.Pool())
	cps, err := e.st.Checkpoints(context.Background(), pipeline.BookGroup)
	if err != nil {
		t.Fatal(err)
	}
	st["checkpoints"] = fmt.Sprint(cps)
	return st
}

// reference commits every entry of each shard in batches of 200, one shard after the
// other, and returns the state.
func reference(t *testing.T, entries map[string][]stream.Entry) map[string]string {
	t.Helper()
	ref := newSinkEnv(t)
	for _, s := range sinkStreams {
		es := entries[s]
		for i := 0; i < len(es); i += 200 {
			if err := ref.sink.Commit(context.Background(), ref.batch(s, es[i:min(i+200, len(es))])); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := ref.state(t)
	// The workload exercises what it should.
	for table, prefix := range map[string]string{"exchange_transfers": "3:", "dead_letters": "2:"} {
		if !strings.HasPrefix(want[table], prefix) {
			t.Fatalf("reference %s: %s, want %s rows (the workload changed?)", table, want[table], prefix)
		}
	}
	return want
}

func sameState(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("%s: %s = %s, want %s", what, k, got[k], want[k])
			}
		}
	}
}

// TestBookSinkCommitManyEqualsOneByOne: the two shards' batches committed together
// (large ones through the COPY, small ones through the pipelined insert) leave the
// state of each batch committed alone.
func TestBookSinkCommitManyEqualsOneByOne(t *testing.T) {
	entries := bookEntries(t)
	want := reference(t, entries)

	e := newSinkEnv(t)
	// First a pair that together takes the COPY, then pairs of 150.
	n0, n1 := len(entries["s0"]), len(entries["s1"])
	first := pipeline.CopyMin/2 + 50
	if n0 < first+300 || n1 < first+300 {
		t.Fatalf("shards of %d and %d entries are too small for the test", n0, n1)
	}
	for lo, hi := 0, first; lo < max(n0, n1); lo, hi = hi, hi+150 {
		var bs []stream.Batch
		for _, s := range sinkStreams {
			if es := entries[s]; lo < len(es) {
				bs = append(bs, e.batch(s, es[lo:min(hi, len(es))]))
			}
		}
		e.commit(t, bs...)
	}
	sameState(t, "combined", e.state(t), want)
}

// TestBookSinkAppliesOnlyNewEvents: batches that repeat entries committed before (a
// redelivery, a replay) apply only their new events, whether the repeat is met by the
// pipelined insert, by the COPY of a large batch, or by a shard that met one before.
func TestBookSinkAppliesOnlyNewEvents(t *testing.T) {
	entries := bookEntries(t)
	want := reference(t, entries)

	e := newSinkEnv(t)
	for _, s := range sinkStreams {
		es := entries[s]
		n := len(es)
		e.commit(t, e.batch(s, es[:n/4]))
		e.commit(t, e.batch(s, es[n/8:n/3])) // partly stored: the insert fails, redone
		e.commit(t, e.batch(s, es[n/4:n/2])) // the shard met repeats: checked at once
	}
	// A sink without that memory (a restart), both shards in one batch large enough
	// for the COPY, partly stored.
	e.sink = pipeline.NewBookSink(e.st)
	var bs []stream.Batch
	rows := 0
	for _, s := range sinkStreams {
		es := entries[s]
		part := es[len(es)*2/5:]
		rows += len(part)
		bs = append(bs, e.batch(s, part))
	}
	if rows < pipeline.CopyMin {
		t.Fatalf("the last commit has %d entries, fewer than the COPY's %d", rows, pipeline.CopyMin)
	}
	e.commit(t, bs...)
	sameState(t, "repeats", e.state(t), want)

	// Everything again: nothing changes.
	for _, s := range sinkStreams {
		e.commit(t, e.batch(s, entries[s]))
	}
	sameState(t, "everything again", e.state(t), want)
}

// TestBookSinkCommitManyFenced: a stale epoch in one of the combined batches fails the
// whole transaction with stream.ErrFenced and changes nothing, whichever way the
// batches would have been committed.
func TestBookSinkCommitManyFenced(t *testing.T) {
	entries := bookEntries(t)
	for _, tc := range []struct {
		name  string
		size  int  // entries per batch
		after bool // the shards met repeats before
	}{
		{"pipelined", 100, false},
		{"copy", pipeline.CopyMin/2 + 50, false},
		{"checked", 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newSinkEnv(t)
			for _, s := range sinkStreams {
				e.commit(t, e.batch(s, entries[s][:100]))
				if tc.after {
					e.commit(t, e.batch(s, entries[s][:100]))
				}
			}
			before := e.state(t)
			stale := e.epoch["s1"]
			e.claim(t, "s1") // another owner took s1
			bs := []stream.Batch{e.batch("s0", entries["s0"][100:100+tc.size]), e.batch("s1", entries["s1"][100:100+tc.size])}
			bs[1].Epoch = stale
			err := e.sink.CommitMany(ctx, bs)
			var perm *stream.PermanentError
			if !errors.Is(err, stream.ErrFenced) || errors.As(err, &perm) {
				t.Fatalf("commit with a stale epoch: %v, want stream.ErrFenced", err)
			}
			sameState(t, "after the fenced commit", e.state(t), before)
			// The other batch alone commits: what failed was the fence.
			e.commit(t, bs[0])
			if after := e.state(t); after["events"] == before["events"] {
				t.Errorf("s0's batch committed alone stored nothing: events %s", after["events"])
			}
		})
	}
}
