package bot

import (
	"github.com/coattailcapital/coattail/eip55"
)

// Address errors, matched with errors.Is (the same values as eip55's).
var (
	// ErrBadAddress: the text is not 0x followed by 40 hex digits.
	ErrBadAddress = eip55.ErrBadAddress
	// ErrBadChecksum: a mixed-case address whose letter case does not match its
	// EIP-55 checksum, which usually means a typo.
	ErrBadChecksum = eip55.ErrBadChecksum
)

// ParseAddress validates an EVM wallet address and returns it in lowercase, the
// form the store uses (eip55.Parse: one case as is, mixed case only with a valid
// checksum). The error messages are written for the user who typed s.
func ParseAddress(s string) (string, error) { return eip55.Parse(s) }

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
