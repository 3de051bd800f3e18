package alert

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coattailcapital/coattail/store"
)

// Limits are a platform's delivery rates.
type Limits struct {
	// PerSecond bounds messages per second for the whole bot. Telegram: about 30.
	PerSecond float64
	// ChatInterval is the least time between two messages to one private chat.
	// Telegram: 1 s.
	ChatInterval time.Duration
	// GroupInterval is the least time between two messages to one group or
	// channel. Telegram: 3 s (20 a minute).
	GroupInterval time.Duration
}

// TelegramLimits are Telegram's documented broadcast limits, the default for
// every platform without its own entry in Config.Limits.
var TelegramLimits = Limits{PerSecond: 30, ChatInterval: time.Second, GroupInterval: 3 * time.Second}

// Scaled returns l with every rate multiplied by f (f = 10: ten times faster),
// for benchmarks that measure the scheduler rather than the wait.
func (l Limits) Scaled(f float64) Limits {
	return Limits{
		PerSecond:     l.PerSecond * f,
		ChatInterval:  time.Duration(float64(l.ChatInterval) / f),
		GroupInterval: time.Duration(float64(l.GroupInterval) / f),
	}
}

// Config configures a Dispatcher.
type Config struct {
	// Pool is the database with the outbox. Required.
	Pool *pgxpool.Pool
	// Senders deliver to their platforms; rows of a platform without a Sender
	// stay in the outbox. At least one is required.
	Senders []Sender
	// Limits by platform; a platform missing here gets TelegramLimits.
	Limits map[string]Limits
	// Now is the clock for due times and leases. Defaults to time.Now.
	Now func() time.Time
	// Logger receives failures. Defaults to discarding.
	Logger *slog.Logger
	// Registerer receives the metrics. Nil: not registered.
	Registerer prometheus.Registerer
	// Owner names this dispatcher in leases. Defaults to host-pid-random.
	Owner string
	// Lease is how long a claimed row is reserved for its send; a dispatcher that
	// dies leaves its rows to others after it. Defaults to 60 s.
	Lease time.Duration
	// DigestThreshold: a chat with more than this many alerts due gets one digest
	// message instead. Defaults to 5.
	DigestThreshold int
	// DigestMax bounds the alerts summarised in one digest. Defaults to 30.
	DigestMax int
	// MaxAttempts bounds sends of one alert that fail with an error other than
	// rate limiting; after that it is dropped. Defaults to 10.
	MaxAttempts int
	// Batch bounds the chats served in one round. Defaults to 2 s of the fastest
	// platform's rate, at least 10 and at most 1000.
	Batch int
	// Poll is the wait between rounds when nothing was due and no notification
	// came. Defaults to 1 s.
	Poll time.Duration
	// Concurrency bounds sends in flight. Defaults to 64.
	Concurrency int
}

// Dispatcher delivers the outbox. Several may run against one database (rows and
// chats are claimed with SKIP LOCKED and leases); the per-bot rate of a platform
// is enforced per dispatcher, so run one per bot token to stay under it.
type Dispatcher struct {
	cfg     Config
	pool    *pgxpool.Pool
	senders map[string]Sender
	pacers  map[string]*pacer
	limits  map[string]Limits
	now     func() time.Time
	log     *slog.Logger
	m       *metrics
	pending atomic.Int64
	lastCnt time.Time
	rec     outcomeQueue
	writes  atomic.Int64 // outcome transactions, for tests

	// crashAfterSend, set by tests, simulates the process dying after the
	// platform accepted a message and before Postgres recorded it.
	crashAfterSend func(chat string) bool
}

