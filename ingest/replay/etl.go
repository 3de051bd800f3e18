package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// Logical columns of the ethereum-etl token_transfers CSV.
const (
	etlToken = iota
	etlFrom
	etlTo
	etlValue
	etlTx
	etlLogIndex
	etlBlock
	etlBlockTimestamp
	etlBlockHash
)

func etlColumns() []csvCol {
	return []csvCol{
		{name: "token_address", aliases: []string{"token_address"}, pos: 0},
		{name: "from_address", aliases: []string{"from_address"}, pos: 1},
		{name: "to_address", aliases: []string{"to_address"}, pos: 2},
		{name: "value", aliases: []string{"value"}, pos: 3},
		{name: "transaction_hash", aliases: []string{"transaction_hash"}, pos: 4},
		{name: "log_index", aliases: []string{"log_index"}, pos: 5},
		{name: "block_number", aliases: []string{"block_number"}, pos: 6},
		{name: "block_timestamp", aliases: []string{"block_timestamp"}, pos: -1, optional: true},
		{name: "block_hash", aliases: []string{"block_hash"}, pos: -1, optional: true},
	}
}

// etlCSVParser maps ethereum-etl token_transfers CSV rows to transfer events.
type etlCSVParser struct {
	row   *csvRow
	rules event.Rules
}

func newETLCSVParser(first []byte, rules event.Rules) (*etlCSVParser, error) {
	row, err := newCSVRow(etlColumns(), first)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", FormatETLTransfersCSV, err)
	}
	return &etlCSVParser{row: row, rules: rules}, nil
}

func (p *etlCSVParser) parse(line []byte) (event.Event, bool, error) {
	r := p.row
	header, err := r.split(line)
	if header {
		return event.Event{}, false, nil
	}
	if err != nil {
		return event.Event{}, true, err
	}
	t := etlTransfer{
		token: r.get(etlToken), from: r.get(etlFrom), to: r.get(etlTo), value: r.get(etlValue),
		tx: r.get(etlTx), blockHash: r.get(etlBlockHash),
	}
	li, err := strconv.ParseInt(string(bytes.TrimSpace(r.get(etlLogIndex))), 10, 64)
	if err != nil {
		return event.Event{}, true, parse.Rejectf(event.ReasonBadValue, "log_index", "not an integer: %s", parse.Quote(string(r.get(etlLogIndex))))
	}
	t.logIndex = li
	if t.block, err = parseUint("block_number", r.get(etlBlock)); err != nil {
		return event.Event{}, true, err
	}
	if ts := r.get(etlBlockTimestamp); len(bytes.TrimSpace(ts)) > 0 {
		if t.ts, err = parseEpoch("block_timestamp", ts); err != nil {
			return event.Event{}, true, err
		}
	}
	ev, err := t.event(p.rules)
	return ev, true, err
}

// etlTransfer is one token transfer as ethereum-etl writes it.
type etlTransfer struct {
	token, from, to, value, tx, blockHash []byte
	logIndex                              int64
	block                                 uint64
	ts                                    time.Time // zero: estimate from the block number
}

// event maps a transfer and validates it. Token decimals are not in ethereum-etl's
// output: well-known tokens get theirs (see knownToken); any other token is emitted
// with raw_amount and decimals 0, that is in raw units, and no symbol.
func (t *etlTransfer) event(rules event.Rules) (event.Event, error) {
	value := bytes.TrimSpace(t.value)
	if len(value) == 0 {
		return event.Event{}, parse.Rejectf(event.ReasonMissingField, "value", "empty")
	}
	if !isInt(value) {
		return event.Event{}, parse.Rejectf(event.ReasonBadNumber, "value", "not a non-negative integer: %s", parse.Quote(string(value)))
	}
	ev := event.Event{
		Kind:      event.KindTransfer,
		Src:       "ethereum",
		TS:        t.ts,
		Block:     t.block,
		BlockHash: lowerTrim(t.blockHash),
		Tx:        lowerTrim(t.tx),
		LogIndex:  t.logIndex,
		Token:     lowerTrim(t.token),
		From:      lowerTrim(t.from),
		To:        lowerTrim(t.to),
		RawAmount: string(value), // Validate sets Amount from it and the decimals
		HasRaw:    true,
	}
	if ev.TS.IsZero() {
		ev.TS = approxBlockTime(t.block)
	}
	if sym, dec, ok := knownToken(ev.Token); ok {
		ev.Symbol, ev.Decimals = sym, dec
	}
	if err := ev.Validate(rules); err != nil {
		return event.Event{}, err
	}
	return ev, nil
}

