package alert

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
)

// ConsoleSender prints alerts for the console chat ("make run" shows them
// between commands). Every console chat id writes to the same output.
type ConsoleSender struct {
	mu  sync.Mutex
	out io.Writer
}

// NewConsoleSender prints to out.
func NewConsoleSender(out io.Writer) *ConsoleSender { return &ConsoleSender{out: out} }

// Platform is "console".
func (c *ConsoleSender) Platform() string { return "console" }

// Send prints m, its buttons as the commands they stand for.
func (c *ConsoleSender) Send(ctx context.Context, chatID string, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("\n🔔 ")
	b.WriteString(m.Reply.String())
	if len(m.Buttons) > 0 {
		b.WriteString("\n[")
		for i, bt := range m.Buttons {
			if i > 0 {
				b.WriteString("  ·  ")
			}
			b.WriteString(bt.Text + ": " + bt.Data)
		}
		b.WriteString("]")
	}
	b.WriteString("\n\n")
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.out, b.String()); err != nil {
		return fmt.Errorf("console alert: %w", err)
	}
	return nil
}
