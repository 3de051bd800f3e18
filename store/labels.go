package store

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Label classes: the small normalised vocabulary the detectors use, derived from a
// source's own tags (hundreds of them in the Etherscan dump) by Classify. A label may
// carry several classes (Tornado Cash's router is a mixer and sanctioned) or none.
const (
	// ClassExchange: a centralised exchange's wallet (hot, cold, deposit funder,
	// fiat gateway). Money moving to one is usually about to be sold.
	ClassExchange = "exchange"
	// ClassDEX: a decentralised exchange's contract: pool, router, aggregator.
	ClassDEX = "dex"
	// ClassBridge: a bridge or rollup gateway: money leaving for another chain.
	ClassBridge = "bridge"
	// ClassMEVBot: an MEV searcher's bot. Its trades are not conviction.
	ClassMEVBot = "mev-bot"
	// ClassFund: an investment fund or trading firm.
	ClassFund = "fund"
	// ClassMixer: a mixer (Tornado Cash and the like).
	ClassMixer = "mixer"
	// ClassSanctioned: on a sanctions list (OFAC).
	ClassSanctioned = "sanctioned"
	// ClassBurn: a burn or null address.
	ClassBurn = "burn"
)

// Classes lists every label class, sorted.
func Classes() []string {
	return []string{ClassBridge, ClassBurn, ClassDEX, ClassExchange, ClassFund, ClassMEVBot, ClassMixer, ClassSanctioned}
}

// tagClass maps a source tag to its class ("" for none). The tags are those of the
// Etherscan label dump (shared/data/labels): exchanges appear under their own names.
// Custodial lenders (nexo, celsius-network, blockfi) are deliberately not exchanges:
// a deposit there is not a sale. "router" is not mapped: in the dump it tags Connext's
// bridge routers, which connext already classes.
func tagClass(tag string) string {
	switch tag {
	case "binance", "binance-deposit", "coinbase", "kraken", "huobi", "okx", "bitfinex", "bithumb",
		"kucoin", "ftx", "poloniex", "crypto-com", "gemini", "bitstamp", "upbit", "deribit", "gate-io",
		"hitbtc", "hoo-com", "hotbit", "bittrex", "bitmex", "bitget", "bitmart", "ascendex", "korbit",
		"coinone", "coinbit", "coinsquare", "coinmetro", "coinhako", "coss-io", "latoken", "lcx-ag",
		"liquid", "maskex", "paribu", "remitano", "tidex", "topbtc", "allbit", "zb-com", "yunbi",
		"quadrigacx", "cobinhood", "bgogo", "abcc", "kryptono", "resfinex", "crex24", "coinlist",
		"uphold", "changenow", "shapeshift", "trade-io", "digifinex",
		"exchange", "cex", "hot-wallet", "cold-wallet", "fiat-gateway":
		return ClassExchange
	case "dex", "dex-ag", "sushiswap", "uniswap", "balancer", "bancor", "curve-fi", "kyberswap", "1inch",
		"0x-protocol", "paraswap", "airswap", "tokenlon", "cow-protocol", "pancakeswap", "trader-joe",
		"sudoswap", "idex", "switcheo", "hydro-protocol", "dutchx", "saddle-finance", "swipeswap",
		"solidly", "mcdex":
		return ClassDEX
	case "bridge", "multichain", "wormhole", "hop-protocol", "across-protocol", "synapse", "connext",
		"axelar", "optics":
		return ClassBridge
	case "mev-bot", "backrunning-bots":
		return ClassMEVBot
	case "fund", "alameda-research":
		return ClassFund
	case "tornado-cash", "ethereum-mixer", "typhoon-cash", "mixer":
		return ClassMixer
	case "ofac-sanctions-lists", "sanctioned":
		return ClassSanctioned
	case "burn":
		return ClassBurn
	}
	return ""
}

// isRollupTag reports whether a tag names a rollup or sidechain project, whose
// gateway, inbox and portal contracts are bridges.
func isRollupTag(tag string) bool {
	switch tag {
	case "layer-2", "arbitrum", "arbitrum-one", "arbitrum-nova", "nitro", "optimism", "base", "blast",
		"mode", "scroll", "starknet", "zksync", "polygon", "polygon-matic", "kroma", "metis-andromeda",
		"taiko", "mantle", "manta-network", "omg-network", "loopring":
		return true
	}
	return false
}

