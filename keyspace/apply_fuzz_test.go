package keyspace

import (
	"bytes"
	"testing"
)

// FuzzApply feeds arbitrary command sequences to Apply: lines separated by
// '\n', arguments by ' ' (so every byte value can appear in arguments). It
// must never panic, and the store must stay digestible.
func FuzzApply(f *testing.F) {
	for _, seed := range []string{
		"SET a 1\nINCR a\nAPPEND a x",
		"RPUSH l a b c\nLMOVE l l RIGHT LEFT\nLTRIM l 1 -1\nLINSERT l BEFORE b z\nLREM l -1 z",
		"ZADD z 1 a 2 b\nZUNIONSTORE d 2 z z WEIGHTS 1 -1 AGGREGATE MIN\nZRANGESTORE e z (a + BYLEX REV LIMIT 0 1",
		"PFADD h a b c\nPFADD h d\nPFMERGE m h\nPFCOUNT m\nPFDEBUG TODENSE m\nPFADD m e",
		"SETBIT b 100 1\nBITFIELD b OVERFLOW SAT INCRBY i64 #3 -9223372036854775808\nBITOP XOR c b b",
		"XADD x 1-1 f v\nXGROUP CREATE x g $ MKSTREAM\nXCLAIM x g c 0 1-1 FORCE\nXTRIM x MINID 2\nXSETID x 5-5",
		"HSET h f v\nHPEXPIREAT h 100 FIELDS 1 f\nHINCRBYFLOAT h f 1e4000\nHPERSIST h FIELDS 1 f",
		"GEOADD g 13.3 38.1 a 13.4 38.2 b\nGEOSEARCHSTORE d g FROMMEMBER a BYBOX 100 100 km COUNT 1 ANY",
		"MULTI\nSET a b\nSWAPDB 0 15\nEXEC\nSELECT 15\nCOPY a b DB 0\nMOVE a 3",
		"RESTORE k 0 \x00\x01a\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"SETRANGE s 536870911 x\nINCRBYFLOAT f 0x1p-16445\nSET e x PXAT 9223372036854775807",
	} {
		f.Add([]byte(seed))
	}
	maxStringLen = 1 << 20 // keep each input cheap; the logic is the same
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		s := New(1_700_000_000_000)
		for _, line := range bytes.Split(data, []byte("\n")) {
			args := bytes.Split(line, []byte(" "))
			_ = s.Apply(args)
		}
		s.DiscardMulti()
		_ = s.Digest(DigestOptions{})
	})
}
