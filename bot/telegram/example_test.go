package telegram_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/bot/telegram"
	"github.com/coattailcapital/coattail/store"
)

// Wiring the Telegram bot, as cmd does: the token comes from the environment and
// goes nowhere but Config.Token.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.Default()
	st, err := store.Open(ctx, store.Config{})
	if err != nil {
		log.Error("open store", "err", err)
		return
	}
	defer st.Close()
	r, err := bot.NewRouter(bot.Config{Reader: st, Logger: log})
	if err != nil {
		log.Error("router", "err", err)
		return
	}
	bot.RegisterFollows(r, st, 0)
	if err := telegram.SetLibraryLogger(log); err != nil {
		log.Error("telegram library logger", "err", err)
		return
	}
	tg, err := telegram.New(telegram.Config{
		Token:  os.Getenv("COATTAIL_TELEGRAM_TOKEN"),
		Admins: []string{"123456789"},
		Logger: log,
	}, r)
	if err != nil {
		log.Error("telegram", "err", err)
		return
	}
	if err := tg.Run(ctx); err != nil {
		log.Error("telegram stopped", "err", err)
	}
}
