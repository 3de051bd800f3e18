package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Batch is what a Sink commits: the effects of Entries plus the stream position LastID,
// in one transaction fenced by Epoch.
type Batch struct {
	Stream  string
	Group   string
	Shard   int
	Epoch   int64
	Entries []Entry      // to apply, in stream order
	Dead    []DeadLetter // to record as dead letters instead of applying
	LastID  string       // position after this batch
}

// DeadLetter is an entry the runtime gave up on.
type DeadLetter struct {
	Entry  Entry
	Reason string
	Detail string
}

// Sink is the durable side of a consumer group.
type Sink interface {
	// Claim makes owner the shard's owner: it bumps and returns the epoch that fences
	// older owners, and the last committed stream id ("0-0" when none).
	Claim(ctx context.Context, stream, group, owner string) (epoch int64, lastID string, err error)
	// Commit applies b and records b.LastID in one transaction. ErrFenced when b.Epoch
	// is stale; a *PermanentError when the data cannot be applied.
	Commit(ctx context.Context, b Batch) error
}

// GroupConfig configures a consumer group runtime. Zero values are defaults.
type GroupConfig struct {
	// Group is the consumer group's name (one per stage). Required.
	Group string
	// Owner names this process among the group's consumers. Defaults to a random name.
	Owner string
	// Batch is the most entries read and committed at once. Defaults to 2000.
	Batch int
	// Block is how long a read waits for new entries. Defaults to 500ms.
	Block time.Duration
	// Concurrency bounds how many of this process's shard workers of the group read
	// and commit at the same time; the others wait (their entries accumulating into
	// larger batches). Eight shards committing small batches at once on a machine
	// with two cores cost more in per-transaction overhead and queueing than they
	// gain. When the sink is a BatchSink it bounds the combined transactions instead:
	// the workers read freely and their ready batches share transactions. Defaults to
	// GOMAXPROCS; negative: no bound, every shard commits on its own.
	Concurrency int
	// Linger, for a BatchSink, is how long a combined commit waits for more shards'
	// batches before it starts, unless its worker is in a backlog: fewer, larger
	// transactions for a stage whose latency matters less than the CPU it takes.
	// Defaults to 0 (start at once).
	Linger time.Duration
	// MaxDeliveries: an entry delivered more often than this (the process kept dying on
	// it) is dead-lettered. Defaults to 5.
	MaxDeliveries int64
	// LeaseTTL is how long a shard lease lives without renewal: how long a crashed
	// owner keeps its shards from others. Renewed every Rebalance. Defaults to 5s.
	LeaseTTL time.Duration
	// Rebalance is how often membership and leases are refreshed. Defaults to 1s.
	Rebalance time.Duration
	// StopTimeout bounds how long an in-flight batch may take to finish on stop.
	// Defaults to 10s.
	StopTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Observe, if set, is called after each committed batch (for metrics).
	Observe func(shard int, applied, dead int, took time.Duration)
}

func (g GroupConfig) withDefaults() GroupConfig {
	if g.Owner == "" {
		g.Owner = fmt.Sprintf("c-%08x", rand.Uint32())
	}
	if g.Batch == 0 {
		g.Batch = 2000
	}
	if g.Block == 0 {
		g.Block = 500 * time.Millisecond
	}
	if g.MaxDeliveries == 0 {
		g.MaxDeliveries = 5
	}
	if g.LeaseTTL == 0 {
		g.LeaseTTL = 5 * time.Second
	}
	if g.Rebalance == 0 {
		g.Rebalance = time.Second
	}
	if g.StopTimeout == 0 {
		g.StopTimeout = 10 * time.Second
	}
	if g.Logger == nil {
		g.Logger = slog.Default()
	}
	if g.Concurrency == 0 {
		g.Concurrency = runtime.GOMAXPROCS(0)
	}
	return g
}

