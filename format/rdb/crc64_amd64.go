//go:build amd64 && !purego

package rdb

// hasCLMUL: the CPU has PCLMULQDQ (CPUID leaf 1, ECX bit 1), which is not
// part of the amd64 v1 baseline.
var hasCLMUL = cpuidECX1()&(1<<1) != 0

// cpuidECX1 returns ECX of CPUID leaf 1 (crc64_amd64.s).
func cpuidECX1() uint32

// crc64FoldCLMUL folds p (len >= 64, a multiple of 16), with crc xored
// into its first 8 bytes, into a 128-bit remainder congruent to it: the
// CRC-64 of out (from 0) is the CRC-64 of p from crc. k is crc64Fold.
//
//go:noescape
func crc64FoldCLMUL(crc uint64, p []byte, k *[4]uint64, out *[16]byte)

// crc64CLMUL is CRC64 of p (len >= 64, a multiple of 16) by carry-less
// multiplication.
func crc64CLMUL(crc uint64, p []byte) uint64 {
	var r [16]byte
	crc64FoldCLMUL(crc, p, &crc64Fold, &r)
	return crc64Table(0, r[:])
}
