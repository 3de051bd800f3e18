package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/paper"
	"github.com/coattailcapital/coattail/risk"
)

// The admin commands of the real router act on the real paper trader and risk gate
// in Postgres; a non-admin's attempt changes nothing.
func TestAdminCommandsOnTheRealServices(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	r, err := newRouter(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ps, rs := paper.NewService(st, paper.Config{}), risk.NewService(st)
	say := func(platform, chat, guild, text string, admin bool) bot.Reply {
		return r.Handle(ctx, bot.Request{Platform: platform, UserID: "u-" + chat, ChatID: chat, Guild: guild, Text: text, IsAdmin: admin})
	}
	scopes := func() map[string]bool {
		m, err := ps.Scopes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	// A non-admin is refused, anywhere, and nothing changes.
	for _, p := range []string{"telegram", "discord", "console"} {
		for _, cmd := range []string{"/papertrade on", "/papertrade on global", "/halt", "/resume", "/risk set max_open_positions 1"} {
			if rep := say(p, "55", "g1", cmd, false); rep.Kind != bot.KindDenied {
				t.Errorf("non-admin %s on %s: %v %q", cmd, p, rep.Kind, rep.Text)
			}
		}
	}
	if m := scopes(); len(m) != 0 {
		t.Fatalf("refused commands enabled paper trading: %v", m)
	}
	if v, err := rs.Show(ctx); err != nil || v.Halted || v.Settings["max_open_positions"] != risk.Defaults().MaxOpenPositions {
		t.Fatalf("refused commands changed the gate: %+v %v", v, err)
	}

	// An admin's /papertrade on enables the scope of where it was said.
	if rep := say("telegram", "-1007", "", "/papertrade on", true); rep.Kind != bot.KindInfo || !strings.Contains(rep.Text, "on for telegram:-1007") {
		t.Fatalf("telegram /papertrade on: %v %q", rep.Kind, rep.Text)
	}
	if rep := say("discord", "chan9", "g9", "/papertrade on", true); rep.Kind != bot.KindInfo {
		t.Fatalf("discord /papertrade on: %v %q", rep.Kind, rep.Text)
	}
	if rep := say("console", "admin", "", "/papertrade on", true); rep.Kind != bot.KindInfo {
		t.Fatalf("console /papertrade on: %v %q", rep.Kind, rep.Text)
	}
	for _, sc := range []string{"telegram:-1007", "discord:g9", paper.GlobalScope} {
		st, err := ps.Status(ctx, sc)
		if err != nil || !st.Enabled || st.Equity <= 0 {
			t.Errorf("after /papertrade on, %s: %+v %v", sc, st, err)
		}
	}
	if rep := say("telegram", "-1007", "", "/papertrade off", true); rep.Kind != bot.KindInfo {
		t.Fatalf("/papertrade off: %v %q", rep.Kind, rep.Text)
	}
	if m := scopes(); m["telegram:-1007"] || !m["discord:g9"] || !m[paper.GlobalScope] {
		t.Errorf("after off: %v", m)
	}
	if rep := say("telegram", "-1007", "", "/paper", true); !strings.Contains(rep.Text, "telegram:-1007: off") || !strings.Contains(rep.Text, "Equity $10000.00") {
		t.Errorf("/paper: %q", rep.Text)
	}
	if rep := say("telegram", "5", "", "/paper", true); !strings.Contains(rep.Text, "never switched on for telegram:5") {
		t.Errorf("/paper of a scope never enabled: %q", rep.Text)
	}
	if rep := say("console", "admin", "", "/papertrade on slack:1", true); rep.Kind != bot.KindUsage || !strings.Contains(rep.Text, "global, telegram:<chat id> or discord:<server id>") {
		t.Errorf("bad scope: %v %q", rep.Kind, rep.Text)
	}

	// /halt trips the kill switch, /resume clears it.
	if rep := say("discord", "chan9", "g9", "/halt", true); rep.Kind != bot.KindInfo {
		t.Fatalf("/halt: %v %q", rep.Kind, rep.Text)
	}
	v, err := rs.Show(ctx)
	if err != nil || !v.Halted || !strings.Contains(v.HaltReason, "discord:u-chan9") {
		t.Fatalf("after /halt: %+v %v", v, err)
	}
	if rep := say("telegram", "1", "", "/risk", true); !strings.Contains(rep.Text, "HALTED") || !strings.Contains(rep.Text, "max_open_positions = 5") {
		t.Errorf("/risk while halted: %q", rep.Text)
	}
	if rep := say("telegram", "1", "", "/resume", true); rep.Kind != bot.KindInfo {
		t.Fatalf("/resume: %v %q", rep.Kind, rep.Text)
	}
	if v, err := rs.Show(ctx); err != nil || v.Halted {
		t.Fatalf("after /resume: %+v %v", v, err)
	}

	// /risk set validates names and values and explains what it accepts.
	if rep := say("console", "admin", "", "/risk set max_open_positions 3", true); rep.Kind != bot.KindInfo {
		t.Fatalf("/risk set: %v %q", rep.Kind, rep.Text)
	}
	for _, tc := range []struct{ cmd, want string }{
		{"/risk set max_open_positons 3", "no risk setting \"max_open_positons\". The settings are: kelly_fraction"},
		{"/risk set max_open_positions three", "max_open_positions wants a number, such as /risk set max_open_positions 5"},
		{"/risk set daily_loss_pct 2", "must be 0..1"},
		{"/risk set kelly_fraction NaN", "must be 0..1"},
		{"/risk set max_open_positions", "Use /risk, /risk show or /risk set <name> <value>."},
	} {
		rep := say("console", "admin", "", tc.cmd, true)
		if rep.Kind != bot.KindUsage || !strings.Contains(rep.Text, tc.want) {
			t.Errorf("%s: %v %q, want usage with %q", tc.cmd, rep.Kind, rep.Text, tc.want)
		}
	}
	v, err = rs.Show(ctx)
	if err != nil || v.Settings["max_open_positions"] != 3 || v.Settings["daily_loss_pct"] != risk.Defaults().DailyLossPct ||
		v.Settings["kelly_fraction"] != risk.Defaults().KellyFraction {
		t.Errorf("settings after the valid and invalid /risk set: %v %v", v.Settings, err)
	}
}
