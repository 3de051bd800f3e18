package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/coattailcapital/coattail/store"
)

// Reader is what the router needs from the store.
type Reader interface {
	Leaderboard(ctx context.Context, q store.LeaderboardQuery) ([]store.LeaderRow, error)
	// Wallet returns store.ErrNotFound when nothing is known of the address.
	Wallet(ctx context.Context, address string) (store.WalletView, error)
}

// Config configures a Router. Every field but Reader has a usable zero value.
type Config struct {
	// Reader answers /leaderboard and /wallet. Required.
	Reader Reader
	// Now is the clock for rate limiting and "last seen" times. Defaults to time.Now.
	Now func() time.Time
	// RateLimit bounds commands per user. Defaults to 20 commands per 10 seconds.
	RateLimit RateLimit
	// Logger receives handler failures. Defaults to discarding everything.
	Logger *slog.Logger
	// BotName is the bot's own username, with or without "@". When set,
	// "/cmd@OtherBot" (Telegram groups) is ignored. Defaults to "": accept any.
	BotName string
	// Windows lists the leaderboard windows the Reader can answer, such as
	// "all", "24h", "7d". Defaults to ["all"].
	Windows []string
	// HandlerTimeout bounds one handler run. Defaults to 10 seconds.
	HandlerTimeout time.Duration
	// Chats, when set, records every user and chat that sends a command, so that
	// alerts know where to go and a chat that had blocked the bot is active again
	// once it writes. Failures are logged; the command still runs.
	Chats ChatRecorder
}

// ChatRecorder persists who talks to the bot, and where.
type ChatRecorder interface {
	SeenChat(ctx context.Context, platform, userID, chatID string) error
}

// Router parses chat messages and dispatches them to commands. It is safe for
// concurrent use.
type Router struct {
	reader  Reader
	now     func() time.Time
	log     *slog.Logger
	botName string
	windows []string
	timeout time.Duration
	limiter *limiter // nil: no rate limit
	chats   ChatRecorder

	mu    sync.RWMutex
	cmds  map[string]*Command
	order []*Command // registration order, for /help
}

// NewRouter validates cfg, applies defaults and registers the built-in commands:
// /start, /help, /leaderboard and /wallet.
func NewRouter(cfg Config) (*Router, error) {
	if cfg.Reader == nil {
		return nil, errors.New("bot: Config.Reader is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RateLimit.Commands == 0 {
		cfg.RateLimit.Commands = 20
	}
	if cfg.RateLimit.Per == 0 {
		cfg.RateLimit.Per = 10 * time.Second
	}
	if cfg.RateLimit.Per < 0 {
		return nil, fmt.Errorf("bot: RateLimit.Per %v is negative", cfg.RateLimit.Per)
	}
	if len(cfg.Windows) == 0 {
		cfg.Windows = []string{"all"}
	}
	for _, w := range cfg.Windows {
		if w == "" || w != strings.ToLower(w) || isNumber(w) {
			return nil, fmt.Errorf("bot: leaderboard window %q: want a lowercase name that is not a number", w)
		}
	}
	if cfg.HandlerTimeout == 0 {
		cfg.HandlerTimeout = 10 * time.Second
	}
	if cfg.HandlerTimeout < 0 {
		return nil, fmt.Errorf("bot: HandlerTimeout %v is negative", cfg.HandlerTimeout)
	}
	r := &Router{
		reader:  cfg.Reader,
		now:     cfg.Now,
		log:     cfg.Logger,
		botName: strings.TrimPrefix(cfg.BotName, "@"),
		windows: append([]string(nil), cfg.Windows...),
		timeout: cfg.HandlerTimeout,
		chats:   cfg.Chats,
		cmds:    make(map[string]*Command),
	}
	if cfg.RateLimit.Commands > 0 {
		r.limiter = newLimiter(cfg.RateLimit)
	}
	r.registerBuiltins()
	return r, nil
}

// Register adds a command. Like http.ServeMux.Handle, it panics on a programming
// error: an invalid or duplicate name, a nil handler, or MinArgs above MaxArgs.
func (r *Router) Register(c Command) {
	if !validName(c.Name) {
		panic(fmt.Sprintf("bot: invalid command name %q: want 1-32 of a-z, 0-9, _", c.Name))
	}
	if c.Handler == nil {
		panic("bot: command /" + c.Name + " has no handler")
	}
	if c.MinArgs < 0 || (c.MaxArgs >= 0 && c.MinArgs > c.MaxArgs) {
		panic(fmt.Sprintf("bot: command /%s: bad argument bounds %d..%d", c.Name, c.MinArgs, c.MaxArgs))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.cmds[c.Name]; dup {
		panic("bot: command /" + c.Name + " registered twice")
	}
	r.cmds[c.Name] = &c
	r.order = append(r.order, &c)
}

// Commands lists the commands a user may run, in registration order: admin
// commands only when admin is true. Adapters use it to publish the command menu
// (Telegram setMyCommands, Discord slash commands).
func (r *Router) Commands(admin bool) []Command {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Command, 0, len(r.order))
	for _, c := range r.order {
		if admin || !c.Admin {
			out = append(out, *c)
		}
	}
	return out
}

func (r *Router) lookup(name string) *Command {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cmds[name]
}

// Handle answers one message. It never fails: problems become replies, and
// failures of our own are logged. A zero Reply means nothing should be sent
// (empty text, a command addressed to another bot, or a user who keeps typing
// after being told to slow down).
func (r *Router) Handle(ctx context.Context, req Request) Reply {
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return Reply{}
	}
	p, isCmd := parse(text)
	if isCmd && p.target != "" && r.botName != "" && !strings.EqualFold(p.target, r.botName) {
		return Reply{}
	}
	now := r.now()
	if r.limiter != nil {
		if ok, wait, warn := r.limiter.allow(req.Platform+"\x00"+req.UserID, now); !ok {
			if !warn {
				return Reply{}
			}
			secs := max(1, int((wait+time.Second-1)/time.Second))
			return Reply{Kind: KindSlowDown, Text: fmt.Sprintf(
				"Slow down a little: that is a lot of commands at once. You can send the next one in %d s.", secs)}
		}
	}
	if !isCmd {
		return Reply{Kind: KindHint, Text: "Commands start with / — try /help"}
	}
	c := r.lookup(p.name)
	if c == nil {
		return r.unknown(p.name, req.IsAdmin)
	}
	if r.chats != nil && req.UserID != "" && req.ChatID != "" {
		if err := r.chats.SeenChat(ctx, req.Platform, req.UserID, req.ChatID); err != nil {
			r.log.WarnContext(ctx, "bot: could not record the chat", "platform", req.Platform, "err", err)
		}
	}
	if c.Admin && !req.IsAdmin {
		return Reply{Kind: KindDenied, Text: "/" + c.Name + " is for admins only."}
	}
	if n := len(p.args); n < c.MinArgs || (c.MaxArgs >= 0 && n > c.MaxArgs) {
		return usageReply(c, argCountReason(c, n))
	}
	return r.run(ctx, c, Call{Request: req, Name: c.Name, Args: p.args, Now: now})
}

