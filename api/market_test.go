package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/store"
)

func TestAnomaliesFlowsAndBars(t *testing.T) {
	e := newEnv(t, nil)
	seedWindows(t, e.st)
	get := func(path string) (int, string) { t.Helper(); return do(t, "GET", e.srv.URL+path, "", "") }

	_, body := get("/api/anomalies")
	all := decode[[]store.AnomalyView](t, body)
	if len(all) != 3 || all[0].Symbol != "BTC-USD" || all[2].Kind != "volume_spike" || all[0].ID != "03" ||
		string(all[2].Evidence) != `{"median": 12.5}` && string(all[2].Evidence) != `{"median":12.5}` || all[2].Baseline != 12.5 || all[2].Published {
		t.Fatalf("anomalies newest first: %s", body)
	}
	_, body = get("/api/anomalies?symbol=ETH-USDT&kind=large_trade")
	if got := decode[[]store.AnomalyView](t, body); len(got) != 1 || got[0].Value != 2e6 {
		t.Errorf("filtered by symbol and kind: %s", body)
	}
	_, body = get("/api/anomalies?since=" + seedT0.Add(90*time.Second).Format(time.RFC3339) + "&limit=5")
	if got := decode[[]store.AnomalyView](t, body); len(got) != 1 || got[0].Symbol != "BTC-USD" {
		t.Errorf("since: %s", body)
	}
	if _, body = get("/api/anomalies?since=1h"); body != "[]\n" {
		t.Errorf("since 1h back from now (the seeded ones are older): %s", body)
	}
	for _, bad := range []string{"kind=whale", "since=yesterday", "limit=0", "limit=1001"} {
		if code, body := get("/api/anomalies?" + bad); code != 400 || !strings.Contains(body, "error") {
			t.Errorf("?%s = %d %s, want 400", bad, code, body)
		}
	}

	_, body = get("/api/flows")
	flows := decode[[]store.FlowView](t, body)
	if len(flows) != 1 {
		t.Fatalf("flows: %s", body)
	}
	f := flows[0]
	// Summed over the two shards' partial rows.
	if f.Inflow != 1.5e6 || f.Outflow != 3e5 || f.Net != 1.2e6 || f.Deposits != 2 || f.LargeDeposits != 2 ||
		f.Window != "1h" || !f.Start.Equal(seedT0) || !f.Final || f.Symbol != "USDT" {
		t.Errorf("flow %+v", f)
	}
	for q, want := range map[string]int{"token=usdt": 1, "exchange=binance&window=1h": 1, "exchange=kraken": 0,
		"window=1d": 0, "since=" + seedT0.Add(time.Second).Format(time.RFC3339): 0} {
		if _, body := get("/api/flows?" + q); len(decode[[]store.FlowView](t, body)) != want {
			t.Errorf("flows?%s: %s, want %d rows", q, body, want)
		}
	}
	if code, _ := get("/api/flows?window=5m"); code != 400 {
		t.Errorf("window 5m = %d, want 400", code)
	}

	_, body = get("/api/bars?symbol=ETH-USDT&venue=binance&limit=2")
	bars := decode[[]store.BarView](t, body)
	// The latest two, oldest first.
	if len(bars) != 2 || !bars[0].Start.Equal(seedT0.Add(time.Minute)) || bars[1].Close != 2022 || bars[1].Final ||
		bars[0].VWAP == nil || *bars[0].VWAP != 2001.5 || bars[0].Interval != "1m" {
		t.Errorf("bars: %s", body)
	}
	_, body = get("/api/bars?symbol=ETH-USDT")
	if bars := decode[[]store.BarView](t, body); len(bars) != 4 || bars[0].Start != bars[1].Start {
		t.Errorf("both venues: %s", body)
	}
	if !strings.Contains(body, `"vwap":null`) {
		t.Errorf("a bar built from prices only has vwap null: %s", body)
	}
	if _, body = get("/api/bars?symbol=ETH-USDT&interval=5m"); body != "[]\n" {
		t.Errorf("no 5m bars seeded: %s", body)
	}
	for _, bad := range []string{"", "symbol=ETH-USDT&interval=1d", "symbol=ETH-USDT&limit=x"} {
		if code, _ := get("/api/bars?" + bad); code != 400 {
			t.Errorf("bars?%s = %d, want 400", bad, code)
		}
	}
}
