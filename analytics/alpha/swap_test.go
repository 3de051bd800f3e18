package alpha

import (
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestActionsFromSwaps(t *testing.T) {
	swap := func(log int64, in, symIn, amtIn, out, symOut, amtOut string) event.Event {
		return event.Event{Kind: event.KindSwap, Src: "ethereum", Tx: "0x1", LogIndex: log, TS: epoch().Add(time.Duration(log) * time.Second),
			Wallet: "0xw", TokenIn: in, SymbolIn: symIn, AmountIn: dec(amtIn), TokenOut: out, SymbolOut: symOut, AmountOut: dec(amtOut)}
	}
	withUSD := swap(4, "0xweth", "WETH", "1", "0xpepe", "", "1000000")
	withUSD.USD = decimal.NullDecimal{Decimal: dec("3000"), Valid: true}
	removed := swap(5, "0xusdc", "USDC", "100", "0xweth", "WETH", "0.03")
	retraction := removed
	retraction.Removed = true
	evs := []event.Event{
		swap(1, "0xusdc", "USDC", "3000", "0xweth", "WETH", "1"), // buy WETH at 3000
		swap(2, "0xweth", "WETH", "0.5", "0xdai", "dai", "1600"), // sell WETH at 3200
		swap(3, "0xusdc", "USDC", "10", "0xdai", "DAI", "10"),    // stable to stable: nothing
		withUSD, // WETH → token without symbol, valued
		swap(6, "0xweth", "WETH", "1", "0xpepe", "", "1000000"), // no USD value: skipped
		removed, retraction, // retracted by a reorg
		{Kind: event.KindFill, Wallet: "0xw"}, // ignored
	}
	got := ActionsFromSwaps(evs, nil)
	want := []struct {
		coin string
		dir  int
		size float64
		px   float64
	}{
		{"WETH", 1, 1, 3000},
		{"WETH", -1, 0.5, 3200},
		// Same time: sorted by coin.
		{"0xpepe", 1, 1e6, 0.003},
		{"WETH", -1, 1, 3000},
	}
	if len(got) != len(want) {
		t.Fatalf("%d actions, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		a := got[i]
		if a.Coin != w.coin || a.Dir != w.dir || !near(a.Size, w.size, 1e-9) || !near(a.Px, w.px, 1e-12) ||
			a.Kind != KindSwap || a.Wallet != "0xw" || !near(a.NotionalUSD, w.size*w.px, 1e-6) {
			t.Errorf("action %d: %+v, want %+v", i, a, w)
		}
	}
}

func TestActionsFromTransfers(t *testing.T) {
	exchange := func(a string) bool { return a == "0xbinance" || a == "0xcoinbase" }
	tr := func(log int64, from, to, amt string) event.Event {
		return event.Event{Kind: event.KindTransfer, Src: "ethereum", Tx: "0x2", LogIndex: log, TS: epoch(),
			Token: "0xweth", Symbol: "WETH", From: from, To: to, Amount: dec(amt)}
	}
	valued := tr(1, "0xw", "0xbinance", "2")
	valued.USD = decimal.NullDecimal{Decimal: dec("6000"), Valid: true}
	evs := []event.Event{
		valued,
		tr(2, "0xcoinbase", "0xv", "1"),
		tr(3, "0xbinance", "0xcoinbase", "5"), // between exchanges
		tr(4, "0xw", "0xv", "5"),              // between wallets
	}
	got := ActionsFromTransfers(evs, exchange)
	if len(got) != 2 {
		t.Fatalf("%d actions, want 2: %+v", len(got), got)
	}
	if a := got[1]; a.Wallet != "0xw" || a.Kind != KindDeposit || a.Dir != -1 || a.Size != 2 || a.Px != 3000 || a.Coin != "WETH" {
		t.Errorf("deposit: %+v", a)
	}
	if a := got[0]; a.Wallet != "0xv" || a.Kind != KindWithdraw || a.Dir != 1 || a.NotionalUSD != 0 {
		t.Errorf("withdrawal: %+v", a)
	}
	if n := len(ActionsFromTransfers(evs, nil)); n != 0 {
		t.Errorf("no exchange list: %d actions", n)
	}
	// Deposits and withdrawals weigh nothing in the default score.
	w := DefaultKindWeights()
	if w[KindDeposit] != 0 || w[KindWithdraw] != 0 || w[KindSwap] != 1 {
		t.Errorf("default kind weights %v", w)
	}
}