// Classify derives a label's classes from its tags (lower-case, as stored) and its
// name. Beyond the per-tag table: a name whose last word is "Token" is a token
// contract, not an exchange's, DEX's or bridge's wallet ("Huobi: HBTC Token"); a DEX
// project's own wallets (shareholder, deployer, multisig, treasury, team, vesting) are
// not DEX contracts where swaps happen ("Balancer: Shareholder 38"); a name
// with the word "bridge", or a rollup project's gateway, inbox or portal, is a bridge;
// a name with the word "router" or starting "Uniswap" is a DEX unless the label is
// already an exchange, bridge or mixer (Tornado Cash has a router too). The result is
// sorted and never nil.
func Classify(name string, categories []string) []string {
	has := map[string]bool{}
	rollup := false
	for _, t := range categories {
		if c := tagClass(t); c != "" {
			has[c] = true
		}
		rollup = rollup || isRollupTag(t)
	}
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.')
	})
	hasWord := func(w string) bool { return slices.Contains(words, w) }
	if len(words) > 0 && words[len(words)-1] == "token" {
		delete(has, ClassExchange)
		delete(has, ClassDEX)
		delete(has, ClassBridge)
	} else {
		for _, w := range []string{"shareholder", "deployer", "multisig", "treasury", "team", "vesting"} {
			if hasWord(w) {
				delete(has, ClassDEX) // a DEX project's own wallet, not where swaps happen
			}
		}
		if hasWord("bridge") || rollup && (hasWord("gateway") || hasWord("inbox") || hasWord("portal")) {
			has[ClassBridge] = true
		}
		if !has[ClassExchange] && !has[ClassBridge] && !has[ClassMixer] &&
			(hasWord("router") || len(words) > 0 && words[0] == "uniswap") {
			has[ClassDEX] = true
		}
	}
	out := make([]string, 0, len(has))
	for _, c := range Classes() {
		if has[c] {
			out = append(out, c)
		}
	}
	return out
}

// Label is one source's label of one address.
type Label struct {
	Address    string   // 0x + 40 lowercase hex digits
	Source     string   // which file or list said so
	Name       string   // e.g. "Binance 14"; may be empty
	Categories []string // the source's tags, lower-case, sorted
	Classes    []string // derived by Classify when imported; ignored on input
	UpdatedAt  time.Time
}

// AddressLabel is what every source says about one address, merged.
type AddressLabel struct {
	Address    string
	Name       string   // the non-empty name of the most recently updated source that has one
	Categories []string // union over the sources, sorted
	Classes    []string // union over the sources, sorted
	Sources    []string // most recently updated first
}

// Is reports whether the address has the class.
func (l AddressLabel) Is(class string) bool { return slices.Contains(l.Classes, class) }

// NormalizeAddress lower-cases an EVM address and checks its shape (0x + 40 hex digits;
// the EIP-55 checksum of a mixed-case address is not verified).
func NormalizeAddress(s string) (string, bool) {
	a := strings.ToLower(strings.TrimSpace(s))
	if len(a) != 42 || a[0] != '0' || a[1] != 'x' {
		return a, false
	}
	for i := 2; i < len(a); i++ {
		c := a[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return a, false
		}
	}
	return a, true
}

// normalizeCategories lower-cases, trims, de-duplicates and sorts tags; never nil.
func normalizeCategories(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t = cleanText(strings.ToLower(strings.TrimSpace(t))); t != "" {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// BadLabelRow is a row of a label file that was skipped, and why.
type BadLabelRow struct {
	Line   int    `json:"line"` // 1-based line of the file where the row starts
	Reason string `json:"reason"`
}

func (b BadLabelRow) String() string { return fmt.Sprintf("line %d: %s", b.Line, b.Reason) }

// ReadLabelsCSV reads a label file in the format of shared/data/labels: a header
// naming the columns (address, and optionally name or label, and categories, category
// or tags; others are ignored, order is free) or no header at all when the first row
// starts with an address (then the columns are address,name,categories). Categories
// are separated by ";". Addresses are validated and lower-cased. A row that cannot be
// used (bad address, wrong number of fields, broken quoting) is skipped and reported
// in bad with its line; only a read failure or a file without an address column is an
// error. Each label gets source.
func ReadLabelsCSV(r io.Reader, source string) (labels []Label, bad []BadLabelRow, err error) {
	if source == "" {
		return nil, nil, errors.New("read labels: empty source name")
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	addrCol, nameCol, catCol, fields := 0, 1, 2, 3
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, BadLabelRow{Line: pe.StartLine, Reason: pe.Err.Error()})
			first = false
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read labels: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
			if _, ok := NormalizeAddress(rec[0]); !ok {
				addrCol, nameCol, catCol = -1, -1, -1
				for i, h := range rec {
					switch strings.ToLower(strings.TrimSpace(h)) {
					case "address":
						addrCol = i
					case "name", "label":
						nameCol = i
					case "categories", "category", "tags":
						catCol = i
					}
				}
				if addrCol < 0 {
					return nil, nil, fmt.Errorf("read labels: line %d: header %q has no address column", line, strings.Join(rec, ","))
				}
				fields = len(rec)
				continue
			}
		}
		if len(rec) != fields {
			bad = append(bad, BadLabelRow{Line: line, Reason: fmt.Sprintf("%d fields, want %d", len(rec), fields)})
			continue
		}
		addr, ok := NormalizeAddress(rec[addrCol])
		if !ok {
			bad = append(bad, BadLabelRow{Line: line, Reason: fmt.Sprintf("address %q: want 0x followed by 40 hex digits", clipText(rec[addrCol], 60))})
			continue
		}
		l := Label{Address: addr, Source: source}
		if nameCol >= 0 {
			l.Name = cleanText(strings.TrimSpace(rec[nameCol]))
		}
		if catCol >= 0 {
			l.Categories = normalizeCategories(strings.Split(rec[catCol], ";"))
		} else {
			l.Categories = []string{}
		}
		labels = append(labels, l)
	}
	return labels, bad, nil
}

