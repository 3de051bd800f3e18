// Package stage holds the stream stages beyond the book (pipeline.BookSink): each is a
// stream.Sink run by its own consumer group. Windows is the windowed-analytics stage.
package stage

import (
	"bytes"
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

// positionPrefix starts the canonical encoding (event.AppendJSON, what the ingress
// writes) of a position, which the windowed state does not use.
var positionPrefix = []byte(`{"kind":"position",`)

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

// Commit implements stream.Sink.
func (w *Windows) Commit(ctx context.Context, b stream.Batch) error {
	buf := evBufs.Get().(*[]event.Event)
	defer func() {
		clear(*buf) // drop what the events point to
		*buf = (*buf)[:0]
		evBufs.Put(buf)
	}()
	evs := (*buf)[:0]
	keys := make([][16]byte, 0, len(b.Entries))
	raws := make([][]byte, 0, len(b.Entries))
	now := time.Now() // one clock reading for the batch's future-date check
	rules := event.Rules{MaxFuture: maxFuture, Now: func() time.Time { return now }}
	for _, e := range b.Entries {
		if bytes.HasPrefix(e.Body, positionPrefix) {
			continue // a position, or no valid event at all (Decode rejects repeated fields)
		}
		ev, err := event.Decode(e.Body, rules)
		if err != nil {
			continue // the book stage dead-letters undecodable entries
		}
		if !affects(&ev) {
			continue
		}
		var key [16]byte
		if len(e.Key) == 16 {
			key = [16]byte(e.Key)
		} else { // the producer sends the key hash; recompute when it did not
			key = ev.KeyHash()
		}
		evs = append(evs, ev)
		keys = append(keys, key)
		raws = append(raws, e.Body)
	}
	*buf = evs
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
		published, shard, err = w.commitFresh(ctx, b, evs, keys, raws)
		if errors.Is(err, store.ErrKeysApplied) {
			// Some were applied before: the transaction is void, and the state it folded
			// the batch into too. Redo it from the stored state, recording the keys first.
			w.drop(b.Stream)
			dup = true
		}
	}
	if dup {
		published, shard, repeats, err = w.commitChecked(ctx, b, evs, keys, raws)
	}
	if err == nil && shard != nil {
		if repeats > 0 {
			shard.dupBatches = dupBatches
		}
		if len(shard.profiles) > maxCachedProfiles {
			// Every profile is persisted with its state whenever it changes, so the map is
			// only a cache: bound it, or a shard of a million wallets holds them all.
			clear(shard.profiles)
		}
	}
	if err != nil {
		w.drop(b.Stream)
		if errors.Is(err, store.ErrFenced) {
			return fmt.Errorf("commit %s up to %s: %w", b.Stream, b.LastID, stream.ErrFenced)
		}
		return classify(err)
	}
	if len(published) > 0 {
		if err := w.publish(ctx, published); err != nil {
			// Committed: the next owner of the shard publishes what is left.
			w.log.Warn("publish anomalies", "stream", b.Stream, "err", err)
		}
	}
	return nil
}

// commitFresh applies a batch taking every event not repeated within it to be new: it
// folds them into the shard state, then sends the checkpoint advance (the fence), the
// keys and the results as one pipeline, which Postgres commits as one transaction: one
// round trip. A key applied before fails it with store.ErrKeysApplied, after the state
// was changed. The reads it needs first (the state after a claim, profiles not cached,
// address labels) are made outside that transaction: only the owner of the shard
// writes its state and profiles, and a claim waits for the previous owner's last
// transaction, so they see everything committed before; an owner that lost the shard
// meanwhile fails at the fence.
func (w *Windows) commitFresh(ctx context.Context, b stream.Batch, evs []event.Event, keys [][16]byte,
	raws [][]byte) ([]store.AnomalyRow, *shardState, error) {
	db := w.st.Pool()
	s, err := w.state(ctx, db, b)
	if err != nil {
		return nil, nil, err
	}
	out, err := w.fold(ctx, db, s, b, evs, keys, raws, firsts(keys))
	if err != nil {
		return nil, s, err
	}
	var q store.Writes
	q.Fence(b.Stream, b.Group, b.Epoch, b.LastID)
	q.NewKeys(b.Group, keys)
	if err := w.queueWrites(&q, s, b, out); err != nil {
		return nil, s, err
	}
	q.DeadLetters(out.dead)
	if err := q.Commit(ctx, db); err != nil {
		return nil, s, err
	}
	return out.anomalies, s, nil
}

