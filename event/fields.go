package event

// fieldID numbers the JSON fields the format knows, across all kinds. It indexes the
// scanner's value table and a 64-bit presence mask, so there must stay fewer than 64.
type fieldID uint8

const (
	fKind fieldID = iota
	fSrc
	fTS
	fID
	fSymbol
	fPrice
	fQty
	fSide
	fBlock
	fBlockHash
	fTx
	fLogIndex
	fRemoved
	fToken
	fFrom
	fTo
	fAmount
	fRawAmount
	fDecimals
	fUSD
	fVenue
	fPool
	fTokenIn
	fAmountIn
	fTokenOut
	fAmountOut
	fSymbolIn
	fSymbolOut
	fWallet
	fCoin
	fPx
	fSz
	fDir
	fStartPosition
	fClosedPnl
	fFee
	fSize
	fEntryPx
	fMarkPx
	fLeverage
	fUnrealizedPnl
	fAccountValue
	nFields
	fUnknown fieldID = 255
)

// lookupField maps a JSON key to its field; the string switch compiles without allocating.
func lookupField(k []byte) fieldID {
	switch string(k) {
	case "kind":
		return fKind
	case "src":
		return fSrc
	case "ts":
		return fTS
	case "id":
		return fID
	case "symbol":
		return fSymbol
	case "price":
		return fPrice
	case "qty":
		return fQty
	case "side":
		return fSide
	case "block":
		return fBlock
	case "block_hash":
		return fBlockHash
	case "tx":
		return fTx
	case "log_index":
		return fLogIndex
	case "removed":
		return fRemoved
	case "token":
		return fToken
	case "from":
		return fFrom
	case "to":
		return fTo
	case "amount":
		return fAmount
	case "raw_amount":
		return fRawAmount
	case "decimals":
		return fDecimals
	case "usd":
		return fUSD
	case "venue":
		return fVenue
	case "pool":
		return fPool
	case "token_in":
		return fTokenIn
	case "amount_in":
		return fAmountIn
	case "token_out":
		return fTokenOut
	case "amount_out":
		return fAmountOut
	case "symbol_in":
		return fSymbolIn
	case "symbol_out":
		return fSymbolOut
	case "wallet":
		return fWallet
	case "coin":
		return fCoin
	case "px":
		return fPx
	case "sz":
		return fSz
	case "dir":
		return fDir
	case "start_position":
		return fStartPosition
	case "closed_pnl":
		return fClosedPnl
	case "fee":
		return fFee
	case "size":
		return fSize
	case "entry_px":
		return fEntryPx
	case "mark_px":
		return fMarkPx
	case "leverage":
		return fLeverage
	case "unrealized_pnl":
		return fUnrealizedPnl
	case "account_value":
		return fAccountValue
	}
	return fUnknown
}

// name is the JSON key of the field, as used in Reject.Field and by AppendJSON.
func (f fieldID) name() string {
	switch f {
	case fKind:
		return "kind"
	case fSrc:
		return "src"
	case fTS:
		return "ts"
	case fID:
		return "id"
	case fSymbol:
		return "symbol"
	case fPrice:
		return "price"
	case fQty:
		return "qty"
	case fSide:
		return "side"
	case fBlock:
		return "block"
	case fBlockHash:
		return "block_hash"
	case fTx:
		return "tx"
	case fLogIndex:
		return "log_index"
	case fRemoved:
		return "removed"
	case fToken:
		return "token"
	case fFrom:
		return "from"
	case fTo:
		return "to"
	case fAmount:
		return "amount"
	case fRawAmount:
		return "raw_amount"
	case fDecimals:
		return "decimals"
	case fUSD:
		return "usd"
	case fVenue:
		return "venue"
	case fPool:
		return "pool"
	case fTokenIn:
		return "token_in"
	case fAmountIn:
		return "amount_in"
	case fTokenOut:
		return "token_out"
	case fAmountOut:
		return "amount_out"
	case fSymbolIn:
		return "symbol_in"
	case fSymbolOut:
		return "symbol_out"
	case fWallet:
		return "wallet"
	case fCoin:
		return "coin"
	case fPx:
		return "px"
	case fSz:
		return "sz"
	case fDir:
		return "dir"
	case fStartPosition:
		return "start_position"
	case fClosedPnl:
		return "closed_pnl"
	case fFee:
		return "fee"
	case fSize:
		return "size"
	case fEntryPx:
		return "entry_px"
	case fMarkPx:
		return "mark_px"
	case fLeverage:
		return "leverage"
	case fUnrealizedPnl:
		return "unrealized_pnl"
	case fAccountValue:
		return "account_value"
	}
	return "?"
}