// clipText shortens s for a message.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// ImportLabels stores labels: new (address, source) pairs are inserted, changed ones
// updated, unchanged ones left alone (so re-importing a file writes nothing). Each
// label's categories are normalised and its classes derived (Classify); two labels of
// one address and source are merged (categories united, the first non-empty name
// kept). The rows go in with one COPY into a temporary table, then one UPDATE and one
// INSERT from it, in one transaction. An invalid address or an empty source is an error and nothing is
// stored.
func (s *Store) ImportLabels(ctx context.Context, labels []Label) (inserted, updated int, err error) {
	type pk struct{ addr, src string }
	rows := make([]Label, 0, len(labels))
	at := make(map[pk]int, len(labels))
	for i, l := range labels {
		addr, ok := NormalizeAddress(l.Address)
		if !ok {
			return 0, 0, fmt.Errorf("import labels: label %d: address %q: want 0x followed by 40 hex digits", i, l.Address)
		}
		if l.Source == "" {
			return 0, 0, fmt.Errorf("import labels: label %d (%s): empty source", i, addr)
		}
		k := pk{addr, cleanText(l.Source)}
		if j, dup := at[k]; dup {
			r := &rows[j]
			r.Categories = normalizeCategories(append(slices.Clone(r.Categories), l.Categories...))
			if r.Name == "" {
				r.Name = cleanText(strings.TrimSpace(l.Name))
			}
			continue
		}
		at[k] = len(rows)
		rows = append(rows, Label{Address: addr, Source: k.src, Name: cleanText(strings.TrimSpace(l.Name)),
			Categories: normalizeCategories(l.Categories)})
	}
	if len(rows) == 0 {
		return 0, 0, nil
	}
	for i := range rows {
		rows[i].Classes = Classify(rows[i].Name, rows[i].Categories)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE labels_in (
			address text, source text, name text, categories text[], classes text[]) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("create temp table: %w", err)
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"labels_in"}, []string{"address", "source", "name", "categories", "classes"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := &rows[i]
				return []any{r.Address, r.Source, r.Name, r.Categories, r.Classes}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		// An UPDATE joined to the new rows, then an INSERT of those not stored yet: two
		// hash joins, several times faster than INSERT … ON CONFLICT DO UPDATE, which
		// probes the index row by row. Unchanged rows are left alone entirely.
		tag, err := tx.Exec(ctx, `UPDATE labels l
			SET name = i.name, categories = i.categories, classes = i.classes, updated_at = now()
			FROM labels_in i
			WHERE l.address = i.address AND l.source = i.source
			  AND (l.name, l.categories, l.classes) IS DISTINCT FROM (i.name, i.categories, i.classes)`)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		updated = int(tag.RowsAffected())
		// A concurrent import of the same source may insert a row first: skip it.
		tag, err = tx.Exec(ctx, `INSERT INTO labels (address, source, name, categories, classes)
			SELECT address, source, name, categories, classes FROM labels_in i
			WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.address = i.address AND l.source = i.source)
			ON CONFLICT DO NOTHING`)
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		inserted = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("import %d labels: %w", len(rows), err)
	}
	return inserted, updated, nil
}

