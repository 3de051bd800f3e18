package discord

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// testToken looks like a real bot token, so the tests can check it never leaks.
const testToken = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"

const (
	fakeAppID   = "4242"
	fakeBotUser = "999"
	// heartbeatMS is the fake gateway's heartbeat interval; discordgo gives up on
	// a connection after five intervals without an ACK.
	heartbeatMS = 500
)

// fakeDiscord is Discord on httptest, at the wire: the REST API (gateway
// discovery, bulk command overwrite, interaction callbacks and webhooks, channel
// messages and DM channels, with 429s and refusals on demand) and the gateway
// websocket (Hello, Identify or Resume, READY or RESUMED, heartbeat ACKs,
// dispatches), checking Discord's limits the way Discord does.
type fakeDiscord struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	conn        *websocket.Conn // the current gateway connection
	connWrite   sync.Mutex
	seq         int
	connections int
	identifies  []map[string]any
	resumes     []map[string]any
	heartbeats  int
	commands    [][]*discordgo.ApplicationCommand
	callbacks   []callback
	edits       []webhookMessage
	followups   []webhookMessage
	messages    []channelMessage
	refused     []string
	// scripted refusals of POST /channels/{id}/messages, by channel id
	throttle map[string]throttle
	refuse   map[string]refusal
	// advertised, when set, is the gateway URL GET /gateway names instead of ours
	advertised string

	// events counts what happened by kind ("ready", "resumed", "callback", "edit",
	// "followup", "message", "commands"); waited counts what tests waited for.
	events map[string]int
	waited map[string]int
	wake   chan struct{} // closed and replaced on every event
}

type throttle struct {
	header http.Header
	body   string
}

type refusal struct {
	status int
	code   int
	msg    string
}

type callback struct {
	InteractionID string
	Token         string
	Type          discordgo.InteractionResponseType
	Data          discordgo.InteractionResponseData
}

type webhookMessage struct {
	Token  string
	Embeds []*discordgo.MessageEmbed
	Flags  discordgo.MessageFlags
}

type channelMessage struct {
	ChannelID  string
	Embeds     []*discordgo.MessageEmbed
	Components []struct {
		Type       int `json:"type"`
		Components []struct {
			Type     int    `json:"type"`
			Label    string `json:"label"`
			CustomID string `json:"custom_id"`
		} `json:"components"`
	}
	Files map[string][]byte // attachments by file name
}

func newFakeDiscord(t *testing.T) *fakeDiscord {
	f := &fakeDiscord{
		t:        t,
		throttle: map[string]throttle{},
		refuse:   map[string]refusal{},
		events:   map[string]int{},
		waited:   map[string]int{},
		wake:     make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v9/gateway", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		u := f.advertised
		f.mu.Unlock()
		if u == "" {
			u = f.gatewayURL()
		}
		writeJSON(w, http.StatusOK, map[string]any{"url": u})
	})
	mux.HandleFunc("GET /gateway/", f.gateway)
	mux.HandleFunc("PUT /api/v9/applications/{app}/commands", f.bulkOverwrite)
	mux.HandleFunc("POST /api/v9/interactions/{id}/{token}/callback", f.callback)
	mux.HandleFunc("PATCH /api/v9/webhooks/{app}/{token}/messages/{msg}", f.editOriginal)
	mux.HandleFunc("POST /api/v9/webhooks/{app}/{token}", f.followup)
	mux.HandleFunc("POST /api/v9/channels/{channel}/messages", f.channelMessage)
	mux.HandleFunc("POST /api/v9/users/@me/channels", f.dmChannel)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/gateway/") && r.Header.Get("Authorization") != "Bot "+testToken {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401: Unauthorized", "code": 0})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		f.drop()
		f.srv.Close()
	})
	return f
}

// apiBase is the REST base URL of the fake, for Config.APIBase.
func (f *fakeDiscord) apiBase() string { return f.srv.URL + "/api/v9" }

func (f *fakeDiscord) gatewayURL() string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/gateway"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeDiscord) note(event string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events[event]++
	close(f.wake)
	f.wake = make(chan struct{})
}

