package parse

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/event"
)

func TestDecimal(t *testing.T) {
	long := strings.Repeat("9", event.MaxDecimalDigits)
	tests := map[string]struct {
		s          string
		unsigned   bool
		want       string
		wantReason event.Reason
	}{
		"integer":              {s: "42", want: "42"},
		"fraction":             {s: "1.3189", want: "1.3189"},
		"negative":             {s: "-0.25686", want: "-0.25686"},
		"zero with fraction":   {s: "0.0", want: "0"},
		"max digits":           {s: long, want: long},
		"max digits, point":    {s: long[:50] + "." + long[50:], want: long[:50] + "." + long[50:]},
		"too many digits":      {s: long + "9", wantReason: event.ReasonBadNumber},
		"too many, with point": {s: long[:50] + "." + long[50:] + "1", wantReason: event.ReasonBadNumber},
		"empty":                {s: "", wantReason: event.ReasonMissingField},
		"exponent":             {s: "1e5", wantReason: event.ReasonBadNumber},
		"plus":                 {s: "+1", wantReason: event.ReasonBadNumber},
		"bare minus":           {s: "-", wantReason: event.ReasonBadNumber},
		"leading point":        {s: ".5", wantReason: event.ReasonBadNumber},
		"trailing point":       {s: "5.", wantReason: event.ReasonBadNumber},
		"two points":           {s: "1.2.3", wantReason: event.ReasonBadNumber},
		"space":                {s: " 1", wantReason: event.ReasonBadNumber},
		"NaN":                  {s: "NaN", wantReason: event.ReasonBadNumber},
		"unsigned":             {s: "65000.5", unsigned: true, want: "65000.5"},
		"unsigned, minus":      {s: "-1", unsigned: true, wantReason: event.ReasonBadNumber},
		"unsigned, empty":      {s: "", unsigned: true, wantReason: event.ReasonMissingField},
		"unsigned, exponent":   {s: "6.5e4", unsigned: true, wantReason: event.ReasonBadNumber},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fn := Decimal
			if tc.unsigned {
				fn = UnsignedDecimal
			}
			d, rej := fn("px", tc.s)
			if tc.wantReason != "" {
				if rej == nil || rej.Reason != tc.wantReason || rej.Field != "px" {
					t.Fatalf("%q: got %v, %v; want %s of px", tc.s, d, rej, tc.wantReason)
				}
				return
			}
			if rej != nil {
				t.Fatalf("%q: %v", tc.s, rej)
			}
			if d.String() != tc.want {
				t.Errorf("%q = %s, want %s", tc.s, d, tc.want)
			}
		})
	}
}

func TestOptDecimal(t *testing.T) {
	if d, rej := OptDecimal("fee", nil); rej != nil || d.Valid {
		t.Errorf("nil: %v, %v; want absent", d, rej)
	}
	s := "-0.5"
	if d, rej := OptDecimal("fee", &s); rej != nil || !d.Valid || d.Decimal.String() != "-0.5" {
		t.Errorf("%q: %v, %v", s, d, rej)
	}
	bad := "x"
	if d, rej := OptDecimal("fee", &bad); rej == nil || rej.Reason != event.ReasonBadNumber || rej.Field != "fee" || d.Valid {
		t.Errorf("%q: %v, %v; want bad_number of fee", bad, d, rej)
	}
}

func TestMillis(t *testing.T) {
	tests := map[string]struct {
		n          json.Number
		want       time.Time
		wantReason event.Reason
	}{
		"ms":       {n: "1683245884863", want: time.UnixMilli(1683245884863).UTC()},
		"negative": {n: "-1", want: time.UnixMilli(-1).UTC()},
		"empty":    {n: "", wantReason: event.ReasonMissingField},
		"fraction": {n: "1.5", wantReason: event.ReasonBadTimestamp},
		"overflow": {n: "99999999999999999999", wantReason: event.ReasonBadTimestamp},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ts, rej := Millis("time", tc.n)
			if tc.wantReason != "" {
				if rej == nil || rej.Reason != tc.wantReason || rej.Field != "time" {
					t.Fatalf("%q: got %v, %v; want %s of time", tc.n, ts, rej, tc.wantReason)
				}
				return
			}
			if rej != nil || !ts.Equal(tc.want) || ts.Location() != time.UTC {
				t.Errorf("%q = %v, %v; want %v UTC", tc.n, ts, rej, tc.want)
			}
		})
	}
}

func TestJSONReject(t *testing.T) {
	var v struct {
		Px string `json:"px"`
	}
	typeErr := json.Unmarshal([]byte(`{"px":1}`), &v)
	syntaxErr := json.Unmarshal([]byte(`{"px":`), &v)
	own := Rejectf(event.ReasonFutureTime, "ts", "later than now")
	tests := map[string]struct {
		err        error
		wantReason event.Reason
		wantField  string
	}{
		"type error":      {typeErr, event.ReasonBadType, "px"},
		"syntax error":    {syntaxErr, event.ReasonBadJSON, ""},
		"wrapped reject":  {fmt.Errorf("validate: %w", own), event.ReasonFutureTime, "ts"},
		"any other error": {errors.New("boom"), event.ReasonBadJSON, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rej := JSONReject(tc.err)
			if rej.Reason != tc.wantReason || rej.Field != tc.wantField {
				t.Errorf("JSONReject(%v) = %v, want %s of %q", tc.err, rej, tc.wantReason, tc.wantField)
			}
		})
	}
	if JSONReject(own) != own {
		t.Error("a *event.Reject is not returned as it is")
	}
}

func TestQuoteAndClip(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct{ got, want string }{
		{Quote(`x"y`), `"x\"y"`},
		{Quote(long), `"` + long[:64] + `"...`},
		{Clip("short"), "short"},
		{Clip(long), long[:64] + "..."},
		{Clip(long[:64]), long[:64]},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("case %d: %q, want %q", i, tc.got, tc.want)
		}
	}
	rej := Rejectf(event.ReasonBadSide, "side", "%s is neither B nor A", Quote("C"))
	if rej.Reason != event.ReasonBadSide || rej.Field != "side" || rej.Detail != `"C" is neither B nor A` {
		t.Errorf("Rejectf = %+v", rej)
	}
}
