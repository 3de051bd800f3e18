package signal_test

import (
	"context"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/signal"
	"github.com/coattailcapital/coattail/store"
	"github.com/coattailcapital/coattail/stream"
	"github.com/jackc/pgx/v5"
)

// transfer is a USDT transfer; usd "" leaves the USD value out. tx is one hex digit.
func transfer(from, to, usd, tx string, logIndex int, ts string) string {
	u, amount := "", "1"
	if usd != "" {
		u, amount = `,"usd":"`+usd+`"`, usd
	}
	return `{"kind":"transfer","src":"ethereum","ts":"` + ts + `","block":100,"tx":"0x` + strings.Repeat(tx, 64) +
		`","log_index":` + strconv.Itoa(logIndex) + `,"token":"0xdac17f958d2ee523a2206206994597c13d831ec7","symbol":"USDT","from":"` +
		from + `","to":"` + to + `","amount":"` + amount + `"` + u + `}`
}

func label(t *testing.T, st *store.Store, addr, name string, classes ...string) {
	t.Helper()
	if _, err := st.Pool().Exec(context.Background(), `INSERT INTO labels (address, source, name, classes) VALUES ($1, 'test', $2, $3)`,
		addr, name, classes); err != nil {
		t.Fatal(err)
	}
}

// Exchange flows: a large deposit and a large withdrawal fire, once across replays;
// small transfers, transfers without a USD value, transfers between two exchange
// addresses and transfers between private wallets do not. The hook is given the
// transfers, and not the trades it does not read (ContextKinds), which the stage does
// not decode.
func TestExchangeFlowSignals(t *testing.T) {
	st := testenv.Store(t)
	rdb, prefix := testenv.Redis(t)
	scfg := stream.Config{Shards: 4, Prefix: prefix}
	ex1, ex2 := wallet('1'), wallet('2') // exchange hot and cold wallets
	whale, other, dex := wallet('e'), wallet('9'), wallet('8')
	label(t, st, ex1, "Binance 14", "exchange")
	label(t, st, ex2, "Binance 8", "exchange")
	label(t, st, dex, "Uniswap router", "dex")
	file := writeFile(t, []string{
		transfer(whale, ex1, "2500000", "1", 1, "2024-06-01T10:00:00Z"), // deposit: in
		transfer(ex2, whale, "1000000", "2", 1, "2024-06-01T10:01:00Z"), // withdrawal at the threshold: out
		transfer(other, ex1, "999999", "3", 1, "2024-06-01T10:02:00Z"),  // below the threshold
		transfer(other, ex1, "", "4", 1, "2024-06-01T10:03:00Z"),        // no USD value
		transfer(ex1, ex2, "50000000", "5", 1, "2024-06-01T10:04:00Z"),  // internal shuffle
		transfer(whale, dex, "9000000", "6", 1, "2024-06-01T10:05:00Z"), // not an exchange
		transfer(whale, other, "9000000", "7", 1, "2024-06-01T10:06:00Z"),
		`{"kind":"trade","src":"binance","ts":"2024-06-01T10:06:30Z","id":"t1","symbol":"ETH-USDT","price":"2000","qty":"1","side":"buy"}`,
		`{"kind":"trade","src":"binance","ts":"2024-06-01T10:06:31Z","id":"t2","symbol":"ETH-USDT","price":"2001","qty":"1","side":"sell"}`,
	})
	var mu sync.Mutex
	hooked := map[string]int{}
	given := map[event.Kind]int{}
	flows := signal.ExchangeFlows(signal.FlowConfig{})
	cfg := signal.Config{
		Context: func(ctx context.Context, tx pgx.Tx, evs []event.Event) ([]signal.Signal, error) {
			mu.Lock()
			for _, ev := range evs {
				given[ev.Kind]++
			}
			mu.Unlock()
			return flows(ctx, tx, evs)
		},
		ContextKinds: signal.ExchangeFlowKinds,
		OnSignals: func(_ context.Context, _ pgx.Tx, sigs []signal.Stored) error {
			mu.Lock()
			defer mu.Unlock()
			for _, s := range sigs {
				hooked[s.DedupKey]++
			}
			return nil
		}}
	for range 2 { // the second replay adds nothing
		produce(t, rdb, scfg, file)
		runStage(t, st, rdb, scfg, cfg, 2)
	}
	got, err := signal.Recent(context.Background(), st, signal.Query{Rule: signal.RuleFlow, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, s := range got {
		desc = append(desc, strings.Join([]string{short(s.Wallet), s.Side, s.Coin, s.TS.Format(time.TimeOnly),
			s.Evidence["exchange"].(string), s.Evidence["tx"].(string)}, " "))
		if s.USD < 1_000_000 || s.Confidence < 0.5 || s.Confidence > 1 || !strings.HasPrefix(s.DedupKey, "exchange_flow|") {
			t.Errorf("signal %+v", s)
		}
	}
	slices.Sort(desc)
	want := []string{"e in USDT 10:00:00 Binance 14 0x" + strings.Repeat("1", 64), "e out USDT 10:01:00 Binance 8 0x" + strings.Repeat("2", 64)}
	if !slices.Equal(desc, want) {
		t.Fatalf("exchange flows\n got %q\nwant %q", desc, want)
	}
	if len(hooked) != 2 {
		t.Errorf("OnSignals saw %v, want each flow once", hooked)
	}
	if given[event.KindTransfer] != 14 || given[event.KindTrade] != 0 {
		t.Errorf("the context hook was given %v; want the 7 transfers of each replay and no trade", given)
	}
	for k, n := range hooked {
		if n != 1 {
			t.Errorf("%s passed to OnSignals %d times", k, n)
		}
	}
}

func anomaly(t *testing.T, st *store.Store, id byte, kind, symbol, ts string, value, score float64) string {
	t.Helper()
	key := []byte{id, 0xfe}
	if _, err := st.Pool().Exec(context.Background(), `INSERT INTO anomalies (id, kind, venue, symbol, ts, value, baseline, score, evidence, stream)
		VALUES ($1, $2, 'binance', $3, $4, $5, 1, $6, '{"price": 2000}', 's')`, key, kind, symbol, ts, value, score); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(key)
}

// The anomaly relay turns each anomaly into one signal, with its alerts in the same
// transaction, across restarts and concurrent relays, and in small batches.
func TestAnomalyRelay(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	var mu sync.Mutex
	hooked := map[string]int{}
	hook := func(_ context.Context, tx pgx.Tx, sigs []signal.Stored) error {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range sigs {
			hooked[s.DedupKey]++
			// The hook runs in the inserting transaction: the signal is visible there.
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM signals WHERE id = $1`, s.ID).Scan(&n); err != nil || n != 1 {
				t.Errorf("signal %d not visible in the hook's transaction: %d %v", s.ID, n, err)
			}
		}
		return nil
	}
	a1 := anomaly(t, st, 1, "volume_spike", "ETH-USDT", "2024-06-01T10:00:00Z", 5e6, 12)
	a2 := anomaly(t, st, 2, "large_trade", "BTC-USDT", "2024-06-01T10:01:00Z", 3e6, 30)
	a3 := anomaly(t, st, 3, "large_deposit", "USDT", "2024-06-01T10:02:00Z", 2e7, 8)

	r := signal.NewAnomalyRelay(st, signal.RelayConfig{OnSignals: hook, Batch: 2})
	first, err := r.RelayOnce(ctx)
	if err != nil || len(first) != 2 {
		t.Fatalf("first batch: %d signals, %v", len(first), err)
	}
	// Two relays at once (run beside worker), then again: the rest, exactly once.
	other := signal.NewAnomalyRelay(st, signal.RelayConfig{OnSignals: hook, Batch: 2})
	var wg sync.WaitGroup
	for _, rr := range []*signal.AnomalyRelay{r, other, r, other} {
		wg.Go(func() {
			if _, err := rr.RelayOnce(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	a4 := anomaly(t, st, 4, "price_move", "SOL-USDT", "2023-01-01T00:00:00Z", -0.08, 7) // older, arriving late
	if n, err := other.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("Drain relayed %d (%v), want the late anomaly", n, err)
	}
	got, err := signal.Recent(ctx, st, signal.Query{Rule: signal.RuleAnomaly, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]signal.Stored{}
	for _, s := range got {
		byKey[s.DedupKey] = s
	}
	if len(got) != 4 || len(byKey) != 4 {
		t.Fatalf("%d anomaly signals: %+v", len(got), got)
	}
	for _, tc := range []struct {
		id, coin, side, kind string
		usd                  float64
	}{
		{a1, "ETH", "", "volume_spike", 5e6}, {a2, "BTC", "", "large_trade", 3e6},
		{a3, "USDT", "in", "large_deposit", 0}, {a4, "SOL", "", "price_move", 0},
	} {
		s, ok := byKey["anomaly|"+tc.id]
		if !ok || s.Coin != tc.coin || s.Side != tc.side || s.USD != tc.usd || s.Evidence["kind"] != tc.kind ||
			s.Evidence["anomaly_id"] != tc.id || s.Price != 2000 || s.Confidence <= 0.5 || s.Confidence >= 1 {
			t.Errorf("anomaly %s: %+v", tc.id, s)
		}
		if hooked["anomaly|"+tc.id] != 1 {
			t.Errorf("anomaly %s passed to OnSignals %d times", tc.id, hooked["anomaly|"+tc.id])
		}
	}
	if again, err := r.RelayOnce(ctx); err != nil || len(again) != 0 {
		t.Errorf("nothing new, yet %d signals (%v)", len(again), err)
	}
}

// Run relays until cancelled, and a failing hook leaves the anomaly for the next try.
func TestAnomalyRelayRunRetriesAFailedBatch(t *testing.T) {
	st := testenv.Store(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id := anomaly(t, st, 9, "large_trade", "ETH-USDT", "2024-06-01T10:00:00Z", 1e6, 20)
	var mu sync.Mutex
	calls := 0
	r := signal.NewAnomalyRelay(st, signal.RelayConfig{Poll: 10 * time.Millisecond,
		OnSignals: func(context.Context, pgx.Tx, []signal.Stored) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return context.DeadlineExceeded // a failed fan-out: roll back
			}
			return nil
		}})
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	ok := testenv.WaitFor(ctx, func() bool {
		got, err := signal.Recent(ctx, st, signal.Query{Rule: signal.RuleAnomaly})
		return err == nil && len(got) == 1 && got[0].DedupKey == "anomaly|"+id
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if !ok {
		t.Fatal("the anomaly was not relayed after a failed first attempt")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("OnSignals called %d times, want 2 (a failure, then the commit)", calls)
	}
}
