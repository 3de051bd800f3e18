package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// discordToken looks like a bot token; the fake refuses any other.
const discordToken = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"

const discordAppID = "4242"

// discordAPI is Discord at the wire for the end-to-end test of `coattail bot`: the
// REST calls the bot makes (command registration, interaction answers, channel
// messages, DM channels) and a gateway websocket (Hello, Identify, READY,
// heartbeat ACKs) on which the test dispatches INTERACTION_CREATE. bot/discord
// tests the client against a stricter fake; this one is just enough to carry
// commands in and alerts out of the binary.
type discordAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	conn     *websocket.Conn
	write    sync.Mutex
	seq      int
	ready    chan struct{} // closed at the first command registration
	once     sync.Once
	answers  map[string]discordAnswer
	messages []discordMessage
}

// discordAnswer is the bot's answer to one interaction.
type discordAnswer struct {
	text      string
	ephemeral bool
}

// discordMessage is a message the bot posted to a channel.
type discordMessage struct {
	channel string
	embeds  []discordEmbed
}

type discordEmbed struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Fields      []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer"`
}

func embedsText(es []discordEmbed) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.Title + "\n" + e.Description + "\n")
		for _, f := range e.Fields {
			b.WriteString(f.Name + ": " + f.Value + "\n")
		}
		if e.Footer != nil {
			b.WriteString(e.Footer.Text + "\n")
		}
	}
	return b.String()
}

func newDiscordAPI(t *testing.T) *discordAPI {
	f := &discordAPI{t: t, ready: make(chan struct{}), answers: map[string]discordAnswer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v9/gateway", f.gatewayURL)
	mux.HandleFunc("GET /api/v9/gateway/bot", f.gatewayURL)
	mux.HandleFunc("GET /gateway/", f.gateway)
	mux.HandleFunc("PUT /api/v9/applications/{app}/commands", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
		f.once.Do(func() { close(f.ready) })
	})
	mux.HandleFunc("POST /api/v9/interactions/{id}/{token}/callback", func(w http.ResponseWriter, r *http.Request) {
		var resp struct {
			Type int `json:"type"`
			Data struct {
				Embeds []discordEmbed `json:"embeds"`
				Flags  int            `json:"flags"`
			} `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&resp); err != nil {
			f.t.Errorf("interaction callback: %v", err)
		}
		if resp.Type == 4 { // a message; type 5 (deferred) is followed by an edit
			f.answer(r.PathValue("id"), discordAnswer{embedsText(resp.Data.Embeds), resp.Data.Flags&64 != 0})
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PATCH /api/v9/webhooks/{app}/{token}/messages/{msg}", func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Embeds []discordEmbed `json:"embeds"`
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		f.answer(strings.TrimPrefix(r.PathValue("token"), "tok-"), discordAnswer{text: embedsText(m.Embeds)})
		writeDiscordJSON(w, map[string]any{"id": "1", "channel_id": "1"})
	})
	mux.HandleFunc("POST /api/v9/webhooks/{app}/{token}", func(w http.ResponseWriter, r *http.Request) {
		writeDiscordJSON(w, map[string]any{"id": "2", "channel_id": "1"})
	})
	mux.HandleFunc("POST /api/v9/channels/{channel}/messages", f.channelMessage)
	mux.HandleFunc("POST /api/v9/users/@me/channels", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			RecipientID string `json:"recipient_id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.RecipientID == "" {
			f.t.Errorf("DM channel without a recipient: %v", err)
		}
		writeDiscordJSON(w, map[string]any{"id": dmChannel(body.RecipientID), "type": 1})
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/gateway/") && r.Header.Get("Authorization") != "Bot "+discordToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		f.mu.Lock()
		if f.conn != nil {
			_ = f.conn.NetConn().Close()
		}
		f.mu.Unlock()
		f.srv.Close()
	})
	return f
}

// dmChannel is the fake's DM channel id with a user.
func dmChannel(user string) string { return "77" + user }

func writeDiscordJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *discordAPI) apiBase() string { return f.srv.URL + "/api/v9" }
func (f *discordAPI) wsURL() string   { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/gateway" }

func (f *discordAPI) gatewayURL(w http.ResponseWriter, _ *http.Request) {
	writeDiscordJSON(w, map[string]any{"url": f.wsURL(), "shards": 1})
}

func (f *discordAPI) answer(id string, a discordAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[id] = a
}

func (f *discordAPI) answerTo(id string) (discordAnswer, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.answers[id]
	return a, ok
}

func (f *discordAPI) posted() []discordMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]discordMessage(nil), f.messages...)
}

// channelMessage records a message, JSON or multipart (an attached picture).
func (f *discordAPI) channelMessage(w http.ResponseWriter, r *http.Request) {
	var payload []byte
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil:
		f.t.Errorf("message content type: %v", err)
	case mt == "multipart/form-data":
		mr := multipart.NewReader(r.Body, params["boundary"])
		for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
			if p.FormName() == "payload_json" {
				payload, _ = io.ReadAll(p)
			}
		}
	default:
		payload, _ = io.ReadAll(r.Body)
	}
	var m struct {
		Embeds []discordEmbed `json:"embeds"`
	}
	if err := json.Unmarshal(payload, &m); err != nil {
		f.t.Errorf("message body: %v", err)
	}
	f.mu.Lock()
	f.messages = append(f.messages, discordMessage{channel: r.PathValue("channel"), embeds: m.Embeds})
	id := len(f.messages)
	f.mu.Unlock()
	writeDiscordJSON(w, map[string]any{"id": fmt.Sprint(id), "channel_id": r.PathValue("channel")})
}

func (f *discordAPI) send(c *websocket.Conn, v any) {
	f.write.Lock()
	defer f.write.Unlock()
	_ = c.WriteJSON(v)
}

func (f *discordAPI) dispatchOn(c *websocket.Conn, typ string, d any) {
	f.mu.Lock()
	f.seq++
	seq := f.seq
	f.mu.Unlock()
	f.send(c, map[string]any{"op": 0, "t": typ, "s": seq, "d": d})
}

// gateway speaks the gateway protocol on one websocket connection.
func (f *discordAPI) gateway(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		f.t.Errorf("gateway upgrade: %v", err)
		return
	}
	defer c.Close()
	f.mu.Lock()
	f.conn = c
	f.mu.Unlock()
	f.send(c, map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 1000}})
	for {
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := c.ReadJSON(&p); err != nil {
			return
		}
		switch p.Op {
		case 1: // heartbeat
			f.send(c, map[string]any{"op": 11})
		case 2, 6: // identify, resume: start afresh
			var d struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(p.D, &d)
			if p.Op == 2 && d.Token != "Bot "+discordToken {
				_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), time.Now().Add(time.Second))
				return
			}
			f.dispatchOn(c, "READY", map[string]any{
				"v": 9, "session_id": "session-1",
				"user":        map[string]any{"id": "999", "username": "coattail", "bot": true},
				"application": map[string]any{"id": discordAppID, "flags": 0},
				"guilds":      []any{}, "private_channels": []any{},
			})
		}
	}
}

// interact dispatches a slash command from a member of guild 500 in channel,
// with the channel permissions Discord computed for them.
func (f *discordAPI) interact(t *testing.T, id, user, channel string, perms int64, name string, options ...map[string]any) {
	t.Helper()
	f.mu.Lock()
	c := f.conn
	f.mu.Unlock()
	if c == nil {
		t.Fatal("the bot has no gateway connection")
	}
	f.dispatchOn(c, "INTERACTION_CREATE", map[string]any{
		"id": id, "application_id": discordAppID, "type": 2, "token": "tok-" + id, "version": 1,
		"guild_id": "500", "channel_id": channel,
		"member": map[string]any{
			"user":        map[string]any{"id": user, "username": "user" + user},
			"permissions": fmt.Sprint(perms),
		},
		"app_permissions": fmt.Sprint(discordView | discordSend | discordEmbedLinks),
		"data":            map[string]any{"id": "cmd-" + name, "name": name, "type": 1, "options": options},
	})
}

// Discord permission bits.
const (
	discordManageChannels = 1 << 4
	discordView           = 1 << 10
	discordSend           = 1 << 11
	discordEmbedLinks     = 1 << 14
)

