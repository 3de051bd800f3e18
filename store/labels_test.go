package store_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/internal/testenv"
	"github.com/coattailcapital/coattail/store"
)

const (
	binance14     = "0x28c6c06298d514db089934071355e5743bf21d60"
	uniswapRouter = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d"
	arbBridge     = "0x8315177ab297ba92a06054ce80a67ed4dbd7ed3a"
	tornadoProxy  = "0x722122df12d4e14e13ac3b6895a86e84145b6967"
	htx1          = "0xab5c66752a9e8167967685f1450532fb96d5d24f"
	binanceMain   = "0x3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be"
	unlabelled    = "0x00000000000000000000000000000000000000c0"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		tags []string
		want []string
	}{
		{"Binance 14", []string{"binance"}, []string{"exchange"}},
		{"Bitfinex 19", []string{"bitfinex", "cold-wallet"}, []string{"exchange"}},
		{"Bitsler.com: ETH", []string{"gambling", "hot-wallet"}, []string{"exchange"}},
		{"Huobi: HBTC Token", []string{"huobi"}, []string{}},
		{"Nexo 3", []string{"nexo"}, []string{}},
		{"Uniswap V2: Router 2", []string{"dex"}, []string{"dex"}},
		{"Uniswap V2: MTA 6", []string{"mstable"}, []string{"dex"}},
		{"Gearbox Protocol: Router", []string{"gearbox-protocol"}, []string{"dex"}},
		{"Balancer: Shareholder 38", []string{"balancer"}, []string{}},
		{"Bancor: Deployer 2", []string{"bancor"}, []string{}},
		{"Balancer: Pool 447", []string{"balancer"}, []string{"dex"}},
		{"1inch: CHI Token", []string{"1inch"}, []string{}},
		{"Arbitrum: Bridge", []string{"arbitrum", "arbitrum-one", "bridge", "nitro"}, []string{"bridge"}},
		{"Optimism: Gateway", []string{"bridge", "layer-2", "optimism"}, []string{"bridge"}},
		{"Arbitrum: L1 Gateway Router 2", []string{"arbitrum", "layer-2"}, []string{"bridge"}},
		{"Synthetix: L2 Bridge", []string{"layer-2", "synthetix"}, []string{"bridge"}},
		{"Wormhole: Portal Token Bridge", []string{"bridge"}, []string{"bridge"}},
		{"Multichain: anyBTC Token", []string{"bridged-token", "multichain"}, []string{}},
		{"Router: 0x29a...cf9", []string{"connext", "router"}, []string{"bridge"}},
		{"Endaoment: Bridges to Prosperity", []string{"charity"}, []string{}},
		{"MCH: Hero Gateway 1", []string{"my-crypto-heroes"}, []string{}},
		{"MEV Bot: 0x000...c55", []string{"mev-bot"}, []string{"mev-bot"}},
		{"Tornado.Cash: Router", []string{"ofac-sanctions-lists", "tornado-cash"}, []string{"mixer", "sanctioned"}},
		{"Alameda Research 1", []string{"alameda-research"}, []string{"fund"}},
		{"Null: 0x000...000", []string{"blocked", "burn", "genesis"}, []string{"burn"}},
		{"", nil, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := store.Classify(tc.name, tc.tags)
			if got == nil || !slices.Equal(got, tc.want) {
				t.Errorf("Classify(%q, %v) = %#v, want %#v", tc.name, tc.tags, got, tc.want)
			}
		})
	}
}

