package telegram

import (
	"strings"

	"github.com/coattailcapital/coattail/bot"
)

// maxMessageLen is Telegram's limit on one message's text.
const maxMessageLen = 4096

// style is how a line of a reply is marked up.
type style uint8

const (
	plain style = iota
	bold        // the title
	pre         // the table, in a monospaced block
)

// Markup around a line; a run of pre lines shares one block.
const (
	boldOpen, boldClose = "<b>", "</b>"
	preOpen, preClose   = "<pre>", "</pre>"
)

// line is one escaped line of a reply and its style.
type line struct {
	style style
	text  string
}

// renderHTML renders reply in Telegram's HTML: the title bold, the table in a
// <pre> block, all text escaped. The result is split on line boundaries into
// messages of at most limit characters (counted as Telegram does, in UTF-16 code
// units, on the markup itself, which is never shorter than the text it shows),
// each one well-formed on its own: a block cut in two is closed and reopened. A
// line too long for one message is cut. Empty messages are left out.
func renderHTML(reply bot.Reply, limit int) []string {
	var lines []line
	add := func(st style, s string) {
		if s == "" {
			return
		}
		for l := range strings.SplitSeq(s, "\n") {
			lines = appendCut(lines, st, l, limit)
		}
	}
	add(bold, reply.Title)
	add(plain, reply.Text)
	if reply.Table != nil {
		add(pre, reply.Table.String())
	}
	add(plain, reply.Footer)

	var out []string
	var cur []line
	size := 0
	flush := func() {
		if s := joinLines(cur); strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
		cur, size = cur[:0], 0
	}
	for _, l := range lines {
		c := cost(cur, l)
		if len(cur) > 0 && size+c > limit {
			flush()
			c = cost(cur, l)
		}
		cur = append(cur, l)
		size += c
	}
	flush()
	return out
}

// ExplorerURL is the link put on every wallet address in a message, %s being
// the address.
var ExplorerURL = "https://etherscan.io/address/%s"

// linkify wraps every whole 0x address of an escaped plain or bold line in a link
// to ExplorerURL, unless that would make the line longer than limit.
func linkify(text string, limit int) string {
	if !strings.Contains(text, "0x") {
		return text
	}
	var b strings.Builder
	i := 0
	for i < len(text) {
		j := strings.Index(text[i:], "0x")
		if j < 0 {
			break
		}
		j += i
		end := j + 42
		if end <= len(text) && isHexRun(text[j+2:end]) && (j == 0 || !isWordByte(text[j-1])) &&
			(end == len(text) || !isWordByte(text[end])) {
			addr := text[j:end]
			b.WriteString(text[i:j])
			b.WriteString(`<a href="` + strings.Replace(ExplorerURL, "%s", addr, 1) + `">` + addr + "</a>")
			i = end
			continue
		}
		b.WriteString(text[i : j+2])
		i = j + 2
	}
	b.WriteString(text[i:])
	if utf16Len(b.String()) > limit {
		return text
	}
	return b.String()
}

func isHexRun(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// cost is what adding l to the message cur adds to its length: the line, the
// newline before it and its markup.
func cost(cur []line, l line) int {
	n := utf16Len(l.text)
	if len(cur) > 0 {
		n++
	}
	switch l.style {
	case bold:
		if l.text != "" {
			n += len(boldOpen) + len(boldClose)
		}
	case pre:
		if len(cur) == 0 || cur[len(cur)-1].style != pre {
			n += len(preOpen) + len(preClose)
		}
	}
	return n
}

// joinLines renders lines as one message.
func joinLines(lines []line) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch l.style {
		case bold:
			if l.text != "" {
				b.WriteString(boldOpen + l.text + boldClose)
			}
		case pre:
			if i == 0 || lines[i-1].style != pre {
				b.WriteString(preOpen)
			}
			b.WriteString(l.text)
			if i == len(lines)-1 || lines[i+1].style != pre {
				b.WriteString(preClose)
			}
		default:
			b.WriteString(l.text)
		}
	}
	return b.String()
}

// appendCut escapes raw and appends it to lines, cut into pieces that each fit a
// message of limit characters with their markup. Cuts fall between characters,
// never inside an escape.
func appendCut(lines []line, st style, raw string, limit int) []line {
	room := limit
	switch st {
	case bold:
		room -= len(boldOpen) + len(boldClose)
	case pre:
		room -= len(preOpen) + len(preClose)
	}
	var b strings.Builder
	n := 0
	for _, r := range raw {
		esc, w := escapeRune(r)
		if n > 0 && n+w > room {
			lines = append(lines, line{style: st, text: b.String()})
			b.Reset()
			n = 0
		}
		if esc != "" {
			b.WriteString(esc)
		} else {
			b.WriteRune(r)
		}
		n += w
	}
	last := b.String()
	if st != pre {
		last = linkify(last, room)
	}
	return append(lines, line{style: st, text: last})
}

// escapeRune returns the HTML escape of r ("" when r stands for itself) and the
// UTF-16 length of what is written for it.
func escapeRune(r rune) (string, int) {
	switch r {
	case '&':
		return "&amp;", 5
	case '<':
		return "&lt;", 4
	case '>':
		return "&gt;", 4
	}
	if r >= 0x10000 {
		return "", 2
	}
	return "", 1
}

// utf16Len counts s in UTF-16 code units, the unit of Telegram's length limits.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}