// NewDispatcher validates cfg and applies its defaults.
func NewDispatcher(cfg Config) (*Dispatcher, error) {
	if cfg.Pool == nil {
		return nil, errors.New("alert: Config.Pool is required")
	}
	if len(cfg.Senders) == 0 {
		return nil, errors.New("alert: at least one Sender is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.DigestThreshold <= 0 {
		cfg.DigestThreshold = 5
	}
	if cfg.DigestMax <= 0 {
		cfg.DigestMax = 30
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	d := &Dispatcher{cfg: cfg, pool: cfg.Pool, now: cfg.Now, log: cfg.Logger,
		senders: map[string]Sender{}, pacers: map[string]*pacer{}, limits: map[string]Limits{}}
	fastest := 0.0
	for _, s := range cfg.Senders {
		p := s.Platform()
		if _, dup := d.senders[p]; dup {
			return nil, fmt.Errorf("alert: two Senders for platform %q", p)
		}
		l, ok := cfg.Limits[p]
		if !ok {
			l = TelegramLimits
		}
		if l.PerSecond <= 0 || l.ChatInterval < 0 || l.GroupInterval < 0 {
			return nil, fmt.Errorf("alert: limits of %q: want a positive rate and non-negative intervals", p)
		}
		d.senders[p], d.limits[p] = s, l
		d.pacers[p] = &pacer{interval: time.Duration(float64(time.Second) / l.PerSecond)}
		fastest = max(fastest, l.PerSecond)
	}
	if d.cfg.Batch <= 0 {
		d.cfg.Batch = min(1000, max(10, int(2*fastest)))
	}
	d.m = newMetrics(cfg.Registerer, func() float64 { return float64(d.pending.Load()) })
	for p := range d.senders {
		d.m.listPlatform(p)
	}
	return d, nil
}

// Run delivers until ctx ends, then returns nil. A send in flight when ctx ends
// is abandoned; its lease runs out and it is sent again later, marked as possibly
// a repeat. Alerts claimed but not yet sent are released at once.
func (d *Dispatcher) Run(ctx context.Context) error {
	wake := d.listen(ctx)
	fails := 0
	for ctx.Err() == nil {
		n, err := d.Step(ctx)
		if ctx.Err() != nil {
			break
		}
		wait := time.Duration(0)
		switch {
		case err != nil:
			fails++
			wait = min(30*time.Second, time.Duration(fails)*time.Second)
			d.log.Warn("alert dispatcher round failed; retrying", "err", err, "retry_in", wait)
		case n == 0:
			fails = 0
			wait = d.cfg.Poll
		default:
			fails = 0
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-t.C:
			case <-wake:
			}
			t.Stop()
		}
	}
	return nil
}

// listen returns a channel that receives when Enqueue commits new alerts
// (LISTEN coattail_alerts on a connection of its own). On any failure it logs
// and the dispatcher falls back to polling.
func (d *Dispatcher) listen(ctx context.Context) <-chan struct{} {
	wake := make(chan struct{}, 1)
	go func() {
		for ctx.Err() == nil {
			err := func() error {
				conn, err := d.pool.Acquire(ctx)
				if err != nil {
					return err
				}
				defer conn.Release()
				if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
					return err
				}
				defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "UNLISTEN "+notifyChannel) }()
				for {
					if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
						return err
					}
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			}()
			if ctx.Err() != nil {
				return
			}
			d.log.Debug("alert dispatcher: LISTEN failed; polling", "err", err)
			t := time.NewTimer(5 * time.Second)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}()
	return wake
}

// claimed is one outbox row claimed for sending, with its signal.
type claimed struct {
	id        int64
	platform  string
	chat      string
	kind      string
	attempts  int
	uncertain bool
	created   time.Time // the signal's created_at
	sig       Signal
}

// job is what goes to one chat in a round: one alert or a digest of several.
type job struct {
	platform, chat, kind string
	rows                 []claimed
	more                 int // due alerts of the chat left for the next digest
}

