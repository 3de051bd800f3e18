package demo

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/event"
)

// run plays ticks ticks of the market cfg describes and returns every event.
func run(t testing.TB, cfg Config, ticks int) ([]event.Event, *Market) {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	var all []event.Event
	for range ticks {
		all = append(all, m.Next()...)
	}
	return all, m
}

func roles(m *Market) map[string]Role {
	r := make(map[string]Role)
	for _, w := range m.Wallets() {
		r[w.Address] = w.Role
	}
	return r
}

func isClose(dir string) bool { return dir == "Close Long" || dir == "Close Short" }

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		wantErr     bool
		wantWallets int
		wantCoins   int
	}{
		{name: "zero value", cfg: Config{}, wantWallets: 60, wantCoins: 5},
		{name: "custom coins", cfg: Config{Coins: []string{"HYPE", "kPEPE", "BTC"}}, wantWallets: 60, wantCoins: 3},
		{name: "no special roles", cfg: Config{Wallets: 3, Skilled: -1, Whales: -1, Bots: -1}, wantWallets: 3, wantCoins: 5},
		{name: "only special roles", cfg: Config{Wallets: 13}, wantWallets: 13, wantCoins: 5},
		{name: "slow step", cfg: Config{Step: time.Hour}, wantWallets: 60, wantCoins: 5},
		{name: "fast step", cfg: Config{Step: time.Millisecond}, wantWallets: 60, wantCoins: 5},
		{name: "negative step", cfg: Config{Step: -time.Second}, wantErr: true},
		{name: "step below a millisecond", cfg: Config{Step: time.Microsecond}, wantErr: true},
		{name: "step above an hour", cfg: Config{Step: 2 * time.Hour}, wantErr: true},
		{name: "start before 2009", cfg: Config{Start: time.Date(2008, 12, 31, 0, 0, 0, 0, time.UTC)}, wantErr: true},
		{name: "empty coin", cfg: Config{Coins: []string{"BTC", ""}}, wantErr: true},
		{name: "coin with a dash", cfg: Config{Coins: []string{"BTC-USD"}}, wantErr: true},
		{name: "coin too long", cfg: Config{Coins: []string{"ABCDEFGHIJKLMNOPQRSTU"}}, wantErr: true},
		{name: "duplicate coin", cfg: Config{Coins: []string{"ETH", "BTC", "ETH"}}, wantErr: true},
		{name: "too many coins", cfg: Config{Coins: manyCoins(MaxCoins + 1)}, wantErr: true},
		{name: "negative wallets", cfg: Config{Wallets: -5}, wantErr: true},
		{name: "too many wallets", cfg: Config{Wallets: MaxWallets + 1}, wantErr: true},
		{name: "roles exceed wallets", cfg: Config{Wallets: 12}, wantErr: true},
		{name: "skilled exceed wallets", cfg: Config{Wallets: 10, Skilled: 11, Whales: -1, Bots: -1}, wantErr: true},
		{name: "subtle skill", cfg: Config{SkillRight: 0.6, SkillPicks: 3}, wantWallets: 60, wantCoins: 5},
		{name: "skill below a coin toss", cfg: Config{SkillRight: 0.45}, wantErr: true},
		{name: "skill above 0.9", cfg: Config{SkillRight: 0.95}, wantErr: true},
		{name: "skill NaN", cfg: Config{SkillRight: math.NaN()}, wantErr: true},
		{name: "negative picks", cfg: Config{SkillPicks: -1}, wantErr: true},
		{name: "too many picks", cfg: Config{SkillPicks: 51}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.cfg)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("New() error = %v, want one wrapping ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			if got := len(m.Wallets()); got != tc.wantWallets {
				t.Errorf("%d wallets, want %d", got, tc.wantWallets)
			}
			prices := 0
			for _, e := range m.Next() {
				if e.Kind == event.KindPrice {
					prices++
				}
			}
			if prices != tc.wantCoins {
				t.Errorf("first tick has %d price events, want %d", prices, tc.wantCoins)
			}
		})
	}
}

func manyCoins(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "C" + strconv.Itoa(i)
	}
	return out
}

