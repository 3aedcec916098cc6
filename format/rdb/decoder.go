package rdb

import (
	"errors"
	"io"
)

// STUB: owned by the decoder work (issue 3); replace wholesale.

// Limits bound what a hostile file can make the decoder allocate.
type Limits struct {
	MaxStringLen uint64 // default 512 MiB (proto-max-bulk-len)
	MaxElements  uint64 // max elements in one collection
}

// DefaultLimits are used when DecodeOptions.Limits is zero.
var DefaultLimits = Limits{MaxStringLen: 512 << 20, MaxElements: 1 << 32}

// DecodeOptions configure a Decoder. The zero value is valid.
type DecodeOptions struct {
	Limits Limits
	// Deep enables validation like Redis' sanitize-dump-payload yes.
	Deep bool
	// Warn receives non-fatal problems (unknown AUX, checksum disabled).
	Warn func(error)
}

// Decoder reads an RDB stream record by record. Not safe for concurrent use.
type Decoder struct{}

// NewDecoder returns a decoder reading from r. If r is a *bufio.Reader it
// is used as is (so an AOF reader can resume after the RDB preamble).
func NewDecoder(r io.Reader, opt *DecodeOptions) *Decoder { return &Decoder{} }

// Version reads the header if needed and returns the RDB version.
func (d *Decoder) Version() (int, error) { return 0, errors.New("rdb: not implemented") }

// Flavour reads the header if needed and returns the file's flavour.
func (d *Decoder) Flavour() (Flavour, error) { return FlavourRedis, errors.New("rdb: not implemented") }

// Next returns the next record; io.EOF only after the EOF opcode and a
// verified (or disabled) checksum.
func (d *Decoder) Next() (Record, error) { return nil, errors.New("rdb: not implemented") }

// Value decodes the value of the Entry last returned by Next.
func (d *Decoder) Value() (Value, error) { return nil, errors.New("rdb: not implemented") }

// Offset is the number of bytes consumed so far.
func (d *Decoder) Offset() int64 { return 0 }

// Checksum returns the stored and the computed CRC64 after io.EOF.
func (d *Decoder) Checksum() (stored, computed uint64) { return 0, 0 }
