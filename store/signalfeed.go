package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SignalFeedQuery selects signals for the API and the dashboard's live feed. Zero values
// select everything; filters combine with AND.
type SignalFeedQuery struct {
	Wallet  string // lowercase 0x address; "" for any
	Coin    string // "" for any
	Rule    string // "" for any
	AfterID int64  // only signals with a larger id (the SSE cursor)
	// Limit bounds the rows. Defaults to 50; at most 1000.
	Limit int
	// Ascending returns the oldest first (the live feed, which walks forward from
	// AfterID); otherwise the newest first (a page of recent signals).
	Ascending bool
}

// FeedSignal is one row of the signals table (migration 009) as the API shows it.
type FeedSignal struct {
	ID         int64           `json:"id"`
	Rule       string          `json:"rule"`
	Wallet     string          `json:"wallet"`
	Coin       string          `json:"coin"`
	Side       string          `json:"side"`
	Action     string          `json:"action"`
	USD        float64         `json:"usd"`
	Price      float64         `json:"price"`
	Confidence float64         `json:"confidence"`
	TS         time.Time       `json:"ts"`
	CreatedAt  time.Time       `json:"created_at"`
	Evidence   json.RawMessage `json:"evidence"`
}

// SignalFeed lists signals matching q. The id is the cursor: ids only grow, so a
// client that remembers the last id it saw misses nothing and sees nothing twice.
func (s *Store) SignalFeed(ctx context.Context, q SignalFeedQuery) ([]FeedSignal, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > 1000 {
		q.Limit = 1000
	}
	order := "DESC"
	if q.Ascending {
		order = "ASC"
	}
	rows, err := s.pool.Query(ctx, `SELECT id, rule, wallet, coin, side, action, usd, price, confidence, ts, created_at, evidence
		FROM signals
		WHERE id > $1 AND ($2 = '' OR wallet = $2) AND ($3 = '' OR coin = $3) AND ($4 = '' OR rule = $4)
		ORDER BY id `+order+` LIMIT $5`, q.AfterID, q.Wallet, q.Coin, q.Rule, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("signals: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FeedSignal, error) {
		var f FeedSignal
		var ev []byte
		err := r.Scan(&f.ID, &f.Rule, &f.Wallet, &f.Coin, &f.Side, &f.Action, &f.USD, &f.Price, &f.Confidence,
			&f.TS, &f.CreatedAt, &ev)
		f.TS, f.CreatedAt, f.Evidence = f.TS.UTC(), f.CreatedAt.UTC(), json.RawMessage(ev)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("signals: %w", err)
	}
	return out, nil
}