// commitChecked applies a batch in a transaction that records its keys first,
// tolerating ones applied before, and folds in only the new events. repeats is how
// many of its keys were applied before.
func (w *Windows) commitChecked(ctx context.Context, b stream.Batch, evs []event.Event, keys [][16]byte,
	raws [][]byte) (published []store.AnomalyRow, shard *shardState, repeats int, err error) {
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
		if fresh, repeats, err = store.RecordNewKeys(ctx, tx, b.Group, keys); err != nil {
			return err
		}
		out, err := w.fold(ctx, tx, s, b, evs, keys, raws, fresh)
		if err != nil {
			return err
		}
		var q store.Writes
		if err := w.queueWrites(&q, s, b, out); err != nil {
			return err
		}
		q.DeadLetters(out.dead)
		if err := q.Send(ctx, tx); err != nil {
			return err
		}
		published = out.anomalies
		return nil
	})
	return published, shard, repeats, err
}

// fold folds the events marked fresh into the shard state, loading through q the
// profiles and labels they need, and returns what to write.
func (w *Windows) fold(ctx context.Context, q store.Querier, s *shardState, b stream.Batch, evs []event.Event,
	keys [][16]byte, raws [][]byte, fresh []bool) (*batchOut, error) {
	out := &batchOut{bars: map[barID]store.BarRow{}, barFix: map[barID]store.BarRow{},
		flows: map[flowID]store.FlowRow{}, flowFix: map[flowID]store.FlowRow{}, dirtyProfiles: map[string]bool{}}
	apply := make([]int, 0, len(evs))
	var wallets, addrs []string
	seenW, seenA := map[string]bool{}, map[string]bool{}
	for i := range evs {
		if !fresh[i] {
			continue
		}
		apply = append(apply, i)
		ev := &evs[i]
		switch ev.Kind {
		case event.KindFill, event.KindSwap:
			if _, ok := s.profiles[ev.Wallet]; !ok && !seenW[ev.Wallet] {
				seenW[ev.Wallet] = true
				wallets = append(wallets, ev.Wallet)
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
	if err := w.loadProfiles(ctx, q, s, wallets); err != nil {
		return nil, err
	}
	labels := map[string]store.AddressLabel{}
	if len(addrs) > 0 {
		var err error
		if labels, err = store.LookupLabels(ctx, q, addrs); err != nil {
			return nil, err
		}
	}
	for _, i := range apply {
		w.apply(s, b, &evs[i], keys[i][:], raws[i], labels, out)
	}
	for _, win := range s.bars.TakeDirty() {
		out.addBar(win)
	}
	for _, win := range s.flows.TakeDirty() {
		out.addFlow(win, b.Shard)
	}
	return out, nil
}

func (w *Windows) loadProfiles(ctx context.Context, q store.Querier, s *shardState, wallets []string) error {
	if len(wallets) == 0 {
		return nil
	}
	states, err := store.LoadProfileStates(ctx, q, wallets)
	if err != nil {
		return err
	}
	for _, wa := range wallets {
		p := &market.Profile{}
		if raw, ok := states[wa]; ok {
			if err := json.Unmarshal(raw, p); err != nil {
				return fmt.Errorf("profile state of %s: %w", wa, err)
			}
		}
		s.profiles[wa] = p
	}
	return nil
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

// queueWrites queues the batch's results and the shard state.
func (w *Windows) queueWrites(q *store.Writes, s *shardState, b stream.Batch, out *batchOut) error {
	q.Bars(sortedBars(out.bars), false)
	q.Bars(sortedBars(out.barFix), true)
	q.Flows(sortedFlows(out.flows), false)
	q.Flows(sortedFlows(out.flowFix), true)
	q.Anomalies(out.anomalies)
	if len(out.dirtyProfiles) > 0 {
		wallets := make([]string, 0, len(out.dirtyProfiles))
		for wa := range out.dirtyProfiles {
			wallets = append(wallets, wa)
		}
		sort.Strings(wallets)
		rows := make([]store.ProfileRow, 0, len(wallets))
		for _, wa := range wallets {
			p := s.profiles[wa]
			raw, err := json.Marshal(p)
			if err != nil {
				return fmt.Errorf("profile of %s: %w", wa, err)
			}
			sum := p.Summarize(w.cfg.Profile)
			rows = append(rows, store.ProfileRow{Wallet: wa, VolumeUSD: sum.VolumeUSD, Trades: sum.Trades,
				AvgSizeUSD: sum.AvgSizeUSD, LargestUSD: sum.LargestUSD, TypicalHoldSeconds: sum.TypicalHoldSec,
				Coins: sum.Coins, FirstSeen: sum.FirstSeen, LastSeen: sum.LastSeen, Style: sum.Style,
				BuyShare: sum.BuyShare, MaxTradesPerMinute: sum.MaxPerMinute, BotHighFrequency: sum.BotHighFreq,
				BotMarketMaker: sum.BotMarketMaker, State: raw})
		}
		q.Profiles(rows)
	}
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
