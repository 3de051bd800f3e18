package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AlertSettings are one user's alert preferences. The zero value is the default:
// every size, side and coin, no quiet hours, no digest, alerts only for followed
// wallets.
type AlertSettings struct {
	MinUSD float64
	Sides  []string // long, short, buy, sell, in, out; empty: all
	Coins  []string // upper case; empty: all
	// Rules are signal rules received for every wallet, not only followed ones:
	// alpha_move, consensus, exchange_flow, anomaly.
	Rules []string
	// Quiet hours in UTC: alerts that would arrive in [QuietFrom, QuietTo) are
	// held until QuietTo. Quiet is false when there are none.
	Quiet              bool
	QuietFrom, QuietTo int
	// Digest batches alerts into one message per digest period.
	Digest bool
	// MutedUntil: no alerts at all before this time (the alert's Mute button).
	MutedUntil time.Time
}

// ErrUnknownSetting is returned by a SettingsStore for a setting name it does not know.
var ErrUnknownSetting = errors.New("unknown setting")

// SettingsStore persists users' alert settings.
type SettingsStore interface {
	Settings(ctx context.Context, platform, userID string) (AlertSettings, error)
	SaveSettings(ctx context.Context, platform, userID string, s AlertSettings) error
}

var (
	validSides = []string{"long", "short", "buy", "sell", "in", "out"}
	validRules = []string{"followed_move", "alpha_move", "consensus", "exchange_flow", "anomaly"}
)

// RegisterSettings adds /settings, backed by ss.
func RegisterSettings(r *Router, ss SettingsStore) {
	if ss == nil {
		panic("bot: RegisterSettings needs a SettingsStore")
	}
	r.Register(Command{
		Name:    "settings",
		Args:    "[name value]",
		Summary: "your alert filters: minimum size, sides, coins, quiet hours, digest",
		Example: "/settings min 50000",
		MaxArgs: -1,
		Handler: func(ctx context.Context, c Call) (Reply, error) { return handleSettings(ctx, ss, c) },
	})
}

const settingsHelp = "Change one with /settings <name> <value>:\n" +
	"/settings min 50000 — only moves of at least $50,000 (0: any size)\n" +
	"/settings sides long short — only these sides (all: every side)\n" +
	"/settings coins BTC ETH — only these coins (all: every coin)\n" +
	"/settings alerts alpha_move consensus — also these signals for every wallet (none: only followed wallets)\n" +
	"/settings quiet 22-07 — hold alerts from 22:00 to 07:00 UTC (off: none)\n" +
	"/settings digest on — one summary message per hour instead of each alert\n" +
	"/settings mute 8h — no alerts for a while (off: unmute)"

func handleSettings(ctx context.Context, ss SettingsStore, c Call) (Reply, error) {
	if c.UserID == "" {
		return Reply{}, errors.New("settings: request has no user id")
	}
	s, err := ss.Settings(ctx, c.Platform, c.UserID)
	if err != nil {
		return Reply{}, fmt.Errorf("settings: %w", err)
	}
	if len(c.Args) == 0 {
		return Reply{Title: "Your alert settings", Text: describeSettings(s, c.Now), Footer: settingsHelp}, nil
	}
	name, vals := strings.ToLower(c.Args[0]), c.Args[1:]
	if len(vals) == 0 {
		return Reply{}, Usagef("/settings %s needs a value.\n%s", truncate(name, 20), settingsHelp)
	}
	if err := applySetting(&s, name, vals, c.Now); err != nil {
		return Reply{}, err
	}
	if err := ss.SaveSettings(ctx, c.Platform, c.UserID, s); err != nil {
		return Reply{}, fmt.Errorf("save settings: %w", err)
	}
	return Reply{Title: "Saved", Text: describeSettings(s, c.Now)}, nil
}

