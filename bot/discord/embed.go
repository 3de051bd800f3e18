package discord

import (
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/bwmarrin/discordgo"

	"github.com/coattailcapital/coattail/bot"
)

// Discord's limits on embeds, in characters (counted here in UTF-16 code units,
// which is never fewer than what Discord counts).
const (
	maxTitle       = 256
	maxDescription = 4096
	// maxFooter is below Discord's 2048 so that title + description + footer of
	// one embed always fit the 6000 characters allowed per message.
	maxFooter = 1024
	// maxEmbeds and maxMessageChars bound one message: at most 10 embeds and 6000
	// characters in all of their titles, descriptions and footers together.
	maxEmbeds       = 10
	maxMessageChars = 6000
	// maxMessages bounds how many messages one reply may take; the rest is cut
	// with a note saying so.
	maxMessages = 5
)

// Embed colours by reply kind.
const (
	colourInfo    = 0x5865F2 // blurple
	colourHint    = 0xFEE75C // yellow: usage, hints, unknown commands
	colourDenied  = 0xE67E22 // orange: not allowed, slow down
	colourMissing = 0x99AAB5 // grey: not found
	colourError   = 0xED4245 // red: our failure
)

// cutNote ends a reply that did not fit in maxMessages messages.
const cutNote = "… (the rest did not fit in Discord's message limits)"

// ephemeral reports whether a reply of kind k is for the asker's eyes only: every
// kind but an ordinary answer.
func ephemeral(k bot.Kind) bool { return k != bot.KindInfo }

func colour(k bot.Kind) int {
	switch k {
	case bot.KindInfo:
		return colourInfo
	case bot.KindHint, bot.KindUsage, bot.KindUnknown:
		return colourHint
	case bot.KindDenied, bot.KindSlowDown:
		return colourDenied
	case bot.KindNotFound:
		return colourMissing
	default:
		return colourError
	}
}

// renderEmbeds renders a reply as messages of embeds within Discord's limits:
// the title on the first embed, the text escaped as Markdown, the table in a code
// block (split between rows, its header repeated, when it is long), the footer on
// the last embed. Each inner slice is one message. A zero reply renders as nil.
func renderEmbeds(r bot.Reply) [][]*discordgo.MessageEmbed {
	if r.IsZero() {
		return nil
	}
	var pieces []string
	if r.Text != "" {
		pieces = append(pieces, splitLines(escapeMarkdown(r.Text), maxDescription)...)
	}
	if r.Table != nil {
		pieces = append(pieces, tableBlocks(r.Table.String(), maxDescription)...)
	}
	descs := pack(pieces, maxDescription)
	if len(descs) == 0 {
		descs = []string{""}
	}
	c := colour(r.Kind)
	embeds := make([]*discordgo.MessageEmbed, len(descs))
	for i, d := range descs {
		embeds[i] = &discordgo.MessageEmbed{Description: d, Color: c}
	}
	if r.Title != "" {
		embeds[0].Title = clip(escapeMarkdown(r.Title), maxTitle)
	}
	if r.Footer != "" {
		embeds[len(embeds)-1].Footer = &discordgo.MessageEmbedFooter{Text: clip(r.Footer, maxFooter)}
	}
	return packMessages(embeds)
}

// packMessages groups embeds into messages of at most maxEmbeds embeds and
// maxMessageChars characters, and at most maxMessages messages, marking a cut.
func packMessages(embeds []*discordgo.MessageEmbed) [][]*discordgo.MessageEmbed {
	var msgs [][]*discordgo.MessageEmbed
	var cur []*discordgo.MessageEmbed
	chars := 0
	for _, e := range embeds {
		n := embedChars(e)
		if len(cur) > 0 && (len(cur) == maxEmbeds || chars+n > maxMessageChars) {
			msgs = append(msgs, cur)
			cur, chars = nil, 0
		}
		cur = append(cur, e)
		chars += n
	}
	if len(cur) > 0 {
		msgs = append(msgs, cur)
	}
	if len(msgs) > maxMessages {
		// The last embed kept gives way to a note, carrying the footer; clipping
		// it instead could break a code block in half.
		footer := embeds[len(embeds)-1].Footer
		msgs = msgs[:maxMessages]
		last := msgs[maxMessages-1]
		note := &discordgo.MessageEmbed{Description: cutNote, Color: last[len(last)-1].Color, Footer: footer}
		last[len(last)-1] = note
		if chars := messageChars(last); chars > maxMessageChars {
			note.Footer = nil
		}
	}
	return msgs
}

