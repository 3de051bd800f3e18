package eip55

import (
	"strings"
	"testing"
)

// EIP-55's own test vectors: each is the checksummed form of its lower case.
var vectors = []string{
	"0x52908400098527886E0F7030069857D2E4169EE7", // checksum is all upper case
	"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
	"0xde709f2102306220921060314715629080e2fb77", // checksum is all lower case
	"0x27b1fdb04752bbc536007a920d24acb045561c26",
	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
}

func TestChecksumVectors(t *testing.T) {
	for _, v := range vectors {
		for _, in := range []string{v, strings.ToLower(v), "0x" + strings.ToUpper(v[2:])} {
			if got := Checksum(in); got != v {
				t.Errorf("Checksum(%s) = %s, want %s", in, got, v)
			}
		}
		if !Valid(v) {
			t.Errorf("Valid(%s) = false for an EIP-55 vector", v)
		}
	}
}

// flipCase swaps the case of the letter at i.
func flipCase(s string, i int) string {
	b := []byte(s)
	switch c := b[i]; {
	case c >= 'a' && c <= 'f':
		b[i] = c - 'a' + 'A'
	case c >= 'A' && c <= 'F':
		b[i] = c - 'A' + 'a'
	}
	return string(b)
}

func TestValidRejectsEveryFlippedLetter(t *testing.T) {
	flipped := 0
	for _, v := range vectors {
		for i := 2; i < len(v); i++ {
			bad := flipCase(v, i)
			if bad == v {
				continue // a digit
			}
			if !MixedCase(bad) {
				continue // flipping the only odd letter out leaves one case: no checksum claimed
			}
			flipped++
			if Valid(bad) {
				t.Errorf("Valid(%s) = true, one letter off the checksum %s", bad, v)
			}
		}
	}
	if flipped < 100 {
		t.Fatalf("only %d letters flipped", flipped)
	}
}

func TestValidOneCase(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		mixed      bool
	}{
		{"all lower", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", false},
		{"all upper", "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", false},
		{"digits only", "0x1111111111111111111111111111111111111111", false},
		{"capital X, lower digits", "0X5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", false},
		{"checksummed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", true},
	} {
		if got := MixedCase(tc.addr); got != tc.mixed {
			t.Errorf("%s: MixedCase(%s) = %v, want %v", tc.name, tc.addr, got, tc.mixed)
		}
		if !Valid(tc.addr) {
			t.Errorf("%s: Valid(%s) = false", tc.name, tc.addr)
		}
	}
}

func BenchmarkValidMixed(b *testing.B) {
	for b.Loop() {
		if !Valid("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed") {
			b.Fatal("invalid")
		}
	}
}
