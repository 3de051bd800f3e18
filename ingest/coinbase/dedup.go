package coinbase

import "strconv"

// verdict is what a dedup window says about a trade id.
type verdict uint8

const (
	fresh verdict = iota // not seen: emit it
	dup                  // seen in the window: skip it
	stale                // older than the window: cannot tell, skipped as a duplicate
)

// window remembers the trade ids of one product seen recently, in bounded memory.
// Numeric ids (Coinbase's, increasing per product) are kept as a bitmap of the last
// size ids below the highest one, so that a trade filling a hole (from a snapshot
// after a sequence gap) is still accepted while a replayed one is not. Other ids are
// kept as a set of the last size ids, oldest evicted first.
type window struct {
	size int
	max  int64    // highest numeric id seen, -1 before the first
	bits []uint64 // bit id%size is set when id in (max-size, max] was seen

	strs map[string]struct{}
	ring []string
	pos  int
}

func newWindow(size int) *window {
	return &window{size: size, max: -1, bits: make([]uint64, size/64)}
}

// resume marks every id up to and including last as seen.
func (w *window) resume(last int64) {
	w.max = last
	for i := range w.bits {
		w.bits[i] = ^uint64(0)
	}
}

// see records id and says whether it was new.
func (w *window) see(id string) verdict {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return w.seeString(id)
	}
	if n > w.max {
		if w.max < 0 || n-w.max >= int64(w.size) {
			clear(w.bits)
		} else {
			for j := w.max + 1; j < n; j++ {
				w.clearBit(j)
			}
		}
		w.max = n
		w.setBit(n)
		return fresh
	}
	if w.max-n >= int64(w.size) {
		return stale
	}
	if w.hasBit(n) {
		return dup
	}
	w.setBit(n)
	return fresh
}

func (w *window) setBit(n int64) {
	i := n % int64(w.size)
	w.bits[i/64] |= 1 << (i % 64)
}

func (w *window) clearBit(n int64) {
	i := n % int64(w.size)
	w.bits[i/64] &^= 1 << (i % 64)
}

func (w *window) hasBit(n int64) bool {
	i := n % int64(w.size)
	return w.bits[i/64]&(1<<(i%64)) != 0
}

func (w *window) seeString(id string) verdict {
	if w.strs == nil {
		w.strs = make(map[string]struct{}, w.size)
		w.ring = make([]string, w.size)
	}
	if _, ok := w.strs[id]; ok {
		return dup
	}
	if old := w.ring[w.pos]; old != "" {
		delete(w.strs, old)
	}
	w.ring[w.pos] = id
	w.pos = (w.pos + 1) % w.size
	w.strs[id] = struct{}{}
	return fresh
}
