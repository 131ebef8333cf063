package imagecode

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"slices"

	"github.com/hexiao/hexiao/drivers/scanner"
)

// MaxPixels bounds the images Decode and DecodeImage read (40 million
// pixels, a 40 MP photo; a phone screenshot is 2–4 million).
const MaxPixels = 40_000_000

// The errors Decode and DecodeImage return, wrapped with detail.
var (
	ErrNotImage = errors.New("not a PNG or JPEG image")
	ErrTooLarge = errors.New("image too large")
	ErrNoCode   = errors.New("no QR code or barcode found in the image")
)

// Code is one code found in an image.
type Code struct {
	// Format is gozxing's name of the symbology: QR_CODE, DATA_MATRIX,
	// AZTEC, CODE_128, CODE_39, CODE_93, EAN_13, EAN_8, UPC_A, UPC_E, ITF.
	Format string
	// Text is the code's text, passed through scanner.Normalize.
	Text string
}

// Decode reads a PNG or JPEG image and returns every code in it (see
// DecodeImage). The image's size is checked from its header before its
// pixels are decoded.
func Decode(data []byte) ([]Code, error) { return decode(data, MaxPixels) }

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

func decode(data []byte, maxPixels int) ([]Code, error) {
	var (
		kind       string
		decodeCfg  func([]byte) (image.Config, error)
		decodeFull func([]byte) (image.Image, error)
	)
	switch {
	case bytes.HasPrefix(data, pngMagic):
		kind = "PNG"
		decodeCfg = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decodeFull = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		kind = "JPEG"
		decodeCfg = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		decodeFull = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	default:
		return nil, ErrNotImage
	}
	cfg, err := decodeCfg(data)
	if err != nil {
		return nil, fmt.Errorf("%w: damaged %s header: %v", ErrNotImage, kind, err)
	}
	if err := checkSize(cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, err
	}
	img, err := decodeFull(data)
	if err != nil {
		return nil, fmt.Errorf("%w: damaged %s data: %v", ErrNotImage, kind, err)
	}
	return decodeImage(img, maxPixels)
}

func checkSize(w, h, maxPixels int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: it has no pixels (%d×%d)", ErrNotImage, w, h)
	}
	if int64(w)*int64(h) > int64(maxPixels) {
		return fmt.Errorf("%w: %d×%d pixels, at most %d million", ErrTooLarge, w, h, maxPixels/1_000_000)
	}
	return nil
}

// DecodeImage returns every code in img, each once (same format and
// text), top to bottom then left to right. It looks for all QR codes;
// then for a code of any format, again and again in the parts of the image
// left of, above, right of and below each one found; then for Data Matrix
// and Aztec symbols in each cluster of ink. If it finds none, it tries
// again with the image inverted (light codes on a dark background). Codes
// whose text does not normalise are left out; if that leaves none, the
// error says why. No code at all is ErrNoCode.
func DecodeImage(img image.Image) ([]Code, error) { return decodeImage(img, MaxPixels) }

func decodeImage(img image.Image, maxPixels int) ([]Code, error) {
	if err := checkSize(img.Bounds().Dx(), img.Bounds().Dy(), maxPixels); err != nil {
		return nil, err
	}
	src := newGraySource(img)
	var f finder
	f.find(src)
	if len(f.found) == 0 {
		f.find(src.Invert())
	}
	if len(f.found) == 0 {
		if f.panicked != nil {
			return nil, fmt.Errorf("%w (%w)", ErrNoCode, f.panicked)
		}
		return nil, ErrNoCode
	}
	slices.SortStableFunc(f.found, func(a, b found) int {
		return cmp.Or(cmp.Compare(a.y, b.y), cmp.Compare(a.x, b.x))
	})
	var (
		codes []Code
		bad   error
	)
	for _, r := range f.found {
		text, err := scanner.Normalize(r.text)
		if err != nil {
			bad = cmp.Or(bad, fmt.Errorf("a %s code's text: %w", r.format, err))
			continue
		}
		codes = append(codes, Code{Format: r.format.String(), Text: text})
	}
	if len(codes) == 0 {
		return nil, bad
	}
	return codes, nil
}
