package manifest

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel causes carried by [ParseError]. Their text is Redis' own message
// (aof.c aofLoadManifestFromFile), so a CLI can quote it.
var (
	ErrEmpty         = errors.New("Found an empty AOF manifest")
	ErrLineTooLong   = errors.New("The AOF manifest file contains too long line")
	ErrInvalidFormat = errors.New("Invalid AOF manifest file format")
	ErrPath          = errors.New("File can't be a path, just a filename")
	ErrDuplicateBase = errors.New("Found duplicate base file information")
	ErrNonMonotonic  = errors.New("Found a non-monotonic sequence number")
	ErrUnknownType   = errors.New("Unknown AOF file type")
	// ErrTooLarge: the manifest is larger than the size cap (not a Redis
	// rule: Redis has none, but a manifest is a few lines).
	ErrTooLarge = errors.New("manifest larger than the size limit")
	// ErrName: a name Redis could not round-trip (empty, or with a NUL,
	// which the parser truncates at). Reported by Validate only.
	ErrName = errors.New("invalid file name")
)

// ParseError reports the rule a manifest line breaks.
type ParseError struct {
	Line int    // 1-based line (for Validate: 1-based record index)
	Text string // the offending line as read, without the newline; may be clipped
	Err  error  // one of the sentinels above
}

func (e *ParseError) Error() string {
	s := "manifest: line " + strconv.Itoa(e.Line) + ": " + fmt.Sprint(e.Err)
	if e.Text != "" {
		s += " (" + strconv.Quote(e.Text) + ")"
	}
	return s
}

func (e *ParseError) Unwrap() error { return e.Err }
