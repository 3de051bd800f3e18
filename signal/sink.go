package signal

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/analytics/alpha"
	"github.com/coattailcapital/coattail/analytics/book"
	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
)

// Sink is the signal stage's durable side (a stream.Sink).
type Sink struct {
	st    *store.Store
	cfg   Config
	rules event.Rules
}

// NewSink returns the signal stage's sink. cfg's zero values are defaults; an invalid
// cfg is replaced by its defaults after logging (use Config.Validate beforehand to
// refuse it instead).
func NewSink(st *store.Store, cfg Config) *Sink {
	if err := cfg.Validate(); err != nil {
		cfg.withDefaults().Logger.Warn("signal config invalid, using defaults", "err", err)
		cfg = Config{OnSignals: cfg.OnSignals, Consumers: cfg.Consumers, Context: cfg.Context, ContextKinds: cfg.ContextKinds, Committed: cfg.Committed, Logger: cfg.Logger}
	}
	return &Sink{st: st, cfg: cfg.withDefaults(), rules: event.Rules{MaxFuture: 365 * 24 * time.Hour}}
}

// Claim implements stream.Sink.
func (s *Sink) Claim(ctx context.Context, streamName, group, owner string) (int64, string, error) {
	return s.st.ClaimShard(ctx, streamName, group, owner)
}

// action is one derived action with what the rules need.
type action struct {
	key    []byte
	wallet string
	coin   string
	kind   string // open|add|reduce|close|flip|swap
	side   string // long|short|buy|sell
	usd    float64
	px     float64
	ts     time.Time
	before float64
	after  float64
	pos    int // index of the causing entry in the batch
}

var _ stream.BatchSink = (*Sink)(nil)

// Commit implements stream.Sink.
func (s *Sink) Commit(ctx context.Context, b stream.Batch) error {
	return s.CommitMany(ctx, []stream.Batch{b})
}

// CommitMany implements stream.BatchSink: the batches' entries are applied as one
// batch (each shard's in its order; shards hold distinct wallets), every checkpoint
// advanced in the same transaction.
func (s *Sink) CommitMany(ctx context.Context, bs []stream.Batch) error {
	var dead []store.DeadLetter
	n := 0
	for _, b := range bs {
		n += len(b.Entries)
	}
	// Sized for every entry: an Event is large, and growing these slices by
	// appending cost as much as decoding the events.
	in := input{evs: make([]event.Event, 0, n), keys: make([][]byte, 0, n), pos: make([]int, 0, n)}
	fences := &pgx.Batch{}
	n = 0 // entries of the batches before this one: positions run across batches
	for _, b := range bs {
		store.QueueFence(fences, b.Stream, b.Group, b.Epoch, b.LastID)
		for _, d := range b.Dead {
			dead = append(dead, store.DeadLetter{Reason: d.Reason, Detail: d.Detail, Source: Group + ":" + b.Stream + ":" + d.Entry.ID, Raw: clip(d.Entry.Body)})
		}
		s.decode(&in, b, n)
		n += len(b.Entries)
	}
	var stored []Stored
	// Pipelined: BEGIN goes with the first round trip (led by the fences), the writes
	// nothing reads back (alert outbox, paper inbox) with COMMIT.
	err := store.BeginPipelined(ctx, s.st.Pool(), func(tx pgx.Tx) error {
		// Writes that nothing reads before the next round trip wait on pend and go
		// with it.
		pend := &pgx.Batch{}
		acts, pre, err := s.derive(ctx, tx, fences, pend, in.evs, in.keys, in.pos)
		if err != nil {
			return err
		}
		sigs, err := s.fire(ctx, tx, pend, acts, pre)
		if err != nil {
			return err
		}
		if s.cfg.Context != nil {
			extra, err := s.cfg.Context(ctx, tx, in.evs)
			if err != nil {
				return fmt.Errorf("context signals: %w", err)
			}
			for i := range extra {
				extra[i].pos = n
			}
			sigs = append(sigs, extra...)
		}
		stored, err = insertSignals(ctx, tx, pend, sigs)
		if err != nil {
			return err
		}
		if len(stored) > 0 && s.cfg.OnSignals != nil {
			if err := s.cfg.OnSignals(ctx, tx, stored); err != nil {
				return fmt.Errorf("on signals: %w", err)
			}
		}
		// The consumers get the batch once, as steps in stream order: the prices
		// before a signal's causing entry, then the signals of that entry, and so on.
		if steps := batchSteps(stored, in.ticks, in.tickPos); len(steps) > 0 {
			for _, c := range s.cfg.Consumers {
				if err := c.OnBatch(ctx, tx, steps); err != nil {
					return err
				}
			}
		}
		return store.InsertDeadLetters(ctx, tx, dead)
	})
	if errors.Is(err, store.ErrFenced) {
		return fmt.Errorf("commit %s: %w", stream.Positions(bs), stream.ErrFenced)
	}
	if err != nil {
		return classify(err)
	}
	if s.cfg.Committed != nil && len(stored) > 0 {
		s.cfg.Committed(stored)
	}
	return nil
}

