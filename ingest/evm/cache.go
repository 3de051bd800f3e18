package evm

import "github.com/ethereum/go-ethereum/common"

// cache is a bounded map of addresses, roughly least-recently-used: entries live in
// two generations; when the current one holds half the capacity it becomes the old
// one and the previous old generation is dropped. A hit in the old generation moves
// the entry to the current one. So at most max entries are held, and an entry used
// at least once per max/2 insertions is never evicted. Not safe for concurrent use.
type cache[V any] struct {
	half     int
	cur, old map[common.Address]V
}

func newCache[V any](max int) *cache[V] {
	half := max / 2
	if half < 1 {
		half = 1
	}
	return &cache[V]{half: half, cur: make(map[common.Address]V, half)}
}

func (c *cache[V]) get(k common.Address) (V, bool) {
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		delete(c.old, k)
		c.put(k, v)
	}
	return v, ok
}

func (c *cache[V]) put(k common.Address, v V) {
	if _, ok := c.cur[k]; !ok && len(c.cur) >= c.half {
		c.old, c.cur = c.cur, make(map[common.Address]V, c.half)
	}
	c.cur[k] = v
}

func (c *cache[V]) remove(k common.Address) {
	delete(c.cur, k)
	delete(c.old, k)
}

func (c *cache[V]) len() int { return len(c.cur) + len(c.old) }
