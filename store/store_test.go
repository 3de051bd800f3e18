package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func key(b byte) []byte {
	k := make([]byte, 16)
	k[0] = b
	return k
}

func TestMigrateIsIdempotentAndRecordsVersions(t *testing.T) {
	st := testenv.Store(t) // migrated once
	ctx := context.Background()
	again, err := st.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("second Migrate applied %v, want nothing", again)
	}
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

func TestInsertEventsReturnsOnlyNewKeys(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	row := func(b byte) store.EventRow {
		return store.EventRow{Key: key(b), Kind: "price", Src: "test", TS: ts, Body: []byte(`{"b":` + string('0'+b) + `}`)}
	}
	insert := func(rows ...store.EventRow) map[[16]byte]bool {
		t.Helper()
		var fresh map[[16]byte]bool
		err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
			var err error
			fresh, err = store.InsertEvents(ctx, tx, rows)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	if got := insert(row(1), row(2)); len(got) != 2 { // COPY path
		t.Fatalf("first insert: %d new, want 2", len(got))
	}
	got := insert(row(2), row(3), row(3)) // key 2 stored, key 3 repeated: upsert path
	if len(got) != 1 || !got[[16]byte(key(3))] {
		t.Fatalf("second insert new keys = %v, want only key 3", got)
	}
	n, err := st.EventCount(ctx)
	if err != nil || n != 3 {
		t.Fatalf("stored %d events (err %v), want 3", n, err)
	}
}

func TestUpsertPricesKeepsTheLatestWhateverTheOrder(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	newer := store.PriceRow{Symbol: "ETH", Price: d("2000"), TS: t0.Add(time.Second), Src: "a", EventKey: key(1)}
	older := store.PriceRow{Symbol: "ETH", Price: d("1000"), TS: t0, Src: "a", EventKey: key(9)}
	tieHigh := store.PriceRow{Symbol: "BTC", Price: d("5"), TS: t0, Src: "a", EventKey: key(9)}
	tieLow := store.PriceRow{Symbol: "BTC", Price: d("4"), TS: t0, Src: "a", EventKey: key(1)}
	for _, batch := range [][]store.PriceRow{{newer, tieLow}, {older, tieHigh}} {
		err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error { return store.UpsertPrices(ctx, tx, batch) })
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := st.Pool().Query(ctx, `SELECT symbol, price::text FROM prices ORDER BY symbol`)
	got := map[string]string{}
	var s, p string
	_, _ = pgx.ForEachRow(rows, []any{&s, &p}, func() error { got[s] = p; return nil })
	if got["ETH"] != "2000" || got["BTC"] != "5" {
		t.Fatalf("prices = %v, want ETH 2000 (newer ts) and BTC 5 (tie broken by key)", got)
	}
}

func TestLeaderboardAndWalletAgree(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b, c := "0x00000000000000000000000000000000000000aa", "0x00000000000000000000000000000000000000bb", "0x00000000000000000000000000000000000000cc"
	rows := []store.PositionRow{
		// a: realized 100, fees 10, long 2 ETH from 1000 marked at 1100 → +200: score 290
		{PositionKey: store.PositionKey{Wallet: a, Coin: "ETH"}, Size: d("2"), EntryPx: d("1000"), RealizedPnl: d("100"), Fees: d("10"), N: 3, UpdatedAt: t0},
		// b: realized 500 fees 0 on BTC, flat; an unknown-basis SOL position contributes nothing: score 500
		{PositionKey: store.PositionKey{Wallet: b, Coin: "BTC"}, Size: d("0"), EntryPx: d("0"), RealizedPnl: d("500"), Fees: d("0"), N: 2, UpdatedAt: t0},
		{PositionKey: store.PositionKey{Wallet: b, Coin: "SOL"}, Size: d("10"), EntryPx: d("0"), UnknownBasis: true, RealizedPnl: d("0"), Fees: d("0"), N: 1, UpdatedAt: t0},
		// c: short 1 ETH from 1200, marked 1100 → +100, fees 1: score 99
		{PositionKey: store.PositionKey{Wallet: c, Coin: "ETH"}, Size: d("-1"), EntryPx: d("1200"), RealizedPnl: d("0"), Fees: d("1"), N: 1, UpdatedAt: t0},
	}
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		if err := store.UpsertPositions(ctx, tx, rows); err != nil {
			return err
		}
		return store.UpsertPrices(ctx, tx, []store.PriceRow{{Symbol: "ETH", Price: d("1100"), TS: t0, Src: "x", EventKey: key(1)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := st.Leaderboard(ctx, store.LeaderboardQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		w     string
		score string
		n     int64
	}{{b, "500", 3}, {a, "290", 3}, {c, "99", 1}}
	if len(lb) != len(want) {
		t.Fatalf("leaderboard has %d rows, want %d", len(lb), len(want))
	}
	for i, w := range want {
		if lb[i].Wallet != w.w || !lb[i].Score.Equal(d(w.score)) || lb[i].N != w.n || lb[i].Rank != i+1 {
			t.Errorf("row %d = %s score %s n %d rank %d, want %s %s %d", i, lb[i].Wallet, lb[i].Score, lb[i].N, lb[i].Rank, w.w, w.score, w.n)
		}
	}
	page2, err := st.Leaderboard(ctx, store.LeaderboardQuery{Limit: 1, Offset: 1})
	if err != nil || len(page2) != 1 || page2[0].Wallet != a || page2[0].Rank != 2 {
		t.Fatalf("page 2 = %+v (err %v), want wallet a at rank 2", page2, err)
	}
	v, err := st.Wallet(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if v.Rank != 2 || !v.UnrealizedPnl.Equal(d("200")) || !v.RealizedPnl.Equal(d("100")) || len(v.Positions) != 1 {
		t.Fatalf("wallet a = rank %d unrealized %s realized %s positions %d, want 2, 200, 100, 1", v.Rank, v.UnrealizedPnl, v.RealizedPnl, len(v.Positions))
	}
	if _, err := st.Wallet(ctx, "0x00000000000000000000000000000000000000dd"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown wallet: err = %v, want ErrNotFound", err)
	}
	if _, err := st.Leaderboard(ctx, store.LeaderboardQuery{Window: "7d"}); err == nil {
		t.Fatal("window 7d accepted, want an error until alpha scoring lands")
	}
}

func TestClaimShardFencesTheFormerOwner(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	e1, last, err := st.ClaimShard(ctx, "s", "g", "a")
	if err != nil || last != "0-0" {
		t.Fatalf("claim: epoch %d last %q err %v", e1, last, err)
	}
	e2, _, err := st.ClaimShard(ctx, "s", "g", "b")
	if err != nil || e2 <= e1 {
		t.Fatalf("second claim epoch %d, want > %d (err %v)", e2, e1, err)
	}
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error { return store.AdvanceCheckpoint(ctx, tx, "s", "g", e1, "5-0") })
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale owner commit: err = %v, want ErrFenced", err)
	}
	err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error { return store.AdvanceCheckpoint(ctx, tx, "s", "g", e2, "7-0") })
	if err != nil {
		t.Fatal(err)
	}
	cps, err := st.Checkpoints(ctx, "g")
	if err != nil || cps["s"] != "7-0" {
		t.Fatalf("checkpoints = %v (err %v), want s at 7-0", cps, err)
	}
}

func TestDeadLettersAreStoredOnceAndCleaned(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	dl := store.DeadLetter{Reason: "bad_json", Detail: "x", Source: "f:1", Raw: []byte("nul\x00 and \xff bad utf8")}
	for i := 0; i < 2; i++ {
		if err := st.AddDeadLetters(ctx, []store.DeadLetter{dl}); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := st.DeadLetterCounts(ctx)
	if err != nil || counts["bad_json"] != 1 {
		t.Fatalf("counts = %v (err %v), want bad_json 1", counts, err)
	}
}

func TestPositionsAreMarkedByExchangePricesWhenTheCoinHasNone(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := "0x00000000000000000000000000000000000000ee"
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		if err := store.UpsertPositions(ctx, tx, []store.PositionRow{{PositionKey: store.PositionKey{Wallet: w, Coin: "BTC"},
			Size: d("0.5"), EntryPx: d("60000"), RealizedPnl: d("0"), Fees: d("0"), N: 1, UpdatedAt: t0}}); err != nil {
			return err
		}
		// Only a Binance trade price for BTC-USDT is known (no "BTC" price event).
		return store.UpsertPrices(ctx, tx, []store.PriceRow{{Symbol: "BTC-USDT", Price: d("62000"), TS: t0, Src: "binance", EventKey: key(1)}})
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.Wallet(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if !v.UnrealizedPnl.Equal(d("1000")) || !v.Positions[0].MarkPx.Decimal.Equal(d("62000")) {
		t.Fatalf("unrealized %s mark %v, want 1000 at 62000 from BTC-USDT", v.UnrealizedPnl, v.Positions[0].MarkPx)
	}
	lb, err := st.Leaderboard(ctx, store.LeaderboardQuery{})
	if err != nil || len(lb) != 1 || !lb[0].Score.Equal(d("1000")) {
		t.Fatalf("leaderboard = %+v (err %v), want score 1000", lb, err)
	}
}

// TestMatchWallets: the abbreviated addresses of the bots' tables ("0x2460…b286")
// resolve to the wallets in the book with that prefix and suffix, each once.
func TestMatchWallets(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	mid := func(c string) string { return strings.Repeat(c, 32) }
	var (
		w1 = "0x2460" + mid("0") + "b286"
		w2 = "0x2460" + mid("1") + "b286"
		w3 = "0x2460" + mid("2") + "b287"
		w4 = "0x246f" + mid("0") + "ffff"
		w5 = "0x2470" + mid("0") + "ffff" // just past every 0x246f… address
		w6 = "0xffff" + mid("0") + "0001"
	)
	var rows []store.PositionRow
	for _, w := range []string{w1, w2, w3, w4, w5, w6} {
		for _, coin := range []string{"BTC", "ETH"} { // two rows, one wallet
			rows = append(rows, store.PositionRow{PositionKey: store.PositionKey{Wallet: w, Coin: coin},
				Size: d("1"), EntryPx: d("1"), RealizedPnl: d("0"), Fees: d("0"), N: 1, UpdatedAt: time.Unix(0, 0)})
		}
	}
	if err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error { return store.UpsertPositions(ctx, tx, rows) }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prefix, suffix string
		want           []string
	}{
		{"0x2460", "b286", []string{w1, w2}},
		{"0x2460", "b287", []string{w3}},
		{"0x246f", "ffff", []string{w4}},
		{"0x2470", "ffff", []string{w5}},
		{"0x246", "ffff", []string{w4}},
		{"0xffff", "0001", []string{w6}},
		{"0x2461", "b286", nil},
		{"0x", "ffff", []string{w4, w5}},
	} {
		got, err := st.MatchWallets(ctx, tc.prefix, tc.suffix, 10)
		if err != nil {
			t.Fatalf("%s…%s: %v", tc.prefix, tc.suffix, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s…%s = %v, want %v", tc.prefix, tc.suffix, got, tc.want)
		}
	}
	if got, err := st.MatchWallets(ctx, "0x2460", "b286", 1); err != nil || len(got) != 1 {
		t.Errorf("limit 1: %v, %v; want one wallet", got, err)
	}
	for _, bad := range [][2]string{{"2460", "b286"}, {"0x24G0", "b286"}, {"0x2460", "B286"}, {"0x2460'", ""}} {
		if _, err := st.MatchWallets(ctx, bad[0], bad[1], 10); err == nil {
			t.Errorf("%q…%q accepted", bad[0], bad[1])
		}
	}
}
