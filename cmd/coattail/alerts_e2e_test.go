package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// botAPI is a fake Telegram Bot API for the alert tests: it hands out queued updates,
// answers 429 with retry_after to the first `throttle` sendMessage calls, and can
// accept one message and then never answer (the platform took it, the reply was lost:
// the window the outbox marks uncertain).
type botAPI struct {
	mu       sync.Mutex
	updates  []string
	throttle int
	hang     bool          // accept the next message, then hold the call open
	hung     chan struct{} // closed once a message was accepted and held
	sent     []sentMsg
}

type sentMsg struct{ chat, text string }

func (f *botAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	switch method {
	case "getMe":
		fmt.Fprint(w, `{"ok":true,"result":{"id":42,"is_bot":true,"first_name":"ct","username":"coattail_test_bot"}}`)
	case "setMyCommands", "deleteWebhook", "answerCallbackQuery", "deleteMyCommands":
		fmt.Fprint(w, `{"ok":true,"result":true}`)
	case "getUpdates":
		ups := "[" + strings.Join(f.updates, ",") + "]"
		f.updates = nil
		f.mu.Unlock()
		if ups == "[]" {
			select { // a short long-poll
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
			}
		}
		fmt.Fprintf(w, `{"ok":true,"result":%s}`, ups)
		return
	case "sendMessage":
		if f.throttle > 0 {
			f.throttle--
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`)
			break
		}
		chat := r.Form.Get("chat_id")
		f.sent = append(f.sent, sentMsg{chat, r.Form.Get("text")})
		if f.hang {
			f.hang = false
			close(f.hung)
			f.mu.Unlock()
			<-r.Context().Done() // until the bot is killed
			return
		}
		fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"date":0,"chat":{"id":%s,"type":"private"}}}`, len(f.sent), chat)
	default:
		fmt.Fprint(w, `{"ok":true,"result":true}`)
	}
	f.mu.Unlock()
}

func (f *botAPI) messages() []sentMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMsg(nil), f.sent...)
}

func (f *botAPI) push(ups ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, ups...)
}

// updateFrom is a private-chat command from user id.
func updateFrom(updateID, user int, text string) string {
	b, _ := json.Marshal(map[string]any{"update_id": updateID, "message": map[string]any{
		"message_id": updateID, "date": 0, "text": text,
		"from":     map[string]any{"id": user, "is_bot": false, "first_name": "u"},
		"chat":     map[string]any{"id": user, "type": "private"},
		"entities": []map[string]any{{"type": "bot_command", "offset": 0, "length": len(strings.Fields(text)[0])}},
	}})
	return string(b)
}

type outboxRow struct {
	signal    int64
	chat      string
	state     string
	uncertain bool
	action    string
}

