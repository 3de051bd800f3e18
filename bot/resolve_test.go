package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// TestAbbreviatedAddresses: the short form the tables show ("0x2460…b286", or typed
// with "...") works wherever a command takes an address, when it names exactly one
// wallet seen so far; otherwise the user is told why and what to type instead.
func TestAbbreviatedAddresses(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	mid := func(c string) string { return strings.Repeat(c, 32) }
	var (
		one  = "0xabcd" + mid("5") + "0001"
		twin = []string{"0x2460" + mid("0") + "b286", "0x2460" + mid("1") + "b286"}
	)
	ts := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		var rows []store.PositionRow
		for _, w := range append([]string{one}, twin...) {
			rows = append(rows, store.PositionRow{PositionKey: store.PositionKey{Wallet: w, Coin: "ETH"},
				Size: decimal.NewFromInt(2), EntryPx: decimal.NewFromInt(3000), N: 1, UpdatedAt: ts})
		}
		if err := store.UpsertPositions(ctx, tx, rows); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO signals (dedup_key, rule, wallet, coin, side, action, usd, price, confidence, ts)
			VALUES ('k1', 'alpha_move', $1, 'ETH', 'long', 'open', 6000, 3000, 0.5, $2)`, one, ts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := bot.NewRouter(bot.Config{Reader: st, Now: func() time.Time { return ts.Add(time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	bot.RegisterFollows(r, st, 0)
	bot.RegisterMarket(r, alert.NewStore(st.Pool()))
	ask := func(text string) bot.Reply {
		return r.Handle(ctx, bot.Request{Platform: "console", UserID: "u", ChatID: "c", Text: text})
	}
	for _, tc := range []struct {
		text string
		kind bot.Kind
		want []string
	}{
		{"/wallet 0xabcd…0001", bot.KindInfo, []string{one, "Open positions: 1"}},
		{"/wallet 0xABCD...0001", bot.KindInfo, []string{one}},
		{"/signals 0xabcd..0001", bot.KindInfo, []string{"open long ETH"}},
		{"/follow 0xabcd…0001 smart", bot.KindInfo, []string{"Now following " + one + " (smart)"}},
		{"/wallet 0x2460…b286", bot.KindUsage, []string{"matches several wallets", twin[0], twin[1], "Give the whole address"}},
		{"/follow 0x2460…b287", bot.KindUsage, []string{"No wallet seen so far matches 0x2460…b287"}},
		{"/wallet 0x2460", bot.KindUsage, []string{"0x followed by 40 hex digits"}},
		{"/wallet 0x2460" + mid("0") + "…b286", bot.KindUsage, []string{"too many hex digits"}},
		{"/wallet 0x24g0…b286", bot.KindUsage, []string{"0x followed by 40 hex digits"}},
	} {
		rep := ask(tc.text)
		text := rep.String()
		if rep.Kind != tc.kind {
			t.Errorf("%s: %s reply, want %s:\n%s", tc.text, rep.Kind, tc.kind, text)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: reply lacks %q:\n%s", tc.text, w, text)
			}
		}
	}
	// The follow was stored under the whole address.
	fs, err := st.Following(ctx, "console", "u")
	if err != nil || len(fs) != 1 || fs[0].Wallet != one {
		t.Fatalf("following = %+v, %v; want %s", fs, err, one)
	}
}
