package rdb

// Limits bound what a hostile file can make the decoder allocate. A value
// over a limit fails with a *FormatError wrapping ErrLimit at the offset of
// the length field. Zero fields take their DefaultLimits value.
type Limits struct {
	MaxStringLen uint64 // longest string or blob, also LZF output; default 512 MiB (proto-max-bulk-len)
	MaxElements  uint64 // most elements in one collection, nodes in one quicklist or stream; default 2^32
	MaxRawLen    uint64 // largest raw module opcode stream kept (module values, MODULE_AUX, KEY_META); default 512 MiB
}

// DefaultLimits are used for every zero field of DecodeOptions.Limits.
var DefaultLimits = Limits{MaxStringLen: 512 << 20, MaxElements: 1 << 32, MaxRawLen: 512 << 20}

// DecodeOptions configure a Decoder. The zero value (or a nil pointer) is
// valid: default limits, shallow validation, warnings dropped.
type DecodeOptions struct {
	Limits Limits
	// Deep enables validation like Redis' sanitize-dump-payload yes plus a
	// few checks Redis leaves out (duplicate members and fields, NaN scores,
	// listpack zset order, stream consistency). Deep also makes Next fully
	// decode and check values that the caller skips.
	Deep bool
	// Warn receives non-fatal problems (unknown AUX field, checksum
	// disabled, expire opcode not followed by a key). Nil drops them.
	Warn func(error)
	// ReuseEntry makes Next return the same *Entry for every key, its Key
	// in a buffer the decoder reuses: both are valid only until the next
	// call of Next. It saves two allocations per key for callers that do
	// not keep entries (copy what must outlive the record).
	ReuseEntry bool
	// ConcurrentCRC reads the input ahead and computes its CRC-64 on a
	// second goroutine while the decoder parses, for input that is neither
	// the caller's *bufio.Reader nor in memory (has Len). The reader is
	// then called from that goroutine (one call at a time), not from the
	// caller's; see NewDecoder. Off by default: the package starts no
	// goroutine unless asked to. The goroutine stops at the footer, on the
	// first error, on Close, or when an abandoned Decoder is collected.
	ConcurrentCRC bool
}

func (l Limits) withDefaults() Limits {
	if l.MaxStringLen == 0 {
		l.MaxStringLen = DefaultLimits.MaxStringLen
	}
	if l.MaxElements == 0 {
		l.MaxElements = DefaultLimits.MaxElements
	}
	if l.MaxRawLen == 0 {
		l.MaxRawLen = DefaultLimits.MaxRawLen
	}
	return l
}
