package signal

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/store"
	"github.com/jackc/pgx/v5"
)

// Context signals: market facts around the wallets' moves, not moves themselves.
//
//   - exchange_flow: a transfer of at least FlowConfig.MinUSD into an exchange-labelled
//     address (side "in", a deposit: often a sale to come) or out of one (side "out",
//     a withdrawal); derived by the signal stage from its batch through
//     Config.Context = ExchangeFlows(...).
//   - anomaly: a CEX anomaly the windows stage found (volume spike, large trade, sharp
//     move, large exchange deposit or withdrawal), relayed from the anomalies table by
//     an AnomalyRelay.

// DefaultFlowMinUSD is the smallest transfer an exchange_flow signal reports.
const DefaultFlowMinUSD = 1_000_000

// FlowConfig configures ExchangeFlows. The zero value is usable.
type FlowConfig struct {
	// MinUSD is the smallest transfer, by its USD value, that fires. Transfers without
	// a USD value never fire. Defaults to DefaultFlowMinUSD.
	MinUSD float64
}

// ExchangeFlowKinds are the kinds of event ExchangeFlows reads (Config.ContextKinds).
var ExchangeFlowKinds = []event.Kind{event.KindTransfer}

// ExchangeFlows returns the signal stage's Config.Context hook for exchange flows: for
// every transfer of the batch worth at least cfg.MinUSD with exactly one side labelled
// as an exchange (labels, class exchange), an exchange_flow signal: wallet is the
// other side, side "in" for a deposit and "out" for a withdrawal, coin the token's
// symbol. Moves between two exchange addresses (hot and cold wallets) and
// retractions are not flows. The dedup key is the transfer's event key, so a replayed
// or redelivered transfer fires once; a transfer later retracted by a reorg keeps the
// signal it fired.
func ExchangeFlows(cfg FlowConfig) func(ctx context.Context, tx pgx.Tx, evs []event.Event) ([]Signal, error) {
	if cfg.MinUSD <= 0 {
		cfg.MinUSD = DefaultFlowMinUSD
	}
	return func(ctx context.Context, tx pgx.Tx, evs []event.Event) ([]Signal, error) {
		var idx []int
		var addrs []string
		seen := map[string]bool{}
		for i := range evs {
			ev := &evs[i]
			if ev.Kind != event.KindTransfer || ev.Removed || !ev.USD.Valid || ev.USD.Decimal.InexactFloat64() < cfg.MinUSD {
				continue
			}
			idx = append(idx, i)
			for _, a := range [2]string{ev.From, ev.To} {
				if !seen[a] {
					seen[a] = true
					addrs = append(addrs, a)
				}
			}
		}
		if len(idx) == 0 {
			return nil, nil
		}
		labels, err := store.LookupLabels(ctx, tx, addrs)
		if err != nil {
			return nil, fmt.Errorf("exchange flows: %w", err)
		}
		var out []Signal
		for _, i := range idx {
			ev := &evs[i]
			from, to := labels[ev.From], labels[ev.To]
			fromEx, toEx := from.Is(store.ClassExchange), to.Is(store.ClassExchange)
			if fromEx == toEx {
				continue // no exchange, or a move between two of them
			}
			wallet, side, ex := ev.From, "in", to
			if fromEx {
				wallet, side, ex = ev.To, "out", from
			}
			usd := ev.USD.Decimal.InexactFloat64()
			key := ev.KeyHash()
			coin := strings.ToUpper(ev.Symbol)
			if coin == "" {
				coin = ev.Token // an unnamed token: its contract
			}
			px := 0.0
			if a := ev.Amount.InexactFloat64(); a > 0 {
				px = usd / a
			}
			out = append(out, Signal{
				DedupKey: RuleFlow + "|" + hex.EncodeToString(key[:]),
				Rule:     RuleFlow, Wallet: wallet, Coin: coin, Side: side, USD: usd, Price: px, TS: ev.TS,
				// Ten times the threshold is near certain to matter.
				Confidence: clamp01(0.5 + 0.5*math.Log10(usd/cfg.MinUSD)),
				Evidence: map[string]any{"exchange": ex.Name, "exchange_address": ex.Address, "tx": ev.Tx,
					"log_index": ev.LogIndex, "block": ev.Block, "chain": ev.Src, "token": ev.Token,
					"amount": ev.Amount.String(), "event_key": hex.EncodeToString(key[:])},
			})
		}
		return out, nil
	}
}

