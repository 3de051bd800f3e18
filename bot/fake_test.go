package bot

import (
	"context"
	"sync"

	"github.com/coattailcapital/coattail/store"
)

// fakeReader is an in-memory Reader: a ranked list and a map of wallets.
type fakeReader struct {
	rows    []store.LeaderRow
	wallets map[string]store.WalletView
	err     error // returned by every call when set
	panics  bool  // Wallet panics when set

	mu      sync.Mutex
	queries []store.LeaderboardQuery
	lookups []string
}

func (f *fakeReader) Leaderboard(ctx context.Context, q store.LeaderboardQuery) ([]store.LeaderRow, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.err != nil {
		return nil, f.err
	}
	if q.Offset >= len(f.rows) {
		return nil, nil
	}
	end := min(len(f.rows), q.Offset+q.Limit)
	return f.rows[q.Offset:end], nil
}

func (f *fakeReader) Wallet(ctx context.Context, address string) (store.WalletView, error) {
	f.mu.Lock()
	f.lookups = append(f.lookups, address)
	f.mu.Unlock()
	if f.panics {
		panic("fake reader exploded")
	}
	if err := ctx.Err(); err != nil {
		return store.WalletView{}, err
	}
	if f.err != nil {
		return store.WalletView{}, f.err
	}
	v, ok := f.wallets[address]
	if !ok {
		return store.WalletView{}, store.ErrNotFound
	}
	return v, nil
}

func (f *fakeReader) calls() ([]store.LeaderboardQuery, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.LeaderboardQuery(nil), f.queries...), append([]string(nil), f.lookups...)
}
