package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

const (
	whale = "0x51f63885534cb494f4592a0311551f369bff2b39"
	other = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock    { return &clock{t: t} }
func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) fanout() Fanout      { return Fanout{Now: c.Now} }

// recorder is a Sender that records what it delivers and fails on demand.
type recorder struct {
	platform string
	mu       sync.Mutex
	sent     map[string][]Message
	fail     map[string][]error // per chat: errors returned by the next sends, in order
	block    func(ctx context.Context, chat string) error
}

func newRecorder(platform string) *recorder {
	return &recorder{platform: platform, sent: map[string][]Message{}, fail: map[string][]error{}}
}

func (r *recorder) Platform() string { return r.platform }

func (r *recorder) Send(ctx context.Context, chat string, m Message) error {
	if r.block != nil {
		if err := r.block(ctx, chat); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if errs := r.fail[chat]; len(errs) > 0 {
		r.fail[chat] = errs[1:]
		return errs[0]
	}
	r.sent[chat] = append(r.sent[chat], m)
	return nil
}

func (r *recorder) messages(chat string) []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.sent[chat]...)
}

type env struct {
	t  *testing.T
	st *store.Store
	as *Store
}

func newEnv(t *testing.T) *env {
	st := testenv.Store(t)
	return &env{t: t, st: st, as: NewStore(st.Pool())}
}