// shardWorker works one owned shard until its context ends or it loses the shard.
type shardWorker struct {
	rdb   redis.UniversalClient
	wait  redis.UniversalClient // blocking waits; rdb when nil
	cfg   Config
	g     GroupConfig
	sink  Sink
	shard int
	name  string
	epoch int64
	last  ID // last committed id
	log   *slog.Logger
	// lastRead is the group's last delivered id as this owner knows it (it is the
	// only reader while it holds the lease); resume sets it before the first read.
	lastRead string
	// published is the committed position last published for trimming (committedKey).
	published ID
	// redeliver: entries up to this id are being read again after a rewind (an owner
	// read them and died before committing), each for the redeliveries-th time.
	redeliverTo  ID
	redeliveries int64

	lastTrim        time.Time
	lastMissingWarn time.Time // the last "not trimmed: a group is missing" warning
	missingSince    time.Time // since when a required group has been missing (zero: none is)
	// slots bounds the group's workers reading and committing at once (nil: no bound).
	slots chan struct{}
	// backlog: the last read came back full, so the next one will likely be too; a
	// worker working through a backlog does not wait for a slot (large batches gain
	// from overlapping commits; only small ones are worth holding back).
	backlog bool
	held    bool // holds a slot now
	// comb, when the sink combines batches, commits this worker's batches together with
	// the other shards' (nil: alone).
	comb *combiner
}

// acquire waits for a slot to read and commit in, unless the worker is going through
// a backlog; false when stop came first.
func (w *shardWorker) acquire(stop <-chan struct{}) bool {
	if w.slots == nil || w.backlog {
		return true
	}
	select {
	case w.slots <- struct{}{}:
		w.held = true
		return true
	case <-stop:
		return false
	}
}

func (w *shardWorker) releaseSlot() {
	if w.held {
		w.held = false
		<-w.slots
	}
}

// run claims the shard in the sink, drains entries left pending by earlier owners, then
// reads new ones. stop asks it to finish the current batch and return; hard cancels.
func (w *shardWorker) run(stop <-chan struct{}, hard context.Context) error {
	ctx := hard
	// Blocking reads end as soon as a stop is asked; commits only on a hard cancel.
	readCtx, cancelRead := context.WithCancel(hard)
	defer cancelRead()
	go func() {
		select {
		case <-stop:
			cancelRead()
		case <-readCtx.Done():
		}
	}()
	epoch, lastID, err := w.sink.Claim(ctx, w.name, w.g.Group, w.g.Owner)
	if err != nil {
		return fmt.Errorf("claim %s: %w", w.name, err)
	}
	w.epoch = epoch
	if w.last, err = ParseID(lastID); err != nil {
		return fmt.Errorf("claim %s: checkpoint: %w", w.name, err)
	}
	if err := ensureGroup(ctx, w.rdb, w.name, w.g.Group); err != nil {
		return err
	}
	// Drain what earlier owners read into the pending list but never acked, oldest
	// first, so the shard's entries are applied in stream order. (Reads are NOACK now,
	// see readOwned; a pending list is left by an older version, or by a consumer of
	// the group outside this runtime.)
	start := "0-0"
	for {
		if stopped(stop) || !w.acquire(stop) {
			return nil
		}
		next, err := w.reclaim(ctx, start)
		w.releaseSlot()
		if err != nil {
			return err
		}
		if next == "0-0" || next == "" {
			break
		}
		start = next
	}
	if err := w.resume(ctx); err != nil {
		return err
	}
	for {
		if stopped(stop) || !w.acquire(stop) {
			return nil
		}
		msgs, lastDelivered, err := w.readOwned(readCtx)
		w.backlog = err == nil && len(msgs) >= w.g.Batch
		if err != nil || len(msgs) == 0 {
			w.releaseSlot()
		}
		if err != nil {
			if readCtx.Err() != nil {
				return nil
			}
			if isNoGroup(err) { // the stream or group was deleted under us (FLUSHALL, restart without persistence)
				if err := w.resume(ctx); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("read %s: %w", w.name, err)
		}
		if len(msgs) > 0 {
			err := w.process(ctx, msgs, false)
			w.releaseSlot()
			if err != nil {
				return err
			}
			w.maybeTrim(ctx)
			continue
		}
		w.maybeTrim(ctx)
		// Nothing new: wait (without the group, so nothing is delivered) until an entry
		// newer than the group's last delivered one arrives, or Block passes.
		wait := w.wait
		if wait == nil {
			wait = w.rdb
		}
		err = wait.XRead(readCtx, &redis.XReadArgs{Streams: []string{w.name, lastDelivered}, Count: 1, Block: w.g.Block}).Err()
		if err != nil && !errors.Is(err, redis.Nil) {
			if readCtx.Err() != nil {
				return nil
			}
			return fmt.Errorf("wait on %s: %w", w.name, err)
		}
	}
}

// reclaim takes over one batch of entries earlier owners read but never acked,
// from start, and commits it; it returns where the next batch starts ("0-0" at the
// end).
func (w *shardWorker) reclaim(ctx context.Context, start string) (string, error) {
	msgs, next, err := w.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: w.name, Group: w.g.Group, Consumer: w.g.Owner,
		MinIdle: 0, Start: start, Count: int64(w.g.Batch),
	}).Result()
	if err != nil {
		return "", fmt.Errorf("reclaim pending on %s: %w", w.name, err)
	}
	if len(msgs) > 0 {
		entries := toEntries(msgs)
		if err := w.deliveries(ctx, entries); err != nil {
			return "", err
		}
		if err := w.process(ctx, entries, true); err != nil {
			return "", err
		}
	}
	return next, nil
}

