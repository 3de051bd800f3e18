// Package discord connects the bot router to Discord with discordgo: slash
// commands registered on start, answers as embeds, /alerts channel
// subscriptions, and an alert Sender for channels and direct messages.
//
// [Bot.Run] holds the gateway connection (Hello, Identify, heartbeats, READY)
// and reconnects itself, with backoff, whenever the socket drops: discordgo's own
// reconnect loop is switched off because it cannot be stopped. Every request goes
// through an HTTP client that can point the REST API and the gateway somewhere
// else (a proxy, or a test server), so no package variable of discordgo is
// changed.
package discord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/coattailcapital/coattail/bot"
)

// Platform is the bot.Request.Platform of Discord messages and the platform of
// the alert Sender.
const Platform = "discord"

const (
	requestTimeout = 15 * time.Second
	backoffBase    = 500 * time.Millisecond
	backoffMax     = 60 * time.Second
	// registerAttempts bounds the tries at registering the slash commands.
	registerAttempts = 5
	// handleTimeout bounds the work on one interaction, answer included; Discord
	// keeps an interaction's token valid for 15 minutes.
	handleTimeout = 30 * time.Second
)

// Config configures a Bot.
type Config struct {
	// Token is the bot token from the Discord developer portal, with or without
	// the "Bot " prefix. Required. It is never logged.
	Token string
	// APIBase is the REST API base URL that replaces https://discord.com/api/v9,
	// for a proxy or a test server. Defaults to Discord's.
	APIBase string
	// Gateway is the gateway websocket URL to connect to instead of the one the
	// REST API names (GET /gateway). Defaults to asking the API.
	Gateway string
	// GuildID, when set, registers the slash commands in that server only, where
	// they appear at once (handy while developing). Defaults to global commands.
	GuildID string
	// Admins lists the Discord user ids (snowflakes) allowed to run admin
	// commands. Defaults to none.
	Admins []string
	// Subscriptions stores /alerts channel subscriptions. Defaults to nil: /alerts
	// answers that channel alerts are not available.
	Subscriptions Subscriptions
	// AlertChats, when set, learns that a user who followed a wallet from Discord
	// gets personal alerts by direct message (chat id "user:<id>", which Send
	// understands). *alert.Store implements it. Defaults to nil: not recorded.
	AlertChats AlertChats
	// HTTPClient makes the REST requests; its Transport is wrapped to apply
	// APIBase. Defaults to a client with a 15 s timeout.
	HTTPClient *http.Client
	// Logger receives connection changes and failures. Defaults to discarding everything.
	Logger *slog.Logger
	// AckAfter is how long an interaction may take before Discord is told that
	// the answer is coming (a deferred response, "Bot is thinking…"); Discord
	// drops interactions not acknowledged within 3 s. A negative value
	// acknowledges every interaction at once. Defaults to 2 s.
	AckAfter time.Duration
	// Workers bounds how many interactions are handled at once. Defaults to 16.
	Workers int
	// Sleep waits d before a reconnect and returns ctx's error, early, when ctx
	// ends. Tests replace it. Defaults to a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// AlertChats records where a user's personal alerts go.
type AlertChats interface {
	SetAlertChat(ctx context.Context, platform, userID, chatID string) error
}

// Bot is a Discord front end for a bot.Router and an alert sender for Discord
// channels.
type Bot struct {
	router   *bot.Router
	session  *discordgo.Session
	token    string // with the "Bot " prefix
	guildID  string
	admins   map[string]bool
	subs     Subscriptions
	chats    AlertChats
	log      *slog.Logger
	ackAfter time.Duration
	sleep    func(context.Context, time.Duration) error
	sem      chan struct{}
	client   *http.Client // the session's client, for per-call copies

	mu       sync.Mutex
	runCtx   context.Context // set by Run before any interaction arrives
	commands map[string]slashCommand
	dms      map[string]string // user id -> DM channel id

	inflight     sync.WaitGroup
	disconnected chan struct{}
}

// New validates cfg and prepares a Bot; it makes no request (Run does), so Send
// can be used without Run.
func New(cfg Config, r *bot.Router) (*Bot, error) {
	if r == nil {
		return nil, errors.New("discord: a bot.Router is required")
	}
	token := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cfg.Token), "Bot "))
	if token == "" {
		return nil, errors.New("discord: Config.Token is required")
	}
	if strings.ContainsAny(token, " \t\r\n/?#") {
		return nil, errors.New("discord: Config.Token has characters a bot token never has")
	}
	var api *url.URL
	if cfg.APIBase != "" {
		u, err := url.Parse(strings.TrimSuffix(cfg.APIBase, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("discord: APIBase %q: want an http or https URL such as https://discord.com/api/v9", cfg.APIBase)
		}
		api = u
	}
	if cfg.Gateway != "" {
		u, err := url.Parse(cfg.Gateway)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" || u.RawQuery != "" {
			return nil, fmt.Errorf("discord: Gateway %q: want a ws or wss URL without a query, such as wss://gateway.discord.gg", cfg.Gateway)
		}
	}
	if cfg.AckAfter == 0 {
		cfg.AckAfter = 2 * time.Second
	}
	if cfg.AckAfter > 2500*time.Millisecond {
		return nil, fmt.Errorf("discord: AckAfter %v: Discord needs an answer within 3 s; want at most 2.5s", cfg.AckAfter)
	}
	if cfg.Workers == 0 {
		cfg.Workers = 16
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("discord: Workers %d is negative", cfg.Workers)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	admins := make(map[string]bool, len(cfg.Admins))
	for _, a := range cfg.Admins {
		if a == "" || strings.Trim(a, "0123456789") != "" {
			return nil, fmt.Errorf("discord: admin %q: want a numeric Discord user id, not a name", a)
		}
		admins[a] = true
	}
	client := &http.Client{Timeout: requestTimeout}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client.Transport = &endpointTransport{base: base, api: api, gateway: cfg.Gateway}

	s, err := discordgo.New("Bot " + token)
	if err != nil {
		return nil, fmt.Errorf("discord: new session: %w", err)
	}
	s.Client = client
	s.ShouldReconnectOnError = false // Run reconnects, with a context
	s.StateEnabled = false
	s.Identify.Intents = discordgo.IntentsGuilds // interactions need no intent; this keeps the stream small
	s.LogLevel = discordgo.LogWarning
	b := &Bot{
		router:       r,
		session:      s,
		token:        "Bot " + token,
		guildID:      cfg.GuildID,
		admins:       admins,
		subs:         cfg.Subscriptions,
		chats:        cfg.AlertChats,
		log:          cfg.Logger,
		ackAfter:     cfg.AckAfter,
		sleep:        cfg.Sleep,
		sem:          make(chan struct{}, cfg.Workers),
		client:       client,
		dms:          map[string]string{},
		disconnected: make(chan struct{}, 1),
	}
	// The argument order of every command is known before the gateway opens: an
	// interaction arriving before register() (commands registered by an earlier run
	// stay usable on Discord) must not lose its options.
	_, b.commands = applicationCommands(r.Commands(true))
	return b, nil
}