// wait waits for the next event of a kind: one more than the test waited for
// before, in whatever order the events of different kinds came.
func (f *fakeDiscord) wait(t *testing.T, kind string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		f.mu.Lock()
		if f.events[kind] > f.waited[kind] {
			f.waited[kind]++
			f.mu.Unlock()
			return
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("no %q event from the bot", kind)
		}
	}
}

// badRequest answers the way Discord does when a body breaks its rules.
func (f *fakeDiscord) badRequest(w http.ResponseWriter, why string) {
	f.mu.Lock()
	f.refused = append(f.refused, why)
	f.mu.Unlock()
	f.t.Errorf("fake Discord refused a request: %s", why)
	writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid Form Body: " + why, "code": 50035})
}

// checkEmbeds applies Discord's embed limits.
func checkEmbeds(embeds []*discordgo.MessageEmbed) string {
	if len(embeds) > 10 {
		return fmt.Sprintf("%d embeds", len(embeds))
	}
	total := 0
	for _, e := range embeds {
		if n := units(e.Title); n > 256 {
			return fmt.Sprintf("title of %d", n)
		}
		if n := units(e.Description); n > 4096 {
			return fmt.Sprintf("description of %d", n)
		}
		if len(e.Fields) > 25 {
			return fmt.Sprintf("%d fields", len(e.Fields))
		}
		total += units(e.Title) + units(e.Description)
		if e.Footer != nil {
			if n := units(e.Footer.Text); n > 2048 {
				return fmt.Sprintf("footer of %d", n)
			}
			total += units(e.Footer.Text)
		}
	}
	if total > 6000 {
		return fmt.Sprintf("embeds of %d characters in all", total)
	}
	return ""
}

func (f *fakeDiscord) bulkOverwrite(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("app") != fakeAppID {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Unknown Application", "code": 10002})
		return
	}
	var cmds []*discordgo.ApplicationCommand
	if err := json.NewDecoder(r.Body).Decode(&cmds); err != nil {
		f.badRequest(w, "commands: "+err.Error())
		return
	}
	for _, c := range cmds {
		if why := checkCommand(c); why != "" {
			f.badRequest(w, why)
			return
		}
	}
	f.mu.Lock()
	f.commands = append(f.commands, cmds)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, cmds)
	f.note("commands")
}

// checkCommand applies Discord's rules on a chat command and its options.
func checkCommand(c *discordgo.ApplicationCommand) string {
	if c.Name == "" || len(c.Name) > 32 || optionName(c.Name) != c.Name {
		return "command name " + c.Name
	}
	if n := units(c.Description); n < 1 || n > 100 {
		return fmt.Sprintf("/%s description of %d", c.Name, n)
	}
	return checkOptions("/"+c.Name, c.Options)
}

func checkOptions(where string, opts []*discordgo.ApplicationCommandOption) string {
	if len(opts) > 25 {
		return where + ": too many options"
	}
	optional := false
	seen := map[string]bool{}
	for _, o := range opts {
		if o.Name == "" || len(o.Name) > 32 || optionName(o.Name) != o.Name || seen[o.Name] {
			return where + ": option name " + o.Name
		}
		seen[o.Name] = true
		if n := units(o.Description); n < 1 || n > 100 {
			return fmt.Sprintf("%s %s: description of %d", where, o.Name, n)
		}
		if o.Required && optional {
			return where + ": required option " + o.Name + " after an optional one"
		}
		optional = optional || !o.Required
		if why := checkOptions(where+" "+o.Name, o.Options); why != "" {
			return why
		}
	}
	return ""
}

func (f *fakeDiscord) callback(w http.ResponseWriter, r *http.Request) {
	var resp discordgo.InteractionResponse
	if err := json.NewDecoder(r.Body).Decode(&resp); err != nil {
		f.badRequest(w, "callback: "+err.Error())
		return
	}
	cb := callback{InteractionID: r.PathValue("id"), Token: r.PathValue("token"), Type: resp.Type}
	if resp.Data != nil {
		cb.Data = *resp.Data
		if why := checkEmbeds(resp.Data.Embeds); why != "" {
			f.badRequest(w, why)
			return
		}
	}
	f.mu.Lock()
	f.callbacks = append(f.callbacks, cb)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	f.note("callback")
}

