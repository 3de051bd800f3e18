package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/api"
	"github.com/coattailcapital/coattail/risk"
)

const tradeWallet = "0x51f63885534cb494f4592a0311551f369bff2b39"

func TestPaperRiskAndSignalDecisions(t *testing.T) {
	e := newEnv(t, nil)
	decided, plain := seedTrading(t, e.st, tradeWallet)
	get := func(path string) (int, string) { t.Helper(); return do(t, "GET", e.srv.URL+path, "", "") }

	_, body := get("/api/paper")
	ps := decode[api.PaperState](t, body)
	if len(ps.Scopes) != 2 || ps.Scopes[0].Scope != "discord:99" || ps.Scopes[1].Scope != "telegram:7" {
		t.Fatalf("scopes: %s", body)
	}
	if off := ps.Scopes[0]; off.Enabled || off.Status != nil || len(off.Equity) != 0 {
		t.Errorf("a scope switched off before it had an account: %+v", off)
	}
	tg := ps.Scopes[1]
	if !tg.Enabled || tg.Status == nil || tg.Status.Open != 1 || tg.Status.Closed != 1 || tg.Status.Wins != 1 {
		t.Fatalf("telegram:7 status: %s", body)
	}
	if len(tg.Positions) != 1 || tg.Positions[0].Coin != "ETH" || len(tg.Closed) != 1 || tg.Closed[0].ExitReason != "take_profit" {
		t.Errorf("positions %+v closed %+v", tg.Positions, tg.Closed)
	}
	if len(tg.Fills) != 2 || tg.Fills[0].Coin != "BTC" || tg.Fills[1].Px != 2000 {
		t.Errorf("fills newest first: %+v", tg.Fills)
	}
	if len(tg.Equity) != 3 || tg.Equity[2].Equity != 10034.5 || !tg.Equity[0].TS.Equal(seedT0) {
		t.Errorf("equity curve: %+v", tg.Equity)
	}
	_, body = get("/api/paper?scope=telegram:7&limit=1")
	if one := decode[api.PaperState](t, body); len(one.Scopes) != 1 || len(one.Scopes[0].Fills) != 1 {
		t.Errorf("one scope, one fill: %s", body)
	}
	if code, _ := get("/api/paper?scope=telegram:8"); code != 404 {
		t.Errorf("unknown scope = %d, want 404", code)
	}
	if code, _ := get("/api/paper?scope=slack:1"); code != 400 {
		t.Errorf("invalid scope = %d, want 400", code)
	}

	if err := risk.NewService(e.st).Halt(t.Context(), "test halt"); err != nil {
		t.Fatal(err)
	}
	_, body = get("/api/risk")
	v := decode[risk.View](t, body)
	if !v.Halted || v.HaltReason != "test halt" || len(v.Settings) != len(risk.Names()) || v.Breakers == nil {
		t.Errorf("risk: %s", body)
	}

	_, body = get("/api/risk/decisions")
	ds := decode[[]risk.StoredDecision](t, body)
	if len(ds) != 2 || ds[0].Scope != "global" || ds[0].Reject != risk.CheckCooldown || ds[0].Coin != "ETH" || len(ds[1].Checks) != 1 {
		t.Errorf("decisions newest first: %s", body)
	}
	for q, want := range map[string]int{"rejected=true": 1, "rejected=false": 2, "check=coin_cooldown": 1,
		"check=max_drawdown": 0, "scope=telegram:7": 1, "scope=global&rejected=true&limit=1": 1} {
		if _, body := get("/api/risk/decisions?" + q); len(decode[[]risk.StoredDecision](t, body)) != want {
			t.Errorf("decisions?%s: %s, want %d", q, body, want)
		}
	}
	for _, bad := range []string{"rejected=maybe", "check=vibes", "scope=nowhere", "limit=0"} {
		if code, _ := get("/api/risk/decisions?" + bad); code != 400 {
			t.Errorf("decisions?%s = %d, want 400", bad, code)
		}
	}

	_, body = get("/api/signals")
	sigs := decode[[]api.SignalView](t, body)
	if len(sigs) != 2 || sigs[0].ID != plain || sigs[1].ID != decided {
		t.Fatalf("signals: %s", body)
	}
	if len(sigs[0].Decisions) != 0 || !strings.Contains(body, `"decisions":[]`) {
		t.Errorf("a signal without decisions has an empty array: %s", body)
	}
	d := sigs[1].Decisions
	if len(d) != 2 || d[0].Scope != "global" || d[0].Approved || d[1].Scope != "telegram:7" || !d[1].Approved ||
		d[1].SizeUSD != 500 || !strings.Contains(string(d[0].Checks), "ETH traded 2m ago") {
		t.Errorf("decisions of signal %d: %+v", decided, d)
	}
	if sigs[1].Wallet != tradeWallet || sigs[1].USD != 25000 {
		t.Errorf("the signal's own fields: %+v", sigs[1].FeedSignal)
	}
}

func TestPipelineWatermarksAndAlertLatency(t *testing.T) {
	e := newEnv(t, nil)
	seedWindows(t, e.st)
	seedTrading(t, e.st, tradeWallet)
	_, body := do(t, "GET", e.srv.URL+"/api/pipeline", "", "")
	h := decode[api.PipelineHealth](t, body)
	if len(h.Watermarks) != 2 {
		t.Fatalf("watermarks: %s", body)
	}
	b := h.Watermarks[0]
	// The slowest shard's watermark, the newest event, the late events of both shards.
	if b.Group != "windows" || b.Source != "binance" || !b.Watermark.Equal(seedT0) || !b.MaxEvent.Equal(seedT0.Add(time.Minute)) ||
		b.Late != 7 || b.Shards != 2 || b.EventDelaySeconds != 60 {
		t.Errorf("binance %+v", b)
	}
	if want := h.GeneratedAt.Sub(seedT0).Seconds(); b.DelaySeconds != want {
		t.Errorf("delay %v, want %v (generated_at − watermark)", b.DelaySeconds, want)
	}
	al := h.AlertLatency
	if al.Delivered != 1 || al.P50 == nil || *al.P50 != 2 || al.P99 == nil || *al.P99 != 2 || al.WindowSeconds != 3600 {
		t.Errorf("alert latency: %s", body)
	}
	_, m := do(t, "GET", e.srv.URL+"/metrics", "", "")
	for _, want := range []string{`coattail_window_late_events_total{group="windows",source="binance"} 7`,
		`coattail_window_late_events_total{group="windows",source="ethereum"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
