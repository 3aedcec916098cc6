package resp

// Limits bound what a [Reader] accepts from hostile input. A zero field
// means "use the default".
type Limits struct {
	// MaxLineLen bounds a header ("*N", "$N") or annotation line, CRLF
	// included. Redis reads these lines with a 1024-byte buffer.
	MaxLineLen int
	// MaxArgs bounds the argument count of one command.
	MaxArgs int64
	// MaxBulkLen bounds one argument, like Redis' proto-max-bulk-len.
	MaxBulkLen int64
}

// DefaultLimits are used for zero fields of [Limits].
var DefaultLimits = Limits{
	MaxLineLen: 64 << 10,
	MaxArgs:    1 << 24,
	MaxBulkLen: 512 << 20,
}

func (l Limits) withDefaults() Limits {
	if l.MaxLineLen <= 0 {
		l.MaxLineLen = DefaultLimits.MaxLineLen
	}
	if l.MaxArgs <= 0 {
		l.MaxArgs = DefaultLimits.MaxArgs
	}
	if l.MaxBulkLen <= 0 {
		l.MaxBulkLen = DefaultLimits.MaxBulkLen
	}
	return l
}