// errLeaseLost is returned when the shard's lease is gone.
var errLeaseLost = errors.New("shard lease lost")

// owned runs fn's commands in one MULTI/EXEC only while this consumer holds the shard's
// lease, atomically: it WATCHes the lease and checks it in one round trip, then sends
// the transaction in a second. A worker that outlived its lease (a long pause, a
// partition) can no longer move the group: its reads would advance the group's last
// delivered id past entries the next owner has not read, which would then never be
// delivered. (A Lua script would make it one round trip, but copying every entry
// through Lua costs Redis more CPU than the round trip saves.) fn may run more than once.
func (w *shardWorker) owned(ctx context.Context, fn func(p redis.Pipeliner)) error {
	lease := w.cfg.leaseKey(w.name, w.g.Group)
	for {
		err := w.rdb.Watch(ctx, func(tx *redis.Tx) error {
			var owner *redis.StringCmd
			_, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Do(ctx, "watch", lease)
				owner = p.Get(ctx, lease)
				return nil
			})
			o, gerr := owner.Result()
			if (err != nil && !errors.Is(err, redis.Nil)) || gerr != nil || o != w.g.Owner {
				// The WATCH was sent outside go-redis's own Watch, so it is released
				// here, before the connection goes back to the pool.
				_ = tx.Unwatch(ctx).Err()
				switch {
				case errors.Is(gerr, redis.Nil) || (gerr == nil && o != w.g.Owner):
					return errLeaseLost
				case err != nil && !errors.Is(err, redis.Nil):
					return err
				}
				return gerr
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				fn(p)
				return nil
			})
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			return nil
		})
		if errors.Is(err, redis.TxFailedErr) {
			continue // the lease key was touched (our own renewal, or a takeover): check again
		}
		return err
	}
}

// readOwned reads up to Batch new entries for the group, under the lease (owned). The
// read is NOACK: the group keeps no pending list, since what this owner has applied is
// its committed checkpoint in the sink, and a new owner moves the group back to that
// checkpoint (resume); acking every entry and keeping a pending list cost Redis about
// half of its CPU. The same transaction publishes the committed position when it
// moved, for trimming. With nothing new it returns the group's last delivered id, for
// the blocking wait.
func (w *shardWorker) readOwned(ctx context.Context) ([]Entry, string, error) {
	var read *redis.XStreamSliceCmd
	publish := w.published != w.last
	err := w.owned(ctx, func(p redis.Pipeliner) {
		if publish {
			p.HSet(ctx, committedKey(w.name), w.g.Group, w.last.String())
		}
		read = p.XReadGroup(ctx, &redis.XReadGroupArgs{Group: w.g.Group, Consumer: w.g.Owner,
			Streams: []string{w.name, ">"}, Count: int64(w.g.Batch), Block: -1, NoAck: true})
	})
	if err != nil {
		return nil, "", err
	}
	if publish {
		w.published = w.last
	}
	var msgs []redis.XMessage
	if res, rerr := read.Result(); rerr == nil && len(res) > 0 {
		msgs = res[0].Messages
	}
	if len(msgs) == 0 {
		return nil, w.lastRead, nil
	}
	w.lastRead = msgs[len(msgs)-1].ID
	es := toEntries(msgs)
	if w.redeliveries > 0 {
		if !w.last.Less(w.redeliverTo) {
			w.redeliveries = 0 // committed past the rewound entries
		} else {
			for i := range es {
				if id, err := ParseID(es[i].ID); err == nil && !w.redeliverTo.Less(id) {
					es[i].Deliveries = w.redeliveries
				}
			}
		}
	}
	return es, "", nil
}

