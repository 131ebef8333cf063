package imagecode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/hexiao/hexiao/drivers/scanner"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/datamatrix/encoder"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// symbol draws a code with gozxing's writers, one pixel a module, with
// its quiet zone.
func symbol(t testing.TB, format gozxing.BarcodeFormat, text string) *gozxing.BitMatrix {
	t.Helper()
	var w gozxing.Writer
	switch format {
	case gozxing.BarcodeFormat_QR_CODE:
		w = qrcode.NewQRCodeWriter()
	case gozxing.BarcodeFormat_DATA_MATRIX:
		w = datamatrix.NewDataMatrixWriter()
	case gozxing.BarcodeFormat_CODE_128:
		w = oned.NewCode128Writer()
	case gozxing.BarcodeFormat_CODE_39:
		w = oned.NewCode39Writer()
	case gozxing.BarcodeFormat_EAN_13:
		w = oned.NewEAN13Writer()
	case gozxing.BarcodeFormat_EAN_8:
		w = oned.NewEAN8Writer()
	case gozxing.BarcodeFormat_UPC_A:
		w = oned.NewUPCAWriter()
	case gozxing.BarcodeFormat_ITF:
		w = oned.NewITFWriter()
	default:
		t.Fatalf("no writer for %v", format)
	}
	// gozxing's Data Matrix reader finds square symbols only.
	hints := map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_DATA_MATRIX_SHAPE: encoder.SymbolShapeHint_FORCE_SQUARE}
	m, err := w.Encode(text, format, 0, 0, hints)
	if err != nil {
		t.Fatalf("encode %v %q: %v", format, text, err)
	}
	return m
}

// page is a canvas symbols are placed on.
type page struct{ *image.Gray }

func newPage(w, h int, paper byte) page {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = paper
	}
	return page{g}
}

// place draws m with its top-left corner at (x, y), each module scale
// pixels wide (and, for a 1D code, height pixels tall), turned deg
// degrees around its centre.
func (p page) place(m *gozxing.BitMatrix, x, y int, scale float64, height int, deg float64) page {
	mw, mh := float64(m.GetWidth()), float64(m.GetHeight())
	sy := scale
	if m.GetHeight() == 1 { // a 1D code: stretch it
		sy = float64(height)
	}
	w, h := mw*scale, mh*sy
	sin, cos := math.Sincos(deg * math.Pi / 180)
	cx, cy := float64(x)+w/2, float64(y)+h/2
	r := math.Hypot(w, h)/2 + 1
	for py := int(cy - r); py <= int(cy+r); py++ {
		for px := int(cx - r); px <= int(cx+r); px++ {
			if !(image.Point{px, py}.In(p.Bounds())) {
				continue
			}
			// Turn the pixel back into the unturned symbol.
			dx, dy := float64(px)+0.5-cx, float64(py)+0.5-cy
			ux, uy := dx*cos+dy*sin+w/2, -dx*sin+dy*cos+h/2
			mx, my := int(math.Floor(ux/scale)), int(math.Floor(uy/sy))
			if mx < 0 || my < 0 || mx >= m.GetWidth() || my >= m.GetHeight() {
				continue
			}
			v := byte(255)
			if m.Get(mx, my) {
				v = 0
			}
			p.SetGray(px, py, color.Gray{v})
		}
	}
	return p
}

// fill paints a rectangle (a screenshot's text lines and buttons).
func (p page) fill(r image.Rectangle, v byte) page {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p.SetGray(x, y, color.Gray{v})
		}
	}
	return p
}

// noise adds up to ±amount to every pixel, the same way every run.
func (p page) noise(amount int) page {
	rnd := rand.New(rand.NewPCG(1, 2))
	for i, v := range p.Pix {
		p.Pix[i] = byte(min(max(int(v)+rnd.IntN(2*amount+1)-amount, 0), 255))
	}
	return p
}

func (p page) invert() page {
	for i, v := range p.Pix {
		p.Pix[i] = 255 - v
	}
	return p
}

func pngOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegOf(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// screenshot is a 1080×1920 phone screenshot: a light app with bars of
// text and a button, and a small QR code in it.
func screenshot(t testing.TB, text string) page {
	p := newPage(1080, 1920, 246).
		fill(image.Rect(0, 0, 1080, 140), 40).      // status and title bar
		fill(image.Rect(60, 220, 900, 260), 90).    // text lines
		fill(image.Rect(60, 300, 700, 330), 120).   //
		fill(image.Rect(60, 1700, 1020, 1820), 70). // button
		fill(image.Rect(380, 1220, 700, 1540), 255) // white card
	return p.place(symbol(t, gozxing.BarcodeFormat_QR_CODE, text), 430, 1270, 7, 0, 0)
}

const (
	qr   = gozxing.BarcodeFormat_QR_CODE
	c128 = gozxing.BarcodeFormat_CODE_128
	ean  = gozxing.BarcodeFormat_EAN_13
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		data func(t *testing.T) []byte
		want []Code // in order: top to bottom, then left to right
	}{
		{"QR, normalised", func(t *testing.T) []byte {
			return pngOf(t, newPage(400, 400, 255).place(symbol(t, qr, "]Q1HX1ABCDEF\r\n"), 60, 60, 8, 0, 0))
		}, []Code{{"QR_CODE", "HX1ABCDEF"}}},
		{"QR and Code 128 side by side", func(t *testing.T) []byte {
			return pngOf(t, newPage(1100, 500, 255).
				place(symbol(t, qr, "HX1SIDEBYSIDE"), 40, 60, 8, 0, 0).
				place(symbol(t, c128, "S00000000001"), 500, 150, 3, 150, 0))
		}, []Code{{"QR_CODE", "HX1SIDEBYSIDE"}, {"CODE_128", "S00000000001"}}},
		{"QR above EAN-13, turned, noisy, JPEG", func(t *testing.T) []byte {
			return jpegOf(t, newPage(700, 900, 250).
				place(symbol(t, qr, "HX1TURNED"), 160, 40, 9, 0, 4).
				place(symbol(t, ean, "4006381333931"), 120, 560, 4, 200, -3).
				noise(20), 75)
		}, []Code{{"QR_CODE", "HX1TURNED"}, {"EAN_13", "4006381333931"}}},
		{"two QR codes and a Code 128", func(t *testing.T) []byte {
			return pngOf(t, newPage(1000, 900, 255).
				place(symbol(t, qr, "HX1FIRST"), 40, 40, 7, 0, 0).
				place(symbol(t, qr, "HX1SECOND"), 560, 60, 7, 0, 0).
				place(symbol(t, c128, "HX1THIRD"), 150, 600, 3, 150, 0))
		}, []Code{{"QR_CODE", "HX1FIRST"}, {"QR_CODE", "HX1SECOND"}, {"CODE_128", "HX1THIRD"}}},
		{"the same QR twice is one code", func(t *testing.T) []byte {
			q := symbol(t, qr, "HX1TWICE")
			return pngOf(t, newPage(900, 400, 255).place(q, 30, 60, 7, 0, 0).place(q, 480, 60, 7, 0, 0))
		}, []Code{{"QR_CODE", "HX1TWICE"}}},
		{"phone screenshot", func(t *testing.T) []byte {
			return pngOf(t, screenshot(t, "HX1SCREENSHOTCODE"))
		}, []Code{{"QR_CODE", "HX1SCREENSHOTCODE"}}},
		{"phone screenshot, JPEG", func(t *testing.T) []byte {
			return jpegOf(t, screenshot(t, "HX1SCREENSHOTCODE"), 80)
		}, []Code{{"QR_CODE", "HX1SCREENSHOTCODE"}}},
		{"dark mode", func(t *testing.T) []byte {
			return pngOf(t, newPage(400, 400, 255).place(symbol(t, qr, "HX1DARK"), 60, 60, 8, 0, 0).invert())
		}, []Code{{"QR_CODE", "HX1DARK"}}},
		{"barcode on its side", func(t *testing.T) []byte {
			return pngOf(t, newPage(400, 700, 255).place(symbol(t, c128, "HX1SIDEWAYS"), -40, 250, 3, 150, 90))
		}, []Code{{"CODE_128", "HX1SIDEWAYS"}}},
		{"transparent background", func(t *testing.T) []byte {
			p := newPage(300, 300, 255).place(symbol(t, qr, "HX1CLEAR"), 40, 40, 8, 0, 0)
			img := image.NewNRGBA(p.Bounds())
			for i, v := range p.Pix {
				if v == 0 {
					img.Pix[4*i+3] = 255 // black; white stays transparent
				}
			}
			return pngOf(t, img)
		}, []Code{{"QR_CODE", "HX1CLEAR"}}},
		{"Data Matrix and QR, off centre", func(t *testing.T) []byte {
			return pngOf(t, newPage(1000, 700, 250).
				place(symbol(t, qr, "HX1QRBESIDE"), 40, 40, 6, 0, 0).
				place(symbol(t, gozxing.BarcodeFormat_DATA_MATRIX, "HX1DATAMATRIX"), 700, 480, 4, 0, 0))
		}, []Code{{"QR_CODE", "HX1QRBESIDE"}, {"DATA_MATRIX", "HX1DATAMATRIX"}}},
		{"Aztec, off centre", func(t *testing.T) []byte {
			az, err := png.Decode(bytes.NewReader(readFile(t, "testdata/aztec.png")))
			if err != nil {
				t.Fatal(err)
			}
			p := newPage(900, 1400, 255)
			draw.Draw(p, az.Bounds().Add(image.Pt(650, 1100)), az, image.Point{}, draw.Src)
			return pngOf(t, p)
		}, []Code{{"AZTEC", "Code 2D!"}}},
		{"palette image", func(t *testing.T) []byte {
			p := newPage(300, 300, 255).place(symbol(t, qr, "HX1PALETTE"), 40, 40, 8, 0, 0)
			img := image.NewPaletted(p.Bounds(), color.Palette{color.RGBA{20, 30, 90, 255}, color.White})
			for i, v := range p.Pix {
				img.Pix[i] = v / 255
			}
			return pngOf(t, img)
		}, []Code{{"QR_CODE", "HX1PALETTE"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.data(t))
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestDecodeFormats(t *testing.T) {
	for _, tc := range []struct {
		format gozxing.BarcodeFormat
		text   string
	}{
		{gozxing.BarcodeFormat_CODE_128, "HX1-128-abc"},
		{gozxing.BarcodeFormat_CODE_39, "HX1CODE39"},
		{gozxing.BarcodeFormat_EAN_13, "4006381333931"},
		{gozxing.BarcodeFormat_EAN_8, "96385074"},
		{gozxing.BarcodeFormat_UPC_A, "036000291452"},
		{gozxing.BarcodeFormat_ITF, "00012345678905"},
		{gozxing.BarcodeFormat_DATA_MATRIX, "HX1DATAMATRIX"},
		{gozxing.BarcodeFormat_QR_CODE, "HX1QR"},
	} {
		t.Run(tc.format.String(), func(t *testing.T) {
			m := symbol(t, tc.format, tc.text)
			scale, height := 6.0, 0
			if m.GetHeight() == 1 {
				scale, height = 3, 120
			}
			got, err := Decode(pngOf(t, newPage(800, 500, 255).place(m, 40, 60, scale, height, 0)))
			if want := []Code{{tc.format.String(), tc.text}}; err != nil || !slices.Equal(got, want) {
				t.Errorf("got %q, %v; want %q", got, err, want)
			}
		})
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pngHeader is the start of a PNG that claims w×h pixels and has none.
func pngHeader(w, h uint32) []byte {
	var ihdr []byte
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit grey
	chunk := append([]byte("IHDR"), ihdr...)
	out := append([]byte(nil), pngMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(ihdr)))
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}

func TestDecodeErrors(t *testing.T) {
	blank := pngOf(t, newPage(300, 300, 255))
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"text", []byte("HX1ABCDEF"), ErrNotImage},
		{"GIF", []byte("GIF89a\x01\x00\x01\x00"), ErrNotImage},
		{"empty", nil, ErrNotImage},
		{"PNG signature only", pngMagic, ErrNotImage},
		{"PNG cut short", blank[:60], ErrNotImage},
		{"JPEG start only", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10}, ErrNotImage},
		{"no pixels", pngHeader(0, 10), ErrNotImage},
		// The header alone says it is too large: nothing is decoded.
		{"over MaxPixels", pngHeader(8000, 8000), ErrTooLarge},
		{"blank", blank, ErrNoCode},
		{"a code with no text left", pngOf(t, newPage(300, 300, 255).place(symbol(t, qr, "\x01\x02 \x03"), 40, 40, 8, 0, 0)), scanner.ErrEmpty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.data)
			if got != nil || !errors.Is(err, tc.want) {
				t.Errorf("got %q, %v; want %v", got, err, tc.want)
			}
		})
	}
	if got, err := DecodeImage(image.NewGray(image.Rect(0, 0, 0, 0))); got != nil || !errors.Is(err, ErrNotImage) {
		t.Errorf("DecodeImage of an empty image = %q, %v; want %v", got, err, ErrNotImage)
	}
}

