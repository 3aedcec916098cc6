package rdb

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Thresholds are the server's encoding-conversion limits. They decide which
// compact encoding a value gets, exactly as the server's config would. Zero
// fields take the value from DefaultThresholds.
type Thresholds struct {
	HashMaxListpackEntries int // hash-max-listpack-entries (hash-max-ziplist-entries before 7.0)
	HashMaxListpackValue   int // hash-max-listpack-value (hash-max-ziplist-value)
	ZSetMaxListpackEntries int // zset-max-listpack-entries (zset-max-ziplist-entries)
	ZSetMaxListpackValue   int // zset-max-listpack-value (zset-max-ziplist-value)
	SetMaxIntsetEntries    int // set-max-intset-entries
	SetMaxListpackEntries  int // set-max-listpack-entries (7.2+)
	SetMaxListpackValue    int // set-max-listpack-value (7.2+)
	// ListMaxListpackSize is list-max-listpack-size (list-max-ziplist-size):
	// negative -1..-5 = node byte limit 4/8/16/32/64 KiB, positive = entries.
	ListMaxListpackSize int
	// ListMaxZiplistEntries / ListMaxZiplistValue apply to RDB 6 targets,
	// which store small lists as one ziplist (type 10), others as type 1.
	ListMaxZiplistEntries int // list-max-ziplist-entries (<= 3.0)
	ListMaxZiplistValue   int // list-max-ziplist-value (<= 3.0)
	StreamNodeMaxBytes    int // stream-node-max-bytes
	StreamNodeMaxEntries  int // stream-node-max-entries
}

// DefaultThresholds are Redis' defaults.
var DefaultThresholds = Thresholds{
	HashMaxListpackEntries: 128,
	HashMaxListpackValue:   64,
	ZSetMaxListpackEntries: 128,
	ZSetMaxListpackValue:   64,
	SetMaxIntsetEntries:    512,
	SetMaxListpackEntries:  128,
	SetMaxListpackValue:    64,
	ListMaxListpackSize:    -2,
	ListMaxZiplistEntries:  512,
	ListMaxZiplistValue:    64,
	StreamNodeMaxBytes:     4096,
	StreamNodeMaxEntries:   100,
}

func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds
	for _, p := range []struct{ v, def *int }{
		{&t.HashMaxListpackEntries, &d.HashMaxListpackEntries}, {&t.HashMaxListpackValue, &d.HashMaxListpackValue},
		{&t.ZSetMaxListpackEntries, &d.ZSetMaxListpackEntries}, {&t.ZSetMaxListpackValue, &d.ZSetMaxListpackValue},
		{&t.SetMaxIntsetEntries, &d.SetMaxIntsetEntries}, {&t.SetMaxListpackEntries, &d.SetMaxListpackEntries},
		{&t.SetMaxListpackValue, &d.SetMaxListpackValue}, {&t.ListMaxListpackSize, &d.ListMaxListpackSize},
		{&t.ListMaxZiplistEntries, &d.ListMaxZiplistEntries}, {&t.ListMaxZiplistValue, &d.ListMaxZiplistValue},
		{&t.StreamNodeMaxBytes, &d.StreamNodeMaxBytes}, {&t.StreamNodeMaxEntries, &d.StreamNodeMaxEntries},
	} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	return t
}

// EncodeOptions configure an Encoder. A nil *EncodeOptions means version 12,
// Redis flavour, default thresholds.
type EncodeOptions struct {
	Version int     // target RDB version, 6..13 or 80 (Valkey); 0 = 12
	Flavour Flavour // FlavourValkey with Version 11 (Valkey 8) or 80 (Valkey 9)
	// Thresholds pick compact encodings; zero value = DefaultThresholds.
	Thresholds Thresholds
	// KeepEncoding honours Entry.Encoding (e.g. keep a small hash as a
	// hashtable) when the target version has a type for it.
	KeepEncoding bool
	// NoCompress disables LZF string compression (rdbcompression no).
	NoCompress bool
	// NoChecksum writes a zero CRC (rdbchecksum no).
	NoChecksum bool
	// The encoder writes no AUX fields of its own: callers write
	// redis-ver (or valkey-ver for Valkey targets), redis-bits, ...
	//
	// Lossy degrades what the target cannot hold (field TTLs, functions,
	// stream metadata, ...) instead of failing with ErrUnsupported, and
	// reports each loss to OnLossy (key is nil for non-key records).
	Lossy   bool
	OnLossy func(key []byte, what string)
}

