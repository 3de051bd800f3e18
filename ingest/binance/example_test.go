package binance_test

import (
	"fmt"

	"github.com/coattailcapital/coattail/ingest/binance"
)

// Symbols may be given as BASE-QUOTE or in Binance's own form; the source follows
// their aggregate-trade streams on one combined connection.
func ExampleNew() {
	src, err := binance.New(binance.Config{Symbols: []string{"BTC-USDT", "ethusdc"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(src.Name())
	fmt.Println(src.URL())
	// Output:
	// binance
	// wss://stream.binance.com:9443/stream?streams=btcusdt@aggTrade/ethusdc@aggTrade
}