// resume readies the group's reads of the shard, after a claim or after the stream or
// group went away: it creates the group where it is missing; when the group was
// delivered entries past the committed checkpoint (an owner read them and died, or
// lost its connection, before committing them), it moves the group back to the
// checkpoint so they are read again, counting how often that happened at this
// checkpoint (an entry read again more than MaxDeliveries times is dead-lettered);
// and it publishes the committed position for trimming. Under the lease (owned).
func (w *shardWorker) resume(ctx context.Context) error {
	if err := ensureGroup(ctx, w.rdb, w.name, w.g.Group); err != nil {
		return err
	}
	info, err := groupInfo(ctx, w.rdb, w.name, w.g.Group)
	if err != nil {
		return err
	}
	delivered := info.LastDeliveredID
	d, err := ParseID(delivered)
	if err != nil {
		return fmt.Errorf("group %s on %s: last delivered id: %w", w.g.Group, w.name, err)
	}
	committed := w.last.String()
	rewind := w.last.Less(d)
	var n int64 = 1
	setID := []any{"xgroup", "setid", w.name, w.g.Group, committed}
	if rewind {
		// Keep Redis's lag of the group known: its entries-read counter goes back by
		// the entries being read again (without it, XINFO shows no lag until the group
		// has caught up with the stream's end).
		if info.EntriesRead > 0 {
			again, err := w.rdb.XRange(ctx, w.name, "("+committed, delivered).Result()
			if err != nil {
				return fmt.Errorf("entries to read again on %s: %w", w.name, err)
			}
			if read := info.EntriesRead - int64(len(again)); read >= 0 {
				setID = append(setID, "entriesread", read)
			}
		}
		prev, err := w.rdb.HGet(ctx, rewindsKey(w.name), w.g.Group).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("rewinds of %s on %s: %w", w.g.Group, w.name, err)
		}
		if at, count, ok := strings.Cut(prev, " "); ok && at == committed {
			if c, err := strconv.ParseInt(count, 10, 64); err == nil {
				n = c + 1
			}
		}
	}
	err = w.owned(ctx, func(p redis.Pipeliner) {
		if rewind {
			p.Do(ctx, setID...)
			p.HSet(ctx, rewindsKey(w.name), w.g.Group, committed+" "+strconv.FormatInt(n, 10))
		}
		p.HSet(ctx, committedKey(w.name), w.g.Group, committed)
	})
	if err != nil {
		return fmt.Errorf("resume %s on %s: %w", w.g.Group, w.name, err)
	}
	w.published = w.last
	w.lastRead, w.redeliveries = delivered, 0
	if rewind {
		w.lastRead, w.redeliverTo, w.redeliveries = committed, d, n+1
		w.log.Info("reading again entries delivered but never committed", "stream", w.name, "group", w.g.Group,
			"from", committed, "to", delivered, "delivery", n+1)
	}
	return nil
}

// groupInfo is XINFO GROUPS of group on stream.
func groupInfo(ctx context.Context, rdb redis.UniversalClient, stream, group string) (redis.XInfoGroup, error) {
	groups, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		return redis.XInfoGroup{}, fmt.Errorf("groups of %s: %w", stream, err)
	}
	for _, g := range groups {
		if g.Name == group {
			return g, nil
		}
	}
	return redis.XInfoGroup{}, fmt.Errorf("NOGROUP no group %s on %s", group, stream)
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// deliveries fills in delivery counts of reclaimed entries from XPENDING.
func (w *shardWorker) deliveries(ctx context.Context, es []Entry) error {
	if len(es) == 0 {
		return nil
	}
	pend, err := w.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: w.name, Group: w.g.Group, Start: es[0].ID, End: es[len(es)-1].ID, Count: int64(len(es)),
	}).Result()
	if err != nil {
		return fmt.Errorf("pending counts on %s: %w", w.name, err)
	}
	n := map[string]int64{}
	for _, p := range pend {
		n[p.ID] = p.RetryCount
	}
	for i := range es {
		es[i].Deliveries = n[es[i].ID]
	}
	return nil
}