// resolved returns a copy with defaults applied.
func (o *EncodeOptions) resolved() EncodeOptions {
	var r EncodeOptions
	if o != nil {
		r = *o
	}
	if r.Version == 0 {
		r.Version = 12
		if r.Flavour == FlavourValkey {
			r.Version = 80
		}
	}
	if r.Version == 80 {
		r.Flavour = FlavourValkey
	}
	r.Thresholds = r.Thresholds.withDefaults()
	return r
}

func (o *EncodeOptions) validate() error {
	switch {
	case o.Flavour == FlavourValkey && (o.Version == 11 || o.Version == 80):
	case o.Flavour == FlavourRedis && o.Version >= 6 && o.Version <= 13:
	default:
		return &FormatError{Context: fmt.Sprintf("target version %d (flavour %d)", o.Version, o.Flavour), Err: ErrUnsupported}
	}
	return nil
}

// valkey80 reports whether the target uses Valkey 9's type table.
func (o *EncodeOptions) valkey80() bool { return o.Flavour == FlavourValkey && o.Version >= 80 }

// redisAtLeast reports whether the target is a Redis-lineage version >= v
// (Valkey 80 shares everything up to 11 but none of Redis 12+).
func (o *EncodeOptions) redisAtLeast(v int) bool {
	if o.valkey80() {
		return v <= 11
	}
	return o.Version >= v
}

// lossy reports a loss, or returns the ErrUnsupported error naming key.
func (o *EncodeOptions) lossy(key []byte, what string) error {
	if !o.Lossy {
		return &FormatError{Key: key, Context: fmt.Sprintf("%s in RDB version %d", what, o.Version), Err: ErrUnsupported}
	}
	if o.OnLossy != nil {
		o.OnLossy(key, what)
	}
	return nil
}

// Encoder writes an RDB stream. Not safe for concurrent use.
type Encoder struct {
	w        io.Writer
	opt      EncodeOptions
	buf      []byte
	crc      uint64
	off      int64 // bytes handed to w so far
	err      error // sticky
	started  bool  // header written
	closed   bool
	db       uint64
	dbWasSet bool
	blob     []byte      // reused listpack/ziplist/intset buffer
	ents     []blobEntry // reused blob element list
}

// flushAt is the buffered size at which records are handed to w.
const flushAt = 64 << 10

// NewEncoder returns an encoder writing to w. The header is written with
// the first record (or by Close).
func NewEncoder(w io.Writer, opt *EncodeOptions) *Encoder {
	e := &Encoder{w: w, opt: opt.resolved()}
	e.err = e.opt.validate()
	return e
}

func (e *Encoder) header() {
	if e.started {
		return
	}
	e.started = true
	if e.opt.Flavour == FlavourValkey && e.opt.Version > 79 {
		e.buf = fmt.Appendf(e.buf, "VALKEY%03d", e.opt.Version)
	} else {
		e.buf = fmt.Appendf(e.buf, "REDIS%04d", e.opt.Version)
	}
}

func (e *Encoder) flush(force bool) error {
	if len(e.buf) == 0 || (!force && len(e.buf) < flushAt) {
		return nil
	}
	e.crc = CRC64(e.crc, e.buf)
	n, err := e.w.Write(e.buf)
	e.off += int64(n)
	e.buf = e.buf[:0]
	if err != nil {
		e.err = fmt.Errorf("rdb: write: %w", err)
	}
	return e.err
}

func (e *Encoder) check() error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return &FormatError{Offset: e.off, Err: ErrWriteAfterClose}
	}
	e.header()
	return nil
}

