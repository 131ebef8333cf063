package web

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strings"
)

// A QR code encoder (ISO/IEC 18004), error correction level M, one
// segment in alphanumeric or byte mode, versions 1 to 40. It is here
// because gozxing's encoder needs golang.org/x/text, which the module does
// not require; swap qrPNG to gozxing once it does.

// qrAlnum is the QR alphanumeric character set, in code order.
const qrAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// Level M per version (index 0 unused): error correction codewords per
// block and number of blocks.
var (
	qrECCPerBlock = [41]int{0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
		26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28}
	qrBlocks = [41]int{0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
		17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49}
)

// errQRTooLong is returned for text beyond a version 40 code.
var errQRTooLong = errors.New("qr: text too long for a QR code")

// qrEncode returns the modules of a QR code holding text (true = dark),
// without the quiet zone.
func qrEncode(text string) ([][]bool, error) {
	alnum := text != "" && strings.Trim(text, qrAlnum) == ""
	var ver int
	var data []byte
	for v := 1; v <= 40; v++ {
		if d, ok := qrData(text, alnum, v); ok {
			ver, data = v, d
			break
		}
	}
	if ver == 0 {
		return nil, errQRTooLong
	}
	q := newQRMatrix(ver)
	q.drawCodewords(qrInterleave(data, ver))
	best, bestPenalty := -1, 0
	for mask := range 8 {
		q.applyMask(mask)
		q.drawFormat(mask)
		if p := q.penalty(); best < 0 || p < bestPenalty {
			best, bestPenalty = mask, p
		}
		q.applyMask(mask) // XOR again: undo
	}
	q.applyMask(best)
	q.drawFormat(best)
	return q.mod, nil
}

// qrDataCodewords is how many data codewords version v holds at level M.
func qrDataCodewords(v int) int {
	return qrRawModules(v)/8 - qrECCPerBlock[v]*qrBlocks[v]
}

// qrRawModules counts the modules of version v left for data and error
// correction once function patterns and format and version bits are out.
func qrRawModules(v int) int {
	n := (16*v+128)*v + 64
	if v >= 2 {
		align := v/7 + 2
		n -= (25*align-10)*align - 55
		if v >= 7 {
			n -= 36
		}
	}
	return n
}

// qrData builds the data codewords of text for version v, padded, or
// reports that they do not fit.
func qrData(text string, alnum bool, v int) ([]byte, bool) {
	capacity := qrDataCodewords(v) * 8
	var b qrBits
	if alnum {
		countBits := 9
		if v >= 27 {
			countBits = 13
		} else if v >= 10 {
			countBits = 11
		}
		if len(text) >= 1<<countBits {
			return nil, false
		}
		b.add(0b0010, 4)
		b.add(len(text), countBits)
		for i := 0; i+1 < len(text); i += 2 {
			b.add(strings.IndexByte(qrAlnum, text[i])*45+strings.IndexByte(qrAlnum, text[i+1]), 11)
		}
		if len(text)%2 == 1 {
			b.add(strings.IndexByte(qrAlnum, text[len(text)-1]), 6)
		}
	} else {
		countBits := 8
		if v >= 10 {
			countBits = 16
		}
		if len(text) >= 1<<countBits {
			return nil, false
		}
		b.add(0b0100, 4)
		b.add(len(text), countBits)
		for i := 0; i < len(text); i++ {
			b.add(int(text[i]), 8)
		}
	}
	if b.n > capacity {
		return nil, false
	}
	b.add(0, min(4, capacity-b.n)) // terminator
	b.add(0, (8-b.n%8)%8)
	for pad := 0xEC; b.n < capacity; pad ^= 0xEC ^ 0x11 {
		b.add(pad, 8)
	}
	return b.bytes, true
}

// qrBits is a bit stream, most significant bit first.
type qrBits struct {
	bytes []byte
	n     int
}

func (b *qrBits) add(v, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if b.n%8 == 0 {
			b.bytes = append(b.bytes, 0)
		}
		if v>>i&1 == 1 {
			b.bytes[b.n/8] |= 0x80 >> (b.n % 8)
		}
		b.n++
	}
}