// LabelsOf returns every source's label of one address, most recently updated first,
// or ErrNotFound.
func (s *Store) LabelsOf(ctx context.Context, address string) ([]Label, error) {
	addr, _ := NormalizeAddress(address)
	rows, err := s.pool.Query(ctx, `SELECT address, source, name, categories, classes, updated_at
		FROM labels WHERE address = $1 ORDER BY updated_at DESC, source`, addr)
	if err != nil {
		return nil, fmt.Errorf("labels of %s: %w", addr, err)
	}
	out, err := pgx.CollectRows(rows, scanLabel)
	if err != nil {
		return nil, fmt.Errorf("labels of %s: %w", addr, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("labels of %s: %w", addr, ErrNotFound)
	}
	return out, nil
}

func scanLabel(row pgx.CollectableRow) (Label, error) {
	var l Label
	err := row.Scan(&l.Address, &l.Source, &l.Name, &l.Categories, &l.Classes, &l.UpdatedAt)
	return l, err
}

// Querier runs a query: a *pgxpool.Pool, a pgx.Tx or a *pgx.Conn.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Labels looks up many addresses at once (in any case) and returns the merged label
// of each one that has any, keyed by the lowercase address. One round trip.
func (s *Store) Labels(ctx context.Context, addresses []string) (map[string]AddressLabel, error) {
	return LookupLabels(ctx, s.pool, addresses)
}

// LookupLabels is Labels on any querier, so that a writer can read labels inside its
// own transaction (the book stage classifying a batch's transfers).
func LookupLabels(ctx context.Context, q Querier, addresses []string) (map[string]AddressLabel, error) {
	out := map[string]AddressLabel{}
	if len(addresses) == 0 {
		return out, nil
	}
	addrs := make([]string, len(addresses))
	for i, a := range addresses {
		addrs[i], _ = NormalizeAddress(a)
	}
	rows, err := q.Query(ctx, `SELECT address, source, name, categories, classes, updated_at
		FROM labels WHERE address = ANY($1) ORDER BY address, updated_at DESC, source`, addrs)
	if err != nil {
		return nil, fmt.Errorf("look up labels of %d addresses: %w", len(addrs), err)
	}
	ls, err := pgx.CollectRows(rows, scanLabel)
	if err != nil {
		return nil, fmt.Errorf("look up labels of %d addresses: %w", len(addrs), err)
	}
	mergeLabels(out, ls)
	return out, nil
}

// HasClass reports, for many addresses at once, which carry the class in any source's
// label: the map holds true for those (keyed by lowercase address) and nothing for the
// others. One round trip.
func (s *Store) HasClass(ctx context.Context, class string, addresses []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(addresses) == 0 {
		return out, nil
	}
	addrs := make([]string, len(addresses))
	for i, a := range addresses {
		addrs[i], _ = NormalizeAddress(a)
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT address FROM labels
		WHERE address = ANY($1) AND $2 = ANY(classes)`, addrs, class)
	if err != nil {
		return nil, fmt.Errorf("look up %s labels: %w", class, err)
	}
	var a string
	_, err = pgx.ForEachRow(rows, []any{&a}, func() error { out[a] = true; return nil })
	if err != nil {
		return nil, fmt.Errorf("look up %s labels: %w", class, err)
	}
	return out, nil
}

// IsExchange reports which of the addresses are labelled exchange (HasClass).
func (s *Store) IsExchange(ctx context.Context, addresses []string) (map[string]bool, error) {
	return s.HasClass(ctx, ClassExchange, addresses)
}

// AddressesOfClass returns every address with the class, sorted: what a detector
// loads once to test membership in memory.
func (s *Store) AddressesOfClass(ctx context.Context, class string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT address FROM labels WHERE classes @> ARRAY[$1::text] ORDER BY address`, class)
	if err != nil {
		return nil, fmt.Errorf("addresses of class %s: %w", class, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("addresses of class %s: %w", class, err)
	}
	return out, nil
}

// LabelStats counts labelled addresses.
type LabelStats struct {
	Addresses  int64            `json:"addresses"`   // distinct addresses
	Rows       int64            `json:"rows"`        // (address, source) rows
	BySource   map[string]int64 `json:"by_source"`   // rows per source
	ByClass    map[string]int64 `json:"by_class"`    // distinct addresses per class
	ByCategory map[string]int64 `json:"by_category"` // distinct addresses per source tag
}

// LabelStats counts the labels of one source, or of all when source is "".
func (s *Store) LabelStats(ctx context.Context, source string) (LabelStats, error) {
	st := LabelStats{BySource: map[string]int64{}, ByClass: map[string]int64{}, ByCategory: map[string]int64{}}
	b := &pgx.Batch{}
	const where = `($1 = '' OR source = $1)`
	b.Queue(`SELECT count(DISTINCT address), count(*) FROM labels WHERE `+where, source).
		QueryRow(func(row pgx.Row) error { return row.Scan(&st.Addresses, &st.Rows) })
	group := func(q string, m map[string]int64) {
		b.Queue(q, source).Query(func(rows pgx.Rows) error {
			var k string
			var n int64
			_, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { m[k] = n; return nil })
			return err
		})
	}
	group(`SELECT source, count(*) FROM labels WHERE `+where+` GROUP BY source`, st.BySource)
	group(`SELECT c, count(DISTINCT address) FROM labels, unnest(classes) c WHERE `+where+` GROUP BY c`, st.ByClass)
	group(`SELECT c, count(DISTINCT address) FROM labels, unnest(categories) c WHERE `+where+` GROUP BY c`, st.ByCategory)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return LabelStats{}, fmt.Errorf("label stats: %w", err)
	}
	return st, nil
}
