package api_test

import (
	"strings"
	"testing"
	"time"
)

func TestReferencePrices(t *testing.T) {
	e := newEnv(t, nil)
	seedWindows(t, e.st)
	type venue struct {
		Venue, Symbol string
		Close         float64
		End           time.Time
	}
	type answer struct {
		At     time.Time
		Prices []struct {
			Coin             string
			Price            float64
			TS               time.Time
			StalenessSeconds float64 `json:"staleness_seconds"`
			Venues           []venue
		}
	}
	at := seedT0.Add(3 * time.Minute)
	code, body := do(t, "GET", e.srv.URL+"/api/prices/reference?coin=eth&at="+at.Format(time.RFC3339), "", "")
	if code != 200 {
		t.Fatalf("= %d %s", code, body)
	}
	got := decode[answer](t, body)
	if !got.At.Equal(at) || len(got.Prices) != 1 {
		t.Fatalf("answer %s: want one price at %s", body, at)
	}
	p := got.Prices[0]
	// binance's newest bar (ending at `at`, close 2022, quote volume 20,200) and
	// coinbase's only one (ending two minutes before, close 2000, no volume: it weighs
	// as much as the smallest volume present, binance's): the lower of two equal weights.
	if p.Coin != "ETH" || p.Price != 2000 || len(p.Venues) != 2 || p.Venues[0].Venue != "binance" ||
		p.Venues[0].Close != 2022 || !p.Venues[0].End.Equal(at) || p.Venues[1].Venue != "coinbase" {
		t.Errorf("ETH at %s: %s", at, body)
	}
	if !p.TS.Equal(at.Add(-time.Second)) || p.StalenessSeconds != 1 {
		t.Errorf("ts %s staleness %vs, want binance's close one second before %s", p.TS, p.StalenessSeconds, at)
	}
	// Ten minutes later both venues' bars are stale.
	later := at.Add(10 * time.Minute).Format(time.RFC3339)
	if code, body := do(t, "GET", e.srv.URL+"/api/prices/reference?at="+later, "", ""); code != 200 || !strings.Contains(body, `"prices":[]`) {
		t.Errorf("at %s = %d %s, want no prices", later, code, body)
	}
	if code, body := do(t, "GET", e.srv.URL+"/api/prices/reference?coin=ETH&at="+later, "", ""); code != 404 || !strings.Contains(body, "no reference price of ETH") {
		t.Errorf("ETH at %s = %d %s, want 404", later, code, body)
	}
}