// Write writes a non-key record: *Aux, *SelectDB, *ResizeDB, *SlotInfo,
// *Function or *ModuleAux. Records the target version predates are dropped
// when they are only hints (AUX, RESIZEDB, SLOT_INFO), and otherwise need
// Lossy. An *Entry is written without a value: use WriteEntry.
func (e *Encoder) Write(rec Record) error {
	if err := e.check(); err != nil {
		return err
	}
	o := &e.opt
	b := e.buf
	switch r := rec.(type) {
	case *Aux:
		if o.Version < 7 {
			return nil
		}
		b = append(b, OpAux)
		b = e.appendString(b, r.Key)
		b = e.appendString(b, r.Value)
	case *SelectDB:
		b = append(b, OpSelectDB)
		b = appendLen(b, r.DB)
		e.db, e.dbWasSet = r.DB, true
	case *ResizeDB:
		if o.Version < 7 {
			return nil
		}
		b = append(b, OpResizeDB)
		b = appendLen(b, r.DBSize)
		b = appendLen(b, r.ExpiresSize)
	case *SlotInfo:
		switch {
		case o.Flavour == FlavourValkey:
			// Valkey writes its slot hint as an AUX field.
			b = append(b, OpAux)
			b = e.appendString(b, []byte("slot-info"))
			b = e.appendString(b, fmt.Appendf(nil, "%d,%d,%d", r.Slot, r.SlotSize, r.ExpiresSize))
		case o.Version >= 12:
			b = append(b, OpSlotInfo)
			b = appendLen(b, r.Slot)
			b = appendLen(b, r.SlotSize)
			b = appendLen(b, r.ExpiresSize)
		default:
			return nil
		}
	case *Function:
		if o.Version < 10 {
			return e.locate(o.lossy(nil, "function library"), nil)
		}
		b = append(b, OpFunction2)
		b = e.appendString(b, r.Code)
	case *ModuleAux:
		if o.Version < 9 {
			return e.locate(o.lossy(nil, "module aux data "+r.Name), nil)
		}
		b = append(b, OpModuleAux)
		b = appendLen(b, r.ModuleID)
		b = appendLen(b, 2) // RDB_MODULE_OPCODE_UINT: the "when" operand
		b = appendLen(b, r.When)
		b = append(b, r.Raw...)
	case *Entry:
		return &FormatError{Offset: e.off, Key: r.Key, Context: "Write(*Entry)", Err: fmt.Errorf("%w: use WriteEntry", ErrUnsupported)}
	default:
		return &FormatError{Offset: e.off, Context: fmt.Sprintf("record %T", rec), Err: ErrUnsupported}
	}
	e.buf = b
	return e.flush(false)
}

// WriteEntry writes one key with its value, preceded by SELECTDB when
// ent.DB differs from the current database. The type is chosen by
// chooseEncoding like the target server would. ent.ExpireAtMs, LRUIdleSec
// and LFUFreq use their "absent" values NoExpire and -1.
func (e *Encoder) WriteEntry(ent *Entry, v Value) error {
	if err := e.check(); err != nil {
		return err
	}
	if ent == nil || v == nil {
		return &FormatError{Offset: e.off, Context: "WriteEntry", Err: fmt.Errorf("%w: nil entry or value", ErrUnsupported)}
	}
	o := &e.opt
	v, err := o.degrade(ent.Key, v)
	if err != nil || v == nil {
		return e.locate(err, ent.Key) // nil value: lossy target dropped the key
	}
	hint := EncRaw
	if o.KeepEncoding {
		hint = ent.Encoding
	}
	t, err := chooseEncoding(v, hint, o)
	if err != nil {
		return e.locate(err, ent.Key)
	}
	// On error the record is taken back whole, the SELECTDB it may have
	// started with included, so the next entry selects its db again.
	mark, db, dbWasSet := len(e.buf), e.db, e.dbWasSet
	undo := func() { e.buf, e.db, e.dbWasSet = e.buf[:mark], db, dbWasSet }
	b := e.buf
	if !e.dbWasSet || ent.DB != e.db {
		b = append(b, OpSelectDB)
		b = appendLen(b, ent.DB)
		e.db, e.dbWasSet = ent.DB, true
	}
	if ent.ExpireAtMs != NoExpire {
		b = append(b, OpExpireTimeMs)
		b = binary.LittleEndian.AppendUint64(b, uint64(ent.ExpireAtMs))
	}
	if o.Version >= 9 {
		if ent.LRUIdleSec >= 0 {
			b = append(b, OpIdle)
			b = appendLen(b, uint64(ent.LRUIdleSec))
		}
		if ent.LFUFreq >= 0 {
			b = append(b, OpFreq, byte(min(ent.LFUFreq, 255)))
		}
	}
	if len(ent.KeyMeta) > 0 {
		if o.Flavour == FlavourRedis && o.Version >= 13 {
			b = append(b, OpKeyMeta)
			b = appendLen(b, uint64(len(ent.KeyMeta)))
			for _, km := range ent.KeyMeta {
				b = binary.LittleEndian.AppendUint32(b, km.ClassSpec)
				b = append(b, km.Raw...)
			}
		} else if err := o.lossy(ent.Key, "key metadata"); err != nil {
			undo()
			return e.locate(err, ent.Key)
		}
	}
	b = append(b, byte(t))
	b = e.appendString(b, ent.Key)
	b, err = e.appendValue(b, v, t)
	if err != nil {
		e.buf = b
		undo()
		return e.locate(err, ent.Key)
	}
	e.buf = b
	return e.flush(false)
}

