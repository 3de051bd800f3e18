package binance

import "strings"

// splitSymbol turns a Binance symbol (ETHUSDT) into BASE-QUOTE (ETH-USDT) by the
// longest known quote asset it ends with; "" when it ends with none or is not
// upper-case alphanumeric. It follows the same convention as the replay adapter's
// Binance CSV reader (the two should share one implementation; see the package doc).
func splitSymbol(s string) string {
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

// quoteAssets are the quote assets of Binance spot symbols.
func quoteAssets() [30]string {
	return [...]string{
		"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "UST", "PAX", "AEUR",
		"EURI", "BTC", "ETH", "BNB", "XRP", "TRX", "DOGE", "DOT", "EUR", "GBP",
		"TRY", "BRL", "AUD", "RUB", "UAH", "NGN", "ZAR", "PLN", "ARS", "JPY",
	}
}
