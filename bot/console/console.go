// Package console is a chat with the bot on a terminal: the same router as
// Telegram and Discord, for trying every command without tokens (coattail chat).
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/coattailcapital/coattail/bot"
)

// maxLine bounds one input line; a longer line ends Run with an error.
const maxLine = 1 << 20

// Options configures Run. The zero value is usable.
type Options struct {
	// Prompt is printed before each line is read. Defaults to "coattail> ".
	Prompt string
	// Banner is printed once at the start. Defaults to a short welcome that
	// names /help and how to leave.
	Banner string
	// UserID identifies the console user to the router (and its rate limit).
	// Defaults to "console".
	UserID string
	// NotAdmin runs the session as a regular user. Defaults to false: the person
	// at the console runs the service, so admin commands are allowed.
	NotAdmin bool
}

const defaultBanner = "Coat Tail Capital console: the same commands as the Telegram and Discord bots.\n" +
	"Type /help to list them; quit, exit or Ctrl-D leaves."

// Run prints a banner and a prompt, then reads lines from in, routes each
// through r as Platform "console" and prints the replies to out. It returns nil
// when the user types quit or exit, when in ends, or when ctx is cancelled, even
// while a read is blocked; the reading goroutine then ends when in's pending Read
// returns (at process exit, for a terminal). It returns an error only when in or
// out fail.
func Run(ctx context.Context, in io.Reader, out io.Writer, r *bot.Router, opts Options) error {
	if opts.Prompt == "" {
		opts.Prompt = "coattail> "
	}
	if opts.Banner == "" {
		opts.Banner = defaultBanner
	}
	if opts.UserID == "" {
		opts.UserID = "console"
	}
	w := &errWriter{w: out}

	lines := make(chan string)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 0, 4096), maxLine)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-done:
				return
			}
		}
		readErr <- sc.Err() // nil at EOF
	}()

	w.print(opts.Banner, "\n", opts.Prompt)
	for w.err == nil {
		select {
		case <-ctx.Done():
			w.print("\n")
			return w.result()
		case err := <-readErr:
			w.print("\n")
			if err != nil {
				return fmt.Errorf("console: read input: %w", err)
			}
			return w.result()
		case line := <-lines:
			text := strings.TrimSpace(line)
			switch strings.ToLower(strings.TrimPrefix(text, "/")) {
			case "quit", "exit":
				w.print("Bye.\n")
				return w.result()
			}
			if text != "" {
				reply := r.Handle(ctx, bot.Request{
					Platform: "console",
					UserID:   opts.UserID,
					ChatID:   opts.UserID,
					Text:     text,
					IsAdmin:  !opts.NotAdmin,
				})
				if !reply.IsZero() {
					w.print(reply.String(), "\n\n")
				}
			}
			w.print(opts.Prompt)
		}
	}
	return w.result()
}

// errWriter keeps the first write error so the loop can check once per turn.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) print(parts ...string) {
	for _, p := range parts {
		if e.err != nil {
			return
		}
		_, e.err = io.WriteString(e.w, p)
	}
}

func (e *errWriter) result() error {
	if e.err != nil {
		return fmt.Errorf("console: write output: %w", e.err)
	}
	return nil
}
