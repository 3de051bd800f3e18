package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/store"
	"github.com/shopspring/decimal"
)

// walletMaxPositions caps the positions table so a reply fits a chat message.
const walletMaxPositions = 25

func (r *Router) handleWallet(ctx context.Context, c Call) (Reply, error) {
	addr, err := resolveAddress(ctx, r.reader, c.Args[0])
	if err != nil {
		return Reply{}, err
	}
	v, err := r.reader.Wallet(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return Reply{Kind: KindNotFound, Text: "No data for wallet " + addr +
			" yet: it has not shown up in the events seen so far. Check the address, or look again later."}, nil
	}
	if err != nil {
		return Reply{}, fmt.Errorf("wallet %s: %w", addr, err)
	}
	reply := walletReply(v, addr, c)
	if extra := r.walletDetails(ctx, v.Wallet, c); extra != "" {
		reply.Text = extra + "\n" + reply.Text
	}
	if moves := r.walletMoves(ctx, v.Wallet); moves != "" {
		reply.Footer = strings.TrimSpace(moves + "\n" + reply.Footer)
	}
	return reply, nil
}

// WalletDetailReader is what /wallet adds when the Reader also has it (the store
// does): the wallet's alpha score, its whale profile and its latest moves.
type WalletDetailReader interface {
	WalletScore(ctx context.Context, wallet, window string, asOf time.Time) (store.ScoreRun, store.WalletScore, error)
	WalletProfile(ctx context.Context, wallet string) (store.ProfileRow, error)
	SignalFeed(ctx context.Context, q store.SignalFeedQuery) ([]store.FeedSignal, error)
}

// walletDetails renders the score and profile lines, "" when there is nothing
// (or no detail reader). A failure is logged and the rest of the reply still goes.
func (r *Router) walletDetails(ctx context.Context, wallet string, c Call) string {
	dr, ok := r.reader.(WalletDetailReader)
	if !ok || wallet == "" {
		return ""
	}
	var b strings.Builder
	run, ws, err := dr.WalletScore(ctx, wallet, "all", time.Time{})
	switch {
	case err == nil && ws.Rank > 0:
		fmt.Fprintf(&b, "Alpha: #%d, score %+.3f (skill %+.3f over %d decisions, as of %s)\n",
			ws.Rank, ws.LCB, ws.Score, ws.N, ago(c.Now, run.AsOf))
	case err == nil:
		reason := ws.Reason
		if reason == "" {
			reason = "not ranked"
		}
		fmt.Fprintf(&b, "Alpha: unranked (%s; %d decisions)\n", strings.ReplaceAll(reason, "_", " "), ws.N)
	case !errors.Is(err, store.ErrNotFound):
		r.log.Warn("wallet score", "wallet", wallet, "err", err)
	}
	p, err := dr.WalletProfile(ctx, wallet)
	switch {
	case err == nil:
		fmt.Fprintf(&b, "Profile: %s, %s volume over %s trades, largest %s", p.Style,
			plainUSD(decimal.NewFromFloat(p.VolumeUSD), 0), count(p.Trades), plainUSD(decimal.NewFromFloat(p.LargestUSD), 0))
		if p.BotHighFrequency || p.BotMarketMaker {
			b.WriteString(" · looks like a bot")
		}
		b.WriteString("\n")
	case !errors.Is(err, store.ErrNotFound):
		r.log.Warn("wallet profile", "wallet", wallet, "err", err)
	}
	return strings.TrimRight(b.String(), "\n")
}

