package alert

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/coattailcapital/coattail/signal"
	"github.com/jackc/pgx/v5"
)

// FromSignals converts the signal engine's newly stored signals to what Enqueue
// takes.
func FromSignals(sigs []signal.Stored) ([]Signal, error) {
	out := make([]Signal, 0, len(sigs))
	for _, s := range sigs {
		ev, err := json.Marshal(s.Evidence)
		if err != nil {
			return nil, fmt.Errorf("alert: evidence of signal %d: %w", s.ID, err)
		}
		out = append(out, Signal{ID: s.ID, Rule: s.Rule, Wallet: s.Wallet, Coin: s.Coin, Side: s.Side,
			Action: s.Action, USD: s.USD, Price: s.Price, Confidence: s.Confidence, TS: s.TS, Evidence: ev})
	}
	return out, nil
}

// Hook is the signal stage's OnSignals: it fans the batch's new signals out into the
// outbox inside the signal's own transaction, so a signal and its alerts commit
// together or not at all.
func Hook(ctx context.Context, tx pgx.Tx, sigs []signal.Stored) error {
	as, err := FromSignals(sigs)
	if err != nil {
		return err
	}
	return Enqueue(ctx, tx, as)
}
