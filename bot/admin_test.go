package bot

import (
	"bytes"
	"context"
	"image/color"
	"image/png"
	"strings"
	"sync"
	"testing"
)

// fakePaper records what paper trading was asked to do.
type fakePaper struct {
	mu      sync.Mutex
	enabled map[string]bool
	calls   int
}

func (p *fakePaper) SetEnabled(_ context.Context, scope string, on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.enabled[scope] = on
	return nil
}

func (p *fakePaper) Status(_ context.Context, scope string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.enabled[scope] {
		return "on for " + scope, nil
	}
	return "off for " + scope, nil
}

func TestPapertradeRefusedForNonAdmin(t *testing.T) {
	r, _ := newTestRouter(t, fixtureReader(), nil)
	p := &fakePaper{enabled: map[string]bool{}}
	RegisterAdmin(r, p, nil)
	ctx := context.Background()
	rep := r.Handle(ctx, Request{Platform: "telegram", UserID: "5", ChatID: "5", Text: "/papertrade on"})
	if rep.Kind != KindDenied {
		t.Fatalf("non-admin /papertrade on: kind %v %q, want denied", rep.Kind, rep.Text)
	}
	if p.calls != 0 || len(p.enabled) != 0 {
		t.Fatalf("a refused command changed paper trading: calls %d, enabled %v", p.calls, p.enabled)
	}
	rep = r.Handle(ctx, Request{Platform: "telegram", UserID: "1", ChatID: "1", Text: "/papertrade on", IsAdmin: true})
	// In a Telegram chat the scope defaults to that chat.
	if rep.Kind != KindInfo || !p.enabled["telegram:1"] || !strings.Contains(rep.Text, "now on for telegram:1") {
		t.Fatalf("admin /papertrade on: %v %q, enabled %v", rep.Kind, rep.Text, p.enabled)
	}
	rep = r.Handle(ctx, Request{Platform: "telegram", UserID: "1", ChatID: "1", Text: "/paper", IsAdmin: true})
	if rep.Text != "on for telegram:1" {
		t.Errorf("/paper = %q", rep.Text)
	}
	rep = r.Handle(ctx, Request{Platform: "telegram", UserID: "1", Text: "/papertrade maybe", IsAdmin: true})
	if rep.Kind != KindUsage {
		t.Errorf("/papertrade maybe: %v", rep.Kind)
	}
}

func TestAdminNotConfigured(t *testing.T) {
	r, _ := newTestRouter(t, fixtureReader(), nil)
	RegisterAdmin(r, nil, nil)
	for _, cmd := range []string{"/papertrade on", "/paper", "/risk", "/halt", "/resume"} {
		rep := r.Handle(context.Background(), Request{Platform: "console", UserID: "c", Text: cmd, IsAdmin: true})
		if !strings.Contains(rep.Text, "not available in this deployment") {
			t.Errorf("%s without a backend: %q", cmd, rep.Text)
		}
	}
}

// memSettings is an in-memory SettingsStore.
type memSettings map[string]AlertSettings

func (m memSettings) Settings(_ context.Context, p, u string) (AlertSettings, error) {
	return m[p+u], nil
}
func (m memSettings) SaveSettings(_ context.Context, p, u string, s AlertSettings) error {
	m[p+u] = s
	return nil
}

