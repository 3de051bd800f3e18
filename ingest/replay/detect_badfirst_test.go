package replay

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/coattailcapital/coattail/event"
)

func TestMalformedFirstLineStillReadsTheFile(t *testing.T) {
	good := `{"kind":"price","src":"hyperliquid","ts":"2026-02-04T09:34:27.568479Z","symbol":"ETH","price":"2251.4"}`
	for name, body := range map[string]string{
		"events.ndjson": "not json at all\n" + good + "\n",
		"events.txt":    "not json at all\n" + good + "\n",
		"array.txt":     "[1,2,3]\n" + good + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := Open(p, Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer r.Close()
			var ok, bad int
			for {
				rec, more := r.Next()
				if !more {
					break
				}
				var rj *event.Reject
				switch {
				case rec.Err == nil:
					ok++
				case errors.As(rec.Err, &rj) && rj.Reason == event.ReasonBadJSON:
					bad++
				default:
					t.Fatalf("record %d: unexpected error %v", rec.Line, rec.Err)
				}
			}
			if ok != 1 || bad != 1 {
				t.Fatalf("good %d bad %d, want 1 and 1", ok, bad)
			}
		})
	}
}
