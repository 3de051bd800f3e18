package telegram

import (
	"slices"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/bot"
)

func TestRenderHTML(t *testing.T) {
	table := &bot.Table{Columns: []bot.Column{{Name: "k"}, {Name: "v", Right: true}}, Rows: [][]string{{"a", "1"}, {"b<", "22"}, {"c&", "333"}}}
	tests := []struct {
		name  string
		reply bot.Reply
		limit int
		want  []string
	}{
		{name: "nothing", reply: bot.Reply{}, limit: 100, want: nil},
		{name: "only blank lines", reply: bot.Reply{Text: "\n \n"}, limit: 100, want: nil},
		{name: "escaped title", reply: bot.Reply{Title: "a<b>&c"}, limit: 100, want: []string{"<b>a&lt;b&gt;&amp;c</b>"}},
		{name: "every part", reply: bot.Reply{Title: "T", Text: "x & y\n\nz", Table: table, Footer: "f <i>"}, limit: 4096,
			want: []string{"<b>T</b>\nx &amp; y\n\nz\n<pre>k     v\na     1\nb&lt;   22\nc&amp;  333</pre>\nf &lt;i&gt;"}},
		{name: "multi-line title is bold line by line", reply: bot.Reply{Title: "one\n\ntwo"}, limit: 100,
			want: []string{"<b>one</b>\n\n<b>two</b>"}},
		// "<pre>k     v\na     1</pre>" is 26; one more row does not fit 30, so the
		// block is closed and reopened in the next message.
		{name: "table split across messages", reply: bot.Reply{Table: table, Footer: "end"}, limit: 30,
			want: []string{"<pre>k     v\na     1</pre>", "<pre>b&lt;   22</pre>", "<pre>c&amp;  333</pre>\nend"}},
		{name: "lines packed up to the limit", reply: bot.Reply{Text: "12345\n12345\n12345"}, limit: 11,
			want: []string{"12345\n12345", "12345"}},
		// A line longer than a message is cut between characters, never inside an
		// escape; markup counts: a bold line has 7 characters less room.
		{name: "overlong line", reply: bot.Reply{Text: "abcdefgh&ijklmnop"}, limit: 20,
			want: []string{"abcdefgh&amp;ijklmno", "p"}},
		{name: "overlong line cut before an escape", reply: bot.Reply{Text: "abcdefghijklmnopqr&s"}, limit: 20,
			want: []string{"abcdefghijklmnopqr", "&amp;s"}},
		{name: "overlong bold line", reply: bot.Reply{Title: "abcdefghijklmnop"}, limit: 20,
			want: []string{"<b>abcdefghijklm</b>", "<b>nop</b>"}},
		// Telegram counts UTF-16 code units: the whale is 2.
		{name: "astral characters count twice", reply: bot.Reply{Text: "🐋🐋\n🐋🐋"}, limit: 8,
			want: []string{"🐋🐋", "🐋🐋"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderHTML(tt.reply, tt.limit)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("renderHTML =\n%q\nwant\n%q", got, tt.want)
			}
			for _, m := range got {
				if n := utf16Len(m); n > tt.limit {
					t.Errorf("message of %d > %d characters: %q", n, tt.limit, m)
				}
				if _, err := htmlText(m); err != nil {
					t.Errorf("invalid HTML %v: %q", err, m)
				}
			}
		})
	}
}

// Any reply, at any limit a line fits in, renders to valid messages within the
// limit that together show exactly the reply's text.
func TestRenderHTMLKeepsEveryLine(t *testing.T) {
	var rows [][]string
	for i := range 60 {
		rows = append(rows, []string{strings.Repeat("w", i%7), "<&>", "🐋"})
	}
	reply := bot.Reply{
		Title:  "Title & <more>",
		Text:   strings.Repeat("some text & more <text>\n", 40) + "last",
		Table:  &bot.Table{Columns: []bot.Column{{Name: "a"}, {Name: "b"}, {Name: "c"}}, Rows: rows},
		Footer: "footer\nsecond footer line",
	}
	for _, limit := range []int{60, 100, 257, 1000, 4096} {
		msgs := renderHTML(reply, limit)
		var shown []string
		for _, m := range msgs {
			if n := utf16Len(m); n > limit {
				t.Fatalf("limit %d: message of %d characters", limit, n)
			}
			s, err := htmlText(m)
			if err != nil {
				t.Fatalf("limit %d: invalid HTML %v: %q", limit, err, m)
			}
			shown = append(shown, s)
		}
		if got := strings.Join(shown, "\n"); got != reply.String() {
			t.Fatalf("limit %d: messages show\n%s\nwant\n%s", limit, got, reply.String())
		}
	}
}

func BenchmarkRenderHTML(b *testing.B) {
	var rows [][]string
	for range 50 {
		rows = append(rows, []string{"1", "0x51f6…2b39", "+$1,234,568", "4,210"})
	}
	reply := bot.Reply{Title: "Top wallets — all time", Table: &bot.Table{
		Columns: []bot.Column{{Name: "#"}, {Name: "wallet"}, {Name: "score"}, {Name: "n"}}, Rows: rows},
		Footer: "score: realized + unrealized PnL in USD"}
	for b.Loop() {
		renderHTML(reply, maxMessageLen)
	}
}
