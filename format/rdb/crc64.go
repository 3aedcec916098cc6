package rdb

import "encoding/binary"

// crc64Poly is Redis' CRC-64/Jones polynomial in reflected (LSB-first) form.
const crc64Poly = 0x95AC9329AC4BC9B5

// crc64Tables are slicing-by-8 tables for crc64Poly, built once at init:
// hash/crc64 rebuilds its slicing table on every large Update for a
// non-standard polynomial, which dominates checksumming a big RDB file.
var crc64Tables = makeCRC64Tables()

func makeCRC64Tables() *[8][256]uint64 {
	t := new([8][256]uint64)
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
		for k := 1; k < 8; k++ {
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
	t := crc64Tables
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xFF] ^
			t[6][crc>>8&0xFF] ^
			t[5][crc>>16&0xFF] ^
			t[4][crc>>24&0xFF] ^
			t[3][crc>>32&0xFF] ^
			t[2][crc>>40&0xFF] ^
			t[1][crc>>48&0xFF] ^
			t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}
