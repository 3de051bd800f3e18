package bot

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
)

// Chart colours.
var (
	chartBG    = color.RGBA{0x12, 0x16, 0x1c, 0xff}
	chartAxis  = color.RGBA{0x55, 0x5d, 0x68, 0xff}
	chartGain  = color.RGBA{0x2e, 0xbd, 0x85, 0xff}
	chartLoss  = color.RGBA{0xe5, 0x48, 0x4d, 0xff}
	chartWidth = 640
	chartH     = 320
)

// BarChartPNG draws values as vertical bars around a zero line (gains green,
// losses red) and returns the PNG, or nil when there is nothing to draw. labels
// are not drawn (no font without a dependency); the reply's text names the bars
// in the same order. It uses only the standard library.
func BarChartPNG(labels []string, values []float64) []byte {
	n := len(values)
	if n == 0 {
		return nil
	}
	img := image.NewRGBA(image.Rect(0, 0, chartWidth, chartH))
	draw.Draw(img, img.Bounds(), &image.Uniform{chartBG}, image.Point{}, draw.Src)
	hi, lo := 0.0, 0.0
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		hi, lo = max(hi, v), min(lo, v)
	}
	const pad = 16
	span := hi - lo
	if span == 0 {
		span = 1
	}
	plotH := float64(chartH - 2*pad)
	zero := pad + int(hi/span*plotH)
	draw.Draw(img, image.Rect(pad, zero, chartWidth-pad, zero+1), &image.Uniform{chartAxis}, image.Point{}, draw.Src)
	slot := float64(chartWidth-2*pad) / float64(n)
	gap := max(1, int(slot*0.2))
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) || v == 0 {
			continue
		}
		x0 := pad + int(float64(i)*slot) + gap/2
		x1 := pad + int(float64(i+1)*slot) - gap/2
		h := int(math.Abs(v) / span * plotH)
		h = max(h, 1)
		r, c := image.Rect(x0, zero-h, x1, zero), chartGain
		if v < 0 {
			r, c = image.Rect(x0, zero+1, x1, zero+1+h), chartLoss
		}
		draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil
	}
	_ = labels
	return buf.Bytes()
}
