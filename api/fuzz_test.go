package api

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/coattail/bot"
	"github.com/coattailcapital/coattail/paper"
)

// FuzzQueryParams: every GET query the API parses is either accepted with values the
// store can run (limits in range, known kinds, windows, intervals, checks and scopes)
// or refused with a message for the caller. Nothing reaches the database here.
func FuzzQueryParams(f *testing.F) {
	for _, s := range []string{"", "limit=5", "limit=0", "limit=1001", "limit=-1", "limit=1e3",
		"symbol=ETH-USDT&kind=large_trade&since=2026-01-01T00:00:00Z", "kind=whale", "since=24h", "since=-5m", "since=yesterday",
		"token=USDT&exchange=binance&window=1h", "window=5m", "symbol=ETH-USDT&interval=1h&venue=binance", "interval=1d",
		"scope=telegram:7", "scope=telegram:", "scope=global", "scope=irc:1", "rejected=true&check=coin_cooldown",
		"rejected=maybe", "check=vibes", "wallet=0x51f63885534cb494f4592a0311551f369bff2b39&since=3&coin=ETH&rule=consensus",
		"wallet=0x12", "since=-1", "%zz", "limit=5&limit=7"} {
		f.Add(s)
	}
	now := time.Date(2026, 2, 4, 10, 0, 0, 0, time.UTC)
	refused := func(t *testing.T, what string, err error) {
		t.Helper()
		var qe queryError
		if !errors.As(err, &qe) || strings.TrimSpace(qe.msg) == "" {
			t.Fatalf("%s: refusal %v is not a queryError with a message", what, err)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return // net/http answers such a query before a handler sees it as values
		}
		if q, err := parseAnomalyQuery(v, now); err != nil {
			refused(t, "anomalies", err)
		} else if q.Limit < 1 || q.Limit > 1000 || (q.Kind != "" && !slices.Contains(anomalyKinds, q.Kind)) || (strings.TrimSpace(v.Get("since")) == "" && !q.Since.IsZero()) {
			t.Fatalf("anomalies accepted %+v from %q", q, raw)
		}
		if q, err := parseFlowQuery(v, now); err != nil {
			refused(t, "flows", err)
		} else if q.Limit < 1 || q.Limit > 1000 || !slices.Contains([]string{"", "1h", "1d"}, q.Window) {
			t.Fatalf("flows accepted %+v from %q", q, raw)
		}
		if q, err := parseBarQuery(v); err != nil {
			refused(t, "bars", err)
		} else if q.Symbol == "" || q.Limit < 1 || q.Limit > 1000 || !slices.Contains([]string{"1m", "5m", "1h"}, q.Interval) {
			t.Fatalf("bars accepted %+v from %q", q, raw)
		}
		if scope, limit, err := parsePaperQuery(v); err != nil {
			refused(t, "paper", err)
		} else if limit < 1 || limit > 1000 || (scope != "" && paper.ValidScope(scope) != nil) {
			t.Fatalf("paper accepted scope %q limit %d from %q", scope, limit, raw)
		}
		if q, err := parseDecisionQuery(v); err != nil {
			refused(t, "decisions", err)
		} else if q.Limit < 1 || q.Limit > 1000 || (q.Check != "" && !slices.Contains(riskChecks, q.Check)) ||
			(q.Scope != "" && paper.ValidScope(q.Scope) != nil) {
			t.Fatalf("decisions accepted %+v from %q", q, raw)
		}
	})
}

// FuzzFollowRequest: a POST /api/follows body is accepted with a wallet that is a
// lowercase address and a label /follow would store, and the accepted pair encodes
// back to a body that parses to the same pair; a refused body gets a message.
func FuzzFollowRequest(f *testing.F) {
	for _, s := range []string{`{"wallet":"0x51f63885534cb494f4592a0311551f369bff2b39","label":"top"}`,
		`{"wallet":"0x51F63885534CB494F4592A0311551F369BFF2B39"}`, `{"wallet":" 0x51f63885534cb494f4592a0311551f369bff2b39 ","label":" a b "}`,
		`{"wallet":1}`, `{"wallet":"0x12"}`, `{"wallet":"0x51f63885534cb494f4592a0311551f369bff2b39","label":"` + strings.Repeat("x", 200) + `"}`,
		`{"wallet":"0x51f63885534cb494f4592a0311551f369bff2b39","extra":1}`, `{"wallet":"0x51f63885534cb494f4592a0311551f369bff2b39","label":"\u0000"}`,
		`null`, `[]`, ``, `{"wallet":"0x51f63885534cb494f4592a0311551f369bff2b39"}{"x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		addr, label, err := parseFollowRequest(strings.NewReader(string(body)))
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("a refusal without a message")
			}
			return
		}
		if again, err := bot.ParseAddress(addr); err != nil || again != addr || addr != strings.ToLower(addr) {
			t.Fatalf("accepted wallet %q (%q, %v)", addr, again, err)
		}
		if again, err := bot.ParseLabel(label); err != nil || again != label {
			t.Fatalf("accepted label %q reads back as %q (%v)", label, again, err)
		}
		enc, err := json.Marshal(followRequest{Wallet: addr, Label: label})
		if err != nil {
			t.Fatal(err)
		}
		a2, l2, err := parseFollowRequest(strings.NewReader(string(enc)))
		if err != nil || a2 != addr || l2 != label {
			t.Fatalf("%s parses to %q %q (%v), want %q %q", enc, a2, l2, err, addr, label)
		}
	})
}
