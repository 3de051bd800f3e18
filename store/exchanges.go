package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// Directions of an exchange transfer (migrations/006_exchange_transfers.sql).
const (
	DirDeposit    = "deposit"    // wallet → exchange
	DirWithdrawal = "withdrawal" // exchange → wallet
	DirInternal   = "internal"   // exchange → exchange
)

// ExchangeTransferRow is a transfer touching an exchange address, read as a deposit,
// a withdrawal or an exchange's internal move.
type ExchangeTransferRow struct {
	EventKey        []byte // the transfer's event key (events.key)
	TS              time.Time
	Wallet          string // the non-exchange side; the sender of an internal move
	Exchange        string // the exchange address's label name ("" when unnamed)
	ExchangeAddress string // the receiving side of an internal move
	Direction       string // DirDeposit, DirWithdrawal or DirInternal
	Token           string // "" for the native coin
	Symbol          string
	Amount          decimal.Decimal
	USD             decimal.NullDecimal
	Tx              string
	Block           uint64
	// RetractedBy is the key of the retraction (`removed: true`) of this transfer. The
	// row is not written when that retraction is already stored, so the result does not
	// depend on whether the retraction arrived before or after the transfer.
	RetractedBy []byte
}

// InsertExchangeTransfers stores rows in one round trip, skipping keys already stored
// and transfers whose retraction is already among the events.
func InsertExchangeTransfers(ctx context.Context, tx pgx.Tx, rows []ExchangeTransferRow) error {
	return sendOne(ctx, tx, func(w *Writes) { w.ExchangeTransfers(rows) })
}

// DeleteExchangeTransfers removes the rows of the given event keys (the transfers a
// batch's retractions retract); keys without a row are ignored.
func DeleteExchangeTransfers(ctx context.Context, tx pgx.Tx, keys [][]byte) error {
	return sendOne(ctx, tx, func(w *Writes) { w.DeleteExchangeTransfers(keys) })
}

// FlowSummary counts one direction of a wallet's exchange flows. USD sums the
// transfers that carry a USD value; Priced says how many do.
type FlowSummary struct {
	Count  int64           `json:"count"`
	USD    decimal.Decimal `json:"usd"`
	Priced int64           `json:"priced"`
}

// ExchangeFlows is a wallet's money moved to and from exchanges.
type ExchangeFlows struct {
	Deposits    FlowSummary `json:"deposits"`    // wallet → exchange
	Withdrawals FlowSummary `json:"withdrawals"` // exchange → wallet
}

// ExchangeFlows sums a wallet's (lowercase address) deposits to and withdrawals from
// exchange addresses. A wallet with none has zero counts, not an error.
func (s *Store) ExchangeFlows(ctx context.Context, wallet string) (ExchangeFlows, error) {
	rows, err := s.pool.Query(ctx, `SELECT direction, count(*), coalesce(sum(usd), 0)::text, count(usd)
		FROM exchange_transfers WHERE wallet = $1 AND direction IN ('deposit', 'withdrawal')
		GROUP BY direction`, wallet)
	if err != nil {
		return ExchangeFlows{}, fmt.Errorf("exchange flows of %s: %w", wallet, err)
	}
	var f ExchangeFlows
	var dir, usd string
	var n, priced int64
	_, err = pgx.ForEachRow(rows, []any{&dir, &n, &usd, &priced}, func() error {
		sum := FlowSummary{Count: n, USD: dec(usd), Priced: priced}
		if dir == DirDeposit {
			f.Deposits = sum
		} else {
			f.Withdrawals = sum
		}
		return nil
	})
	if err != nil {
		return ExchangeFlows{}, fmt.Errorf("exchange flows of %s: %w", wallet, err)
	}
	return f, nil
}