func TestNewDoesNotKeepCallersCoins(t *testing.T) {
	coins := []string{"BTC", "ETH"}
	m, err := New(Config{Coins: coins})
	if err != nil {
		t.Fatal(err)
	}
	coins[0] = "bad coin"
	for _, e := range m.Next() {
		if e.Kind == event.KindPrice && e.Symbol != "BTC" && e.Symbol != "ETH" {
			t.Fatalf("price event for %q: New kept the caller's slice", e.Symbol)
		}
	}
}

var addressRE = regexp.MustCompile(`^0x[0-9a-f]{40}$`)

func TestWalletsGroundTruth(t *testing.T) {
	m, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ws := m.Wallets()
	count := map[Role]int{}
	addrs := map[string]bool{}
	labels := map[string]bool{}
	for _, w := range ws {
		count[w.Role]++
		if !addressRE.MatchString(w.Address) {
			t.Errorf("address %q is not 0x + 40 lower-case hex", w.Address)
		}
		if addrs[w.Address] || labels[w.Label] || w.Label == "" {
			t.Errorf("duplicate or empty address/label: %+v", w)
		}
		addrs[w.Address], labels[w.Label] = true, true
	}
	want := map[Role]int{RoleSkilled: 5, RoleWhale: 6, RoleBot: 2, RoleNoise: 47}
	for r, n := range want {
		if count[r] != n {
			t.Errorf("%d %s wallets, want %d", count[r], r, n)
		}
	}

	other, err := New(Config{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range other.Wallets() {
		if addrs[w.Address] {
			t.Errorf("seed 2 reuses seed 1's address %s", w.Address)
		}
	}
}

// canon renders an event field by field, decimals as their strings.
func canon(e event.Event) string { return fmt.Sprint(e) }

func TestDeterministic(t *testing.T) {
	const ticks = 500
	a, _ := run(t, Config{Seed: 7}, ticks)
	b, _ := run(t, Config{Seed: 7}, ticks)
	c, _ := run(t, Config{Seed: 8}, ticks)
	if len(a) != len(b) {
		t.Fatalf("same seed: %d and %d events", len(a), len(b))
	}
	for i := range a {
		if canon(a[i]) != canon(b[i]) {
			t.Fatalf("same seed, event %d differs:\n%s\n%s", i, canon(a[i]), canon(b[i]))
		}
	}
	same := 0
	for i := range min(len(a), len(c)) {
		if canon(a[i]) == canon(c[i]) {
			same++
		}
	}
	// Only the first tick's prices (every path starts at the coin's start price) may agree.
	if same > 5 {
		t.Errorf("seeds 7 and 8 share %d of their first events", same)
	}
}

func TestPricesDoNotDependOnWallets(t *testing.T) {
	prices := func(cfg Config) []string {
		evs, _ := run(t, cfg, 300)
		var out []string
		for _, e := range evs {
			if e.Kind == event.KindPrice {
				out = append(out, canon(e))
			}
		}
		return out
	}
	a := prices(Config{Seed: 3})
	b := prices(Config{Seed: 3, Wallets: 20, Skilled: 1, Whales: 1, Bots: 1})
	if !slices.Equal(a, b) {
		t.Error("the price path changed with the wallet population")
	}
}

// TestEventsValid checks every event against the format's rules (event.Validate) and
// the demo's own promises: sources, symbols, ordering, ids.
func TestEventsValid(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Seed: 99, Coins: []string{"HYPE", "kPEPE", "BTC", "X1"}, Step: 250 * time.Millisecond},
		{Seed: 5, Step: time.Millisecond},
		{Seed: 6, Step: time.Hour},
	} {
		full := cfg.withDefaults()
		t.Run(fmt.Sprintf("seed=%d,step=%s", full.Seed, full.Step), func(t *testing.T) {
			const ticks = 3000
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			end := full.Start.Add(ticks * full.Step)
			rules := event.Rules{Now: func() time.Time { return end }}
			ids := map[string]bool{}
			var last time.Time
			var lastTrade, lastFill uint64
			kinds := map[event.Kind]int{}
			for k := range ticks {
				tickStart := full.Start.Add(time.Duration(k) * full.Step)
				if got := m.Time(); !got.Equal(tickStart) {
					t.Fatalf("tick %d: Time() = %s, want %s", k, got, tickStart)
				}
				evs := m.Next()
				prices := 0
				for i, e := range evs {
					kinds[e.Kind]++
					cp := e
					if err := cp.Validate(rules); err != nil {
						t.Fatalf("tick %d event %d fails Validate: %v\n%s", k, i, err, canon(e))
					}
					if e.TS.Before(last) {
						t.Fatalf("tick %d event %d: time %s before %s", k, i, e.TS, last)
					}
					last = e.TS
					if e.TS.Before(tickStart) || !e.TS.Before(tickStart.Add(full.Step)) {
						t.Fatalf("tick %d event %d: time %s outside the tick", k, i, e.TS)
					}
					if e.TS.Location() != time.UTC {
						t.Fatalf("tick %d event %d: time not in UTC", k, i)
					}
					switch e.Kind {
					case event.KindPrice:
						prices++
						if i != prices-1 || e.Src != SrcFills || !e.TS.Equal(tickStart) {
							t.Fatalf("tick %d: price event %d out of place: %s", k, i, canon(e))
						}
					case event.KindPosition:
						if i < len(full.Coins) || e.Src != SrcFills || !e.TS.Equal(tickStart) {
							t.Fatalf("tick %d: position event %d out of place: %s", k, i, canon(e))
						}
					case event.KindTrade:
						id := checkID(t, e.ID, &lastTrade)
						if e.Src != SrcTape || !slices.Contains(full.Coins, e.Symbol[:len(e.Symbol)-5]) || e.Symbol[len(e.Symbol)-5:] != "-USDT" {
							t.Fatalf("bad trade %s", canon(e))
						}
						key := "trade/" + strconv.FormatUint(id, 10)
						if ids[key] {
							t.Fatalf("duplicate trade id %d", id)
						}
						ids[key] = true
					case event.KindFill:
						id := checkID(t, e.ID, &lastFill)
						if e.Src != SrcFills || !slices.Contains(full.Coins, e.Coin) || !e.StartPosition.Valid || !e.ClosedPnl.Valid || !e.Fee.Valid {
							t.Fatalf("bad fill %s", canon(e))
						}
						key := "fill/" + strconv.FormatUint(id, 10)
						if ids[key] {
							t.Fatalf("duplicate fill id %d", id)
						}
						ids[key] = true
					default:
						t.Fatalf("unexpected kind %q", e.Kind)
					}
				}
				if prices != len(full.Coins) {
					t.Fatalf("tick %d: %d price events, want %d", k, prices, len(full.Coins))
				}
			}
			for _, k := range []event.Kind{event.KindTrade, event.KindFill, event.KindPosition} {
				if kinds[k] < ticks/10 {
					t.Errorf("only %d %s events in %d ticks", kinds[k], k, ticks)
				}
			}
		})
	}
}