// run calls the handler with a deadline and turns its errors, and panics, into replies.
func (r *Router) run(ctx context.Context, c *Command, call Call) (reply Reply) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			r.log.ErrorContext(ctx, "bot command panicked", "command", c.Name,
				"platform", call.Platform, "user", call.UserID,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			reply = apology(c.Name)
		}
	}()
	reply, err := c.Handler(ctx, call)
	if err == nil {
		return reply
	}
	if ue, ok := errors.AsType[*UsageError](err); ok {
		return usageReply(c, ue.Reason)
	}
	level := slog.LevelError
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		level = slog.LevelWarn // timed out or shutting down: worth seeing, not a bug
	}
	r.log.Log(ctx, level, "bot command failed", "command", c.Name,
		"platform", call.Platform, "user", call.UserID, "err", err)
	return apology(c.Name)
}

func apology(name string) Reply {
	return Reply{Kind: KindError, Text: "Sorry, something went wrong on our side while running /" + name +
		". Please try again in a moment."}
}

func usageReply(c *Command, reason string) Reply {
	var b strings.Builder
	if reason != "" {
		b.WriteString(reason)
		b.WriteByte('\n')
	}
	b.WriteString("Usage: ")
	b.WriteString(c.Usage())
	if c.Example != "" {
		b.WriteString("\nExample: ")
		b.WriteString(c.Example)
	}
	return Reply{Kind: KindUsage, Text: b.String()}
}

func argCountReason(c *Command, n int) string {
	switch {
	case n < c.MinArgs:
		return "/" + c.Name + " needs more arguments."
	case c.MaxArgs == 0:
		return "/" + c.Name + " takes no arguments."
	case c.MaxArgs == 1:
		return "/" + c.Name + " takes at most 1 argument."
	default:
		return fmt.Sprintf("/%s takes at most %d arguments.", c.Name, c.MaxArgs)
	}
}

// unknown answers a command name that does not exist for this user, with the
// closest name they can run.
func (r *Router) unknown(name string, admin bool) Reply {
	cmds := r.Commands(admin)
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name
	}
	text := "Unknown command /" + truncate(name, 32) + "."
	if s := suggest(name, names); s != "" {
		text += " Did you mean /" + s + "?"
	}
	return Reply{Kind: KindUnknown, Text: text + "\n/help lists every command."}
}

// parsed is a command message split into its parts.
type parsed struct {
	name   string // lowercase, without "/" and "@target"
	target string // the bot named in "/cmd@target", if any
	args   []string
}

// parse splits "/Name@Bot a b" into its parts; isCmd is false when text does
// not start with "/" followed by a name.
func parse(text string) (p parsed, isCmd bool) {
	fields := strings.Fields(text)
	if len(fields) == 0 || !strings.HasPrefix(fields[0], "/") {
		return parsed{}, false
	}
	name, target, _ := strings.Cut(fields[0][1:], "@")
	if name == "" {
		return parsed{}, false
	}
	return parsed{name: strings.ToLower(name), target: target, args: fields[1:]}, true
}

func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