// Run connects to the gateway, registers the slash commands and answers
// interactions until ctx ends; then it closes the connection, waits for the
// interactions in flight and returns nil. A dropped connection is reopened
// (resumed when Discord allows) with backoff. It returns an error only when
// Discord refuses the bot for good: a bad token, or intents it may not use.
// Call it once per Bot.
func (b *Bot) Run(ctx context.Context) error {
	b.mu.Lock()
	b.runCtx = ctx
	b.mu.Unlock()
	s := b.session
	s.Dialer = &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: requestTimeout,
		NetDialContext:   ctxDialer(ctx),
	}
	removeInteractions := s.AddHandler(b.onInteraction)
	removeDisconnect := s.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) {
		select {
		case b.disconnected <- struct{}{}:
		default:
		}
	})
	defer removeInteractions()
	defer removeDisconnect()

	if err := b.connect(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	b.register(ctx)
	for {
		select {
		case <-ctx.Done():
			if err := s.Close(); err != nil {
				b.log.Warn("discord: close the gateway connection", "err", err)
			}
			b.inflight.Wait()
			return nil
		case <-b.disconnected:
			if ctx.Err() != nil {
				continue
			}
			b.log.Warn("discord: gateway connection lost; reconnecting")
			if err := b.connect(ctx); err != nil {
				if ctx.Err() != nil {
					continue
				}
				return err
			}
		}
	}
}

