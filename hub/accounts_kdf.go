package hub

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// KDF is argon2id's cost: passes, memory in KiB and lanes. A password hash
// keeps the parameters it was made with, so they can be raised later: a
// user's hash is made again with the new ones at their next sign-in.
type KDF struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultKDF is the cost of new password hashes: 2 passes over 64 MiB on
// 2 lanes (RFC 9106's second recommendation has 3 passes; OWASP's minimum
// is 2 passes over 19 MiB).
var DefaultKDF = KDF{Time: 2, Memory: 64 << 10, Threads: 2}

// Hash lengths.
const (
	kdfSaltLen = 16
	kdfHashLen = 32
)

// Password bounds: long enough to resist guessing, short enough to hash
// without letting a caller pick the cost.
const (
	MinPassword = 10
	MaxPassword = 256 // bytes
)

// checkPassword refuses a password outside the bounds.
func checkPassword(pw string) error {
	switch {
	case len([]rune(pw)) < MinPassword:
		return invalid("password: at least %d characters, please", MinPassword)
	case len(pw) > MaxPassword:
		return invalid("password: at most %d bytes", MaxPassword)
	}
	return nil
}

// String is the PHC parameter segment, m=…,t=…,p=….
func (k KDF) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", k.Memory, k.Time, k.Threads)
}

// valid reports whether k is within the bounds a hub hashes with: at least
// one pass, at most 16; 8 KiB per lane up to 1 GiB; 1 to 16 lanes.
func (k KDF) valid() bool {
	return k.Time >= 1 && k.Time <= 16 && k.Threads >= 1 && k.Threads <= 16 &&
		k.Memory >= 8*uint32(k.Threads) && k.Memory <= 1<<20
}

// weaker reports whether k costs less than want in any parameter.
func (k KDF) weaker(want KDF) bool {
	return k.Time < want.Time || k.Memory < want.Memory || k.Threads < want.Threads
}

// passwordHash is a parsed PHC string.
type passwordHash struct {
	kdf  KDF
	salt []byte
	sum  []byte
}

// errPHC is every unreadable hash (the detail follows it).
var errPHC = errors.New("password hash")

// encodePHC writes h as $argon2id$v=19$m=…,t=…,p=…$salt$hash (base64, no
// padding).
func encodePHC(h passwordHash) string {
	b := base64.RawStdEncoding
	return "$argon2id$v=" + strconv.Itoa(argon2.Version) + "$" + h.kdf.String() + "$" +
		b.EncodeToString(h.salt) + "$" + b.EncodeToString(h.sum)
}

// parsePHC reads what encodePHC wrote, refusing parameters out of bounds
// (a stored hash must never make the hub allocate what it likes).
func parsePHC(s string) (passwordHash, error) {
	f := strings.Split(s, "$")
	if strings.ContainsAny(s, "\r\n") { // base64 decoding skips them
		return passwordHash{}, fmt.Errorf("%w: line breaks", errPHC)
	}
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return passwordHash{}, fmt.Errorf("%w: want $argon2id$v=19$m=N,t=N,p=N$salt$hash", errPHC)
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return passwordHash{}, fmt.Errorf("%w: version %.12q, want v=%d", errPHC, f[2], argon2.Version)
	}
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return passwordHash{}, fmt.Errorf("%w: parameters %.40q, want m=N,t=N,p=N", errPHC, f[3])
	}
	var v [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		num, ok := strings.CutPrefix(params[i], name)
		if !ok || num == "" || num[0] == '0' || len(num) > 8 {
			return passwordHash{}, fmt.Errorf("%w: parameter %d is not %sN", errPHC, i+1, name)
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			return passwordHash{}, fmt.Errorf("%w: parameter %d is not %sN", errPHC, i+1, name)
		}
		v[i] = n
	}
	if v[2] > 255 {
		return passwordHash{}, fmt.Errorf("%w: %d lanes", errPHC, v[2])
	}
	h := passwordHash{kdf: KDF{Memory: uint32(v[0]), Time: uint32(v[1]), Threads: uint8(v[2])}}
	if !h.kdf.valid() {
		return passwordHash{}, fmt.Errorf("%w: parameters %s out of bounds", errPHC, h.kdf)
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.Strict().DecodeString(f[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return passwordHash{}, fmt.Errorf("%w: salt is not 8 to 64 bytes of base64", errPHC)
	}
	if h.sum, err = base64.RawStdEncoding.Strict().DecodeString(f[5]); err != nil || len(h.sum) < 16 || len(h.sum) > 64 {
		return passwordHash{}, fmt.Errorf("%w: hash is not 16 to 64 bytes of base64", errPHC)
	}
	return h, nil
}

// hasher runs argon2id at most slots at a time, so a burst of sign-ins
// waits its turn rather than taking slots × Memory at once.
type hasher struct {
	kdf   KDF
	slots chan struct{}
}

func newHasher(kdf KDF, slots int) *hasher {
	return &hasher{kdf: kdf, slots: make(chan struct{}, slots)}
}

// derive runs argon2id in a slot, or returns ctx's error while waiting.
func (h *hasher) derive(ctx context.Context, pw string, salt []byte, k KDF, n uint32) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(pw), salt, k.Time, k.Memory, k.Threads, n), nil
}

// hash makes a new PHC string of pw with salt.
func (h *hasher) hash(ctx context.Context, pw string, salt []byte) (string, error) {
	sum, err := h.derive(ctx, pw, salt, h.kdf, kdfHashLen)
	if err != nil {
		return "", err
	}
	return encodePHC(passwordHash{kdf: h.kdf, salt: salt, sum: sum}), nil
}

// verify reports whether pw matches the PHC string stored, comparing in
// constant time, and whether the hash should be made again with the
// current parameters.
func (h *hasher) verify(ctx context.Context, pw, stored string) (ok, rehash bool, err error) {
	ph, err := parsePHC(stored)
	if err != nil {
		return false, false, err
	}
	sum, err := h.derive(ctx, pw, ph.salt, ph.kdf, uint32(len(ph.sum)))
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(sum, ph.sum) == 1
	return ok, ok && ph.kdf.weaker(h.kdf), nil
}