// lowerTrim returns b trimmed and lower-cased as a string.
func lowerTrim(b []byte) string {
	return strings.ToLower(string(bytes.TrimSpace(b)))
}

// knownToken returns the symbol and decimals of a few well-known mainnet tokens.
func knownToken(addr string) (symbol string, decimals int32, ok bool) {
	switch addr {
	case "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2":
		return "WETH", 18, true
	case "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48":
		return "USDC", 6, true
	case "0xdac17f958d2ee523a2206206994597c13d831ec7":
		return "USDT", 6, true
	case "0x6b175474e89094c44da98b954eedeac495271d0f":
		return "DAI", 18, true
	case "0x2260fac5e5542a773aa44fbb10fb11eac61bd2c599":
		return "WBTC", 8, true
	}
	return "", 0, false
}

// etlJSONParser maps ethereum-etl JSON lines of type token_transfer to transfer events.
type etlJSONParser event.Rules

// etlJSONTransfer is the JSON form. Numbers are kept as json.Number so that values
// beyond 64 bits (token amounts) survive.
type etlJSONTransfer struct {
	Type           string      `json:"type"`
	TokenAddress   string      `json:"token_address"`
	FromAddress    string      `json:"from_address"`
	ToAddress      string      `json:"to_address"`
	Value          json.Number `json:"value"`
	TxHash         string      `json:"transaction_hash"`
	LogIndex       json.Number `json:"log_index"`
	BlockNumber    json.Number `json:"block_number"`
	BlockTimestamp json.Number `json:"block_timestamp"`
	BlockHash      string      `json:"block_hash"`
}

func (p etlJSONParser) parse(line []byte) (event.Event, bool, error) {
	var j etlJSONTransfer
	if err := json.Unmarshal(line, &j); err != nil {
		return event.Event{}, true, jsonReject(err)
	}
	if j.Type != "token_transfer" {
		return event.Event{}, true, parse.Rejectf(event.ReasonUnknownKind, "type", "ethereum-etl item %q is not a token_transfer", j.Type)
	}
	for _, req := range []struct {
		name string
		v    string
	}{
		{"token_address", j.TokenAddress}, {"from_address", j.FromAddress}, {"to_address", j.ToAddress},
		{"value", j.Value.String()}, {"transaction_hash", j.TxHash}, {"log_index", j.LogIndex.String()},
		{"block_number", j.BlockNumber.String()},
	} {
		if req.v == "" {
			return event.Event{}, true, parse.Rejectf(event.ReasonMissingField, req.name, "required")
		}
	}
	t := etlTransfer{
		token: []byte(j.TokenAddress), from: []byte(j.FromAddress), to: []byte(j.ToAddress),
		value: []byte(j.Value), tx: []byte(j.TxHash), blockHash: []byte(j.BlockHash),
	}
	li, err := strconv.ParseInt(j.LogIndex.String(), 10, 64)
	if err != nil {
		return event.Event{}, true, parse.Rejectf(event.ReasonBadValue, "log_index", "not an integer: %q", j.LogIndex.String())
	}
	t.logIndex = li
	if t.block, err = parseUint("block_number", []byte(j.BlockNumber)); err != nil {
		return event.Event{}, true, err
	}
	if j.BlockTimestamp != "" {
		if t.ts, err = parseEpoch("block_timestamp", []byte(j.BlockTimestamp)); err != nil {
			return event.Event{}, true, err
		}
	}
	ev, err := t.event(event.Rules(p))
	return ev, true, err
}

// jsonReject turns an encoding/json error into a Reject.
func jsonReject(err error) *event.Reject {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return parse.Rejectf(event.ReasonBadType, te.Field, "JSON %s where %s is required", te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return parse.Rejectf(event.ReasonBadJSON, "", "%v", err)
	}
	// A value of the right JSON type that does not fit, such as a string that is not
	// a number where a number is read.
	return parse.Rejectf(event.ReasonBadType, "", "%v", err)
}
