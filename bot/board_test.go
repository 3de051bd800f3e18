package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/store"
)

// boardReader is a Reader with an alpha board: /leaderboard must use the board.
type boardReader struct {
	fakeReader
	runs map[string][]store.BoardRow // window -> ranked rows

	bmu     sync.Mutex
	boardQs []store.BoardQuery
}

func (b *boardReader) Board(_ context.Context, q store.BoardQuery) (store.ScoreRun, []store.BoardRow, error) {
	b.bmu.Lock()
	b.boardQs = append(b.boardQs, q)
	b.bmu.Unlock()
	rows, ok := b.runs[q.Window]
	if !ok {
		return store.ScoreRun{}, nil, fmt.Errorf("board %s: %w", q.Window, store.ErrNotFound)
	}
	run := store.ScoreRun{ID: 1, Window: q.Window, AsOf: t0}
	if q.Offset >= len(rows) {
		return run, []store.BoardRow{}, nil
	}
	return run, rows[q.Offset:min(len(rows), q.Offset+q.Limit)], nil
}

// newBoardReader ranks 13 wallets in window 7d and 2 in all; 30d has no run.
func newBoardReader() *boardReader {
	b := &boardReader{fakeReader: *fixtureReader(), runs: map[string][]store.BoardRow{}}
	for i := 1; i <= 13; i++ {
		b.runs["7d"] = append(b.runs["7d"], store.BoardRow{Rank: i, Wallet: fmt.Sprintf("0x%040x", 0x7d0000+i),
			Score: 0.5 - 0.05*float64(i), N: 20 + i, RealizedPnl: decimal.NewFromInt(int64(1000 * i)), Fees: decimal.NewFromInt(10)})
	}
	b.runs["all"] = []store.BoardRow{
		{Rank: 1, Wallet: addrB, Score: 0.3121, N: 140, RealizedPnl: decimal.NewFromInt(-500), UnrealizedPnl: decimal.NewFromInt(2000), Fees: decimal.NewFromInt(100)},
		{Rank: 2, Wallet: addrA, Score: -0.0456, N: 35, RealizedPnl: decimal.NewFromInt(90000)},
	}
	return b
}

func TestLeaderboardRanksByAlphaScore(t *testing.T) {
	b := newBoardReader()
	r, err := NewRouter(Config{Reader: b, Now: func() time.Time { return t0 }, Windows: []string{"all", "7d", "30d"}})
	if err != nil {
		t.Fatal(err)
	}
	got := ask(r, "/leaderboard", false)
	want := strings.Join([]string{
		"Top wallets by skill — all time",
		"#  wallet        score    n       PnL",
		"1  0x5aae…eaed  +0.312  140   +$1,400",
		"2  0x51f6…2b39  -0.046   35  +$90,000",
	}, "\n")
	if s := got.String(); got.Kind != KindInfo || !strings.HasPrefix(s, want+"\n") || !strings.Contains(s, "Scored as of 2025-11-20 12:00:00 UTC.") {
		t.Fatalf("got %v:\n%s\nwant it to start with:\n%s", got.Kind, s, want)
	}
	if len(b.queries) != 0 {
		t.Errorf("the PnL board was asked too: %+v", b.queries)
	}

	// 7d: a full first page offers page 2, which has the last 3 and a way back.
	got = ask(r, "/leaderboard 7d", false)
	if got.Table == nil || len(got.Table.Rows) != 10 || got.Table.Rows[9][0] != "10" ||
		len(got.Buttons) != 1 || got.Buttons[0].Data != "/leaderboard 7d 2" {
		t.Fatalf("7d page 1: %+v buttons %+v", got.Table, got.Buttons)
	}
	got = r.Handle(context.Background(), Request{Platform: "telegram", UserID: "u1", Text: got.Buttons[0].Data})
	if got.Table == nil || len(got.Table.Rows) != 3 || got.Table.Rows[0][0] != "11" || !strings.HasPrefix(got.Title, "Top wallets by skill — last 7d — page 2") ||
		len(got.Buttons) != 1 || got.Buttons[0].Data != "/leaderboard 7d 1" {
		t.Fatalf("7d page 2: %q %+v buttons %+v", got.Title, got.Table, got.Buttons)
	}
	if got := ask(r, "/leaderboard 7d 3", false); got.Kind != KindNotFound || !strings.Contains(got.Text, "Nothing on page 3") {
		t.Errorf("past the end: %v %q", got.Kind, got.Text)
	}
	if got := ask(r, "/leaderboard 30d", false); got.Kind != KindInfo || !strings.Contains(got.Text, "No scored wallets yet") {
		t.Errorf("no run: %v %q", got.Kind, got.Text)
	}
	if got := ask(r, "/leaderboard 24h", false); got.Kind != KindUsage || !strings.Contains(got.Text, "choose from: all, 7d, 30d") {
		t.Errorf("unknown window: %v %q", got.Kind, got.Text)
	}
	wantQs := []store.BoardQuery{{Window: "all", Limit: 10}, {Window: "7d", Limit: 10}, {Window: "7d", Limit: 10, Offset: 10},
		{Window: "7d", Limit: 10, Offset: 20}, {Window: "30d", Limit: 10}}
	if fmt.Sprint(b.boardQs) != fmt.Sprint(wantQs) {
		t.Errorf("board queries %+v, want %+v", b.boardQs, wantQs)
	}
}

func TestLeaderboardBoardFailureApologizes(t *testing.T) {
	b := &failingBoard{}
	r, logs := newTestRouter(t, &fakeReader{}, func(c *Config) { c.Reader = b })
	got := ask(r, "/leaderboard", false)
	if got.Kind != KindError || !strings.Contains(logs.String(), "board down") {
		t.Fatalf("got %v %q; logs %s", got.Kind, got.Text, logs)
	}
}

type failingBoard struct{ fakeReader }

func (*failingBoard) Board(context.Context, store.BoardQuery) (store.ScoreRun, []store.BoardRow, error) {
	return store.ScoreRun{}, nil, fmt.Errorf("board down")
}
