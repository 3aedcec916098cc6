//go:build amd64 && !purego

#include "textflag.h"

// func cpuidECX1() uint32
TEXT ·cpuidECX1(SB), NOSPLIT, $0-4
	MOVL $1, AX
	XORL CX, CX
	CPUID
	MOVL CX, ret+0(FP)
	RET

// func crc64FoldCLMUL(crc uint64, p []byte, k *[4]uint64, out *[16]byte)
//
// Reflected order: a 16-byte block loaded little-endian has the highest
// power of x in bit 0. Four lanes X0..X3 fold 64 bytes per round by x^512
// (constants in X4), then merge into X0 by x^128 (X5) and take the
// remaining 16-byte blocks.
TEXT ·crc64FoldCLMUL(SB), NOSPLIT, $0-48
	MOVQ crc+0(FP), AX
	MOVQ p_base+8(FP), SI
	MOVQ p_len+16(FP), CX
	MOVQ k+32(FP), BX
	MOVQ out+40(FP), DI

	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVQ  AX, X8 // the initial crc enters as the first 8 bytes' xor
	PXOR  X8, X0
	ADDQ  $64, SI
	SUBQ  $64, CX

	MOVOU 0(BX), X4  // x^575, x^511 mod P
	MOVOU 16(BX), X5 // x^191, x^127 mod P

loop64:
	CMPQ CX, $64
	JB   merge
	MOVOA X0, X8
	MOVOA X1, X9
	MOVOA X2, X10
	MOVOA X3, X11
	PCLMULQDQ $0x00, X4, X0
	PCLMULQDQ $0x00, X4, X1
	PCLMULQDQ $0x00, X4, X2
	PCLMULQDQ $0x00, X4, X3
	PCLMULQDQ $0x11, X4, X8
	PCLMULQDQ $0x11, X4, X9
	PCLMULQDQ $0x11, X4, X10
	PCLMULQDQ $0x11, X4, X11
	MOVOU 0(SI), X12
	MOVOU 16(SI), X13
	MOVOU 32(SI), X14
	MOVOU 48(SI), X15
	PXOR  X8, X0
	PXOR  X9, X1
	PXOR  X10, X2
	PXOR  X11, X3
	PXOR  X12, X0
	PXOR  X13, X1
	PXOR  X14, X2
	PXOR  X15, X3
	ADDQ  $64, SI
	SUBQ  $64, CX
	JMP   loop64

merge:
	MOVOA X0, X8
	PCLMULQDQ $0x00, X5, X0
	PCLMULQDQ $0x11, X5, X8
	PXOR  X8, X0
	PXOR  X1, X0
	MOVOA X0, X8
	PCLMULQDQ $0x00, X5, X0
	PCLMULQDQ $0x11, X5, X8
	PXOR  X8, X0
	PXOR  X2, X0
	MOVOA X0, X8
	PCLMULQDQ $0x00, X5, X0
	PCLMULQDQ $0x11, X5, X8
	PXOR  X8, X0
	PXOR  X3, X0

loop16:
	CMPQ CX, $16
	JB   done
	MOVOA X0, X8
	PCLMULQDQ $0x00, X5, X0
	PCLMULQDQ $0x11, X5, X8
	MOVOU 0(SI), X9
	PXOR  X8, X0
	PXOR  X9, X0
	ADDQ  $16, SI
	SUBQ  $16, CX
	JMP   loop16

done:
	MOVOU X0, 0(DI)
	RET