// input is what the signal rules read of a transaction's entries.
type input struct {
	evs     []event.Event
	keys    [][]byte // nil: context only
	pos     []int    // of evs[i] among the transaction's entries
	ticks   []Tick
	tickPos []int
}

// decode appends b's entries to in; n is the position of b's first entry among the
// transaction's.
func (s *Sink) decode(in *input, b stream.Batch, n int) {
	for j, e := range b.Entries {
		i := n + j
		if k, ok := event.KindPrefix(e.Body); ok && !s.reads(k) {
			continue
		}
		ev, err := event.Decode(e.Body, s.rules)
		if err != nil {
			// The book stage records undecodable entries; here they are only skipped.
			continue
		}
		var key []byte // nil: context only
		switch ev.Kind {
		case event.KindFill, event.KindPosition, event.KindSwap:
			kh := ev.KeyHashOr(e.Key)
			key = kh[:]
		case event.KindPrice:
			in.ticks, in.tickPos = append(in.ticks, Tick{Coin: ev.Symbol, Px: ev.Price.InexactFloat64(), TS: ev.TS}), append(in.tickPos, i)
		}
		if key != nil || s.cfg.Context != nil {
			in.evs, in.keys, in.pos = append(in.evs, ev), append(in.keys, key), append(in.pos, i)
		}
	}
}

// reads reports whether the stage reads events of kind k: its rules' (fills,
// positions, swaps; prices as ticks) and Context's.
func (s *Sink) reads(k event.Kind) bool {
	switch k {
	case event.KindFill, event.KindPosition, event.KindSwap, event.KindPrice:
		return true
	}
	return s.cfg.Context != nil && (len(s.cfg.ContextKinds) == 0 || slices.Contains(s.cfg.ContextKinds, k))
}

// batchSteps orders signals and ticks by their causing entry's position in the batch
// (tickPos[i] is ticks[i]'s); signals of one entry form one step.
func batchSteps(stored []Stored, ticks []Tick, tickPos []int) []Step {
	sorted := slices.Clone(stored)
	slices.SortStableFunc(sorted, func(a, b Stored) int { return a.pos - b.pos })
	var steps []Step
	t := 0
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j].pos == sorted[i].pos {
			j++
		}
		k := t
		for k < len(ticks) && tickPos[k] < sorted[i].pos {
			k++
		}
		if k > t {
			steps = append(steps, Step{Ticks: ticks[t:k]})
			t = k
		}
		steps = append(steps, Step{Signals: sorted[i:j]})
		i = j
	}
	if t < len(ticks) {
		steps = append(steps, Step{Ticks: ticks[t:]})
	}
	return steps
}

// classify marks data errors permanent (the runtime then isolates and dead-letters the
// entry), everything else is retried — a deadlock or serialization failure included.
func classify(err error) error {
	if store.DataError(err) {
		return &stream.PermanentError{Err: err}
	}
	return err
}

