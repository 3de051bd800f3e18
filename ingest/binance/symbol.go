package binance

import "strings"

// SplitSymbol turns a Binance spot or futures symbol (ETHUSDT) into the interchange
// format's BASE-QUOTE (ETH-USDT) by the longest known quote asset it ends with. It
// returns "" when s ends with none, is nothing but a quote asset, or is not upper-case
// letters and digits. The live source and the replay reader of Binance CSVs
// (ingest/replay) both name symbols with it.
func SplitSymbol(s string) string {
	if !isAlnum(s) {
		return ""
	}
	best := ""
	for _, q := range quoteAssets() {
		if len(q) > len(best) && len(s) > len(q) && strings.HasSuffix(s, q) {
			best = q
		}
	}
	if best == "" {
		return ""
	}
	return s[:len(s)-len(best)] + "-" + best
}

// quoteAssets are the quote assets of Binance spot and futures symbols.
func quoteAssets() [30]string {
	return [...]string{
		"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "UST", "PAX", "AEUR",
		"EURI", "BTC", "ETH", "BNB", "XRP", "TRX", "DOGE", "DOT", "EUR", "GBP",
		"TRY", "BRL", "AUD", "RUB", "UAH", "NGN", "ZAR", "PLN", "ARS", "JPY",
	}
}
