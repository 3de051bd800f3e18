// Package analytics groups the stateful computations of the pipeline: the wallet book
// (book), the demo market (demo), and later windowed bars, flows, anomalies, whale
// profiles and alpha scores.
package analytics