func readFixture(t *testing.T, source string) ([]store.Label, []store.BadLabelRow) {
	t.Helper()
	f, err := os.Open("testdata/labels.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ls, bad, err := store.ReadLabelsCSV(f, source)
	if err != nil {
		t.Fatal(err)
	}
	return ls, bad
}

func TestReadLabelsCSVFixture(t *testing.T) {
	ls, bad := readFixture(t, "fixture")
	var lines []int
	for _, b := range bad {
		lines = append(lines, b.Line)
	}
	if want := []int{11, 12, 13, 14, 15, 16}; !slices.Equal(lines, want) {
		t.Errorf("bad rows on lines %v, want %v: %v", lines, want, bad)
	}
	for _, b := range bad {
		if b.Reason == "" {
			t.Errorf("bad row without a reason: %+v", b)
		}
	}
	if !strings.Contains(bad[0].Reason, "address") || !strings.Contains(bad[3].Reason, "4 fields, want 3") ||
		!strings.Contains(bad[5].Reason, "quote") {
		t.Errorf("bad reasons do not say what is wrong: %v", bad)
	}
	if len(ls) != 11 {
		t.Fatalf("%d good rows, want 11", len(ls))
	}
	if ls[0].Address != binance14 || ls[0].Name != "Binance 14" || ls[0].Source != "fixture" {
		t.Errorf("first row %+v: want the address lower-cased", ls[0])
	}
	if want := []string{"charity", "endaoment", "nonprofit"}; !slices.Equal(ls[6].Categories, want) || ls[6].Name != "Endaoment: Recess Activities, Inc" {
		t.Errorf("quoted name / messy categories: %+v, want categories %v", ls[6], want)
	}
	if ls[8].Address != htx1 || len(ls[8].Categories) != 0 || ls[8].Categories == nil {
		t.Errorf("row with empty categories: %+v", ls[8])
	}
}

func TestReadLabelsCSVHeaders(t *testing.T) {
	for _, tc := range []struct {
		name, in  string
		want      []store.Label
		wantBad   int
		wantError bool
	}{
		{"headerless", binance14 + ",Binance 14,binance\n",
			[]store.Label{{Address: binance14, Source: "s", Name: "Binance 14", Categories: []string{"binance"}}}, 0, false},
		{"reordered with extra column and BOM", "\ufefftags,chain,Address,label\nbinance,eth," + binance14 + ",B\n",
			[]store.Label{{Address: binance14, Source: "s", Name: "B", Categories: []string{"binance"}}}, 0, false},
		{"address only", "address\n" + binance14 + "\nnope\n",
			[]store.Label{{Address: binance14, Source: "s", Categories: []string{}}}, 1, false},
		{"no address column", "wallet,name\n" + binance14 + ",x\n", nil, 0, true},
		{"empty", "", nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, bad, err := store.ReadLabelsCSV(strings.NewReader(tc.in), "s")
			if (err != nil) != tc.wantError {
				t.Fatalf("err = %v, want error %v", err, tc.wantError)
			}
			if len(bad) != tc.wantBad {
				t.Errorf("bad = %v, want %d", bad, tc.wantBad)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Address != w.Address || g.Source != w.Source || g.Name != w.Name || !slices.Equal(g.Categories, w.Categories) {
					t.Errorf("row %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestImportLabelsIsIdempotentAndMergesSources(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	ls, _ := readFixture(t, "fixture")
	ins, upd, err := st.ImportLabels(ctx, ls)
	if err != nil {
		t.Fatal(err)
	}
	// 11 good rows, of which two label HTX 1: merged into one.
	if ins != 10 || upd != 0 {
		t.Fatalf("first import: inserted %d updated %d, want 10 and 0", ins, upd)
	}
	before, err := st.LabelsOf(ctx, htx1)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 1 || before[0].Name != "HTX 1" || !slices.Equal(before[0].Categories, []string{"derivatives", "huobi", "otc"}) ||
		!slices.Equal(before[0].Classes, []string{"exchange"}) {
		t.Fatalf("merged duplicate rows: %+v", before)
	}

	ins, upd, err = st.ImportLabels(ctx, ls)
	if err != nil || ins != 0 || upd != 0 {
		t.Fatalf("re-import: inserted %d updated %d err %v, want nothing written", ins, upd, err)
	}
	after, err := st.LabelsOf(ctx, htx1)
	if err != nil {
		t.Fatal(err)
	}
	if !after[0].UpdatedAt.Equal(before[0].UpdatedAt) {
		t.Errorf("re-import touched an unchanged row: updated_at %v -> %v", before[0].UpdatedAt, after[0].UpdatedAt)
	}

	// A changed name is an update; categories in another order and case are not a change.
	changed := slices.Clone(ls)
	changed[0].Name = "Binance: Hot Wallet 14"
	changed[1].Categories = []string{"DEX"}
	ins, upd, err = st.ImportLabels(ctx, changed)
	if err != nil || ins != 0 || upd != 1 {
		t.Fatalf("import with one rename: inserted %d updated %d err %v, want 0 and 1", ins, upd, err)
	}

	// Another source labels the same address: both kept, merged on lookup.
	if _, _, err := st.ImportLabels(ctx, []store.Label{{Address: binance14, Source: "mine"}, {Address: "0x1234", Source: "mine"}}); err == nil {
		t.Fatal("an invalid address was accepted")
	}
	if _, _, err := st.ImportLabels(ctx, []store.Label{{Address: binance14}}); err == nil {
		t.Fatal("a label without a source was accepted")
	}
	ins, upd, err = st.ImportLabels(ctx, []store.Label{
		{Address: "0x28C6C06298D514DB089934071355E5743BF21D60", Source: "mine", Name: "desk", Categories: []string{"otc", "Fund"}},
		{Address: unlabelled, Source: "mine", Name: "friend"},
	})
	if err != nil || ins != 2 || upd != 0 {
		t.Fatalf("second source: inserted %d updated %d err %v, want 2 and 0", ins, upd, err)
	}
	own, err := st.LabelsOf(ctx, binance14)
	if err != nil || len(own) != 2 {
		t.Fatalf("LabelsOf(binance14) = %+v, %v; want two sources", own, err)
	}
	m, err := st.Labels(ctx, []string{strings.ToUpper(binance14), uniswapRouter, "0x00000000000000000000000000000000000000ff"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 {
		t.Fatalf("Labels: %+v, want two addresses", m)
	}
	b := m[binance14]
	if !slices.Equal(b.Classes, []string{"exchange", "fund"}) || !slices.Equal(b.Categories, []string{"binance", "fund", "otc"}) ||
		len(b.Sources) != 2 || b.Name != "desk" || !b.Is(store.ClassExchange) || b.Is(store.ClassDEX) {
		t.Errorf("merged label of binance14: %+v", b)
	}
	if u := m[uniswapRouter]; !u.Is(store.ClassDEX) || u.Name != "Uniswap V2: Router 2" {
		t.Errorf("uniswap router: %+v", u)
	}

	ex, err := st.IsExchange(ctx, []string{binance14, uniswapRouter, htx1, unlabelled, tornadoProxy})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 2 || !ex[binance14] || !ex[htx1] {
		t.Errorf("IsExchange = %v, want binance14 and htx1 only", ex)
	}
	mixers, err := st.AddressesOfClass(ctx, store.ClassMixer)
	if err != nil || !slices.Equal(mixers, []string{tornadoProxy}) {
		t.Errorf("AddressesOfClass(mixer) = %v, %v", mixers, err)
	}
	if _, err := st.LabelsOf(ctx, "0x00000000000000000000000000000000000000ff"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LabelsOf(unknown) err = %v, want ErrNotFound", err)
	}

	stats, err := st.LabelStats(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if stats.Addresses != 11 || stats.Rows != 12 || stats.BySource["fixture"] != 10 || stats.BySource["mine"] != 2 ||
		stats.ByClass["exchange"] != 3 || stats.ByClass["dex"] != 1 || stats.ByCategory["binance"] != 2 {
		t.Errorf("stats = %+v", stats)
	}
	mine, err := st.LabelStats(ctx, "mine")
	if err != nil || mine.Rows != 2 || mine.ByClass["exchange"] != 0 || mine.ByClass["fund"] != 1 {
		t.Errorf("stats of source mine = %+v, %v", mine, err)
	}
}

// TestImportRealLabels loads the 32,201-row Etherscan label dump in place.
func TestImportRealLabels(t *testing.T) {
	path := testenv.SharedData(t, "labels/ethereum_address_labels.csv")
	st := testenv.Store(t)
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t0 := time.Now()
	ls, bad, err := store.ReadLabelsCSV(f, "etherscan")
	if err != nil {
		t.Fatal(err)
	}
	read := time.Since(t0)
	if len(ls) != 32201 || len(bad) != 0 {
		t.Fatalf("read %d labels and %d bad rows, want 32201 and 0: %v", len(ls), len(bad), bad)
	}
	t0 = time.Now()
	ins, upd, err := st.ImportLabels(ctx, ls)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read in %v, imported in %v", read, time.Since(t0))
	if ins != 32201 || upd != 0 {
		t.Fatalf("inserted %d updated %d, want 32201 and 0", ins, upd)
	}
	hot := []string{
		binanceMain,
		binance14,
		"0x21a31ee1afc51d94c2efccaa2092ad1028285549", // Binance 15
		"0xdfd5293d8e347dfe59e90efd55b2956a1343963d", // Binance 16
		"0x56eddb7aa87536c09ccc2793473599fd21a8b17f", // Binance 17
		"0x9696f59e4d72e237be84ffd425dcad154bf96976", // Binance 18
		"0xf977814e90da44bfa03b6295a0616a897441acec", // Binance 8
		"0x71660c4005ba85c37ccec55d0c4493e66fe775d3", // Coinbase 1
	}
	others := []string{uniswapRouter, arbBridge, tornadoProxy, "0x0000000000000000000000000000000000000000"}
	ex, err := st.IsExchange(ctx, append(slices.Clone(hot), others...))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range hot {
		if !ex[a] {
			t.Errorf("%s is not labelled exchange", a)
		}
	}
	if len(ex) != len(hot) {
		t.Errorf("IsExchange = %v: only the hot wallets should be exchanges", ex)
	}
	m, err := st.Labels(ctx, others)
	if err != nil {
		t.Fatal(err)
	}
	for addr, class := range map[string]string{uniswapRouter: store.ClassDEX, arbBridge: store.ClassBridge,
		tornadoProxy: store.ClassMixer, "0x0000000000000000000000000000000000000000": store.ClassBurn} {
		if !m[addr].Is(class) {
			t.Errorf("%s (%s) is not %s: %+v", addr, m[addr].Name, class, m[addr])
		}
	}
	stats, err := st.LabelStats(ctx, "etherscan")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("classes: %v", stats.ByClass)
	if stats.Addresses != 32201 || stats.ByCategory["mev-bot"] != 1679 || stats.ByClass[store.ClassMEVBot] < 1679 ||
		stats.ByClass[store.ClassExchange] < 500 {
		t.Errorf("stats: %d addresses, mev-bot tag %d, classes %v", stats.Addresses, stats.ByCategory["mev-bot"], stats.ByClass)
	}
	ins, upd, err = st.ImportLabels(ctx, ls)
	if err != nil || ins != 0 || upd != 0 {
		t.Errorf("re-import: inserted %d updated %d err %v, want nothing written", ins, upd, err)
	}
}