// signal inserts a signal row and enqueues it in the same transaction, as the
// signal engine does.
func (e *env) signal(f Fanout, s Signal) Signal {
	e.t.Helper()
	ctx := context.Background()
	if s.Rule == "" {
		s.Rule = RuleFollowedMove
	}
	if s.TS.IsZero() {
		s.TS = time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)
	}
	if s.Confidence == 0 {
		s.Confidence = 0.8
	}
	err := pgx.BeginFunc(ctx, e.st.Pool(), func(tx pgx.Tx) error {
		key := s.Rule + "|" + s.Wallet + "|" + s.Coin + "|" + s.TS.String() + "|" + s.Side + s.Action
		if err := tx.QueryRow(ctx, `INSERT INTO signals (dedup_key, rule, wallet, coin, side, action, usd, price, confidence, ts)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			key, s.Rule, s.Wallet, s.Coin, s.Side, s.Action, s.USD, s.Price, s.Confidence, s.TS).Scan(&s.ID); err != nil {
			return err
		}
		return f.Enqueue(ctx, tx, []Signal{s})
	})
	if err != nil {
		e.t.Fatalf("insert signal: %v", err)
	}
	return s
}

func (e *env) follow(platform, user, wallet string) {
	e.t.Helper()
	if _, err := e.st.Follow(context.Background(), platform, user, wallet, "", 0); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) dispatcher(c *clock, s ...Sender) *Dispatcher {
	e.t.Helper()
	d, err := NewDispatcher(Config{Pool: e.st.Pool(), Senders: s, Now: c.Now,
		Limits: map[string]Limits{"telegram": TelegramLimits.Scaled(1000), "console": TelegramLimits.Scaled(1000)}})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// drain runs rounds until one sends nothing, advancing the clock past every
// chat's pacing between rounds.
func drain(t *testing.T, d *Dispatcher, c *clock) int {
	t.Helper()
	total := 0
	for i := 0; i < 100; i++ {
		n, err := d.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total += n
		c.Add(4 * time.Second)
		if n == 0 {
			n2, err := d.Step(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n2 == 0 {
				return total
			}
			total += n2
		}
	}
	t.Fatal("outbox never drained")
	return total
}

func (e *env) states() map[string]int {
	e.t.Helper()
	rows, err := e.st.Pool().Query(context.Background(), `SELECT state, count(*) FROM alert_outbox GROUP BY state`)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			e.t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

var t0 = time.Date(2025, 11, 20, 12, 0, 0, 0, time.UTC)

func TestFollowerGetsAlertOnceOthersNone(t *testing.T) {
	e := newEnv(t)
	c := newClock(t0)
	e.follow("telegram", "7", whale)
	e.follow("telegram", "8", other)
	s := e.signal(c.fanout(), Signal{Wallet: whale, Coin: "ETH", Side: "long", Action: "open", USD: 125000, Price: 3412.5})
	// Enqueueing the same signal again (a retried transaction) adds nothing.
	if err := pgx.BeginFunc(context.Background(), e.st.Pool(), func(tx pgx.Tx) error {
		return c.fanout().Enqueue(context.Background(), tx, []Signal{s})
	}); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder("telegram")
	reg := prometheus.NewRegistry()
	d, err := NewDispatcher(Config{Pool: e.st.Pool(), Senders: []Sender{rec}, Now: c.Now, Registerer: reg,
		Limits: map[string]Limits{"telegram": TelegramLimits.Scaled(1000)}})
	if err != nil {
		t.Fatal(err)
	}
	if n := drain(t, d, c); n != 1 {
		t.Fatalf("sent %d messages, want 1", n)
	}
	got := rec.messages("7")
	if len(got) != 1 || len(rec.messages("8")) != 0 {
		t.Fatalf("user 7 got %d, user 8 got %d; want 1 and 0", len(got), len(rec.messages("8")))
	}
	text := got[0].Reply.String()
	for _, want := range []string{whale, "opened long ETH", "$125,000", "3412.50"} {
		if !strings.Contains(text, want) {
			t.Errorf("alert %q lacks %q", text, want)
		}
	}
	if len(got[0].Buttons) != 3 || got[0].Buttons[0].Data != "/follow "+whale {
		t.Errorf("buttons = %+v", got[0].Buttons)
	}
	if st := e.states(); st["delivered"] != 1 || st["pending"] != 0 {
		t.Errorf("outbox states %v", st)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	observed := uint64(0)
	for _, mf := range mfs {
		if mf.GetName() == "coattail_alert_delivery_seconds" {
			for _, m := range mf.GetMetric() {
				observed += m.GetHistogram().GetSampleCount()
			}
		}
	}
	if observed != 1 {
		t.Errorf("delivery latency observations = %d, want 1", observed)
	}
}

func TestSettingsFilterAndRules(t *testing.T) {
	e := newEnv(t)
	c := newClock(t0)
	ctx := context.Background()
	e.follow("telegram", "1", whale) // min 100k: the 50k move is filtered
	if err := e.as.SaveSettings(ctx, "telegram", "1", bot.AlertSettings{MinUSD: 100000}); err != nil {
		t.Fatal(err)
	}
	e.follow("telegram", "2", whale) // only BTC
	if err := e.as.SaveSettings(ctx, "telegram", "2", bot.AlertSettings{Coins: []string{"BTC"}}); err != nil {
		t.Fatal(err)
	}
	e.follow("telegram", "3", whale) // only shorts
	if err := e.as.SaveSettings(ctx, "telegram", "3", bot.AlertSettings{Sides: []string{"short"}}); err != nil {
		t.Fatal(err)
	}
	e.follow("telegram", "4", whale) // no filter
	// 5 follows nothing but wants every alpha move.
	if err := e.as.SaveSettings(ctx, "telegram", "5", bot.AlertSettings{Rules: []string{RuleAlphaMove}}); err != nil {
		t.Fatal(err)
	}
	// 6 is muted.
	e.follow("telegram", "6", whale)
	if err := e.as.SaveSettings(ctx, "telegram", "6", bot.AlertSettings{MutedUntil: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// A Discord channel wanting ETH moves of at least 10k, and one wanting BTC.
	if _, err := e.as.Subscribe(ctx, Subscription{Platform: "discord", ChatID: "c1", MinUSD: 10000, Coins: []string{"eth"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.as.Subscribe(ctx, Subscription{Platform: "discord", ChatID: "c2", Coins: []string{"BTC"}}); err != nil {
		t.Fatal(err)
	}
	e.signal(c.fanout(), Signal{Rule: RuleAlphaMove, Wallet: whale, Coin: "ETH", Side: "long", Action: "open", USD: 50000})
	e.signal(c.fanout(), Signal{Rule: RuleConsensus, Wallet: other, Coin: "ETH", Side: "long", USD: 50000})
	tg, dc := newRecorder("telegram"), newRecorder("discord")
	drain(t, e.dispatcher(c, tg, dc), c)
	for chat, want := range map[string]int{"1": 0, "2": 0, "3": 0, "4": 1, "5": 1, "6": 0} {
		if got := len(tg.messages(chat)); got != want {
			t.Errorf("telegram user %s got %d alerts, want %d", chat, got, want)
		}
	}
	if got := len(dc.messages("c1")); got != 2 {
		t.Errorf("discord c1 got %d, want 2 (both ETH moves over 10k)", got)
	}
	if got := len(dc.messages("c2")); got != 0 {
		t.Errorf("discord c2 got %d, want 0", got)
	}
}

func TestDigestInsteadOfFlood(t *testing.T) {
	e := newEnv(t)
	c := newClock(t0)
	e.follow("telegram", "7", whale)
	for i := range 12 {
		e.signal(c.fanout(), Signal{Wallet: whale, Coin: "ETH", Side: "long", Action: "add", USD: float64(1000 * (i + 1)),
			TS: t0.Add(time.Duration(i) * time.Second)})
	}
	rec := newRecorder("telegram")
	d := e.dispatcher(c, rec)
	drain(t, d, c)
	got := rec.messages("7")
	if len(got) != 1 {
		t.Fatalf("got %d messages, want one digest", len(got))
	}
	if !strings.HasPrefix(got[0].Reply.Title, "Digest: 12 alerts") || len(got[0].Reply.Table.Rows) != 12 {
		t.Errorf("digest = %q with %d rows", got[0].Reply.Title, len(got[0].Reply.Table.Rows))
	}
	if st := e.states(); st["delivered"] != 12 {
		t.Errorf("states %v", st)
	}
}

func TestDigestModeHoldsToSlot(t *testing.T) {
	e := newEnv(t)
	c := newClock(t0.Add(10 * time.Minute)) // 12:10
	ctx := context.Background()
	e.follow("telegram", "7", whale)
	if err := e.as.SaveSettings(ctx, "telegram", "7", bot.AlertSettings{Digest: true}); err != nil {
		t.Fatal(err)
	}
	e.signal(c.fanout(), Signal{Wallet: whale, Coin: "ETH", USD: 1, TS: t0})
	e.signal(c.fanout(), Signal{Wallet: whale, Coin: "BTC", USD: 2, TS: t0})
	rec := newRecorder("telegram")
	d := e.dispatcher(c, rec)
	if n, err := d.Step(ctx); err != nil || n != 0 {
		t.Fatalf("before the digest slot: sent %d (%v), want 0", n, err)
	}
	c.Set(t0.Add(time.Hour)) // 13:00, the next slot
	drain(t, d, c)
	if got := rec.messages("7"); len(got) != 1 || !strings.HasPrefix(got[0].Reply.Title, "Digest: 2") {
		t.Fatalf("got %d messages (%+v), want one digest of 2", len(got), got)
	}
}

func TestQuietHoursHold(t *testing.T) {
	e := newEnv(t)
	c := newClock(time.Date(2025, 11, 20, 23, 30, 0, 0, time.UTC))
	ctx := context.Background()
	e.follow("telegram", "7", whale)
	if err := e.as.SaveSettings(ctx, "telegram", "7", bot.AlertSettings{Quiet: true, QuietFrom: 22, QuietTo: 7}); err != nil {
		t.Fatal(err)
	}
	e.follow("telegram", "8", whale) // no quiet hours
	e.signal(c.fanout(), Signal{Wallet: whale, Coin: "ETH", USD: 1})
	rec := newRecorder("telegram")
	d := e.dispatcher(c, rec)
	drain(t, d, c)
	if len(rec.messages("7")) != 0 || len(rec.messages("8")) != 1 {
		t.Fatalf("during quiet hours: 7 got %d (want 0), 8 got %d (want 1)", len(rec.messages("7")), len(rec.messages("8")))
	}
	c.Set(time.Date(2025, 11, 21, 6, 59, 0, 0, time.UTC))
	drain(t, d, c)
	if len(rec.messages("7")) != 0 {
		t.Fatal("delivered before quiet hours ended")
	}
	c.Set(time.Date(2025, 11, 21, 7, 0, 0, 0, time.UTC))
	drain(t, d, c)
	if len(rec.messages("7")) != 1 {
		t.Fatalf("after quiet hours: got %d, want 1", len(rec.messages("7")))
	}
}

func TestBlockedChatDeactivated(t *testing.T) {
	e := newEnv(t)
	c := newClock(t0)
	e.follow("telegram", "7", whale)
	e.signal(c.fanout(), Signal{Wallet: whale, Coin: "ETH", USD: 1})
	e.signal(c.fanout(), Signal{Wallet: whale, Coin: "BTC", USD: 1})
	rec := newRecorder("telegram")
	rec.fail["7"] = []error{ErrBlocked}
	drain(t, e.dispatcher(c, rec), c)
	if len(rec.messages("7")) != 0 {
		t.Fatal("sent to a chat that blocked the bot")
	}
	active, err := e.as.ChatActive(context.Background(), "telegram", "7")
	if err != nil || active {
		t.Fatalf("chat active = %v (%v), want deactivated", active, err)
	}
	if st := e.states(); st["dropped"] != 2 || st["pending"] != 0 {
		t.Errorf("states %v, want both dropped", st)
	}
	// New signals are not even enqueued for it.
	e.signal(c.fanout(), Signal{Wallet: whale, Coin: "SOL", USD: 1})
	if st := e.states(); st["pending"] != 0 {
		t.Errorf("enqueued for a deactivated chat: %v", st)
	}
}

func TestRateLimitedRetriesWithoutLoss(t *testing.T) {
	e := newEnv(t)
	c := newClock(t0)
	e.follow("telegram", "7", whale)
	e.follow("telegram", "8", whale)
	e.signal(c.fanout(), Signal{Wallet: whale, Coin: "ETH", USD: 1})
	rec := newRecorder("telegram")
	rl := &RateLimitedError{RetryAfter: 10 * time.Millisecond}
	rec.fail["7"] = []error{rl, rl, rl, errors.New("502 bad gateway")}
	d := e.dispatcher(c, rec)
	d.cfg.MaxAttempts = 2 // 429s must not count towards it
	for i := 0; i < 50 && len(rec.messages("7")) == 0; i++ {
		if _, err := d.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Minute)
	}
	if len(rec.messages("7")) != 1 || len(rec.messages("8")) != 1 {
		t.Fatalf("7 got %d, 8 got %d; want 1 each", len(rec.messages("7")), len(rec.messages("8")))
	}
}

// TestCrashBetweenClaimAndConfirm kills the dispatcher while its send is in
// flight (claimed, not confirmed): the next dispatcher delivers it once the lease
// runs out, once, marked as a possible repeat.
func TestCrashBetweenClaimAndConfirm(t *testing.T) {
	e := newEnv(t)
	c := newClock(t0)
	e.follow("telegram", "7", whale)
	e.signal(c.fanout(), Signal{Wallet: whale, Coin: "ETH", USD: 1})
	rec := newRecorder("telegram")
	inFlight := make(chan struct{})
	rec.block = func(ctx context.Context, chat string) error {
		close(inFlight)
		<-ctx.Done() // the platform never answers before the process dies
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	d1 := e.dispatcher(c, rec)
	done := make(chan error, 1)
	go func() { _, err := d1.Step(ctx); done <- err }()
	<-inFlight
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rec.block = nil
	d2 := e.dispatcher(c, rec)
	if n, err := d2.Step(context.Background()); err != nil || n != 0 {
		t.Fatalf("before the lease ran out: sent %d (%v), want 0", n, err)
	}
	c.Add(2 * time.Minute) // past the 60 s lease
	drain(t, d2, c)
	got := rec.messages("7")
	if len(got) != 1 {
		t.Fatalf("got %d messages after the restart, want 1", len(got))
	}
	if !strings.Contains(got[0].Reply.Footer, "Possibly a repeat") {
		t.Errorf("a resend after an expired lease should say it may be a repeat: %q", got[0].Reply.Footer)
	}
	if st := e.states(); st["delivered"] != 1 {
		t.Errorf("states %v", st)
	}
}

// TestCrashAfterSendBeforeConfirm documents the at-least-once window: the
// platform accepted the message, the process died before Postgres recorded it,
// and the alert is sent a second time after the lease, marked as a possible
// repeat. Nothing is lost; this one alert is duplicated.
func TestCrashAfterSendBeforeConfirm(t *testing.T) {
	e := newEnv(t)
	c := newClock(t0)
	e.follow("telegram", "7", whale)
	e.signal(c.fanout(), Signal{Wallet: whale, Coin: "ETH", USD: 1})
	rec := newRecorder("telegram")
	d1 := e.dispatcher(c, rec)
	d1.crashAfterSend = func(string) bool { return true }
	if _, err := d1.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	d2 := e.dispatcher(c, rec)
	c.Add(2 * time.Minute)
	drain(t, d2, c)
	got := rec.messages("7")
	if len(got) != 2 {
		t.Fatalf("got %d messages, want 2 (the documented duplicate)", len(got))
	}
	if strings.Contains(got[0].Reply.Footer, "repeat") || !strings.Contains(got[1].Reply.Footer, "Possibly a repeat") {
		t.Errorf("footers %q, %q", got[0].Reply.Footer, got[1].Reply.Footer)
	}
}

// TestOutcomesShareCommits sends to 40 chats at once (the sends complete together)
// with mixed outcomes: every outcome is recorded as if written alone — delivered
// rows, a retry's backoff, a blocked chat's drop, each chat's next turn — while the
// 40 outcomes share a few transactions instead of one each.
func TestOutcomesShareCommits(t *testing.T) {
	e := newEnv(t)
	c := newClock(t0)
	const chats = 40
	for i := range chats {
		e.follow("telegram", fmt.Sprint(100+i), whale)
	}
	e.signal(c.fanout(), Signal{Wallet: whale, Coin: "ETH", USD: 1})
	rec := newRecorder("telegram")
	rec.fail["100"] = []error{errors.New("502 bad gateway")}
	rec.fail["101"] = []error{ErrBlocked}
	var arrived sync.WaitGroup
	arrived.Add(chats)
	release := make(chan struct{})
	go func() { arrived.Wait(); close(release) }()
	rec.block = func(ctx context.Context, chat string) error {
		arrived.Done()
		<-release
		return nil
	}
	d := e.dispatcher(c, rec)
	n, err := d.Step(context.Background())
	if err != nil || n != chats-2 {
		t.Fatalf("Step sent %d (%v), want %d", n, err, chats-2)
	}
	if w := d.writes.Load(); w < 1 || w > chats/4 {
		t.Errorf("%d outcomes took %d transactions, want them to share (at most %d)", chats, w, chats/4)
	}
	if st := e.states(); st["delivered"] != chats-2 || st["pending"] != 1 || st["dropped"] != 1 {
		t.Errorf("states %v, want %d delivered, 1 pending (the retry), 1 dropped (blocked)", st, chats-2)
	}
	ctx := context.Background()
	var due time.Time
	var owner, lastErr string
	if err := e.st.Pool().QueryRow(ctx, `SELECT due_at, lease_owner, last_error FROM alert_outbox WHERE chat_id = '100'`).Scan(&due, &owner, &lastErr); err != nil {
		t.Fatal(err)
	}
	if !due.After(t0) || owner != "" || !strings.Contains(lastErr, "502") {
		t.Errorf("failed send: due %v owner %q error %q, want a later due, released, the error kept", due, owner, lastErr)
	}
	if active, err := e.as.ChatActive(ctx, "telegram", "101"); err != nil || active {
		t.Errorf("blocked chat active = %v (%v)", active, err)
	}
	// Every chat served (the retried one included) has its next turn one interval on.
	want := t0.Add(TelegramLimits.Scaled(1000).ChatInterval)
	rows, _ := e.st.Pool().Query(ctx, `SELECT next_at FROM chats WHERE chat_id <> '101'`)
	nexts, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil || len(nexts) != chats-1 {
		t.Fatalf("chats: %d (%v), want %d", len(nexts), err, chats-1)
	}
	for _, n := range nexts {
		if !n.Equal(want) {
			t.Errorf("a chat's next turn is %v, want %v", n, want)
			break
		}
	}
}

func TestSubscriptionValidate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.as.Subscribe(ctx, Subscription{Platform: "discord", ChatID: "c", Rules: []string{"bogus"}}); err == nil {
		t.Error("an unknown rule was accepted")
	}
	if _, err := e.as.Subscribe(ctx, Subscription{Platform: "discord", ChatID: "c", Wallets: []string{"0x12"}}); err == nil {
		t.Error("a bad wallet was accepted")
	}
	id, err := e.as.Subscribe(ctx, Subscription{Platform: "discord", ChatID: "c", Wallets: []string{strings.ToUpper(whale)}, MinUSD: 5})
	if err != nil {
		t.Fatal(err)
	}
	sub, ok, err := e.as.Subscription(ctx, "discord", "c")
	if err != nil || !ok || sub.ID != id || sub.MinUSD != 5 || len(sub.Wallets) != 1 {
		t.Fatalf("subscription = %+v %v %v", sub, ok, err)
	}
	if removed, err := e.as.Unsubscribe(ctx, "discord", "c"); err != nil || !removed {
		t.Fatalf("unsubscribe = %v %v", removed, err)
	}
}

// A chat gets a wallet's moves in the order they happened, whatever order the
// fan-out's rows were produced in: "opened" before "added" before "closed".
func TestAlertsArriveInSignalOrder(t *testing.T) {
	e := newEnv(t)
	c := newClock(t0)
	e.follow("telegram", "7", whale)
	ctx := context.Background()
	var sigs []Signal
	err := pgx.BeginFunc(ctx, e.st.Pool(), func(tx pgx.Tx) error {
		// Inserted newest first, so the ids run against event time, and fanned out in
		// that order: only the event time says which move came first.
		for i, action := range []string{"close", "add", "open"} {
			s := Signal{Rule: RuleFollowedMove, Wallet: whale, Coin: "ETH", Side: "long", Action: action, USD: 1000,
				Price: 3000, Confidence: 0.5, TS: time.Date(2025, 11, 20, 12, 0, 2-i, 0, time.UTC)}
			if err := tx.QueryRow(ctx, `INSERT INTO signals (dedup_key, rule, wallet, coin, side, action, usd, price, confidence, ts)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, "order|"+action, s.Rule, s.Wallet, s.Coin,
				s.Side, s.Action, s.USD, s.Price, s.Confidence, s.TS).Scan(&s.ID); err != nil {
				return err
			}
			sigs = append(sigs, s)
		}
		return c.fanout().Enqueue(ctx, tx, sigs)
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder("telegram")
	d, err := NewDispatcher(Config{Pool: e.st.Pool(), Senders: []Sender{rec}, Now: c.Now,
		Limits: map[string]Limits{"telegram": TelegramLimits.Scaled(1000)}})
	if err != nil {
		t.Fatal(err)
	}
	if n := drain(t, d, c); n != 3 {
		t.Fatalf("sent %d messages, want 3", n)
	}
	got := rec.messages("7")
	var order []string
	for _, m := range got {
		for _, w := range []string{"opened", "added", "closed"} {
			if strings.Contains(m.Reply.String(), w) {
				order = append(order, w)
			}
		}
	}
	if strings.Join(order, ",") != "opened,added,closed" {
		t.Errorf("alerts arrived as %v, want opened, added, closed", order)
	}
}
