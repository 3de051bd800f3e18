package bot

import "testing"

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "help", 4},
		{"help", "help", 0},
		{"hlep", "help", 1},    // swap
		{"walet", "wallet", 1}, // insertion
		{"wallets", "wallet", 1},
		{"leaderbord", "leaderboard", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // OSA, not full Damerau (which gives 2)
		{"wälet", "wallet", 2},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (symmetry)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"start", "help", "leaderboard", "wallet", "follow", "following", "unfollow", "whales", "signals", "settings"}
	tests := map[string]string{
		"strat":       "start",
		"halp":        "help",
		"hlp":         "help",
		"leaderbaord": "leaderboard",
		"lead":        "leaderboard",
		"leaders":     "leaderboard",
		"walet":       "wallet",
		"wallets":     "wallet",
		"folow":       "follow",
		"followin":    "following",
		"unfolow":     "unfollow",
		"whale":       "whales",
		"signal":      "signals",
		"seting":      "settings",
		"x":           "",
		"hi":          "",
		"xyzzy":       "",
		"s":           "",
		"se":          "",
		"wal":         "wallet",
		"wha":         "whales",
	}
	for in, want := range tests {
		if got := suggest(in, cands); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if got := suggest("fol", []string{"follow", "following"}); got != "follow" {
		t.Errorf("tie by distance goes to the earlier candidate, got %q", got)
	}
	if got := suggest("sett", []string{"settle", "settings"}); got != "settle" {
		t.Errorf("closest by distance wins, got %q", got)
	}
	if got := suggest("abcdefgh", []string{"abcdxxxxxx", "abcdyyyyyy"}); got != "" {
		t.Errorf("tied stems suggest nothing, got %q", got)
	}
}
