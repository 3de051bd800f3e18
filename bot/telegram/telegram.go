// Package telegram connects the bot router to Telegram through the Bot API
// (go-telegram-bot-api v5): long polling for messages, HTML replies, the command
// menu, flood control and reconnects.
//
// [Bot.Run] polls getUpdates in its own loop rather than the library's
// GetUpdatesChan, which has no context and cannot be stopped cleanly: every
// request carries the Run context, so cancelling it ends even a pending long
// poll at once. Updates are confirmed to Telegram only after they are answered,
// so a crash answers them again after the restart rather than losing them.
package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/coattailcapital/coattail/bot"
)

// Platform is the bot.Request.Platform of Telegram messages.
const Platform = "telegram"

const (
	// requestTimeout bounds one API call other than a long poll, which gets
	// PollTimeout on top.
	requestTimeout = 15 * time.Second
	// sendAttempts bounds how often one message is tried before it is dropped.
	sendAttempts = 8
	// menuAttempts bounds the tries at publishing the command menu.
	menuAttempts = 3
	// backoffBase and backoffMax shape the delay after a network or server error.
	backoffBase = 500 * time.Millisecond
	backoffMax  = 30 * time.Second
	// pollLimit is the most updates one getUpdates returns (Telegram's maximum).
	pollLimit = 100
)