// checkID parses a decimal id and checks it is larger than the previous one.
func checkID(t *testing.T, s string, last *uint64) uint64 {
	t.Helper()
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id <= *last {
		t.Fatalf("id %q after %d: want an increasing integer", s, *last)
	}
	*last = id
	return id
}

// ledger is the test's own average-cost book of one wallet in one coin.
type ledger struct {
	lots, cost decimal.Decimal // signed size; cost of |size| at average cost
	in, out    decimal.Decimal // notional opened and closed since flat
	closed     decimal.Decimal // closed_pnl reported since flat
}

// TestAccounting replays the fills with an independent average-cost book: each fill's
// start_position is the sum of the wallet's earlier fills in the coin, dir names what
// the fill does, closed_pnl is average-cost PnL gross of fees, fees are 0.035% of
// notional, and position observations agree with the fills.
func TestAccounting(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			evs, _ := run(t, Config{Seed: seed}, 4000)
			books := map[string]*ledger{}
			mark := map[string]decimal.Decimal{}
			feeRate := decimal.RequireFromString("0.00035")
			halfMicro := decimal.RequireFromString("0.0000005")
			var adds, partials, roundTrips, observed int
			for i, e := range evs {
				switch e.Kind {
				case event.KindPrice:
					mark[e.Symbol] = e.Price
					continue
				case event.KindFill, event.KindPosition:
				default:
					continue
				}
				key := e.Wallet + "/" + e.Coin
				b := books[key]
				if b == nil {
					b = &ledger{}
					books[key] = b
				}
				if e.Kind == event.KindPosition {
					observed++
					checkPosition(t, i, e, b, mark[e.Coin])
					continue
				}
				if !e.StartPosition.Decimal.Equal(b.lots) {
					t.Fatalf("event %d: start_position %s, fills so far sum to %s\n%s", i, e.StartPosition.Decimal, b.lots, canon(e))
				}
				buy := e.Side == event.Buy
				var wantDir string
				switch {
				case buy && b.lots.Sign() >= 0:
					wantDir = "Open Long"
				case buy:
					wantDir = "Close Short"
				case b.lots.Sign() <= 0:
					wantDir = "Open Short"
				default:
					wantDir = "Close Long"
				}
				if e.Dir != wantDir {
					t.Fatalf("event %d: dir %q, want %q\n%s", i, e.Dir, wantDir, canon(e))
				}
				notional := e.Px.Mul(e.Sz)
				if diff := e.Fee.Decimal.Sub(notional.Mul(feeRate)).Abs(); diff.GreaterThan(halfMicro) {
					t.Fatalf("event %d: fee %s, want 0.035%% of %s\n%s", i, e.Fee.Decimal, notional, canon(e))
				}
				signed := e.Sz
				if !buy {
					signed = e.Sz.Neg()
				}
				if !isClose(e.Dir) {
					if !e.ClosedPnl.Decimal.IsZero() {
						t.Fatalf("event %d: opening fill with closed_pnl %s", i, e.ClosedPnl.Decimal)
					}
					if !b.lots.IsZero() {
						adds++
					}
					b.lots = b.lots.Add(signed)
					b.cost = b.cost.Add(notional)
					b.in = b.in.Add(notional)
					continue
				}
				abs := b.lots.Abs()
				if e.Sz.GreaterThan(abs) {
					t.Fatalf("event %d: closing %s of a position of %s reverses it", i, e.Sz, b.lots)
				}
				released := b.cost.Mul(e.Sz).Div(abs)
				want := notional.Sub(released)
				if buy { // closing a short
					want = want.Neg()
				}
				unit := decimal.New(5, e.Px.Exponent()+e.Sz.Exponent()) // a few rounding units
				if diff := e.ClosedPnl.Decimal.Sub(want).Abs(); diff.GreaterThan(unit) {
					t.Fatalf("event %d: closed_pnl %s, average cost gives %s\n%s", i, e.ClosedPnl.Decimal, want, canon(e))
				}
				if e.Sz.LessThan(abs) {
					partials++
				}
				b.lots = b.lots.Add(signed)
				b.cost = b.cost.Sub(released)
				b.out = b.out.Add(notional)
				b.closed = b.closed.Add(e.ClosedPnl.Decimal)
				if b.lots.IsZero() {
					// Over a round trip the reported PnL is exact.
					exact := b.out.Sub(b.in)
					if buy { // the trip was short
						exact = exact.Neg()
					}
					if !b.closed.Equal(exact) {
						t.Fatalf("event %d: round trip closed_pnl sums to %s, proceeds minus cost is %s", i, b.closed, exact)
					}
					roundTrips++
					*b = ledger{}
				}
			}
			// The checks above only mean something if the market exercises them.
			if adds == 0 || partials == 0 || roundTrips < 100 || observed < 100 {
				t.Errorf("too little exercised: %d adds, %d partial closes, %d round trips, %d observations",
					adds, partials, roundTrips, observed)
			}
		})
	}
}

