package bot

import (
	"context"
	"fmt"
	"time"
)

// Request is one incoming chat message, as a platform adapter saw it.
type Request struct {
	Platform string // "console", "telegram", "discord", "web"
	UserID   string // the sender, unique within Platform; the rate-limit key
	ChatID   string // where the reply goes, unique within Platform
	Guild    string // the Discord server the message came from, "" elsewhere
	Text     string // the message text as typed
	IsAdmin  bool   // decided by the adapter from its own configuration
}

// HandlerFunc runs one command. It returns the reply to send, or an error: a
// [*UsageError] becomes a usage reply; any other error becomes a generic apology
// to the user and is logged with the command name.
type HandlerFunc func(ctx context.Context, c Call) (Reply, error)

// Command is one slash command.
type Command struct {
	// Name without the slash: "wallet". Lowercase ASCII letters, digits and '_',
	// 1 to 32 characters (Telegram's rule, so every platform can register it).
	Name string
	// Args is the argument part of the usage line: "<address>", "[limit]".
	Args string
	// Summary is the one line /help shows.
	Summary string
	// Example is one complete invocation shown with usage errors: "/wallet 0x51f6…".
	Example string
	// Admin commands are refused for non-admins and listed in /help only for admins.
	Admin bool
	// MinArgs and MaxArgs bound the number of whitespace-separated arguments;
	// the router answers with the usage line outside them. MaxArgs < 0 means no
	// upper bound; the zero value accepts no arguments at all.
	MinArgs, MaxArgs int
	// Handler runs the command. Required.
	Handler HandlerFunc
}

// Usage is the usage line: "/wallet <address>".
func (c Command) Usage() string {
	if c.Args == "" {
		return "/" + c.Name
	}
	return "/" + c.Name + " " + c.Args
}

// Call is what a handler receives: the request, the parsed command and the time.
type Call struct {
	Request
	Name string    // canonical command name, without the slash
	Args []string  // whitespace-separated arguments, as typed
	Now  time.Time // from the router's clock
}

// UsageError reports arguments a command cannot accept. The router answers with
// Reason, the command's usage line and its example. Reason is shown to the user,
// so it must not carry internal details.
type UsageError struct {
	Reason string
	Err    error // the underlying cause, if any, for errors.Is/As
}

func (e *UsageError) Error() string { return "usage: " + e.Reason }

func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a [*UsageError] with a formatted reason.
func Usagef(format string, a ...any) error {
	return &UsageError{Reason: fmt.Sprintf(format, a...)}
}
