package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

func key16(b ...byte) [16]byte {
	var k [16]byte
	copy(k[:], b)
	k[15] = 0x5a
	return k
}

func masked(group string, k [16]byte) [16]byte {
	m := store.KeyMask(group)
	for i := range k {
		k[i] ^= m[i]
	}
	return k
}

func storedKeys(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) [][16]byte {
	t.Helper()
	rows, err := q.Query(context.Background(), `SELECT key FROM window_keys ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := pgx.CollectRows(rows, pgx.RowTo[[16]byte])
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// TestWindowKeysMigration: migration 014 carries the keys of window_seen over into
// window_keys masked by their group exactly as store.KeyMask masks them, and drops
// window_seen.
func TestWindowKeysMigration(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testenv.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	apply := func(upTo int) {
		t.Helper()
		for _, m := range ms {
			if m.Version > upTo-1 && m.Version <= upTo {
				if _, err := conn.Exec(ctx, m.SQL); err != nil {
					t.Fatalf("migration %s: %v", m.Name, err)
				}
			}
		}
	}
	for v := 1; v <= 13; v++ {
		apply(v)
	}
	old := map[string][][16]byte{
		"windows": {key16(1), key16(2), key16(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
		"other":   {key16(1), key16(0x80)},
	}
	var want [][16]byte
	for g, ks := range old {
		for _, k := range ks {
			if _, err := conn.Exec(ctx, `INSERT INTO window_seen (grp, key) VALUES ($1, $2)`, g, k[:]); err != nil {
				t.Fatal(err)
			}
			want = append(want, masked(g, k))
		}
	}
	apply(14)
	slices.SortFunc(want, func(a, b [16]byte) int { return slices.Compare(a[:], b[:]) })
	if got := storedKeys(t, conn); !slices.Equal(got, want) {
		t.Fatalf("window_keys after the migration:\n got %x\nwant %x", got, want)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'window_seen' AND schemaname = current_schema()`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("window_seen still there (%d, %v)", n, err)
	}
}

// TestRecordKeys: Writes.NewKeys records a batch's keys (repeats within it once) and
// fails the whole pipeline with ErrKeysApplied when one was recorded before;
// RecordNewKeys tolerates those and says which keys are new; groups keep separate sets.
func TestRecordKeys(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	epoch, _, err := st.ClaimShard(ctx, "s", "windows", "me")
	if err != nil {
		t.Fatal(err)
	}
	a, b, c, d, e := key16(1), key16(2), key16(3), key16(4), key16(5)

	var q store.Writes
	q.Fence("s", "windows", epoch, "1-0")
	q.NewKeys("windows", [][16]byte{a, b, a, c})
	if err := q.Commit(ctx, st.Pool()); err != nil {
		t.Fatalf("first batch: %v", err)
	}
	want := [][16]byte{masked("windows", a), masked("windows", b), masked("windows", c)}
	slices.SortFunc(want, func(x, y [16]byte) int { return slices.Compare(x[:], y[:]) })
	if got := storedKeys(t, st.Pool()); !slices.Equal(got, want) {
		t.Fatalf("stored %x, want %x", got, want)
	}

	// A key recorded before voids the pipeline: neither the checkpoint nor the state
	// queued with it are stored.
	q = store.Writes{}
	q.Fence("s", "windows", epoch, "2-0")
	q.NewKeys("windows", [][16]byte{d, b})
	q.WindowState("s", "windows", []byte(`{}`))
	if err := q.Commit(ctx, st.Pool()); !errors.Is(err, store.ErrKeysApplied) {
		t.Fatalf("a batch repeating a key: %v, want ErrKeysApplied", err)
	}
	if n := len(storedKeys(t, st.Pool())); n != 3 {
		t.Fatalf("%d keys after the failed batch, want 3", n)
	}
	var last string
	var states int
	if err := st.Pool().QueryRow(ctx, `SELECT last_id, (SELECT count(*) FROM window_state) FROM stream_checkpoints
		WHERE stream = 's' AND grp = 'windows'`).Scan(&last, &states); err != nil {
		t.Fatal(err)
	}
	if last != "1-0" || states != 0 {
		t.Fatalf("after the failed batch: checkpoint %s, %d states; want 1-0 and none", last, states)
	}

	var fresh []bool
	var before int
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		var err error
		fresh, before, err = store.RecordNewKeys(ctx, tx, "windows", [][16]byte{d, b, e, d, a, e})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true, false, false, false}; !slices.Equal(fresh, want) || before != 2 {
		t.Fatalf("RecordNewKeys: fresh %v, %d before; want %v, 2", fresh, before, want)
	}
	// Another group has its own set.
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		var err error
		fresh, before, err = store.RecordNewKeys(ctx, tx, "other", [][16]byte{a, e})
		return err
	})
	if err != nil || !slices.Equal(fresh, []bool{true, true}) || before != 0 {
		t.Fatalf("another group: fresh %v, %d before, %v; want both new", fresh, before, err)
	}
}

// TestWritesFence: a pipeline whose fence names an epoch that is no longer current
// fails with ErrFenced and stores nothing; with the current epoch it commits.
func TestWritesFence(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	old, _, err := st.ClaimShard(ctx, "s", "windows", "a")
	if err != nil {
		t.Fatal(err)
	}
	cur, _, err := st.ClaimShard(ctx, "s", "windows", "b")
	if err != nil {
		t.Fatal(err)
	}
	send := func(epoch int64, last string) error {
		var q store.Writes
		q.Fence("s", "windows", epoch, last)
		q.NewKeys("windows", [][16]byte{key16(byte(epoch))})
		q.WindowState("s", "windows", []byte(last))
		return q.Commit(ctx, st.Pool())
	}
	if err := send(old, "5-0"); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale epoch: %v, want ErrFenced", err)
	}
	if n := len(storedKeys(t, st.Pool())); n != 0 {
		t.Fatalf("a fenced pipeline stored %d keys", n)
	}
	if err := send(cur, "6-0"); err != nil {
		t.Fatalf("current epoch: %v", err)
	}
	var last, state string
	if err := st.Pool().QueryRow(ctx, `SELECT last_id, (SELECT convert_from(state, 'UTF8') FROM window_state)
		FROM stream_checkpoints WHERE stream = 's' AND grp = 'windows'`).Scan(&last, &state); err != nil {
		t.Fatal(err)
	}
	if last != "6-0" || state != "6-0" {
		t.Fatalf("checkpoint %q, state %q; want both 6-0", last, state)
	}
}
