package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/internal/testenv"
)

const (
	walletW = "0x51f63885534cb494f4592a0311551f369bff2b39" // followed
	walletV = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed" // followed by nobody
)

// hlFill is a Hyperliquid fill in interchange form.
func hlFill(wallet, coin, side, px, sz, start, ts, id string) string {
	return `{"kind":"fill","src":"hyperliquid","ts":"` + ts + `","wallet":"` + wallet + `","coin":"` + coin +
		`","side":"` + side + `","px":"` + px + `","sz":"` + sz + `","start_position":"` + start + `","fee":"0","id":"` + id + `"}`
}

// moves is the fixture: W opens ETH, adds to it minutes later, then closes; V trades
// alongside. The three W moves are three followed_move signals.
func moves(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "moves.ndjson")
	testenv.WriteLines(t, p, []string{
		`{"kind":"price","src":"hyperliquid","ts":"2024-06-01T10:00:00Z","symbol":"ETH","price":"2000"}`,
		hlFill(walletW, "ETH", "buy", "2000", "2", "0", "2024-06-01T10:01:00Z", "101"),
		hlFill(walletV, "ETH", "buy", "2000", "5", "0", "2024-06-01T10:01:30Z", "102"),
		hlFill(walletW, "ETH", "buy", "2005", "1", "2", "2024-06-01T10:05:00Z", "103"),
		hlFill(walletV, "BTC", "sell", "60000", "1", "0", "2024-06-01T10:06:00Z", "104"),
		hlFill(walletW, "ETH", "sell", "2010", "3", "3", "2024-06-01T10:30:00Z", "105"),
	}, false)
	return p
}

type cliSignal struct {
	ID       int64          `json:"id"`
	DedupKey string         `json:"dedup_key"`
	Rule     string         `json:"rule"`
	Wallet   string         `json:"wallet"`
	Coin     string         `json:"coin"`
	Side     string         `json:"side"`
	Action   string         `json:"action"`
	USD      float64        `json:"usd"`
	Evidence map[string]any `json:"evidence"`
}