// Config configures a Bot.
type Config struct {
	// Token is the bot token from @BotFather. Required. It is never logged: error
	// messages that would carry it (request URLs) have it replaced by "<token>".
	Token string
	// APIEndpoint is the Bot API URL pattern, with %s for the token and then the
	// method name. Set it for a self-hosted Bot API server or a test server.
	// Defaults to "https://api.telegram.org/bot%s/%s".
	APIEndpoint string
	// HTTPClient makes the requests. It is copied; a zero Timeout becomes
	// PollTimeout + 15 s on the copy, and a Timeout set must exceed PollTimeout.
	// Defaults to a client with a Timeout of PollTimeout + 15 s.
	HTTPClient *http.Client
	// Admins lists the Telegram user ids (decimal, as in from.id) allowed to run
	// admin commands. Defaults to none.
	Admins []string
	// Logger receives delivery failures, retries and reconnects. Defaults to
	// discarding everything.
	Logger *slog.Logger
	// PollTimeout is how long one getUpdates call waits for a message, in whole
	// seconds. Defaults to 30 s.
	PollTimeout time.Duration
	// Workers bounds how many chats are answered at once; the messages of one chat
	// are answered in order. Defaults to 8.
	Workers int
	// Sleep waits d before a retry and returns ctx's error, early, when ctx ends.
	// Tests replace it to run without waiting. Defaults to a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Bot is a Telegram front end for a bot.Router.
type Bot struct {
	router   *bot.Router
	api      tgbotapi.BotAPI // a template, copied per call with a context-bound client
	token    string
	http     *http.Client
	admins   map[string]bool
	log      *slog.Logger
	sleep    func(context.Context, time.Duration) error
	pollSecs int
	workers  int

	// self is the bot's username, learnt by Run before it handles anything.
	self string
}

// New validates cfg and prepares a Bot; it makes no request (Run does).
func New(cfg Config, r *bot.Router) (*Bot, error) {
	if r == nil {
		return nil, errors.New("telegram: a bot.Router is required")
	}
	if cfg.Token == "" {
		return nil, errors.New("telegram: Config.Token is required")
	}
	if strings.ContainsAny(cfg.Token, "/?#% \t\r\n") {
		return nil, errors.New("telegram: Config.Token has characters a bot token never has")
	}
	if cfg.APIEndpoint == "" {
		cfg.APIEndpoint = tgbotapi.APIEndpoint
	}
	if strings.Count(cfg.APIEndpoint, "%s") != 2 || strings.Count(cfg.APIEndpoint, "%") != 2 {
		return nil, fmt.Errorf("telegram: APIEndpoint %q: want a URL pattern with two %%s, for the token and the method", cfg.APIEndpoint)
	}
	if u, err := url.Parse(fmt.Sprintf(cfg.APIEndpoint, "TOKEN", "getMe")); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("telegram: APIEndpoint %q: want an http or https URL pattern", cfg.APIEndpoint)
	}
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = 30 * time.Second
	}
	if cfg.PollTimeout < time.Second {
		return nil, fmt.Errorf("telegram: PollTimeout %v: want at least 1s", cfg.PollTimeout)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	client := *cfg.HTTPClient
	if client.Timeout == 0 {
		client.Timeout = cfg.PollTimeout + requestTimeout
	}
	if client.Timeout <= cfg.PollTimeout {
		return nil, fmt.Errorf("telegram: HTTPClient.Timeout %v must exceed PollTimeout %v, or every long poll fails", client.Timeout, cfg.PollTimeout)
	}
	if cfg.Workers == 0 {
		cfg.Workers = 8
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("telegram: Workers %d is negative", cfg.Workers)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	admins := make(map[string]bool, len(cfg.Admins))
	for _, a := range cfg.Admins {
		if _, err := strconv.ParseInt(a, 10, 64); err != nil {
			return nil, fmt.Errorf("telegram: admin %q: want a numeric Telegram user id, not a username", a)
		}
		admins[a] = true
	}
	b := &Bot{
		router:   r,
		token:    cfg.Token,
		http:     &client,
		admins:   admins,
		log:      cfg.Logger,
		sleep:    cfg.Sleep,
		pollSecs: int(cfg.PollTimeout.Round(time.Second) / time.Second),
		workers:  cfg.Workers,
	}
	// Built by hand rather than with NewBotAPI*, which call getMe without a context.
	b.api.Token = cfg.Token
	b.api.SetAPIEndpoint(cfg.APIEndpoint)
	return b, nil
}

// Run checks the token (getMe), publishes the command menu (setMyCommands) and
// answers messages until ctx ends, then returns nil. Network and server errors
// are retried with backoff; it returns an error only when Telegram refuses the
// bot for good (a revoked token, for instance). Call it once per Bot.
//
// The next batch of updates is fetched when the current one is answered, so a
// long flood-control wait in one chat holds back the others until it is over.
func (b *Bot) Run(ctx context.Context) error {
	me, err := b.getMe(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	b.self = me.UserName
	b.log.Info("telegram bot connected", "username", me.UserName, "id", me.ID)
	b.publishMenu(ctx)

	offset, fails := 0, 0
	for {
		var updates []tgbotapi.Update
		err := b.once(ctx, "getUpdates", time.Duration(b.pollSecs)*time.Second+requestTimeout, func(api *tgbotapi.BotAPI) error {
			var err error
			updates, err = api.GetUpdates(tgbotapi.UpdateConfig{
				Offset: offset, Limit: pollLimit, Timeout: b.pollSecs, AllowedUpdates: allowedUpdates,
			})
			return err
		})
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if permanent(err) {
				return fmt.Errorf("telegram: poll for messages: %w", err)
			}
			fails++
			if err := b.pause(ctx, err, fails, "poll for messages"); err != nil {
				return nil
			}
			continue
		}
		fails = 0
		if len(updates) == 0 {
			continue
		}
		next := b.handleBatch(ctx, updates)
		if ctx.Err() != nil {
			if next > offset {
				b.confirm(ctx, next)
			}
			return nil
		}
		offset = next
	}
}

// getMe asks who the bot is, retrying network and server errors.
func (b *Bot) getMe(ctx context.Context) (tgbotapi.User, error) {
	for fails := 1; ; fails++ {
		var me tgbotapi.User
		err := b.once(ctx, "getMe", requestTimeout, func(api *tgbotapi.BotAPI) error {
			var err error
			me, err = api.GetMe()
			return err
		})
		if err == nil {
			return me, nil
		}
		if ctx.Err() != nil || permanent(err) {
			return tgbotapi.User{}, fmt.Errorf("telegram: check the bot token (getMe): %w", err)
		}
		if err := b.pause(ctx, err, fails, "check the bot token"); err != nil {
			return tgbotapi.User{}, err
		}
	}
}

// pause logs a failed call that will be retried and waits: Telegram's retry_after
// when it gave one, else an exponential backoff with jitter.
func (b *Bot) pause(ctx context.Context, err error, fails int, what string) error {
	wait := backoff(fails)
	if ra, ok := errors.AsType[*RetryAfterError](err); ok {
		wait = ra.After
	}
	b.log.Warn("telegram: "+what+" failed; retrying", "err", err, "failures", fails, "retry_in", wait)
	return b.sleep(ctx, wait)
}

// publishMenu sets the command menu users see when they type "/". A failure is
// logged and otherwise ignored: the commands work without the menu.
func (b *Bot) publishMenu(ctx context.Context) {
	cmds := b.router.Commands(false)
	menu := make([]tgbotapi.BotCommand, 0, min(len(cmds), 100))
	for _, c := range cmds {
		if len(menu) == 100 { // Telegram's maximum
			break
		}
		menu = append(menu, tgbotapi.BotCommand{Command: c.Name, Description: menuDescription(c)})
	}
	err := b.call(ctx, "setMyCommands", menuAttempts, func(api *tgbotapi.BotAPI) error {
		_, err := api.Request(tgbotapi.NewSetMyCommands(menu...))
		return err
	})
	if err != nil && ctx.Err() == nil {
		b.log.Warn("telegram: could not publish the command menu; commands still work", "err", err)
	}
}

// menuDescription is a command's line in the menu: 3 to 256 characters.
func menuDescription(c bot.Command) string {
	d := c.Summary
	if c.Args != "" {
		d = c.Args + " — " + d
	}
	if len([]rune(d)) < 3 {
		d = c.Usage()
	}
	if r := []rune(d); len(r) > 256 {
		d = string(r[:255]) + "…"
	}
	return d
}

// handleBatch answers one getUpdates batch, chats in parallel and each chat in
// order, and returns the offset that confirms what is done: past the last update,
// or at the first one left unanswered because ctx ended.
func (b *Bot) handleBatch(ctx context.Context, updates []tgbotapi.Update) int {
	done := make([]bool, len(updates))
	var chats []int64
	byChat := make(map[int64][]int)
	for i, u := range updates {
		var chatID int64
		switch {
		case u.Message != nil && u.Message.Chat != nil:
			chatID = u.Message.Chat.ID
		case u.CallbackQuery != nil && u.CallbackQuery.Message != nil && u.CallbackQuery.Message.Chat != nil:
			chatID = u.CallbackQuery.Message.Chat.ID
		default:
			done[i] = true // another kind of update: nothing to answer
			continue
		}
		if _, seen := byChat[chatID]; !seen {
			chats = append(chats, chatID)
		}
		byChat[chatID] = append(byChat[chatID], i)
	}
	sem := make(chan struct{}, b.workers)
	var wg sync.WaitGroup
start:
	for _, chat := range chats {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break start
		}
		idx := byChat[chat]
		wg.Go(func() {
			defer func() { <-sem }()
			for _, i := range idx {
				u := updates[i]
				ok := true
				if u.Message != nil {
					ok = b.handleMessage(ctx, u.Message)
				} else {
					ok = b.handleCallback(ctx, u.CallbackQuery)
				}
				if !ok {
					return // ctx ended: leave the rest of this chat for next time
				}
				done[i] = true
			}
		})
	}
	wg.Wait()
	last := 0
	for i, u := range updates {
		if !done[i] {
			return u.UpdateID
		}
		last = max(last, u.UpdateID)
	}
	return last + 1
}

