package bot

import (
	"math"
	"testing"
	"time"
)

func TestSignedUSD(t *testing.T) {
	tests := []struct {
		in     string
		places int32
		want   string
	}{
		{"0", 0, "$0"},
		{"0", 2, "$0.00"},
		{"1234567.891", 0, "+$1,234,568"},
		{"1234567.891", 2, "+$1,234,567.89"},
		{"-87", 2, "-$87.00"},
		{"-0.004", 2, "$0.00"}, // rounds to zero: no sign
		{"-0.005", 2, "-$0.01"},
		{"999.5", 0, "+$1,000"},
		{"-100000", 0, "-$100,000"},
		{"12", 0, "+$12"},
	}
	for _, tt := range tests {
		if got := signedUSD(dec(tt.in), tt.places); got != tt.want {
			t.Errorf("signedUSD(%s, %d) = %q, want %q", tt.in, tt.places, got, tt.want)
		}
	}
}

func TestPlainUSD(t *testing.T) {
	for in, want := range map[string]string{"456.784": "$456.78", "0": "$0.00", "-1.2": "-$1.20", "1000000": "$1,000,000.00"} {
		if got := plainUSD(dec(in), 2); got != want {
			t.Errorf("plainUSD(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestQuantity(t *testing.T) {
	tests := map[string]string{
		"0":                        "0",
		"-12.5":                    "12.5",
		"67321.5":                  "67,321.5",
		"67321.456":                "67,321.46",
		"1000":                     "1,000",
		"1.23456789":               "1.2346",
		"1":                        "1",
		"0.75":                     "0.75",
		"0.0000123456789":          "0.0000123457",
		"0.123456789":              "0.123457",
		"15000000":                 "15,000,000",
		"0.00000000000001":         "0.00000000000001",
		"0.0000000000000000000001": "0", // below 18 places
	}
	for in, want := range tests {
		if got := quantity(dec(in)); got != want {
			t.Errorf("quantity(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestCountAndGrouping(t *testing.T) {
	tests := map[int64]string{
		0: "0", 7: "7", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567",
		-1234: "-1,234", math.MaxInt64: "9,223,372,036,854,775,807", math.MinInt64: "-9,223,372,036,854,775,808",
	}
	for in, want := range tests {
		if got := count(in); got != want {
			t.Errorf("count(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "just now"},
		{30 * time.Second, "just now"},
		{5 * time.Minute, "5m ago"},
		{3*time.Hour + 59*time.Minute, "3h ago"},
		{47 * time.Hour, "47h ago"},
		{72 * time.Hour, "3d ago"},
	}
	for _, tt := range tests {
		if got := ago(t0, t0.Add(-tt.d)); got != tt.want {
			t.Errorf("ago(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"héllo", 2, "hé…"},
		{"", 0, ""},
	} {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
