package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/store"
	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// fuzzAPI is a minimal Bot API: it accepts every call and records what was sent.
type fuzzAPI struct {
	mu    sync.Mutex
	calls map[string]int
	texts []string
}

func (a *fuzzAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseMultipartForm(1 << 20)
	method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	a.mu.Lock()
	a.calls[method]++
	if method == "sendMessage" {
		a.texts = append(a.texts, r.FormValue("text"))
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "getMe":
		fmt.Fprint(w, `{"ok":true,"result":{"id":42,"is_bot":true,"first_name":"ct","username":"coattail_fuzz_bot"}}`)
	case "sendMessage", "sendPhoto":
		fmt.Fprint(w, `{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"}}}`)
	default:
		fmt.Fprint(w, `{"ok":true,"result":true}`)
	}
}

// reset clears the record and returns what it held.
func (a *fuzzAPI) reset() (map[string]int, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, t := a.calls, a.texts
	a.calls, a.texts = map[string]int{}, nil
	return c, t
}

type emptyReader struct{}

func (emptyReader) Leaderboard(context.Context, store.LeaderboardQuery) ([]store.LeaderRow, error) {
	return nil, nil
}

func (emptyReader) Wallet(context.Context, string) (store.WalletView, error) {
	return store.WalletView{}, store.ErrNotFound
}

const fuzzSecret = "fuzz-secret-0123456789"

// fuzzBot is a Bot on a fuzzAPI, and its webhook handler.
func fuzzBot(f *testing.F) (*fuzzAPI, http.Handler) {
	f.Helper()
	api := &fuzzAPI{calls: map[string]int{}}
	srv := httptest.NewServer(api)
	f.Cleanup(srv.Close)
	r, err := bot.NewRouter(bot.Config{Reader: emptyReader{}, RateLimit: bot.RateLimit{Commands: -1}})
	if err != nil {
		f.Fatal(err)
	}
	b, err := New(Config{Token: "123:fuzz", APIEndpoint: srv.URL + "/bot%s/%s", HTTPClient: srv.Client(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sleep:  func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}, r)
	if err != nil {
		f.Fatal(err)
	}
	return api, b.WebhookHandler(fuzzSecret)
}

// post sends body to the webhook handler with the secret and returns the status.
func post(h http.Handler, body []byte) int {
	req := httptest.NewRequest(http.MethodPost, "/telegram", strings.NewReader(string(body)))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", fuzzSecret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// checkSent: every message the bot sent is valid UTF-8 within Telegram's 4096
// characters and not empty.
func checkSent(t *testing.T, texts []string) {
	t.Helper()
	for _, s := range texts {
		if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > 4096 {
			t.Fatalf("sent a message Telegram refuses (%d characters, valid UTF-8 %v): %.200q", utf8.RuneCountInString(s), utf8.ValidString(s), s)
		}
	}
}

// FuzzWebhookUpdate: whatever Telegram (or anyone holding the secret) posts, the
// handler answers 400 for a body that is not an update and 200 for one that is, never
// panics, and sends only messages Telegram accepts; a private message that is a
// command gets a reply.
func FuzzWebhookUpdate(f *testing.F) {
	msg := func(chat int64, typ, text string, cmdLen int) string {
		u := map[string]any{"update_id": 1, "message": map[string]any{"message_id": 5, "date": 0, "text": text,
			"from": map[string]any{"id": 7, "is_bot": false, "first_name": "u"},
			"chat": map[string]any{"id": chat, "type": typ}}}
		if cmdLen > 0 {
			u["message"].(map[string]any)["entities"] = []any{map[string]any{"type": "bot_command", "offset": 0, "length": cmdLen}}
		}
		b, _ := json.Marshal(u)
		return string(b)
	}
	for _, s := range []string{
		msg(7, "private", "/help", 5), msg(7, "private", "/leaderboard 5", 12), msg(7, "private", "/wallet 0x51f63885534cb494f4592a0311551f369bff2b39", 7),
		msg(-100, "supergroup", "/help@coattail_fuzz_bot", 23), msg(-100, "group", "/help@OtherBot", 14), msg(7, "private", "hello", 0),
		msg(7, "private", "/settings min nan", 9), msg(7, "private", "/"+strings.Repeat("x", 300), 301),
		`{"update_id":2,"callback_query":{"id":"c1","from":{"id":7,"is_bot":false,"first_name":"u"},"message":{"message_id":9,"date":0,"chat":{"id":7,"type":"private"}},"data":"/wallet 0x51f63885534cb494f4592a0311551f369bff2b39"}}`,
		`{"update_id":3,"edited_message":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"},"text":"/help"}}`,
		`{"update_id":4,"message":{"message_id":1,"date":0,"text":"/help"}}`,
		`{}`, `[]`, `{"update_id":"x"}`, `not json`, ``,
	} {
		f.Add([]byte(s))
	}
	api, h := fuzzBot(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		api.reset()
		code := post(h, body)
		calls, texts := api.reset()
		if code == http.StatusBadRequest {
			return // the handler's decoder refused it; nothing may have been sent
		}
		if code != http.StatusOK {
			t.Fatalf("status %d for %q", code, body)
		}
		checkSent(t, texts)
		var u tgbotapi.Update
		if err := json.Unmarshal(body, &u); err != nil {
			t.Fatalf("200 for a body that is not an update (%v): %q", err, body)
		}
		if m := u.Message; m != nil && m.Chat != nil && m.Chat.IsPrivate() && m.From != nil && !m.From.IsBot &&
			m.IsCommand() && strings.TrimSpace(m.Text) != "" && calls["sendMessage"]+calls["sendPhoto"] == 0 {
			t.Fatalf("no reply to the private command %q", m.Text)
		}
	})
}

// FuzzCallbackData: a button press with any data is acknowledged exactly once, and
// data that is a command gets at most one reply, which Telegram accepts.
func FuzzCallbackData(f *testing.F) {
	for _, s := range []string{"/help", "/wallet 0x51f63885534cb494f4592a0311551f369bff2b39", "/follow 0x51f63885534cb494f4592a0311551f369bff2b39",
		"/unfollow", "/leaderboard 7d", "follow:0x12", "", "/", "/\u0000", "/" + strings.Repeat("é", 70)} {
		f.Add(s)
	}
	api, h := fuzzBot(f)
	f.Fuzz(func(t *testing.T, data string) {
		u := map[string]any{"update_id": 1, "callback_query": map[string]any{"id": "cb",
			"from":    map[string]any{"id": 7, "is_bot": false, "first_name": "u"},
			"message": map[string]any{"message_id": 9, "date": 0, "chat": map[string]any{"id": 7, "type": "private"}},
			"data":    data}}
		body, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		api.reset()
		if code := post(h, body); code != http.StatusOK {
			t.Fatalf("status %d for data %q", code, data)
		}
		calls, texts := api.reset()
		if calls["answerCallbackQuery"] != 1 {
			t.Fatalf("answerCallbackQuery called %d times for %q", calls["answerCallbackQuery"], data)
		}
		if !strings.HasPrefix(data, "/") && len(texts) > 0 {
			t.Fatalf("replied %q to data %q that is not a command", texts, data)
		}
		checkSent(t, texts)
	})
}