// connect opens the gateway connection, retrying with backoff until it works,
// ctx ends, or Discord refuses the bot for good.
func (b *Bot) connect(ctx context.Context) error {
	for fails := 1; ; fails++ {
		err := b.session.Open()
		if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			b.drainDisconnected()
			user := "?"
			if r := b.ready(); r != nil && r.User != nil {
				user = r.User.Username
			}
			b.log.Info("discord bot connected", "user", user, "attempt", fails)
			return nil
		}
		err = b.redact(err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if permanent(err) {
			return fmt.Errorf("discord: connect to the gateway: %w", err)
		}
		wait := backoff(fails)
		b.log.Warn("discord: connect to the gateway failed; retrying", "err", err, "failures", fails, "retry_in", wait)
		if err := b.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// drainDisconnected forgets a disconnect reported before the connection that
// just opened (a failed Open reports one too).
func (b *Bot) drainDisconnected() {
	select {
	case <-b.disconnected:
	default:
	}
}

func (b *Bot) ready() *discordgo.Ready {
	st := b.session.State
	if st == nil {
		return nil
	}
	st.RLock()
	defer st.RUnlock()
	r := st.Ready
	return &r
}

// register publishes the slash commands, retrying a few times. A failure is
// logged: the commands already registered keep working.
func (b *Bot) register(ctx context.Context) {
	cmds, order := applicationCommands(b.router.Commands(true))
	b.mu.Lock()
	b.commands = order
	b.mu.Unlock()
	appID := ""
	if r := b.ready(); r != nil {
		if r.Application != nil && r.Application.ID != "" {
			appID = r.Application.ID
		} else if r.User != nil {
			appID = r.User.ID
		}
	}
	if appID == "" {
		b.log.Warn("discord: READY named no application; slash commands not registered")
		return
	}
	for n := 1; ; n++ {
		_, err := b.session.ApplicationCommandBulkOverwrite(appID, b.guildID, cmds, discordgo.WithContext(ctx))
		if err == nil {
			b.log.Info("discord: slash commands registered", "count", len(cmds), "guild", b.guildID)
			return
		}
		err = b.redact(err)
		if ctx.Err() != nil || n >= registerAttempts || permanent(err) {
			b.log.Warn("discord: could not register the slash commands", "err", err)
			return
		}
		if b.sleep(ctx, backoff(n)) != nil {
			return
		}
	}
}

// permanent reports whether retrying cannot help: the token is refused (401, or
// gateway close code 4004), or the gateway refuses the shard or intents
// (4010-4014).
func permanent(err error) bool {
	if re, ok := errors.AsType[*discordgo.RESTError](err); ok && re.Response != nil {
		return re.Response.StatusCode == http.StatusUnauthorized || re.Response.StatusCode == http.StatusForbidden
	}
	if ce, ok := errors.AsType[*websocket.CloseError](err); ok {
		return ce.Code == 4004 || (ce.Code >= 4010 && ce.Code <= 4014)
	}
	return errors.Is(err, discordgo.ErrUnauthorized)
}

// redact removes the token from an error message, keeping the error chain.
func (b *Bot) redact(err error) error {
	if err == nil {
		return nil
	}
	raw := strings.TrimPrefix(b.token, "Bot ")
	if msg := err.Error(); strings.Contains(msg, raw) {
		return &redactedError{msg: strings.ReplaceAll(msg, raw, "<token>"), err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// endpointTransport sends discordgo's requests for https://discord.com/api/v9/…
// to api instead, and answers GET /gateway itself with gateway when that is set.
type endpointTransport struct {
	base    http.RoundTripper
	api     *url.URL // nil: Discord's
	gateway string   // "": ask the API
}

func (t *endpointTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rest, ok := strings.CutPrefix(req.URL.String(), discordgo.EndpointAPI)
	if !ok {
		return t.base.RoundTrip(req)
	}
	path, _, _ := strings.Cut(rest, "?")
	if t.gateway != "" && req.Method == http.MethodGet && (path == "gateway" || path == "gateway/bot") {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		body := fmt.Sprintf(`{"url":%q,"shards":1,"session_start_limit":{"total":1000,"remaining":1000,"reset_after":0,"max_concurrency":1}}`, t.gateway)
		return &http.Response{
			StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:  http.Header{"Content-Type": {"application/json"}},
			Body:    io.NopCloser(strings.NewReader(body)),
			Request: req, ContentLength: int64(len(body)),
		}, nil
	}
	if t.api == nil {
		return t.base.RoundTrip(req)
	}
	u, err := url.Parse(t.api.String() + "/" + rest)
	if err != nil {
		return nil, fmt.Errorf("discord: rewrite %s: %w", req.URL.Path, err)
	}
	r := req.Clone(req.Context())
	r.URL = u
	r.Host = u.Host
	return t.base.RoundTrip(r)
}

// ctxDialer dials with ctx and closes the connection when ctx ends, so that a
// gateway that stops answering mid-handshake cannot hold Run past its context
// (discordgo reads the first frames without a deadline).
func ctxDialer(ctx context.Context) func(context.Context, string, string) (net.Conn, error) {
	var d net.Dialer
	return func(_ context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		stop := context.AfterFunc(ctx, func() { _ = c.Close() })
		return &ctxConn{Conn: c, stop: stop}, nil
	}
}

type ctxConn struct {
	net.Conn
	stop func() bool
}

func (c *ctxConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// backoff is the wait after the n-th failure in a row: 0.5 s doubling up to 60 s,
// the upper half jittered so that restarted bots do not retry in step.
func backoff(n int) time.Duration {
	d := backoffMax
	if n < 1 {
		n = 1
	}
	if n < 16 {
		d = min(backoffMax, backoffBase<<(n-1))
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
