// Package rdb reads and writes Redis RDB files: the snapshots written by
// SAVE/BGSAVE, the RDB preamble of an AOF base file, and (value part only)
// DUMP payloads.
//
// # Format
//
// A file is "REDIS" plus 4 version digits (or "VALKEY" plus 3 for Valkey 9),
// a flat sequence of items each starting with an opcode or value-type byte,
// the EOF opcode 0xFF and, from version 5 on, an 8-byte little-endian
// CRC-64/Jones of everything before it (0 = checksums disabled). Keys are
// a type byte, the key string and a type-specific value, optionally
// preceded by key-scoped opcodes (expire, LRU idle, LFU freq, Redis 13
// KEY_META). Lengths are big-endian where they are 32/64-bit; integers
// inside blobs (listpack, ziplist, intset) and binary doubles are
// little-endian.
//
// Covered: RDB versions 1..13 (Redis 2.x to 8.x, Valkey 7/8 which write
// REDIS0011) and VALKEY080 (Valkey 9.0, whose type 22 is HASH_2). Every
// opcode (AUX, RESIZEDB, EXPIRETIME[_MS], SELECTDB, IDLE, FREQ, MODULE_AUX,
// FUNCTION2, SLOT_INFO, KEY_META) and value type 0..26: plain, zipmap,
// ziplist, intset, quicklist (v1 and v2), listpack and listpack-ex
// encodings, streams v1..v4, MODULE_2 values (kept raw: the module opcode
// stream is walked, not interpreted) and hash field expiration types 22..25.
// Refused with ErrUnsupported: other versions, the pre-GA module type 6 and
// the 7.0-rc function opcode 246.
//
// # Decoding
//
// [Decoder] has the shape of archive/tar.Reader: [Decoder.Next] returns one
// [Record] at a time, [Decoder.Value] decodes the current key's value on
// demand, and an unread value is skipped cheaply. [Decoder.Elements] streams
// a huge collection element by element. Memory stays bounded by the largest
// single value (by one listpack node with Elements). Every length in the
// input is checked against [Limits] before it is trusted, and buffers grow
// as data arrives. Errors are *[FormatError] values carrying the absolute
// byte offset and the key, wrapping io.ErrUnexpectedEOF, [ErrCorrupt],
// [ErrChecksum], [ErrLimit] or [ErrUnsupported].
//
// Redis sources followed: rdb.h, rdb.c (rdbLoadObject, rdbLoadRio),
// redis-check-rdb.c, listpack.c, ziplist.c, intset.c, zipmap.c, t_stream.c,
// module.c, lzf_d.c; Valkey's rdb.c for RDB 80. Where the project's spec
// and files written by real servers disagree, the files win.
package rdb