// RelayConfig configures an AnomalyRelay. The zero value is usable.
type RelayConfig struct {
	// OnSignals, if set, is called inside the transaction that inserts the anomaly
	// signals, with the ones it inserted: the alert outbox (alert.Hook).
	OnSignals func(ctx context.Context, tx pgx.Tx, sigs []Stored) error
	// Committed, if set, is called after a batch committed, with its new signals
	// (waking the alert dispatchers). It must not block.
	Committed func(sigs []Stored)
	// Poll is how often the relay looks for new anomalies. Defaults to 2 seconds.
	Poll time.Duration
	// Batch bounds the anomalies relayed per transaction. Defaults to 500.
	Batch int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// AnomalyRelay turns the windows stage's anomalies (the anomalies table, migration
// 007) into anomaly signals, with their alerts, in one transaction per batch. The
// signals table is its durable cursor: an anomaly is new while no signal has the
// dedup key anomaly|<id in hex>, so a restart, a crash between batches or two relays
// on one database (coattail run beside coattail worker) relay each anomaly once.
// Relays on one database take turns through an advisory lock.
type AnomalyRelay struct {
	st  *store.Store
	cfg RelayConfig
}

// NewAnomalyRelay returns a relay on st.
func NewAnomalyRelay(st *store.Store, cfg RelayConfig) *AnomalyRelay {
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &AnomalyRelay{st: st, cfg: cfg}
}

// relayLock is the advisory lock relays take turns by.
const relayLock = "coattail:anomaly-relay"

// RelayOnce relays up to one batch of new anomalies and returns the signals it
// inserted (none while another relay holds the turn).
func (r *AnomalyRelay) RelayOnce(ctx context.Context) ([]Stored, error) {
	return r.relay(ctx, false)
}

// Drain relays every anomaly committed so far, waiting for its turn, and returns
// how many signals it inserted: `coattail replay` calls it once the stages are done,
// so a replay ends with its anomalies relayed whatever other relays are doing.
func (r *AnomalyRelay) Drain(ctx context.Context) (int, error) {
	n := 0
	for {
		stored, err := r.relay(ctx, true)
		n += len(stored)
		if err != nil || len(stored) < r.cfg.Batch {
			return n, err
		}
	}
}

func (r *AnomalyRelay) relay(ctx context.Context, wait bool) ([]Stored, error) {
	var stored []Stored
	err := pgx.BeginFunc(ctx, r.st.Pool(), func(tx pgx.Tx) error {
		stored = nil
		turn := true
		lock := `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))`
		if wait {
			lock = `SELECT true FROM pg_advisory_xact_lock(hashtextextended($1, 0))`
		}
		if err := tx.QueryRow(ctx, lock, relayLock).Scan(&turn); err != nil {
			return fmt.Errorf("anomaly relay lock: %w", err)
		}
		if !turn {
			return nil
		}
		rows, err := tx.Query(ctx, `
			SELECT a.id, a.kind, a.venue, a.symbol, a.ts, a.value, a.baseline, a.score, a.evidence
			FROM anomalies a
			WHERE NOT EXISTS (SELECT 1 FROM signals s WHERE s.dedup_key = $1 || encode(a.id, 'hex'))
			ORDER BY a.ts, a.id LIMIT $2`, RuleAnomaly+"|", r.cfg.Batch)
		if err != nil {
			return fmt.Errorf("new anomalies: %w", err)
		}
		sigs, err := pgx.CollectRows(rows, scanAnomaly)
		if err != nil {
			return fmt.Errorf("new anomalies: %w", err)
		}
		if stored, err = insertSignals(ctx, tx, nil, sigs); err != nil {
			return err
		}
		if len(stored) > 0 && r.cfg.OnSignals != nil {
			if err := r.cfg.OnSignals(ctx, tx, stored); err != nil {
				return fmt.Errorf("on anomaly signals: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(stored) > 0 && r.cfg.Committed != nil {
		r.cfg.Committed(stored)
	}
	return stored, nil
}

// scanAnomaly reads an anomalies row as its signal.
func scanAnomaly(row pgx.CollectableRow) (Signal, error) {
	var (
		id                  []byte
		kind, venue, symbol string
		ts                  time.Time
		value, base, score  float64
		raw                 []byte
		evidence            map[string]any
	)
	if err := row.Scan(&id, &kind, &venue, &symbol, &ts, &value, &base, &score, &raw); err != nil {
		return Signal{}, err
	}
	if err := json.Unmarshal(raw, &evidence); err != nil || evidence == nil {
		evidence = map[string]any{}
	}
	evidence["anomaly_id"], evidence["kind"], evidence["venue"], evidence["symbol"] = hex.EncodeToString(id), kind, venue, symbol
	evidence["value"], evidence["baseline"], evidence["score"] = value, base, score
	sg := Signal{
		DedupKey: RuleAnomaly + "|" + hex.EncodeToString(id),
		Rule:     RuleAnomaly, Coin: anomalyCoin(symbol), TS: ts.UTC(), Evidence: evidence,
		// A score of 6 (the detectors' default threshold) is even odds of mattering.
		Confidence: clamp01(score / (score + 6)),
	}
	switch kind {
	case "large_trade", "volume_spike":
		sg.USD = value // notional in the quote currency (USD or a dollar stablecoin)
	case "large_deposit":
		sg.Side = "in"
	case "large_withdrawal":
		sg.Side = "out"
	}
	if px, ok := evidence["price"].(float64); ok {
		sg.Price = px
	}
	return sg, nil
}

// anomalyCoin is the coin an anomaly is about: the base of a BASE-QUOTE symbol, or
// the symbol as it is (a token symbol or contract for flows).
func anomalyCoin(symbol string) string {
	if base, _, ok := strings.Cut(symbol, "-"); ok && base != "" {
		return strings.ToUpper(base)
	}
	if strings.HasPrefix(symbol, "0x") {
		return symbol
	}
	return strings.ToUpper(symbol)
}

// Run relays until ctx ends: a batch, the next at once while batches come full,
// otherwise after Poll. Failures are logged and retried with backoff; Run returns
// nil when ctx ends.
func (r *AnomalyRelay) Run(ctx context.Context) error {
	backoff := r.cfg.Poll
	for {
		stored, err := r.RelayOnce(ctx)
		wait := r.cfg.Poll
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.cfg.Logger.Warn("anomaly relay failed; retrying", "err", err, "in", backoff)
			wait = backoff + time.Duration(rand.Int64N(int64(backoff)/2+1))
			backoff = min(2*backoff, time.Minute)
		default:
			backoff = r.cfg.Poll
			if len(stored) > 0 {
				r.cfg.Logger.Info("anomaly signals", "n", len(stored))
			}
			if len(stored) == r.cfg.Batch {
				wait = 0
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