// qrInterleave splits data into blocks, adds each block's Reed-Solomon
// codewords and interleaves them as the symbol stores them.
func qrInterleave(data []byte, v int) []byte {
	nBlocks, ecc := qrBlocks[v], qrECCPerBlock[v]
	raw := qrRawModules(v) / 8
	short := nBlocks - raw%nBlocks // blocks one data codeword shorter
	shortLen := raw / nBlocks      // codewords of a short block, ecc included
	div := qrDivisor(ecc)
	blocks := make([][]byte, nBlocks)
	for i, k := 0, 0; i < nBlocks; i++ {
		n := shortLen - ecc
		if i >= short {
			n++
		}
		d := data[k : k+n]
		k += n
		blk := make([]byte, 0, shortLen+1)
		blk = append(blk, d...)
		if i < short {
			blk = append(blk, 0) // placeholder, skipped below
		}
		blocks[i] = append(blk, qrRemainder(d, div)...)
	}
	out := make([]byte, 0, raw)
	for i := range shortLen + 1 {
		for j, blk := range blocks {
			if i != shortLen-ecc || j >= short {
				out = append(out, blk[i])
			}
		}
	}
	return out
}

// qrMul multiplies in GF(2^8) modulo x^8+x^4+x^3+x^2+1.
func qrMul(x, y byte) byte {
	var z byte
	for i := 7; i >= 0; i-- {
		hi := z >> 7
		z = z<<1 ^ hi*0x1D
		z ^= (y >> i & 1) * x
	}
	return z
}

// qrDivisor is the Reed-Solomon generator polynomial of degree n, highest
// coefficient (always 1) left out.
func qrDivisor(n int) []byte {
	r := make([]byte, n)
	r[n-1] = 1
	root := byte(1)
	for range n {
		for j := range r {
			r[j] = qrMul(r[j], root)
			if j+1 < n {
				r[j] ^= r[j+1]
			}
		}
		root = qrMul(root, 0x02)
	}
	return r
}

// qrRemainder is the error correction codewords of data for divisor div.
func qrRemainder(data, div []byte) []byte {
	r := make([]byte, len(div))
	for _, b := range data {
		f := b ^ r[0]
		copy(r, r[1:])
		r[len(r)-1] = 0
		for i, c := range div {
			r[i] ^= qrMul(c, f)
		}
	}
	return r
}

// qrMatrix is a symbol being drawn: mod[y][x] is a module, fn marks the
// function modules that data and masks leave alone.
type qrMatrix struct {
	ver, size int
	mod, fn   [][]bool
}

