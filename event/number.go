package event

import (
	"math/big"
	"strconv"

	"github.com/shopspring/decimal"
)

// MaxDecimalDigits bounds every decimal: at most this many digits in the string as
// given (sign and point not counted) and in its canonical plain form. A uint256 has 78
// digits, so any token amount fits.
const MaxDecimalDigits = 100

// maxExponentDigits bounds the exponent of the scientific form ("1e-05"): 1 to 3 digits,
// and the value's plain form must still fit MaxDecimalDigits.
const maxExponentDigits = 3

// parseDecimal parses a decimal string of the interchange format:
//
//	-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?
//
// No '+', no leading or trailing point, no spaces, no NaN/Inf. It returns the value with
// fractional trailing zeros dropped, or a detail for a bad_number rejection. It never
// goes through float64.
func parseDecimal(s []byte) (decimal.Decimal, string) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intEnd := i
	if intEnd == intStart {
		return decimal.Decimal{}, "not a decimal number"
	}
	fracStart, fracEnd := i, i
	if i < len(s) && s[i] == '.' {
		i++
		fracStart = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracEnd = i
		if fracEnd == fracStart {
			return decimal.Decimal{}, "no digits after the decimal point"
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		d := i
		for i < len(s) && isDigit(s[i]) {
			exp = exp*10 + int(s[i]-'0')
			i++
			if i-d > maxExponentDigits {
				return decimal.Decimal{}, "exponent too large"
			}
		}
		if i == d {
			return decimal.Decimal{}, "no digits in the exponent"
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return decimal.Decimal{}, "not a decimal number"
	}
	nInt, nFrac := intEnd-intStart, fracEnd-fracStart
	if nInt+nFrac > MaxDecimalDigits {
		return decimal.Decimal{}, "too many digits"
	}

	// All digits in one buffer; the point sits after p of them.
	var buf [MaxDecimalDigits]byte
	d := append(buf[:0], s[intStart:intEnd]...)
	d = append(d, s[fracStart:fracEnd]...)
	p := nInt + exp
	for len(d) > 0 && d[0] == '0' {
		d = d[1:]
		p--
	}
	for len(d) > p && len(d) > 0 && d[len(d)-1] == '0' { // fractional trailing zeros
		d = d[:len(d)-1]
	}
	if len(d) == 0 {
		return decimal.Decimal{}, "" // zero, "-0" included
	}
	if plainDigits(len(d), p) > MaxDecimalDigits {
		return decimal.Decimal{}, "too many digits"
	}
	e := p - len(d)
	if e > 0 { // integer with its zeros written out by the exponent: keep exponent 0
		for ; e > 0; e-- {
			d = append(d, '0')
		}
	}
	if len(d) <= 18 {
		var c int64
		for _, ch := range d {
			c = c*10 + int64(ch-'0')
		}
		if neg {
			c = -c
		}
		return decimal.New(c, int32(e)), ""
	}
	c, ok := new(big.Int).SetString(string(d), 10)
	if !ok {
		return decimal.Decimal{}, "not a decimal number"
	}
	if neg {
		c.Neg(c)
	}
	return decimal.NewFromBigInt(c, int32(e)), ""
}

// plainDigits is the number of digits of the plain form of a nonzero value whose n
// significant digits (no leading zeros, no fractional trailing zeros) have the decimal
// point after p of them: "12300" (n=3, p=5) is 5, "1.23" (p=1) is 3, "0.0123" (p=-1) is 5.
func plainDigits(n, p int) int {
	switch {
	case p >= n:
		return p
	case p > 0:
		return n
	default:
		return 1 - p + n
	}
}

// coefficient writes the absolute value of d's coefficient to buf in decimal and returns
// it with d's sign and exponent, without allocating for coefficients below 10^18.
func coefficient(buf []byte, d decimal.Decimal) (digits []byte, neg bool, exp int) {
	exp = int(d.Exponent())
	if d.NumDigits() <= 18 {
		c := d.CoefficientInt64()
		if c < 0 {
			neg, c = true, -c
		}
		return strconv.AppendInt(buf[:0], c, 10), neg, exp
	}
	digits = d.Coefficient().Append(buf[:0], 10)
	if digits[0] == '-' {
		return digits[1:], true, exp
	}
	return digits, false, exp
}

// trimFraction drops trailing zeros of the fractional part of digits·10^exp.
func trimFraction(digits []byte, exp int) ([]byte, int) {
	for exp < 0 && len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	return digits, exp
}

// decimalFits reports whether the canonical plain form of d has at most
// MaxDecimalDigits digits, which is what Decode accepts back.
func decimalFits(d decimal.Decimal) bool {
	var buf [40]byte
	digits, _, exp := coefficient(buf[:], d)
	if len(digits) == 1 && digits[0] == '0' {
		return true
	}
	digits, exp = trimFraction(digits, exp)
	return plainDigits(len(digits), len(digits)+exp) <= MaxDecimalDigits
}

// appendDecimal writes the canonical plain form of d: no exponent, no fractional
// trailing zeros, no trailing point, "0" for zero. It does not depend on the decimal
// package's formatting globals. d must satisfy decimalFits (Validate checks it).
func appendDecimal(dst []byte, d decimal.Decimal) []byte {
	var buf [40]byte
	digits, neg, exp := coefficient(buf[:], d)
	if len(digits) == 1 && digits[0] == '0' {
		return append(dst, '0')
	}
	digits, exp = trimFraction(digits, exp)
	if neg {
		dst = append(dst, '-')
	}
	if exp >= 0 {
		dst = append(dst, digits...)
		for ; exp > 0; exp-- {
			dst = append(dst, '0')
		}
		return dst
	}
	frac := -exp
	if len(digits) > frac {
		dst = append(dst, digits[:len(digits)-frac]...)
		dst = append(dst, '.')
		return append(dst, digits[len(digits)-frac:]...)
	}
	dst = append(dst, '0', '.')
	for k := frac - len(digits); k > 0; k-- {
		dst = append(dst, '0')
	}
	return append(dst, digits...)
}
