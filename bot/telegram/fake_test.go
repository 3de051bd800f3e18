package telegram

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// testToken looks like a real token, so the tests can check that it never leaks.
const testToken = "123456789:AAHtestTOKENnotREAL_abcdefghijklmnop"

// fakeAPI is a Telegram Bot API on httptest: getMe, getUpdates (long polling over
// scripted updates), sendMessage (recorded, with its HTML checked the way Telegram
// does), setMyCommands, and flood control or broken responses on demand.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	pending    []json.RawMessage // updates not yet confirmed, in id order
	pendingIDs []int
	nextID     int
	nextMsg    int
	wake       chan struct{} // closed when updates arrive or an offset is confirmed
	offsets    []int         // the offset of every getUpdates call
	sent       []sentMessage
	refused    []string // descriptions of sendMessage calls answered with an error
	menus      [][]tgbotapi.BotCommand
	calls      map[string]int

	// Scripted failures: the next n calls fail.
	throttleSends int // sendMessage: 429 with retryAfter
	retryAfter    int
	breakPolls    int            // getUpdates: the connection is dropped
	breakMe       int            // getMe: 502 with an HTML page
	blocked       map[int64]bool // sendMessage to these chats: 403, the user blocked the bot

	photos   []sentPhoto
	answered []string          // callback query ids acknowledged
	webhook  map[string]string // the last setWebhook parameters

	sentCh  chan sentMessage
	polling chan struct{} // a long poll is waiting (non-blocking signal)
}

type sentMessage struct {
	ChatID    int64
	Text      string // as sent: HTML
	ParseMode string
	ReplyTo   int
	Markup    string // reply_markup JSON (inline keyboard), "" when none
}

type sentPhoto struct {
	ChatID int64
	PNG    []byte
}

// sendPhoto records an uploaded picture, refusing what is not a PNG.
func (f *fakeAPI) sendPhoto(w http.ResponseWriter, r *http.Request) {
	chatID, err := strconv.ParseInt(r.FormValue("chat_id"), 10, 64)
	if err != nil {
		f.refuse(w, http.StatusBadRequest, "Bad Request: chat_id is not a number")
		return
	}
	f.mu.Lock()
	blocked := f.blocked[chatID]
	f.mu.Unlock()
	if blocked {
		f.refuse(w, http.StatusForbidden, "Forbidden: bot was blocked by the user")
		return
	}
	file, _, err := r.FormFile("photo")
	if err != nil {
		f.refuse(w, http.StatusBadRequest, "Bad Request: there is no photo in the request")
		return
	}
	defer file.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(file); err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("\x89PNG\r\n\x1a\n")) {
		f.refuse(w, http.StatusBadRequest, "Bad Request: IMAGE_PROCESS_FAILED")
		return
	}
	f.mu.Lock()
	f.photos = append(f.photos, sentPhoto{ChatID: chatID, PNG: buf.Bytes()})
	id := f.nextMsg
	f.nextMsg++
	f.mu.Unlock()
	ok(w, map[string]any{"message_id": id, "date": 1, "chat": map[string]any{"id": chatID, "type": "private"},
		"photo": []map[string]any{{"file_id": "x", "file_unique_id": "x", "width": 1, "height": 1}}})
}

// pushCallback scripts a button press by user on a message in c.
func (f *fakeAPI) pushCallback(c chat, user int64, id, data string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	updateID := f.nextID
	f.nextID++
	raw, err := json.Marshal(map[string]any{"update_id": updateID, "callback_query": map[string]any{
		"id":   id,
		"from": map[string]any{"id": user, "is_bot": false, "first_name": "U"},
		"message": map[string]any{"message_id": 1, "date": 1700000000, "chat": map[string]any{"id": c.id, "type": c.kind},
			"text": "an alert"},
		"chat_instance": "ci",
		"data":          data,
	}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.pending = append(f.pending, raw)
	f.pendingIDs = append(f.pendingIDs, updateID)
	f.broadcast()
	return updateID
}

func newFakeAPI(t *testing.T, token string) *fakeAPI {
	f := &fakeAPI{
		t:       t,
		nextID:  100,
		nextMsg: 1,
		wake:    make(chan struct{}),
		calls:   map[string]int{},
		blocked: map[int64]bool{},
		sentCh:  make(chan sentMessage, 1000),
		polling: make(chan struct{}, 1),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, ok := strings.CutPrefix(r.URL.Path, "/bot"+token+"/")
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"ok": false, "error_code": 401, "description": "Unauthorized"})
			return
		}
		if method == "sendPhoto" {
			// Uploads are multipart.
			if err := r.ParseMultipartForm(10 << 20); err != nil {
				t.Errorf("sendPhoto: parse multipart: %v", err)
			}
		} else {
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Errorf("%s %s with %q: want a form POST", r.Method, method, r.Header.Get("Content-Type"))
			}
			if err := r.ParseForm(); err != nil {
				t.Errorf("%s: parse form: %v", method, err)
			}
		}
		f.mu.Lock()
		f.calls[method]++
		f.mu.Unlock()
		switch method {
		case "getMe":
			f.getMe(w)
		case "getUpdates":
			f.getUpdates(w, r)
		case "sendMessage":
			f.sendMessage(w, r)
		case "setMyCommands":
			f.setMyCommands(w, r)
		case "sendPhoto":
			f.sendPhoto(w, r)
		case "answerCallbackQuery":
			f.mu.Lock()
			f.answered = append(f.answered, r.Form.Get("callback_query_id"))
			f.mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": true})
		case "setWebhook":
			f.mu.Lock()
			f.webhook = map[string]string{"url": r.Form.Get("url"), "secret_token": r.Form.Get("secret_token")}
			f.mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": true})
		default:
			writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error_code": 404, "description": "Not Found: method " + method})
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// endpoint is the APIEndpoint pattern of the fake.
func (f *fakeAPI) endpoint() string { return f.srv.URL + "/bot%s/%s" }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func ok(w http.ResponseWriter, result any) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": result})
}

