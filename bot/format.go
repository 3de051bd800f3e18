package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// groupThousands puts commas between groups of three in a string of digits.
func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	b.Grow(len(digits) + len(digits)/3)
	head := len(digits) % 3
	if head == 0 {
		head = 3
	}
	b.WriteString(digits[:head])
	for i := head; i < len(digits); i += 3 {
		b.WriteByte(',')
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// absFixed renders |d| rounded to places decimals, with thousands separators.
func absFixed(d decimal.Decimal, places int32) string {
	whole, frac, _ := strings.Cut(d.Abs().StringFixed(places), ".")
	if frac == "" {
		return groupThousands(whole)
	}
	return groupThousands(whole) + "." + frac
}

// signedUSD renders a PnL: "+$1,234.57", "-$87.00", "$0.00". The sign is that of
// the rounded value, so a tiny loss does not show as "-$0.00".
func signedUSD(d decimal.Decimal, places int32) string {
	r := d.Round(places)
	body := "$" + absFixed(r, places)
	switch r.Sign() {
	case 1:
		return "+" + body
	case -1:
		return "-" + body
	}
	return body
}

// plainUSD renders an amount that is normally positive (fees): "$456.78";
// negative values keep their sign ("-$1.20", a rebate).
func plainUSD(d decimal.Decimal, places int32) string {
	r := d.Round(places)
	if r.Sign() < 0 {
		return "-$" + absFixed(r, places)
	}
	return "$" + absFixed(r, places)
}

// quantity renders an unsigned size or price compactly: two decimals from 1,000
// up, four from 1 up, six significant digits below 1, trailing zeros dropped.
func quantity(d decimal.Decimal) string {
	a := d.Abs()
	if a.IsZero() {
		return "0"
	}
	var places int32
	switch {
	case a.Cmp(decimal.NewFromInt(1000)) >= 0:
		places = 2
	case a.Cmp(decimal.NewFromInt(1)) >= 0:
		places = 4
	default:
		// a = coefficient × 10^exp; its leading digit is at 10^(digits+exp-1).
		lead := int32(a.NumDigits()) + a.Exponent() - 1
		places = min(5-lead, 18)
	}
	s := absFixed(a.Round(places), places)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "" || s == "0" {
		return "0"
	}
	return s
}

// count renders an integer with thousands separators: "-1,234".
func count(n int64) string {
	if n < 0 {
		// -n overflows for MinInt64; format via the unsigned value.
		return "-" + groupThousands(fmt.Sprint(uint64(-(n+1))+1))
	}
	return groupThousands(fmt.Sprint(n))
}

// ago renders how long before now t was: "just now", "5m ago", "3h ago", "2d ago".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	}
}

// truncate cuts user input echoed back in a reply to at most n runes.
func truncate(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}
