package stream

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A worker that outlived its lease must not read: its NOACK read would move the group's
// last delivered id past entries the next owner has not read, which it would never see.
func TestReadsAreGatedOnTheLease(t *testing.T) {
	rdb, cfg, name := producedStream(t, 1)
	ctx := context.Background()
	w := &shardWorker{rdb: rdb, cfg: cfg, g: GroupConfig{Group: "book", Owner: "stale", Batch: 10}.withDefaults(), name: name}
	lease := cfg.leaseKey(name, "book")
	if err := rdb.Set(ctx, lease, "someone-else", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.readOwned(ctx); !errors.Is(err, errLeaseLost) {
		t.Fatalf("read without the lease: err = %v, want errLeaseLost", err)
	}
	if g, err := groupInfo(ctx, rdb, name, "book"); err != nil || g.LastDeliveredID != "0-0" {
		t.Fatalf("group's last delivered id after a read without the lease = %q (err %v), want 0-0", g.LastDeliveredID, err)
	}
	if err := rdb.Set(ctx, lease, "stale", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	msgs, _, err := w.readOwned(ctx)
	if err != nil || len(msgs) != 1 || string(msgs[0].Body) != "e1" {
		t.Fatalf("read with the lease = %v (err %v), want entry e1", msgs, err)
	}
	_, last, err := w.readOwned(ctx)
	if err != nil || last != msgs[0].ID {
		t.Fatalf("empty read returned last delivered %q (err %v), want %s", last, err, msgs[0].ID)
	}
}