func (f *fakeAPI) getMe(w http.ResponseWriter) {
	f.mu.Lock()
	broken := f.breakMe > 0
	if broken {
		f.breakMe--
	}
	f.mu.Unlock()
	if broken {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
		return
	}
	ok(w, map[string]any{"id": 999, "is_bot": true, "first_name": "Coat Tail", "username": "CoatTailBot"})
}

func (f *fakeAPI) getUpdates(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.Atoi(r.Form.Get("offset"))
	timeout, _ := strconv.Atoi(r.Form.Get("timeout"))
	limit, _ := strconv.Atoi(r.Form.Get("limit"))
	if limit <= 0 {
		limit = 100
	}
	f.mu.Lock()
	if f.breakPolls > 0 {
		f.breakPolls--
		f.mu.Unlock()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			f.t.Errorf("hijack: %v", err)
			return
		}
		_ = conn.Close()
		return
	}
	f.offsets = append(f.offsets, offset)
	// Telegram forgets updates below the offset: they are confirmed.
	for len(f.pendingIDs) > 0 && f.pendingIDs[0] < offset {
		f.pending, f.pendingIDs = f.pending[1:], f.pendingIDs[1:]
	}
	f.broadcast()
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for len(f.pending) == 0 && timeout > 0 {
		wake := f.wake
		f.mu.Unlock()
		select {
		case f.polling <- struct{}{}:
		default:
		}
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		case <-deadline.C:
			timeout = 0
		}
		f.mu.Lock()
	}
	out := append([]json.RawMessage(nil), f.pending[:min(limit, len(f.pending))]...)
	f.mu.Unlock()
	ok(w, out)
}

// broadcast wakes every waiter; call with f.mu held.
func (f *fakeAPI) broadcast() {
	close(f.wake)
	f.wake = make(chan struct{})
}

func (f *fakeAPI) sendMessage(w http.ResponseWriter, r *http.Request) {
	chatID, err := strconv.ParseInt(r.Form.Get("chat_id"), 10, 64)
	if err != nil {
		f.refuse(w, http.StatusBadRequest, "Bad Request: chat_id is not a number")
		return
	}
	text, mode := r.Form.Get("text"), r.Form.Get("parse_mode")
	f.mu.Lock()
	throttled := f.throttleSends > 0
	if throttled {
		f.throttleSends--
	}
	retry, blocked := f.retryAfter, f.blocked[chatID]
	f.mu.Unlock()
	if blocked {
		f.refuse(w, http.StatusForbidden, "Forbidden: bot was blocked by the user")
		return
	}
	if throttled {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error_code": 429,
			"description": fmt.Sprintf("Too Many Requests: retry after %d", retry), "parameters": map[string]any{"retry_after": retry}})
		return
	}
	if strings.TrimSpace(text) == "" {
		f.refuse(w, http.StatusBadRequest, "Bad Request: message text is empty")
		return
	}
	if mode == tgbotapi.ModeHTML {
		if _, err := htmlText(text); err != nil {
			f.refuse(w, http.StatusBadRequest, "Bad Request: can't parse entities: "+err.Error())
			return
		}
	}
	if utf16Len(text) > maxMessageLen {
		f.refuse(w, http.StatusBadRequest, "Bad Request: message is too long")
		return
	}
	replyTo, _ := strconv.Atoi(r.Form.Get("reply_to_message_id"))
	m := sentMessage{ChatID: chatID, Text: text, ParseMode: mode, ReplyTo: replyTo, Markup: r.Form.Get("reply_markup")}
	f.mu.Lock()
	f.sent = append(f.sent, m)
	id := f.nextMsg
	f.nextMsg++
	f.mu.Unlock()
	f.sentCh <- m
	ok(w, map[string]any{"message_id": id, "date": 1, "chat": map[string]any{"id": chatID, "type": "private"}, "text": text})
}

func (f *fakeAPI) refuse(w http.ResponseWriter, code int, desc string) {
	f.mu.Lock()
	f.refused = append(f.refused, desc)
	f.mu.Unlock()
	writeJSON(w, code, map[string]any{"ok": false, "error_code": code, "description": desc})
}