// locate fills in the key and the output offset (where the record would
// have started) of an encoding error.
func (e *Encoder) locate(err error, key []byte) error {
	if fe, ok := err.(*FormatError); ok {
		if fe.Key == nil {
			fe.Key = key
		}
		if fe.Offset == 0 {
			fe.Offset = e.off + int64(len(e.buf))
		}
	}
	return err
}

// Close writes the EOF opcode and the CRC64 footer (version >= 5) and
// flushes; it does not close w. A second Close does nothing.
func (e *Encoder) Close() error {
	if e.closed {
		return e.err
	}
	if e.err != nil {
		return e.err
	}
	e.header()
	e.closed = true
	e.buf = append(e.buf, OpEOF)
	if err := e.flush(true); err != nil {
		return err
	}
	var crc uint64
	if !e.opt.NoChecksum {
		crc = e.crc
	}
	n, err := e.w.Write(binary.LittleEndian.AppendUint64(e.buf[:0], crc))
	e.off += int64(n)
	if err != nil {
		e.err = fmt.Errorf("rdb: write: %w", err)
	}
	return e.err
}

// ---- primitives (rdb.md §3) ----

// appendLen appends a length in the smallest form (rdb.md §3.1).
func appendLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|0x40, byte(n))
	case n <= math.MaxUint32:
		b = append(b, 0x80)
		return binary.BigEndian.AppendUint32(b, uint32(n))
	default:
		b = append(b, 0x81)
		return binary.BigEndian.AppendUint64(b, n)
	}
}

// appendString appends s like rdbSaveRawString: int8/16/32 for short
// canonical integers, LZF when it saves space, else raw.
func (e *Encoder) appendString(b, s []byte) []byte {
	return appendRDBString(b, s, !e.opt.NoCompress)
}

func appendRDBString(b, s []byte, compress bool) []byte {
	if len(s) <= 11 {
		if v, ok := parseCanonicalInt(s); ok {
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				return append(b, 0xC0, byte(int8(v)))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				b = append(b, 0xC1)
				return binary.LittleEndian.AppendUint16(b, uint16(int16(v)))
			case v >= math.MinInt32 && v <= math.MaxInt32:
				b = append(b, 0xC2)
				return binary.LittleEndian.AppendUint32(b, uint32(int32(v)))
			}
		}
	}
	if compress && len(s) > 20 {
		if c := lzfCompress(s); c != nil {
			b = append(b, 0xC3)
			b = appendLen(b, uint64(len(c)))
			b = appendLen(b, uint64(len(s)))
			return append(b, c...)
		}
	}
	b = appendLen(b, uint64(len(s)))
	return append(b, s...)
}

// appendMs appends an 8-byte little-endian millisecond time.
func appendMs(b []byte, ms int64) []byte { return binary.LittleEndian.AppendUint64(b, uint64(ms)) }

// appendBinaryDouble appends an IEEE-754 binary64, little-endian (zset2).
func appendBinaryDouble(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

// appendStringDouble appends a type-3 score as Redis <= 3.2 did.
func appendStringDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, 253)
	case math.IsInf(f, 1):
		return append(b, 254)
	case math.IsInf(f, -1):
		return append(b, 255)
	}
	var s []byte
	if f == 0 && math.Signbit(f) {
		// Redis <= 3.2 wrote "0", losing the sign; "-0" parses back exactly.
		s = []byte("-0")
	} else if f == math.Trunc(f) && f > -(1<<52-1) && f < 1<<52 {
		s = strconv.AppendInt(nil, int64(f), 10)
	} else {
		s = appendG17(nil, f)
	}
	b = append(b, byte(len(s)))
	return append(b, s...)
}

// appendG17 formats like C's printf("%.17g").
func appendG17(b []byte, f float64) []byte {
	return AppendG17(b, f)
}
