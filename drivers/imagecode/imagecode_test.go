package imagecode

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	zqr "github.com/makiuchi-d/gozxing/qrcode"
)

func render(t testing.TB, w gozxing.Writer, text string, f gozxing.BarcodeFormat, width, height int) image.Image {
	t.Helper()
	m, err := w.Encode(text, f, width, height, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// canvas draws imgs on a white canvas at the given points.
func canvas(w, h int, imgs []image.Image, at []image.Point) *image.RGBA {
	c := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(c, c.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	for i, img := range imgs {
		draw.Draw(c, img.Bounds().Add(at[i]), img, img.Bounds().Min, draw.Src)
	}
	return c
}

func encode(t testing.TB, img image.Image, asJPEG bool) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	if asJPEG {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func screenshot(t testing.TB) []byte {
	qr := render(t, zqr.NewQRCodeWriter(), "HX1:SCREENSHOT-CODE", gozxing.BarcodeFormat_QR_CODE, 260, 260)
	return encode(t, canvas(1080, 1920, []image.Image{qr}, []image.Point{{410, 1200}}), false)
}

func TestDecode(t *testing.T) {
	qr := render(t, zqr.NewQRCodeWriter(), "]Q1HX1:ABCDEF", gozxing.BarcodeFormat_QR_CODE, 300, 300)
	c128 := render(t, oned.NewCode128Writer(), "S00000000001", gozxing.BarcodeFormat_CODE_128, 500, 120)
	ean := render(t, oned.NewEAN13Writer(), "4006381333931", gozxing.BarcodeFormat_EAN_13, 400, 120)
	for _, tc := range []struct {
		name string
		data []byte
		want []Code
	}{
		{"qr png", encode(t, canvas(400, 400, []image.Image{qr}, []image.Point{{50, 50}}), false), []Code{{"QR_CODE", "HX1:ABCDEF"}}},
		{"qr and code 128", encode(t, canvas(700, 900, []image.Image{qr, c128}, []image.Point{{50, 30}, {100, 650}}), false),
			[]Code{{"QR_CODE", "HX1:ABCDEF"}, {"CODE_128", "S00000000001"}}},
		{"ean-13 jpeg", encode(t, canvas(600, 300, []image.Image{ean}, []image.Point{{100, 90}}), true), []Code{{"EAN_13", "4006381333931"}}},
		{"phone screenshot", screenshot(t), []Code{{"QR_CODE", "HX1:SCREENSHOT-CODE"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("got %+v, want it to hold %+v", got, w)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %d codes %+v, want %d", len(got), got, len(tc.want))
			}
		})
	}
	blank := encode(t, canvas(300, 300, nil, nil), false)
	if _, err := Decode(blank); !errors.Is(err, ErrNoCode) {
		t.Errorf("blank image: %v, want ErrNoCode", err)
	}
	if _, err := Decode([]byte("GIF89a not really")); err == nil || !strings.Contains(err.Error(), "not a PNG or JPEG") {
		t.Errorf("not an image: %v", err)
	}
	defer func(n int) { MaxPixels = n }(MaxPixels)
	MaxPixels = 1000
	if _, err := Decode(blank); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("oversized image: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode(f, canvas(40, 40, nil, nil), false))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		old := MaxPixels
		MaxPixels = 250_000
		defer func() { MaxPixels = old }()
		codes, err := Decode(data)
		if err == nil && len(codes) == 0 {
			t.Fatal("no error and no code")
		}
	})
}

func BenchmarkDecodeQR(b *testing.B) {
	data := screenshot(b)
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
