package event

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// keySep separates the components of a key. Validate and Decode never let a control
// character into an event's text, and addresses, hashes, numbers and timestamps hold
// none, so a key reads back into its components unambiguously.
const keySep = '\x1f'

// Key returns the event's idempotency key (docs/EVENTS.md, "Identity"), components joined
// by U+001F:
//
//	transfer, swap:  src kind tx log_index [block_hash] ["removed"]
//	trade with id:   src "trade" id
//	fill with id:    src "fill" wallet id
//	price:           src "price" symbol ts
//	position:        src "position" wallet coin ts
//	otherwise:       "h:" + hex(sha256(AppendJSON(e)))
//
// log_index is in decimal (-1 for a native transfer) and ts in canonical RFC 3339 UTC.
// A retraction (removed) has its own key, distinct from the event it retracts. Since src
// never holds ':', the hash form cannot collide with the others. The key is meaningful
// for a validated event only (Decode's results are).
func (e *Event) Key() string {
	var buf [256]byte
	return string(e.appendKey(buf[:0]))
}

// KeyHashOr returns given when it is a key hash (16 bytes: the producer sends the one it
// computed with the stream entry), and KeyHash otherwise.
func (e *Event) KeyHashOr(given []byte) [16]byte {
	if len(given) == 16 {
		return [16]byte(given)
	}
	return e.KeyHash()
}

// KeyHash returns the first 16 bytes of sha256(Key()), a fixed-size form of the key for
// storage and dedup sets.
func (e *Event) KeyHash() [16]byte {
	var buf [256]byte
	sum := sha256.Sum256(e.appendKey(buf[:0]))
	var h [16]byte
	copy(h[:], sum[:16])
	return h
}

func (e *Event) appendKey(dst []byte) []byte {
	switch e.Kind {
	case KindTransfer, KindSwap:
		dst = appendKeyParts(dst, e.Src, string(e.Kind), e.Tx)
		dst = append(dst, keySep)
		dst = strconv.AppendInt(dst, e.LogIndex, 10)
		if e.BlockHash != "" {
			dst = append(dst, keySep)
			dst = append(dst, e.BlockHash...)
		}
		if e.Removed {
			dst = append(dst, keySep)
			dst = append(dst, "removed"...)
		}
		return dst
	case KindTrade:
		if e.ID != "" {
			return appendKeyParts(dst, e.Src, string(e.Kind), e.ID)
		}
	case KindFill:
		if e.ID != "" {
			return appendKeyParts(dst, e.Src, string(e.Kind), e.Wallet, e.ID)
		}
	case KindPrice:
		dst = appendKeyParts(dst, e.Src, string(e.Kind), e.Symbol)
		dst = append(dst, keySep)
		return appendTimestamp(dst, e.TS)
	case KindPosition:
		dst = appendKeyParts(dst, e.Src, string(e.Kind), e.Wallet, e.Coin)
		dst = append(dst, keySep)
		return appendTimestamp(dst, e.TS)
	}
	var enc [512]byte
	sum := sha256.Sum256(AppendJSON(enc[:0], e))
	dst = append(dst, 'h', ':')
	return hex.AppendEncode(dst, sum[:])
}

func appendKeyParts(dst []byte, parts ...string) []byte {
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, keySep)
		}
		dst = append(dst, p...)
	}
	return dst
}

// ShardKey returns what the event streams are sharded by, so that everything one worker
// must see in order lands on one shard: the wallet for fill, position and swap; the
// symbol for trade and price; the sender (from) for a transfer — a wallet's outflows stay
// in order on one shard, its inflows are spread over its counterparties' shards.
func (e *Event) ShardKey() string {
	switch e.Kind {
	case KindFill, KindPosition, KindSwap:
		return e.Wallet
	case KindTrade, KindPrice:
		return e.Symbol
	case KindTransfer:
		return e.From
	}
	return ""
}

// Shard maps a shard key to one of n shards with 64-bit FNV-1a modulo n. It is stable
// across processes, versions and machines, so it may be persisted. n < 1 is treated as 1.
func Shard(key string, n int) int {
	if n <= 1 {
		return 0
	}
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime64
	}
	return int(h % uint64(n))
}
