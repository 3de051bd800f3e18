package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Whale is one wallet of the /whales list.
type Whale struct {
	Wallet    string
	Notional  float64 // open positions at mark (or entry), USD
	Positions int     // open positions
	N         int64   // fills and observations behind the book
}

// SignalRow is one recent signal of the /signals list.
type SignalRow struct {
	ID         int64
	Rule       string
	Wallet     string
	Coin       string
	Side       string
	Action     string
	USD        float64
	Confidence float64
	TS         time.Time
}

// MarketReader answers /whales and /signals.
type MarketReader interface {
	Whales(ctx context.Context, limit int) ([]Whale, error)
	RecentSignals(ctx context.Context, limit int, wallet string) ([]SignalRow, error)
}

// RegisterMarket adds /whales and /signals, backed by m.
func RegisterMarket(r *Router, m MarketReader) {
	if m == nil {
		panic("bot: RegisterMarket needs a MarketReader")
	}
	r.Register(Command{
		Name:    "whales",
		Args:    "[limit]",
		Summary: "the biggest wallets by open positions",
		Example: "/whales 20",
		MaxArgs: 1,
		Handler: func(ctx context.Context, c Call) (Reply, error) { return handleWhales(ctx, m, c) },
	})
	r.Register(Command{
		Name:    "signals",
		Args:    "[limit] or <address>",
		Summary: "the latest signals, or those of one wallet",
		Example: "/signals 20",
		MaxArgs: 1,
		Handler: func(ctx context.Context, c Call) (Reply, error) { return handleSignals(ctx, m, r.reader, c) },
	})
}

func parseLimit(args []string, def, most int) (int, error) {
	if len(args) == 0 {
		return def, nil
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > most {
		return 0, Usagef("The number of rows must be between 1 and %d.", most)
	}
	return n, nil
}

func handleWhales(ctx context.Context, m MarketReader, c Call) (Reply, error) {
	n, err := parseLimit(c.Args, 10, 50)
	if err != nil {
		return Reply{}, err
	}
	ws, err := m.Whales(ctx, n)
	if err != nil {
		return Reply{}, fmt.Errorf("whales: %w", err)
	}
	if len(ws) == 0 {
		return Reply{Title: "Whales", Text: "No open positions in the book yet — it fills as events arrive."}, nil
	}
	t := &Table{Columns: []Column{{Name: "#", Right: true}, {Name: "wallet"}, {Name: "open", Right: true},
		{Name: "pos", Right: true}, {Name: "n", Right: true}}}
	for i, w := range ws {
		t.Rows = append(t.Rows, []string{strconv.Itoa(i + 1), ShortAddress(w.Wallet), compactUSD(w.Notional),
			strconv.Itoa(w.Positions), count(w.N)})
	}
	return Reply{Title: "Whales — largest open positions", Table: t,
		Footer: "open: notional of open positions in USD at the latest mark. " + lookUpHint(ws[0].Wallet)}, nil
}

// handleSignals answers /signals from m; an abbreviated address is resolved by
// wallets, when it is a WalletMatcher (the Router's Reader, the store).
func handleSignals(ctx context.Context, m MarketReader, wallets any, c Call) (Reply, error) {
	wallet, limit := "", 10
	if len(c.Args) == 1 && strings.HasPrefix(c.Args[0], "0x") {
		a, err := resolveAddress(ctx, wallets, c.Args[0])
		if err != nil {
			return Reply{}, err
		}
		wallet = a
	} else {
		n, err := parseLimit(c.Args, 10, 50)
		if err != nil {
			return Reply{}, err
		}
		limit = n
	}
	rows, err := m.RecentSignals(ctx, limit, wallet)
	if err != nil {
		return Reply{}, fmt.Errorf("signals: %w", err)
	}
	title := "Latest signals"
	if wallet != "" {
		title += " of " + ShortAddress(wallet)
	}
	if len(rows) == 0 {
		return Reply{Title: title, Text: "No signals yet."}, nil
	}
	t := &Table{Columns: []Column{{Name: "when"}, {Name: "signal"}, {Name: "wallet"}, {Name: "move"},
		{Name: "usd", Right: true}, {Name: "conf", Right: true}}}
	for _, s := range rows {
		move := strings.TrimSpace(strings.Join([]string{s.Action, s.Side, s.Coin}, " "))
		who := ShortAddress(s.Wallet)
		if s.Wallet == "" {
			who = "market"
		}
		t.Rows = append(t.Rows, []string{ago(c.Now, s.TS), s.Rule, who, move, compactUSD(s.USD),
			strconv.Itoa(int(s.Confidence*100+0.5)) + "%"})
	}
	return Reply{Title: title, Table: t, Footer: "/settings alerts alpha_move consensus — get these as alerts."}, nil
}

// compactUSD renders a large amount briefly: "$1.2M", "$340k", "$87".
func compactUSD(v float64) string {
	a := v
	sign := ""
	if a < 0 {
		a, sign = -a, "-"
	}
	switch {
	case a >= 1e9:
		return sign + "$" + strconv.FormatFloat(a/1e9, 'f', 1, 64) + "B"
	case a >= 1e6:
		return sign + "$" + strconv.FormatFloat(a/1e6, 'f', 1, 64) + "M"
	case a >= 1e4:
		return sign + "$" + strconv.FormatFloat(a/1e3, 'f', 0, 64) + "k"
	}
	return sign + "$" + strconv.FormatFloat(a, 'f', 0, 64)
}
