package store_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/coattailcapital/coattail/internal/testenv"
)

// sameJSON reports whether a and b hold the same JSON value (jsonb does not keep
// key order or spacing).
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func TestSourceCheckpointSaveLoadReplace(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	if pos, ok, err := st.LoadSourceCheckpoint(ctx, "binance"); err != nil || ok || pos != nil {
		t.Fatalf("before any save: %q, %v, %v; want nothing", pos, ok, err)
	}
	first := []byte(`{"last_ids":{"ETH-USDT":101,"BTC-USDT":501}}`)
	second := []byte(`{"last_ids":{"ETH-USDT":9007199254740993,"BTC-USDT":502}}`) // beyond float64 precision
	other := []byte(`{"trades":{"ETH":{"time":1768046400002,"tids":[907188554740990]}}}`)
	for _, s := range []struct {
		name string
		pos  []byte
	}{{"binance", first}, {"hyperliquid", other}, {"binance", second}} {
		if err := st.SaveSourceCheckpoint(ctx, s.name, s.pos); err != nil {
			t.Fatalf("save %s %s: %v", s.name, s.pos, err)
		}
	}
	for name, want := range map[string][]byte{"binance": second, "hyperliquid": other} {
		pos, ok, err := st.LoadSourceCheckpoint(ctx, name)
		if err != nil || !ok {
			t.Fatalf("load %s: ok %v, %v", name, ok, err)
		}
		if !sameJSON(t, pos, want) {
			t.Errorf("load %s: %s, want %s", name, pos, want)
		}
	}
	// Ids must survive as integers, not through a float.
	pos, _, err := st.LoadSourceCheckpoint(ctx, "binance")
	if err != nil {
		t.Fatal(err)
	}
	var cp struct {
		LastIDs map[string]int64 `json:"last_ids"`
	}
	if err := json.Unmarshal(pos, &cp); err != nil || cp.LastIDs["ETH-USDT"] != 9007199254740993 {
		t.Errorf("reloaded %s (%v): ETH-USDT id changed", pos, err)
	}
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM source_checkpoints`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d rows (%v), want one per source", n, err)
	}
}

func TestSaveSourceCheckpointRejects(t *testing.T) {
	st := testenv.Store(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		source string
		pos    []byte
	}{
		"not JSON": {"binance", []byte(`{"last_ids":`)},
		"empty":    {"binance", nil},
		"no name":  {"", []byte(`{}`)},
	} {
		t.Run(name, func(t *testing.T) {
			if err := st.SaveSourceCheckpoint(ctx, tc.source, tc.pos); err == nil {
				t.Fatalf("save %q %q: no error", tc.source, tc.pos)
			}
		})
	}
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM source_checkpoints`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows (%v) after failed saves, want none", n, err)
	}
}
