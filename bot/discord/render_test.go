package discord

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/internal/testenv"
)

func TestRenderEmbedsFitsDiscordLimits(t *testing.T) {
	rows := make([][]string, 400)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("0x%040x", i), fmt.Sprintf("row %03d", i)}
	}
	long := bot.Reply{
		Title:  strings.Repeat("T", 300),
		Text:   strings.Repeat("a line of *text* with_markdown\n", 200),
		Table:  &bot.Table{Columns: []bot.Column{{Name: "wallet"}, {Name: "note"}}, Rows: rows},
		Footer: strings.Repeat("f", 3000),
	}
	msgs := renderEmbeds(long)
	if len(msgs) != maxMessages {
		t.Fatalf("%d messages; want the reply cut at %d", len(msgs), maxMessages)
	}
	for i, m := range msgs {
		if why := checkEmbeds(m); why != "" {
			t.Errorf("message %d breaks Discord's limits: %s", i, why)
		}
	}
	first := msgs[0][0]
	if units(first.Title) != maxTitle || !strings.HasSuffix(first.Title, "…") {
		t.Errorf("title of %d characters %q…: want it clipped to %d with an ellipsis", units(first.Title), first.Title[:10], maxTitle)
	}
	if !strings.Contains(first.Description, `a line of \*text\* with\_markdown`) {
		t.Errorf("text not escaped: %q", first.Description[:60])
	}
	lastMsg := msgs[len(msgs)-1]
	if last := lastMsg[len(lastMsg)-1]; !strings.HasSuffix(last.Description, cutNote) {
		t.Errorf("the cut is not marked: …%q", last.Description[max(0, len(last.Description)-80):])
	}
	// Every table block is a code block of its own with the header.
	for _, m := range msgs {
		for _, e := range m {
			if strings.Contains(e.Description, "```") &&
				(!strings.Contains(e.Description, "```\nwallet") || strings.Count(e.Description, "```")%2 != 0) {
				t.Errorf("a table part is not a whole code block with its header:\n%.200s", e.Description)
			}
		}
	}
}

func TestRenderEmbedsShortReply(t *testing.T) {
	r := bot.Reply{Kind: bot.KindUsage, Title: "Top wallets", Text: "# not a header\n- not a list",
		Table: &bot.Table{Columns: []bot.Column{{Name: "a"}}, Rows: [][]string{{"x```y"}}}, Footer: "next: /leaderboard all 2"}
	msgs := renderEmbeds(r)
	if len(msgs) != 1 || len(msgs[0]) != 1 {
		t.Fatalf("a short reply took %d messages", len(msgs))
	}
	e := msgs[0][0]
	want := "\\# not a header\n\\- not a list\n```\na\nx`\u200b``y\n```"
	if e.Title != "Top wallets" || e.Description != want || e.Footer == nil || e.Footer.Text != r.Footer || e.Color != colourHint {
		t.Errorf("embed %+v\nwant description %q", e, want)
	}
	if !ephemeral(bot.KindUsage) || ephemeral(bot.KindInfo) {
		t.Errorf("usage replies must be private and answers public")
	}
	if renderEmbeds(bot.Reply{}) != nil {
		t.Errorf("a zero reply rendered something")
	}
}