func checkPosition(t *testing.T, i int, e event.Event, b *ledger, mark decimal.Decimal) {
	t.Helper()
	if !e.Size.Equal(b.lots) {
		t.Fatalf("event %d: position size %s, fills sum to %s\n%s", i, e.Size, b.lots, canon(e))
	}
	if !e.MarkPx.Valid || !e.MarkPx.Decimal.Equal(mark) {
		t.Fatalf("event %d: mark_px %v, the tick's price is %s", i, e.MarkPx, mark)
	}
	if b.lots.IsZero() {
		if e.EntryPx.Valid || e.UnrealizedPnl.Valid {
			t.Fatalf("event %d: flat position with entry_px or unrealized_pnl\n%s", i, canon(e))
		}
		return
	}
	entry := b.cost.Div(b.lots.Abs())
	tick := decimal.New(1, mark.Exponent())
	if !e.EntryPx.Valid || e.EntryPx.Decimal.Sub(entry).Abs().GreaterThan(tick) {
		t.Fatalf("event %d: entry_px %v, average cost is %s\n%s", i, e.EntryPx, entry, canon(e))
	}
	upnl := mark.Sub(entry).Mul(b.lots)
	unit := decimal.New(5, mark.Exponent()+e.Size.Exponent())
	if !e.UnrealizedPnl.Valid || e.UnrealizedPnl.Decimal.Sub(upnl).Abs().GreaterThan(unit) {
		t.Fatalf("event %d: unrealized_pnl %v, want %s\n%s", i, e.UnrealizedPnl, upnl, canon(e))
	}
}

