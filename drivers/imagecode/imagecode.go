// Package imagecode reads barcodes from pictures — the screenshots
// customers send and images dropped or pasted on the counter window: QR
// codes (several per image), Data Matrix and the common 1D symbologies
// (Code 128, Code 39, Code 93, EAN-13, EAN-8, UPC-A, UPC-E, ITF, Codabar),
// with gozxing in try-harder mode. Every code it returns is normalised by
// drivers/scanner.
//
// It must never decide anything about a code: it only delivers text.
package imagecode

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // JPEG screenshots and photos
	_ "image/png"
	"slices"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/oned"

	"github.com/hexiao/hexiao/drivers/scanner"
)

// ErrNoCode is returned when an image holds no code this package can read.
var ErrNoCode = errors.New("no barcode or QR code found in the image")

// MaxPixels bounds an image's size, checked from its header before it is
// decoded: 40 megapixels.
var MaxPixels = 40_000_000

// Code is one code found in an image.
type Code struct {
	Format string // gozxing's name: QR_CODE, CODE_128, EAN_13, …
	Text   string // normalised
}

// Decode reads every code in a PNG or JPEG image.
func Decode(data []byte) ([]Code, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels || cfg.Width > 1<<15 || cfg.Height > 1<<15 {
		return nil, fmt.Errorf("image of %d×%d pixels is too large: at most %d megapixels", cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	return DecodeImage(img)
}

var hints = map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}

// oneD are the 1D readers, each asked for one code per region.
var oneD = []func() gozxing.Reader{
	oned.NewCode128Reader, oned.NewCode39Reader, oned.NewCode93Reader, oned.NewITFReader, oned.NewCodaBarReader,
	func() gozxing.Reader { return oned.NewMultiFormatUPCEANReader(hints) },
}

// DecodeImage reads every code in img: all QR codes at once, and Data
// Matrix and 1D codes in the whole image and in each half and quarter, so
// two barcodes in one screenshot are both found. Results are deduplicated.
func DecodeImage(img image.Image) ([]Code, error) {
	gray := image.NewGray(img.Bounds())
	draw.Draw(gray, gray.Bounds(), img, img.Bounds().Min, draw.Src)
	var out []Code
	add := func(r *gozxing.Result) {
		text, err := scanner.Normalize(r.GetText())
		if err != nil {
			return
		}
		c := Code{Format: r.GetBarcodeFormat().String(), Text: text}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(gray)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	if rs, err := qrcode.NewQRCodeMultiReader().DecodeMultiple(bmp, hints); err == nil {
		for _, r := range rs {
			add(r)
		}
	}
	for _, region := range regions(gray.Bounds()) {
		sub := gray.SubImage(region)
		b, err := gozxing.NewBinaryBitmapFromImage(sub)
		if err != nil {
			continue
		}
		if r, err := datamatrix.NewDataMatrixReader().Decode(b, hints); err == nil {
			add(r)
		}
		for _, mk := range oneD {
			if r, err := mk().Decode(b, hints); err == nil {
				add(r)
			}
		}
	}
	if len(out) == 0 {
		return nil, ErrNoCode
	}
	return out, nil
}

// regions are the whole image, its halves (top, bottom, left, right) and
// its quarters.
func regions(r image.Rectangle) []image.Rectangle {
	mx, my := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2
	out := []image.Rectangle{r,
		image.Rect(r.Min.X, r.Min.Y, r.Max.X, my), image.Rect(r.Min.X, my, r.Max.X, r.Max.Y),
		image.Rect(r.Min.X, r.Min.Y, mx, r.Max.Y), image.Rect(mx, r.Min.Y, r.Max.X, r.Max.Y)}
	if r.Dx() >= 200 && r.Dy() >= 200 {
		out = append(out, image.Rect(r.Min.X, r.Min.Y, mx, my), image.Rect(mx, r.Min.Y, r.Max.X, my),
			image.Rect(r.Min.X, my, mx, r.Max.Y), image.Rect(mx, my, r.Max.X, r.Max.Y))
	}
	return out
}
