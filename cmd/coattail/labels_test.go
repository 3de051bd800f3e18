package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// labelFixture is a small label file in the format of shared/data/labels, with a
// bad address on line 4, a row with too many fields on line 5 and broken quoting on
// line 6.
const labelFixture = `address,name,categories
0x28C6c06298d514Db089934071355E5743bf21d60,Binance 14,binance
0x7a250d5630b4cf539739df2c5dacb4c659f2488d,Uniswap V2: Router 2,dex
0x28c6c06298d514db089934071355e5743bf21d6,Too short,binance
0x8315177ab297ba92a06054ce80a67ed4dbd7ed3a,Arbitrum: Bridge,bridge,extra
0x3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be,Bin"ance,binance
0x00000000003b3cc22af3ae1eac0440bcee416b40,"MEV Bot: 0x000...b40",mev-bot
`

type labelImportJSON struct {
	Source    string `json:"source"`
	Rows      int    `json:"rows"`
	Inserted  int    `json:"inserted"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Bad       int    `json:"bad"`
	BadRows   []struct {
		Line   int    `json:"line"`
		Reason string `json:"reason"`
	} `json:"bad_rows"`
}

func parseImport(t *testing.T, r result) labelImportJSON {
	t.Helper()
	var s labelImportJSON
	if err := json.Unmarshal([]byte(lastLine(r.stdout)), &s); err != nil {
		t.Fatalf("last line of labels import --json: %v\n%s", err, r)
	}
	return s
}

// TestCLILabels: import a label file (bad rows reported by line, not fatal), import it
// again (nothing changes), show an address, count.
func TestCLILabels(t *testing.T) {
	s := newSchema(t)
	path := filepath.Join(t.TempDir(), "my-labels.csv")
	if err := os.WriteFile(path, []byte(labelFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	r := s.cli.run(t, "labels", "import", path, "--json")
	if r.code != 0 {
		t.Fatalf("labels import: %s", r)
	}
	sum := parseImport(t, r)
	var lines []int
	for _, b := range sum.BadRows {
		lines = append(lines, b.Line)
	}
	if sum.Source != "my-labels" || sum.Rows != 3 || sum.Inserted != 3 || sum.Updated != 0 || sum.Bad != 3 ||
		!slices.Equal(lines, []int{4, 5, 6}) {
		t.Errorf("first import: %+v, want source my-labels, 3 inserted, bad rows on lines 4, 5, 6", sum)
	}
	for _, w := range []string{path + ":4: skipped: address", path + ":5: skipped: 4 fields", path + ":6: skipped"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr does not report %q:\n%s", w, r.stderr)
		}
	}

	r = s.cli.run(t, "labels", "import", "--json", "--source", "my-labels", path)
	if r.code != 0 {
		t.Fatalf("second import: %s", r)
	}
	if sum := parseImport(t, r); sum.Inserted != 0 || sum.Updated != 0 || sum.Unchanged != 3 {
		t.Errorf("re-import: %+v, want nothing inserted or updated, 3 unchanged", sum)
	}

	r = s.cli.run(t, "labels", "show", "0x28C6C06298D514DB089934071355E5743BF21D60", "--json")
	if r.code != 0 {
		t.Fatalf("labels show: %s", r)
	}
	var v struct {
		Address string   `json:"address"`
		Name    string   `json:"name"`
		Classes []string `json:"classes"`
		Sources []struct {
			Source     string   `json:"source"`
			Categories []string `json:"categories"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("labels show --json: %v\n%s", err, r)
	}
	if v.Address != "0x28c6c06298d514db089934071355e5743bf21d60" || v.Name != "Binance 14" ||
		!slices.Equal(v.Classes, []string{"exchange"}) || len(v.Sources) != 1 || v.Sources[0].Source != "my-labels" ||
		!slices.Equal(v.Sources[0].Categories, []string{"binance"}) {
		t.Errorf("labels show: %+v", v)
	}
	r = s.cli.run(t, "labels", "show", "0x7a250d5630b4cf539739df2c5dacb4c659f2488d")
	if r.code != 0 || !strings.Contains(r.stdout, "Uniswap V2: Router 2") || !strings.Contains(r.stdout, "classes: dex") {
		t.Errorf("labels show (text): %s", r)
	}

	r = s.cli.run(t, "labels", "stats", "--json")
	if r.code != 0 {
		t.Fatalf("labels stats: %s", r)
	}
	var st struct {
		Addresses int64            `json:"addresses"`
		ByClass   map[string]int64 `json:"by_class"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("labels stats --json: %v\n%s", err, r)
	}
	if st.Addresses != 3 || st.ByClass["exchange"] != 1 || st.ByClass["dex"] != 1 || st.ByClass["mev-bot"] != 1 {
		t.Errorf("labels stats: %+v", st)
	}
	if r := s.cli.run(t, "labels", "stats"); r.code != 0 || !strings.Contains(r.stdout, "3 labelled addresses") {
		t.Errorf("labels stats (text): %s", r)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unlabelled address", []string{"labels", "show", "0x00000000000000000000000000000000000000c0"}, 1, "no label"},
		{"not an address", []string{"labels", "show", "0x1234"}, 2, "want 0x followed by 40 hex digits"},
		{"missing file", []string{"labels", "import", filepath.Join(t.TempDir(), "nope.csv")}, 1, "nope.csv"},
		{"no file", []string{"labels", "import"}, 2, "one label file"},
		{"no subcommand", []string{"labels"}, 2, "subcommand"},
		{"unknown subcommand", []string{"labels", "frob"}, 2, "frob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.cli.run(t, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit %d and %q on stderr, got %s", tc.code, tc.want, r)
			}
		})
	}
}

// TestCLILabelsRealFile imports the 32,201-row Etherscan label dump in place.
func TestCLILabelsRealFile(t *testing.T) {
	path := testenv.SharedData(t, "labels/ethereum_address_labels.csv")
	s := newSchema(t)
	r := s.cli.run(t, "labels", "import", "--json", "--source", "etherscan", path)
	if r.code != 0 {
		t.Fatalf("labels import: %s", r)
	}
	t.Logf("imported in %.2fs (process included)", r.took.Seconds())
	if sum := parseImport(t, r); sum.Rows != 32201 || sum.Inserted != 32201 || sum.Bad != 0 {
		t.Errorf("import of the real file: %+v", sum)
	}
	for addr, class := range map[string]string{
		"0x28c6c06298d514db089934071355e5743bf21d60": "classes: exchange", // Binance 14
		"0xdfd5293d8e347dfe59e90efd55b2956a1343963d": "classes: exchange", // Binance 16
		"0xe592427a0aece92de3edee1f18e0157c05861564": "classes: dex",      // Uniswap V3: Router
	} {
		if r := s.cli.run(t, "labels", "show", addr); r.code != 0 || !strings.Contains(r.stdout, class) {
			t.Errorf("labels show %s: want %q: %s", addr, class, r)
		}
	}
}
