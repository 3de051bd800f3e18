package discord

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/coattailcapital/coattail/alert"
)

// userChatPrefix marks a Send chat id that is a user id rather than a channel id:
// "user:1234" sends a direct message to user 1234.
const userChatPrefix = "user:"

// Discord JSON error codes that mean the chat can never receive from us again.
var blockedCodes = map[int]string{
	10003: "unknown channel",
	10013: "unknown user",
	50001: "missing access",
	50007: "cannot send messages to this user",
	50013: "missing permissions",
}

// Limits on message components.
const (
	maxButtonsPerRow = 5
	maxButtonRows    = 5
	maxButtonLabel   = 80
	maxCustomID      = 100
	photoName        = "alert.png"
	// defaultRetryAfter is the wait assumed for a 429 that names none.
	defaultRetryAfter = time.Second
)

// Platform returns "discord": the alert.Sender platform.
func (b *Bot) Platform() string { return Platform }

// Send posts an alert to chatID: a channel id (a subscribed channel), or
// "user:<id>" for a direct message to that user. The reply goes as embeds, the
// buttons as components under the last message (pressed, they run the command
// their Data names: "follow:0x…" runs /follow 0x…), a picture as an attached PNG
// shown in the first embed. It does not need Run.
//
// A 429 is returned as *alert.RateLimitedError with Discord's wait (the body's
// retry_after, else X-RateLimit-Reset-After, else Retry-After); an unknown
// channel or user, missing access or permissions as alert.ErrBlocked. A reply
// longer than one message is sent as several; when a later one fails, the
// earlier ones stay sent.
func (b *Bot) Send(ctx context.Context, chatID string, m alert.Message) error {
	channel, err := b.channelFor(ctx, chatID)
	if err != nil {
		return err
	}
	msgs := renderEmbeds(m.Reply)
	if len(msgs) == 0 {
		if len(m.PhotoPNG) == 0 {
			return fmt.Errorf("discord: send to %s: the message is empty", chatID)
		}
		msgs = [][]*discordgo.MessageEmbed{{{Color: colourInfo}}}
	}
	for n, embeds := range msgs {
		send := &discordgo.MessageSend{
			Embeds:          embeds,
			AllowedMentions: &discordgo.MessageAllowedMentions{}, // an alert never pings anyone
		}
		if n == 0 && len(m.PhotoPNG) > 0 {
			send.Files = []*discordgo.File{{Name: photoName, ContentType: "image/png", Reader: bytes.NewReader(m.PhotoPNG)}}
			embeds[0].Image = &discordgo.MessageEmbedImage{URL: "attachment://" + photoName}
		}
		if n == len(msgs)-1 {
			send.Components = buttonRows(m.Buttons)
		}
		err := b.rest(ctx, func(opts ...discordgo.RequestOption) error {
			_, err := b.session.ChannelMessageSendComplex(channel, send, opts...)
			return err
		})
		if err != nil {
			return fmt.Errorf("discord: send part %d of %d to %s: %w", n+1, len(msgs), chatID, err)
		}
	}
	return nil
}

