package ui_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"fyne.io/fyne/v2"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/ui"
)

// qrPNG draws text as a QR code on a white "screenshot".
func qrPNG(t *testing.T, texts ...string) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 400, 420*max(len(texts), 1)))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for k, text := range texts {
		m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 300, 300, nil)
		if err != nil {
			t.Fatal(err)
		}
		for y := range 300 {
			for x := range 300 {
				if m.Get(x, y) {
					img.SetGray(50+x, 50+420*k+y, color.Gray{})
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (h *harness) paste() {
	h.w.Canvas().(fyne.Shortcutable).TypedShortcut(&fyne.ShortcutPaste{})
	h.pump()
}

func TestPastedScreenshot(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.signIn("M1", "2580")
	code, _ := termtest.Secret(3)
	h.clip = qrPNG(t, code)
	n := len(h.verdicts)
	h.paste()
	h.until("the verdict", func() bool { return len(h.verdicts) > n })
	if v := h.verdicts[len(h.verdicts)-1]; v.Kind != ui.VerdictAccepted {
		t.Fatalf("pasted QR of %s: %v %s %q", code, v.Kind, v.Reason, v.Why)
	}

	// Two codes in one picture: nothing is redeemed, the cashier is told.
	c4, _ := termtest.Secret(4)
	c5, _ := termtest.Secret(5)
	h.clip = qrPNG(t, c4, c5)
	n = len(h.verdicts)
	h.paste()
	h.until("the verdict", func() bool { return len(h.verdicts) > n })
	if v := h.verdicts[len(h.verdicts)-1]; v.Kind != ui.VerdictAttention || !h.shows("2 codes in the picture") {
		t.Fatalf("two codes: %v %q; window %q", v.Kind, v.Why, h.texts())
	}

	// A picture without a code.
	h.clip = qrPNG(t)
	n = len(h.verdicts)
	h.paste()
	h.until("the verdict", func() bool { return len(h.verdicts) > n })
	if !h.shows("No code found in the picture") {
		t.Fatalf("blank picture: %q", h.texts())
	}
	// c4 was not redeemed by the two-code picture.
	h.clip = nil
	if v := h.scan(c4); v.Kind != ui.VerdictAccepted {
		t.Fatalf("%s after the two-code picture: %v %s", c4, v.Kind, v.Reason)
	}
}
