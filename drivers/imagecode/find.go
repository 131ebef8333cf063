package imagecode

import (
	"errors"
	"fmt"
	"math"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/aztec"
	"github.com/makiuchi-d/gozxing/datamatrix"
	qrmulti "github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// errDecoderPanic marks a panic inside gozxing, recovered so one bad
// image cannot take the program down.
var errDecoderPanic = errors.New("the barcode decoder failed on this image")

// found is one code found, with where: the top-left of its result points
// in the image.
type found struct {
	format gozxing.BarcodeFormat
	text   string
	x, y   int
}

// finder collects the codes in one image, each once.
type finder struct {
	found    []found
	panicked error // the first panic recovered, if any
}

// The depth and the smallest part of an image that the search around a
// found code goes to (as ZXing's GenericMultipleBarcodeReader).
const (
	maxDepth     = 4
	minRecurSize = 100
)

func newHints() map[gozxing.DecodeHintType]any {
	return map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_TRY_HARDER: true,
		// UPC_A lets the EAN reader report a UPC-A code as such, not as
		// an EAN-13 with a leading 0; the other readers ignore the list.
		gozxing.DecodeHintType_POSSIBLE_FORMATS: []gozxing.BarcodeFormat{
			gozxing.BarcodeFormat_EAN_13, gozxing.BarcodeFormat_UPC_A,
			gozxing.BarcodeFormat_EAN_8, gozxing.BarcodeFormat_UPC_E,
		},
	}
}

// find adds the codes in src: every QR code the multi-QR detector sees,
// then codes of any format, again and again around each one found.
func (f *finder) find(src gozxing.LuminanceSource) {
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		return
	}
	hints := newHints()
	var qrs []*gozxing.Result
	f.safely(func() (err error) {
		qrs, err = qrmulti.NewQRCodeMultiReader().DecodeMultiple(bmp, hints)
		return err
	})
	for _, r := range qrs {
		f.add(r, 0, 0)
	}
	f.around(newAnyReader(hints), bmp, hints, 0, 0, 0)
	f.centred(bmp, hints)
}

// centred searches each ink region for the symbols whose detectors start
// from the centre of the image (Data Matrix, Aztec), unless the whole
// image was a single region.
func (f *finder) centred(bmp *gozxing.BinaryBitmap, hints map[gozxing.DecodeHintType]any) {
	var m *gozxing.BitMatrix
	f.safely(func() (err error) {
		m, err = bmp.GetBlackMatrix()
		return err
	})
	if m == nil {
		return
	}
	readers := []gozxing.Reader{datamatrix.NewDataMatrixReader(), aztec.NewAztecReader()}
	for _, r := range inkRegions(m) {
		if r.Dx() == bmp.GetWidth() && r.Dy() == bmp.GetHeight() {
			continue
		}
		var part *gozxing.BinaryBitmap
		f.safely(func() (err error) {
			part, err = bmp.Crop(r.Min.X, r.Min.Y, r.Dx(), r.Dy())
			return err
		})
		if part == nil {
			continue
		}
		if res := anyReader(readers).decode(f, part, hints); res != nil {
			f.add(res, r.Min.X, r.Min.Y)
		}
	}
}

// around looks for a code in img, which sits at (dx, dy) in the whole
// image, and then in the parts of img left of, above, right of and below
// it (ZXing's GenericMultipleBarcodeReader).
func (f *finder) around(r anyReader, img *gozxing.BinaryBitmap, hints map[gozxing.DecodeHintType]any, dx, dy, depth int) {
	if depth > maxDepth {
		return
	}
	res := r.decode(f, img, hints)
	if res == nil {
		return
	}
	f.add(res, dx, dy)
	minX, minY, maxX, maxY, ok := bounds(res)
	if !ok {
		return
	}
	w, h := img.GetWidth(), img.GetHeight()
	crop := func(left, top, cw, ch int) {
		var part *gozxing.BinaryBitmap
		f.safely(func() (err error) {
			part, err = img.Crop(left, top, cw, ch)
			return err
		})
		if part != nil {
			f.around(r, part, hints, dx+left, dy+top, depth+1)
		}
	}
	if minX > minRecurSize {
		crop(0, 0, minX, h)
	}
	if minY > minRecurSize {
		crop(0, 0, w, minY)
	}
	if maxX < w-minRecurSize {
		crop(maxX, 0, w-maxX, h)
	}
	if maxY < h-minRecurSize {
		crop(0, maxY, w, h-maxY)
	}
}

