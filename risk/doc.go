// Package risk is the gate between signals and anything that acts on them: position
// sizing, exposure caps, cooldowns, staleness and liquidity checks, circuit breakers and
// the kill switch. It is built by the signals/risk issue; the spine only reserves its
// place in the layout so the pipeline's shape is visible from the top of the tree.
package risk