// process commits one read batch, and acks it when it came from the pending list.
func (w *shardWorker) process(ctx context.Context, es []Entry, ack bool) error {
	if len(es) == 0 {
		return nil
	}
	t0 := time.Now()
	apply := make([]Entry, 0, len(es))
	var dead []DeadLetter
	for _, e := range es {
		id, err := ParseID(e.ID)
		if err != nil {
			return err
		}
		switch {
		case !w.last.Less(id):
			// Committed before (a crash between commit and ack): ack only.
		case e.Body == nil:
			dead = append(dead, DeadLetter{Entry: e, Reason: "bad_entry", Detail: "stream entry without an event body"})
		case w.g.MaxDeliveries > 0 && e.Deliveries > w.g.MaxDeliveries:
			dead = append(dead, DeadLetter{Entry: e, Reason: "max_deliveries",
				Detail: fmt.Sprintf("delivered %d times without being committed", e.Deliveries)})
		default:
			apply = append(apply, e)
		}
	}
	lastID := es[len(es)-1].ID
	if len(apply) > 0 || len(dead) > 0 {
		if err := w.commit(ctx, apply, dead, lastID); err != nil {
			return err
		}
		if w.g.Observe != nil {
			w.g.Observe(w.shard, len(apply), len(dead), time.Since(t0))
		}
	}
	if ack {
		ids := make([]string, len(es))
		for i, e := range es {
			ids[i] = e.ID
		}
		if err := w.rdb.XAck(ctx, w.name, w.g.Group, ids...).Err(); err != nil {
			// The effects are committed; unacked entries are skipped by id when reclaimed.
			return fmt.Errorf("ack %d entries on %s: %w", len(ids), w.name, err)
		}
	}
	last, _ := ParseID(lastID)
	if w.last.Less(last) {
		w.last = last
	}
	return nil
}

// commit retries transient failures with backoff, and bisects permanent ones so only
// the entries that fail alone are dead-lettered.
func (w *shardWorker) commit(ctx context.Context, apply []Entry, dead []DeadLetter, lastID string) error {
	b := Batch{Stream: w.name, Group: w.g.Group, Shard: w.shard, Epoch: w.epoch, Entries: apply, Dead: dead, LastID: lastID}
	if w.comb != nil {
		if err := w.comb.commit(ctx, b, w.backlog); err == nil {
			return nil
		}
		// Whatever failed the combined transaction, this batch now goes alone, so that
		// its own fate (fenced, permanent, transient) is what the worker acts on.
	}
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := w.sink.Commit(ctx, b)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrFenced):
			return err
		case IsPermanent(err):
			return w.bisect(ctx, apply, dead, lastID)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		w.log.Warn("commit failed, retrying", "stream", w.name, "group", w.g.Group, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff + time.Duration(rand.Int64N(int64(backoff)))):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// bisect commits the entries one at a time, dead-lettering those that fail permanently.
func (w *shardWorker) bisect(ctx context.Context, apply []Entry, dead []DeadLetter, lastID string) error {
	for i, e := range apply {
		pos := e.ID
		one := Batch{Stream: w.name, Group: w.g.Group, Shard: w.shard, Epoch: w.epoch, Entries: []Entry{e}, LastID: pos}
		if i == 0 {
			one.Dead = dead // earlier dead letters ride with the first entry
		}
		err := w.sink.Commit(ctx, one)
		if IsPermanent(err) {
			one.Entries = nil
			one.Dead = append(one.Dead, DeadLetter{Entry: e, Reason: "apply_failed", Detail: err.Error()})
			err = w.sink.Commit(ctx, one)
		}
		if err != nil {
			return fmt.Errorf("commit entry %s on %s: %w", e.ID, w.name, err)
		}
	}
	if len(apply) == 0 {
		return w.sink.Commit(ctx, Batch{Stream: w.name, Group: w.g.Group, Shard: w.shard, Epoch: w.epoch, Dead: dead, LastID: lastID})
	}
	return nil
}