// bounds is the box around a result's points.
func bounds(r *gozxing.Result) (minX, minY, maxX, maxY int, ok bool) {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range r.GetResultPoints() {
		if p == nil {
			continue
		}
		x0, y0 = min(x0, p.GetX()), min(y0, p.GetY())
		x1, y1 = max(x1, p.GetX()), max(y1, p.GetY())
	}
	if math.IsInf(x0, 0) || math.IsNaN(x0+y0+x1+y1) {
		return 0, 0, 0, 0, false
	}
	return int(x0), int(y0), int(x1), int(y1), true
}

// add records r, found in a part of the image at (dx, dy), unless the
// same code was found already.
func (f *finder) add(r *gozxing.Result, dx, dy int) {
	for _, e := range f.found {
		if e.format == r.GetBarcodeFormat() && e.text == r.GetText() {
			return
		}
	}
	c := found{format: r.GetBarcodeFormat(), text: r.GetText(), x: dx, y: dy}
	if x, y, _, _, ok := bounds(r); ok {
		c.x, c.y = dx+x, dy+y
	}
	f.found = append(f.found, c)
}

// safely runs fn, turning a panic inside gozxing into an error; only
// panics are recorded, decoding errors are the normal "not here".
func (f *finder) safely(fn func() error) {
	defer func() {
		if p := recover(); p != nil && f.panicked == nil {
			f.panicked = fmt.Errorf("%w: %v", errDecoderPanic, p)
		}
	}()
	_ = fn()
}

// anyReader finds one code of any format: 2D first, then 1D.
type anyReader []gozxing.Reader

func newAnyReader(hints map[gozxing.DecodeHintType]any) anyReader {
	var rows rowDecoders
	for _, r := range []gozxing.Reader{
		oned.NewMultiFormatUPCEANReader(hints),
		oned.NewCode128Reader(),
		oned.NewCode39Reader(),
		oned.NewCode93Reader(),
		oned.NewITFReader(),
	} {
		rows = append(rows, r.(oned.RowDecoder))
	}
	return anyReader{
		qrcode.NewQRCodeReader(),
		datamatrix.NewDataMatrixReader(),
		aztec.NewAztecReader(),
		oned.NewOneDReader(rows), // one pass over the rows for every 1D format
	}
}

func (rs anyReader) decode(f *finder, img *gozxing.BinaryBitmap, hints map[gozxing.DecodeHintType]any) *gozxing.Result {
	for _, r := range rs {
		var res *gozxing.Result
		f.safely(func() (err error) {
			if res, err = r.Decode(img, hints); err != nil {
				res = nil
			}
			return err
		})
		if res != nil {
			return res
		}
	}
	return nil
}

// rowDecoders tries each 1D row decoder on a row, as ZXing's
// MultiFormatOneDReader.
type rowDecoders []oned.RowDecoder

// minEdges is fewer edges between black and white than the shortest 1D
// code has (Code 128 with one character: 25 bars and spaces; EAN-8: 43).
const minEdges = 20

// notFound is the answer for a row with too few edges; made once, as
// gozxing's exceptions record a stack trace.
var notFound = gozxing.NewNotFoundException()

func (ds rowDecoders) DecodeRow(n int, row *gozxing.BitArray, hints map[gozxing.DecodeHintType]any) (*gozxing.Result, error) {
	if edges(row) < minEdges {
		return nil, notFound
	}
	for _, d := range ds {
		res, err := d.DecodeRow(n, row, hints)
		if err == nil {
			return res, nil
		}
		if _, ok := err.(gozxing.ReaderException); !ok {
			return nil, err
		}
	}
	return nil, gozxing.NewNotFoundException()
}

// edges counts the changes between black and white along row, up to
// minEdges.
func edges(row *gozxing.BitArray) int {
	n, size := 0, row.GetSize()
	for x := row.GetNextSet(0); x < size && n < minEdges; n++ {
		if n%2 == 0 {
			x = row.GetNextUnset(x)
		} else {
			x = row.GetNextSet(x)
		}
	}
	return n
}