func cliSignals(t *testing.T, s schema, args ...string) []cliSignal {
	t.Helper()
	r := s.cli.run(t, append([]string{"signals", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("signals --json: %s", r)
	}
	var out []cliSignal
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out == nil {
		t.Fatalf("signals --json is not a JSON array: %v\n%s", err, r.stdout)
	}
	return out
}

// `coattail signals --json` lists what a replay of a followed wallet's moves fired,
// and a second replay of the same file fires nothing more.
func TestCLISignals(t *testing.T) {
	s := newSchema(t)
	if got := cliSignals(t, s); len(got) != 0 {
		t.Fatalf("signals on an empty database: %+v", got)
	}
	if _, err := s.st.Follow(context.Background(), "telegram", "100", walletW, "whale", 50); err != nil {
		t.Fatal(err)
	}
	file := moves(t)
	for range 2 {
		if r := s.cli.run(t, "replay", "--json", file); r.code != 0 || parseSummary(t, r).Accepted != 6 {
			t.Fatalf("replay: %s", r)
		}
	}
	got := cliSignals(t, s)
	var desc []string
	for _, sg := range got {
		desc = append(desc, sg.Rule+" "+sg.Wallet+" "+sg.Coin+" "+sg.Action+" "+sg.Side)
		if sg.ID == 0 || sg.DedupKey == "" || sg.Evidence["followers"] != 1.0 {
			t.Errorf("signal %+v", sg)
		}
	}
	want := []string{ // newest first
		"followed_move " + walletW + " ETH close long",
		"followed_move " + walletW + " ETH add long",
		"followed_move " + walletW + " ETH open long",
	}
	if !slices.Equal(desc, want) {
		t.Fatalf("signals\n got %q\nwant %q", desc, want)
	}
	if got[2].USD != 4000 {
		t.Errorf("open of 2 ETH at 2000: usd %v", got[2].USD)
	}
	if got := cliSignals(t, s, "--limit", "1", "--rule", "followed_move"); len(got) != 1 || got[0].Action != "close" {
		t.Errorf("--limit 1 --rule followed_move: %+v", got)
	}
	if got := cliSignals(t, s, "--rule", "consensus"); len(got) != 0 {
		t.Errorf("--rule consensus: %+v", got)
	}
	r := s.cli.run(t, "signals")
	if r.code != 0 || !strings.Contains(r.stdout, "followed_move") || !strings.Contains(r.stdout, walletW) {
		t.Errorf("signals (table): %s", r)
	}
}

// `coattail paper` and `coattail risk`: switches and settings round-trip through
// Postgres, and mistakes are usage errors (exit 2) that say what is accepted.
func TestCLIPaperAndRisk(t *testing.T) {
	s := newSchema(t)
	run := func(args ...string) result {
		t.Helper()
		r := s.cli.run(t, args...)
		if r.code != 0 {
			t.Fatalf("coattail %s: %s", strings.Join(args, " "), r)
		}
		return r
	}
	run("paper", "on", "--scope", "global")
	var st struct {
		Scope   string  `json:"scope"`
		Enabled bool    `json:"enabled"`
		Equity  float64 `json:"equity"`
		Open    int     `json:"open"`
	}
	if err := json.Unmarshal([]byte(run("paper", "status", "--json").stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.Scope != "global" || !st.Enabled || st.Equity != 10000 || st.Open != 0 {
		t.Fatalf("paper status after on: %+v", st)
	}
	run("paper", "off", "--scope", "global")
	if err := json.Unmarshal([]byte(run("paper", "status", "--scope", "global", "--json").stdout), &st); err != nil || st.Enabled {
		t.Fatalf("paper status after off: %+v %v", st, err)
	}
	if out := run("paper", "positions", "--json").stdout; strings.TrimSpace(out) != "[]" {
		t.Errorf("paper positions: %q", out)
	}

	type view struct {
		Halted     bool               `json:"halted"`
		HaltReason string             `json:"halt_reason"`
		Settings   map[string]float64 `json:"settings"`
	}
	show := func() view {
		t.Helper()
		var v view
		if err := json.Unmarshal([]byte(run("risk", "show", "--json").stdout), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := show(); v.Halted || v.Settings["max_open_positions"] != 5 {
		t.Fatalf("defaults: %+v", v)
	}
	run("risk", "set", "max_open_positions", "3")
	if v := show(); v.Settings["max_open_positions"] != 3 || v.Settings["cooldown_minutes"] != 30 {
		t.Fatalf("after set: %+v", v)
	}
	run("risk", "halt", "market", "looks", "broken")
	if v := show(); !v.Halted || v.HaltReason != "market looks broken" {
		t.Fatalf("after halt: %+v", v)
	}
	run("risk", "resume")
	if v := show(); v.Halted {
		t.Fatalf("after resume: %+v", v)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"risk", "set", "max_open_positons", "3"}, "max_open_positions"}, // lists the known names
		{[]string{"risk", "set", "max_open_positions", "three"}, "not a number"},
		{[]string{"risk", "set", "daily_loss_pct", "5"}, "must be 0..1"},
		{[]string{"risk", "set", "max_open_positions"}, "risk set NAME VALUE"},
		{[]string{"risk"}, "want one of show, set, halt, resume, decisions"},
		{[]string{"risk", "explode"}, "unknown risk command"},
		{[]string{"paper", "on", "--scope", "slack:1"}, "global, telegram:<chat> or discord:<guild>"},
		{[]string{"paper", "sideways"}, "unknown paper command"},
		{[]string{"paper"}, "want one of status, positions, history, on, off"},
		{[]string{"signals", "--rule", "followed"}, "followed_move"},
		{[]string{"signals", "--limit", "0"}, "--limit"},
	} {
		r := s.cli.run(t, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("coattail %s: want exit 2 naming %q, got %s", strings.Join(tc.args, " "), tc.want, r)
		}
	}
	if v := show(); v.Settings["max_open_positions"] != 3 || v.Settings["daily_loss_pct"] != 0.05 {
		t.Errorf("rejected commands changed settings: %+v", v)
	}
}