// The luminance source gives what gozxing's own gives, for every image
// type it converts, cropped and turned.
func TestGraySource(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	const w, h = 7, 5
	gray := image.NewGray(image.Rect(0, 0, w, h))
	nrgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	pal := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White, color.RGBA{200, 10, 60, 255}})
	cmyk := image.NewCMYK(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(rnd.IntN(256)), uint8(rnd.IntN(256)), uint8(rnd.IntN(256)), 255}
			gray.Set(x, y, c)
			nrgba.Set(x, y, c)
			rgba.Set(x, y, c)
			pal.SetColorIndex(x, y, uint8(rnd.IntN(3)))
			cmyk.Set(x, y, c)
		}
	}
	ycbcr := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	copy(ycbcr.Y, gray.Pix)
	for _, img := range []image.Image{gray, nrgba, rgba, pal, cmyk, ycbcr, gray.SubImage(image.Rect(2, 1, 6, 4))} {
		t.Run(fmt.Sprintf("%T%v", img, img.Bounds()), func(t *testing.T) {
			var got, want gozxing.LuminanceSource = newGraySource(img), gozxing.NewLuminanceSourceFromImage(img)
			if _, ok := img.(*image.YCbCr); ok {
				want = gozxing.NewLuminanceSourceFromImage(gray) // the luma plane, as is
			}
			compare := func(what string, got, want gozxing.LuminanceSource) {
				t.Helper()
				if g, w := got.GetMatrix(), want.GetMatrix(); !bytes.Equal(g, w) {
					t.Fatalf("%s: matrix %v, want %v", what, g, w)
				}
				for y := range want.GetHeight() {
					g, _ := got.GetRow(y, nil)
					w, _ := want.GetRow(y, nil)
					if !bytes.Equal(g, w) {
						t.Fatalf("%s: row %d %v, want %v", what, y, g, w)
					}
				}
			}
			compare("whole", got, want)
			gc, _ := got.Crop(1, 1, got.GetWidth()-2, got.GetHeight()-1)
			wc, _ := want.Crop(1, 1, want.GetWidth()-2, want.GetHeight()-1)
			compare("cropped", gc, wc)
			gr, _ := gc.RotateCounterClockwise()
			wr, _ := wc.RotateCounterClockwise()
			compare("cropped and turned", gr, wr)
			compare("inverted", got.Invert(), want.Invert())
			if _, err := got.Crop(0, 0, got.GetWidth()+1, 1); err == nil {
				t.Error("a crop larger than the image succeeded")
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(pngOf(f, newPage(120, 120, 255).place(symbol(f, qr, "HX1FUZZ"), 10, 10, 3, 0, 0)))
	f.Add(jpegOf(f, newPage(120, 120, 255).place(symbol(f, qr, "HX1FUZZ"), 10, 10, 3, 0, 0), 60))
	f.Add(pngOf(f, newPage(200, 60, 255).place(symbol(f, c128, "HX1"), 5, 5, 1, 50, 0)))
	f.Add(pngHeader(300, 300))
	f.Add([]byte("GIF89a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A small pixel cap keeps each run short.
		codes, err := decode(data, 1<<16)
		if errors.Is(err, errDecoderPanic) {
			t.Fatalf("gozxing panicked: %v", err)
		}
		if err != nil {
			if codes != nil {
				t.Fatalf("codes %q with error %v", codes, err)
			}
			return
		}
		if len(codes) == 0 {
			t.Fatal("no code and no error")
		}
		for _, c := range codes {
			if n, err := scanner.Normalize(c.Text); err != nil || n != c.Text || c.Format == "" {
				t.Fatalf("code %q is not normalised or has no format", c)
			}
		}
	})
}

// BenchmarkDecodeQR reads a small QR code in a 1080×1920 phone
// screenshot (RGBA, as phones save them), from PNG and JPEG bytes and
// from the decoded image.
func BenchmarkDecodeQR(b *testing.B) {
	gray := screenshot(b, "HX1SCREENSHOTCODE")
	shot := image.NewRGBA(gray.Bounds())
	draw.Draw(shot, shot.Bounds(), gray, image.Point{}, draw.Src)
	pngData, jpegData := pngOf(b, shot), jpegOf(b, shot, 85)
	for _, bc := range []struct {
		name   string
		decode func() ([]Code, error)
	}{
		{"png", func() ([]Code, error) { return Decode(pngData) }},
		{"jpeg", func() ([]Code, error) { return Decode(jpegData) }},
		{"image", func() ([]Code, error) { return DecodeImage(shot) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if codes, err := bc.decode(); err != nil || len(codes) != 1 {
					b.Fatalf("%q, %v", codes, err)
				}
			}
		})
	}
}

// BenchmarkDecodeNoCode is the slowest path: a screenshot with no code,
// searched as it is and inverted.
func BenchmarkDecodeNoCode(b *testing.B) {
	shot := newPage(1080, 1920, 246).fill(image.Rect(60, 220, 900, 260), 90).Gray
	for b.Loop() {
		if _, err := DecodeImage(shot); !errors.Is(err, ErrNoCode) {
			b.Fatal(err)
		}
	}
}
