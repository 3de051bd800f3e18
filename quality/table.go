package quality

// table is a map bounded to max entries: once full, adding a new key forgets the key
// added longest ago (first in, first out; updating a key does not renew it). Memory is
// O(max) whatever the input. Not safe for concurrent use.
type table[K comparable, V any] struct {
	m    map[K]V
	ring []K // keys in the order they were added, grown up to max, then reused
	next int // the oldest key of ring once it is full
	max  int
}

func newTable[K comparable, V any](max int) *table[K, V] {
	return &table[K, V]{m: make(map[K]V, min(max, 1024)), max: max}
}

func (t *table[K, V]) get(k K) (V, bool) {
	v, ok := t.m[k]
	return v, ok
}

// put sets k to v, forgetting the oldest key when k is new and the table is full.
func (t *table[K, V]) put(k K, v V) {
	if _, ok := t.m[k]; !ok {
		t.add(k)
	}
	t.m[k] = v
}

// add records a new key's place in the ring.
func (t *table[K, V]) add(k K) {
	if len(t.ring) < t.max {
		t.ring = append(t.ring, k)
		return
	}
	delete(t.m, t.ring[t.next])
	t.ring[t.next] = k
	t.next++
	if t.next == t.max {
		t.next = 0
	}
}

func (t *table[K, V]) len() int { return len(t.m) }
