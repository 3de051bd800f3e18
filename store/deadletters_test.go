package store_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

// seedDeadLetters stores n dead letters (reasons alternating bad_json, bad_side) with
// created_at one minute apart, the last one newest, and returns them oldest first.
func seedDeadLetters(t *testing.T, st *store.Store, n int, now time.Time) []store.DeadLetter {
	t.Helper()
	ctx := context.Background()
	var ds []store.DeadLetter
	for i := range n {
		reason := "bad_json"
		if i%2 == 1 {
			reason = "bad_side"
		}
		ds = append(ds, store.DeadLetter{Reason: reason, Detail: fmt.Sprintf("detail %d", i),
			Source: fmt.Sprintf("/data/in.ndjson:%d", i+1), Raw: []byte(fmt.Sprintf("raw line %d", i))})
	}
	if err := st.AddDeadLetters(ctx, ds); err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		at := now.Add(time.Duration(i-n+1) * time.Minute)
		if _, err := st.Pool().Exec(ctx, `UPDATE dead_letters SET created_at = $2 WHERE key = $1`, d.Key(), at); err != nil {
			t.Fatal(err)
		}
	}
	return ds
}

func keysOf(ds []store.StoredDeadLetter) []string {
	var out []string
	for _, d := range ds {
		out = append(out, hex.EncodeToString(d.Key))
	}
	return out
}

func TestDeadLetterQueries(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	ds := seedDeadLetters(t, st, 20, now)
	hexKey := func(i int) string { return hex.EncodeToString(ds[i].Key()) }

	recent, err := st.RecentDeadLetters(ctx, store.DeadLetterFilter{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(recent), []string{hexKey(19), hexKey(18), hexKey(17)}; !slices.Equal(got, want) {
		t.Errorf("recent 3 = %v, want the newest three %v", got, want)
	}
	if r := recent[0]; r.Reason != "bad_side" || r.Detail != "detail 19" || r.Source != "/data/in.ndjson:20" ||
		r.Raw != "raw line 19" || !r.CreatedAt.Equal(now) {
		t.Errorf("newest = %+v", r)
	}
	byJSON, err := st.RecentDeadLetters(ctx, store.DeadLetterFilter{Reason: "bad_json"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(byJSON) != 10 || byJSON[0].Reason != "bad_json" || keysOf(byJSON)[0] != hexKey(18) {
		t.Errorf("bad_json letters: %d, first %v", len(byJSON), keysOf(byJSON))
	}

	// By key: full, prefix, upper case; unknown; ambiguous; malformed.
	for _, q := range []string{hexKey(5), hexKey(5)[:12], strings.ToUpper(hexKey(5)[:20])} {
		d, err := st.DeadLetterByKey(ctx, q)
		if err != nil || !bytes.Equal(d.Key, ds[5].Key()) || d.Raw != "raw line 5" {
			t.Errorf("DeadLetterByKey(%s) = %+v, %v", q, d, err)
		}
	}
	missing := []byte(hexKey(5)) // the same key but its last digit
	if missing[31] == '0' {
		missing[31] = '1'
	} else {
		missing[31] = '0'
	}
	if _, err := st.DeadLetterByKey(ctx, string(missing)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown key: err = %v, want ErrNotFound", err)
	}
	byDigit := map[byte]int{}
	var shared string
	for i := range ds { // 20 keys over 16 first digits: two share one
		if byDigit[hexKey(i)[0]]++; byDigit[hexKey(i)[0]] == 2 {
			shared = hexKey(i)[:1]
		}
	}
	if _, err := st.DeadLetterByKey(ctx, shared); !errors.Is(err, store.ErrAmbiguous) {
		t.Errorf("prefix %q shared by two keys: err = %v, want ErrAmbiguous", shared, err)
	}
	for _, bad := range []string{"", "xyz", strings.Repeat("a", 33)} {
		if _, err := st.DeadLetterByKey(ctx, bad); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("malformed key %q: err = %v", bad, err)
		}
	}

	// Scan in pages of 3 visits every bad_side letter once, in key order.
	var scanned []string
	var after []byte
	for {
		page, err := st.ScanDeadLetters(ctx, store.DeadLetterFilter{Reason: "bad_side"}, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		scanned = append(scanned, keysOf(page)...)
		after = page[len(page)-1].Key
	}
	var want []string
	for i := 1; i < 20; i += 2 {
		want = append(want, hexKey(i))
	}
	slices.Sort(want)
	if !slices.Equal(scanned, want) {
		t.Errorf("scan of bad_side:\n got  %v\n want %v", scanned, want)
	}

	// Count and purge by reason and age. Letter i is 19-i minutes old.
	old := store.DeadLetterFilter{Reason: "bad_side", Before: now.Add(-10*time.Minute + time.Second)}
	if n, err := st.CountDeadLetters(ctx, old); err != nil || n != 5 { // i = 1, 3, 5, 7, 9
		t.Errorf("count of bad_side at least 10 minutes old = %d, %v; want 5", n, err)
	}
	if n, err := st.PurgeDeadLetters(ctx, old); err != nil || n != 5 {
		t.Fatalf("purge = %d, %v; want 5", n, err)
	}
	if n, err := st.CountDeadLetters(ctx, store.DeadLetterFilter{}); err != nil || n != 15 {
		t.Errorf("after purge %d left, %v; want 15", n, err)
	}
	if _, err := st.DeadLetterByKey(ctx, hexKey(3)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purged letter still found: %v", err)
	}
	if n, err := st.DeleteDeadLetters(ctx, [][]byte{ds[0].Key(), ds[3].Key(), ds[19].Key()}); err != nil || n != 2 {
		t.Errorf("delete of two stored and one purged key = %d, %v; want 2", n, err)
	}
	counts, err := st.DeadLetterCounts(ctx)
	if err != nil || counts["bad_json"] != 9 || counts["bad_side"] != 4 {
		t.Errorf("counts after delete = %v, %v; want bad_json 9, bad_side 4", counts, err)
	}
	if n, err := st.PurgeDeadLetters(ctx, store.DeadLetterFilter{}); err != nil || n != 13 {
		t.Errorf("purge all = %d, %v; want 13", n, err)
	}
}

func TestStoredEventKeys(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		_, err := store.InsertEvents(ctx, tx, []store.EventRow{{Key: key(1), Kind: "trade", Src: "binance", TS: time.Now(), Body: []byte(`{}`)}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.StoredEventKeys(ctx, [][]byte{key(1), key(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[[16]byte(key(1))] {
		t.Errorf("StoredEventKeys = %v, want only key 1", got)
	}
}