func newQRMatrix(ver int) *qrMatrix {
	size := 17 + 4*ver
	q := &qrMatrix{ver: ver, size: size, mod: make([][]bool, size), fn: make([][]bool, size)}
	for i := range size {
		q.mod[i], q.fn[i] = make([]bool, size), make([]bool, size)
	}
	for i := range size { // timing patterns
		q.set(6, i, i%2 == 0)
		q.set(i, 6, i%2 == 0)
	}
	q.finder(3, 3)
	q.finder(size-4, 3)
	q.finder(3, size-4)
	pos := qrAlignment(ver, size)
	last := len(pos) - 1
	for i, x := range pos {
		for j, y := range pos {
			if i == 0 && j == 0 || i == 0 && j == last || i == last && j == 0 {
				continue // the finders are there
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					q.set(x+dx, y+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	q.drawFormat(0) // reserve the format areas
	if ver >= 7 {
		rem := ver
		for range 12 {
			rem = rem<<1 ^ (rem>>11)*0x1F25
		}
		bits := ver<<12 | rem
		for i := range 18 {
			dark := bits>>i&1 == 1
			a, b := size-11+i%3, i/3
			q.set(a, b, dark)
			q.set(b, a, dark)
		}
	}
	return q
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// set draws a function module at column x, row y.
func (q *qrMatrix) set(x, y int, dark bool) {
	q.mod[y][x], q.fn[y][x] = dark, true
}

// finder draws a finder pattern centred at x, y with its separator.
func (q *qrMatrix) finder(x, y int) {
	for dy := -4; dy <= 4; dy++ {
		for dx := -4; dx <= 4; dx++ {
			xx, yy := x+dx, y+dy
			if xx >= 0 && xx < q.size && yy >= 0 && yy < q.size {
				d := max(abs(dx), abs(dy))
				q.set(xx, yy, d != 2 && d != 4)
			}
		}
	}
}

// qrAlignment returns the centre coordinates of the alignment patterns.
func qrAlignment(ver, size int) []int {
	if ver == 1 {
		return nil
	}
	n := ver/7 + 2
	step := (ver*4 + n*2 + 1) / (n*2 - 2) * 2
	if ver == 32 {
		step = 26
	}
	pos := make([]int, n)
	pos[0] = 6
	for i, p := n-1, size-7; i >= 1; i, p = i-1, p-step {
		pos[i] = p
	}
	return pos
}

// drawFormat draws the format bits (level M and mask) in both copies, and
// the dark module.
func (q *qrMatrix) drawFormat(mask int) {
	data := 0<<3 | mask // level M is 00
	rem := data
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	bits := (data<<10 | rem) ^ 0x5412
	bit := func(i int) bool { return bits>>i&1 == 1 }
	for i := 0; i <= 5; i++ {
		q.set(8, i, bit(i))
	}
	q.set(8, 7, bit(6))
	q.set(8, 8, bit(7))
	q.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		q.set(14-i, 8, bit(i))
	}
	for i := range 8 {
		q.set(q.size-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		q.set(8, q.size-15+i, bit(i))
	}
	q.set(8, q.size-8, true)
}

// drawCodewords places the codewords in the zigzag order, two columns at a
// time from the bottom right, skipping the vertical timing pattern.
func (q *qrMatrix) drawCodewords(data []byte) {
	i := 0
	for right := q.size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := range q.size {
			for j := range 2 {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = q.size - 1 - vert
				}
				if !q.fn[y][x] && i < len(data)*8 {
					q.mod[y][x] = data[i>>3]>>(7-i&7)&1 == 1
					i++
				}
			}
		}
	}
}

// applyMask XORs mask pattern m onto the data modules; applying it twice
// undoes it.
func (q *qrMatrix) applyMask(m int) {
	for y := range q.size {
		for x := range q.size {
			var inv bool
			switch m {
			case 0:
				inv = (x+y)%2 == 0
			case 1:
				inv = y%2 == 0
			case 2:
				inv = x%3 == 0
			case 3:
				inv = (x+y)%3 == 0
			case 4:
				inv = (x/3+y/2)%2 == 0
			case 5:
				inv = x*y%2+x*y%3 == 0
			case 6:
				inv = (x*y%2+x*y%3)%2 == 0
			case 7:
				inv = ((x+y)%2+x*y%3)%2 == 0
			}
			if inv && !q.fn[y][x] {
				q.mod[y][x] = !q.mod[y][x]
			}
		}
	}
}

// penalty scores a masked symbol by the standard's four rules; the mask
// with the lowest score is kept. (Any mask decodes; the score only avoids
// patterns that confuse scanners.)
func (q *qrMatrix) penalty() int {
	n, p, dark := q.size, 0, 0
	at := func(x, y int, cols bool) bool {
		if cols {
			return q.mod[x][y]
		}
		return q.mod[y][x]
	}
	for _, cols := range []bool{false, true} {
		for y := range n {
			run := 0
			for x := range n {
				if x > 0 && at(x, y, cols) == at(x-1, y, cols) {
					run++
				} else {
					run = 1
				}
				if run == 5 {
					p += 3
				} else if run > 5 {
					p++
				}
				if x >= 10 && finderLike(func(i int) bool { return at(x-10+i, y, cols) }) {
					p += 40
				}
			}
		}
	}
	for y := range n {
		for x := range n {
			if q.mod[y][x] {
				dark++
			}
			if x > 0 && y > 0 {
				c := q.mod[y][x]
				if c == q.mod[y-1][x] && c == q.mod[y][x-1] && c == q.mod[y-1][x-1] {
					p += 3
				}
			}
		}
	}
	total := n * n
	return p + (abs(dark*20-total*10)+total-1)/total*10 - 10
}

// finderLike reports whether 11 modules read 1011101 with four light
// modules on one side.
func finderLike(at func(i int) bool) bool {
	core := at(4) && !at(5) && at(6) && at(7) && at(8) && !at(9) && at(10)
	coreL := at(0) && !at(1) && at(2) && at(3) && at(4) && !at(5) && at(6)
	return core && !at(0) && !at(1) && !at(2) && !at(3) ||
		coreL && !at(7) && !at(8) && !at(9) && !at(10)
}

// qrPNG draws text as a QR code with a quiet zone of four modules in a
// size×size PNG (larger when size cannot hold one pixel per module).
func qrPNG(text string, size int) ([]byte, error) {
	mod, err := qrEncode(text)
	if err != nil {
		return nil, err
	}
	n := len(mod) + 8
	scale := max(1, size/n)
	size = max(size, n*scale)
	off := (size - n*scale) / 2
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y, row := range mod {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetGray(off+(x+4)*scale+dx, off+(y+4)*scale+dy, color.Gray{})
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
