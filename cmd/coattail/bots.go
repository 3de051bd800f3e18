package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/api"
	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/bot/discord"
	"github.com/coattailcapital/coattail/bot/telegram"
	"github.com/coattailcapital/coattail/paper"
	"github.com/coattailcapital/coattail/risk"
	"github.com/coattailcapital/coattail/store"
)

// botConfig is the chat front ends' configuration, from COATTAIL_* variables only
// (tokens never go on a command line, where ps would show them).
type botConfig struct {
	TelegramToken string
	TelegramAPI   string
	Admins        map[string][]string // platform -> user ids
	// Webhook mode: Telegram posts updates to WebhookURL (public, https), which a
	// reverse proxy forwards to WebhookAddr; each call carries WebhookSecret.
	WebhookURL    string
	WebhookSecret string
	WebhookAddr   string
	// AlertLease is how long a dispatcher reserves an alert it is sending; after a
	// crash, other dispatchers (or the restarted one) wait that long before sending
	// it again (COATTAIL_ALERT_LEASE). Defaults to alert.Config's 60 s.
	AlertLease time.Duration
}

// readBotConfig reads COATTAIL_TELEGRAM_TOKEN, COATTAIL_TELEGRAM_API and COATTAIL_ADMINS
// ("telegram:123,discord:456"), failing on a malformed admin list.
func readBotConfig(getenv func(string) string) (botConfig, error) {
	c := botConfig{
		TelegramToken: getenv("COATTAIL_TELEGRAM_TOKEN"),
		TelegramAPI:   getenv("COATTAIL_TELEGRAM_API"),
		Admins:        map[string][]string{},
		WebhookURL:    getenv("COATTAIL_TELEGRAM_WEBHOOK_URL"),
		WebhookSecret: getenv("COATTAIL_TELEGRAM_WEBHOOK_SECRET"),
		WebhookAddr:   env(getenv, "TELEGRAM_WEBHOOK_ADDR", "127.0.0.1:8443"),
	}
	if v := getenv("COATTAIL_ALERT_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return c, fmt.Errorf("%w: COATTAIL_ALERT_LEASE %q: want a duration of at least 1s, e.g. 60s", errUsage, v)
		}
		c.AlertLease = d
	}
	if c.WebhookURL != "" && len(c.WebhookSecret) < 16 {
		return c, fmt.Errorf("%w: COATTAIL_TELEGRAM_WEBHOOK_URL needs COATTAIL_TELEGRAM_WEBHOOK_SECRET of at least 16 characters (A-Z, a-z, 0-9, _ and -)", errUsage)
	}
	for _, a := range splitCSV(getenv("COATTAIL_ADMINS")) {
		platform, id, ok := strings.Cut(a, ":")
		if !ok || platform == "" || id == "" {
			return c, fmt.Errorf("%w: COATTAIL_ADMINS entry %q: want platform:user-id, e.g. telegram:123456789", errUsage, a)
		}
		c.Admins[strings.ToLower(platform)] = append(c.Admins[strings.ToLower(platform)], id)
	}
	if c.TelegramAPI != "" && strings.Count(c.TelegramAPI, "%s") != 2 {
		return c, fmt.Errorf("%w: COATTAIL_TELEGRAM_API %q: want a pattern with %%s for the token and %%s for the method, e.g. https://api.telegram.org/bot%%s/%%s", errUsage, c.TelegramAPI)
	}
	return c, nil
}

// newRouter builds the command router every chat front end shares.
func newRouter(st *store.Store, log *slog.Logger) (*bot.Router, error) {
	as := alert.NewStore(st.Pool())
	// The store is also a bot.BoardReader: /leaderboard ranks by alpha score, per
	// score window, like `coattail leaderboard`.
	r, err := bot.NewRouter(bot.Config{Reader: st, Logger: log, Chats: as,
		Windows: []string{store.WindowAll, store.Window7d, store.Window30d}})
	if err != nil {
		return nil, err
	}
	bot.RegisterFollows(r, st, bot.DefaultFollowLimit)
	bot.RegisterSettings(r, as)
	bot.RegisterMarket(r, as)
	bot.RegisterAdmin(r, paperAdmin{paper.NewService(st, paper.Config{})}, riskAdmin{risk.NewService(st)})
	return r, nil
}