func TestApplicationCommandsFromRouter(t *testing.T) {
	cmds := []bot.Command{
		{Name: "leaderboard", Args: "[limit] or <window> [page]", Summary: "the top wallets", MaxArgs: 2},
		{Name: "papertrade", Args: "on|off [scope]", Summary: "paper trading", Admin: true, MinArgs: 1, MaxArgs: 2},
		{Name: "start", Summary: "welcome", MaxArgs: -1},
		{Name: "alerts", Summary: "a router command of the same name is replaced", MaxArgs: 1},
	}
	acs, order := applicationCommands(cmds)
	if len(acs) != 4 || acs[3].Name != "alerts" || acs[3].Options[0].Name != "subscribe" {
		t.Fatalf("registered %d commands, last %q; want leaderboard, papertrade, start and our /alerts", len(acs), acs[len(acs)-1].Name)
	}
	for _, ac := range acs {
		if why := checkCommand(ac); why != "" {
			t.Errorf("Discord would refuse: %s", why)
		}
	}
	lb := acs[0]
	if names := order["leaderboard"].options; strings.Join(names, ",") != "limit,window,page" {
		t.Errorf("leaderboard options %v", names)
	}
	for _, o := range lb.Options {
		if o.Required {
			t.Errorf("leaderboard option %s is required; after an \"or\" every option is optional", o.Name)
		}
	}
	pt := acs[1]
	if pt.DefaultMemberPermissions == nil || *pt.DefaultMemberPermissions != discordgo.PermissionManageGuild {
		t.Errorf("admin command without default member permissions")
	}
	if o := pt.Options[0]; o.Name != "on_off" || !o.Required || len(o.Choices) != 2 || o.Choices[1].Value != "off" {
		t.Errorf("papertrade first option %+v: want a required choice of on and off", o)
	}
	if len(acs[2].Options) != 0 {
		t.Errorf("/start got options %v", acs[2].Options)
	}

	text := messageText(order["leaderboard"], []*discordgo.ApplicationCommandInteractionDataOption{
		{Name: "page", Value: float64(2)}, {Name: "window", Value: "7d"}})
	if text != "/leaderboard 7d 2" {
		t.Errorf("messageText = %q; want the arguments in usage order", text)
	}
	for in, want := range map[string]string{"follow:0xabc": "/follow 0xabc", "mute": "/mute", "": "", "Bad Name:x": ""} {
		if got, _ := buttonText(in); got != want {
			t.Errorf("buttonText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseFilterAndMatches(t *testing.T) {
	f, err := ParseFilter(2500, "btc eth,BTC", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "consensus,ANOMALY")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.Coins, ",") != "BTC,ETH" || f.Wallets[0] != walletB || strings.Join(f.Kinds, ",") != "consensus,anomaly" {
		t.Fatalf("filter %+v", f)
	}
	cases := []struct {
		kind, wallet, coin string
		usd                float64
		want               bool
	}{
		{"consensus", "0x" + strings.ToUpper(walletB[2:]), "eth", 2500, true},
		{"consensus", walletB, "ETH", 2499, false},
		{"alpha_move", walletB, "ETH", 9000, false},
		{"anomaly", walletA, "BTC", 9000, false},
		{"anomaly", walletB, "SOL", 9000, false},
	}
	for _, c := range cases {
		if got := f.Matches(c.kind, c.wallet, c.coin, c.usd); got != c.want {
			t.Errorf("Matches(%s, %s, %s, %v) = %v", c.kind, c.wallet, c.coin, c.usd, got)
		}
	}
	if !(Filter{}).Matches("anything", "", "", 0) || (Filter{}).Describe() != "every alert" {
		t.Errorf("the zero filter must let everything through")
	}
	for name, in := range map[string][4]string{
		"bad coin":   {"", "BT$C", "", ""},
		"bad wallet": {"", "", "0x123", ""},
		"bad kind":   {"", "", "", "whales"},
	} {
		if _, err := ParseFilter(0, in[1], in[2], in[3]); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ParseFilter(-1, "", "", ""); err == nil {
		t.Errorf("a negative min_usd was accepted")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	r, err := bot.NewRouter(bot.Config{Reader: testenv.Store(t)})
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]Config{
		"no token":      {},
		"bad API base":  {Token: testToken, APIBase: "discord.com/api"},
		"bad gateway":   {Token: testToken, Gateway: "https://gateway.discord.gg"},
		"named admin":   {Token: testToken, Admins: []string{"alice"}},
		"slow ack":      {Token: testToken, AckAfter: 5e9},
		"token w/ path": {Token: "abc/def"},
	} {
		if _, err := New(cfg, r); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	if _, err := New(Config{Token: "Bot " + testToken}, r); err != nil {
		t.Errorf("a token with its Bot prefix: %v", err)
	}
}
