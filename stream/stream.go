// Package stream is the Redis Streams runtime: events sharded over N streams by key,
// consumer groups, one owner per shard at a time (leases), batching, ack only after the
// durable side (a Sink) commits the batch's effects together with the stream position,
// reclaim of pending entries, dead-lettering of poison entries, and backpressure instead
// of trimming unprocessed entries.
package stream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Config names the streams. The zero value is usable.
type Config struct {
	// Prefix of every key. Defaults to "coattail".
	Prefix string
	// Shards is the number of event streams. Every process sharing the streams must
	// agree on it. Defaults to 8.
	Shards int
	// MaxLen is the backpressure bound: a producer waits while a shard holds this many
	// entries not yet processed by every group. Defaults to 200000.
	MaxLen int64
	// Groups, when set, names every consumer group that reads the streams. A stream is
	// trimmed only once each of them exists on it: a group created after the others
	// have consumed and trimmed (a stage started after the sources, or a group lost to
	// a Redis restart without persistence) would otherwise start past the entries it
	// never saw. Empty: the groups that exist are all there are.
	Groups []string
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "coattail"
	}
	if c.Shards == 0 {
		c.Shards = 8
	}
	if c.MaxLen == 0 {
		c.MaxLen = 200000
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Shards < 1 || c.Shards > 1024 {
		return fmt.Errorf("stream shards %d: must be 1..1024", c.Shards)
	}
	if c.MaxLen < 1000 {
		return fmt.Errorf("stream max length %d: must be at least 1000", c.MaxLen)
	}
	return nil
}

// Stream is the name of shard i's stream. The braces are a Redis Cluster hash tag, so a
// shard's keys live in one slot.
func (c Config) Stream(shard int) string {
	c = c.withDefaults()
	return fmt.Sprintf("%s:events:{%d}", c.Prefix, shard)
}

// DLQ is the name of the dead-letter stream.
func (c Config) DLQ() string { return c.withDefaults().Prefix + ":dlq" }

func (c Config) leaseKey(stream, group string) string {
	return c.withDefaults().Prefix + ":lease:" + group + ":" + stream
}

// committedKey is the hash of shard stream's committed position per group (field: the
// group's name), published by the shard's owner for trimming. It shares the stream's
// hash tag, so it lives in the stream's Redis Cluster slot.
func committedKey(stream string) string { return stream + ":committed" }

// rewindsKey is the hash of how often each group of stream was moved back to the same
// committed position (field: group; value: "<id> <count>"), for MaxDeliveries.
func rewindsKey(stream string) string { return stream + ":rewinds" }

func (c Config) membersKey(group string) string {
	return c.withDefaults().Prefix + ":members:" + group
}

// Entry fields.
const (
	fieldKey  = "k"
	fieldBody = "e"
)

// Message is what a producer adds.
type Message struct {
	Shard int
	Key   []byte // idempotency key hash
	Body  []byte // canonical interchange JSON
}

// Entry is a message read back from a stream.
type Entry struct {
	ID         string
	Key        []byte
	Body       []byte
	Deliveries int64 // known delivery count (0 when not known)
}

// ID is a parsed stream entry id, comparable.
type ID struct{ Ms, Seq uint64 }

// ParseID parses "ms-seq".
func ParseID(s string) (ID, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return ID{}, fmt.Errorf("stream id %q: want ms-seq", s)
	}
	ms, err := strconv.ParseUint(a, 10, 64)
	if err != nil {
		return ID{}, fmt.Errorf("stream id %q: %w", s, err)
	}
	seq, err := strconv.ParseUint(b, 10, 64)
	if err != nil {
		return ID{}, fmt.Errorf("stream id %q: %w", s, err)
	}
	return ID{ms, seq}, nil
}

// Less orders ids.
func (a ID) Less(b ID) bool { return a.Ms < b.Ms || (a.Ms == b.Ms && a.Seq < b.Seq) }

// Next is the smallest id after a.
func (a ID) Next() ID {
	if a.Seq == ^uint64(0) {
		return ID{a.Ms + 1, 0}
	}
	return ID{a.Ms, a.Seq + 1}
}

func (a ID) String() string {
	return strconv.FormatUint(a.Ms, 10) + "-" + strconv.FormatUint(a.Seq, 10)
}

// CompareIDs compares two id strings; unparseable ids sort first.
func CompareIDs(a, b string) int {
	x, errA := ParseID(a)
	y, errB := ParseID(b)
	switch {
	case errA != nil && errB != nil:
		return 0
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	case x.Less(y):
		return -1
	case y.Less(x):
		return 1
	}
	return 0
}

// ErrFenced is returned by a Sink when the batch's epoch is no longer the shard's
// current one: another worker owns the shard now. The runtime stops working the shard.
var ErrFenced = errors.New("shard ownership lost (fenced)")

// PermanentError marks a Sink failure that retrying will not fix (bad data, constraint
// violation). The runtime bisects the batch and dead-letters the entries that fail alone.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is marked permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
