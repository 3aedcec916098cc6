package rdb

import (
	"encoding/binary"
	"math/bits"
)

// crc64Poly is Redis' CRC-64/Jones polynomial in reflected (LSB-first) form.
const crc64Poly = 0x95AC9329AC4BC9B5

// crc64Tables are slicing-by-16 tables for crc64Poly, built once at init:
// hash/crc64 rebuilds its slicing table on every large Update for a
// non-standard polynomial, which dominates checksumming a big RDB file.
var crc64Tables = makeCRC64Tables()

func makeCRC64Tables() *[16][256]uint64 {
	t := new([16][256]uint64)
	for i := range 256 {
		c := uint64(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ crc64Poly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 16; k++ {
			c = t[0][c&0xFF] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}

// CRC64 updates crc with p using Redis' CRC-64/Jones (reflected, init 0, no
// final xor), the checksum of RDB files and DUMP payloads. Start with crc 0;
// CRC64(0, []byte("123456789")) == 0xe9c6d914c4b8d9ca.
func CRC64(crc uint64, p []byte) uint64 {
	if hasCLMUL && len(p) >= clmulMinLen {
		n := len(p) &^ 15
		crc = crc64CLMUL(crc, p[:n])
		p = p[n:]
	}
	return crc64Table(crc, p)
}

// clmulMinLen is where carry-less multiplication beats the tables (it has
// a fixed cost: 16 bytes through the tables at the end).
const clmulMinLen = 128

// crc64Table is CRC64 by slicing-by-16 tables, for any input and CPU.
func crc64Table(crc uint64, p []byte) uint64 {
	t := crc64Tables
	for len(p) >= 16 {
		// The first 8 bytes pass through the crc, the next 8 only through
		// the tables; 16 lookups per step, one short dependency chain.
		a := crc ^ binary.LittleEndian.Uint64(p)
		b := binary.LittleEndian.Uint64(p[8:])
		crc = t[15][byte(a)] ^ t[14][byte(a>>8)] ^ t[13][byte(a>>16)] ^ t[12][byte(a>>24)] ^
			t[11][byte(a>>32)] ^ t[10][byte(a>>40)] ^ t[9][byte(a>>48)] ^ t[8][byte(a>>56)] ^
			t[7][byte(b)] ^ t[6][byte(b>>8)] ^ t[5][byte(b>>16)] ^ t[4][byte(b>>24)] ^
			t[3][byte(b>>32)] ^ t[2][byte(b>>40)] ^ t[1][byte(b>>48)] ^ t[0][byte(b>>56)]
		p = p[16:]
	}
	if len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][byte(crc)] ^ t[6][byte(crc>>8)] ^ t[5][byte(crc>>16)] ^ t[4][byte(crc>>24)] ^
			t[3][byte(crc>>32)] ^ t[2][byte(crc>>40)] ^ t[1][byte(crc>>48)] ^ t[0][byte(crc>>56)]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}

// Folding constants for carry-less multiplication (crc64_amd64.s). The
// input is folded 128 bits at a time: for a remainder R = H·x^64 + L and
// a distance of d bits, R·x^d ≡ H·(x^(d+64) mod P) + L·(x^d mod P). In the
// reflected (LSB-first) order the 64x64-bit product comes out one bit
// short of the 128-bit register's order, so each exponent is one less.
// Layout: fold by 512 bits (four lanes of 128), then by 128.
var crc64Fold = [4]uint64{
	xPowModP(512 + 64 - 1), xPowModP(512 - 1),
	xPowModP(128 + 64 - 1), xPowModP(128 - 1),
}

// xPowModP is x^n mod P as a reflected 64-bit value (x^0 in bit 63).
func xPowModP(n int) uint64 {
	const normal = 0xAD93D23594C935A9 // crc64Poly bit-reversed: x^k in bit k, x^64 implied
	r := uint64(1)
	for range n {
		hi := r >> 63
		r <<= 1
		if hi != 0 {
			r ^= normal
		}
	}
	return bits.Reverse64(r)
}
