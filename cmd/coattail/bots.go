package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/bot/telegram"
	"github.com/coattailcapital/coattail/store"
)

// botConfig is the chat front ends' configuration, from COATTAIL_* variables only
// (tokens never go on a command line, where ps would show them).
type botConfig struct {
	TelegramToken string
	TelegramAPI   string
	Admins        map[string][]string // platform -> user ids
}

// readBotConfig reads COATTAIL_TELEGRAM_TOKEN, COATTAIL_TELEGRAM_API and COATTAIL_ADMINS
// ("telegram:123,discord:456"), failing on a malformed admin list.
func readBotConfig(getenv func(string) string) (botConfig, error) {
	c := botConfig{
		TelegramToken: getenv("COATTAIL_TELEGRAM_TOKEN"),
		TelegramAPI:   getenv("COATTAIL_TELEGRAM_API"),
		Admins:        map[string][]string{},
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
	r, err := bot.NewRouter(bot.Config{Reader: st, Logger: log})
	if err != nil {
		return nil, err
	}
	bot.RegisterFollows(r, st, bot.DefaultFollowLimit)
	return r, nil
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
	return tg.Run, nil
}

// cmdBot runs the chat front ends alone (today: Telegram), sharing the shards'
// results through Postgres with the other processes.
func cmdBot(ctx context.Context, a *app, args []string) error {
	fs, c := a.flags("bot", "(tokens from COATTAIL_TELEGRAM_TOKEN; admins from COATTAIL_ADMINS)")
	if err := parse(fs, c, args); err != nil {
		return err
	}
	bc, err := readBotConfig(a.getenv)
	if err != nil {
		return err
	}
	if bc.TelegramToken == "" {
		return fmt.Errorf("%w: no chat platform configured: set COATTAIL_TELEGRAM_TOKEN (Discord comes with the bots issue); `coattail chat` needs no token", errUsage)
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
	tg, err := telegramBot(bc, r, log)
	if err != nil {
		return err
	}
	log.Info("telegram bot starting")
	return tg(ctx)
}
