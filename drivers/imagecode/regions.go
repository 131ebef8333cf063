package imagecode

import (
	"image"
	"slices"

	"github.com/makiuchi-d/gozxing"
)

// gozxing's Data Matrix and Aztec detectors start from the centre of the
// image and grow a white rectangle from there, so they find a symbol only
// when that centre lies on it. The regions below are where ink clusters
// in the binarised image; each is searched again as an image of its own,
// centred on it.

const (
	cell       = 8  // pixels a side of the cells ink is counted in
	minRegion  = 3  // cells: smaller clusters are specks or letters
	maxRegions = 48 // the largest clusters searched, to bound the time
)

// inkRegions returns the boxes of the clusters of cells that hold some
// black but are not solid (text, codes; not blank paper or filled bars),
// largest first, each widened by a quarter of its size and kept inside
// the image.
func inkRegions(m *gozxing.BitMatrix) []image.Rectangle {
	w, h := m.GetWidth(), m.GetHeight()
	cw, ch := (w+cell-1)/cell, (h+cell-1)/cell
	if cw < minRegion || ch < minRegion {
		return nil
	}
	ink := make([]bool, cw*ch)
	for cy := range ch {
		for cx := range cw {
			black, all := 0, 0
			for y := cy * cell; y < min((cy+1)*cell, h); y++ {
				for x := cx * cell; x < min((cx+1)*cell, w); x++ {
					all++
					if m.Get(x, y) {
						black++
					}
				}
			}
			ink[cy*cw+cx] = black*10 >= all && black*10 <= all*9
		}
	}
	var (
		boxes []image.Rectangle
		stack []int
	)
	seen := make([]bool, len(ink))
	for i, in := range ink {
		if !in || seen[i] {
			continue
		}
		box := image.Rect(i%cw, i/cw, i%cw+1, i/cw+1)
		seen[i], stack = true, append(stack[:0], i)
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := j%cw, j/cw
			box = box.Union(image.Rect(x, y, x+1, y+1))
			for _, n := range [4][2]int{{x - 1, y}, {x + 1, y}, {x, y - 1}, {x, y + 1}} {
				if n[0] < 0 || n[1] < 0 || n[0] >= cw || n[1] >= ch {
					continue
				}
				if k := n[1]*cw + n[0]; ink[k] && !seen[k] {
					seen[k], stack = true, append(stack, k)
				}
			}
		}
		if box.Dx() >= minRegion && box.Dy() >= minRegion && box.Dx() <= 3*box.Dy() && box.Dy() <= 3*box.Dx() {
			boxes = append(boxes, box)
		}
	}
	slices.SortStableFunc(boxes, func(a, b image.Rectangle) int { return b.Dx()*b.Dy() - a.Dx()*a.Dy() })
	if len(boxes) > maxRegions {
		boxes = boxes[:maxRegions]
	}
	bounds := image.Rect(0, 0, w, h)
	for i, b := range boxes {
		b = image.Rect(b.Min.X*cell, b.Min.Y*cell, b.Max.X*cell, b.Max.Y*cell)
		boxes[i] = b.Inset(-max(b.Dx(), b.Dy()) / 4).Intersect(bounds)
	}
	return boxes
}
