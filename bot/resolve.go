package bot

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// WalletMatcher finds the wallets seen so far whose address starts with prefix ("0x"
// and lowercase hex digits) and ends with suffix (lowercase hex digits), at most
// limit of them. The store implements it; with it, the commands that take an address
// also take the abbreviated form the tables show ("0x2460…b286"), so a wallet seen in
// /leaderboard, /whales or /signals can be looked up or followed as it is shown.
type WalletMatcher interface {
	MatchWallets(ctx context.Context, prefix, suffix string, limit int) ([]string, error)
}

// abbreviated is an address as ShortAddress writes it, "0x2460…b286", also typed with
// "..." or ".." for the ellipsis.
var abbreviated = regexp.MustCompile(`^(0[xX][0-9a-fA-F]{2,})(?:…|\.\.\.?)([0-9a-fA-F]{2,})$`)

// maxMatchesShown is how many candidates an ambiguous abbreviation lists.
const maxMatchesShown = 5

// resolveAddress reads a command's wallet argument: a full address (ParseAddress), or
// an abbreviated one that src, when it is a WalletMatcher, matches to exactly one
// wallet seen so far. The errors that concern what the user typed are UsageErrors.
func resolveAddress(ctx context.Context, src any, arg string) (string, error) {
	addr, perr := ParseAddress(arg)
	if perr == nil {
		return addr, nil
	}
	m := abbreviated.FindStringSubmatch(arg)
	wm, ok := src.(WalletMatcher)
	if m == nil || !ok {
		return "", &UsageError{Reason: capitalize(perr.Error()) + ".", Err: perr}
	}
	prefix, suffix := strings.ToLower(m[1]), strings.ToLower(m[2])
	if len(prefix)-2+len(suffix) >= 40 {
		return "", Usagef("%s has too many hex digits for an abbreviated address: give the whole address, 0x followed by 40 hex digits.", arg)
	}
	found, err := wm.MatchWallets(ctx, prefix, suffix, maxMatchesShown+1)
	if err != nil {
		return "", fmt.Errorf("match %s: %w", arg, err)
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", Usagef("No wallet seen so far matches %s. Give the whole address: 0x followed by 40 hex digits.", arg)
	}
	list := found[:min(len(found), maxMatchesShown)]
	more := ""
	if len(found) > maxMatchesShown {
		more = " and more"
	}
	return "", Usagef("%s matches several wallets seen so far: %s%s. Give the whole address.", arg, strings.Join(list, ", "), more)
}

// lookUpHint tells a table's reader that its abbreviated addresses can be typed as
// shown, with the table's first wallet as the example.
func lookUpHint(wallet string) string {
	return "/wallet " + ShortAddress(wallet) + " looks one up, as shown."
}