// End to end through the binary on Discord: a member who may manage channel 600
// runs /alerts subscribe min_usd:50000 coins:ETH there; a member who may not is
// refused in channel 601; a user /follows wallet W. A replay of W's moves (ETH
// open $60,000, ETH add $20,050, BTC open $60,000, ETH close $80,400) and of a
// $100,000 ETH buy of V, whom nobody follows, then reaches Discord through the
// outbox: channel 600 gets exactly the ETH moves of at least $50,000, once each,
// as embeds; the follower gets every move of W in a direct message; nothing else
// is posted anywhere.
func TestDiscordAlertsEndToEnd(t *testing.T) {
	s := newSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	f := newDiscordAPI(t)
	c := s.cli.with("COATTAIL_DISCORD_TOKEN", discordToken, "COATTAIL_DISCORD_API", f.apiBase(),
		"COATTAIL_DISCORD_GATEWAY", f.wsURL())
	cmd, _, stderr := c.command(ctx, "bot")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	}
	defer stop()
	select {
	case <-f.ready:
	case <-ctx.Done():
		t.Fatalf("the bot never registered its commands; stderr:\n%s", stderr)
	}
	// The bot learns the order of each command's options when it registers the
	// commands; until then it routes a command without its options.

	subscribe := func(id, user, channel string, perms int64) {
		f.interact(t, id, user, channel, perms, "alerts", map[string]any{"name": "subscribe", "type": 1, "options": []map[string]any{
			{"name": "min_usd", "type": 10, "value": 50000},
			{"name": "coins", "type": 3, "value": "ETH"},
		}})
	}
	subscribe("1", "100", "600", discordView|discordSend|discordManageChannels)
	subscribe("2", "101", "601", discordView|discordSend)
	f.interact(t, "3", "300", "602", discordView|discordSend, "follow", map[string]any{"name": "address", "type": 3, "value": walletW})
	answers := map[string]discordAnswer{}
	if !testenv.WaitFor(ctx, func() bool {
		for _, id := range []string{"1", "2", "3"} {
			a, ok := f.answerTo(id)
			if !ok {
				return false
			}
			answers[id] = a
		}
		return true
	}) {
		t.Fatalf("not every interaction was answered: %+v; stderr:\n%s", answers, stderr)
	}
	if a := answers["1"]; a.ephemeral || !strings.Contains(a.text, "now receives alerts: moves of at least $50,000 · coins ETH") {
		t.Errorf("/alerts subscribe by a channel manager answered %+v", a)
	}
	if a := answers["2"]; !a.ephemeral || !strings.Contains(a.text, "Only members who may manage this channel") {
		t.Errorf("/alerts subscribe by a member without Manage Channels answered %+v; want a private refusal", a)
	}
	if a := answers["3"]; !strings.Contains(a.text, "Now following "+walletW) {
		t.Errorf("/follow answered %+v", a)
	}
	var subs []string
	rows, err := s.st.Pool().Query(ctx, `SELECT platform || ' ' || guild_id || ' ' || chat_id || ' ' || min_usd || ' ' || array_to_string(coins, ',')
		FROM channel_subscriptions ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var sub string
		if err := rows.Scan(&sub); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	if strings.Join(subs, ";") != "discord 500 600 50000 ETH" {
		t.Fatalf("channel subscriptions %q; want only channel 600's, the refused member's none", subs)
	}
	var alertChat string
	if err := s.st.Pool().QueryRow(ctx, `SELECT coalesce(alert_chat, '') FROM users WHERE platform = 'discord' AND user_id = '300'`).Scan(&alertChat); err != nil || alertChat != "user:300" {
		t.Fatalf("Discord user 300's alerts go to %q (%v); want user:300, a direct message", alertChat, err)
	}

	file := filepath.Join(t.TempDir(), "discord-moves.ndjson")
	testenv.WriteLines(t, file, []string{
		`{"kind":"price","src":"hyperliquid","ts":"2024-06-01T10:00:00Z","symbol":"ETH","price":"2000"}`,
		hlFill(walletW, "ETH", "buy", "2000", "30", "0", "2024-06-01T10:01:00Z", "201"),
		hlFill(walletV, "ETH", "buy", "2000", "50", "0", "2024-06-01T10:01:30Z", "202"),
		hlFill(walletW, "ETH", "buy", "2005", "10", "30", "2024-06-01T10:05:00Z", "203"),
		hlFill(walletW, "BTC", "buy", "60000", "1", "0", "2024-06-01T10:06:00Z", "204"),
		hlFill(walletW, "ETH", "sell", "2010", "40", "40", "2024-06-01T10:30:00Z", "205"),
	}, false)
	if r := s.cli.run(t, "replay", "--json", file); r.code != 0 {
		t.Fatalf("replay: %s", r)
	}

	// What the filter lets through, worked out here from the signals the replay
	// committed, not by the fan-out's SQL.
	type sig struct {
		id                         int64
		rule, wallet, coin, action string
		usd                        float64
		forChannel                 bool
	}
	var sigs []sig
	rows, err = s.st.Pool().Query(ctx, `SELECT id, rule, wallet, coin, action, usd FROM signals ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g sig
		if err := rows.Scan(&g.id, &g.rule, &g.wallet, &g.coin, &g.action, &g.usd); err != nil {
			t.Fatal(err)
		}
		g.forChannel = g.coin == "ETH" && g.usd >= 50000
		sigs = append(sigs, g)
	}
	var all, matching []string
	for _, g := range sigs {
		d := fmt.Sprintf("%s %s %s %.0f", g.rule, g.coin, g.action, g.usd)
		all = append(all, d)
		if g.forChannel {
			matching = append(matching, d)
		}
		if g.wallet != walletW {
			t.Errorf("signal %s of %s, whom nobody follows", d, g.wallet)
		}
	}
	// The fixture must exercise each part of the filter: a match, a move below
	// $50,000 and a move of another coin.
	if strings.Join(all, "; ") != "followed_move ETH open 60000; followed_move ETH add 20050; followed_move BTC open 60000; followed_move ETH close 80400" {
		t.Fatalf("signals after the replay: %q", all)
	}

	verb := map[string]string{"open": "opened long ", "add": "added to long ", "close": "closed long "}
	delivered := func() bool {
		var pending int
		if err := s.st.Pool().QueryRow(ctx, `SELECT count(*) FROM alert_outbox WHERE state <> 'delivered'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		return pending == 0 && len(f.posted()) >= len(sigs)+len(matching)
	}
	if !testenv.WaitFor(ctx, delivered) {
		t.Fatalf("alerts not delivered: %d messages posted; stderr:\n%s", len(f.posted()), stderr)
	}
	stop()

	byChannel := map[string][]string{}
	for _, m := range f.posted() {
		if len(m.embeds) == 0 {
			t.Errorf("a message to channel %s without an embed", m.channel)
		}
		byChannel[m.channel] = append(byChannel[m.channel], embedsText(m.embeds))
	}
	if got := slices.Sorted(maps.Keys(byChannel)); strings.Join(got, ",") != "600,"+dmChannel("300") {
		t.Errorf("messages went to channels %v; want only the subscribed channel 600 and user 300's DM", got)
	}
	count := func(channel string, g sig) int {
		n := 0
		for _, text := range byChannel[channel] {
			if strings.Contains(text, verb[g.action]+g.coin) {
				n++
			}
		}
		return n
	}
	for _, g := range sigs {
		want := 0
		if g.forChannel {
			want = 1
		}
		if n := count("600", g); n != want {
			t.Errorf("channel 600 got %d alerts of %s %s $%.0f; want %d", n, g.action, g.coin, g.usd, want)
		}
		if n := count(dmChannel("300"), g); n != 1 {
			t.Errorf("user 300's DM got %d alerts of %s %s; want exactly 1", n, g.action, g.coin)
		}
	}
	if len(byChannel["600"]) != len(matching) || len(byChannel[dmChannel("300")]) != len(sigs) {
		t.Errorf("channel 600 got %d messages (want %d), the DM %d (want %d):\n%q",
			len(byChannel["600"]), len(matching), len(byChannel[dmChannel("300")]), len(sigs), byChannel)
	}
	for _, text := range byChannel["600"] {
		if !strings.Contains(text, "ETH") || !strings.Contains(strings.ToLower(text), walletW[:6]) {
			t.Errorf("a channel alert that does not name the coin and the wallet: %q", text)
		}
	}
}
