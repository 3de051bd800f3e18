package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// fakeTelegram speaks just enough of the Bot API for the bot to start, receive one
// scripted update and answer it.
type fakeTelegram struct {
	mu      sync.Mutex
	updates []string // JSON update objects, handed out once
	sent    []string // text of sendMessage calls
}

func (f *fakeTelegram) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch method {
	case "getMe":
		fmt.Fprint(w, `{"ok":true,"result":{"id":42,"is_bot":true,"first_name":"ct","username":"coattail_test_bot"}}`)
	case "setMyCommands", "deleteWebhook":
		fmt.Fprint(w, `{"ok":true,"result":true}`)
	case "getUpdates":
		ups := "[" + strings.Join(f.updates, ",") + "]"
		f.updates = nil
		if ups == "[]" {
			time.Sleep(50 * time.Millisecond)
		}
		fmt.Fprintf(w, `{"ok":true,"result":%s}`, ups)
	case "sendMessage":
		f.sent = append(f.sent, r.Form.Get("text"))
		fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"date":0,"chat":{"id":7,"type":"private"}}}`, len(f.sent))
	default:
		fmt.Fprint(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
	}
}

func (f *fakeTelegram) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

func update(id int, text string) string {
	cmdLen := len(strings.Fields(text)[0])
	b, _ := json.Marshal(map[string]any{"update_id": id, "message": map[string]any{
		"message_id": id, "date": 0, "text": text,
		"from":     map[string]any{"id": 7, "is_bot": false, "first_name": "u"},
		"chat":     map[string]any{"id": 7, "type": "private"},
		"entities": []map[string]any{{"type": "bot_command", "offset": 0, "length": cmdLen}},
	}})
	return string(b)
}

// The Telegram front end is switched on by COATTAIL_TELEGRAM_TOKEN alone and its
// /follow lands in Postgres.
func TestBotFollowsThroughTelegram(t *testing.T) {
	s := newSchema(t)
	const wallet = "0x51f63885534cb494f4592a0311551f369bff2b39"
	fake := &fakeTelegram{updates: []string{update(1, "/follow "+wallet+" whale one")}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := s.cli.with("COATTAIL_TELEGRAM_TOKEN", "123:secret-token",
		"COATTAIL_TELEGRAM_API", srv.URL+"/bot%s/%s")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	cmd, _, stderr := c.command(ctx, "bot", "--metrics-addr", metricsAddr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ok := testenv.WaitFor(ctx, func() bool {
		var n int
		err := s.st.Pool().QueryRow(ctx, `SELECT count(*) FROM follows WHERE wallet = $1 AND label = 'whale one'`, wallet).Scan(&n)
		return err == nil && n == 1 && len(fake.texts()) > 0
	})
	// The bot process serves its own metrics: alert delivery and send errors.
	var metrics string
	testenv.WaitFor(ctx, func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		metrics = string(b)
		return strings.Contains(metrics, "coattail_alert_failures_total")
	})
	if !strings.Contains(metrics, "coattail_alert_failures_total") || !strings.Contains(metrics, "coattail_alert_delivery_seconds") {
		t.Errorf("coattail bot --metrics-addr serves no alert series:\n%.2000s", metrics)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if !ok {
		t.Fatalf("follow not stored or not answered; sent %q; stderr:\n%s", fake.texts(), stderr.String())
	}
	if got := fake.texts()[0]; !strings.Contains(strings.ToLower(got), "follow") {
		t.Errorf("reply %q does not confirm the follow", got)
	}
	if strings.Contains(stderr.String(), "secret-token") {
		t.Errorf("the token appeared in the logs:\n%s", stderr.String())
	}
}