func messageChars(embeds []*discordgo.MessageEmbed) int {
	n := 0
	for _, e := range embeds {
		n += embedChars(e)
	}
	return n
}

func embedChars(e *discordgo.MessageEmbed) int {
	n := units(e.Title) + units(e.Description)
	if e.Footer != nil {
		n += units(e.Footer.Text)
	}
	return n
}

// tableBlocks renders a table as code blocks of at most limit characters each,
// split between rows, each block starting with the header line.
func tableBlocks(table string, limit int) []string {
	table = strings.ReplaceAll(table, "```", "`\u200b``") // a cell must not close the block
	lines := strings.Split(table, "\n")
	const fence = "```\n"
	const closing = "\n```"
	header := lines[0]
	budget := limit - units(fence) - units(closing)
	var out []string
	var b strings.Builder
	n := 0
	start := func() {
		b.Reset()
		b.WriteString(fence)
		h := clip(header, budget)
		b.WriteString(h)
		n = units(h)
	}
	start()
	rows := 0
	for _, ln := range lines[1:] {
		ln = clip(ln, budget-units(header)-1)
		if rows > 0 && n+1+units(ln) > budget {
			b.WriteString(closing)
			out = append(out, b.String())
			start()
			rows = 0
		}
		b.WriteByte('\n')
		b.WriteString(ln)
		n += 1 + units(ln)
		rows++
	}
	b.WriteString(closing)
	return append(out, b.String())
}

// splitLines splits s at line breaks into chunks of at most limit characters; a
// single longer line is cut between characters.
func splitLines(s string, limit int) []string {
	var out []string
	for _, ln := range strings.Split(s, "\n") {
		for units(ln) > limit {
			head := clipExact(ln, limit)
			out = append(out, head)
			ln = ln[len(head):]
		}
		out = append(out, ln)
	}
	return pack(out, limit)
}

// pack joins pieces with line breaks into as few strings of at most limit
// characters as it can, keeping their order. Every piece must fit limit.
func pack(pieces []string, limit int) []string {
	var out []string
	var b strings.Builder
	n := 0
	for i, p := range pieces {
		pn := units(p)
		if i > 0 && n+1+pn > limit {
			out = append(out, b.String())
			b.Reset()
			n = 0
		} else if i > 0 {
			b.WriteByte('\n')
			n++
		}
		b.WriteString(p)
		n += pn
	}
	if len(pieces) > 0 {
		out = append(out, b.String())
	}
	return out
}

// clip shortens s to at most limit characters, ending it with "…" when cut.
func clip(s string, limit int) string {
	if units(s) <= limit {
		return s
	}
	return clipExact(s, limit-1) + "…"
}

// clipExact returns the longest prefix of s of at most limit characters.
func clipExact(s string, limit int) string {
	n := 0
	for i, r := range s {
		n += max(1, utf16.RuneLen(r))
		if n > limit {
			return s[:i]
		}
	}
	return s
}

// units is the length of s in UTF-16 code units, as Discord's limits count it.
func units(s string) int {
	n := 0
	for _, r := range s {
		n += max(1, utf16.RuneLen(r))
	}
	return n
}

// escapeMarkdown makes plain text show as typed in an embed: Discord's Markdown
// characters get a backslash, and so do "#", "-" and ">" opening a line (headers,
// lists, quotes). Mentions and channel links such as <#123> stay live.
func escapeMarkdown(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	lineStart := true
	for _, r := range s {
		switch {
		case strings.ContainsRune("\\*_`~|[]", r):
			b.WriteByte('\\')
		case lineStart && (r == '#' || r == '-' || r == '>'):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
		lineStart = r == '\n' || (lineStart && r == ' ')
	}
	return b.String()
}

// formatUSD renders a non-negative amount as "$12,345" (or "$0.5" below 1).
func formatUSD(v float64) string {
	if v < 1 {
		return "$" + strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return "$" + b.String()
}
