package bot

import (
	"errors"
	"fmt"

	"github.com/coattailcapital/coattail/eip55"
)

// Address errors, matched with errors.Is.
var (
	// ErrBadAddress: the text is not 0x followed by 40 hex digits.
	ErrBadAddress = errors.New("not a wallet address")
	// ErrBadChecksum: a mixed-case address whose letter case does not match its
	// EIP-55 checksum, which usually means a typo.
	ErrBadChecksum = errors.New("bad EIP-55 checksum")
)

// ParseAddress validates an EVM wallet address and returns it in lowercase, the
// form the store uses. An address in one case (all lower or all upper) is taken
// as is; a mixed-case one must carry a valid EIP-55 checksum. The error messages
// are written for the user who typed s.
func ParseAddress(s string) (string, error) {
	if len(s) != 42 || s[0] != '0' || s[1] != 'x' {
		return "", fmt.Errorf("%q is %w: want 0x followed by 40 hex digits", truncate(s, 50), ErrBadAddress)
	}
	var buf [42]byte
	buf[0], buf[1] = '0', 'x'
	hasLower, hasUpper := false, false
	for i := 2; i < 42; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f':
			hasLower = true
		case c >= 'A' && c <= 'F':
			hasUpper = true
			c += 'a' - 'A'
		default:
			return "", fmt.Errorf("%q is %w: after 0x only the hex digits 0-9 and a-f may follow", truncate(s, 50), ErrBadAddress)
		}
		buf[i] = c
	}
	lower := string(buf[:])
	if hasLower && hasUpper && eip55.Checksum(lower) != s {
		return "", fmt.Errorf("%s has a %w: the upper/lower case of its letters does not match, so it may be mistyped; check it and paste it again", s, ErrBadChecksum)
	}
	return lower, nil
}

// ChecksumAddress returns the EIP-55 mixed-case form of a valid address, in any case.
func ChecksumAddress(addr string) (string, error) {
	lower, err := ParseAddress(addr)
	if err != nil {
		return "", err
	}
	return eip55.Checksum(lower), nil
}

// ShortAddress abbreviates an address for tables: "0x51f6…2b39".
func ShortAddress(a string) string {
	if len(a) <= 12 {
		return a
	}
	return a[:6] + "…" + a[len(a)-4:]
}