func TestSettingsCommand(t *testing.T) {
	r, _ := newTestRouter(t, fixtureReader(), nil)
	m := memSettings{}
	RegisterSettings(r, m)
	say := func(text string) Reply {
		return r.Handle(context.Background(), Request{Platform: "telegram", UserID: "7", ChatID: "7", Text: text})
	}
	for _, cmd := range []string{"/settings min 50,000", "/settings sides long short", "/settings coins btc eth",
		"/settings quiet 22-07", "/settings digest on", "/settings alerts consensus"} {
		if rep := say(cmd); rep.Kind != KindInfo {
			t.Fatalf("%s: %v %q", cmd, rep.Kind, rep.Text)
		}
	}
	s := m["telegram7"]
	if s.MinUSD != 50000 || strings.Join(s.Sides, ",") != "long,short" || strings.Join(s.Coins, ",") != "BTC,ETH" ||
		!s.Quiet || s.QuietFrom != 22 || s.QuietTo != 7 || !s.Digest || strings.Join(s.Rules, ",") != "consensus" {
		t.Fatalf("saved %+v", s)
	}
	rep := say("/settings")
	for _, want := range []string{"$50,000", "long, short", "BTC, ETH", "22:00–07:00 UTC", "Digest: on"} {
		if !strings.Contains(rep.Text, want) {
			t.Errorf("/settings lacks %q:\n%s", want, rep.Text)
		}
	}
	for _, bad := range []string{"/settings quiet 25-3", "/settings quiet 5-5", "/settings sides up", "/settings min -3",
		"/settings colour blue", "/settings mute forever", "/settings min"} {
		if rep := say(bad); rep.Kind != KindUsage {
			t.Errorf("%s: kind %v %q, want usage", bad, rep.Kind, rep.Text)
		}
	}
	if say("/settings mute 8h"); !m["telegram7"].MutedUntil.Equal(t0.Add(8 * 60 * 60 * 1e9)) {
		t.Errorf("muted until %v", m["telegram7"].MutedUntil)
	}
}

func TestLeaderboardPagingButtons(t *testing.T) {
	r, _ := newTestRouter(t, fixtureReader(), nil)
	rep := r.Handle(context.Background(), Request{Platform: "telegram", UserID: "7", Text: "/leaderboard all 1"})
	if len(rep.Buttons) != 1 || rep.Buttons[0].Data != "/leaderboard all 2" {
		t.Fatalf("page 1 buttons %+v", rep.Buttons)
	}
	rep = r.Handle(context.Background(), Request{Platform: "telegram", UserID: "7", Text: rep.Buttons[0].Data})
	if len(rep.Buttons) != 1 || rep.Buttons[0].Data != "/leaderboard all 1" {
		t.Fatalf("page 2 (last) buttons %+v", rep.Buttons)
	}
}

func TestBarChartPNG(t *testing.T) {
	b := BarChartPNG([]string{"BTC", "ETH"}, []float64{100, -50})
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// The gain bar is drawn above the zero line in green, the loss below in red.
	g := color.RGBAModel.Convert(img.At(chartWidth/4, chartH/3)).(color.RGBA)
	r := color.RGBAModel.Convert(img.At(3*chartWidth/4, chartH*3/4)).(color.RGBA)
	if g != chartGain || r != chartLoss {
		t.Errorf("bar colours %v and %v", g, r)
	}
	if BarChartPNG(nil, nil) != nil {
		t.Error("an empty chart should be nil")
	}
}

func TestPaperScopeDefaults(t *testing.T) {
	r, _ := newTestRouter(t, fixtureReader(), nil)
	p := &fakePaper{enabled: map[string]bool{}}
	RegisterAdmin(r, p, nil)
	tests := []struct {
		req  Request
		want string
	}{
		{Request{Platform: "telegram", UserID: "1", ChatID: "-100200", Text: "/papertrade on"}, "telegram:-100200"},
		{Request{Platform: "discord", UserID: "1", ChatID: "chan", Guild: "g7", Text: "/papertrade on"}, "discord:g7"},
		{Request{Platform: "discord", UserID: "1", ChatID: "dm", Text: "/papertrade on"}, GlobalScope},
		{Request{Platform: "console", UserID: "c", ChatID: "c", Text: "/papertrade on"}, GlobalScope},
		{Request{Platform: "telegram", UserID: "1", ChatID: "5", Text: "/papertrade on global"}, GlobalScope},
		{Request{Platform: "telegram", UserID: "1", ChatID: "5", Text: "/papertrade on ALL"}, GlobalScope},
		{Request{Platform: "console", UserID: "c", ChatID: "c", Text: "/papertrade on discord:42"}, "discord:42"},
	}
	for _, tt := range tests {
		p.enabled = map[string]bool{}
		tt.req.IsAdmin = true
		rep := r.Handle(context.Background(), tt.req)
		if rep.Kind != KindInfo || len(p.enabled) != 1 || !p.enabled[tt.want] {
			t.Errorf("%s from %s/%s (guild %q): %v %q, enabled %v, want %s", tt.req.Text, tt.req.Platform, tt.req.ChatID,
				tt.req.Guild, rep.Kind, rep.Text, p.enabled, tt.want)
		}
	}
}