// realized returns each wallet's realised PnL, the sum of its fills' closed_pnl.
func realized(evs []event.Event) map[string]float64 {
	pnl := map[string]decimal.Decimal{}
	for _, e := range evs {
		if e.Kind == event.KindFill {
			pnl[e.Wallet] = pnl[e.Wallet].Add(e.ClosedPnl.Decimal)
		}
	}
	out := make(map[string]float64, len(pnl))
	for w, d := range pnl {
		out[w] = d.InexactFloat64()
	}
	return out
}

func meanVar(xs []float64) (mean, variance float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		variance += (x - mean) * (x - mean)
	}
	return mean, variance / float64(len(xs)-1)
}

// TestSkilledBeatNoise checks the edge is real: over 5000 ticks skilled wallets earn
// more realised PnL than noise traders, by more than twice the standard error of the
// difference (Welch), for several seeds.
func TestSkilledBeatNoise(t *testing.T) {
	if testing.Short() {
		t.Skip("plays 15000 ticks")
	}
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			evs, m := run(t, Config{Seed: seed}, 5000)
			pnl := realized(evs)
			by := map[Role][]float64{}
			for a, r := range roles(m) {
				by[r] = append(by[r], pnl[a])
			}
			ms, vs := meanVar(by[RoleSkilled])
			mn, vn := meanVar(by[RoleNoise])
			se := math.Sqrt(vs/float64(len(by[RoleSkilled])) + vn/float64(len(by[RoleNoise])))
			t.Logf("mean realised PnL: skilled %.2f, noise %.2f (se of difference %.2f)", ms, mn, se)
			if ms <= 0 {
				t.Errorf("skilled wallets lost money on average: %.2f", ms)
			}
			if ms-mn <= 2*se {
				t.Errorf("skilled %.2f vs noise %.2f: difference within 2 standard errors (%.2f)", ms, mn, se)
			}
		})
	}
}

// TestClosedWithinAMinute: a leaderboard has content within a minute of starting the
// demo at one tick a second.
func TestClosedWithinAMinute(t *testing.T) {
	for seed := int64(1); seed <= 10; seed++ {
		evs, m := run(t, Config{Seed: seed}, 60)
		r := roles(m)
		closers := map[string]bool{}
		for _, e := range evs {
			if e.Kind == event.KindFill && isClose(e.Dir) && r[e.Wallet] != RoleBot {
				closers[e.Wallet] = true
			}
		}
		if len(closers) < 3 {
			t.Errorf("seed %d: %d non-bot wallets closed a position in 60 ticks, want at least 3", seed, len(closers))
		}
	}
}

