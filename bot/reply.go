package bot

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind classifies a reply so a platform can style it (for example, send errors
// as ephemeral messages on Discord). The zero value is KindInfo.
type Kind uint8

// Reply kinds.
const (
	KindInfo     Kind = iota // an answer to a command
	KindHint                 // the message was not a command
	KindUsage                // wrong arguments; the text holds the usage line
	KindUnknown              // no such command (for this user)
	KindDenied               // an admin-only command from a non-admin
	KindNotFound             // the thing asked about is not known
	KindSlowDown             // the user is rate limited
	KindError                // the command failed on our side; the user got an apology
)

func (k Kind) String() string {
	switch k {
	case KindInfo:
		return "info"
	case KindHint:
		return "hint"
	case KindUsage:
		return "usage"
	case KindUnknown:
		return "unknown"
	case KindDenied:
		return "denied"
	case KindNotFound:
		return "not_found"
	case KindSlowDown:
		return "slow_down"
	case KindError:
		return "error"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Reply is what the bot answers. Every part is optional plain text with no markup;
// platforms escape it and add their own styling (Title in bold, Table in a
// monospaced block). The zero Reply means nothing should be sent.
type Reply struct {
	Kind   Kind
	Title  string
	Text   string // one or more lines
	Table  *Table
	Footer string // shown after the table
	// Buttons, when the platform has them, are shown under the message (Telegram
	// inline keyboard, Discord components). Platforms without them ignore them.
	Buttons []Button
	// PhotoPNG, when set, is a picture the platform may send with the text as
	// its caption (Telegram sendPhoto). Platforms without pictures ignore it.
	PhotoPNG []byte
}

// Button is one button under a reply. Data is a command line, "/leaderboard all 2",
// that the platform routes through the Router as if the user had typed it; at
// most 64 bytes (Telegram's callback_data limit).
type Button struct {
	Text string
	Data string
}

// IsZero reports whether the reply has nothing to send.
func (r Reply) IsZero() bool {
	return r.Title == "" && r.Text == "" && r.Table == nil && r.Footer == ""
}

// String renders the reply as plain text, the table aligned for a monospaced
// font, parts separated by newlines. It is what the console prints.
func (r Reply) String() string {
	var b strings.Builder
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	add(r.Title)
	add(r.Text)
	if r.Table != nil {
		add(r.Table.String())
	}
	add(r.Footer)
	return b.String()
}

// Column describes one table column.
type Column struct {
	Name  string
	Right bool // right-align (numbers)
}

// Table is a small grid of plain-text cells.
type Table struct {
	Columns []Column
	Rows    [][]string // missing cells render empty; cells beyond Columns are ignored
}

// String renders the table with a header line and columns padded to a common
// width, two spaces apart, trailing spaces trimmed.
func (t *Table) String() string {
	n := len(t.Columns)
	if n == 0 {
		return ""
	}
	widths := make([]int, n)
	for i, c := range t.Columns {
		widths[i] = utf8.RuneCountInString(c.Name)
	}
	for _, row := range t.Rows {
		for i := 0; i < n && i < len(row); i++ {
			widths[i] = max(widths[i], utf8.RuneCountInString(row[i]))
		}
	}
	var b, ln strings.Builder
	line := func(cell func(i int) string) {
		ln.Reset()
		for i, c := range t.Columns {
			if i > 0 {
				ln.WriteString("  ")
			}
			s := cell(i)
			pad := widths[i] - utf8.RuneCountInString(s)
			if c.Right {
				writeSpaces(&ln, pad)
				ln.WriteString(s)
			} else {
				ln.WriteString(s)
				writeSpaces(&ln, pad)
			}
		}
		b.WriteString(strings.TrimRight(ln.String(), " "))
	}
	line(func(i int) string { return t.Columns[i].Name })
	for _, row := range t.Rows {
		b.WriteByte('\n')
		line(func(i int) string {
			if i < len(row) {
				return row[i]
			}
			return ""
		})
	}
	return b.String()
}

func writeSpaces(b *strings.Builder, n int) {
	for ; n > 0; n-- {
		b.WriteByte(' ')
	}
}