func (f *fakeDiscord) editOriginal(w http.ResponseWriter, r *http.Request) {
	var m struct {
		Embeds []*discordgo.MessageEmbed `json:"embeds"`
	}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		f.badRequest(w, "edit: "+err.Error())
		return
	}
	if why := checkEmbeds(m.Embeds); why != "" {
		f.badRequest(w, why)
		return
	}
	f.mu.Lock()
	f.edits = append(f.edits, webhookMessage{Token: r.PathValue("token"), Embeds: m.Embeds})
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": "1", "channel_id": "1", "embeds": m.Embeds})
	f.note("edit")
}

func (f *fakeDiscord) followup(w http.ResponseWriter, r *http.Request) {
	var m struct {
		Embeds []*discordgo.MessageEmbed `json:"embeds"`
		Flags  discordgo.MessageFlags    `json:"flags"`
	}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		f.badRequest(w, "follow-up: "+err.Error())
		return
	}
	if why := checkEmbeds(m.Embeds); why != "" {
		f.badRequest(w, why)
		return
	}
	f.mu.Lock()
	f.followups = append(f.followups, webhookMessage{Token: r.PathValue("token"), Embeds: m.Embeds, Flags: m.Flags})
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": "2", "channel_id": "1"})
	f.note("followup")
}

func (f *fakeDiscord) channelMessage(w http.ResponseWriter, r *http.Request) {
	ch := r.PathValue("channel")
	f.mu.Lock()
	th, throttled := f.throttle[ch]
	delete(f.throttle, ch)
	ref, refused := f.refuse[ch]
	f.mu.Unlock()
	if throttled {
		for k, v := range th.header {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, th.body)
		return
	}
	if refused {
		writeJSON(w, ref.status, map[string]any{"message": ref.msg, "code": ref.code})
		return
	}
	m := channelMessage{ChannelID: ch, Files: map[string][]byte{}}
	payload, err := f.readMessageBody(r, &m)
	if err != nil {
		f.badRequest(w, "message: "+err.Error())
		return
	}
	if err := json.Unmarshal(payload, &m); err != nil {
		f.badRequest(w, "message JSON: "+err.Error())
		return
	}
	if why := checkEmbeds(m.Embeds); why != "" {
		f.badRequest(w, why)
		return
	}
	if len(m.Components) > 5 {
		f.badRequest(w, "more than 5 action rows")
		return
	}
	for _, row := range m.Components {
		if row.Type != 1 || len(row.Components) > 5 {
			f.badRequest(w, "bad action row")
			return
		}
	}
	f.mu.Lock()
	f.messages = append(f.messages, m)
	id := len(f.messages)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": fmt.Sprint(id), "channel_id": ch})
	f.note("message")
}

// readMessageBody returns the JSON payload of a message, from a JSON body or
// from the payload_json part of a multipart one (files attached).
func (f *fakeDiscord) readMessageBody(r *http.Request, m *channelMessage) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	if mt == "application/json" {
		return io.ReadAll(r.Body)
	}
	if mt != "multipart/form-data" {
		return nil, fmt.Errorf("content type %q", mt)
	}
	var payload []byte
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return payload, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		if p.FormName() == "payload_json" {
			payload = b
		} else {
			m.Files[p.FileName()] = b
		}
	}
}

