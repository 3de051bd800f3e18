package replay

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/coattailcapital/coattail/event"
)

// fuzzNames are file names that steer detection and give the readers what they take
// from a name (a Binance CSV's symbol, a userFills file's wallet).
var fuzzNames = []string{"events.ndjson", "ETHUSDT-trades-2024-01.csv", "ETHUSDT-aggTrades-2025-01-01.csv",
	"ETHUSDT-1h-2024-05.csv", "token_transfers.csv", "token_transfers.json",
	"userFills_0x31ca8395cf837de08b24da3f660e77761dfb974b.json"}

// FuzzReadReplay: any file, under any of the names and forced formats, is read to the
// end without a panic; every record is either an event that passes the quality rules
// and survives the interchange round trip, or a rejection with a reason and at most
// 4 KiB of the input.
func FuzzReadReplay(f *testing.F) {
	for i, name := range fuzzNames {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b, uint8(i), uint8(0))
		}
	}
	// The real ethereum-etl export in ../shared/data, its first lines (when present).
	if b, err := os.ReadFile("../../shared/data/ethereum/token_transfers_15320500-15320599.csv"); err == nil {
		f.Add(b[:min(len(b), 4096)], uint8(4), uint8(0))
	}
	f.Add([]byte("\x1f\x8b\x08\x00garbage"), uint8(0), uint8(0))
	f.Add([]byte("(\xb5/\xfdgarbage"), uint8(0), uint8(1))
	f.Add([]byte("[{\"coin\":\"ETH\",\"px\":\"1e400\"}]"), uint8(6), uint8(7))
	f.Add([]byte("1,2,3\n"), uint8(1), uint8(2))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, nameIdx, formatIdx uint8) {
		path := filepath.Join(dir, fuzzNames[int(nameIdx)%len(fuzzNames)])
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var opt Options
		if formats := Formats(); int(formatIdx) < len(formats) {
			opt.Format = formats[formatIdx] // else: detect
		}
		r, err := Open(path, opt)
		if err != nil {
			return // an unreadable or undetectable file is refused as a whole
		}
		defer r.Close()
		for n := 0; ; n++ {
			rec, ok := r.Next()
			if !ok {
				break
			}
			if n > len(data)+1 {
				t.Fatalf("more records (%d) than bytes in the file (%d)", n, len(data))
			}
			if rec.Err != nil {
				var rej *event.Reject
				if !errors.As(rec.Err, &rej) || rej.Reason == "" {
					t.Fatalf("record %d: error %v is not a *event.Reject with a reason", rec.Line, rec.Err)
				}
				if len(rec.Raw) > 4096 {
					t.Fatalf("record %d keeps %d bytes of raw input", rec.Line, len(rec.Raw))
				}
				continue
			}
			e := rec.Event
			enc := event.AppendJSON(nil, &e)
			back, err := event.Decode(enc, event.Rules{})
			if err != nil {
				t.Fatalf("record %d (%s) does not decode back: %v\n%s", rec.Line, r.Format(), err, enc)
			}
			if back.Key() != e.Key() {
				t.Fatalf("record %d: key %q became %q", rec.Line, e.Key(), back.Key())
			}
		}
	})
}