// walletMoves renders the wallet's latest signalled moves, "" when none.
func (r *Router) walletMoves(ctx context.Context, wallet string) string {
	dr, ok := r.reader.(WalletDetailReader)
	if !ok || wallet == "" {
		return ""
	}
	sigs, err := dr.SignalFeed(ctx, store.SignalFeedQuery{Wallet: wallet, Limit: 5})
	if err != nil {
		r.log.Warn("wallet moves", "wallet", wallet, "err", err)
		return ""
	}
	if len(sigs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Latest moves:")
	for _, s := range sigs {
		fmt.Fprintf(&b, "\n%s %s %s %s %s", s.TS.UTC().Format("01-02 15:04"), s.Action, s.Side, s.Coin,
			plainUSD(decimal.NewFromFloat(s.USD), 0))
	}
	return b.String()
}

func walletReply(v store.WalletView, addr string, c Call) Reply {
	if v.Wallet != "" {
		addr = v.Wallet
	}
	var b strings.Builder
	if v.Rank > 0 {
		fmt.Fprintf(&b, "PnL rank: #%d\n", v.Rank)
	} else {
		b.WriteString("PnL rank: not ranked\n")
	}
	fmt.Fprintf(&b, "Net PnL: %s (after fees)\n", signedUSD(v.RealizedPnl.Add(v.UnrealizedPnl).Sub(v.Fees), 2))
	fmt.Fprintf(&b, "Realized: %s\n", signedUSD(v.RealizedPnl, 2))
	fmt.Fprintf(&b, "Unrealized: %s\n", signedUSD(v.UnrealizedPnl, 2))
	fmt.Fprintf(&b, "Fees: %s\n", plainUSD(v.Fees, 2))
	fmt.Fprintf(&b, "Observations: %s\n", count(v.N))
	if !v.LastSeen.IsZero() {
		fmt.Fprintf(&b, "Last seen: %s (%s)\n", v.LastSeen.UTC().Format("2006-01-02 15:04 UTC"), ago(c.Now, v.LastSeen))
	}

	open := make([]store.PositionView, 0, len(v.Positions))
	for _, p := range v.Positions {
		if !p.Size.IsZero() {
			open = append(open, p)
		}
	}
	reply := Reply{Title: "Wallet " + addr}
	if len(open) == 0 {
		b.WriteString("No open positions.")
		reply.Text = b.String()
		return reply
	}
	fmt.Fprintf(&b, "Open positions: %d", len(open))
	reply.Text = b.String()

	slices.SortFunc(open, func(x, y store.PositionView) int { return strings.Compare(x.Coin, y.Coin) })
	shown := open[:min(len(open), walletMaxPositions)]
	t := &Table{
		Columns: []Column{{Name: "coin"}, {Name: "side"}, {Name: "size", Right: true},
			{Name: "entry", Right: true}, {Name: "mark", Right: true}, {Name: "uPnL", Right: true}},
		Rows: make([][]string, len(shown)),
	}
	unknown := false
	for i, p := range shown {
		side := "long"
		if p.Size.Sign() < 0 {
			side = "short"
		}
		entry, upnl := quantity(p.EntryPx), signedUSD(p.UnrealizedPnl, 2)
		if p.UnknownBasis {
			entry, upnl, unknown = "?", "basis unknown", true
		}
		mark := "n/a"
		if p.MarkPx.Valid {
			mark = quantity(p.MarkPx.Decimal)
		}
		t.Rows[i] = []string{truncate(p.Coin, 16), side, quantity(p.Size), entry, mark, upnl}
	}
	reply.Table = t
	var notes []string
	if more := len(open) - len(shown); more > 0 {
		notes = append(notes, fmt.Sprintf("… and %d more.", more))
	}
	if unknown {
		notes = append(notes, "basis unknown: opened before the history we have, so entry and uPnL are not known.")
	}
	// A picture of the open positions' unrealized PnL, for platforms that show one.
	labels, values := make([]string, 0, len(shown)), make([]float64, 0, len(shown))
	for _, p := range shown {
		if !p.UnknownBasis {
			labels = append(labels, p.Coin)
			values = append(values, p.UnrealizedPnl.InexactFloat64())
		}
	}
	if len(values) > 1 {
		reply.PhotoPNG = BarChartPNG(labels, values)
		notes = append(notes, "Chart: unrealized PnL per position, in the order of the table.")
	}
	reply.Footer = strings.Join(notes, "\n")
	return reply
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
