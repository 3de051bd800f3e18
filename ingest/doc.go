// Package ingest holds the sources that feed the pipeline. Each subpackage is one
// adapter: replay (files in the interchange and native formats) today; the live
// Binance, Coinbase, Hyperliquid and Ethereum clients come with the ingest issue.
package ingest
