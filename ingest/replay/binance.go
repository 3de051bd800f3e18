package replay

import (
	"fmt"
	"strings"

	"github.com/coattailcapital/coattail/event"
	"github.com/coattailcapital/coattail/ingest/binance"
	"github.com/coattailcapital/coattail/ingest/parse"
)

// Logical columns of the Binance CSVs, as indexes into binanceColumns.
const (
	bnID = iota
	bnPrice
	bnQty
	bnTime
	bnMaker
)

// Logical columns of the kline CSV.
const (
	bnClose = iota
	bnCloseTime
)

// binanceColumns returns the columns of a Binance CSV flavour. Positions are those of
// the headerless files of data.binance.vision; the aliases cover the headers of its
// newer (futures) files and of common re-exports.
func binanceColumns(format string) []csvCol {
	switch format {
	case FormatBinanceTrades:
		return []csvCol{
			{name: "id", aliases: []string{"id", "trade_id"}, pos: 0},
			{name: "price", aliases: []string{"price"}, pos: 1},
			{name: "qty", aliases: []string{"qty", "quantity"}, pos: 2},
			{name: "time", aliases: []string{"time", "transact_time", "timestamp"}, pos: 4},
			{name: "is_buyer_maker", aliases: []string{"is_buyer_maker"}, pos: 5},
		}
	case FormatBinanceAggTrades:
		return []csvCol{
			{name: "agg_trade_id", aliases: []string{"agg_trade_id", "agg_id", "aggregate_trade_id", "a"}, pos: 0},
			{name: "price", aliases: []string{"price", "p"}, pos: 1},
			{name: "qty", aliases: []string{"qty", "quantity", "q"}, pos: 2},
			{name: "time", aliases: []string{"transact_time", "time", "timestamp", "t"}, pos: 5},
			{name: "is_buyer_maker", aliases: []string{"is_buyer_maker", "m"}, pos: 6},
		}
	default: // klines
		return []csvCol{
			{name: "close", aliases: []string{"close", "close_price"}, pos: 4},
			{name: "close_time", aliases: []string{"close_time"}, pos: 6},
		}
	}
}

// binanceParser maps Binance trade, aggTrade and kline rows to trade and price events.
type binanceParser struct {
	format string
	row    *csvRow
	symbol string
	rules  event.Rules
}

func newBinanceParser(format string, first []byte, symbol string, rules event.Rules) (*binanceParser, error) {
	row, err := newCSVRow(binanceColumns(format), first)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	return &binanceParser{format: format, row: row, symbol: symbol, rules: rules}, nil
}

func (p *binanceParser) parse(line []byte) (event.Event, bool, error) {
	header, err := p.row.split(line)
	if header {
		return event.Event{}, false, nil
	}
	if err != nil {
		return event.Event{}, true, err
	}
	if p.symbol == "" {
		return event.Event{}, true, parse.Rejectf(event.ReasonMissingField, "symbol",
			"the file name does not start with a symbol; set the symbol explicitly")
	}
	var ev event.Event
	if p.format == FormatBinanceKlines {
		ev, err = p.kline()
	} else {
		ev, err = p.trade()
	}
	if err != nil {
		return event.Event{}, true, err
	}
	if err := ev.Validate(p.rules); err != nil {
		return event.Event{}, true, err
	}
	return ev, true, nil
}

func (p *binanceParser) trade() (event.Event, error) {
	r := p.row
	ev := event.Event{Kind: event.KindTrade, Src: "binance", Symbol: p.symbol}
	id := strings.TrimSpace(string(r.get(bnID)))
	if id == "" {
		return ev, parse.Rejectf(event.ReasonMissingField, "id", "empty trade id")
	}
	if p.format == FormatBinanceAggTrades {
		// Aggregate trade ids are a sequence of their own; the prefix keeps them apart
		// from plain trade ids of the same symbol.
		id = "a" + id
	}
	ev.ID = id
	var err error
	if ev.Price, err = parseDecimal("price", r.get(bnPrice)); err != nil {
		return ev, err
	}
	if ev.Qty, err = parseDecimal("qty", r.get(bnQty)); err != nil {
		return ev, err
	}
	if ev.TS, err = parseEpoch("time", r.get(bnTime)); err != nil {
		return ev, err
	}
	maker, ok := parseBool(r.get(bnMaker))
	if !ok {
		return ev, parse.Rejectf(event.ReasonBadValue, "is_buyer_maker", "not a boolean: %s", parse.Quote(string(r.get(bnMaker))))
	}
	// The taker sold into a resting buy order when the buyer was the maker.
	ev.Side = event.Buy
	if maker {
		ev.Side = event.Sell
	}
	return ev, nil
}

// kline maps a kline to its close price at its close time (the close_time column
// as given, e.g. 10:59:59.999 for the 10:00 hourly kline).
func (p *binanceParser) kline() (event.Event, error) {
	r := p.row
	ev := event.Event{Kind: event.KindPrice, Src: "binance", Symbol: p.symbol}
	var err error
	if ev.Price, err = parseDecimal("close", r.get(bnClose)); err != nil {
		return ev, err
	}
	if ev.TS, err = parseEpoch("close_time", r.get(bnCloseTime)); err != nil {
		return ev, err
	}
	return ev, nil
}

// symbolFor returns the BASE-QUOTE symbol of a Binance file: from the option when
// given, else from the file name (the part before the first '-'); "" when neither
// names one.
func symbolFor(opt, name string) string {
	if opt != "" {
		opt = strings.ToUpper(strings.TrimSpace(opt))
		if strings.Contains(opt, "-") {
			return opt
		}
		if s := binance.SplitSymbol(opt); s != "" {
			return s
		}
		return opt // trust the caller with a symbol we cannot split
	}
	tok, _, _ := strings.Cut(name, "-")
	tok, _, _ = strings.Cut(tok, ".")
	return binance.SplitSymbol(strings.ToUpper(tok))
}
