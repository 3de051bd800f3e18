package bot

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzSettings: /settings <name> <values...> either changes the settings to values
// the alert fan-out can use (a finite non-negative minimum, known sides and rules,
// upper-case coins, quiet hours of the day, a mute within 30 days), or is refused with
// a usage reason for the user and leaves nothing half-applied that the checks below
// would catch.
func FuzzSettings(f *testing.F) {
	for _, s := range [][2]string{
		{"min", "50000"}, {"min", "$1,000"}, {"min", "-1"}, {"min", "nan"}, {"min", "1e13"}, {"min", "0x10"},
		{"sides", "long short"}, {"sides", "all"}, {"sides", "up"}, {"coins", "btc, eth"}, {"coins", "a/b"},
		{"alerts", "alpha_move consensus"}, {"alerts", "none"}, {"quiet", "22-07"}, {"quiet", "22:00-07:00"},
		{"quiet", "7-7"}, {"quiet", "24-01"}, {"quiet", "+1-2"}, {"digest", "on"}, {"digest", "maybe"},
		{"mute", "8h"}, {"mute", "721h"}, {"mute", "-1h"}, {"mute", "off"}, {"volume", "11"}, {"MIN", "1 2"},
	} {
		f.Add(s[0], s[1])
	}
	now := time.Date(2026, 2, 4, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name, args string) {
		vals := strings.Fields(args)
		if len(vals) == 0 {
			return // handleSettings answers a bare name with usage before parsing
		}
		var s AlertSettings
		err := applySetting(&s, strings.ToLower(name), vals, now)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || strings.TrimSpace(ue.Reason) == "" {
				t.Fatalf("refusal %v is not a usage error with a reason", err)
			}
			return
		}
		if math.IsNaN(s.MinUSD) || math.IsInf(s.MinUSD, 0) || s.MinUSD < 0 || s.MinUSD > 1e12 {
			t.Fatalf("accepted minimum %v", s.MinUSD)
		}
		for _, v := range s.Sides {
			if !slices.Contains(validSides, v) {
				t.Fatalf("accepted side %q", v)
			}
		}
		for _, v := range s.Rules {
			if !slices.Contains(validRules, v) {
				t.Fatalf("accepted rule %q", v)
			}
		}
		for _, c := range s.Coins {
			if c == "" || c != strings.ToUpper(c) || len(c) > 20 || strings.ContainsAny(c, " \t/\\") {
				t.Fatalf("accepted coin %q", c)
			}
		}
		if s.Quiet && (s.QuietFrom < 0 || s.QuietFrom > 23 || s.QuietTo < 0 || s.QuietTo > 23 || s.QuietFrom == s.QuietTo) {
			t.Fatalf("accepted quiet hours %d-%d", s.QuietFrom, s.QuietTo)
		}
		if !s.MutedUntil.IsZero() && (!s.MutedUntil.After(now) || s.MutedUntil.Sub(now) > 30*24*time.Hour) {
			t.Fatalf("accepted mute until %v", s.MutedUntil)
		}
		if describeSettings(s, now) == "" {
			t.Fatal("accepted settings describe as nothing")
		}
		// Applying the same command again gives the same settings.
		var again AlertSettings
		if err := applySetting(&again, strings.ToLower(name), vals, now); err != nil || !equalSettings(s, again) {
			t.Fatalf("not deterministic: %+v then %+v (%v)", s, again, err)
		}
	})
}

func equalSettings(a, b AlertSettings) bool {
	return a.MinUSD == b.MinUSD && slices.Equal(a.Sides, b.Sides) && slices.Equal(a.Coins, b.Coins) &&
		slices.Equal(a.Rules, b.Rules) && a.Quiet == b.Quiet && a.QuietFrom == b.QuietFrom && a.QuietTo == b.QuietTo &&
		a.Digest == b.Digest && a.MutedUntil.Equal(b.MutedUntil)
}