// Step runs one round: it claims up to Batch ready chats (each chat's pacing
// respected, oldest first, so every chat with alerts gets a turn), sends one
// message per chat (a digest when the chat has many due), records the outcomes,
// and returns how many messages the platforms accepted.
func (d *Dispatcher) Step(ctx context.Context) (int, error) {
	jobs, err := d.claim(ctx)
	if err != nil {
		return 0, err
	}
	d.refreshPending(ctx)
	if len(jobs) == 0 {
		return 0, nil
	}
	var sent atomic.Int64
	sem := make(chan struct{}, d.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if d.deliver(ctx, j) {
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	return int(sent.Load()), nil
}

func (d *Dispatcher) platforms() []string {
	out := make([]string, 0, len(d.senders))
	for p := range d.senders {
		out = append(out, p)
	}
	return out
}

// claim reserves the rows of the next round in one transaction: the ready chats
// (active, paced, with due alerts, not locked by another dispatcher) and, per
// chat, its oldest due alert, or up to DigestMax of them for a digest.
func (d *Dispatcher) claim(ctx context.Context) ([]job, error) {
	now := d.now().UTC()
	var jobs []job
	// Pipelined: BEGIN goes with the first query, the chats' update with COMMIT.
	err := store.BeginPipelined(ctx, d.pool, func(tx pgx.Tx) error {
		jobs = jobs[:0]
		rows, err := tx.Query(ctx, `
			WITH ready AS (
				SELECT o.platform, o.chat_id, count(*) AS n, bool_or(o.digest) AS digest, min(c.next_at) AS next_at, min(o.id) AS first
				FROM alert_outbox o JOIN chats c USING (platform, chat_id)
				WHERE o.state = 'pending' AND o.due_at <= $1 AND (o.lease_until IS NULL OR o.lease_until < $1)
				  AND o.platform = ANY ($2) AND c.active AND c.next_at <= $1
				GROUP BY o.platform, o.chat_id
				ORDER BY next_at, first
				LIMIT $3
			)
			SELECT c.platform, c.chat_id, c.kind, r.n, r.digest
			FROM chats c JOIN ready r USING (platform, chat_id)
			WHERE c.active AND c.next_at <= $1
			ORDER BY r.next_at, r.first
			FOR UPDATE OF c SKIP LOCKED`, now, d.platforms(), d.cfg.Batch)
		if err != nil {
			return fmt.Errorf("ready chats: %w", err)
		}
		var plat, chat, kind []string
		var take []int32
		var more []int
		for rows.Next() {
			var p, c, k string
			var n int64
			var digest bool
			if err := rows.Scan(&p, &c, &k, &n, &digest); err != nil {
				rows.Close()
				return err
			}
			t := int64(1)
			if digest || n > int64(d.cfg.DigestThreshold) {
				t = min(n, int64(d.cfg.DigestMax))
			}
			plat, chat, kind, take = append(plat, p), append(chat, c), append(kind, k), append(take, int32(t))
			more = append(more, int(n-t))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("ready chats: %w", err)
		}
		if len(plat) == 0 {
			return nil
		}
		leaseUntil := now.Add(d.cfg.Lease)
		rows, err = tx.Query(ctx, `
			UPDATE alert_outbox o
			SET lease_until = $5, lease_owner = $6, attempts = o.attempts + 1,
				uncertain = o.uncertain OR o.lease_until IS NOT NULL
			FROM (
				SELECT x.id FROM unnest($1::text[], $2::text[], $3::int[]) AS k(platform, chat_id, n)
				CROSS JOIN LATERAL (
					-- a chat's alerts go out in the order the moves happened
					SELECT ob.id FROM alert_outbox ob JOIN signals sg ON sg.id = ob.signal_id
					WHERE ob.platform = k.platform AND ob.chat_id = k.chat_id AND ob.state = 'pending'
					  AND ob.due_at <= $4 AND (ob.lease_until IS NULL OR ob.lease_until < $4)
					ORDER BY sg.ts, sg.id, ob.id LIMIT k.n
					FOR UPDATE OF ob SKIP LOCKED
				) x
			) sel, signals s
			WHERE o.id = sel.id AND s.id = o.signal_id
			RETURNING o.id, o.platform, o.chat_id, o.attempts, o.uncertain, s.created_at,
				s.id, s.rule, s.wallet, s.coin, s.side, s.action, s.usd, s.price, s.confidence, s.ts, s.evidence`,
			plat, chat, take, now, leaseUntil, d.cfg.Owner)
		if err != nil {
			return fmt.Errorf("claim alerts: %w", err)
		}
		byChat := map[string][]claimed{}
		for rows.Next() {
			var c claimed
			var ev []byte
			if err := rows.Scan(&c.id, &c.platform, &c.chat, &c.attempts, &c.uncertain, &c.created,
				&c.sig.ID, &c.sig.Rule, &c.sig.Wallet, &c.sig.Coin, &c.sig.Side, &c.sig.Action, &c.sig.USD,
				&c.sig.Price, &c.sig.Confidence, &c.sig.TS, &ev); err != nil {
				rows.Close()
				return err
			}
			c.sig.Evidence = ev
			k := c.platform + "\x00" + c.chat
			byChat[k] = append(byChat[k], c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim alerts: %w", err)
		}
		var cp, cc []string
		for i := range plat {
			rs := byChat[plat[i]+"\x00"+chat[i]]
			if len(rs) == 0 {
				continue
			}
			sortClaimed(rs)
			for k := range rs {
				rs[k].kind = kind[i]
			}
			jobs = append(jobs, job{platform: plat[i], chat: chat[i], kind: kind[i], rows: rs, more: more[i]})
			cp, cc = append(cp, plat[i]), append(cc, chat[i])
		}
		// The chat is busy until its send is recorded (or the lease runs out).
		b := &pgx.Batch{}
		b.Queue(`UPDATE chats SET next_at = $3
			FROM unnest($1::text[], $2::text[]) AS k(platform, chat_id)
			WHERE chats.platform = k.platform AND chats.chat_id = k.chat_id`, cp, cc, leaseUntil)
		return store.Defer(ctx, tx, b)
	})
	if err != nil {
		return nil, fmt.Errorf("alert dispatcher: %w", err)
	}
	return jobs, nil
}

// sortClaimed puts a chat's claimed alerts in the order the moves happened (event
// time, then signal, then outbox order).
func sortClaimed(rs []claimed) {
	slices.SortFunc(rs, func(a, b claimed) int {
		if c := a.sig.TS.Compare(b.sig.TS); c != 0 {
			return c
		}
		if c := cmp.Compare(a.sig.ID, b.sig.ID); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
}

// deliver sends one job and records the outcome; it reports whether the platform
// accepted the message.
func (d *Dispatcher) deliver(ctx context.Context, j job) bool {
	p := d.pacers[j.platform]
	if err := p.wait(ctx); err != nil {
		// Never sent: hand the rows back at once.
		d.record(ctx, j, outcome{release: true, nextAt: d.now()})
		return false
	}
	var msg Message
	if len(j.rows) == 1 {
		msg = alertMessage(j.rows[0].sig, j.rows[0].uncertain)
	} else {
		sigs := make([]Signal, len(j.rows))
		for i, r := range j.rows {
			sigs[i] = r.sig
		}
		msg = digestMessage(sigs, j.more)
	}
	err := d.senders[j.platform].Send(ctx, j.chat, msg)
	now := d.now()
	interval := d.interval(j)
	if err == nil {
		if d.crashAfterSend != nil && d.crashAfterSend(j.chat) {
			return true // "crashed": nothing recorded; the lease will run out
		}
		d.record(ctx, j, outcome{delivered: true, nextAt: now.Add(interval)})
		kind := "alert"
		if len(j.rows) > 1 {
			kind = "digest"
		}
		d.m.sent.WithLabelValues(j.platform, kind).Inc()
		for _, r := range j.rows {
			d.m.latency.WithLabelValues(j.platform).Observe(max(0, now.Sub(r.created).Seconds()))
		}
		return true
	}
	if ctx.Err() != nil {
		// Shutting down mid-send: we cannot tell whether the platform got it. Leave
		// the lease to run out, so it is sent again, marked as possibly a repeat.
		return false
	}
	var rl *RateLimitedError
	switch {
	case errors.As(err, &rl):
		wait := max(rl.RetryAfter, interval)
		p.pause(time.Now().Add(rl.RetryAfter)) // Telegram's flood control is bot-wide
		d.m.failures.WithLabelValues(j.platform, "rate_limited").Inc()
		d.log.Warn("alert: rate limited", "platform", j.platform, "chat", j.chat, "retry_after", rl.RetryAfter)
		d.record(ctx, j, outcome{release: true, refund: true, nextAt: now.Add(wait), err: err})
	case errors.Is(err, ErrBlocked):
		d.m.failures.WithLabelValues(j.platform, "blocked").Inc()
		d.log.Info("alert: chat blocked the bot; deactivated", "platform", j.platform, "chat", j.chat, "err", err)
		d.record(ctx, j, outcome{blocked: true, err: err})
	default:
		d.m.failures.WithLabelValues(j.platform, "error").Inc()
		attempts := 0
		for _, r := range j.rows {
			attempts = max(attempts, r.attempts)
		}
		if attempts >= d.cfg.MaxAttempts {
			d.m.failures.WithLabelValues(j.platform, "dropped").Inc()
			d.log.Error("alert: giving up after repeated failures", "platform", j.platform, "chat", j.chat,
				"attempts", attempts, "err", err)
			d.record(ctx, j, outcome{drop: true, nextAt: now.Add(interval), err: err})
			return false
		}
		d.log.Warn("alert: send failed; will retry", "platform", j.platform, "chat", j.chat, "attempts", attempts, "err", err)
		d.record(ctx, j, outcome{release: true, due: now.Add(retryBackoff(attempts)), nextAt: now.Add(interval), err: err})
	}
	return false
}

func (d *Dispatcher) interval(j job) time.Duration {
	l := d.limits[j.platform]
	if j.kind == "private" {
		return l.ChatInterval
	}
	return l.GroupInterval
}

// retryBackoff is the wait before the n-th retry: 2 s doubling, at most 10 min.
func retryBackoff(n int) time.Duration {
	return time.Duration(math.Min(float64(10*time.Minute), float64(2*time.Second)*math.Pow(2, float64(max(0, n-1)))))
}

// outcome is what happened to a job, to record in Postgres.
type outcome struct {
	delivered bool
	blocked   bool
	drop      bool
	release   bool      // back to pending
	refund    bool      // the attempt does not count (rate limited, not sent)
	due       time.Time // with release: not before this (zero: unchanged)
	nextAt    time.Time // the chat's next turn
	err       error
}

// record writes an outcome and returns when it is committed. It runs even when ctx
// has ended (a delivered message must be recorded, or it is sent twice), with a
// deadline of its own, and retries a few times: the at-least-once window is exactly
// the time this takes.
//
// Outcomes are group-committed: the first caller with nothing being written writes
// every outcome queued by then in one transaction, and again while more arrive; the
// others wait for the write that carries theirs. At Telegram's rates that is one
// transaction per message, as before; when sends complete faster than a commit, they
// share commits instead of queueing one each, and no outcome waits longer than one
// write behind the one in flight.
func (d *Dispatcher) record(ctx context.Context, j job, o outcome) {
	r := &recordReq{j: j, o: o, now: d.now().UTC(), done: make(chan struct{})}
	d.rec.mu.Lock()
	d.rec.queue = append(d.rec.queue, r)
	if d.rec.busy {
		d.rec.mu.Unlock()
		<-r.done
		return
	}
	d.rec.busy = true
	for {
		reqs := d.rec.queue
		d.rec.queue = nil
		d.rec.mu.Unlock()
		d.write(ctx, reqs)
		for _, q := range reqs {
			close(q.done)
		}
		d.rec.mu.Lock()
		if len(d.rec.queue) == 0 {
			d.rec.busy = false
			d.rec.mu.Unlock()
			return
		}
	}
}

// recordReq is one outcome waiting for its write.
type recordReq struct {
	j    job
	o    outcome
	now  time.Time
	done chan struct{}
}

// outcomeQueue holds outcomes for the group commit of record.
type outcomeQueue struct {
	mu    sync.Mutex
	queue []*recordReq
	busy  bool
}

// write records reqs in one transaction (one round trip of statements): the
// deliveries in one update of the outbox, the chats' next turns in one more, the
// rarer outcomes one statement each.
func (d *Dispatcher) write(ctx context.Context, reqs []*recordReq) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	var (
		delivered []int64
		at        []time.Time
		next      = map[[2]string]time.Time{}
		stmts     []pgx.QueuedQuery
	)
	queue := func(sql string, args ...any) { stmts = append(stmts, pgx.QueuedQuery{SQL: sql, Arguments: args}) }
	for _, r := range reqs {
		j, o := r.j, r.o
		ids := make([]int64, len(j.rows))
		for i, row := range j.rows {
			ids[i] = row.id
		}
		errText := ""
		if o.err != nil {
			errText = truncateErr(o.err.Error())
		}
		switch {
		case o.delivered:
			for _, id := range ids {
				delivered, at = append(delivered, id), append(at, r.now)
			}
		case o.blocked:
			queue(`UPDATE chats SET active = false, deactivated_at = $3, deactivated_reason = $4
				WHERE platform = $1 AND chat_id = $2`, j.platform, j.chat, r.now, errText)
			queue(`UPDATE alert_outbox SET state = 'dropped', lease_until = NULL, last_error = $3
				WHERE platform = $1 AND chat_id = $2 AND state = 'pending'`, j.platform, j.chat, "blocked: "+errText)
			continue // a blocked chat keeps its turn: it is inactive
		case o.drop:
			queue(`UPDATE alert_outbox SET state = 'dropped', lease_until = NULL, last_error = $2
				WHERE id = ANY ($1) AND lease_owner = $3`, ids, errText, d.cfg.Owner)
		case o.release:
			refund := 0
			if o.refund {
				refund = 1
			}
			queue(`UPDATE alert_outbox SET lease_until = NULL, lease_owner = '',
				attempts = greatest(0, attempts - $2), last_error = $3,
				due_at = CASE WHEN $4::timestamptz IS NULL THEN due_at ELSE greatest(due_at, $4) END
				WHERE id = ANY ($1) AND lease_owner = $5 AND state = 'pending'`,
				ids, refund, errText, nullTime(o.due), d.cfg.Owner)
		}
		k := [2]string{j.platform, j.chat}
		if t, ok := next[k]; !ok || o.nextAt.After(t) {
			next[k] = o.nextAt
		}
	}
	if len(delivered) > 0 {
		queue(`UPDATE alert_outbox o SET state = 'delivered', delivered_at = u.at, lease_until = NULL, last_error = ''
			FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, at)
			WHERE o.id = u.id AND o.lease_owner = $3 AND o.state = 'pending'`, delivered, at, d.cfg.Owner)
	}
	if len(next) > 0 {
		keys := slices.SortedFunc(maps.Keys(next), func(a, b [2]string) int {
			return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
		})
		plats, chats, nexts := make([]string, len(keys)), make([]string, len(keys)), make([]time.Time, len(keys))
		for i, k := range keys {
			plats[i], chats[i], nexts[i] = k[0], k[1], next[k].UTC()
		}
		queue(`UPDATE chats SET next_at = k.n FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS k(p, c, n)
			WHERE chats.platform = k.p AND chats.chat_id = k.c`, plats, chats, nexts)
	}
	d.writes.Add(1)
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		// BEGIN, the statements and COMMIT: one round trip.
		err = store.BeginPipelined(ctx, d.pool, func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			for _, q := range stmts {
				b.Queue(q.SQL, q.Arguments...)
			}
			return store.Defer(ctx, tx, b)
		})
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	for _, r := range reqs {
		d.log.Error("alert: could not record a delivery outcome; the alert may be sent again after its lease",
			"platform", r.j.platform, "chat", r.j.chat, "delivered", r.o.delivered, "err", err)
	}
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func truncateErr(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	return strings.ToValidUTF8(s, "")
}

// refreshPending updates the pending gauge at most every 5 s.
func (d *Dispatcher) refreshPending(ctx context.Context) {
	if time.Since(d.lastCnt) < 5*time.Second {
		return
	}
	d.lastCnt = time.Now()
	var n int64
	if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM alert_outbox WHERE state = 'pending'`).Scan(&n); err == nil {
		d.pending.Store(n)
	}
}

// Pending counts the alerts not yet delivered or dropped.
func (d *Dispatcher) Pending(ctx context.Context) (int64, error) {
	var n int64
	err := d.pool.QueryRow(ctx, `SELECT count(*) FROM alert_outbox WHERE state = 'pending'`).Scan(&n)
	return n, err
}

// pacer spaces a platform's sends evenly at its rate: each send takes the next
// free slot. After a 429 it pauses every send until the platform's retry_after.
type pacer struct {
	interval time.Duration
	mu       sync.Mutex
	next     time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	p.next = slot.Add(p.interval)
	p.mu.Unlock()
	d := time.Until(slot)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (p *pacer) pause(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next.Before(until) {
		p.next = until
	}
}
