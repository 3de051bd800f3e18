package alert

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/coattailcapital/coattail/bot"
)

// ruleTitle is the headline of an alert by rule.
func ruleTitle(rule string) string {
	switch rule {
	case RuleFollowedMove:
		return "Followed wallet moved" // neutral: channels subscribed to followed moves get it too
	case RuleAlphaMove:
		return "High-alpha wallet moved"
	case RuleConsensus:
		return "Smart-money consensus"
	case RuleExchangeFlow:
		return "Exchange flow"
	case RuleAnomaly:
		return "Anomaly"
	}
	return "Signal: " + rule
}

// usd renders a dollar amount: "$1,234,567".
func usd(v float64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatFloat(v, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-$" + b.String()
	}
	return "$" + b.String()
}

func price(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 4, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func shortAddr(a string) string {
	if len(a) == 42 {
		return a[:6] + "…" + a[38:]
	}
	return a
}

// describe is one line saying what happened: "0xabc… opened long ETH: $125,000 at 3412.50".
func describe(s Signal, short bool) string {
	who := s.Wallet
	if short {
		who = shortAddr(who)
	}
	if who == "" {
		who = "Market"
	}
	verb := s.Action
	switch s.Action {
	case "open":
		verb = "opened"
	case "add":
		verb = "added to"
	case "reduce":
		verb = "reduced"
	case "close":
		verb = "closed"
	case "flip":
		verb = "flipped to"
	case "":
		verb = ""
	}
	parts := []string{who}
	if verb != "" {
		parts = append(parts, verb)
	}
	if s.Side != "" {
		parts = append(parts, s.Side)
	}
	parts = append(parts, s.Coin)
	line := strings.Join(parts, " ")
	if s.USD > 0 {
		line += ": " + usd(s.USD)
	}
	if s.Price > 0 {
		line += " at " + price(s.Price)
	}
	return line
}

// alertMessage renders one signal for a chat. repeat marks a message that may
// already have been delivered once (its previous lease ran out mid-send).
func alertMessage(s Signal, repeat bool) Message {
	var b strings.Builder
	b.WriteString(describe(s, false))
	fmt.Fprintf(&b, "\nConfidence %.0f%% · %s", s.Confidence*100, s.TS.UTC().Format("2006-01-02 15:04:05 UTC"))
	footer := ""
	if s.Coin != "" {
		footer = "Trade: https://app.hyperliquid.xyz/trade/" + s.Coin
	}
	if repeat {
		footer = strings.TrimPrefix(footer+"\n(Possibly a repeat: delivery was interrupted, so this is sent again.)", "\n")
	}
	m := Message{Reply: bot.Reply{Title: ruleTitle(s.Rule), Text: b.String(), Footer: footer}}
	if s.Wallet != "" {
		m.Buttons = []Button{
			{Text: "Follow", Data: "/follow " + s.Wallet},
			{Text: "Unfollow", Data: "/unfollow " + s.Wallet},
			{Text: "Mute 8h", Data: "/settings mute 8h"},
		}
	}
	return m
}

// digestMessage summarises several signals in one message, oldest first.
func digestMessage(sigs []Signal, more int) Message {
	t := &bot.Table{Columns: []bot.Column{{Name: "time"}, {Name: "signal"}, {Name: "move"}}}
	for _, s := range sigs {
		t.Rows = append(t.Rows, []string{s.TS.UTC().Format("15:04"), s.Rule, describe(s, true)})
	}
	footer := "/settings changes what you receive and when."
	if more > 0 {
		footer = fmt.Sprintf("… and %d more in the next digest.\n", more) + footer
	}
	return Message{Reply: bot.Reply{
		Title:  fmt.Sprintf("Digest: %d alerts", len(sigs)),
		Table:  t,
		Footer: footer,
	}, Buttons: []Button{{Text: "Mute 8h", Data: "/settings mute 8h"}}}
}
