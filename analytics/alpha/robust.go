package alpha

import (
	"math"
	"slices"
)

// robustScale returns 1.4826 × the median absolute deviation of xs from their median
// (the standard deviation for normal data, not blown up by a few extremes), or the
// standard deviation when more than half the values are equal. It reorders xs.
func robustScale(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	slices.Sort(xs)
	med := median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
	}
	slices.Sort(dev)
	if m := median(dev); m > 0 {
		return 1.4826 * m
	}
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

// median returns the median of sorted xs (not empty).
func median(xs []float64) float64 {
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
