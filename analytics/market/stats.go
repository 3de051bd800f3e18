package market

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// Median of xs (NaN when empty). xs is not modified. The order is slices.Sort's
// (cmp.Less: NaNs first), found by selection rather than a full sort: the detectors
// take the median of a few hundred values every few trades.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	k := n / 2
	selectKth(s, k)
	if n%2 == 1 {
		return s[k]
	}
	return (slices.MaxFunc(s[:k], cmp.Compare[float64]) + s[k]) / 2
}

// selectKth reorders s so that s[k] is the element a sort by cmp.Less puts at k, those
// before it are not greater and those after it not less (Hoare's selection with a
// median-of-three pivot).
func selectKth(s []float64, k int) {
	lo, hi := 0, len(s)-1
	for hi > lo {
		mid := lo + (hi-lo)/2
		if cmp.Less(s[mid], s[lo]) {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if cmp.Less(s[hi], s[lo]) {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if cmp.Less(s[hi], s[mid]) {
			s[hi], s[mid] = s[mid], s[hi]
		}
		pivot := s[mid]
		i, j := lo, hi
		for i <= j {
			for cmp.Less(s[i], pivot) {
				i++
			}
			for cmp.Less(pivot, s[j]) {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return // j < k < i: s[k] equals the pivot
		}
	}
}

// MAD is the median absolute deviation from the median.
func MAD(xs []float64) float64 {
	m := Median(xs)
	d := make([]float64, len(xs))
	for i, x := range xs {
		d[i] = math.Abs(x - m)
	}
	return Median(d)
}

// madScale makes the MAD a consistent estimator of the standard deviation of normal data.
const madScale = 1.4826

// RobustZ is how many robust standard deviations x is from the baseline's median:
// (x − median) / (1.4826 · MAD). A baseline with no spread (MAD 0) falls back to the
// mean absolute deviation, and to 0 when that is 0 too (nothing to compare against).
func RobustZ(x float64, baseline []float64) float64 {
	if len(baseline) == 0 {
		return 0
	}
	m := Median(baseline)
	s := madScale * MAD(baseline)
	if s == 0 {
		var sum float64
		for _, b := range baseline {
			sum += math.Abs(b - m)
		}
		s = 1.2533 * sum / float64(len(baseline)) // mean absolute deviation → σ
	}
	if s == 0 {
		return 0
	}
	return (x - m) / s
}

// WeightedMedian returns the value at which the cumulative weight reaches half the
// total, values sorted ascending (ties in value keep input order); ok is false when the
// total weight is not positive.
func WeightedMedian(values, weights []float64) (float64, bool) {
	idx := make([]int, len(values))
	var total float64
	for i := range values {
		idx[i] = i
		if weights[i] > 0 {
			total += weights[i]
		}
	}
	if total <= 0 {
		return 0, false
	}
	sort.SliceStable(idx, func(a, b int) bool { return values[idx[a]] < values[idx[b]] })
	var cum float64
	for _, i := range idx {
		if weights[i] <= 0 {
			continue
		}
		cum += weights[i]
		if cum >= total/2 {
			return values[i], true
		}
	}
	return values[idx[len(idx)-1]], true
}

// VenueClose is one venue's last bar of a coin.
type VenueClose struct {
	Venue  string
	Symbol string
	Close  float64
	Volume float64 // quote volume (USD) of the bar
}

// ReferencePrice is the cross-venue reference price of a coin: the volume-weighted
// median of the venues' closes, so one thin or broken venue cannot move it. Venues
// without volume (quotes only) count with the smallest positive weight present, or
// equally when none traded.
func ReferencePrice(closes []VenueClose) (float64, bool) {
	if len(closes) == 0 {
		return 0, false
	}
	vals := make([]float64, len(closes))
	ws := make([]float64, len(closes))
	minW := math.Inf(1)
	for i, c := range closes {
		vals[i], ws[i] = c.Close, c.Volume
		if c.Volume > 0 {
			minW = min(minW, c.Volume)
		}
	}
	if math.IsInf(minW, 1) {
		minW = 1
	}
	for i := range ws {
		if ws[i] <= 0 {
			ws[i] = minW
		}
	}
	return WeightedMedian(vals, ws)
}