// alertDispatcher delivers the alert outbox: to Telegram when a token is
// configured, and to the console chat when console is not nil.
func alertDispatcher(bc botConfig, st *store.Store, log *slog.Logger, reg prometheus.Registerer, console io.Writer, extra ...alert.Sender) (*alert.Dispatcher, error) {
	senders := append([]alert.Sender(nil), extra...)
	if bc.TelegramToken != "" {
		// A Bot of its own: sending needs no Run, and New makes no request.
		tg, err := telegram.New(telegram.Config{Token: bc.TelegramToken, APIEndpoint: bc.TelegramAPI, Logger: log},
			noRouter())
		if err != nil {
			return nil, fmt.Errorf("telegram alerts: %w", err)
		}
		senders = append(senders, tg.AlertSender())
	}
	if console != nil {
		senders = append(senders, alert.NewConsoleSender(console))
	}
	if len(senders) == 0 {
		return nil, nil
	}
	return alert.NewDispatcher(alert.Config{Pool: st.Pool(), Senders: senders, Logger: log, Registerer: reg, Lease: bc.AlertLease})
}

// noRouter is the router of a Bot that only sends.
func noRouter() *bot.Router {
	r, err := bot.NewRouter(bot.Config{Reader: nilReader{}})
	if err != nil {
		panic(err)
	}
	return r
}

type nilReader struct{}

func (nilReader) Leaderboard(context.Context, store.LeaderboardQuery) ([]store.LeaderRow, error) {
	return nil, nil
}

func (nilReader) Wallet(context.Context, string) (store.WalletView, error) {
	return store.WalletView{}, store.ErrNotFound
}

// telegramBot returns the Telegram front end, or nil when no token is configured.
func telegramBot(bc botConfig, r *bot.Router, log *slog.Logger) (func(context.Context) error, error) {
	if bc.TelegramToken == "" {
		return nil, nil
	}
	if err := telegram.SetLibraryLogger(log); err != nil {
		return nil, err
	}
	tg, err := telegram.New(telegram.Config{Token: bc.TelegramToken, APIEndpoint: bc.TelegramAPI,
		Admins: bc.Admins[telegram.Platform], Logger: log}, r)
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	if bc.WebhookURL == "" {
		return tg.Run, nil
	}
	return func(ctx context.Context) error {
		if err := tg.StartWebhook(ctx, bc.WebhookURL, bc.WebhookSecret); err != nil {
			return fmt.Errorf("telegram webhook: %w", err)
		}
		srv := &http.Server{Addr: bc.WebhookAddr, Handler: tg.WebhookHandler(bc.WebhookSecret),
			ReadHeaderTimeout: 10 * time.Second}
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		log.Info("telegram webhook serving", "addr", bc.WebhookAddr)
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("telegram webhook: %w", err)
		}
		return nil
	}, nil
}

// cmdBot runs the chat front ends alone (today: Telegram), sharing the shards'
// results through Postgres with the other processes.
func cmdBot(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("bot", "[--metrics-addr HOST:PORT] (tokens from COATTAIL_TELEGRAM_TOKEN and COATTAIL_DISCORD_TOKEN; admins from COATTAIL_ADMINS)")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics (alert delivery latency, send errors), /healthz and /readyz on this address (off when empty)")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	bc, err := readBotConfig(a.getenv)
	if err != nil {
		return err
	}
	discordToken := a.getenv("COATTAIL_DISCORD_TOKEN")
	if bc.TelegramToken == "" && discordToken == "" {
		return fmt.Errorf("%w: no chat platform configured: set COATTAIL_TELEGRAM_TOKEN and/or COATTAIL_DISCORD_TOKEN; `coattail chat` needs no token", errUsage)
	}
	log := c.logger(a.stderr)
	d, err := a.connect(ctx, c, log, true)
	if err != nil {
		return err
	}
	defer d.close()
	r, err := newRouter(d.st, log)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	tg, err := telegramBot(bc, r, log)
	if err != nil {
		return err
	}
	if tg != nil {
		log.Info("telegram bot starting")
		g.Go(func() error { return tg(gctx) })
	}
	var extra []alert.Sender
	dc, err := newDiscord(a.getenv, bc.Admins[discord.Platform], r, d.st.Pool(), log)
	if err != nil {
		return err
	}
	if dc != nil {
		log.Info("discord bot starting")
		g.Go(func() error { return dc.Run(gctx) })
		extra = append(extra, dc)
	}
	reg := newRegistry()
	if *metricsAddr != "" {
		srv := api.New(api.Config{Addr: *metricsAddr, Store: d.st, Redis: d.rdb, Gatherer: reg, Logger: log})
		g.Go(func() error { return srv.Run(gctx) })
	}
	disp, err := alertDispatcher(bc, d.st, log, reg, nil, extra...)
	if err != nil {
		return err
	}
	if disp != nil {
		g.Go(func() error { return disp.Run(gctx) })
	}
	return g.Wait()
}
