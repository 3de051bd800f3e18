package alert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/coattail/bot"
)

// Sender delivers one message to one chat on one platform. The Dispatcher
// holds one Sender per platform ("telegram", "discord", "console") and routes
// each outbox row to the Sender whose Platform matches the row's platform.
//
// Send must return nil only when the platform accepted the message: that is
// the moment the Dispatcher marks the row delivered. It returns a
// *RateLimitedError when the platform asked us to wait (Telegram's 429
// retry_after, Discord's rate-limit headers), ErrBlocked (possibly wrapped)
// when the chat can never receive from us again (the user blocked the bot,
// the channel is gone, the bot was kicked), and any other error for a failure
// worth retrying later with backoff.
type Sender interface {
	Platform() string
	Send(ctx context.Context, chatID string, m Message) error
}

// Message is one alert or digest as platforms render it.
type Message struct {
	// Reply is the platform-neutral text: the Title in bold, the Text, a Table
	// in a monospaced block, the Footer.
	Reply bot.Reply
	// Buttons are an inline keyboard under the message (Telegram inline
	// keyboards, Discord components), in one row. Data is what comes back when
	// a button is pressed, such as "follow:0xabc…"; at most 64 bytes (Telegram's
	// callback_data limit).
	Buttons []Button
	// PhotoPNG, when set, is sent as a picture with the reply as its caption.
	PhotoPNG []byte
}

// Button is one inline-keyboard button: bot.Button, so a command's reply and an
// alert carry the same kind. Data is a command line ("/follow 0x…") that the
// platform routes as if the user had typed it.
type Button = bot.Button

// RateLimitedError is returned by a Sender when the platform refused the
// message for now and said how long to wait. The message was not delivered.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited: retry after %v", e.RetryAfter)
}

// ErrBlocked means the chat cannot receive messages from the bot any more
// (Telegram 403 "bot was blocked by the user", a deleted chat, a Discord
// channel the bot lost access to). The Dispatcher deactivates the chat and
// drops its pending alerts instead of retrying.
var ErrBlocked = errors.New("alert: chat blocked the bot or is gone")
