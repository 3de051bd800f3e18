// Package eip55 is the EIP-55 mixed-case checksum of EVM addresses: a hex letter of
// the address is upper case exactly when the matching nibble of Keccak-256 of the
// lower-case hex digits is 8 or more. An address written in one case carries no
// checksum; a mixed-case one that does not match its checksum was probably mistyped.
package eip55

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/sha3"
)

// Checksum returns the EIP-55 form of addr. addr must be an address: "0x" and 40 hex
// digits, in any case (the caller checks); the result keeps addr's first two bytes.
func Checksum(addr string) string {
	var out [42]byte
	copy(out[:], addr)
	for i := 2; i < 42; i++ {
		if c := out[i]; c >= 'A' && c <= 'F' {
			out[i] = c + 'a' - 'A'
		}
	}
	sum := hashDigits(out[2:])
	for i := 2; i < 42; i++ {
		if out[i] >= 'a' && nibble(&sum, i-2) >= 8 {
			out[i] -= 'a' - 'A'
		}
	}
	return string(out[:])
}

// MixedCase reports whether the hex letters of addr (after its first two bytes) hold
// both lower- and upper-case ones, i.e. whether addr claims to carry a checksum.
func MixedCase(addr string) bool {
	lower, upper := false, false
	for i := 2; i < len(addr); i++ {
		switch c := addr[i]; {
		case c >= 'a' && c <= 'f':
			lower = true
		case c >= 'A' && c <= 'F':
			upper = true
		}
	}
	return lower && upper
}

// Valid reports whether the letter case of addr is acceptable: all lower, all upper,
// or exactly its EIP-55 checksum. addr must be an address ("0x" and 40 hex digits, in
// any case; the caller checks); only mixed-case input is hashed.
func Valid(addr string) bool {
	if !MixedCase(addr) {
		return true
	}
	var lower [40]byte
	copy(lower[:], addr[2:])
	for i, c := range lower {
		if c >= 'A' && c <= 'F' {
			lower[i] = c + 'a' - 'A'
		}
	}
	sum := hashDigits(lower[:])
	for i := 0; i < 40; i++ {
		c := addr[2+i]
		if c < 'A' { // a digit: no case
			continue
		}
		if wantUpper := nibble(&sum, i) >= 8; wantUpper != (c <= 'F') {
			return false
		}
	}
	return true
}

// hashDigits is Keccak-256 (the legacy padding Ethereum uses) of the lower-case digits.
func hashDigits(digits []byte) [32]byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(digits)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// nibble returns the i-th 4-bit nibble of sum, high nibble first.
func nibble(sum *[32]byte, i int) byte {
	b := sum[i/2]
	if i%2 == 0 {
		return b >> 4
	}
	return b & 0xf
}

// Address errors, matched with errors.Is.
var (
	// ErrBadAddress: the text is not 0x followed by 40 hex digits.
	ErrBadAddress = errors.New("not a wallet address")
	// ErrBadChecksum: a mixed-case address whose letter case does not match its
	// EIP-55 checksum, which usually means a typo.
	ErrBadChecksum = errors.New("bad EIP-55 checksum")
)

// Parse validates an EVM address as people type it and returns it in lowercase, the
// form the store keys by. An address in one case (all lower or all upper) is taken as
// is; a mixed-case one must carry a valid EIP-55 checksum. The error messages are
// written for the person who typed s. Every entry point (chat, CLI, API) uses it, so an
// address is accepted or refused the same way everywhere.
func Parse(s string) (string, error) {
	if len(s) != 42 || s[0] != '0' || s[1] != 'x' {
		return "", fmt.Errorf("%q is %w: want 0x followed by 40 hex digits", clip(s, 50), ErrBadAddress)
	}
	var buf [42]byte
	buf[0], buf[1] = '0', 'x'
	for i := 2; i < 42; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		default:
			return "", fmt.Errorf("%q is %w: after 0x only the hex digits 0-9 and a-f may follow", clip(s, 50), ErrBadAddress)
		}
		buf[i] = c
	}
	if !Valid(s) {
		return "", fmt.Errorf("%s has a %w: the upper/lower case of its letters does not match, so it may be mistyped; check it and paste it again", s, ErrBadChecksum)
	}
	return string(buf[:]), nil
}

// clip shortens s to at most n bytes for an error message, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
