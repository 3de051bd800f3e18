package stream

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// A group read with NOACK keeps no pending list: its last delivered id is past what its
// owner has committed. Trimming must keep everything after the committed position the
// owner published, or entries read but not yet committed would be gone if it died.
func TestTrimKeepsWhatAGroupReadButHasNotCommitted(t *testing.T) {
	// XTRIM MINID ~ removes whole nodes of the stream (100 entries each by default).
	rdb, _, s := producedStream(t, 1000)
	ctx := context.Background()
	// The owner read 600 and has committed 300 of them.
	read := readNoAck(t, rdb, s, "a", 600)
	if err := rdb.HSet(ctx, committedKey(s), "book", read[299].ID).Err(); err != nil {
		t.Fatal(err)
	}
	if err := TrimAcked(ctx, rdb, s); err != nil {
		t.Fatal(err)
	}
	left, err := rdb.XRange(ctx, s, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(left) == 0 || CompareIDs(left[0].ID, read[299].ID) > 0 {
		t.Fatalf("%d entries left: trimmed past the committed position %s", len(left), read[299].ID)
	}
	if len(left) == 1000 {
		t.Fatalf("nothing trimmed, want the entries before the committed position gone")
	}
}

// producedStream is a one-shard config with n entries produced on its stream, s, and
// the group "book" on it.
func producedStream(t *testing.T, n int) (*redis.Client, Config, string) {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	cfg := Config{Prefix: prefix, Shards: 1}.withDefaults()
	p, err := NewProducer(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []Message
	for i := 0; i < n; i++ {
		msgs = append(msgs, Message{Shard: 0, Key: []byte(fmt.Sprint(i)), Body: []byte(fmt.Sprintf("e%d", i+1))})
	}
	if err := p.Add(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	s := cfg.Stream(0)
	if err := ensureGroup(context.Background(), rdb, s, "book"); err != nil {
		t.Fatal(err)
	}
	return rdb, cfg, s
}

// readNoAck reads n new entries of s for group "book" as consumer, without acks, as the
// shard workers do.
func readNoAck(t *testing.T, rdb *redis.Client, s, consumer string, n int) []redis.XMessage {
	t.Helper()
	res, err := rdb.XReadGroup(context.Background(), &redis.XReadGroupArgs{Group: "book", Consumer: consumer,
		Streams: []string{s, ">"}, Count: int64(n), NoAck: true}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != n {
		t.Fatalf("read %d entries of %s: %v (err %v)", n, s, res, err)
	}
	return res[0].Messages
}

// A new owner moves the group back to its committed position, keeping Redis's lag of
// the group known, and counts the rewind.
func TestResumeMovesTheGroupBackToTheCheckpoint(t *testing.T) {
	rdb, cfg, s := producedStream(t, 100)
	ctx := context.Background()
	// An owner read 50 entries and committed the first 10 before it died.
	read := readNoAck(t, rdb, s, "dead", 50)
	committed, _ := ParseID(read[9].ID)
	w := &shardWorker{rdb: rdb, cfg: cfg, g: GroupConfig{Group: "book", Owner: "next"}.withDefaults(), name: s, last: committed}
	w.log = w.g.Logger
	if err := rdb.Set(ctx, cfg.leaseKey(s, "book"), "next", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	for run := int64(1); run <= 2; run++ {
		if err := w.resume(ctx); err != nil {
			t.Fatal(err)
		}
		info, err := groupInfo(ctx, rdb, s, "book")
		if err != nil {
			t.Fatal(err)
		}
		if info.LastDeliveredID != read[9].ID || info.EntriesRead != 10 || info.Lag != 90 {
			t.Fatalf("rewind %d: group at %s, entries read %d, lag %d; want %s, 10 and 90",
				run, info.LastDeliveredID, info.EntriesRead, info.Lag, read[9].ID)
		}
		if w.redeliveries != run+1 || w.redeliverTo.String() != read[49].ID {
			t.Fatalf("rewind %d: entries up to %s read for the %d. time, want up to %s for the %d. time",
				run, w.redeliverTo, w.redeliveries, read[49].ID, run+1)
		}
		if c := rdb.HGet(ctx, committedKey(s), "book").Val(); c != read[9].ID {
			t.Fatalf("published committed position %q, want %s", c, read[9].ID)
		}
		// The next owner dies too, having read the same entries again.
		readNoAck(t, rdb, s, "next", 40)
	}
}