// channelFor resolves "user:<id>" to the DM channel with that user, creating it
// once; any other chat id is a channel id already.
func (b *Bot) channelFor(ctx context.Context, chatID string) (string, error) {
	user, isUser := strings.CutPrefix(chatID, userChatPrefix)
	if !isUser {
		if chatID == "" || strings.Trim(chatID, "0123456789") != "" {
			return "", fmt.Errorf("discord: send to %q: not a Discord channel id", chatID)
		}
		return chatID, nil
	}
	if user == "" || strings.Trim(user, "0123456789") != "" {
		return "", fmt.Errorf("discord: send to %q: not a Discord user id", chatID)
	}
	b.mu.Lock()
	ch, ok := b.dms[user]
	b.mu.Unlock()
	if ok {
		return ch, nil
	}
	err := b.rest(ctx, func(opts ...discordgo.RequestOption) error {
		c, err := b.session.UserChannelCreate(user, opts...)
		if err == nil {
			ch = c.ID
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("discord: open a direct message with user %s: %w", user, err)
	}
	b.mu.Lock()
	b.dms[user] = ch
	b.mu.Unlock()
	return ch, nil
}

// buttonRows lays buttons out in rows of five, skipping those without data or
// repeating one already shown (Discord refuses duplicate custom ids).
func buttonRows(buttons []alert.Button) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	var row discordgo.ActionsRow
	seen := map[string]bool{}
	for _, bt := range buttons {
		if bt.Data == "" || seen[bt.Data] || len(bt.Data) > maxCustomID {
			continue
		}
		if len(row.Components) == maxButtonsPerRow {
			rows = append(rows, row)
			row = discordgo.ActionsRow{}
		}
		if len(rows) == maxButtonRows {
			break
		}
		seen[bt.Data] = true
		label := clip(orDefault(bt.Text, bt.Data), maxButtonLabel)
		row.Components = append(row.Components, discordgo.Button{Label: label, Style: discordgo.SecondaryButton, CustomID: bt.Data})
	}
	if len(row.Components) > 0 && len(rows) < maxButtonRows {
		rows = append(rows, row)
	}
	return rows
}

// rest makes one REST call without discordgo's own waiting on a 429, with a
// client that records the response headers, and turns the answer into the
// alert package's errors.
func (b *Bot) rest(ctx context.Context, call func(opts ...discordgo.RequestOption) error) error {
	rec := &recorder{}
	client := *b.client
	rec.base = client.Transport
	client.Transport = rec
	err := call(discordgo.WithContext(ctx), discordgo.WithClient(&client),
		discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
	if err == nil {
		return nil
	}
	return b.redact(classify(err, rec))
}

// classify maps Discord's refusals to alert.RateLimitedError and alert.ErrBlocked.
func classify(err error, rec *recorder) error {
	status, header, body := rec.last()
	var rl *discordgo.RateLimitError
	if status == http.StatusTooManyRequests || errors.As(err, &rl) {
		return &alert.RateLimitedError{RetryAfter: retryAfter(rl, header, body)}
	}
	if re, ok := errors.AsType[*discordgo.RESTError](err); ok && re.Message != nil && re.Response != nil {
		code := re.Response.StatusCode
		if what, blocked := blockedCodes[re.Message.Code]; blocked && (code == http.StatusForbidden || code == http.StatusNotFound) {
			return fmt.Errorf("%w: %s (Discord %d, code %d)", alert.ErrBlocked, what, code, re.Message.Code)
		}
		return fmt.Errorf("discord refused the message (%d, code %d): %s", code, re.Message.Code, re.Message.Message)
	}
	return err
}

// retryAfter is Discord's wait for a 429, from the most precise source there is:
// the JSON body's retry_after (seconds, fractional), X-RateLimit-Reset-After,
// then Retry-After (whole seconds).
func retryAfter(rl *discordgo.RateLimitError, h http.Header, body []byte) time.Duration {
	if rl != nil && rl.TooManyRequests != nil && rl.RetryAfter > 0 {
		return rl.RetryAfter
	}
	if d, ok := bodyRetryAfter(body); ok {
		return d
	}
	for _, name := range []string{"X-RateLimit-Reset-After", "Retry-After"} {
		if d, ok := seconds(h.Get(name)); ok {
			return d
		}
	}
	return defaultRetryAfter
}

// bodyRetryAfter reads retry_after from a 429 body discordgo could not parse
// (it fails on bodies that are not JSON, so this is a fallback for those that
// are but were not handed over).
func bodyRetryAfter(body []byte) (time.Duration, bool) {
	var t discordgo.TooManyRequests
	if len(body) == 0 || t.UnmarshalJSON(body) != nil || t.RetryAfter <= 0 {
		return 0, false
	}
	return t.RetryAfter, true
}

func seconds(s string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 24*3600 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// recorder is a RoundTripper that keeps the last response's status, headers
// and, for a 429, its body.
type recorder struct {
	base   http.RoundTripper
	status int
	header http.Header
	body   []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.status, r.header, r.body = resp.StatusCode, resp.Header.Clone(), nil
	if resp.StatusCode == http.StatusTooManyRequests {
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		r.body = body
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

func (r *recorder) last() (int, http.Header, []byte) {
	if r.header == nil {
		return r.status, http.Header{}, r.body
	}
	return r.status, r.header, r.body
}
