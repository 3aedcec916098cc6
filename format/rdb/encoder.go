package rdb

import (
	"errors"
	"io"
)

// STUB: owned by the encoder work (issue 6); replace wholesale.

// EncodeOptions configure an Encoder.
type EncodeOptions struct {
	Version int     // target RDB version, 6..13 or 80 (Valkey); 0 = 12
	Flavour Flavour // FlavourValkey with Version 11 (Valkey 8) or 80 (Valkey 9)
}

// Encoder writes an RDB stream. Not safe for concurrent use.
type Encoder struct{}

// NewEncoder returns an encoder writing to w.
func NewEncoder(w io.Writer, opt *EncodeOptions) *Encoder { return &Encoder{} }

// Write writes a non-key record (*Aux, *SelectDB, *ResizeDB, *Function, *ModuleAux, ...).
func (e *Encoder) Write(rec Record) error { return errors.New("rdb: not implemented") }

// WriteEntry writes one key with its value, choosing the encoding.
func (e *Encoder) WriteEntry(ent *Entry, v Value) error { return errors.New("rdb: not implemented") }

// Close writes the EOF opcode and the CRC64 footer; it does not close w.
func (e *Encoder) Close() error { return errors.New("rdb: not implemented") }

// EncodeDump returns the DUMP payload of v: value, 2-byte RDB version, CRC64.
func EncodeDump(v Value, version int) ([]byte, error) { return nil, errors.New("rdb: not implemented") }

// DecodeDump decodes a DUMP payload (as RESTORE does), verifying its footer.
func DecodeDump(payload []byte) (Value, error) { return nil, errors.New("rdb: not implemented") }
