package imagecode

import (
	"errors"
	"fmt"
	"image"

	"github.com/makiuchi-d/gozxing"
)

// graySource is a gozxing.LuminanceSource over 8-bit luminance, viewed
// without copying where the image already is 8-bit grey (PNG greyscale)
// or has a luma plane (JPEG).
type graySource struct {
	gozxing.LuminanceSourceBase // Width, Height of the view
	pix                         []byte
	stride                      int
	left, top                   int
}

var _ gozxing.LuminanceSource = (*graySource)(nil)

// newGraySource converts img to luminance, transparent pixels counting as
// white paper.
func newGraySource(img image.Image) *graySource {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	s := &graySource{LuminanceSourceBase: gozxing.LuminanceSourceBase{Width: w, Height: h}}
	switch m := img.(type) {
	case *image.Gray:
		s.pix, s.stride = m.Pix, m.Stride
		return s
	case *image.YCbCr:
		s.pix, s.stride = m.Y, m.YStride
		return s
	}
	s.pix, s.stride = make([]byte, w*h), w
	switch m := img.(type) {
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			out := s.pix[y*w : (y+1)*w]
			for x := range out {
				p := row[4*x : 4*x+4 : 4*x+4]
				lum := (uint32(p[0]) + 2*uint32(p[1]) + uint32(p[2])) / 4
				a := uint32(p[3])
				out[x] = byte((lum*a + 255*(255-a)) / 255)
			}
		}
	case *image.RGBA: // premultiplied
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			out := s.pix[y*w : (y+1)*w]
			for x := range out {
				p := row[4*x : 4*x+4 : 4*x+4]
				lum := (uint32(p[0]) + 2*uint32(p[1]) + uint32(p[2])) / 4
				out[x] = byte(min(lum+255-uint32(p[3]), 255))
			}
		}
	case *image.Paletted:
		var table [256]byte
		for i, c := range m.Palette {
			table[i] = luminance(c.RGBA())
		}
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			out := s.pix[y*w : (y+1)*w]
			for x, i := range row {
				out[x] = table[i]
			}
		}
	default:
		for y := range h {
			out := s.pix[y*w : (y+1)*w]
			for x := range out {
				out[x] = luminance(img.At(b.Min.X+x, b.Min.Y+y).RGBA())
			}
		}
	}
	return s
}

// luminance of a premultiplied 16-bit colour over white, as gozxing's
// own conversion computes it.
func luminance(r, g, b, a uint32) byte {
	lum := (r + 2*g + b) * 255 / (4 * 0xffff)
	return byte((lum*a + (0xffff-a)*255) / 0xffff)
}

func (s *graySource) GetRow(y int, row []byte) ([]byte, error) {
	if y < 0 || y >= s.Height {
		return nil, fmt.Errorf("requested row %d is outside the image", y)
	}
	if cap(row) < s.Width {
		row = make([]byte, s.Width)
	}
	row = row[:s.Width]
	off := (s.top+y)*s.stride + s.left
	copy(row, s.pix[off:off+s.Width])
	return row, nil
}

func (s *graySource) GetMatrix() []byte {
	n := s.Width * s.Height
	if s.left == 0 && s.top == 0 && s.stride == s.Width {
		return s.pix[:n:n]
	}
	m := make([]byte, n)
	for y := range s.Height {
		off := (s.top+y)*s.stride + s.left
		copy(m[y*s.Width:(y+1)*s.Width], s.pix[off:off+s.Width])
	}
	return m
}

func (s *graySource) IsCropSupported() bool { return true }

func (s *graySource) Crop(left, top, width, height int) (gozxing.LuminanceSource, error) {
	if left < 0 || top < 0 || width < 0 || height < 0 || left+width > s.Width || top+height > s.Height {
		return nil, errors.New("crop rectangle does not fit in the image")
	}
	c := *s
	c.left, c.top = s.left+left, s.top+top
	c.Width, c.Height = width, height
	return &c, nil
}

func (s *graySource) IsRotateSupported() bool { return true }

func (s *graySource) RotateCounterClockwise() (gozxing.LuminanceSource, error) {
	w, h := s.Width, s.Height
	pix := make([]byte, w*h)
	for j := range w {
		x := s.left + w - 1 - j
		out := pix[j*h : (j+1)*h]
		for i := range out {
			out[i] = s.pix[(s.top+i)*s.stride+x]
		}
	}
	return &graySource{LuminanceSourceBase: gozxing.LuminanceSourceBase{Width: h, Height: w}, pix: pix, stride: h}, nil
}

func (s *graySource) RotateCounterClockwise45() (gozxing.LuminanceSource, error) {
	return nil, errors.New("rotation by 45 degrees is not supported")
}

func (s *graySource) Invert() gozxing.LuminanceSource { return gozxing.LuminanceSourceInvert(s) }

func (s *graySource) String() string { return gozxing.LuminanceSourceString(s) }
