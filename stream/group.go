package stream

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Lua: extend or release a lease only when we still hold it.
var (
	renewScript = redis.NewScript(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`)
	dropScript  = redis.NewScript(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`)
)

// Group runs one consumer group over every shard stream: it keeps this process in the
// group's membership, takes leases on its share of the shards (shard i goes to the
// live member at position i mod members), works each owned shard in its own goroutine,
// and hands shards over when membership changes. Several processes running the same
// group share the shards, and each shard has one owner at a time; the Sink's epoch
// fences a former owner that has not noticed yet.
type Group struct {
	rdb  redis.UniversalClient
	wait redis.UniversalClient // for blocking waits; see waitClient
	cfg  Config
	g    GroupConfig
	sink Sink

	// slots bounds the shard workers reading and committing at once (Concurrency),
	// unless the sink combines batches: then comb bounds the combined commits instead.
	slots chan struct{}
	comb  *combiner

	mu     sync.Mutex
	owned  map[int]*ownedShard
	errs   chan error
	status map[int]string
}

type ownedShard struct {
	stop   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// NewGroup prepares a group runtime; Run starts it.
func NewGroup(rdb redis.UniversalClient, cfg Config, g GroupConfig, sink Sink) (*Group, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if g.Group == "" {
		return nil, errors.New("consumer group: name required")
	}
	if sink == nil {
		return nil, errors.New("consumer group: sink required")
	}
	if c, ok := rdb.(*redis.Client); ok && c.Options().MaxRetries > 0 {
		// go-redis would re-send a MULTI/EXEC whose reply was lost: for XREADGROUP ">"
		// that takes a second batch while the first sits unseen in the pending list,
		// and entries are applied out of order. The runtime retries by itself.
		return nil, errors.New("consumer group: the Redis client must not retry commands itself: set redis.Options.MaxRetries to -1")
	}
	gr := &Group{rdb: rdb, cfg: cfg.withDefaults(), g: g.withDefaults(), sink: sink,
		owned: map[int]*ownedShard{}, errs: make(chan error, 64)}
	if gr.g.Concurrency > 0 {
		if gr.comb = newCombiner(sink, gr.g.Concurrency, gr.g.Linger); gr.comb == nil {
			gr.slots = make(chan struct{}, gr.g.Concurrency)
		}
	}
	return gr, nil
}

// Owner is this process's consumer name.
func (gr *Group) Owner() string { return gr.g.Owner }

// Owned lists the shards this process works now.
func (gr *Group) Owned() []int {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	var out []int
	for s := range gr.owned {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

// Run works the group until ctx is done, then finishes in-flight batches, releases its
// leases and leaves the membership so other processes take over at once.
func (gr *Group) Run(ctx context.Context) error {
	wait, closeWait := gr.waitClient()
	defer closeWait()
	gr.mu.Lock()
	gr.wait = wait
	gr.mu.Unlock()
	defer gr.leave()
	tick := time.NewTicker(gr.g.Rebalance)
	defer tick.Stop()
	for {
		if err := gr.rebalance(ctx); err != nil && ctx.Err() == nil {
			gr.g.Logger.Warn("rebalance failed", "group", gr.g.Group, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-gr.errs:
			gr.g.Logger.Warn("shard worker stopped", "group", gr.g.Group, "err", err)
		case <-tick.C:
		}
	}
}

// rebalance heartbeats, computes this member's share and adjusts leases and workers.
func (gr *Group) rebalance(ctx context.Context) error {
	now := time.Now()
	mk := gr.cfg.membersKey(gr.g.Group)
	ttl := gr.g.LeaseTTL
	pipe := gr.rdb.Pipeline()
	pipe.ZAdd(ctx, mk, redis.Z{Score: float64(now.Add(ttl / 2).UnixMilli()), Member: gr.g.Owner})
	pipe.ZRemRangeByScore(ctx, mk, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
	members := pipe.ZRange(ctx, mk, 0, -1)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("membership of %s: %w", gr.g.Group, err)
	}
	live := members.Val()
	sort.Strings(live)
	me := sort.SearchStrings(live, gr.g.Owner)
	want := map[int]bool{}
	for s := 0; s < gr.cfg.Shards; s++ {
		if len(live) == 0 || s%len(live) == me {
			want[s] = true
		}
	}
	gr.mu.Lock()
	defer gr.mu.Unlock()
	// Reap workers that ended by themselves (fenced, error): their lease goes too.
	for s, o := range gr.owned {
		select {
		case <-o.done:
			gr.release(ctx, s)
			delete(gr.owned, s)
		default:
		}
	}
	for s, o := range gr.owned {
		key := gr.cfg.leaseKey(gr.cfg.Stream(s), gr.g.Group)
		ok, err := renewScript.Run(ctx, gr.rdb, []string{key}, gr.g.Owner, ttl.Milliseconds()).Int()
		if err != nil {
			return fmt.Errorf("renew lease %s: %w", key, err)
		}
		if ok == 0 || !want[s] {
			gr.stopShard(o)
			if ok != 0 {
				gr.release(ctx, s)
			}
			delete(gr.owned, s)
		}
	}
	for s := range want {
		if _, ok := gr.owned[s]; ok {
			continue
		}
		key := gr.cfg.leaseKey(gr.cfg.Stream(s), gr.g.Group)
		got, err := gr.rdb.SetNX(ctx, key, gr.g.Owner, ttl).Result()
		if err != nil {
			return fmt.Errorf("take lease %s: %w", key, err)
		}
		if got {
			gr.startShard(s)
		}
	}
	return nil
}

// waitClient returns the client the shard workers block on while their shard is idle
// (XREAD BLOCK): a connection of its own per shard, so that idle workers, which each
// hold a connection for up to Block, never take the connections that the producers,
// reads, acks and lease renewals on the shared client need (go-redis pools default to
// ten per CPU, fewer than the workers of a few groups on a small machine). Clients
// other than *redis.Client are shared as they are.
func (gr *Group) waitClient() (redis.UniversalClient, func()) {
	c, ok := gr.rdb.(*redis.Client)
	if !ok {
		return gr.rdb, func() {}
	}
	o := *c.Options()
	o.PoolSize = gr.cfg.Shards + 1
	o.MinIdleConns, o.MaxIdleConns = 0, gr.cfg.Shards+1
	// The copied options carry the first client's maintenance-notification setup;
	// a second client registering the same handlers only logs errors. Blocking waits
	// need none of it.
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	wc := redis.NewClient(&o)
	return wc, func() { _ = wc.Close() }
}

func (gr *Group) startShard(s int) {
	hard, cancel := context.WithCancel(context.Background())
	o := &ownedShard{stop: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	gr.owned[s] = o
	w := &shardWorker{rdb: gr.rdb, wait: gr.wait, cfg: gr.cfg, g: gr.g, sink: gr.sink, shard: s,
		name: gr.cfg.Stream(s), log: gr.g.Logger, slots: gr.slots, comb: gr.comb}
	go func() {
		defer close(o.done)
		defer cancel()
		if err := w.run(o.stop, hard); err != nil && hard.Err() == nil {
			select {
			case gr.errs <- fmt.Errorf("shard %d: %w", s, err):
			default:
			}
		}
	}()
}

// stopShard asks a worker to finish its batch, cancelling it after StopTimeout.
func (gr *Group) stopShard(o *ownedShard) {
	close(o.stop)
	select {
	case <-o.done:
	case <-time.After(gr.g.StopTimeout):
		o.cancel()
		<-o.done
	}
}

func (gr *Group) release(ctx context.Context, s int) {
	key := gr.cfg.leaseKey(gr.cfg.Stream(s), gr.g.Group)
	if err := dropScript.Run(context.WithoutCancel(ctx), gr.rdb, []string{key}, gr.g.Owner).Err(); err != nil {
		gr.g.Logger.Warn("release lease", "key", key, "err", err)
	}
}

func (gr *Group) leave() {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	ctx := context.Background()
	// Ask every shard to stop at once; each finishes its in-flight batch.
	for _, o := range gr.owned {
		close(o.stop)
	}
	for s, o := range gr.owned {
		select {
		case <-o.done:
		case <-time.After(gr.g.StopTimeout):
			o.cancel()
			<-o.done
		}
		gr.release(ctx, s)
		delete(gr.owned, s)
	}
	gr.rdb.ZRem(ctx, gr.cfg.membersKey(gr.g.Group), gr.g.Owner)
}

// SetObserver sets the per-batch callback (metrics) before Run.
func (gr *Group) SetObserver(f func(shard int, applied, dead int, took time.Duration)) {
	gr.g.Observe = f
}