func (f *fakeAPI) setMyCommands(w http.ResponseWriter, r *http.Request) {
	var cmds []tgbotapi.BotCommand
	if err := json.Unmarshal([]byte(r.Form.Get("commands")), &cmds); err != nil {
		f.refuse(w, http.StatusBadRequest, "Bad Request: can't parse commands")
		return
	}
	for _, c := range cmds {
		if n := len([]rune(c.Description)); n < 1 || n > 256 || c.Command == "" || len(c.Command) > 32 {
			f.refuse(w, http.StatusBadRequest, "Bad Request: invalid command "+c.Command)
			return
		}
	}
	f.mu.Lock()
	f.menus = append(f.menus, cmds)
	f.mu.Unlock()
	ok(w, true)
}

// chat is where a scripted message comes from.
type chat struct {
	id   int64
	kind string // "private", "group", "supergroup"
}

// push scripts a text message from user in c, with a bot_command entity when it
// starts with "/", as Telegram sends it. It returns the update and message ids.
func (f *fakeAPI) push(c chat, user int64, isBot bool, text string) (updateID, messageID int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	updateID, messageID = f.nextID, f.nextMsg
	f.nextID++
	f.nextMsg++
	msg := map[string]any{
		"message_id": messageID,
		"date":       1700000000,
		"from":       map[string]any{"id": user, "is_bot": isBot, "first_name": "U" + strconv.FormatInt(user, 10)},
		"chat":       map[string]any{"id": c.id, "type": c.kind},
		"text":       text,
	}
	if strings.HasPrefix(text, "/") {
		first, _, _ := strings.Cut(text, " ")
		msg["entities"] = []map[string]any{{"type": "bot_command", "offset": 0, "length": utf16Len(first)}}
	}
	raw, err := json.Marshal(map[string]any{"update_id": updateID, "message": msg})
	if err != nil {
		f.t.Fatal(err)
	}
	f.pending = append(f.pending, raw)
	f.pendingIDs = append(f.pendingIDs, updateID)
	f.broadcast()
	return updateID, messageID
}

// waitConfirmed waits until a getUpdates call has confirmed every update below
// offset: the bot has finished with them.
func (f *fakeAPI) waitConfirmed(t *testing.T, offset int) {
	t.Helper()
	guard := time.NewTimer(10 * time.Second)
	defer guard.Stop()
	for {
		f.mu.Lock()
		done := len(f.offsets) > 0 && f.offsets[len(f.offsets)-1] >= offset
		wake := f.wake
		f.mu.Unlock()
		if done {
			return
		}
		select {
		case <-wake:
		case <-guard.C:
			t.Fatalf("updates below %d were never confirmed", offset)
		}
	}
}

// next waits for the next sent message.
func (f *fakeAPI) next(t *testing.T) sentMessage {
	t.Helper()
	select {
	case m := <-f.sentCh:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message was sent")
		return sentMessage{}
	}
}

func (f *fakeAPI) snapshot() (sent []sentMessage, refused []string, offsets []int, menus [][]tgbotapi.BotCommand, calls map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(map[string]int, len(f.calls))
	for k, v := range f.calls {
		c[k] = v
	}
	return append([]sentMessage(nil), f.sent...), append([]string(nil), f.refused...),
		append([]int(nil), f.offsets...), append([][]tgbotapi.BotCommand(nil), f.menus...), c
}

// htmlText checks HTML the way Telegram's parser does (known tags, properly nested,
// every <, > and & escaped) and returns the text it shows.
func htmlText(s string) (string, error) {
	var b strings.Builder
	var open []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				return "", fmt.Errorf("unclosed tag at byte offset %d", i)
			}
			tag := s[i+1 : i+j]
			i += j + 1
			if name, closing := strings.CutPrefix(tag, "/"); closing {
				if len(open) == 0 || open[len(open)-1] != name {
					return "", fmt.Errorf("can't find end tag corresponding to start tag %q", name)
				}
				open = open[:len(open)-1]
				continue
			}
			name, _, _ := strings.Cut(tag, " ")
			switch name {
			case "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span", "tg-spoiler", "blockquote":
			default:
				return "", fmt.Errorf("unsupported start tag %q", name)
			}
			open = append(open, name)
		case '>':
			return "", fmt.Errorf("unescaped > at byte offset %d", i)
		case '&':
			j := strings.IndexByte(s[i:], ';')
			if j < 0 {
				return "", fmt.Errorf("unterminated entity at byte offset %d", i)
			}
			switch ent := s[i+1 : i+j]; ent {
			case "lt":
				b.WriteByte('<')
			case "gt":
				b.WriteByte('>')
			case "amp":
				b.WriteByte('&')
			case "quot":
				b.WriteByte('"')
			default:
				return "", fmt.Errorf("unsupported entity &%s;", ent)
			}
			i += j + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	if len(open) > 0 {
		return "", fmt.Errorf("unclosed start tag %q", open[len(open)-1])
	}
	return b.String(), nil
}
