// Package stage holds the stream stages beyond the book (pipeline.BookSink): each is a
// stream.Sink run by its own consumer group. Windows is the windowed-analytics stage.
package stage

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coattailcapital/coattail/analytics/market"
	"github.com/coattailcapital/coattail/analytics/window"
	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// WindowsGroup is the consumer group of the windowed stage.
//
// One group runs all four windowed aggregations (bars, flows, anomalies, profiles)
// rather than one group each: every event is then read from Redis, decoded,
// deduplicated and committed once instead of four times, which is what makes the
// 50,000 events/s target reachable on two cores, and the anomaly detectors consume the
// bars in the same transaction that closes them. The stages still scale out by shard.
const WindowsGroup = "windows"

// WindowsConfig configures the windowed stage. Zero values are defaults.
type WindowsConfig struct {
	// Lateness is the allowed lateness of every source's watermark. Defaults to 30s.
	Lateness time.Duration
	// DeadLetterLate routes events later than the lateness to dead letters (reason
	// late_event). By default they are applied as corrections to the emitted window.
	DeadLetterLate bool
	// LargeTransferUSD: a single deposit or withdrawal worth at least this is flagged
	// (when the transfer carries a USD value). Defaults to 1,000,000.
	LargeTransferUSD float64
	// Detector and Profile tune the anomaly detectors and the whale profiler.
	Detector market.DetectorConfig
	Profile  market.ProfileConfig
	// Redis, when set, receives every anomaly on Stream.Anomalies (published once per id).
	Redis redis.UniversalClient
	// Stream names the anomalies stream (its Prefix). Defaults to stream.Config{}.
	Stream stream.Config
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// AnomaliesStream is the Redis stream anomalies are published on: <prefix>:anomalies.
func AnomaliesStream(c stream.Config) string {
	p := c.Prefix
	if p == "" {
		p = "coattail"
	}
	return p + ":anomalies"
}

// Windows is the windowed stage's stream.Sink. In one transaction per batch it fences
// the shard's checkpoint, folds the batch's new events into the shard's keyed state,
// records their keys (window_keys) so a repeat is never folded in again, writes the
// bars, flows, anomalies and profiles that changed, saves the state and advances the
// checkpoint. The state of a shard is kept in memory between batches while this
// process owns the shard, and reloaded from the database after a new claim or a failed
// commit, so it always matches the checkpoint.
//
// Which events are new: normally every event arrives once, so the batch is folded in
// whole (less repeats within it) and its keys are inserted with the writes, in one
// round trip; a key applied before makes that insert, and so the transaction, fail
// (store.ErrKeysApplied), and the batch is redone from the stored state, recording the
// keys first with a statement that tolerates repeats and folding in only the new
// events. Repeats come in runs (a file replayed again), so a shard that met one keeps
// the tolerant statement for the next batches (dupBatches).
//
// It is a stream.BatchSink: the ready batches of several shards share that one round
// trip (CommitMany), each still folded into its own shard's state, so what is written
// does not depend on how shards are grouped.
type Windows struct {
	st  *store.Store
	cfg WindowsConfig
	log *slog.Logger

	mu     sync.Mutex
	shards map[string]*shardState
}

// NewWindows returns the windowed stage's sink.
func NewWindows(st *store.Store, cfg WindowsConfig) *Windows {
	if cfg.Lateness == 0 {
		cfg.Lateness = 30 * time.Second
	}
	if cfg.LargeTransferUSD == 0 {
		cfg.LargeTransferUSD = 1_000_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Windows{st: st, cfg: cfg, log: cfg.Logger, shards: map[string]*shardState{}}
}

// shardState is one shard's keyed state.
type shardState struct {
	epoch    int64
	bars     *window.Operator[market.Tick, market.Bar]
	flows    *window.Operator[market.FlowTick, market.Flow]
	det      map[string]*market.Detector // by venue \x1f symbol
	profiles map[string]*market.Profile  // loaded or created this ownership
	// dupBatches: the next batches record their keys tolerating ones applied before.
	dupBatches int
}

// snapshot is the serialised shard state (window_state.state). Profiles are stored in
// their own table, one row per wallet.
type snapshot struct {
	Bars  json.RawMessage             `json:"bars"`
	Flows json.RawMessage             `json:"flows"`
	Det   map[string]*market.Detector `json:"det"`
}

func (w *Windows) newState(epoch int64) (*shardState, error) {
	policy := window.Correction
	if w.cfg.DeadLetterLate {
		policy = window.DeadLetter
	}
	bars, err := window.New(window.Config{Specs: market.BarSpecs(), Lateness: w.cfg.Lateness, Policy: policy}, market.FoldTick)
	if err != nil {
		return nil, err
	}
	flows, err := window.New(window.Config{Specs: market.FlowSpecs(), Lateness: w.cfg.Lateness, Policy: policy}, market.FoldFlow)
	if err != nil {
		return nil, err
	}
	return &shardState{epoch: epoch, bars: bars, flows: flows, det: map[string]*market.Detector{}, profiles: map[string]*market.Profile{}}, nil
}

// Claim implements stream.Sink: it claims the shard and, before any new work, publishes
// the anomalies an earlier owner committed but did not publish.
func (w *Windows) Claim(ctx context.Context, streamName, group, owner string) (int64, string, error) {
	epoch, last, err := w.st.ClaimShard(ctx, streamName, group, owner)
	if err != nil {
		return 0, "", err
	}
	w.mu.Lock()
	delete(w.shards, streamName)
	w.mu.Unlock()
	if err := w.publishPending(ctx, streamName); err != nil {
		w.log.Warn("publish pending anomalies", "stream", streamName, "err", err)
	}
	return epoch, last, nil
}

// state returns the shard's state for epoch, loading it through q when not cached.
func (w *Windows) state(ctx context.Context, q store.Querier, b stream.Batch) (*shardState, error) {
	w.mu.Lock()
	s := w.shards[b.Stream]
	w.mu.Unlock()
	if s != nil && s.epoch == b.Epoch {
		return s, nil
	}
	s, err := w.newState(b.Epoch)
	if err != nil {
		return nil, err
	}
	raw, err := store.LoadWindowState(ctx, q, b.Stream, b.Group)
	if err != nil {
		return nil, err
	}
	if raw != nil {
		var snap snapshot
		if err := json.Unmarshal(raw, &snap); err != nil {
			return nil, fmt.Errorf("window state of %s: %w", b.Stream, err)
		}
		if err := s.bars.Restore(snap.Bars); err != nil {
			return nil, err
		}
		if err := s.flows.Restore(snap.Flows); err != nil {
			return nil, err
		}
		if snap.Det != nil {
			s.det = snap.Det
		}
	}
	w.mu.Lock()
	w.shards[b.Stream] = s
	w.mu.Unlock()
	return s, nil
}

func (w *Windows) drop(streamName string) {
	w.mu.Lock()
	delete(w.shards, streamName)
	w.mu.Unlock()
}

// batchOut collects what a batch writes.
type batchOut struct {
	bars, barFix   map[barID]store.BarRow
	flows, flowFix map[flowID]store.FlowRow
	anomalies      []store.AnomalyRow
	dirtyProfiles  map[string]bool
	dead           []store.DeadLetter
}

type barID struct {
	venue, symbol, res string
	start              int64
}
type flowID struct {
	token, exchange, res string
	start                int64
}

// maxFuture: events dated later than this from now are not decoded (the book stage
// dead-letters them).
const maxFuture = 365 * 24 * time.Hour

// evBufs recycles the decoded events of a batch (a few hundred kilobytes each).
var evBufs = sync.Pool{New: func() any { return new([]event.Event) }}

// maxCachedProfiles bounds the whale profiles a shard keeps in memory between batches;
// the rest are loaded from wallet_profiles.state when their wallets trade again.
const maxCachedProfiles = 5000

// affects reports whether applying ev can change the windowed state. Only such events
// are recorded as applied: the others (positions, swaps that are no trade against a
// stablecoin, retracted swaps) have no effect however often they come, and their
// content alone decides that.
func affects(ev *event.Event) bool {
	switch ev.Kind {
	case event.KindTrade, event.KindPrice, event.KindFill, event.KindTransfer:
		return true
	case event.KindSwap:
		_, ok := swapTrade(ev)
		return ok && !ev.Removed
	}
	return false
}

// dupBatches is how many batches of a shard, after one held an event applied before,
// record their keys first with the statement that tolerates repeats, instead of the
// insert that a repeat makes fail: repeats come in runs (a file replayed again).
const dupBatches = 16

// part is one batch of a commit, decoded: the events that can change the windowed
// state (affects), their keys and their canonical bodies.
type part struct {
	b    stream.Batch
	evs  []event.Event
	keys [][16]byte
	raws [][]byte
	buf  *[]event.Event // evs' backing array, from evBufs
}

// decodeBatch decodes b's entries; now is the clock reading of the future-date check.
// Release the part when done.
func decodeBatch(b stream.Batch, now time.Time) *part {
	buf := evBufs.Get().(*[]event.Event)
	p := &part{b: b, evs: (*buf)[:0], keys: make([][16]byte, 0, len(b.Entries)), raws: make([][]byte, 0, len(b.Entries)), buf: buf}
	rules := event.Rules{MaxFuture: maxFuture, Now: func() time.Time { return now }}
	for _, e := range b.Entries {
		if k, ok := event.KindPrefix(e.Body); ok && k == event.KindPosition {
			continue // a position, which the windowed state does not use (or no valid event at all)
		}
		ev, err := event.Decode(e.Body, rules)
		if err != nil {
			continue // the book stage dead-letters undecodable entries
		}
		if !affects(&ev) {
			continue
		}
		key := ev.KeyHashOr(e.Key)
		p.evs = append(p.evs, ev)
		p.keys = append(p.keys, key)
		p.raws = append(p.raws, e.Body)
	}
	*buf = p.evs
	return p
}

// release returns the part's events to evBufs.
func (p *part) release() {
	clear(*p.buf) // drop what the events point to
	*p.buf = (*p.buf)[:0]
	evBufs.Put(p.buf)
	p.evs = nil
}

var _ stream.BatchSink = (*Windows)(nil)

// Commit implements stream.Sink.
func (w *Windows) Commit(ctx context.Context, b stream.Batch) error {
	p := decodeBatch(b, time.Now())
	defer p.release()
	dup := false
	w.mu.Lock()
	if s := w.shards[b.Stream]; s != nil && s.epoch == b.Epoch && s.dupBatches > 0 {
		s.dupBatches--
		dup = true
	}
	w.mu.Unlock()
	var (
		published []store.AnomalyRow
		shard     *shardState
		repeats   int
		err       error
	)
	if !dup {
		var states []*shardState
		published, states, err = w.commitFresh(ctx, []*part{p})
		if err == nil {
			shard = states[0]
		} else if errors.Is(err, store.ErrKeysApplied) {
			// Some were applied before: the transaction is void, and the state it folded
			// the batch into too. Redo it from the stored state, recording the keys first.
			w.drop(b.Stream)
			dup = true
		}
	}
	if dup {
		published, shard, repeats, err = w.commitChecked(ctx, p)
	}
	if err != nil {
		w.drop(b.Stream)
		return commitError(err, b.Stream+" up to "+b.LastID)
	}
	if repeats > 0 {
		shard.dupBatches = dupBatches
	}
	trimProfiles(shard)
	w.publishCommitted(ctx, published, b.Stream)
	return nil
}

// errRepeatRun fails a combined commit that holds a batch of a shard in a run of
// repeats (dupBatches): the runtime then commits each batch alone, that one through
// commitChecked.
var errRepeatRun = errors.New("a shard recording its keys tolerating repeats commits alone")

// CommitMany implements stream.BatchSink: every batch is folded into its own shard's
// state, exactly as Commit folds it, so the results do not depend on which shards
// share a transaction; then all their fences, keys and writes go in one pipeline, one
// implicit transaction (commitFresh). Whatever fails it (a key applied before, a
// fence, anything), the states of all its shards were folded in memory with batches
// that are not committed: they are dropped, to be reloaded, and the runtime commits
// each batch alone with Commit, whose redo path attributes the failure to its batch.
func (w *Windows) CommitMany(ctx context.Context, bs []stream.Batch) error {
	w.mu.Lock()
	for i, b := range bs {
		if slices.ContainsFunc(bs[:i], func(o stream.Batch) bool { return o.Stream == b.Stream }) {
			// Its batches would fold into one state and fence one checkpoint twice.
			w.mu.Unlock()
			return fmt.Errorf("combined commit: two batches of %s", b.Stream)
		}
		if s := w.shards[b.Stream]; s != nil && s.epoch == b.Epoch && s.dupBatches > 0 {
			w.mu.Unlock()
			return errRepeatRun
		}
	}
	w.mu.Unlock()
	now := time.Now()
	parts := make([]*part, len(bs))
	for i, b := range bs {
		parts[i] = decodeBatch(b, now)
	}
	defer func() {
		for _, p := range parts {
			p.release()
		}
	}()
	published, states, err := w.commitFresh(ctx, parts)
	if err != nil {
		for _, b := range bs {
			w.drop(b.Stream)
		}
		return commitError(err, stream.Positions(bs))
	}
	for _, s := range states {
		trimProfiles(s)
	}
	w.publishCommitted(ctx, published, stream.Positions(bs))
	return nil
}

// commitError is what Commit and CommitMany return for err, which failed the commit of
// what (the batches' positions).
func commitError(err error, what string) error {
	if errors.Is(err, store.ErrFenced) {
		return fmt.Errorf("commit %s: %w", what, stream.ErrFenced)
	}
	return classify(err)
}

// trimProfiles bounds the profiles s keeps between batches. Every profile is persisted
// with its state whenever it changes, so the map is only a cache: without a bound a
// shard of a million wallets holds them all.
func trimProfiles(s *shardState) {
	if len(s.profiles) > maxCachedProfiles {
		clear(s.profiles)
	}
}

// publishCommitted publishes the anomalies of committed batches (of what).
func (w *Windows) publishCommitted(ctx context.Context, rows []store.AnomalyRow, what string) {
	if len(rows) == 0 {
		return
	}
	if err := w.publish(ctx, rows); err != nil {
		// Committed: the next owner of the shard publishes what is left.
		w.log.Warn("publish anomalies", "stream", what, "err", err)
	}
}

// commitFresh applies batches taking every event not repeated within its batch to be
// new: it folds each batch into its shard's state, then sends the checkpoint advances
// (the fences, first), the keys and the results of them all as one pipeline, which
// Postgres commits as one transaction: one round trip. A key applied before fails it
// with store.ErrKeysApplied, after the states were changed; so does a key repeated
// across the batches (one insert per batch). The reads it needs first (the states
// after a claim, profiles not cached, address labels) are made outside that
// transaction, one query for all batches: only the owner of a shard writes its state
// and profiles, and a claim waits for the previous owner's last transaction, so they
// see everything committed before; an owner that lost the shard meanwhile fails at the
// fence. On error the caller drops the states of every batch's shard.
func (w *Windows) commitFresh(ctx context.Context, parts []*part) ([]store.AnomalyRow, []*shardState, error) {
	db := w.st.Pool()
	states := make([]*shardState, len(parts))
	fresh := make([][]bool, len(parts))
	for i, p := range parts {
		s, err := w.state(ctx, db, p.b)
		if err != nil {
			return nil, nil, err
		}
		states[i], fresh[i] = s, firsts(p.keys)
	}
	outs, err := w.fold(ctx, db, parts, states, fresh)
	if err != nil {
		return nil, nil, err
	}
	var q store.Writes
	for _, p := range parts {
		q.Fence(p.b.Stream, p.b.Group, p.b.Epoch, p.b.LastID)
	}
	for _, p := range parts {
		q.NewKeys(p.b.Group, p.keys)
	}
	if err := w.queueWrites(&q, parts, states, outs); err != nil {
		return nil, nil, err
	}
	if err := q.Commit(ctx, db); err != nil {
		return nil, nil, err
	}
	var published []store.AnomalyRow
	for _, out := range outs {
		published = append(published, out.anomalies...)
	}
	return published, states, nil
}

// commitChecked applies a batch in a transaction that records its keys first,
// tolerating ones applied before, and folds in only the new events. repeats is how
// many of its keys were applied before.
func (w *Windows) commitChecked(ctx context.Context, p *part) (published []store.AnomalyRow, shard *shardState, repeats int, err error) {
	b := p.b
	err = pgx.BeginFunc(ctx, w.st.Pool(), func(tx pgx.Tx) error {
		if err := store.AdvanceCheckpoint(ctx, tx, b.Stream, b.Group, b.Epoch, b.LastID); err != nil {
			return err
		}
		s, err := w.state(ctx, tx, b)
		if err != nil {
			return err
		}
		shard = s
		var fresh []bool
		if fresh, repeats, err = store.RecordNewKeys(ctx, tx, b.Group, p.keys); err != nil {
			return err
		}
		parts, states := []*part{p}, []*shardState{s}
		outs, err := w.fold(ctx, tx, parts, states, [][]bool{fresh})
		if err != nil {
			return err
		}
		var q store.Writes
		if err := w.queueWrites(&q, parts, states, outs); err != nil {
			return err
		}
		if err := q.Send(ctx, tx); err != nil {
			return err
		}
		published = outs[0].anomalies
		return nil
	})
	return published, shard, repeats, err
}

// fold folds the events of each part marked fresh (fresh[i][j]: parts[i].evs[j]) into
// its shard's state (states[i]), loading through q the profiles and labels they need,
// one query each for all parts, and returns what each part writes.
func (w *Windows) fold(ctx context.Context, q store.Querier, parts []*part, states []*shardState, fresh [][]bool) ([]*batchOut, error) {
	need := make([][]string, len(parts)) // wallets whose profiles parts[i]'s shard loads
	var wallets, addrs []string
	seenW, seenA := map[string]bool{}, map[string]bool{}
	for i, p := range parts {
		mine := map[string]bool{}
		for j := range p.evs {
			if !fresh[i][j] {
				continue
			}
			ev := &p.evs[j]
			switch ev.Kind {
			case event.KindFill, event.KindSwap:
				if _, ok := states[i].profiles[ev.Wallet]; !ok && !mine[ev.Wallet] {
					mine[ev.Wallet] = true
					need[i] = append(need[i], ev.Wallet)
					if !seenW[ev.Wallet] {
						seenW[ev.Wallet] = true
						wallets = append(wallets, ev.Wallet)
					}
				}
			case event.KindTransfer:
				for _, a := range [2]string{ev.From, ev.To} {
					if !seenA[a] {
						seenA[a] = true
						addrs = append(addrs, a)
					}
				}
			}
		}
	}
	if len(wallets) > 0 {
		stored, err := store.LoadProfileStates(ctx, q, wallets)
		if err != nil {
			return nil, err
		}
		for i, ws := range need {
			for _, wa := range ws {
				// Each shard its own copy, as if it had loaded it alone.
				p := &market.Profile{}
				if raw, ok := stored[wa]; ok {
					if err := json.Unmarshal(raw, p); err != nil {
						return nil, fmt.Errorf("profile state of %s: %w", wa, err)
					}
				}
				states[i].profiles[wa] = p
			}
		}
	}
	labels := map[string]store.AddressLabel{}
	if len(addrs) > 0 {
		var err error
		if labels, err = store.LookupLabels(ctx, q, addrs); err != nil {
			return nil, err
		}
	}
	outs := make([]*batchOut, len(parts))
	for i, p := range parts {
		s, out := states[i], &batchOut{bars: map[barID]store.BarRow{}, barFix: map[barID]store.BarRow{},
			flows: map[flowID]store.FlowRow{}, flowFix: map[flowID]store.FlowRow{}, dirtyProfiles: map[string]bool{}}
		for j := range p.evs {
			if fresh[i][j] {
				w.apply(s, p.b, &p.evs[j], p.keys[j][:], p.raws[j], labels, out)
			}
		}
		for _, win := range s.bars.TakeDirty() {
			out.addBar(win)
		}
		for _, win := range s.flows.TakeDirty() {
			out.addFlow(win, p.b.Shard)
		}
		outs[i] = out
	}
	return outs, nil
}

// apply folds one new event into the shard state.
func (w *Windows) apply(s *shardState, b stream.Batch, ev *event.Event, key, raw []byte, labels map[string]store.AddressLabel, out *batchOut) {
	switch ev.Kind {
	case event.KindTrade, event.KindPrice:
		px := ev.Price.InexactFloat64()
		t := market.Tick{TS: ev.TS.UnixNano(), Px: px}
		if ev.Kind == event.KindTrade {
			t.Qty, t.Trade = ev.Qty.InexactFloat64(), true
			dk := ev.Src + "\x1f" + ev.Symbol
			d := s.det[dk]
			if d == nil {
				d = &market.Detector{}
				s.det[dk] = d
			}
			if a := d.OnTrade(w.cfg.Detector, ev.Src, ev.Symbol, ev.TS, px, t.Qty, func() string { return hex.EncodeToString(key) }); a != nil {
				out.anomaly(*a, b.Stream)
			}
		}
		res := s.bars.Add(ev.Src, ev.Symbol, ev.TS, t)
		w.lateDead(res.Late, res.LateFor, ev, key, raw, out)
		for _, win := range res.Emitted {
			if win.Correction {
				win.Agg.Late = 1
				out.fixBar(win)
				continue
			}
			out.addBar(win)
			if win.Spec == "1m" && win.Agg.Trades > 0 {
				dk := win.Source + "\x1f" + win.Key
				d := s.det[dk]
				if d == nil {
					d = &market.Detector{}
					s.det[dk] = d
				}
				for _, a := range d.OnBar(w.cfg.Detector, win.Source, win.Key, win.Start, win.End, win.Agg) {
					out.anomaly(a, b.Stream)
				}
			}
		}
	case event.KindFill:
		p := s.profiles[ev.Wallet]
		p.Apply(market.Trade{TS: ev.TS, Coin: ev.Coin, Buy: ev.Side == event.Buy, Px: ev.Px, Sz: ev.Sz,
			USD: ev.Px.Mul(ev.Sz).InexactFloat64(), Start: ev.StartPosition})
		out.dirtyProfiles[ev.Wallet] = true
	case event.KindSwap:
		if t, ok := swapTrade(ev); ok && !ev.Removed {
			s.profiles[ev.Wallet].Apply(t)
			out.dirtyProfiles[ev.Wallet] = true
		}
	case event.KindTransfer:
		w.transfer(s, b, ev, key, raw, labels, out)
	}
}

// transfer folds a transfer between a wallet and an exchange into the flows.
func (w *Windows) transfer(s *shardState, b stream.Batch, ev *event.Event, key, raw []byte, labels map[string]store.AddressLabel, out *batchOut) {
	from, fromOK := labels[ev.From]
	to, toOK := labels[ev.To]
	fromEx := fromOK && from.Is(store.ClassExchange)
	toEx := toOK && to.Is(store.ClassExchange)
	if fromEx == toEx { // neither side an exchange, or an exchange's internal move
		return
	}
	t := market.FlowTick{Deposit: toEx, Amount: ev.Amount.InexactFloat64(), Retract: ev.Removed, Symbol: ev.Symbol}
	if ev.USD.Valid {
		t.USD = ev.USD.Decimal.InexactFloat64()
	}
	t.Large = t.USD >= w.cfg.LargeTransferUSD
	exchange := from.Name
	if toEx {
		exchange = to.Name
	}
	if t.Large && !ev.Removed {
		kind, wallet := market.KindLargeWithdrawal, ev.To
		if toEx {
			kind, wallet = market.KindLargeDeposit, ev.From
		}
		out.anomaly(market.Anomaly{Kind: kind, Venue: exchange, Symbol: tokenName(ev), TS: ev.TS, Value: t.USD,
			Baseline: w.cfg.LargeTransferUSD, Score: t.USD / w.cfg.LargeTransferUSD, Ref: hex.EncodeToString(key),
			Evidence: map[string]any{"wallet": wallet, "token": ev.Token, "amount": ev.Amount.String(), "usd": t.USD,
				"tx": ev.Tx, "block": ev.Block, "chain": ev.Src, "threshold_usd": w.cfg.LargeTransferUSD}}, b.Stream)
	}
	res := s.flows.Add(ev.Src, ev.Token+"\x1f"+exchange, ev.TS, t)
	w.lateDead(res.Late, res.LateFor, ev, key, raw, out)
	for _, win := range res.Emitted {
		if win.Correction {
			win.Agg.Late = 1
			out.fixFlow(win, b.Shard)
		} else {
			out.addFlow(win, b.Shard)
		}
	}
}

func tokenName(ev *event.Event) string {
	if ev.Symbol != "" {
		return ev.Symbol
	}
	if ev.Token == "" {
		return "native"
	}
	return ev.Token
}

var stables = map[string]bool{"USDT": true, "USDC": true, "USD": true, "DAI": true}

// swapTrade reads a swap with a USD value against a stablecoin as a trade of the other
// token: paying stablecoins buys it, receiving them sells it.
func swapTrade(ev *event.Event) (market.Trade, bool) {
	if !ev.USD.Valid {
		return market.Trade{}, false
	}
	t := market.Trade{TS: ev.TS, USD: ev.USD.Decimal.InexactFloat64()}
	switch {
	case stables[ev.SymbolIn] && !stables[ev.SymbolOut] && ev.SymbolOut != "":
		t.Coin, t.Buy, t.Sz = ev.SymbolOut, true, ev.AmountOut
	case stables[ev.SymbolOut] && !stables[ev.SymbolIn] && ev.SymbolIn != "":
		t.Coin, t.Buy, t.Sz = ev.SymbolIn, false, ev.AmountIn
	default:
		return market.Trade{}, false
	}
	if t.Sz.IsPositive() {
		t.Px = ev.USD.Decimal.Div(t.Sz)
	}
	return t, true
}

// lateDead records an event late under the DeadLetter policy. The source names the
// event key, not the stream id, so the dead letter is the same in every run.
func (w *Windows) lateDead(late bool, spec string, ev *event.Event, key, raw []byte, out *batchOut) {
	if !late {
		return
	}
	out.dead = append(out.dead, store.DeadLetter{Reason: window.ReasonLate,
		Detail: fmt.Sprintf("%s %s at %s: its %s window was already emitted (allowed lateness %s)",
			ev.Src, ev.Kind, ev.TS.Format(time.RFC3339Nano), spec, w.cfg.Lateness),
		Source: "windows:" + hex.EncodeToString(key), Raw: raw})
}

func (o *batchOut) anomaly(a market.Anomaly, streamName string) {
	h := sha256.Sum256([]byte(a.Kind + "\x1f" + a.Venue + "\x1f" + a.Symbol + "\x1f" + a.Ref))
	ev, _ := json.Marshal(a.Evidence)
	o.anomalies = append(o.anomalies, store.AnomalyRow{ID: h[:16], Kind: a.Kind, Venue: a.Venue, Symbol: a.Symbol,
		TS: a.TS, Value: a.Value, Baseline: a.Baseline, Score: a.Score, Evidence: ev, Stream: streamName})
}

func barRow(win window.Window[market.Bar]) store.BarRow {
	b := win.Agg
	r := store.BarRow{Venue: win.Source, Symbol: win.Key, Res: win.Spec, Start: win.Start, End: win.End,
		Open: b.Open, High: b.High, Low: b.Low, Close: b.Close, OpenTS: time.Unix(0, b.OpenTS).UTC(),
		CloseTS: time.Unix(0, b.CloseTS).UTC(), Volume: b.Volume, Quote: b.Quote, Trades: b.Trades,
		Ticks: b.Ticks, Late: b.Late, Final: win.Final}
	if v, ok := b.VWAP(); ok {
		r.VWAP = &v
	}
	return r
}

func (o *batchOut) addBar(win window.Window[market.Bar]) {
	o.bars[barID{win.Source, win.Key, win.Spec, win.Start.UnixNano()}] = barRow(win)
}

// fixBar merges a correction with earlier corrections of the same bar in this batch.
func (o *batchOut) fixBar(win window.Window[market.Bar]) {
	id := barID{win.Source, win.Key, win.Spec, win.Start.UnixNano()}
	if cur, ok := o.barFix[id]; ok {
		prev := market.Bar{Open: cur.Open, High: cur.High, Low: cur.Low, Close: cur.Close, OpenTS: cur.OpenTS.UnixNano(),
			CloseTS: cur.CloseTS.UnixNano(), Volume: cur.Volume, Quote: cur.Quote, Trades: cur.Trades, Ticks: cur.Ticks, Late: cur.Late}
		win.Agg = prev.Merge(win.Agg)
	}
	o.barFix[id] = barRow(win)
}

func flowRow(win window.Window[market.Flow], shard int) store.FlowRow {
	token, exchange, _ := cut(win.Key)
	f := win.Agg
	return store.FlowRow{Token: token, Symbol: f.Symbol, Exchange: exchange, Res: win.Spec, Start: win.Start, End: win.End,
		Shard: shard, In: f.In, Out: f.Out, InUSD: f.InUSD, OutUSD: f.OutUSD, Deposits: f.Deposits, Withdrawals: f.Withdraw,
		LargeIn: f.LargeIn, LargeOut: f.LargeOut, Late: f.Late, Final: win.Final}
}

func cut(k string) (string, string, bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == '\x1f' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

func (o *batchOut) addFlow(win window.Window[market.Flow], shard int) {
	token, exchange, _ := cut(win.Key)
	o.flows[flowID{token, exchange, win.Spec, win.Start.UnixNano()}] = flowRow(win, shard)
}

func (o *batchOut) fixFlow(win window.Window[market.Flow], shard int) {
	token, exchange, _ := cut(win.Key)
	id := flowID{token, exchange, win.Spec, win.Start.UnixNano()}
	if cur, ok := o.flowFix[id]; ok {
		prev := market.Flow{In: cur.In, Out: cur.Out, InUSD: cur.InUSD, OutUSD: cur.OutUSD, Deposits: cur.Deposits,
			Withdraw: cur.Withdrawals, LargeIn: cur.LargeIn, LargeOut: cur.LargeOut, Late: cur.Late, Symbol: cur.Symbol}
		win.Agg = prev.Merge(win.Agg)
	}
	o.flowFix[id] = flowRow(win, shard)
}

// firsts reports for each key whether it is its first occurrence in keys.
func firsts(keys [][16]byte) []bool {
	out := make([]bool, len(keys))
	seen := make(map[[16]byte]struct{}, len(keys))
	for i, k := range keys {
		if _, ok := seen[k]; !ok {
			seen[k] = struct{}{}
			out[i] = true
		}
	}
	return out
}

// queueWrites queues the results of the parts (outs[i] of parts[i], whose shard state
// is states[i]), each kind of row in one statement for all parts, and each shard's
// state. The parts' rows follow each other, each part's in its own order: shards never
// write the same row (bars by symbol, profiles by wallet, flows by shard), and if two
// did, the statement would fail (a row updated twice) rather than lose one.
func (w *Windows) queueWrites(q *store.Writes, parts []*part, states []*shardState, outs []*batchOut) error {
	var bars, barFix []store.BarRow
	var flows, flowFix []store.FlowRow
	var anomalies []store.AnomalyRow
	var profiles []store.ProfileRow
	var dead []store.DeadLetter
	for i, out := range outs {
		bars = append(bars, sortedBars(out.bars)...)
		barFix = append(barFix, sortedBars(out.barFix)...)
		flows = append(flows, sortedFlows(out.flows)...)
		flowFix = append(flowFix, sortedFlows(out.flowFix)...)
		anomalies = append(anomalies, out.anomalies...)
		dead = append(dead, out.dead...)
		var err error
		if profiles, err = w.appendProfiles(profiles, states[i], out); err != nil {
			return err
		}
	}
	q.Bars(bars, false)
	q.Bars(barFix, true)
	q.Flows(flows, false)
	q.Flows(flowFix, true)
	q.Anomalies(anomalies)
	q.Profiles(profiles)
	for i, p := range parts {
		if err := queueState(q, states[i], p.b); err != nil {
			return err
		}
	}
	q.DeadLetters(dead)
	return nil
}

// appendProfiles appends to rows the profiles out changed, by wallet.
func (w *Windows) appendProfiles(rows []store.ProfileRow, s *shardState, out *batchOut) ([]store.ProfileRow, error) {
	for _, wa := range slices.Sorted(maps.Keys(out.dirtyProfiles)) {
		p := s.profiles[wa]
		raw, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("profile of %s: %w", wa, err)
		}
		sum := p.Summarize(w.cfg.Profile)
		rows = append(rows, store.ProfileRow{Wallet: wa, VolumeUSD: sum.VolumeUSD, Trades: sum.Trades,
			AvgSizeUSD: sum.AvgSizeUSD, LargestUSD: sum.LargestUSD, TypicalHoldSeconds: sum.TypicalHoldSec,
			Coins: sum.Coins, FirstSeen: sum.FirstSeen, LastSeen: sum.LastSeen, Style: sum.Style,
			BuyShare: sum.BuyShare, MaxTradesPerMinute: sum.MaxPerMinute, BotHighFrequency: sum.BotHighFreq,
			BotMarketMaker: sum.BotMarketMaker, State: raw})
	}
	return rows, nil
}

// queueState queues the shard state s of b's shard and its per-source progress.
func queueState(q *store.Writes, s *shardState, b stream.Batch) error {
	barsState, err := s.bars.MarshalState()
	if err != nil {
		return err
	}
	flowsState, err := s.flows.MarshalState()
	if err != nil {
		return err
	}
	det, err := json.Marshal(s.det)
	if err != nil {
		return fmt.Errorf("window state: %w", err)
	}
	// The snapshot's JSON, put together by hand: json.Marshal would compact (scan) the
	// operators' already compact states again.
	snap := make([]byte, 0, len(barsState)+len(flowsState)+len(det)+32)
	snap = append(append(append(snap, `{"bars":`...), barsState...), `,"flows":`...)
	snap = append(append(append(snap, flowsState...), `,"det":`...), det...)
	snap = append(snap, '}')
	q.WindowState(b.Stream, b.Group, snap)
	q.SourceProgress(b.Stream, b.Group, progress(s))
	return nil
}

func progress(s *shardState) []store.SourceProgress {
	by := map[string]store.SourceProgress{}
	for _, st := range append(s.bars.Sources(), s.flows.Sources()...) {
		p, ok := by[st.Source]
		if !ok || st.Watermark.Before(p.Watermark) {
			p.Watermark = st.Watermark
		}
		if st.MaxEvent.After(p.MaxEvent) {
			p.MaxEvent = st.MaxEvent
		}
		p.Source, p.Late = st.Source, p.Late+st.Late
		by[st.Source] = p
	}
	out := make([]store.SourceProgress, 0, len(by))
	for _, p := range by {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

func sortedBars(m map[barID]store.BarRow) []store.BarRow {
	return sortedValues(m, func(a, b barID) int {
		return cmp.Or(strings.Compare(a.venue, b.venue), strings.Compare(a.symbol, b.symbol),
			strings.Compare(a.res, b.res), cmp.Compare(a.start, b.start))
	})
}

func sortedFlows(m map[flowID]store.FlowRow) []store.FlowRow {
	return sortedValues(m, func(a, b flowID) int {
		return cmp.Or(strings.Compare(a.token, b.token), strings.Compare(a.exchange, b.exchange),
			strings.Compare(a.res, b.res), cmp.Compare(a.start, b.start))
	})
}

// sortedValues returns m's values ordered by their keys, so rows are written in the
// same order on every run (and concurrent writers lock them in one order).
func sortedValues[K comparable, V any](m map[K]V, compare func(a, b K) int) []V {
	out := make([]V, 0, len(m))
	for _, k := range slices.SortedFunc(maps.Keys(m), compare) {
		out = append(out, m[k])
	}
	return out
}

// classify marks data errors permanent (the runtime bisects and dead-letters the entry
// that causes them); everything else is retried.
func classify(err error) error {
	if store.DataError(err) {
		return &stream.PermanentError{Err: err}
	}
	return err
}