// derive applies the batch's new wallet events to the stage's book and returns the
// actions they were, in stream order; its reads go in b, after the transaction's
// fences queued there. Events already seen (their key is in
// signal_actions) are skipped: a file replayed into the stream changes nothing.
func (s *Sink) derive(ctx context.Context, tx pgx.Tx, b, pend *pgx.Batch, evs []event.Event, keys [][]byte, pos []int) ([]action, *prefetched, error) {
	var want [][]byte
	for _, k := range keys {
		if k != nil {
			want = append(want, k)
		}
	}
	if len(want) == 0 {
		return nil, nil, tx.SendBatch(ctx, b).Close() // the fences
	}
	var pks []store.PositionKey
	have := map[store.PositionKey]bool{}
	for i := range evs {
		ev := &evs[i]
		if keys[i] == nil || (ev.Kind != event.KindFill && ev.Kind != event.KindPosition) {
			continue
		}
		pk := store.PositionKey{Wallet: ev.Wallet, Coin: ev.Coin}
		if !have[pk] {
			have[pk] = true
			pks = append(pks, pk)
		}
	}
	// Which events were seen before and the book rows they change: one round trip.
	seen := map[string]bool{}
	b.Queue(`SELECT a.event_key FROM unnest($1::bytea[]) AS k(key)
		CROSS JOIN LATERAL (SELECT event_key FROM signal_actions WHERE event_key = k.key LIMIT 1) a`, want).Query(func(rows pgx.Rows) error {
		var k []byte
		if _, err := pgx.ForEachRow(rows, []any{&k}, func() error { seen[string(k)] = true; return nil }); err != nil {
			return fmt.Errorf("seen actions: %w", err)
		}
		return nil
	})
	books := queueLoadBooks(b, pks)
	// What fire needs of the wallets, read now for every wallet with a new event (a
	// superset of the wallets that act): a round trip saved.
	pre := &prefetched{wallets: map[string]bool{}}
	var ws []string
	for i := range evs {
		if w := evs[i].Wallet; keys[i] != nil && w != "" && !pre.wallets[w] {
			pre.wallets[w] = true
			ws = append(ws, w)
		}
	}
	var finish func()
	pre.info, finish = s.queueWalletInfo(b, ws)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, err
	}
	finish()
	var out []action
	var err error
	for i := range evs {
		ev := &evs[i]
		if keys[i] == nil || seen[string(keys[i])] {
			continue
		}
		seen[string(keys[i])] = true // a key repeated within the batch applies once
		switch ev.Kind {
		case event.KindSwap:
			for _, a := range alpha.ActionsFromSwaps([]event.Event{*ev}, nil) {
				side := "buy"
				if a.Dir < 0 {
					side = "sell"
				}
				out = append(out, action{key: keys[i], wallet: a.Wallet, coin: a.Coin, kind: string(alpha.KindSwap),
					side: side, usd: a.NotionalUSD, px: a.Px, ts: a.TS, pos: pos[i]})
			}
		case event.KindFill, event.KindPosition:
			p := books[store.PositionKey{Wallet: ev.Wallet, Coin: ev.Coin}]
			before := p.Size
			var ch book.Change
			var px float64
			if ev.Kind == event.KindFill {
				ch, err = p.ApplyFill(book.FillFromEvent(ev))
				px = ev.Px.InexactFloat64()
			} else {
				o := book.ObservationFromEvent(ev)
				ch, err = p.ApplyObservation(o)
				px = o.Px.InexactFloat64()
			}
			if err != nil {
				// Out of order or invalid for the book: the book stage dead-letters it;
				// here it is no action.
				continue
			}
			if ch.Resynced && ev.StartPosition.Valid {
				before = ev.StartPosition.Decimal
			}
			switch ch.Action {
			case book.ActionNone, book.ActionSync:
				continue
			}
			a := action{key: keys[i], wallet: ev.Wallet, coin: ev.Coin, kind: string(ch.Action), px: px, ts: ev.TS, pos: pos[i],
				before: before.InexactFloat64(), after: p.Size.InexactFloat64()}
			a.usd = ch.Delta.Abs().InexactFloat64() * px
			a.side = "long"
			switch ch.Action {
			case book.ActionReduce, book.ActionClose:
				if a.before < 0 {
					a.side = "short"
				}
			default:
				if a.after < 0 {
					a.side = "short"
				}
			}
			out = append(out, a)
		}
	}
	queueSaveBooks(pend, pks, books)
	return out, pre, nil
}

