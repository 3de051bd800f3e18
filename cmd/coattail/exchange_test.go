package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// TestCLIWalletExchangeFlows: after labelling an exchange address and replaying a
// wallet's fill and its transfers to and from that address, `wallet --json` carries
// the deposits and withdrawals beside the unchanged fields, and the text output says
// them in one line.
func TestCLIWalletExchangeFlows(t *testing.T) {
	s := newSchema(t)
	dir := t.TempDir()
	const (
		wallet  = "0x00000000000000000000000000000000000000a1"
		binance = "0x28c6c06298d514db089934071355e5743bf21d60"
	)
	labels := filepath.Join(dir, "exchanges.csv")
	if err := os.WriteFile(labels, []byte("address,name,categories\n"+binance+",Binance 14,binance\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := s.cli.run(t, "labels", "import", labels); r.code != 0 {
		t.Fatalf("labels import: %s", r)
	}
	fill := `{"kind":"fill","src":"hyperliquid","ts":"2024-03-01T00:00:00Z","wallet":"` + wallet +
		`","coin":"ETH","side":"buy","px":"3000","sz":"1","fee":"1","id":"x1"}`
	xfer := func(tx, from, to, extra string) string {
		return `{"kind":"transfer","src":"ethereum","ts":"2024-03-01T00:01:00Z","block":19000000,"tx":"0x` +
			strings.Repeat(tx, 64) + `","log_index":1,"token":"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2","symbol":"WETH","from":"` +
			from + `","to":"` + to + `","amount":"1"` + extra + `}`
	}
	in := filepath.Join(dir, "in.ndjson")
	testenv.WriteLines(t, in, []string{
		fill,
		xfer("1", wallet, binance, `,"usd":"3000.5"`),
		xfer("2", wallet, binance, `,"usd":"1000"`),
		xfer("3", binance, wallet, ``),
	}, false)
	if r := s.cli.run(t, "replay", "--json", "--quiet", in); r.code != 0 {
		t.Fatalf("replay: %s", r)
	}

	r := s.cli.run(t, "wallet", wallet, "--json")
	if r.code != 0 {
		t.Fatalf("wallet --json: %s", r)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("wallet --json: %v\n%s", err, r.stdout)
	}
	for _, k := range []string{"wallet", "realized_pnl", "unrealized_pnl", "fees", "n", "rank", "positions", "last_seen"} {
		if _, ok := v[k]; !ok {
			t.Errorf("wallet --json lacks %q: %s", k, r.stdout)
		}
	}
	var flows struct {
		ExchangeFlows struct {
			Deposits struct {
				Count  int64
				USD    json.Number
				Priced int64
			} `json:"deposits"`
			Withdrawals struct {
				Count  int64
				USD    json.Number
				Priced int64
			} `json:"withdrawals"`
		} `json:"exchange_flows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &flows); err != nil {
		t.Fatalf("wallet --json exchange_flows: %v\n%s", err, r.stdout)
	}
	f := flows.ExchangeFlows
	if f.Deposits.Count != 2 || f.Deposits.USD != "4000.5" || f.Deposits.Priced != 2 ||
		f.Withdrawals.Count != 1 || f.Withdrawals.USD != "0" || f.Withdrawals.Priced != 0 {
		t.Errorf("exchange_flows = %+v, want 2 deposits of 4000.5 USD and 1 unpriced withdrawal\n%s", f, r.stdout)
	}

	r = s.cli.run(t, "wallet", wallet)
	if r.code != 0 || !strings.Contains(r.stdout, "exchange deposits 2 (4000.50 USD)  withdrawals 1 (0.00 USD)") {
		t.Errorf("wallet (text): want the exchange flows line, got %s", r)
	}
}