func outbox(t *testing.T, s schema) []outboxRow {
	t.Helper()
	rows, err := s.st.Pool().Query(context.Background(), `SELECT o.signal_id, o.chat_id, o.state, o.uncertain, s.action
		FROM alert_outbox o JOIN signals s ON s.id = o.signal_id ORDER BY o.signal_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var o outboxRow
		if err := rows.Scan(&o.signal, &o.chat, &o.state, &o.uncertain, &o.action); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// End to end through the binary: a follower gets one alert per move of the wallet
// they follow, nobody gets anything about a wallet nobody follows, a user who did not
// follow gets nothing, a replay of the same file adds no alert, and a bot killed in
// the middle of a delivery (behind a 429 burst) loses nothing and repeats only what
// the outbox marked uncertain. Admin /papertrade through Telegram works for the
// configured admin only.
func TestAlertsEndToEnd(t *testing.T) {
	s := newSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := s.st.Follow(ctx, "telegram", "100", walletW, "", 50); err != nil {
		t.Fatal(err)
	}
	// User 200 exists (follows a wallet that never moves) and is not an admin.
	if _, err := s.st.Follow(ctx, "telegram", "200", "0x00000000000000000000000000000000000000aa", "", 50); err != nil {
		t.Fatal(err)
	}
	file := moves(t)
	if r := s.cli.run(t, "replay", "--json", file); r.code != 0 {
		t.Fatalf("replay: %s", r)
	}
	ob := outbox(t, s)
	if len(ob) != 3 {
		t.Fatalf("outbox after the replay: %+v, want the 3 moves of W for chat 100", ob)
	}
	for _, o := range ob {
		if o.chat != "100" || o.state != "pending" {
			t.Fatalf("outbox row %+v", o)
		}
	}

	api := &botAPI{throttle: 2, hang: true, hung: make(chan struct{})}
	srv := httptest.NewServer(api)
	defer srv.Close()
	c := s.cli.with("COATTAIL_TELEGRAM_TOKEN", "123:secret-token", "COATTAIL_TELEGRAM_API", srv.URL+"/bot%s/%s",
		"COATTAIL_ALERT_LEASE", "2s", "COATTAIL_ADMINS", "telegram:100")

	// First run: two 429s, then a message Telegram accepts but never confirms; kill -9.
	cmd, _, stderr := c.command(ctx, "bot")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-api.hung:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		t.Fatalf("no alert reached the fake Telegram; stderr:\n%s", stderr)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	api.mu.Lock()
	left := api.throttle
	api.mu.Unlock()
	if n := len(api.messages()); n != 1 || left != 0 {
		t.Fatalf("%d messages accepted before the kill (want 1), %d 429s left (want 0)", n, left)
	}

	// Second run: everything goes out; the admin's /papertrade works, the other's not.
	api.push(updateFrom(1, 200, "/papertrade on"), updateFrom(2, 100, "/papertrade on"))
	cmd, _, stderr = c.command(ctx, "bot")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ok := testenv.WaitFor(ctx, func() bool {
		for _, o := range outbox(t, s) {
			if o.state != "delivered" {
				return false
			}
		}
		var replies int
		for _, m := range api.messages() {
			if strings.Contains(m.text, "/papertrade") || strings.Contains(m.text, "Paper trading is now") {
				replies++
			}
		}
		return replies == 2
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if !ok {
		t.Fatalf("not everything delivered: outbox %+v, sent %q; stderr:\n%s", outbox(t, s), api.messages(), stderr)
	}

	// Every alert delivered; only an uncertain one twice.
	ob = outbox(t, s)
	verbs := map[string]string{"open": "opened long ETH", "add": "added to long ETH", "close": "closed long ETH"}
	uncertain := 0
	for _, o := range ob {
		n := 0
		for _, m := range api.messages() {
			if m.chat == "100" && strings.Contains(m.text, verbs[o.action]) {
				n++
			}
		}
		switch {
		case o.uncertain:
			uncertain++
			last := ""
			for _, m := range api.messages() {
				if m.chat == "100" && strings.Contains(m.text, verbs[o.action]) {
					last = m.text
				}
			}
			if n != 2 || !strings.Contains(last, "Possibly a repeat") {
				t.Errorf("uncertain alert %+v sent %d times, the repeat marked as such: %q", o, n, last)
			}
		case n != 1:
			t.Errorf("alert %+v sent %d times, want exactly once", o, n)
		}
	}
	if uncertain != 1 {
		t.Errorf("%d outbox rows uncertain, want the 1 accepted and unconfirmed before the kill: %+v", uncertain, ob)
	}
	var alerts int
	for _, m := range api.messages() {
		if strings.Contains(m.text, "0x5aaeb6") || strings.Contains(strings.ToLower(m.text), walletV) {
			t.Errorf("a message about V, whom nobody follows: %+v", m)
		}
		if strings.Contains(m.text, "Followed wallet moved") {
			alerts++
			if m.chat != "100" {
				t.Errorf("an alert went to chat %s: %q", m.chat, m.text)
			}
		}
		if m.chat == "200" && !strings.Contains(m.text, "for admins only") {
			t.Errorf("chat 200 got %q; it should only hear that /papertrade is for admins", m.text)
		}
	}
	if alerts != 4 {
		t.Errorf("%d alert messages, want 3 plus the 1 repeat", alerts)
	}
	scopes, err := s.st.Pool().Query(ctx, `SELECT scope FROM paper_scopes WHERE enabled`)
	if err != nil {
		t.Fatal(err)
	}
	var enabled []string
	for scopes.Next() {
		var sc string
		_ = scopes.Scan(&sc)
		enabled = append(enabled, sc)
	}
	if strings.Join(enabled, ",") != "telegram:100" {
		t.Errorf("paper scopes enabled: %v, want only the admin's chat", enabled)
	}

	// The same file again: no new signal, no new alert.
	if r := s.cli.run(t, "replay", "--json", file); r.code != 0 {
		t.Fatalf("second replay: %s", r)
	}
	if again := outbox(t, s); len(again) != 3 {
		t.Errorf("outbox after replaying the same file: %+v", again)
	}
	for _, o := range outbox(t, s) {
		if o.state != "delivered" {
			t.Errorf("a row went back to %s after the replay: %+v", o.state, o)
		}
	}
}
