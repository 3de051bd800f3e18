package hyperliquid

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/replay"
)

// The wallets of the recorded responses.
const (
	fillsWallet = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2" // test_get_user_fills.yaml
	stateWallet = "0x5e9ee1089755c3435139848e47e6635505d5a13a" // test_get_user_state.yaml
)

// refFill is a fill of a recorded response, read independently of the package.
type refFill struct {
	Coin          string       `json:"coin"`
	Side          string       `json:"side"`
	Px            string       `json:"px"`
	Sz            string       `json:"sz"`
	Dir           string       `json:"dir"`
	ClosedPnl     string       `json:"closedPnl"`
	StartPosition string       `json:"startPosition"`
	Fee           string       `json:"fee"`
	Time          int64        `json:"time"`
	Tid           *json.Number `json:"tid"`
}

func refFills(t *testing.T, body []byte) []refFill {
	t.Helper()
	var fills []refFill
	if err := json.Unmarshal(body, &fills); err != nil {
		t.Fatalf("decode recorded fills: %v", err)
	}
	// Oldest first, fills of one millisecond in the recorded order.
	slices.SortStableFunc(fills, func(a, b refFill) int { return int(a.Time - b.Time) })
	return fills
}

func dec(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatalf("decimal %q: %v", s, err)
	}
	return d
}

// checkFills compares fill events with the recorded fills they come from.
func checkFills(t *testing.T, got []event.Event, want []refFill, wallet string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d fill events, want %d (one per recorded fill)", len(got), len(want))
	}
	for i, w := range want {
		ev := got[i]
		side := map[string]event.Side{"A": event.Sell, "B": event.Buy}[w.Side]
		wantID := ""
		if w.Tid != nil {
			wantID = w.Tid.String()
		}
		switch {
		case ev.Kind != event.KindFill || ev.Src != "hyperliquid" || ev.Wallet != wallet:
			t.Errorf("fill %d: kind %s src %s wallet %s", i, ev.Kind, ev.Src, ev.Wallet)
		case ev.Coin != w.Coin || ev.Side != side || ev.Dir != w.Dir || ev.ID != wantID:
			t.Errorf("fill %d: %s %s %q id %q, want %s %s(%s) %q id %q", i, ev.Coin, ev.Side, ev.Dir, ev.ID, w.Coin, side, w.Side, w.Dir, wantID)
		case !ev.Px.Equal(dec(t, w.Px)) || !ev.Sz.Equal(dec(t, w.Sz)):
			t.Errorf("fill %d: %s@%s, want %s@%s", i, ev.Sz, ev.Px, w.Sz, w.Px)
		case !ev.ClosedPnl.Valid || !ev.ClosedPnl.Decimal.Equal(dec(t, w.ClosedPnl)):
			t.Errorf("fill %d: closed_pnl %v, want %s", i, ev.ClosedPnl, w.ClosedPnl)
		case !ev.StartPosition.Valid || !ev.StartPosition.Decimal.Equal(dec(t, w.StartPosition)):
			t.Errorf("fill %d: start_position %v, want %s", i, ev.StartPosition, w.StartPosition)
		case !ev.Fee.Valid || !ev.Fee.Decimal.Equal(dec(t, w.Fee)):
			t.Errorf("fill %d: fee %v, want %s", i, ev.Fee, w.Fee)
		case !ev.TS.Equal(time.UnixMilli(w.Time)):
			t.Errorf("fill %d: ts %v, want %d ms", i, ev.TS, w.Time)
		}
	}
}