func (f *fakeDiscord) dmChannel(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.RecipientID == "" {
		f.badRequest(w, "DM channel without a recipient")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": "77" + body.RecipientID, "type": 1})
}

// gateway speaks the gateway protocol on one websocket connection.
func (f *fakeDiscord) gateway(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("v") != "9" || r.URL.Query().Get("encoding") != "json" {
		f.t.Errorf("gateway URL %s: want v=9 and encoding=json", r.URL)
	}
	up := websocket.Upgrader{}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		f.t.Errorf("upgrade: %v", err)
		return
	}
	f.mu.Lock()
	f.conn = c
	f.connections++
	f.mu.Unlock()
	defer c.Close()
	f.send(c, map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": heartbeatMS}})
	for {
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := c.ReadJSON(&p); err != nil {
			return
		}
		var d map[string]any
		_ = json.Unmarshal(p.D, &d)
		switch p.Op {
		case 1: // heartbeat
			f.mu.Lock()
			f.heartbeats++
			f.mu.Unlock()
			f.send(c, map[string]any{"op": 11})
		case 2: // identify
			if d["token"] != "Bot "+testToken {
				_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), time.Now().Add(time.Second))
				return
			}
			f.mu.Lock()
			f.identifies = append(f.identifies, d)
			n := len(f.identifies)
			f.mu.Unlock()
			f.dispatchOn(c, "READY", map[string]any{
				"v": 9, "session_id": fmt.Sprintf("session-%d", n),
				"user":        map[string]any{"id": fakeBotUser, "username": "coattail", "bot": true},
				"application": map[string]any{"id": fakeAppID, "flags": 0},
				"guilds":      []any{}, "private_channels": []any{},
			})
			f.note("ready")
		case 6: // resume
			f.mu.Lock()
			f.resumes = append(f.resumes, d)
			f.mu.Unlock()
			f.dispatchOn(c, "RESUMED", map[string]any{})
			f.note("resumed")
		}
	}
}

func (f *fakeDiscord) send(c *websocket.Conn, v any) {
	f.connWrite.Lock()
	defer f.connWrite.Unlock()
	_ = c.WriteJSON(v)
}

func (f *fakeDiscord) dispatchOn(c *websocket.Conn, typ string, d any) {
	f.mu.Lock()
	f.seq++
	seq := f.seq
	f.mu.Unlock()
	f.send(c, map[string]any{"op": 0, "t": typ, "s": seq, "d": d})
}

// dispatch sends an event on the current gateway connection.
func (f *fakeDiscord) dispatch(t *testing.T, typ string, d any) {
	t.Helper()
	f.mu.Lock()
	c := f.conn
	f.mu.Unlock()
	if c == nil {
		t.Fatal("no gateway connection to dispatch on")
	}
	f.dispatchOn(c, typ, d)
}

// drop closes the current gateway connection without a close frame, as a
// network failure would.
func (f *fakeDiscord) drop() {
	f.mu.Lock()
	c := f.conn
	f.conn = nil
	f.mu.Unlock()
	if c != nil {
		_ = c.NetConn().Close()
	}
}

type snapshot struct {
	connections int
	identifies  []map[string]any
	resumes     []map[string]any
	heartbeats  int
	commands    [][]*discordgo.ApplicationCommand
	callbacks   []callback
	edits       []webhookMessage
	followups   []webhookMessage
	messages    []channelMessage
}

func (f *fakeDiscord) snapshot() snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return snapshot{
		connections: f.connections,
		identifies:  append([]map[string]any(nil), f.identifies...),
		resumes:     append([]map[string]any(nil), f.resumes...),
		heartbeats:  f.heartbeats,
		commands:    append([][]*discordgo.ApplicationCommand(nil), f.commands...),
		callbacks:   append([]callback(nil), f.callbacks...),
		edits:       append([]webhookMessage(nil), f.edits...),
		followups:   append([]webhookMessage(nil), f.followups...),
		messages:    append([]channelMessage(nil), f.messages...),
	}
}

// interaction is an INTERACTION_CREATE payload for a slash command in a guild
// channel, from user with the given channel permissions.
func slashInteraction(id, user string, perms int64, name string, options ...map[string]any) map[string]any {
	return map[string]any{
		"id": id, "application_id": fakeAppID, "type": 2, "token": "tok-" + id, "version": 1,
		"guild_id": "500", "channel_id": "600",
		"member": map[string]any{
			"user":        map[string]any{"id": user, "username": "user" + user},
			"permissions": fmt.Sprint(perms),
		},
		"app_permissions": fmt.Sprint(int64(discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionEmbedLinks)),
		"data":            map[string]any{"id": "cmd-" + name, "name": name, "type": 1, "options": options},
	}
}

func opt(name string, typ discordgo.ApplicationCommandOptionType, value any) map[string]any {
	return map[string]any{"name": name, "type": int(typ), "value": value}
}

func subcommand(name string, options ...map[string]any) map[string]any {
	return map[string]any{"name": name, "type": int(discordgo.ApplicationCommandOptionSubCommand), "options": options}
}
