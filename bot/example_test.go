package bot_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/store"
)

// memReader is a Reader over a fixed leaderboard, for the examples.
type memReader []store.LeaderRow

func (m memReader) Leaderboard(_ context.Context, q store.LeaderboardQuery) ([]store.LeaderRow, error) {
	if q.Offset >= len(m) {
		return nil, nil
	}
	return m[q.Offset:min(len(m), q.Offset+q.Limit)], nil
}

func (m memReader) Wallet(_ context.Context, address string) (store.WalletView, error) {
	for _, r := range m {
		if r.Wallet == address {
			return store.WalletView{Wallet: r.Wallet, RealizedPnl: r.RealizedPnl, UnrealizedPnl: r.UnrealizedPnl,
				Fees: r.Fees, N: r.N, Rank: r.Rank}, nil
		}
	}
	return store.WalletView{}, store.ErrNotFound
}

func exampleRouter() *bot.Router {
	reader := memReader{
		{Rank: 1, Wallet: "0x51f63885534cb494f4592a0311551f369bff2b39", Score: decimal.RequireFromString("1234567.89"),
			RealizedPnl: decimal.RequireFromString("1200000"), UnrealizedPnl: decimal.RequireFromString("34567.89"),
			Fees: decimal.RequireFromString("2100.5"), N: 4210},
		{Rank: 2, Wallet: "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", Score: decimal.RequireFromString("-8765.4"), N: 37},
	}
	r, err := bot.NewRouter(bot.Config{
		Reader: reader,
		Now:    func() time.Time { return time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	return r
}

// A platform adapter builds a Request from each incoming message and renders
// the Reply; the console prints Reply.String.
func ExampleRouter_Handle() {
	r := exampleRouter()
	ctx := context.Background()
	for _, text := range []string{
		"/leaderboard",
		"/wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"/wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
		"/leaderbord",
		"gm",
	} {
		reply := r.Handle(ctx, bot.Request{Platform: "console", UserID: "me", ChatID: "me", Text: text})
		fmt.Printf("> %s\n[%s]\n%s\n\n", text, reply.Kind, reply)
	}
	// Output:
	// > /leaderboard
	// [info]
	// Top wallets — all time
	// #  wallet             score      n
	// 1  0x51f6…2b39  +$1,234,568  4,210
	// 2  0x5aae…eaed      -$8,765     37
	// score: realized + unrealized PnL net of fees, in USD; n: observations behind it.
	//
	// > /wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
	// [info]
	// Wallet 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed
	// PnL rank: #2
	// Net PnL: $0.00 (after fees)
	// Realized: $0.00
	// Unrealized: $0.00
	// Fees: $0.00
	// Observations: 37
	// No open positions.
	//
	// > /wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD
	// [usage]
	// 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD has a bad EIP-55 checksum: the upper/lower case of its letters does not match, so it may be mistyped; check it and paste it again.
	// Usage: /wallet <address>
	// Example: /wallet 0x51f63885534cb494f4592a0311551f369bff2b39
	//
	// > /leaderbord
	// [unknown]
	// Unknown command /leaderbord. Did you mean /leaderboard?
	// /help lists every command.
	//
	// > gm
	// [hint]
	// Commands start with / — try /help
}

// Later features plug in as commands; the router handles parsing, argument
// counts, admin checks and usage replies for them.
func ExampleRouter_Register() {
	r := exampleRouter()
	r.Register(bot.Command{
		Name:    "halt",
		Summary: "stop paper trading now",
		Admin:   true,
		Handler: func(_ context.Context, c bot.Call) (bot.Reply, error) {
			return bot.Reply{Text: "Paper trading halted by " + c.UserID + "."}, nil
		},
	})
	ctx := context.Background()
	fmt.Println(r.Handle(ctx, bot.Request{Platform: "telegram", UserID: "42", Text: "/halt"}))
	fmt.Println(r.Handle(ctx, bot.Request{Platform: "telegram", UserID: "7", Text: "/halt@CoatTailBot", IsAdmin: true}))
	fmt.Println(r.Handle(ctx, bot.Request{Platform: "telegram", UserID: "7", Text: "/halt now", IsAdmin: true}))
	// Output:
	// /halt is for admins only.
	// Paper trading halted by 7.
	// /halt takes no arguments.
	// Usage: /halt
}
