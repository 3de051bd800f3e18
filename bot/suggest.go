package bot

import "unicode/utf8"

// suggest picks the candidate the user most likely meant by name, or "" when
// none is close. It prefers the smallest edit distance (with transpositions)
// within a bound that grows with the length of name (ties go to the earlier
// candidate), and otherwise the candidate sharing the longest stem of at least
// three letters ("lead" → "leaderboard"), the closer one among equal stems.
func suggest(name string, candidates []string) string {
	n := utf8.RuneCountInString(name)
	limit := 1
	switch {
	case n > 7:
		limit = 3
	case n > 3:
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		return best
	}
	// Longest shared stem; among equal stems the closest; a full tie is ambiguous.
	bestP, bestD, tie := 3, 0, false
	for _, c := range candidates {
		p := commonPrefix(name, c)
		if p < bestP {
			continue
		}
		d := editDistance(name, c)
		switch {
		case p > bestP || best == "" || d < bestD:
			best, bestP, bestD, tie = c, p, d, false
		case d == bestD:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent runes each cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rolling rows: two back (for swaps), previous, current.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d = min(d, prev2[j-2]+1)
			}
			cur[j] = d
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// commonPrefix counts the leading runes a and b share.
func commonPrefix(a, b string) int {
	n := 0
	for a != "" && b != "" {
		ra, sa := utf8.DecodeRuneInString(a)
		rb, sb := utf8.DecodeRuneInString(b)
		if ra != rb {
			break
		}
		n++
		a, b = a[sa:], b[sb:]
	}
	return n
}