// TestRoles checks the roles look like their names: whales trade 20-100x a noise
// trader's size, bots trade small and often.
func TestRoles(t *testing.T) {
	evs, m := run(t, Config{Seed: 4}, 3000)
	r := roles(m)
	notional := map[Role][]float64{}
	fills := map[Role]int{}
	for _, e := range evs {
		if e.Kind == event.KindFill {
			notional[r[e.Wallet]] = append(notional[r[e.Wallet]], e.Px.Mul(e.Sz).InexactFloat64())
			fills[r[e.Wallet]]++
		}
	}
	count := map[Role]int{}
	for _, role := range r {
		count[role]++
	}
	median := func(xs []float64) float64 {
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	noise, whale, bot := median(notional[RoleNoise]), median(notional[RoleWhale]), median(notional[RoleBot])
	t.Logf("median fill notional: noise %.0f, whale %.0f, bot %.0f", noise, whale, bot)
	if whale < 10*noise || whale > 200*noise {
		t.Errorf("whale median fill %.0f is not 10-200x the noise median %.0f", whale, noise)
	}
	if bot > noise/10 {
		t.Errorf("bot median fill %.0f is not tiny next to the noise median %.0f", bot, noise)
	}
	perBot := fills[RoleBot] / count[RoleBot]
	perNoise := fills[RoleNoise] / count[RoleNoise]
	if perBot < 5*perNoise {
		t.Errorf("a bot fills %d times, a noise trader %d: bots should trade far more often", perBot, perNoise)
	}
}

// TestPricesBelievable: paths move, stay within a plausible range over an hour, and
// fills and trades happen near the tick's price.
func TestPricesBelievable(t *testing.T) {
	evs, _ := run(t, Config{Seed: 11}, 3600)
	starts := map[string]float64{"BTC": 95000, "ETH": 3300, "SOL": 180, "ARB": 0.8, "DOGE": 0.2}
	mark := map[string]float64{}
	distinct := map[string]map[string]bool{}
	for i, e := range evs {
		switch e.Kind {
		case event.KindPrice:
			p := e.Price.InexactFloat64()
			if r := p / starts[e.Symbol]; r < 0.7 || r > 1.4 {
				t.Fatalf("event %d: %s at %v, %.2fx its start within an hour", i, e.Symbol, p, r)
			}
			mark[e.Symbol] = p
			if distinct[e.Symbol] == nil {
				distinct[e.Symbol] = map[string]bool{}
			}
			distinct[e.Symbol][e.Price.String()] = true
		case event.KindFill:
			if r := e.Px.InexactFloat64() / mark[e.Coin]; r < 0.995 || r > 1.005 {
				t.Fatalf("event %d: fill at %s, %.4fx the mark %v", i, e.Px, r, mark[e.Coin])
			}
		case event.KindTrade:
			coin := e.Symbol[:len(e.Symbol)-5]
			if r := e.Price.InexactFloat64() / mark[coin]; r < 0.995 || r > 1.005 {
				t.Fatalf("event %d: trade at %s, %.4fx the mark %v", i, e.Price, r, mark[coin])
			}
		}
	}
	for coin, d := range distinct {
		if len(d) < 100 {
			t.Errorf("%s took only %d distinct prices in an hour", coin, len(d))
		}
	}
}

func TestAccountArithmetic(t *testing.T) {
	tests := []struct {
		name    string
		a, b, c int64
		want    int64
	}{
		{"exact", 10, 3, 5, 6},
		{"round half up", 5, 1, 2, 3},
		{"round down", 10, 1, 3, 3},
		{"product beyond int64", 1 << 62, 1 << 40, 1 << 41, 1 << 61},
	}
	for _, tc := range tests {
		if got := mulDivRound(tc.a, tc.b, tc.c); got != tc.want {
			t.Errorf("%s: mulDivRound(%d, %d, %d) = %d, want %d", tc.name, tc.a, tc.b, tc.c, got, tc.want)
		}
	}
	fees := []struct {
		notional int64
		d        int32
		want     int64
	}{
		{100_000_000, 5, 350_000}, // 1000 USD in 10^-5 units -> 0.35 USD
		{1, 0, 350},               // 1 USD -> 0.00035 USD
		{3, 6, 0},                 // 0.000003 USD -> rounds to zero
	}
	for _, tc := range fees {
		if got := feeMicros(tc.notional, tc.d); got != tc.want {
			t.Errorf("feeMicros(%d, %d) = %d, want %d", tc.notional, tc.d, got, tc.want)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	m, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	events := 0
	b.ReportAllocs()
	for b.Loop() {
		events += len(m.Next())
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
