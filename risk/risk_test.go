package risk

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestEachCheckRejects: from a request every check passes, one change at a time makes
// exactly the named check fail, with a reason.
func TestEachCheckRejects(t *testing.T) {
	at := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
	base := func() (Settings, Switches, Portfolio, Market, Request) {
		s := Defaults()
		s.MinLiquidityUSD = 1000
		return s, Switches{},
			Portfolio{Equity: 10000, DayStartEquity: 10000, PeakEquity: 10000, LastEntry: map[string]time.Time{}},
			Market{Price: 2000, PriceTS: at.Add(-10 * time.Second), HorizonVol: 0.05, LiquidityUSD: 50000},
			Request{Coin: "ETH", Dir: 1, TS: at, Edge: 0.2}
	}
	s, sw, p, m, r := base()
	if d := Decide(s, sw, p, m, r); !d.Approved || d.SizeUSD != 0.05*10000 {
		t.Fatalf("base request: %+v", d)
	}
	cases := map[string]func(*Settings, *Switches, *Portfolio, *Market, *Request){
		CheckKillSwitch: func(_ *Settings, sw *Switches, _ *Portfolio, _ *Market, _ *Request) { sw.Halted = true },
		CheckBreaker:    func(_ *Settings, sw *Switches, _ *Portfolio, _ *Market, _ *Request) { sw.BreakerOn = true },
		CheckDailyLoss: func(_ *Settings, _ *Switches, p *Portfolio, _ *Market, _ *Request) {
			p.Equity = 9400
			p.PeakEquity = 9400
		},
		CheckDrawdown: func(_ *Settings, _ *Switches, p *Portfolio, _ *Market, _ *Request) {
			p.PeakEquity = 12000
		},
		CheckPrice: func(_ *Settings, _ *Switches, _ *Portfolio, m *Market, _ *Request) {
			m.PriceTS = at.Add(-2 * time.Minute)
		},
		CheckLiquidity: func(_ *Settings, _ *Switches, _ *Portfolio, m *Market, _ *Request) { m.LiquidityUSD = 999 },
		CheckSize:      func(_ *Settings, _ *Switches, _ *Portfolio, _ *Market, r *Request) { r.Edge = 0 },
		CheckPositionShare: func(_ *Settings, _ *Switches, p *Portfolio, _ *Market, _ *Request) {
			p.Positions = []Position{{Coin: "ETH", Dir: 1, USD: 600}}
		},
		CheckGrossExposure: func(s *Settings, _ *Switches, p *Portfolio, _ *Market, _ *Request) {
			p.Positions = []Position{{Coin: "BTC", USD: 5000}, {Coin: "SOL", USD: 5000}}
		},
		CheckOpenPositions: func(s *Settings, _ *Switches, p *Portfolio, _ *Market, _ *Request) {
			for _, c := range []string{"A", "B", "C", "D", "E"} {
				p.Positions = append(p.Positions, Position{Coin: c, USD: 1})
			}
		},
		CheckCooldown: func(_ *Settings, _ *Switches, p *Portfolio, _ *Market, _ *Request) {
			p.LastEntry["ETH"] = at.Add(-10 * time.Minute)
		},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			s, sw, p, m, r := base()
			mod(&s, &sw, &p, &m, &r)
			d := Decide(s, sw, p, m, r)
			if d.Approved || d.Reject != name || d.SizeUSD != 0 {
				t.Fatalf("got approved=%v reject=%q, want rejected by %s", d.Approved, d.Reject, name)
			}
			var failed []string
			for _, c := range d.Checks {
				if !c.Passed {
					failed = append(failed, c.Name)
					if c.Reason == "" {
						t.Errorf("%s failed without a reason", c.Name)
					}
				}
			}
			if len(failed) != 1 || failed[0] != name {
				t.Errorf("failed checks %v, want only %s", failed, name)
			}
		})
	}
}

func TestSizeIsCappedFractionalKellyScaledByVol(t *testing.T) {
	s := Defaults()
	if got := Size(s, 10000, 0.004, 0.05); math.Abs(got-10000*0.25*0.004/0.05) > 1e-9 {
		t.Errorf("uncapped size %v", got)
	}
	if Size(s, 10000, 0.01, 0.10) >= Size(s, 10000, 0.01, 0.05) {
		t.Error("a more volatile coin must get a smaller stake")
	}
	if got := Size(s, 10000, 5, 0.05); got != 10000*s.KellyCap {
		t.Errorf("capped size %v", got)
	}
}

func TestSettingsSetRejectsUnknownAndOutOfRange(t *testing.T) {
	s := Defaults()
	if err := s.Set("kelly_cap", 2); err == nil || !strings.Contains(err.Error(), "kelly_cap") {
		t.Errorf("out of range: %v", err)
	}
	if err := s.Set("nope", 1); err == nil {
		t.Error("unknown name accepted")
	}
	if err := s.Set("cooldown_minutes", 5); err != nil || s.CooldownMinutes != 5 {
		t.Errorf("set: %v %v", err, s.CooldownMinutes)
	}
}

// TestLiquidityWithoutMinimumIsNotMeasured: with min_liquidity_usd 0 the check passes
// whatever the market says, and says it was not measured.
func TestLiquidityWithoutMinimumIsNotMeasured(t *testing.T) {
	at := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
	s := Defaults()
	s.MinLiquidityUSD = 0
	d := Decide(s, Switches{}, Portfolio{Equity: 10000, DayStartEquity: 10000, PeakEquity: 10000},
		Market{Price: 2000, PriceTS: at, LiquidityUSD: 0}, Request{Coin: "ETH", Dir: 1, TS: at, Edge: 0.2})
	for _, c := range d.Checks {
		if c.Name == CheckLiquidity && (!c.Passed || c.Value != -1 || !strings.Contains(c.Reason, "not measured")) {
			t.Errorf("liquidity check without a minimum: %+v", c)
		}
	}
	if !d.Approved {
		t.Errorf("decision: %+v", d)
	}
}
