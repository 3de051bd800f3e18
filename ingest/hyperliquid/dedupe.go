package hyperliquid

// tradeKey names one public trade. Trade ids are unique per trade, and trades are
// also told apart by coin in case a venue reuses ids across markets.
type tradeKey struct {
	coin string
	tid  uint64
}

// dedupe remembers the last size trade keys seen, in a ring: memory is bounded and
// the oldest key is forgotten first. What a reconnect can repeat is what a new
// subscription starts with (recent trades) and what a server resends around a
// cut; the default window is far larger than that.
type dedupe struct {
	seen map[tradeKey]struct{}
	ring []tradeKey
	next int
	full bool
}

func newDedupe(size int) *dedupe {
	return &dedupe{seen: make(map[tradeKey]struct{}, min(size, 1024)), ring: make([]tradeKey, size)}
}

// add records k and reports whether it was new. A zero-size dedupe remembers
// nothing.
func (d *dedupe) add(k tradeKey) bool {
	if len(d.ring) == 0 {
		return true
	}
	if _, ok := d.seen[k]; ok {
		return false
	}
	if d.full {
		delete(d.seen, d.ring[d.next])
	}
	d.ring[d.next] = k
	d.seen[k] = struct{}{}
	d.next++
	if d.next == len(d.ring) {
		d.next, d.full = 0, true
	}
	return true
}