func applySetting(s *AlertSettings, name string, vals []string, now time.Time) error {
	one := strings.ToLower(vals[0])
	all := one == "all" || one == "any" || one == "none" || one == "off"
	switch name {
	case "min", "min_usd", "minimum":
		v, err := strconv.ParseFloat(strings.NewReplacer("$", "", ",", "", "_", "").Replace(one), 64)
		// Written as a range check that NaN ("nan" parses) fails too: a NaN minimum
		// would silently match no alert at all.
		if err != nil || !(v >= 0 && v <= 1e12) || len(vals) > 1 {
			return Usagef("The minimum is a dollar amount such as 50000 (0 for any size).")
		}
		s.MinUSD = v
	case "sides", "side":
		if all {
			s.Sides = nil
			return nil
		}
		out, err := pick(vals, validSides, strings.ToLower, "side")
		if err != nil {
			return err
		}
		s.Sides = out
	case "coins", "coin":
		if all {
			s.Coins = nil
			return nil
		}
		var out []string
		for _, v := range vals {
			v = strings.ToUpper(strings.Trim(v, ","))
			if v == "" || len(v) > 20 || strings.ContainsAny(v, " \t/\\") {
				return Usagef("%q is not a coin symbol; try /settings coins BTC ETH.", truncate(v, 20))
			}
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		s.Coins = out
	case "alerts", "rules":
		if all {
			s.Rules = nil
			return nil
		}
		out, err := pick(vals, validRules, strings.ToLower, "alert kind")
		if err != nil {
			return err
		}
		s.Rules = out
	case "quiet":
		if all {
			s.Quiet = false
			s.QuietFrom, s.QuietTo = 0, 0
			return nil
		}
		from, to, ok := parseHours(one)
		if !ok || len(vals) > 1 {
			return Usagef("Quiet hours are HH-HH in UTC, such as 22-07 (off: none).")
		}
		s.Quiet, s.QuietFrom, s.QuietTo = true, from, to
	case "digest":
		switch one {
		case "on", "yes", "true":
			s.Digest = true
		case "off", "no", "false":
			s.Digest = false
		default:
			return Usagef("Digest is on or off.")
		}
	case "mute":
		if all {
			s.MutedUntil = time.Time{}
			return nil
		}
		d, err := time.ParseDuration(one)
		if err != nil || d <= 0 || d > 30*24*time.Hour {
			return Usagef("Mute for a duration such as 30m, 8h or 72h (at most 720h); off unmutes.")
		}
		s.MutedUntil = now.Add(d).UTC()
	default:
		return Usagef("Unknown setting %q.\n%s", truncate(name, 20), settingsHelp)
	}
	return nil
}

func pick(vals, valid []string, norm func(string) string, what string) ([]string, error) {
	var out []string
	for _, v := range vals {
		v = norm(strings.Trim(v, ","))
		if !slices.Contains(valid, v) {
			return nil, Usagef("Unknown %s %q; choose from: %s.", what, truncate(v, 20), strings.Join(valid, ", "))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// parseHours reads "22-07" (or "22:00-07:00"): two distinct hours of the day.
func parseHours(s string) (from, to int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	hour := func(x string) (int, bool) {
		x = strings.TrimSuffix(x, ":00")
		n, err := strconv.Atoi(x)
		return n, err == nil && n >= 0 && n <= 23 && len(x) <= 2
	}
	from, ok1 := hour(a)
	to, ok2 := hour(b)
	return from, to, ok1 && ok2 && from != to
}

func describeSettings(s AlertSettings, now time.Time) string {
	list := func(v []string, none string) string {
		if len(v) == 0 {
			return none
		}
		return strings.Join(v, ", ")
	}
	minUSD := "any size"
	if s.MinUSD > 0 {
		minUSD = "$" + groupThousands(strconv.FormatFloat(s.MinUSD, 'f', 0, 64))
	}
	quiet := "off"
	if s.Quiet {
		quiet = fmt.Sprintf("%02d:00–%02d:00 UTC", s.QuietFrom, s.QuietTo)
	}
	digest := "off"
	if s.Digest {
		digest = "on (one summary per hour)"
	}
	lines := []string{
		"Minimum size: " + minUSD,
		"Sides: " + list(s.Sides, "all"),
		"Coins: " + list(s.Coins, "all"),
		"Alerts for every wallet: " + list(s.Rules, "none (only wallets you follow)"),
		"Quiet hours: " + quiet,
		"Digest: " + digest,
	}
	if s.MutedUntil.After(now) {
		lines = append(lines, "Muted until "+s.MutedUntil.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return strings.Join(lines, "\n")
}
