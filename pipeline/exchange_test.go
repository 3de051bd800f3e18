package pipeline_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
	"github.com/shopspring/decimal"
)

const (
	exBinance14 = "0x28c6c06298d514db089934071355e5743bf21d60"
	exBinance   = "0x3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be"
	exRouter    = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d"
	exWallet    = "0x00000000000000000000000000000000000000a1"
	exOther     = "0x00000000000000000000000000000000000000b2"
)

// transferLine is a transfer on chain position (tx n, log index li) in block hash bh.
// A negative li is a native transfer (no token, no log index). Extra fields (usd,
// removed) are appended as given.
func transferLine(n, li int, bh, from, to, amount, extra string) string {
	tx := fmt.Sprintf("0x%064x", n)
	s := fmt.Sprintf(`{"kind":"transfer","src":"ethereum","ts":"2024-03-01T00:00:%02dZ","block":%d,"block_hash":"0x%064s","tx":"%s",`,
		n%60, 19000000+n, bh, tx)
	if li >= 0 {
		s += fmt.Sprintf(`"log_index":%d,"token":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","symbol":"WETH",`, li)
	}
	s += fmt.Sprintf(`"from":"%s","to":"%s","amount":"%s"`, from, to, amount)
	return s + extra + "}"
}

// TestReplayExchangeTransfers: transfers to and from a labelled exchange address are
// stored as deposits and withdrawals (exchange to exchange as internal; a transfer to
// a DEX router or between private wallets not at all); a retraction removes its
// transfer's row when it comes in a later run, and keeps it from being written when it
// came in an earlier one; replaying everything again changes nothing.
func TestReplayExchangeTransfers(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := e.st.ImportLabels(ctx, []store.Label{
		{Address: exBinance14, Source: "test", Name: "Binance 14", Categories: []string{"binance"}, UpdatedAt: now},
		{Address: exBinance, Source: "test", Name: "Binance", Categories: []string{"binance"}, UpdatedAt: now},
		{Address: exRouter, Source: "test", Name: "Uniswap V2: Router 2", Categories: []string{"dex"}, UpdatedAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	lines := []string{
		transferLine(1, 1, "b1", exWallet, exBinance14, "10", `,"usd":"30000.5"`), // deposit
		transferLine(2, -1, "b2", exBinance14, exWallet, "2.5", `,"usd":"7500"`),  // native withdrawal
		transferLine(3, 2, "b3", exBinance, exBinance14, "1000", ``),              // internal
		transferLine(4, 1, "b4", exWallet, exRouter, "1", ``),                     // to a DEX: nothing
		transferLine(5, 1, "b5", exWallet, exOther, "1", ``),                      // private: nothing
		transferLine(6, 3, "b6", exWallet, exBinance14, "4", `,"usd":"12000"`),    // deposit, retracted below
		transferLine(7, 4, "b7", exOther, exBinance14, "5", ``),                   // another wallet's deposit
		transferLine(8, 1, "b8", exWallet, exBinance14, "9", ``),                  // retracted by an earlier run: no row
		transferLine(9, 1, "b9", exBinance14, exWallet, "3", ``),                  // withdrawal without a USD value
	}
	// The reorg retracting tx 6 comes in a later run, so its row is already stored.
	retraction := transferLine(6, 3, "b6", exWallet, exBinance14, "4", `,"usd":"12000","removed":true`)
	// The retraction of tx 8 comes in an earlier run than the transfer itself.
	early := transferLine(8, 1, "b8", exWallet, exBinance14, "9", `,"removed":true`)
	dir := t.TempDir()
	path0 := filepath.Join(dir, "early-reorg.ndjson")
	path, path2 := filepath.Join(dir, "transfers.ndjson"), filepath.Join(dir, "reorg.ndjson")
	testenv.WriteLines(t, path0, []string{early}, false)
	testenv.WriteLines(t, path, lines, false)
	testenv.WriteLines(t, path2, []string{retraction}, false)

	if _, err := e.replay(ctx, []string{path0}, nil); err != nil {
		t.Fatal(err)
	}
	sum, err := e.replay(ctx, []string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Accepted != int64(len(lines)) || sum.DeadLettered != 0 {
		t.Fatalf("summary: %+v, want all %d lines accepted", sum, len(lines))
	}
	type row struct{ tx, wallet, exchange, exAddr, dir, token, amount, usd string }
	q := `SELECT tx, wallet, exchange, exchange_address, direction, token, amount::text, coalesce(usd::text, '-')
		FROM exchange_transfers ORDER BY tx`
	read := func() []row {
		rs, err := e.st.Pool().Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []row
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.tx, &r.wallet, &r.exchange, &r.exAddr, &r.dir, &r.token, &r.amount, &r.usd); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	tx := func(n int) string { return fmt.Sprintf("0x%064x", n) }
	weth := "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
	want := []row{
		{tx(1), exWallet, "Binance 14", exBinance14, "deposit", weth, "10", "30000.5"},
		{tx(2), exWallet, "Binance 14", exBinance14, "withdrawal", "", "2.5", "7500"},
		{tx(3), exBinance, "Binance 14", exBinance14, "internal", weth, "1000", "-"},
		{tx(7), exOther, "Binance 14", exBinance14, "deposit", weth, "5", "-"},
		{tx(9), exWallet, "Binance 14", exBinance14, "withdrawal", weth, "3", "-"},
	}
	retracted := row{tx(6), exWallet, "Binance 14", exBinance14, "deposit", weth, "4", "12000"}
	before := append(append(append([]row{}, want[:3]...), retracted), want[3:]...)
	if got := read(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("exchange_transfers before the reorg:\n got  %v\n want %v", got, before)
	}
	if _, err := e.replay(ctx, []string{path2}, nil); err != nil {
		t.Fatal(err)
	}
	if got := read(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("exchange_transfers after the reorg:\n got  %v\n want %v", got, want)
	}
	f, err := e.st.ExchangeFlows(ctx, exWallet)
	if err != nil {
		t.Fatal(err)
	}
	if f.Deposits.Count != 1 || !f.Deposits.USD.Equal(decimal.RequireFromString("30000.5")) || f.Deposits.Priced != 1 ||
		f.Withdrawals.Count != 2 || !f.Withdrawals.USD.Equal(decimal.RequireFromString("7500")) || f.Withdrawals.Priced != 1 {
		t.Errorf("exchange flows of the wallet: %+v, want 1 deposit of 30000.5 USD, 2 withdrawals of 7500 USD (1 priced)", f)
	}

	first := testenv.StateChecksum(t, e.st.Pool())
	if !strings.HasPrefix(first["exchange_transfers"], "5:") {
		t.Errorf("state checksum of exchange_transfers: %s, want 5 rows", first["exchange_transfers"])
	}
	if _, err := e.replay(ctx, []string{path0, path, path2}, nil); err != nil {
		t.Fatal(err)
	}
	testenv.SameState(t, "replayed twice", testenv.StateChecksum(t, e.st.Pool()), first)
}
