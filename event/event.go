// Package event is the interchange format v1 (docs/EVENTS.md): the one shape every
// source normalises into before an event enters the streams, and the only thing the
// workers read. Money, sizes and prices are decimals, never floats; addresses are
// lower-case 0x hex.
package event

import (
	"time"

	"github.com/shopspring/decimal"
)

// Kind names what an event describes.
type Kind string

// The six kinds of the interchange format.
const (
	KindTrade    Kind = "trade"
	KindTransfer Kind = "transfer"
	KindSwap     Kind = "swap"
	KindFill     Kind = "fill"
	KindPosition Kind = "position"
	KindPrice    Kind = "price"
)

// Side is the taker's side of a trade or a wallet's side of a fill.
type Side string

// Sides.
const (
	Buy  Side = "buy"
	Sell Side = "sell"
)

// NativeLogIndex is the log index of a native-coin transfer, which has no log.
const NativeLogIndex = -1

// MaxLineBytes is the longest interchange line accepted; longer lines are rejected
// unparsed with ReasonLineTooLong.
const MaxLineBytes = 1 << 20

// Event is one interchange event. Which fields are set depends on Kind; see
// docs/EVENTS.md. Optional decimals use decimal.NullDecimal (Valid=false: absent).
type Event struct {
	Kind Kind
	Src  string
	TS   time.Time
	ID   string

	// trade, price (Symbol), transfer (optional token symbol)
	Symbol string
	Price  decimal.Decimal // trade, price
	Qty    decimal.Decimal // trade
	Side   Side

	// transfer, swap: chain position
	Block     uint64
	BlockHash string
	Tx        string
	LogIndex  int64 // NativeLogIndex for a native transfer
	Removed   bool

	// transfer
	Token     string // empty: native coin
	From      string
	To        string
	Amount    decimal.Decimal // in token units (raw_amount / 10^decimals when given so)
	RawAmount string
	Decimals  int32
	HasRaw    bool // amount was given as raw_amount+decimals
	USD       decimal.NullDecimal

	// swap (also Wallet)
	Venue     string
	Pool      string
	TokenIn   string
	AmountIn  decimal.Decimal
	TokenOut  string
	AmountOut decimal.Decimal
	SymbolIn  string
	SymbolOut string

	// fill, position, swap
	Wallet string
	Coin   string

	// fill (also Side, ID)
	Px            decimal.Decimal
	Sz            decimal.Decimal
	Dir           string
	StartPosition decimal.NullDecimal
	ClosedPnl     decimal.NullDecimal
	Fee           decimal.NullDecimal

	// position
	Size          decimal.Decimal
	EntryPx       decimal.NullDecimal
	MarkPx        decimal.NullDecimal
	Leverage      decimal.NullDecimal
	UnrealizedPnl decimal.NullDecimal
	AccountValue  decimal.NullDecimal
}
