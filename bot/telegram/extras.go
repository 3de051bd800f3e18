package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/coattailcapital/coattail/alert"
	"github.com/coattailcapital/coattail/bot"
)

// allowedUpdates are the update kinds the bot asks for, by polling or webhook.
var allowedUpdates = []string{"message", "callback_query"}

// AlertSender returns the alert.Sender that delivers alerts through this bot.
// It makes one attempt per message and reports flood control and blocked chats
// to the dispatcher, which owns retries and pacing.
func (b *Bot) AlertSender() alert.Sender { return alertSender{b} }

type alertSender struct{ b *Bot }

func (s alertSender) Platform() string { return Platform }

// Send delivers m: the picture first when there is one, then the text, split at
// Telegram's limit, with the buttons under the last part. A message of several
// parts that fails midway is sent again whole on retry; alerts are short enough
// to be one part.
func (s alertSender) Send(ctx context.Context, chatID string, m alert.Message) error {
	id, err := strconv.ParseInt(chatID, 10, 64)
	if err != nil {
		return fmt.Errorf("telegram: send to chat %q: not a Telegram chat id: %w", chatID, alert.ErrBlocked)
	}
	reply := m.Reply
	reply.Buttons, reply.PhotoPNG = m.Buttons, m.PhotoPNG
	err = s.b.sendReply(ctx, id, 0, reply, 1)
	if err == nil {
		return nil
	}
	if ra, ok := errors.AsType[*RetryAfterError](err); ok {
		return &alert.RateLimitedError{RetryAfter: ra.After}
	}
	if gone(err) {
		return fmt.Errorf("%w: %w", alert.ErrBlocked, err)
	}
	return err
}

// gone reports whether Telegram refused the chat for good: 403 (blocked, kicked,
// deactivated user) or 400 chat not found.
func gone(err error) bool {
	te, ok := errors.AsType[*tgbotapi.Error](err)
	if !ok {
		return false
	}
	return te.Code == http.StatusForbidden ||
		(te.Code == http.StatusBadRequest && strings.Contains(strings.ToLower(te.Message), "chat not found"))
}

// keyboard is the inline keyboard of buttons, in one row (nil when none).
func keyboard(buttons []bot.Button) any {
	if len(buttons) == 0 {
		return nil
	}
	row := make([]tgbotapi.InlineKeyboardButton, 0, len(buttons))
	for _, bt := range buttons {
		data := bt.Data
		if len(data) > 64 { // Telegram's callback_data limit; a longer one is refused
			continue
		}
		row = append(row, tgbotapi.NewInlineKeyboardButtonData(bt.Text, data))
	}
	if len(row) == 0 {
		return nil
	}
	return tgbotapi.NewInlineKeyboardMarkup(row)
}

// sendPhoto uploads a PNG to the chat.
func (b *Bot) sendPhoto(ctx context.Context, chatID int64, png []byte, attempts int) error {
	p := tgbotapi.NewPhoto(chatID, tgbotapi.FileBytes{Name: "chart.png", Bytes: png})
	return b.call(ctx, "sendPhoto", attempts, func(api *tgbotapi.BotAPI) error {
		_, err := api.Send(p)
		return err
	})
}

// handleCallback answers a button press: it acknowledges the press (so the
// client stops its spinner), then runs the button's command as if the user had
// typed it and sends the reply to the chat. It reports false when ctx ended
// before the reply went out.
func (b *Bot) handleCallback(ctx context.Context, q *tgbotapi.CallbackQuery) bool {
	ack := tgbotapi.NewCallback(q.ID, "")
	if err := b.call(ctx, "answerCallbackQuery", 2, func(api *tgbotapi.BotAPI) error {
		_, err := api.Request(ack)
		return err
	}); err != nil && ctx.Err() == nil {
		b.log.Debug("telegram: answerCallbackQuery failed", "err", err)
	}
	if q.From == nil || q.Message == nil || q.Message.Chat == nil || !strings.HasPrefix(q.Data, "/") {
		return true
	}
	user := strconv.FormatInt(q.From.ID, 10)
	req := bot.Request{Platform: Platform, UserID: user, ChatID: strconv.FormatInt(q.Message.Chat.ID, 10),
		Text: q.Data, IsAdmin: b.admins[user]}
	reply := b.router.Handle(ctx, req)
	if reply.IsZero() {
		return true
	}
	if err := b.sendReply(ctx, q.Message.Chat.ID, 0, reply, sendAttempts); err != nil {
		if ctx.Err() != nil {
			return false
		}
		b.log.Warn("telegram: reply to a button not delivered", "chat", q.Message.Chat.ID, "err", err)
	}
	return true
}

// WebhookHandler serves Telegram's webhook calls: each POST carries one update,
// with the secret set by RunWebhook in X-Telegram-Bot-Api-Secret-Token; requests
// without it are refused with 401. The update is answered before the handler
// returns 200, so an update whose answer failed because we are shutting down is
// answered with 503 and Telegram delivers it again.
func (b *Bot) WebhookHandler(secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		var u tgbotapi.Update
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		if err := dec.Decode(&u); err != nil {
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		if _, err := dec.Token(); err != io.EOF { // one update per call, nothing after it
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		done := true
		switch {
		case u.Message != nil && u.Message.Chat != nil:
			done = b.handleMessage(ctx, u.Message)
		case u.CallbackQuery != nil:
			done = b.handleCallback(ctx, u.CallbackQuery)
		}
		if !done {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// StartWebhook checks the token, publishes the command menu and registers url
// as the bot's webhook with secret (Telegram sends it back on every call); serve
// WebhookHandler(secret) at url. Telegram then stops serving getUpdates.
func (b *Bot) StartWebhook(ctx context.Context, url, secret string) error {
	if url == "" || len(secret) < 16 {
		return errors.New("telegram: webhook mode needs a URL and a secret of at least 16 characters")
	}
	me, err := b.getMe(ctx)
	if err != nil {
		return err
	}
	b.self = me.UserName
	b.publishMenu(ctx)
	updates, _ := json.Marshal(allowedUpdates)
	return b.call(ctx, "setWebhook", menuAttempts, func(api *tgbotapi.BotAPI) error {
		_, err := api.MakeRequest("setWebhook", tgbotapi.Params{
			"url": url, "secret_token": secret, "allowed_updates": string(updates),
		})
		return err
	})
}
