package alpha

import (
	"bufio"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

// ethKlines is Binance's ETHUSDT hourly klines, May 2024 to May 2026, read in place
// (docs: /work/shared/data/SOURCES.md).
const ethKlines = "../../../shared/data/binance/ETHUSDT-1h-klines.csv"

// loadKlines returns the hourly closes of a Binance kline CSV as a series of coin,
// each close at the end of its hour. It skips the test when the file is absent.
func loadKlines(t *testing.T, path, coin string) (*Series, []time.Time, []float64) {
	t.Helper()
	f, err := os.Open(filepath.FromSlash(path))
	if os.IsNotExist(err) {
		t.Skipf("real data %s is absent (it lives beside the repository in shared/data)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewSeries()
	var ts []time.Time
	var px []float64
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan(); n++ {
		if n == 0 {
			continue // header
		}
		cols := strings.Split(sc.Text(), ",")
		if len(cols) < 5 {
			t.Fatalf("line %d: %d columns", n+1, len(cols))
		}
		ms, err1 := strconv.ParseInt(cols[0], 10, 64)
		c, err2 := strconv.ParseFloat(cols[4], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("line %d: %v %v", n+1, err1, err2)
		}
		at := time.UnixMilli(ms).UTC().Add(time.Hour)
		s.Add(coin, at, c)
		ts = append(ts, at)
		px = append(px, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	s.Seal()
	return s, ts, px
}

// plantedRole is the kind of a wallet planted on real prices.
type plantedRole string

const (
	planSkilled plantedRole = "skilled" // right about the move over its hold 60-66% of the time
	planNoise   plantedRole = "noise"   // random direction
	planWhale   plantedRole = "whale"   // random direction, 100-500 times the size, fewer trades
	planBeta    plantedRole = "beta"    // always long: rides the market's drift
)

// plant generates the fills of wallets of the given roles trading coin on the hourly
// prices px at times ts.
func plant(seed uint64, coin string, ts []time.Time, px []float64, roles map[string]plantedRole) []event.Event {
	r := rand.New(rand.NewPCG(seed, 99))
	var evs []event.Event
	var id int
	fillAt := func(w string, i int, side event.Side, sz, start float64) {
		id++
		// Fill a little after the close, at the close ± 2 bps of spread.
		p := px[i] * (1 + 0.0002)
		if side == event.Sell {
			p = px[i] * (1 - 0.0002)
		}
		evs = append(evs, event.Event{
			Kind: event.KindFill, Src: "test", ID: strconv.Itoa(id), TS: ts[i].Add(time.Second), Wallet: w, Coin: coin,
			Side: side, Px: decimal.NewFromFloat(p).Round(2), Sz: decimal.NewFromFloat(sz).Round(4),
			StartPosition: decimal.NullDecimal{Decimal: decimal.NewFromFloat(start).Round(4), Valid: true},
		})
	}
	for _, w := range slices.Sorted(maps.Keys(roles)) {
		role := roles[w]
		usd := 1000 * math.Exp(r.Float64()*math.Log(50)) // 1k to 50k
		gapMin, gapMax, holdMin, holdMax := 6, 36, 4, 48
		skill := 0.5
		switch role {
		case planSkilled:
			skill = 0.60 + 0.06*r.Float64()
			usd = 10000
		case planWhale:
			usd *= 100 + 400*r.Float64()
			gapMin, gapMax = 48, 144
		case planBeta:
			holdMin, holdMax, gapMin, gapMax = 24, 168, 1, 4
		}
		for i := r.IntN(gapMax); ; {
			hold := holdMin + r.IntN(holdMax-holdMin+1)
			if i+hold >= len(px) {
				break
			}
			long := r.IntN(2) == 0
			switch role {
			case planBeta:
				long = true
			case planSkilled:
				if px[i+hold] != px[i] {
					long = (px[i+hold] > px[i]) == (r.Float64() < skill)
				}
			}
			sz := usd / px[i]
			open, cls := event.Buy, event.Sell
			if !long {
				open, cls = event.Sell, event.Buy
			}
			signed := sz
			if !long {
				signed = -sz
			}
			fillAt(w, i, open, sz, 0)
			fillAt(w, i+hold, cls, sz, math.Round(signed*1e4)/1e4)
			i += hold + gapMin + r.IntN(gapMax-gapMin+1)
		}
	}
	return evs
}

// plantedRoles returns the wallets of the real-price tests: 5 skilled, 40 noise, 6
// whales and 3 always long.
func plantedRoles() map[string]plantedRole {
	roles := map[string]plantedRole{}
	add := func(role plantedRole, n int) {
		for i := range n {
			roles[fmt.Sprintf("0x%s%02d", role, i)] = role
		}
	}
	add(planSkilled, 5)
	add(planNoise, 40)
	add(planWhale, 6)
	add(planBeta, 3)
	return roles
}

func TestRealPricesPlantedWallets(t *testing.T) {
	prices, ts, px := loadKlines(t, ethKlines, "ETH")
	t.Logf("ETH: %d hourly closes, %s to %s, %.0f to %.0f", len(px), ts[0].Format(time.DateOnly), ts[len(ts)-1].Format(time.DateOnly), px[0], px[len(px)-1])
	var sumSkill, sumPnL float64
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	if testing.Short() {
		seeds = seeds[:2]
	}
	for _, seed := range seeds {
		roles := plantedRoles()
		evs := plant(seed, "ETH", ts, px, roles)
		acts, err := ActionsFromFills(evs, ActionConfig{})
		if err != nil {
			t.Fatal(err)
		}
		pnl := map[string]float64{}
		for _, a := range acts {
			pnl[a.Wallet] += a.RealizedPnl - a.Fee
		}
		// The default configuration: 1h, 4h and 24h horizons, 10 bps, drift benchmark.
		scores := mustScorer(t, Config{}).Score(acts, prices, time.Time{})
		board := Rank(scores)
		skilled := map[string]bool{}
		for w, r := range roles {
			skilled[w] = r == planSkilled
		}
		prec := func(ws []string) float64 {
			hit := 0
			for _, w := range ws[:5] {
				if skilled[w] {
					hit++
				}
			}
			return float64(hit) / 5
		}
		skill, byPnL := prec(walletsOf(board)), prec(rankByPnL(pnl))
		var top []string
		for _, r := range board[:8] {
			top = append(top, fmt.Sprintf("%s(%+.3f)", strings.TrimPrefix(r.Wallet, "0x"), r.Score.Score))
		}
		pnlTop := rankByPnL(pnl)[:5]
		t.Logf("seed %d: precision@5 %.1f, by realised PnL %.1f; board %v; PnL top %v", seed, skill, byPnL, top, pnlTop)
		for _, sc := range scores {
			if sc.Excluded {
				t.Errorf("%s excluded: %s (%.2f actions/h, hold %s)", sc.Wallet, sc.Reason, sc.ActionsPerHour, sc.MedianHold)
			}
		}
		sumSkill += skill
		sumPnL += byPnL
	}
	n := float64(len(seeds))
	t.Logf("mean precision@5 %.2f, by realised PnL %.2f", sumSkill/n, sumPnL/n)
	if sumSkill/n < 0.6 || sumSkill <= sumPnL {
		t.Errorf("mean precision@5 %.2f, by PnL %.2f: want >= 0.6 and above PnL", sumSkill/n, sumPnL/n)
	}
}