// maybeTrim removes entries every group has acknowledged, at most a few times a second.
func (w *shardWorker) maybeTrim(ctx context.Context) {
	if time.Since(w.lastTrim) < 200*time.Millisecond {
		return
	}
	w.lastTrim = time.Now()
	missing, err := trimAcked(ctx, w.rdb, w.name, w.cfg.Groups)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("trim failed", "stream", w.name, "err", err)
		}
		return
	}
	if missing == "" {
		w.missingSince = time.Time{}
		return
	}
	// The stages of one process start together: a group missing for a few seconds is
	// still on its way. One missing for longer is worth a warning a minute.
	if w.missingSince.IsZero() {
		w.missingSince = time.Now()
	}
	if time.Since(w.missingSince) >= missingGroupGrace && time.Since(w.lastMissingWarn) >= time.Minute {
		w.lastMissingWarn = time.Now()
		w.log.Warn("stream not trimmed: a consumer group has not started on it; start its stage, or the stream grows until producers wait",
			"stream", w.name, "group", missing, "for", time.Since(w.missingSince).Round(time.Second))
	}
}

// missingGroupGrace is how long a required group may be missing from a stream before
// the worker that cannot trim it warns.
const missingGroupGrace = 30 * time.Second

// trimScript trims a stream up to the oldest entry some group still needs, in one
// round trip: for each group its oldest pending entry, or else its last delivered one,
// or its published committed position when that is older (the shard workers read with
// NOACK, so the entries an owner has read but not committed are past it); the entry
// at that id is kept although done, which costs one entry and spares incrementing an
// id in Lua. Ids are compared exactly, as decimal strings, part by part. KEYS: stream,
// its committed-position hash; ARGV: the groups that must exist before anything is
// trimmed. Returns the entries trimmed, or the name of a required group that is
// missing (nothing trimmed).
var trimScript = redis.NewScript(`
local function less(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end
if redis.call('exists', KEYS[1]) == 0 then return 0 end
local groups = redis.call('xinfo', 'groups', KEYS[1])
local present = {}
for _, g in ipairs(groups) do
  for i = 1, #g, 2 do if g[i] == 'name' then present[g[i + 1]] = true end end
end
for _, name in ipairs(ARGV) do
  if not present[name] then return name end
end
local min
for _, g in ipairs(groups) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  local need = f['last-delivered-id']
  if f['pending'] > 0 then
    local p = redis.call('xpending', KEYS[1], f['name'])
    if p[1] > 0 then need = p[2] end
  end
  local c = redis.call('hget', KEYS[2], f['name'])
  if c and less(c, need) then need = c end
  if min == nil or less(need, min) then min = need end
end
if min == nil then return 0 end
return redis.call('xtrim', KEYS[1], 'MINID', '~', min)`)

// TrimAcked trims stream up to the oldest entry some group still needs: the oldest
// pending entry of each group, or the last one it was delivered, or the group's
// committed position when a shard worker published an older one. Entries no group has
// finished are never trimmed.
func TrimAcked(ctx context.Context, rdb redis.UniversalClient, stream string) error {
	_, err := trimAcked(ctx, rdb, stream, nil)
	return err
}

// trimAcked is TrimAcked that first requires every group of required to exist on the
// stream; it returns the name of one that does not (nothing trimmed then).
func trimAcked(ctx context.Context, rdb redis.UniversalClient, stream string, required []string) (missing string, err error) {
	args := make([]any, len(required))
	for i, g := range required {
		args[i] = g
	}
	res, err := trimScript.Run(ctx, rdb, []string{stream, committedKey(stream)}, args...).Result()
	if err != nil {
		return "", fmt.Errorf("trim %s: %w", stream, err)
	}
	if name, ok := res.(string); ok {
		return name, nil
	}
	return "", nil
}

func toEntries(msgs []redis.XMessage) []Entry {
	out := make([]Entry, len(msgs))
	for i, m := range msgs {
		out[i].ID = m.ID
		if k, ok := m.Values[fieldKey].(string); ok {
			out[i].Key = []byte(k)
		}
		if b, ok := m.Values[fieldBody].(string); ok {
			out[i].Body = []byte(b)
		}
	}
	return out
}

func ensureGroup(ctx context.Context, rdb redis.UniversalClient, stream, group string) error {
	err := rdb.XGroupCreateMkStream(ctx, stream, group, "0").Err()
	if err != nil && !isBusyGroup(err) {
		return fmt.Errorf("create group %s on %s: %w", group, stream, err)
	}
	return nil
}

func isBusyGroup(err error) bool {
	return err != nil && len(err.Error()) >= 9 && err.Error()[:9] == "BUSYGROUP"
}

func isNoGroup(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "NOGROUP") || strings.HasSuffix(s, "ERR no such key")
}
