package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/store"
)

// BoardReader is the alpha leaderboard: wallets ranked by the lower confidence bound
// of their skill, per score window, as `coattail leaderboard` and the API show it.
// A Reader that also implements it (the store does) answers /leaderboard from it;
// otherwise /leaderboard falls back to Reader.Leaderboard, the PnL board.
type BoardReader interface {
	// Board returns a page of the latest scoring run of q.Window, and the run;
	// store.ErrNotFound when nothing has been scored yet.
	Board(ctx context.Context, q store.BoardQuery) (store.ScoreRun, []store.BoardRow, error)
}

const (
	leaderboardDefaultLimit = 10
	leaderboardMaxLimit     = 50
	leaderboardMaxPage      = 1000
)

// leaderboardArgs is a parsed /leaderboard request.
type leaderboardArgs struct {
	window string
	page   int // from 1
	limit  int
}

// parseLeaderboardArgs accepts the two forms: "[limit]" and "<window> [page]".
func (r *Router) parseLeaderboardArgs(args []string) (leaderboardArgs, error) {
	a := leaderboardArgs{window: r.windows[0], page: 1, limit: leaderboardDefaultLimit}
	if len(args) == 0 {
		return a, nil
	}
	first := strings.ToLower(args[0])
	if isNumber(strings.TrimLeft(first, "+-")) {
		if len(args) > 1 {
			return a, Usagef("After a row count nothing else fits; to page through, name the window: /leaderboard %s 2.", r.windows[0])
		}
		n, err := strconv.Atoi(first)
		if err != nil || n < 1 || n > leaderboardMaxLimit {
			return a, Usagef("The number of rows must be between 1 and %d.", leaderboardMaxLimit)
		}
		a.limit = n
		return a, nil
	}
	if !slices.Contains(r.windows, first) {
		return a, Usagef("Unknown window %q; choose from: %s.", truncate(args[0], 20), strings.Join(r.windows, ", "))
	}
	a.window = first
	if len(args) == 2 {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > leaderboardMaxPage {
			return a, Usagef("The page must be a number between 1 and %d.", leaderboardMaxPage)
		}
		a.page = n
	}
	return a, nil
}

func (r *Router) handleLeaderboard(ctx context.Context, c Call) (Reply, error) {
	a, err := r.parseLeaderboardArgs(c.Args)
	if err != nil {
		return Reply{}, err
	}
	if br, ok := r.reader.(BoardReader); ok {
		return r.alphaLeaderboard(ctx, br, a)
	}
	rows, err := r.reader.Leaderboard(ctx, store.LeaderboardQuery{
		Limit:  a.limit,
		Offset: (a.page - 1) * a.limit,
		Window: a.window,
	})
	if err != nil {
		return Reply{}, fmt.Errorf("leaderboard window %q page %d: %w", a.window, a.page, err)
	}
	title := "Top wallets — " + windowLabel(a.window)
	if a.page > 1 {
		title += fmt.Sprintf(" — page %d", a.page)
	}
	if len(rows) == 0 {
		if a.page > 1 {
			return Reply{Kind: KindNotFound, Title: title, Text: fmt.Sprintf(
				"Nothing on page %d: the leaderboard is shorter than that. Try /leaderboard %s.", a.page, a.window)}, nil
		}
		return Reply{Title: title, Text: "No ranked wallets yet — the book fills as events arrive."}, nil
	}
	rows = rows[:min(len(rows), a.limit)]
	t := &Table{
		Columns: []Column{{Name: "#", Right: true}, {Name: "wallet"}, {Name: "score", Right: true}, {Name: "n", Right: true}},
		Rows:    make([][]string, len(rows)),
	}
	for i, row := range rows {
		t.Rows[i] = []string{strconv.Itoa(row.Rank), ShortAddress(row.Wallet), signedUSD(row.Score, 0), count(row.N)}
	}
	footer := "score: realized + unrealized PnL net of fees, in USD; n: observations behind it."
	footer, buttons := pageLinks(a, len(rows), footer)
	return Reply{Title: title, Table: t, Footer: footer, Buttons: buttons}, nil
}

// alphaLeaderboard answers /leaderboard from the alpha board.
func (r *Router) alphaLeaderboard(ctx context.Context, br BoardReader, a leaderboardArgs) (Reply, error) {
	run, rows, err := br.Board(ctx, store.BoardQuery{Window: a.window, Limit: a.limit, Offset: (a.page - 1) * a.limit})
	title := "Top wallets by skill — " + windowLabel(a.window)
	if a.page > 1 {
		title += fmt.Sprintf(" — page %d", a.page)
	}
	if errors.Is(err, store.ErrNotFound) {
		return Reply{Title: title, Text: "No scored wallets yet — scores appear once enough trades have been seen and scored."}, nil
	}
	if err != nil {
		return Reply{}, fmt.Errorf("alpha leaderboard window %q page %d: %w", a.window, a.page, err)
	}
	if len(rows) == 0 {
		if a.page > 1 {
			return Reply{Kind: KindNotFound, Title: title, Text: fmt.Sprintf(
				"Nothing on page %d: the leaderboard is shorter than that. Try /leaderboard %s.", a.page, a.window)}, nil
		}
		return Reply{Title: title, Text: "No wallet has enough scored trades in this window yet."}, nil
	}
	rows = rows[:min(len(rows), a.limit)]
	t := &Table{
		Columns: []Column{{Name: "#", Right: true}, {Name: "wallet"}, {Name: "score", Right: true},
			{Name: "n", Right: true}, {Name: "PnL", Right: true}},
		Rows: make([][]string, len(rows)),
	}
	for i, row := range rows {
		pnl := row.RealizedPnl.Add(row.UnrealizedPnl).Sub(row.Fees)
		t.Rows[i] = []string{strconv.Itoa(row.Rank), ShortAddress(row.Wallet), fmt.Sprintf("%+.3f", row.Score),
			count(int64(row.N)), signedUSD(pnl, 0)}
	}
	footer := "score: lower confidence bound of skill per trade, in units of the coin's volatility; " +
		"n: scored trades; PnL: net of fees over the window.\nScored as of " + run.AsOf.UTC().Format(time.DateTime) + " UTC. " +
		lookUpHint(rows[0].Wallet)
	footer, buttons := pageLinks(a, len(rows), footer)
	return Reply{Title: title, Table: t, Footer: footer, Buttons: buttons}, nil
}

// pageLinks adds the previous/next page buttons (and the next page's command) to a
// page of n rows.
func pageLinks(a leaderboardArgs, n int, footer string) (string, []Button) {
	var buttons []Button
	if a.limit == leaderboardDefaultLimit && a.page > 1 {
		buttons = append(buttons, Button{Text: "◀ Page " + strconv.Itoa(a.page-1),
			Data: fmt.Sprintf("/leaderboard %s %d", a.window, a.page-1)})
	}
	if n == a.limit && a.limit == leaderboardDefaultLimit && a.page < leaderboardMaxPage {
		footer += fmt.Sprintf("\nNext page: /leaderboard %s %d", a.window, a.page+1)
		buttons = append(buttons, Button{Text: "Page " + strconv.Itoa(a.page+1) + " ▶",
			Data: fmt.Sprintf("/leaderboard %s %d", a.window, a.page+1)})
	}
	return footer, buttons
}

func windowLabel(w string) string {
	if w == "all" {
		return "all time"
	}
	return "last " + w
}