// prefetched is walletInfo of the wallets with new events in the batch, read with
// derive's round trip.
type prefetched struct {
	wallets map[string]bool
	info    map[string]walletInfo
}

// walletInfo is what the rules know of a wallet.
type walletInfo struct {
	followers int
	ranked    bool
	rank      int
	score     float64
	lcb       float64
	high      bool
	// size history before this batch (log notional)
	n             int64
	sumLog, sumSq float64
}

// fire records the actions and returns the signals they fire.
func (s *Sink) fire(ctx context.Context, tx pgx.Tx, pend *pgx.Batch, acts []action, pre *prefetched) ([]Signal, error) {
	if len(acts) == 0 {
		return nil, nil
	}
	var wallets []string
	seenW := map[string]bool{}
	for _, a := range acts {
		if !seenW[a.wallet] {
			seenW[a.wallet] = true
			wallets = append(wallets, a.wallet)
		}
	}
	info := map[string]walletInfo(nil)
	if pre != nil && !slices.ContainsFunc(wallets, func(w string) bool { return !pre.wallets[w] }) {
		info = pre.info
	} else { // an action of a wallet without an event of its own (none today): read them
		var err error
		if info, err = s.walletInfo(ctx, tx, pend, wallets); err != nil {
			return nil, err
		}
	}
	// Consensus is counted from signal_actions; a per-coin transaction lock, taken in
	// coin order (no deadlocks), makes concurrent shards see each other's actions.
	var coins []string
	for _, a := range acts {
		if s.counts(a, info[a.wallet]) && !slices.Contains(coins, a.coin) {
			coins = append(coins, a.coin)
		}
	}
	slices.Sort(coins)
	for _, c := range coins {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('coattail:consensus:' || $1, 0))`, c); err != nil {
			return nil, fmt.Errorf("lock coin %s: %w", c, err)
		}
	}
	queueActions(pend, acts, info)
	if len(coins) > 0 {
		// Consensus is counted from signal_actions, this batch's included.
		if err := flush(ctx, tx, pend); err != nil {
			return nil, err
		}
	}
	var out []Signal
	type win struct {
		coin, side string
		start      time.Time
	}
	done := map[win]bool{}
	for _, a := range acts {
		wi := info[a.wallet]
		sizeZ, sizeC := 0.0, 0.5
		if wi.n >= 5 {
			mean := wi.sumLog / float64(wi.n)
			sd := math.Sqrt(math.Max(wi.sumSq/float64(wi.n)-mean*mean, 0))
			if sd > 0 && a.usd > 0 {
				sizeZ = (math.Log(a.usd) - mean) / sd
				sizeC = 1 / (1 + math.Exp(-sizeZ))
			}
		}
		if a.usd > 0 {
			l := math.Log(a.usd)
			wi.n++
			wi.sumLog += l
			wi.sumSq += l * l
		}
		scoreC := 0.0
		if wi.ranked && wi.score > 0 {
			scoreC = wi.score / (wi.score + 0.25)
		}
		ev := map[string]any{"event_key": hex.EncodeToString(a.key), "kind": a.kind, "size_z": round(sizeZ),
			"pos_before": a.before, "pos_after": a.after}
		if wi.ranked {
			ev["rank"], ev["score"], ev["lcb"] = wi.rank, wi.score, wi.lcb
		}
		action := a.kind
		if action == string(alpha.KindSwap) {
			action = ""
		}
		bucket := a.ts.Truncate(s.cfg.DedupWindow).UTC().Format(time.RFC3339Nano)
		base := Signal{Wallet: a.wallet, Coin: a.coin, Side: a.side, Action: action, USD: a.usd, Price: a.px, TS: a.ts, pos: a.pos}
		if wi.followers > 0 && a.usd >= s.cfg.FollowedMinUSD {
			sg := base
			sg.Rule = RuleFollowed
			sg.DedupKey = strings.Join([]string{RuleFollowed, a.wallet, a.coin, a.kind, bucket}, "|")
			sg.Confidence = clamp01(0.3 + 0.3*sizeC + 0.4*scoreC)
			sg.Edge = edgeOf(wi)
			sg.Evidence = withKV(ev, "followers", wi.followers)
			out = append(out, sg)
		}
		consC := 0.0
		var consWallets []string
		if s.counts(a, wi) {
			start := a.ts.Truncate(s.cfg.ConsensusWindow).UTC()
			all, err := s.consensusWallets(ctx, tx, a.coin, a.side, start)
			if err != nil {
				return nil, err
			}
			// What the action knew: the wallets in by its own event time, so the
			// figures do not depend on which later entries shared its batch.
			consWallets = walletsUpTo(all, a.ts)
			consC = math.Min(1, float64(max(len(consWallets), 1)-1)/float64(s.cfg.ConsensusK-1))
			w := win{a.coin, a.side, start}
			if len(all) >= s.cfg.ConsensusK && !done[w] {
				done[w] = true
				// The consensus happened when its k-th wallet first entered: the signal
				// carries that entry (when this batch read it), so it neither fires
				// before it existed in event time nor depends on the batch's size.
				k := all[s.cfg.ConsensusK-1]
				members := walletsUpTo(all, k.ts)
				edge, err := s.meanEdge(ctx, tx, members)
				if err != nil {
					return nil, err
				}
				sg := base
				completedBy := a.key
				for _, c := range acts {
					if string(c.key) == string(k.key) && c.wallet == k.wallet && c.coin == a.coin {
						// (an entry is never a swap: swaps do not count)
						sg = Signal{Wallet: c.wallet, Coin: c.coin, Side: c.side, Action: c.kind, USD: c.usd, Price: c.px, TS: c.ts, pos: c.pos}
						completedBy = c.key
						break
					}
				}
				sg.Rule = RuleConsensus
				sg.DedupKey = strings.Join([]string{RuleConsensus, a.coin, a.side, start.Format(time.RFC3339)}, "|")
				sg.Confidence = clamp01(0.5 + 0.3*edge/(edge+0.25) + 0.2*math.Min(1, float64(len(members))/float64(2*s.cfg.ConsensusK)))
				sg.Edge = edge
				sg.Evidence = map[string]any{"wallets": members, "k": s.cfg.ConsensusK, "window_start": start,
					"window": s.cfg.ConsensusWindow.String(), "completed_by": hex.EncodeToString(completedBy)}
				out = append(out, sg)
			}
		}
		if wi.high && a.usd >= s.cfg.AlphaMinUSD {
			sg := base
			sg.Rule = RuleAlpha
			sg.DedupKey = strings.Join([]string{RuleAlpha, a.wallet, a.coin, a.kind, bucket}, "|")
			sg.Confidence = clamp01(0.2 + 0.35*scoreC + 0.25*sizeC + 0.2*consC)
			sg.Edge = edgeOf(wi)
			sg.Evidence = withKV(ev, "consensus_wallets", len(consWallets))
			out = append(out, sg)
		}
		info[a.wallet] = wi
	}
	queueSaveSizes(pend, wallets, info)
	return out, nil
}

// counts reports whether an action counts toward a consensus: a high-alpha wallet's
// entry (open, add, flip) of at least ConsensusMinUSD.
func (s *Sink) counts(a action, wi walletInfo) bool {
	return wi.high && a.usd >= s.cfg.ConsensusMinUSD && (a.kind == "open" || a.kind == "add" || a.kind == "flip")
}

func edgeOf(wi walletInfo) float64 {
	if !wi.ranked {
		return 0
	}
	return wi.score
}

func withKV(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// clip bounds what a dead letter keeps of its input.
func clip(b []byte) []byte {
	const max = 4096
	if len(b) > max {
		return b[:max]
	}
	return b
}
