package lastids_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/coattailcapital/coattail/ingest/lastids"
)

// upperKey follows BTC-USD and ETH-USD, written in any case, and refuses keys with
// a space.
func upperKey(k string) (string, bool, error) {
	if strings.Contains(k, " ") {
		return "", false, errors.New("key with a space")
	}
	u := strings.ToUpper(k)
	return u, u == "BTC-USD" || u == "ETH-USD", nil
}

func TestDecode(t *testing.T) {
	for name, tc := range map[string]struct {
		pos     string
		want    map[string]int64
		wantErr string
	}{
		"no checkpoint":       {pos: ``, want: nil},
		"both":                {pos: `{"last_ids":{"BTC-USD":7,"ETH-USD":9}}`, want: map[string]int64{"BTC-USD": 7, "ETH-USD": 9}},
		"renamed by the key":  {pos: `{"last_ids":{"btc-usd":7}}`, want: map[string]int64{"BTC-USD": 7}},
		"no longer followed":  {pos: `{"last_ids":{"BTC-USD":7,"SOL-USD":3}}`, want: map[string]int64{"BTC-USD": 7}},
		"nothing emitted yet": {pos: `{"last_ids":{}}`, want: map[string]int64{}},
		"no ids at all":       {pos: `{}`, want: map[string]int64{}},
		"not JSON":            {pos: `{"last_ids":`, wantErr: "ex: read checkpoint: unexpected end"},
		"id not a number":     {pos: `{"last_ids":{"BTC-USD":"7"}}`, wantErr: "ex: read checkpoint: json"},
		"negative id":         {pos: `{"last_ids":{"BTC-USD":-2}}`, wantErr: "ex: read checkpoint: product BTC-USD: negative id -2"},
		"unreadable key":      {pos: `{"last_ids":{"BTC USD":1}}`, wantErr: "ex: read checkpoint: key with a space"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := lastids.Decode("ex", "product", []byte(tc.pos), upperKey)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tc.want == nil) || !maps.Equal(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	ids := map[string]int64{"BTC-USD": 41, "ETH-USD": 0}
	pos, err := lastids.Encode("ex", ids)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"last_ids":{"BTC-USD":41,"ETH-USD":0}}`; string(pos) != want {
		t.Errorf("Encode = %s, want %s", pos, want)
	}
	got, err := lastids.Decode("ex", "product", pos, upperKey)
	if err != nil || !maps.Equal(got, ids) {
		t.Errorf("read back as %v (%v), want %v", got, err, ids)
	}
}
