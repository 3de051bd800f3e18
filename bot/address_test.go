package bot

import (
	"errors"
	"strings"
	"testing"
)

func TestChecksumAddressVectors(t *testing.T) {
	// EIP-55's own test vectors: each is the checksummed form of its lowercase.
	eip55Vectors := []string{
		"0x52908400098527886E0F7030069857D2E4169EE7", // checksum is all upper case
		"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
		"0xde709f2102306220921060314715629080e2fb77", // checksum is all lower case
		"0x27b1fdb04752bbc536007a920d24acb045561c26",
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	}
	for _, v := range eip55Vectors {
		got, err := ChecksumAddress(strings.ToLower(v))
		if err != nil || got != v {
			t.Errorf("ChecksumAddress(%s) = %s, %v; want %s", strings.ToLower(v), got, err, v)
		}
		lower, err := ParseAddress(v)
		if err != nil || lower != strings.ToLower(v) {
			t.Errorf("ParseAddress(%s) = %s, %v", v, lower, err)
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

func TestParseAddressRejectsEveryFlippedLetter(t *testing.T) {
	v := "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	flipped := 0
	for i := 2; i < len(v); i++ {
		bad := flipCase(v, i)
		if bad == v {
			continue // a digit
		}
		flipped++
		if _, err := ParseAddress(bad); !errors.Is(err, ErrBadChecksum) {
			t.Errorf("ParseAddress(%s) error = %v, want ErrBadChecksum", bad, err)
		}
	}
	if flipped < 10 {
		t.Fatalf("only %d letters flipped", flipped)
	}
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{"lower", "0x51f63885534cb494f4592a0311551f369bff2b39", "0x51f63885534cb494f4592a0311551f369bff2b39", nil},
		{"upper", "0x51F63885534CB494F4592A0311551F369BFF2B39", "0x51f63885534cb494f4592a0311551f369bff2b39", nil},
		{"checksummed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", nil},
		{"bad checksum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "", ErrBadChecksum},
		{"empty", "", "", ErrBadAddress},
		{"no prefix", "51f63885534cb494f4592a0311551f369bff2b39", "", ErrBadAddress},
		{"capital X", "0X51f63885534cb494f4592a0311551f369bff2b39", "", ErrBadAddress},
		{"short", "0x51f63885534cb494f4592a0311551f369bff2b3", "", ErrBadAddress},
		{"long", "0x51f63885534cb494f4592a0311551f369bff2b390", "", ErrBadAddress},
		{"non-hex", "0x51f63885534cb494f4592a0311551f369bff2b3g", "", ErrBadAddress},
		{"multibyte", "0x51f63885534cb494f4592a0311551f369bff2é", "", ErrBadAddress},
		{"transaction hash", "0x" + strings.Repeat("ab", 32), "", ErrBadAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAddress(tt.in)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("ParseAddress(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestShortAddress(t *testing.T) {
	for in, want := range map[string]string{
		"0x51f63885534cb494f4592a0311551f369bff2b39": "0x51f6…2b39",
		"0x1234":       "0x1234",
		"0x1234567890": "0x1234567890",
	} {
		if got := ShortAddress(in); got != want {
			t.Errorf("ShortAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkParseAddressChecksummed(b *testing.B) {
	for b.Loop() {
		if _, err := ParseAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"); err != nil {
			b.Fatal(err)
		}
	}
}
