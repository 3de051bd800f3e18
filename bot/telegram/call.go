package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/coattailcapital/coattail/bot"
)

// RetryAfterError is Telegram's flood control: the call was refused with 429 Too
// Many Requests and may be repeated after After. Read it with errors.As.
type RetryAfterError struct {
	Method string        // the Bot API method refused
	After  time.Duration // parameters.retry_after
	Err    error         // the API error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("telegram %s: flood control, retry after %v: %v", e.Method, e.After, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// Send renders reply as HTML and sends it to the chat chatID (a decimal Telegram
// chat id), split into messages Telegram accepts, waiting out flood control. It is
// safe for concurrent use and does not need Run to be running; the alert fan-out
// uses it.
func (b *Bot) Send(ctx context.Context, chatID string, reply bot.Reply) error {
	id, err := strconv.ParseInt(chatID, 10, 64)
	if err != nil {
		return fmt.Errorf("telegram: send to chat %q: not a Telegram chat id", chatID)
	}
	return b.send(ctx, id, 0, reply)
}

// send sends the parts of reply in order; the first answers the message replyTo
// when it is not 0.
func (b *Bot) send(ctx context.Context, chatID int64, replyTo int, reply bot.Reply) error {
	return b.sendReply(ctx, chatID, replyTo, reply, sendAttempts)
}

// sendReply sends reply's picture, if any, then its text parts, the buttons
// under the last part, each call tried up to attempts times.
func (b *Bot) sendReply(ctx context.Context, chatID int64, replyTo int, reply bot.Reply, attempts int) error {
	if len(reply.PhotoPNG) > 0 {
		if err := b.sendPhoto(ctx, chatID, reply.PhotoPNG, attempts); err != nil {
			return fmt.Errorf("telegram: send picture to chat %d: %w", chatID, err)
		}
	}
	parts := renderHTML(reply, maxMessageLen)
	for i, text := range parts {
		msg := tgbotapi.MessageConfig{
			BaseChat:              tgbotapi.BaseChat{ChatID: chatID},
			Text:                  text,
			ParseMode:             tgbotapi.ModeHTML,
			DisableWebPagePreview: true,
		}
		if i == 0 && replyTo != 0 {
			msg.ReplyToMessageID = replyTo
			msg.AllowSendingWithoutReply = true
		}
		if i == len(parts)-1 {
			if kb := keyboard(reply.Buttons); kb != nil {
				msg.ReplyMarkup = kb
			}
		}
		err := b.call(ctx, "sendMessage", attempts, func(api *tgbotapi.BotAPI) error {
			_, err := api.Send(msg)
			return err
		})
		if err != nil {
			return fmt.Errorf("telegram: send part %d of %d to chat %d: %w", i+1, len(parts), chatID, err)
		}
	}
	return nil
}

// call runs fn up to attempts times: after flood control it waits as long as
// Telegram asks, after a network or server error it backs off; anything else, or
// the end of ctx, ends it at once.
func (b *Bot) call(ctx context.Context, method string, attempts int, fn func(*tgbotapi.BotAPI) error) error {
	for n := 1; ; n++ {
		err := b.once(ctx, method, requestTimeout, fn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || permanent(err) || n >= attempts {
			return err
		}
		if b.pause(ctx, err, n, method) != nil {
			return err
		}
	}
}

// once makes one call with a client bound to ctx and a deadline, so the library's
// context-free requests still end when ctx does. Its errors never carry the token.
func (b *Bot) once(ctx context.Context, method string, timeout time.Duration, fn func(*tgbotapi.BotAPI) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api := b.api
	api.Client = ctxClient{ctx: ctx, c: b.http}
	err := fn(&api)
	if err == nil {
		return nil
	}
	if te, ok := errors.AsType[*tgbotapi.Error](err); ok && te.RetryAfter > 0 {
		err = &RetryAfterError{Method: method, After: time.Duration(te.RetryAfter) * time.Second, Err: err}
	} else {
		err = fmt.Errorf("telegram %s: %w", method, err)
	}
	if msg := err.Error(); strings.Contains(msg, b.token) {
		err = &redactedError{msg: strings.ReplaceAll(msg, b.token, "<token>"), err: err}
	}
	return err
}

// permanent reports whether repeating the call cannot help: Telegram refused it
// with a 4xx other than 429 (flood control) and 409 (another poller or a webhook,
// which may go away).
func permanent(err error) bool {
	if _, ok := errors.AsType[*RetryAfterError](err); ok {
		return false
	}
	te, ok := errors.AsType[*tgbotapi.Error](err)
	return ok && te.Code >= 400 && te.Code < 500 && te.Code != http.StatusConflict && te.Code != http.StatusTooManyRequests
}

// ctxClient binds the library's requests, which have no context, to ctx.
type ctxClient struct {
	ctx context.Context
	c   *http.Client
}

func (c ctxClient) Do(r *http.Request) (*http.Response, error) { return c.c.Do(r.WithContext(c.ctx)) }

// redactedError hides the token that a request URL put into an error message,
// keeping the error chain for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
