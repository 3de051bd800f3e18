package alpha

import (
	"strings"

	"github.com/coattailcapital/coattail/event"
)

// StableFunc reports whether a token (contract address, lower-case; empty for the
// native coin) with an optional symbol is a USD stablecoin.
type StableFunc func(token, symbol string) bool

// IsStableSymbol is the default StableFunc: it goes by the symbol alone (USDC, USDT,
// DAI, USDE, FDUSD, PYUSD, TUSD, USDS, FRAX, LUSD, GUSD, USDP, BUSD; any case).
func IsStableSymbol(_, symbol string) bool {
	switch strings.ToUpper(symbol) {
	case "USDC", "USDT", "DAI", "USDE", "FDUSD", "PYUSD", "TUSD", "USDS", "FRAX", "LUSD", "GUSD", "USDP", "BUSD":
		return true
	}
	return false
}

// coinOf names a token for prices: its symbol, else its address, else "native".
func coinOf(token, symbol string) string {
	switch {
	case symbol != "":
		return symbol
	case token != "":
		return token
	}
	return "native"
}

// ActionsFromSwaps derives KindSwap actions from swap events (other kinds are
// ignored). A swap from a stablecoin buys the other token (Dir +1), a swap into one
// sells it (Dir −1), priced by the stablecoin amount. A swap between two other tokens
// is a sale of one and a purchase of the other when the event gives its USD value,
// and is skipped otherwise. A swap retracted by a later event with Removed (a reorg)
// is left out, as is the retraction. Coin is the token's symbol, or its address when
// there is none: build the price series with the same names. Swaps say nothing of the
// wallet's position, so PosBefore and PosAfter are zero. stable nil means
// IsStableSymbol. The result is sorted like ActionsFromFills's.
func ActionsFromSwaps(evs []event.Event, stable StableFunc) []Action {
	if stable == nil {
		stable = IsStableSymbol
	}
	type key struct {
		src, tx string
		log     int64
	}
	removed := map[key]bool{}
	for i := range evs {
		if e := &evs[i]; e.Kind == event.KindSwap && e.Removed {
			removed[key{e.Src, e.Tx, e.LogIndex}] = true
		}
	}
	var out []Action
	for i := range evs {
		e := &evs[i]
		if e.Kind != event.KindSwap || removed[key{e.Src, e.Tx, e.LogIndex}] {
			continue
		}
		in, outAmt := e.AmountIn.InexactFloat64(), e.AmountOut.InexactFloat64()
		if !(in > 0) || !(outAmt > 0) {
			continue
		}
		sIn, sOut := stable(e.TokenIn, e.SymbolIn), stable(e.TokenOut, e.SymbolOut)
		swap := func(coin string, dir int, size, usd float64) {
			out = append(out, Action{
				Wallet: e.Wallet, Coin: coin, TS: e.TS, Kind: KindSwap, Dir: dir,
				Size: size, Px: usd / size, NotionalUSD: usd, Fills: 1,
			})
		}
		switch {
		case sIn && sOut:
			// stable to stable: no exposure
		case sIn:
			swap(coinOf(e.TokenOut, e.SymbolOut), +1, outAmt, in)
		case sOut:
			swap(coinOf(e.TokenIn, e.SymbolIn), -1, in, outAmt)
		case e.USD.Valid && e.USD.Decimal.IsPositive():
			usd := e.USD.Decimal.InexactFloat64()
			swap(coinOf(e.TokenIn, e.SymbolIn), -1, in, usd)
			swap(coinOf(e.TokenOut, e.SymbolOut), +1, outAmt, usd)
		}
	}
	SortActions(out)
	return out
}
