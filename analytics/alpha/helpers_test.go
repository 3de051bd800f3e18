package alpha

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// epoch is the start of every hand-built series.
func epoch() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// walk returns a series of coin with n prices a step apart: a driftless random walk
// with sigma the standard deviation of a step's log return.
func walk(coin string, seed uint64, n int, step time.Duration, sigma float64) *Series {
	s := NewSeries()
	addWalk(s, coin, seed, n, step, sigma)
	return s
}

func addWalk(s *Series, coin string, seed uint64, n int, step time.Duration, sigma float64) {
	r := rand.New(rand.NewPCG(seed, 7))
	px := 100.0
	for i := range n {
		s.Add(coin, epoch().Add(time.Duration(i)*step), px)
		px *= math.Exp(sigma * r.NormFloat64())
	}
}

// trader plants round trips in a series: every gap it opens a position of notional
// usd in coin, right about the direction of the move over hold with probability
// skill (0.5: no edge), and closes it hold later.
type trader struct {
	wallet string
	coin   string
	usd    float64
	skill  float64
	hold   time.Duration
	gap    time.Duration
	seed   uint64
	offset time.Duration // first entry after t0
}

// trips returns the trader's actions over the series' span.
func (tr trader) trips(tb testing.TB, s Prices) []Action {
	tb.Helper()
	r := rand.New(rand.NewPCG(tr.seed, 11))
	_, last, ok := s.Span(tr.coin)
	if !ok {
		tb.Fatalf("no prices of %s", tr.coin)
	}
	var out []Action
	for t := epoch().Add(tr.offset); !t.Add(tr.hold).After(last); t = t.Add(tr.gap) {
		p0, _ := s.At(tr.coin, t)
		p1, _ := s.At(tr.coin, t.Add(tr.hold))
		dir := 1
		if r.Float64() < 0.5 {
			dir = -1
		}
		if tr.skill != 0.5 && p1 != p0 {
			up := p1 > p0
			right := r.Float64() < tr.skill
			if up == right {
				dir = 1
			} else {
				dir = -1
			}
		}
		out = append(out, roundTrip(tr.wallet, tr.coin, dir, tr.usd, t, p0, t.Add(tr.hold), p1)...)
	}
	return out
}

// roundTrip returns an open of notional usd on side dir at p0 and its close at p1.
func roundTrip(wallet, coin string, dir int, usd float64, at time.Time, p0 float64, until time.Time, p1 float64) []Action {
	size := usd / p0
	pos := float64(dir) * size
	return []Action{
		{Wallet: wallet, Coin: coin, TS: at, Kind: KindOpen, Dir: dir, Size: size, Px: p0, NotionalUSD: usd,
			PosAfter: pos, EntryPxAfter: p0, Fills: 1},
		{Wallet: wallet, Coin: coin, TS: until, Kind: KindClose, Dir: -dir, Size: size, Px: p1, NotionalUSD: size * p1,
			PosBefore: pos, EntryPx: p0, OpenedAt: at, ClosedSize: size, RealizedPnl: pos * (p1 - p0), Fills: 1},
	}
}

// scoreOf returns the score of wallet in scores, failing the test when missing.
func scoreOf(tb testing.TB, scores []Score, wallet string) Score {
	tb.Helper()
	for _, s := range scores {
		if s.Wallet == wallet {
			return s
		}
	}
	tb.Fatalf("no score for %s", wallet)
	return Score{}
}

func mustScorer(tb testing.TB, cfg Config) *Scorer {
	tb.Helper()
	s, err := NewScorer(cfg)
	if err != nil {
		tb.Fatalf("NewScorer: %v", err)
	}
	return s
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