// TestBackfillFromCassette tracks the wallet of the recorded userFills response
// (500 fills, fewer than a page: no paging) and checks every fill event against it.
func TestBackfillFromCassette(t *testing.T) {
	body := cassette(t, "test_get_user_fills.yaml")
	info := newFakeInfo(t)
	info.answer("userFills", body)
	info.answer("clearinghouseState", []byte(`{"assetPositions":[],"marginSummary":{"accountValue":"0.0"}}`))
	src, err := New(testConfig(info.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	stop := run(t, src, c)
	// Mixed case on purpose: Track normalises.
	if err := src.Track("0xB7B6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"); err != nil {
		t.Fatal(err)
	}
	want := refFills(t, body)
	c.waitFor(t, "the backfilled fills", func(evs []event.Event, _ []rejection) bool {
		return len(ofKind(evs, event.KindFill)) >= len(want)
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	evs, rejs := c.snapshot()
	if len(rejs) != 0 {
		t.Errorf("rejections: %v", rejs)
	}
	checkFills(t, ofKind(evs, event.KindFill), want, fillsWallet)
	if n := len(want); n != 500 {
		t.Errorf("the cassette holds %d fills, want the recorded 500", n)
	}
	reqs := info.requestsOf("userFills")
	if len(reqs) != 1 || reqs[0].User != fillsWallet {
		t.Errorf("userFills requests %+v, want one for %s", reqs, fillsWallet)
	}
	if n := len(info.requestsOf("userFillsByTime")); n != 0 {
		t.Errorf("%d userFillsByTime requests for a page that was not full", n)
	}
}

// TestBackfillKeysMatchReplay checks that a backfilled fill has the key of the same
// fill read by the replay reader from the saved response.
func TestBackfillKeysMatchReplay(t *testing.T) {
	body := cassette(t, "test_get_user_fills_by_time.yaml")
	items, rej := decodeFills(body, fillsWallet, event.Rules{Now: fixedNow})
	if rej != nil {
		t.Fatal(rej)
	}
	sortByTime(items)
	path := filepath.Join(t.TempDir(), "fills.json")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := replay.Open(path, replay.Options{Wallet: fillsWallet, Rules: event.Rules{Now: fixedNow}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var replayed []string
	for rec, ok := r.Next(); ok; rec, ok = r.Next() {
		if rec.Err != nil {
			t.Fatalf("replay record %d: %v", rec.Line, rec.Err)
		}
		replayed = append(replayed, rec.Event.Key())
	}
	if len(replayed) != len(items) {
		t.Fatalf("replay read %d fills, the source %d", len(replayed), len(items))
	}
	for i, it := range items {
		if it.rej != nil {
			t.Fatalf("fill %d rejected: %v", i, it.rej)
		}
		if k := it.ev.Key(); k != replayed[i] {
			t.Errorf("fill %d: key %q, replay %q", i, k, replayed[i])
		}
	}
}

// TestBackfillPaging serves the recorded fills with a page limit of 40: userFills
// returns the newest 40, and userFillsByTime truncates windows either way. The
// backfill must come out as the 500 recorded fills, each once, in order.
func TestBackfillPaging(t *testing.T) {
	body := cassette(t, "test_get_user_fills.yaml")
	want := refFills(t, body)
	var recorded []json.RawMessage // newest first, as recorded
	if err := json.Unmarshal(body, &recorded); err != nil {
		t.Fatal(err)
	}
	times := make([]int64, len(recorded))
	for i, raw := range recorded {
		var f refFill
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		times[i] = f.Time
	}
	const limit = 40
	page := func(elems []json.RawMessage) []byte {
		b, err := json.Marshal(elems)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, keep := range []string{"newest", "oldest"} {
		t.Run("truncation keeps the "+keep, func(t *testing.T) {
			info := newFakeInfo(t)
			info.answer("userFills", page(recorded[:limit]))
			info.handle("userFillsByTime", func(r infoReq) []byte {
				var in []json.RawMessage // newest first
				for i, raw := range recorded {
					if times[i] >= *r.StartTime && times[i] <= *r.EndTime {
						in = append(in, raw)
					}
				}
				if len(in) > limit {
					if keep == "newest" {
						in = in[:limit]
					} else {
						in = in[len(in)-limit:]
					}
				}
				return page(in)
			})
			info.answer("clearinghouseState", []byte(`{"assetPositions":[]}`))
			cfg := testConfig(info.srv.URL)
			cfg.FillsPageLimit = limit
			src, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c := newCollector()
			stop := run(t, src, c)
			if err := src.Track(fillsWallet); err != nil {
				t.Fatal(err)
			}
			c.waitFor(t, "the backfilled fills", func(evs []event.Event, _ []rejection) bool {
				return len(ofKind(evs, event.KindFill)) >= len(want)
			})
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			evs, rejs := c.snapshot()
			if len(rejs) != 0 {
				t.Errorf("rejections: %v", rejs)
			}
			checkFills(t, ofKind(evs, event.KindFill), want, fillsWallet)
			reqs := info.requestsOf("userFillsByTime")
			if len(reqs) < (len(want)-limit)/limit {
				t.Errorf("only %d userFillsByTime requests for %d older fills", len(reqs), len(want)-limit)
			}
			if first := reqs[0]; *first.StartTime != 0 || *first.EndTime != times[limit-1] {
				t.Errorf("first page [%d, %d], want [0, %d] (everything up to the oldest of userFills)",
					*first.StartTime, *first.EndTime, times[limit-1])
			}
		})
	}
}

// TestPositionsFromCassette polls the recorded clearinghouseState: twelve open
// positions, each a position event with the recorded size, entry, leverage, PnL,
// account value and the mark derived from positionValue.
func TestPositionsFromCassette(t *testing.T) {
	body := cassette(t, "test_get_user_state.yaml")
	var rec struct {
		AssetPositions []struct {
			Position struct {
				Coin, EntryPx, PositionValue, Szi, UnrealizedPnl string
				Leverage                                         struct{ Value int }
			}
		}
		MarginSummary struct{ AccountValue string }
	}
	if err := json.Unmarshal(body, &rec); err != nil {
		t.Fatal(err)
	}
	info := newFakeInfo(t)
	info.answer("clearinghouseState", body)
	cfg := testConfig(info.srv.URL)
	cfg.Wallets = []string{stateWallet}
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	stop := run(t, src, c)
	c.waitFor(t, "the positions", func(evs []event.Event, _ []rejection) bool {
		return len(evs) >= len(rec.AssetPositions)
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	evs, rejs := c.snapshot()
	if len(rejs) != 0 {
		t.Errorf("rejections: %v", rejs)
	}
	if len(evs) != 12 || len(rec.AssetPositions) != 12 {
		t.Fatalf("%d events from %d recorded positions, want 12", len(evs), len(rec.AssetPositions))
	}
	for i, ap := range rec.AssetPositions {
		p, ev := ap.Position, evs[i]
		szi := dec(t, p.Szi)
		mark := dec(t, p.PositionValue).DivRound(szi.Abs(), 8)
		switch {
		case ev.Kind != event.KindPosition || ev.Wallet != stateWallet || ev.Coin != p.Coin:
			t.Errorf("event %d: %s %s %s, want position %s %s", i, ev.Kind, ev.Wallet, ev.Coin, stateWallet, p.Coin)
		case !ev.Size.Equal(szi):
			t.Errorf("%s: size %s, want szi %s", p.Coin, ev.Size, p.Szi)
		case !ev.EntryPx.Decimal.Equal(dec(t, p.EntryPx)) || !ev.UnrealizedPnl.Decimal.Equal(dec(t, p.UnrealizedPnl)):
			t.Errorf("%s: entry %v pnl %v, want %s %s", p.Coin, ev.EntryPx, ev.UnrealizedPnl, p.EntryPx, p.UnrealizedPnl)
		case !ev.Leverage.Decimal.Equal(decimal.NewFromInt(int64(p.Leverage.Value))):
			t.Errorf("%s: leverage %v, want %d", p.Coin, ev.Leverage, p.Leverage.Value)
		case !ev.AccountValue.Decimal.Equal(dec(t, rec.MarginSummary.AccountValue)):
			t.Errorf("%s: account value %v, want %s", p.Coin, ev.AccountValue, rec.MarginSummary.AccountValue)
		case !ev.MarkPx.Valid || !ev.MarkPx.Decimal.Equal(mark):
			t.Errorf("%s: mark %v, want positionValue/|szi| = %s", p.Coin, ev.MarkPx, mark)
		case !ev.TS.Equal(fixedNow()):
			t.Errorf("%s: ts %v, want the receive time %v (the response has none)", p.Coin, ev.TS, fixedNow())
		}
	}
	// BTC: 211.64542 / 0.00785 is exactly the mark the position was valued at.
	if evs[0].Coin != "BTC" || evs[0].MarkPx.Decimal.String() != "26961.2" {
		t.Errorf("BTC mark %v, want 26961.2", evs[0].MarkPx)
	}
}

func TestAllMidsCassette(t *testing.T) {
	body := cassette(t, "test_get_all_mids.yaml")
	var mids map[string]json.RawMessage
	if err := json.Unmarshal(body, &mids); err != nil {
		t.Fatal(err)
	}
	r := event.Rules{Now: fixedNow}
	t.Run("wanted coins", func(t *testing.T) {
		items := midPrices(mids, []string{"BTC", "ETH", "NOPE", "kPEPE"}, nil, fixedNow(), r)
		want := map[string]string{"BTC": "30135", "ETH": "1903.95", "kPEPE": "0.001565"}
		if len(items) != len(want) {
			t.Fatalf("%d prices, want %d (a coin the message lacks gives none)", len(items), len(want))
		}
		for _, it := range items {
			if it.rej != nil || it.ev.Kind != event.KindPrice || it.ev.Price.String() != want[it.ev.Symbol] || !it.ev.TS.Equal(fixedNow()) {
				t.Errorf("price %+v %v, want %s at %v", it.ev, it.rej, want[it.ev.Symbol], fixedNow())
			}
		}
	})
	t.Run("every coin", func(t *testing.T) {
		items := midPrices(mids, nil, map[string]struct{}{}, fixedNow(), r)
		if len(items) != 28 {
			t.Fatalf("%d prices, want the 28 recorded coins", len(items))
		}
		for i, it := range items {
			if it.rej != nil {
				t.Errorf("%d: %v", i, it.rej)
			}
			if i > 0 && items[i-1].ev.Symbol >= it.ev.Symbol {
				t.Errorf("prices not in coin order: %s then %s", items[i-1].ev.Symbol, it.ev.Symbol)
			}
		}
	})
}

// TestInfoRateLimited answers 429 to the first requests of each type: they are
// retried, and every position and fill still arrives.
func TestInfoRateLimited(t *testing.T) {
	const tooMany = 3
	info := newFakeInfo(t)
	info.handle("clearinghouseState", func(r infoReq) []byte {
		if r.User != stateWallet {
			return []byte(`{"assetPositions":[{"position":{"coin":"BTC","szi":"-0.1"},"type":"oneWay"}]}`)
		}
		return []byte(`{"assetPositions":[{"position":{"coin":"ETH","szi":"1.5","entryPx":"2000.0","positionValue":"3000.0"},"type":"oneWay"}],"marginSummary":{"accountValue":"10.0"}}`)
	})
	info.answer("userFills", []byte(`[{"coin":"ETH","px":"2000.5","sz":"1.5","side":"B","time":1700000000000,"startPosition":"0.0","dir":"Open Long","closedPnl":"0.0","fee":"0.1","tid":42}]`))
	info.tooMany["clearinghouseState"] = tooMany
	info.tooMany["userFills"] = tooMany
	cfg := testConfig(info.srv.URL)
	cfg.Wallets = []string{stateWallet}
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Track(fillsWallet); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	stop := run(t, src, c)
	c.waitFor(t, "two positions and a fill", func(evs []event.Event, _ []rejection) bool {
		return len(ofKind(evs, event.KindPosition)) >= 2 && len(ofKind(evs, event.KindFill)) > 0
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	evs, rejs := c.snapshot()
	if len(rejs) != 0 {
		t.Errorf("rejections: %v", rejs)
	}
	pos, fills := ofKind(evs, event.KindPosition), ofKind(evs, event.KindFill)
	if len(pos) != 2 || pos[0].Wallet != stateWallet || pos[0].Size.String() != "1.5" || pos[0].MarkPx.Decimal.String() != "2000" ||
		pos[1].Wallet != fillsWallet || pos[1].Size.String() != "-0.1" || pos[1].MarkPx.Valid {
		t.Errorf("positions %+v, want ETH 1.5 marked 2000 and BTC -0.1 without a mark", pos)
	}
	if len(fills) != 1 || fills[0].ID != "42" || fills[0].Wallet != fillsWallet || fills[0].Side != event.Buy {
		t.Errorf("fills %+v, want the buy with tid 42", fills)
	}
	// Both wallets are polled (Track adds to the polled set); one was backfilled.
	for typ, want := range map[string]int{"clearinghouseState": tooMany + 2, "userFills": tooMany + 1} {
		if n := len(info.requestsOf(typ)); n != want {
			t.Errorf("%d %s requests, want %d refused + %d", n, typ, tooMany, want-tooMany)
		}
	}
}

// TestInfoFinalError: a 422 is not retried; the wallet is skipped and Run goes on.
func TestInfoFinalError(t *testing.T) {
	info := newFakeInfo(t) // no handler: every request is answered 422
	c := newInfoClient(func() Config {
		cfg, err := testConfig(info.srv.URL).withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}())
	_, err := c.clearinghouseState(t.Context(), stateWallet)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 422 || se.Type != "clearinghouseState" {
		t.Fatalf("err = %v, want a *StatusError 422", err)
	}
	if n := len(info.requestsOf("clearinghouseState")); n != 1 {
		t.Errorf("%d requests, want 1 (no retry)", n)
	}
}

func TestPositionBook(t *testing.T) {
	const w = stateWallet
	pos := func(coin, szi string) string {
		return `{"position":{"coin":"` + coin + `","szi":"` + szi + `","entryPx":"10.0","positionValue":"` +
			strconv.Itoa(10*len(szi)) + `.0","leverage":{"type":"cross","value":5},"unrealizedPnl":"0.5"},"type":"oneWay"}`
	}
	state := func(ps ...string) []byte {
		out := `{"assetPositions":[`
		for i, p := range ps {
			if i > 0 {
				out += ","
			}
			out += p
		}
		return []byte(out + `],"marginSummary":{"accountValue":"100.0"}}`)
	}
	type want struct{ coin, size, reason string }
	steps := []struct {
		name string
		body []byte
		want []want
	}{
		{"first poll: every open position", state(pos("ETH", "1.0"), pos("BTC", "-0.5")), []want{{"ETH", "1", ""}, {"BTC", "-0.5", ""}}},
		{"unchanged: nothing", state(pos("BTC", "-0.5"), pos("ETH", "1.0")), nil},
		{"size change", state(pos("ETH", "2.0"), pos("BTC", "-0.5")), []want{{"ETH", "2", ""}}},
		{"opened", state(pos("ETH", "2.0"), pos("BTC", "-0.5"), pos("SOL", "3")), []want{{"SOL", "3", ""}}},
		{"closed: size 0", state(pos("ETH", "2.0"), pos("SOL", "3")), []want{{"BTC", "0", ""}}},
		{"unreadable position: no close", state(`{"position":{"coin":"ETH","szi":"x"}}`), []want{{"", "", "bad_number"}}},
		{"kept sizes", state(pos("ETH", "2.0"), pos("SOL", "3")), nil},
		{"listed flat", state(pos("ETH", "0.0"), pos("SOL", "3")), []want{{"ETH", "0", ""}}},
		{"bad body", []byte(`[1,2]`), []want{{"", "", "bad_type"}}},
		{"no assetPositions", []byte(`{"marginSummary":{}}`), []want{{"", "", "missing_field"}}},
		{"all closed", state(), []want{{"SOL", "0", ""}}},
	}
	b := newPositionBook(event.Rules{Now: fixedNow})
	for _, st := range steps {
		items := b.apply(w, st.body, fixedNow())
		var got []want
		for _, it := range items {
			if it.rej != nil {
				got = append(got, want{reason: string(it.rej.Reason)})
				continue
			}
			got = append(got, want{it.ev.Coin, it.ev.Size.String(), ""})
			if it.ev.Wallet != w || !it.ev.AccountValue.Decimal.Equal(decimal.NewFromInt(100)) {
				t.Errorf("%s: %+v", st.name, it.ev)
			}
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: got %v, want %v", st.name, got, st.want)
		}
	}

	t.Run("response time", func(t *testing.T) {
		b := newPositionBook(event.Rules{Now: fixedNow})
		items := b.apply(w, []byte(`{"assetPositions":[`+pos("ETH", "1")+`],"time":1708622398623}`), fixedNow())
		if len(items) != 1 || !items[0].ev.TS.Equal(time.UnixMilli(1708622398623)) {
			t.Errorf("items %+v, want one position at the response's time", items)
		}
	})
}