// handleMessage routes one message and sends the reply. It reports false only
// when ctx ended before the reply went out, so the message should be answered
// after a restart; a reply Telegram refuses, or one that keeps failing, is logged
// and dropped.
func (b *Bot) handleMessage(ctx context.Context, m *tgbotapi.Message) bool {
	req, ok := b.request(m)
	if !ok {
		return true
	}
	reply := b.router.Handle(ctx, req)
	if reply.IsZero() {
		return true
	}
	replyTo := 0
	if !m.Chat.IsPrivate() {
		replyTo = m.MessageID // in a group, thread the answer under the command
	}
	err := b.send(ctx, m.Chat.ID, replyTo, reply)
	if err == nil {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	b.log.Warn("telegram: reply not delivered", "chat", m.Chat.ID, "user", req.UserID, "err", err)
	return true
}

// request turns a message into a router request, or reports that it is not for
// us: a message from a bot or without text; in a group, anything but a command,
// or a command addressed to another bot ("/help@OtherBot").
func (b *Bot) request(m *tgbotapi.Message) (bot.Request, bool) {
	if m.From == nil || m.From.IsBot || strings.TrimSpace(m.Text) == "" {
		return bot.Request{}, false
	}
	if !m.Chat.IsPrivate() {
		if !m.IsCommand() {
			return bot.Request{}, false
		}
		first, _, _ := strings.Cut(strings.TrimSpace(m.Text), " ")
		_, target, addressed := strings.Cut(first, "@")
		if addressed && b.self != "" && !strings.EqualFold(target, b.self) {
			return bot.Request{}, false
		}
	}
	user := strconv.FormatInt(m.From.ID, 10)
	return bot.Request{
		Platform: Platform,
		UserID:   user,
		ChatID:   strconv.FormatInt(m.Chat.ID, 10),
		Text:     m.Text,
		IsAdmin:  b.admins[user],
	}, true
}

// confirm tells Telegram that the updates before offset are handled, so that it
// does not send them again. It runs on shutdown, with a short deadline of its own.
func (b *Bot) confirm(ctx context.Context, offset int) {
	err := b.once(context.WithoutCancel(ctx), "getUpdates", 5*time.Second, func(api *tgbotapi.BotAPI) error {
		_, err := api.GetUpdates(tgbotapi.UpdateConfig{Offset: offset, Limit: 1})
		return err
	})
	if err != nil {
		b.log.Warn("telegram: could not confirm the answered messages; they will be answered again after a restart",
			"offset", offset, "err", err)
	}
}

// backoff is the wait after the n-th failure in a row: 0.5 s doubling up to 30 s,
// with the upper half jittered so that restarted bots do not retry in step.
func backoff(n int) time.Duration {
	d := backoffMax
	switch {
	case n < 1:
		d = backoffBase
	case n < 16:
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
