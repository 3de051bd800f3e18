// Package lastids is the checkpoint of the sources whose position is one trade id per
// symbol, the last one emitted or dead-lettered (binance, coinbase):
// {"last_ids":{"BTC-USD":123,...}}. Each source wraps it in its own Checkpoint and
// Config.WithCheckpoint and says how its keys are read.
package lastids

import (
	"encoding/json"
	"fmt"
)

// checkpoint is the JSON form of the position.
type checkpoint struct {
	LastIDs map[string]int64 `json:"last_ids"`
}

// Encode returns the checkpoint of ids, {"last_ids":{...}}; src, the source's name,
// prefixes its error.
func Encode(src string, ids map[string]int64) ([]byte, error) {
	b, err := json.Marshal(checkpoint{LastIDs: ids})
	if err != nil {
		return nil, fmt.Errorf("%s: encode checkpoint: %w", src, err)
	}
	return b, nil
}

// Key reads a key of a checkpoint: the key it has in the Resume map, and whether its
// symbol is still followed. An error makes the checkpoint unreadable.
type Key func(k string) (resume string, followed bool, err error)

// Decode reads pos, a value of Encode, into a Resume map: the ids of the keys key
// reports followed, under the name it gives them; the others are dropped (they would
// be stale by the time the symbol is followed again). A checkpoint with no ids gives
// an empty map; an empty pos (no checkpoint yet) gives nil. A negative id is an
// error. src, the source's name, prefixes errors, and noun names a key in them
// ("symbol", "product").
func Decode(src, noun string, pos []byte, key Key) (map[string]int64, error) {
	if len(pos) == 0 {
		return nil, nil
	}
	var cp checkpoint
	if err := json.Unmarshal(pos, &cp); err != nil {
		return nil, fmt.Errorf("%s: read checkpoint: %w", src, err)
	}
	resume := make(map[string]int64, len(cp.LastIDs))
	for k, id := range cp.LastIDs {
		name, followed, err := key(k)
		if err != nil {
			return nil, fmt.Errorf("%s: read checkpoint: %w", src, err)
		}
		if id < 0 {
			return nil, fmt.Errorf("%s: read checkpoint: %s %s: negative id %d", src, noun, k, id)
		}
		if followed {
			resume[name] = id
		}
	}
	return resume, nil
}
