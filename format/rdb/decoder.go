package rdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
)

// ErrChecksumDisabled is reported through DecodeOptions.Warn when the stored
// checksum is 0: the file was written with rdbchecksum no, so nothing could
// be verified. It is never returned as an error.
var ErrChecksumDisabled = errors.New("checksum disabled (stored CRC is 0)")

// errNoEntry is returned by Value and Elements when there is no unread value.
var errNoEntry = errors.New("rdb: no entry value to read (Next did not return an *Entry, or its value was already consumed)")

// maxRedisVersion is the newest Redis-magic RDB version understood (RDB 13).
const maxRedisVersion = 13

// valkeyVersion is the only VALKEY-magic version understood (Valkey 9.0).
const valkeyVersion = 80

// readerSize is the buffer used for in-memory input.
const readerSize = 1 << 20

// errClosed is the sticky error of a decoder closed before its end.
var errClosed = errors.New("rdb: decoder closed")

// Decoder reads an RDB stream record by record, like archive/tar.Reader.
// Next returns the records; Value (or Elements) decodes the value of the
// last *Entry on demand, and Next skips it cheaply otherwise. Memory stays
// bounded by the largest single value. Errors are sticky. Not safe for
// concurrent use.
//
// Reading from a file or stream, a Decoder checksums on a goroutine of its
// own; it stops at the footer or the first error, and Close (or garbage
// collection of an abandoned Decoder) stops it earlier.
type Decoder struct {
	br  source // the input window (named br because it replaced a *bufio.Reader)
	lim Limits
	opt DecodeOptions

	off int64
	err error // sticky; io.EOF after the footer

	hdr     bool
	version int
	flavour Flavour

	// pending key-scoped opcodes; they survive other records until a key
	// consumes them, as in Redis.
	expire    int64
	idle      int64
	freq      int
	prefixOff int64
	prefixed  bool

	db      uint64
	ent     *Entry
	curKey  []byte
	pending bool  // ent's value not consumed yet
	val     Value // ent's value once decoded by Value
	ctx     string

	aux              []*Aux
	stored, computed uint64

	// raw recording of module opcode streams
	recording bool
	rec       []byte
	recErr    error

	// where the last string's payload began (blob error offsets)
	strOff int64
	strLZF bool

	tmp    [16]byte
	itoa   [20]byte // an int64 as text, at most
	dbl    [256]byte
	sbuf   [3][]byte // reusable string buffers for streamed elements
	numbuf [3][]byte // reusable buffers for integers rendered as text
	// countOnly: CountElements is walking, nobody reads intset members'
	// text, so it is not rendered.
	countOnly bool
	// alloc: during ElementsIn, where strings that outlive the callback
	// go (see there); nil: freshly allocated.
	alloc func(n int) []byte
	// lzfCheckOnly: readLZF validates and returns no data (CountElements
	// on a string value).
	lzfCheckOnly bool
	// intsOn: AppendIntset is walking; members go to ints.
	intsOn bool
	ints   []int64
	lzbuf  []byte
	blob   []byte
	lpents []blobEntry

	members memberSet // Deep: duplicate-member test, reused across values
	vld     validator // Deep: the checks of the value being walked

	reuse  *Entry  // the Entry Next returns with ReuseEntry
	elem   Element // what Elements passes for a string value
	keyBuf []byte  // its Key's storage with ReuseEntry
}

// NewDecoder returns a decoder reading from r. If r is a *bufio.Reader it is
// used as is and nothing past the RDB footer is consumed from it, so an AOF
// reader can go on with the commands after an RDB preamble. Any other r is
// read in chunks of up to 1 MiB (so it may be read past the footer). With
// DecodeOptions.ConcurrentCRC, unless r is in-memory input (it has a Len
// method, like *bytes.Reader), a goroutine reads r ahead, up to 3 chunks,
// and computes their checksum while the decoder parses: r is then called
// from that goroutine only, one call at a time, and may still be called
// once after Close returns (a read in progress is not waited for).
// Otherwise r is only ever called from the goroutine calling the Decoder's
// methods. A nil opt means defaults.
func NewDecoder(r io.Reader, opt *DecodeOptions) *Decoder {
	d := &Decoder{expire: NoExpire, idle: -1, freq: -1}
	if opt != nil {
		d.opt = *opt
	}
	d.lim = d.opt.Limits.withDefaults()
	if br, ok := r.(*bufio.Reader); ok {
		d.br.bio = br
	} else if l, ok := r.(interface{ Len() int }); ok {
		// In-memory input (bytes.Reader, strings.Reader): nothing to
		// overlap, and no need for a 1 MiB buffer for a small file.
		d.br.rd = r
		d.br.buf = make([]byte, max(4096, min(readerSize, l.Len()+16)))
	} else if !d.opt.ConcurrentCRC {
		d.br.rd = r
		d.br.buf = make([]byte, readerSize)
	} else {
		ra := startReadAhead(r)
		d.br.ra = ra
		// An abandoned Decoder must not leak the goroutine; ra does not
		// reference d, so d can be collected.
		runtime.AddCleanup(d, func(ra *readAhead) { ra.stop() }, ra)
	}
	return d
}

// Close stops the read-ahead goroutine, if any; it does not close the
// underlying reader. It is only needed to abandon a Decoder before Next
// returned io.EOF or an error (the goroutine stops by itself there, and
// also when an abandoned Decoder is garbage collected); after that it does
// nothing. Calling Close more than once is fine; once closed, a Decoder
// that had not finished returns an error from every call. Close returns
// nil.
func (d *Decoder) Close() error {
	if d.err == nil {
		d.err = errClosed
	}
	d.br.release()
	return nil
}

// stick makes err the sticky error and stops reading.
func (d *Decoder) stick(err error) error {
	d.err = err
	d.br.release()
	return err
}

// Version reads the header if needed and returns the RDB version (1..13 for
// REDIS magic, 80 for VALKEY magic).
func (d *Decoder) Version() (int, error) {
	if err := d.header(); err != nil {
		return 0, err
	}
	return d.version, nil
}

// Flavour reads the header if needed and returns the file's flavour, which
// decides what type bytes 22..26 and opcode 243 mean. It is FlavourValkey
// for VALKEY magic and, once a valkey-ver AUX field was seen, for REDIS0011
// files written by Valkey 8 (same format as Redis 7.2).
func (d *Decoder) Flavour() (Flavour, error) {
	if err := d.header(); err != nil {
		return 0, err
	}
	return d.flavour, nil
}

// Offset is the number of bytes consumed so far.
func (d *Decoder) Offset() int64 { return d.off }

// Checksum returns the stored and the computed CRC-64 once Next returned
// io.EOF (both 0 for versions < 5, which have no footer).
func (d *Decoder) Checksum() (stored, computed uint64) { return d.stored, d.computed }

// Aux returns the AUX fields read so far, in file order.
func (d *Decoder) Aux() []*Aux { return d.aux }

func (d *Decoder) warn(off int64, ctx string, err error) {
	if d.opt.Warn != nil {
		d.opt.Warn(&FormatError{Offset: off, Context: ctx, Err: err})
	}
}

func (d *Decoder) header() error {
	if d.hdr {
		return nil
	}
	if d.err != nil {
		return d.err
	}
	d.ctx = "header"
	var h [9]byte
	if err := d.readFull(h[:]); err != nil {
		d.stick(err)
		return err
	}
	d.hdr = true
	magic, digits := "", []byte(nil)
	switch {
	case string(h[:5]) == "REDIS":
		magic, digits, d.flavour = "REDIS", h[5:], FlavourRedis
	case string(h[:6]) == "VALKEY":
		magic, digits, d.flavour = "VALKEY", h[6:], FlavourValkey
	default:
		d.stick(d.fail(0, "header", errCorrupt("not an RDB file: magic "+strconv.Quote(string(h[:])))))
		return d.err
	}
	v := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			d.stick(d.fail(int64(len(magic)), "header", errCorrupt("invalid version digits "+strconv.Quote(string(digits)))))
			return d.err
		}
		v = v*10 + int(c-'0')
	}
	d.version = v
	ok := v >= 1 && v <= maxRedisVersion
	if d.flavour == FlavourValkey {
		ok = v == valkeyVersion
	}
	if !ok {
		d.stick(d.fail(int64(len(magic)), "header", errUnsupported("RDB version "+strconv.Itoa(v)+" with magic "+magic)))
		return d.err
	}
	return nil
}

// Next returns the next record: *Aux, *SelectDB, *ResizeDB, *SlotInfo,
// *Function, *ModuleAux or *Entry. Key-scoped opcodes (expire, idle, freq,
// KEY_META) are folded into the *Entry. If the previous Entry's value was
// not read, Next skips it (decoding it for validation when Deep is set).
// Next returns io.EOF only after the EOF opcode and a verified (or
// disabled, see ErrChecksumDisabled) checksum; it never reads past the
// 8-byte footer.
func (d *Decoder) Next() (Record, error) {
	if err := d.header(); err != nil {
		return nil, err
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.pending {
		if err := d.skipValue(); err != nil {
			d.stick(err)
			return nil, err
		}
	}
	d.ent, d.val, d.curKey = nil, nil, nil
	rec, err := d.next()
	if err != nil {
		d.stick(err)
		return nil, err
	}
	return rec, nil
}

func (d *Decoder) next() (Record, error) {
	var meta []KeyMeta
	for {
		off := d.off
		d.ctx = "opcode"
		b, err := d.readByte()
		if err != nil {
			return nil, err
		}
		if meta != nil && (b >= OpKeyMeta) {
			return nil, d.fail(off, "key metadata", errCorrupt("KEY_META not followed by a value type"))
		}
		switch b {
		case OpEOF:
			if d.prefixed {
				d.warn(d.prefixOff, "opcode", errCorrupt("key-scoped opcode not followed by a key"))
			}
			return nil, d.footer()
		case OpSelectDB:
			d.ctx = "SELECTDB"
			db, err := d.readUint()
			if err != nil {
				return nil, err
			}
			d.db = db
			return &SelectDB{DB: db, Offset: off}, nil
		case OpResizeDB:
			d.ctx = "RESIZEDB"
			a, err := d.readUint()
			if err != nil {
				return nil, err
			}
			e, err := d.readUint()
			if err != nil {
				return nil, err
			}
			return &ResizeDB{DBSize: a, ExpiresSize: e, Offset: off}, nil
		case OpAux:
			return d.readAux(off)
		case OpExpireTimeMs:
			d.ctx = "EXPIRETIME_MS"
			v, err := d.readUint64LE()
			if err != nil {
				return nil, err
			}
			d.setPrefix(off)
			d.expire = int64(v)
		case OpExpireTime:
			d.ctx = "EXPIRETIME"
			p, err := d.readFixed(4)
			if err != nil {
				return nil, err
			}
			d.setPrefix(off)
			d.expire = int64(int32(binary.LittleEndian.Uint32(p))) * 1000
		case OpIdle:
			d.ctx = "IDLE"
			v, err := d.readUint()
			if err != nil {
				return nil, err
			}
			d.setPrefix(off)
			d.idle = int64(min(v, 1<<62))
		case OpFreq:
			d.ctx = "FREQ"
			v, err := d.readByte()
			if err != nil {
				return nil, err
			}
			d.setPrefix(off)
			d.freq = int(v)
		case OpModuleAux:
			return d.readModuleAux(off)
		case OpFunction2:
			d.ctx = "FUNCTION2"
			code, err := d.readString(nil)
			if err != nil {
				return nil, err
			}
			return &Function{Code: code, Offset: off}, nil
		case OpFunctionPreGA:
			return nil, d.fail(off, "FUNCTION_PRE_GA", errUnsupported("pre-GA (Redis 7.0-rc) function format"))
		case OpSlotInfo:
			d.ctx = "SLOT_INFO"
			var v [3]uint64
			for i := range v {
				if v[i], err = d.readUint(); err != nil {
					return nil, err
				}
			}
			return &SlotInfo{Slot: v[0], SlotSize: v[1], ExpiresSize: v[2], Offset: off}, nil
		case OpKeyMeta:
			if d.flavour == FlavourValkey {
				return d.readSlotImport(off)
			}
			if d.version < 13 {
				return nil, d.fail(off, "opcode", errCorrupt("unknown opcode 243 before RDB 13"))
			}
			if meta, err = d.readKeyMeta(); err != nil {
				return nil, err
			}
			d.setPrefix(off)
		default:
			return d.readEntry(off, Type(b), meta)
		}
	}
}

func (d *Decoder) setPrefix(off int64) {
	if !d.prefixed {
		d.prefixed, d.prefixOff = true, off
	}
}

// footer handles what follows the EOF opcode: from RDB 5 on, the CRC-64 of
// every byte before it, little-endian, 0 meaning "not computed".
func (d *Decoder) footer() error {
	d.computed = d.br.crcNow()
	if d.version < 5 {
		return io.EOF
	}
	off := d.off
	// Nothing counts as consumed unless all 8 bytes arrive (the offset of
	// a truncated footer is where it starts).
	s := &d.br
	var p [8]byte
	for got := 0; got < 8; {
		if s.r >= s.w {
			if err := s.fill(); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return d.fail(off, "checksum", err)
			}
		}
		n := copy(p[got:], s.buf[s.r:s.w])
		s.r += n
		got += n
	}
	d.stored = binary.LittleEndian.Uint64(p[:])
	d.off += 8
	switch {
	case d.stored == 0:
		d.warn(off, "checksum", ErrChecksumDisabled)
	case d.stored != d.computed:
		return d.fail(off, "checksum", &causeError{"stored CRC-64 0x" + strconv.FormatUint(d.stored, 16) +
			", computed 0x" + strconv.FormatUint(d.computed, 16), ErrChecksum})
	}
	return io.EOF
}

// knownAux are the AUX fields Redis and Valkey write; others are reported
// through Warn (and ignored, as Redis does).
var knownAux = map[string]bool{
	"redis-ver": true, "redis-bits": true, "ctime": true, "used-mem": true,
	"repl-stream-db": true, "repl-id": true, "repl-offset": true, "aof-base": true,
	"aof-preamble": true, "lua": true, "valkey-ver": true, "slot-info": true,
	"cluster-slot-states": true, "cluster-asm-task": true,
}

// quoteShort quotes b for a message, cut to its first 64 bytes: in a
// damaged file a name can be megabytes of garbage.
func quoteShort(b []byte) string {
	if len(b) <= 64 {
		return strconv.Quote(string(b))
	}
	return strconv.Quote(string(b[:64])) + "..."
}

func (d *Decoder) readAux(off int64) (Record, error) {
	d.ctx = "AUX key"
	k, err := d.readString(nil)
	if err != nil {
		return nil, err
	}
	d.ctx = "AUX " + quoteShort(k)
	v, err := d.readString(nil)
	if err != nil {
		return nil, err
	}
	a := &Aux{Key: k, Value: v, Offset: off}
	d.aux = append(d.aux, a)
	ks := string(k)
	if ks == "valkey-ver" && d.version <= 11 {
		d.flavour = FlavourValkey
	}
	if ks == "slot-info" && !validSlotInfo(v) {
		// Valkey aborts the load when it cannot read 3 numbers here.
		err := errCorrupt("malformed slot-info AUX value " + quoteShort(v))
		if d.opt.Deep {
			return nil, d.fail(off, "AUX", err)
		}
		d.warn(off, "AUX", err)
	}
	if !knownAux[ks] && (len(k) == 0 || k[0] != '%') {
		d.warn(off, "AUX", errors.New("unknown AUX field "+quoteShort(k)))
	}
	return a, nil
}

// typeInfo maps a type byte to its logical kind and encoding for this
// file's flavour; ok is false for bytes that are not value types.
func (d *Decoder) typeInfo(t Type) (Kind, Encoding, bool) {
	switch t {
	case TypeString:
		return KindString, EncRaw, true
	case TypeList:
		return KindList, EncLinkedList, true
	case TypeSet:
		return KindSet, EncHashtable, true
	case TypeZSet, TypeZSet2:
		return KindZSet, EncSkiplist, true
	case TypeHash:
		return KindHash, EncHashtable, true
	case TypeModulePreGA, TypeModule2:
		return KindModule, EncModule, true
	case TypeHashZipmap:
		return KindHash, EncZipmap, true
	case TypeListZiplist:
		return KindList, EncZiplist, true
	case TypeSetIntset:
		return KindSet, EncIntset, true
	case TypeZSetZiplist:
		return KindZSet, EncZiplist, true
	case TypeHashZiplist:
		return KindHash, EncZiplist, true
	case TypeListQuicklist:
		return KindList, EncQuicklist, true
	case TypeStreamListpacks, TypeStreamListpacks2, TypeStreamListpacks3:
		return KindStream, EncStream, true
	case TypeHashListpack:
		return KindHash, EncListpack, true
	case TypeZSetListpack:
		return KindZSet, EncListpack, true
	case TypeListQuicklist2:
		return KindList, EncQuicklist2, true
	case TypeSetListpack:
		return KindSet, EncListpack, true
	}
	if d.flavour == FlavourValkey {
		if t == TypeValkeyHash2 && d.version >= valkeyVersion {
			return KindHash, EncHash2, true
		}
		return 0, 0, false
	}
	switch t {
	case TypeHashMetadataPreGA, TypeHashMetadata:
		return KindHash, EncHashtable, true
	case TypeHashListpackExPreGA, TypeHashListpackEx:
		return KindHash, EncListpackEx, true
	case TypeStreamListpacks4:
		return KindStream, EncStream, true
	}
	return 0, 0, false
}

func (d *Decoder) readEntry(off int64, t Type, meta []KeyMeta) (Record, error) {
	kind, enc, ok := d.typeInfo(t)
	if !ok {
		return nil, d.fail(off, "opcode", errCorrupt("unknown type or opcode "+strconv.Itoa(int(t))))
	}
	if t == TypeModulePreGA {
		return nil, d.fail(off, "module value", errUnsupported("pre-GA module type 6"))
	}
	d.ctx = "key"
	var e *Entry
	var kbuf []byte
	if d.opt.ReuseEntry {
		if d.reuse == nil {
			d.reuse = new(Entry)
		}
		e, kbuf = d.reuse, d.keyBuf
	}
	key, err := d.readString(kbuf)
	if err != nil {
		return nil, err
	}
	if e == nil {
		e = new(Entry)
	} else {
		d.keyBuf = key
		if len(key) == 0 && !d.strLZF {
			key = nil // as readString(nil) returns for a raw empty string
		}
	}
	// Field by field (every field is set): a composite literal is built
	// on the stack and copied out with 16-byte loads over 1-byte stores,
	// which stall.
	e.DB, e.Key, e.Type, e.Kind, e.Encoding = d.db, key, t, kind, enc
	e.ExpireAtMs, e.LRUIdleSec, e.LFUFreq, e.KeyMeta, e.Offset = d.expire, d.idle, d.freq, meta, off
	if d.prefixed {
		e.Offset = d.prefixOff
	}
	d.expire, d.idle, d.freq, d.prefixed = NoExpire, -1, -1, false
	if t == TypeString {
		e.Encoding = d.peekStringEncoding()
	}
	d.ent, d.curKey, d.pending = e, key, true
	return e, nil
}

// Value decodes the value of the *Entry last returned by Next. Calling it
// again returns the same value. The returned value owns its memory (slices
// may share one backing array but never alias decoder buffers).
func (d *Decoder) Value() (Value, error) {
	if d.val != nil {
		return d.val, nil
	}
	if d.err != nil {
		return nil, d.err
	}
	if !d.pending {
		return nil, errNoEntry
	}
	d.pending = false
	v, err := d.readValue()
	if err != nil {
		d.stick(err)
		return nil, err
	}
	d.val = v
	return v, nil
}

// Element is one element of a value streamed by Elements. It and its slices
// alias decoder memory and are valid only during the callback.
type Element struct {
	Member     []byte  // string data, list element, set or zset member, hash field
	Value      []byte  // hash field value
	Score      float64 // zset score
	ExpireAtMs int64   // hash field TTL (absolute Unix ms), 0 when none
}

// CountElements reads the value of the *Entry last returned by Next like
// Elements, with the same validation and errors, for a caller that only
// counts: it returns the number of elements and of hash fields with a TTL.
// It saves rendering integer set members as text (a tenth of checking a
// file of intsets).
func (d *Decoder) CountElements() (n, withTTL int, err error) {
	d.countOnly = true
	err = d.Elements(func(e *Element) error {
		n++
		if e.ExpireAtMs != 0 {
			withTTL++
		}
		return nil
	})
	d.countOnly = false
	return n, withTTL, err
}

// Elements streams the value of the *Entry last returned by Next to fn, one
// element at a time, instead of building a Value: memory stays bounded by
// one element (or one listpack/ziplist node) however large the collection
// is. Strings come as a single element. Streams and module values are not
// supported (use Value). An error from fn stops decoding, is returned as is
// and, like any error, makes the decoder fail from then on (it stopped in
// the middle of a value). After Elements, Value has nothing left to read.
func (d *Decoder) Elements(fn func(e *Element) error) error {
	return d.elements(false, fn)
}

// ElementsIn is Elements, except that the slices of every Element stay
// valid after the callback: strings, listpack nodes and integers rendered
// as text are placed in memory from alloc, which returns n bytes the
// decoder may fill (a string longer than 1 MiB is allocated as Value does,
// growing as data arrives, so a corrupt length never sizes a request; an
// intset's text is one request, sized from the intset already read).
// A caller that keeps the elements of a batch of values saves a copy per
// element: members of a listpack alias one copy of its node.
func (d *Decoder) ElementsIn(alloc func(n int) []byte, fn func(e *Element) error) error {
	d.alloc = alloc
	defer func() { d.alloc = nil }()
	return d.elements(true, fn)
}

// AppendIntset appends the members of the current value, an intset-encoded
// set (Entry.Encoding EncIntset), to dst as integers, validated as
// Elements validates them, without rendering them as text: a caller that
// formats later, on another goroutine, saves that work here. For any other
// encoding it returns an error and leaves the value unread.
func (d *Decoder) AppendIntset(dst []int64) ([]int64, error) {
	if d.err == nil && d.pending && d.ent.Encoding != EncIntset {
		return dst, errors.New("rdb: AppendIntset on a " + d.ent.Encoding.String() + " value")
	}
	d.ints, d.intsOn = dst, true
	err := d.elements(false, func(*Element) error { return nil })
	dst, d.ints, d.intsOn = d.ints, nil, false
	return dst, err
}

func (d *Decoder) elements(keep bool, fn func(e *Element) error) error {
	if d.err != nil {
		return d.err
	}
	if !d.pending {
		return errNoEntry
	}
	switch d.ent.Kind {
	case KindStream, KindModule:
		return errors.New("rdb: Elements does not support " + d.ent.Kind.String() + " values; use Value")
	}
	d.pending = false
	var err error
	if d.ent.Kind == KindString {
		d.ctx = "string value"
		var s []byte
		if d.countOnly {
			// Counting: a raw or integer string has nothing to check but
			// its length, so it is skipped, not copied; an LZF one is
			// validated without writing it out.
			if d.peekStringEncoding() == EncLZF {
				d.lzfCheckOnly = true
				_, err = d.readString(nil)
				d.lzfCheckOnly = false
			} else {
				err = d.skipString()
			}
		} else if keep {
			s, err = d.readString(nil)
		} else if s, err = d.readString(d.sbuf[0]); err == nil {
			d.sbuf[0] = s
		}
		if err == nil {
			d.elem = Element{Member: s} // a field: &Element{} escaped, one allocation per key
			err = fn(&d.elem)
		}
	} else {
		err = d.walk(keep, fn)
	}
	if err != nil {
		d.stick(err)
	}
	return err
}

func (d *Decoder) readValue() (Value, error) {
	e := d.ent
	switch e.Kind {
	case KindString:
		d.ctx = "string value"
		s, err := d.readString(nil)
		if err != nil {
			return nil, err
		}
		return &String{Data: s}, nil
	case KindStream:
		return d.readStream(true)
	case KindModule:
		return d.readModule()
	case KindList:
		l := &List{}
		err := d.walk(true, func(el *Element) error {
			l.Elems = append(l.Elems, el.Member)
			return nil
		})
		return l, err
	case KindSet:
		s := &Set{}
		err := d.walk(true, func(el *Element) error {
			s.Members = append(s.Members, el.Member)
			return nil
		})
		return s, err
	case KindZSet:
		z := &ZSet{}
		err := d.walk(true, func(el *Element) error {
			z.Members = append(z.Members, ZMember{Member: el.Member, Score: el.Score})
			return nil
		})
		return z, err
	case KindHash:
		h := &Hash{}
		err := d.walk(true, func(el *Element) error {
			h.Fields = append(h.Fields, HashField{Field: el.Member, Value: el.Value, ExpireAtMs: el.ExpireAtMs})
			return nil
		})
		return h, err
	}
	return nil, d.fail(d.off, "value", errCorrupt("unknown kind"))
}

// skipValue consumes an unread value. Deep decodes it to validate it;
// otherwise only lengths are parsed and nothing is allocated per element.
func (d *Decoder) skipValue() error {
	d.pending = false
	e := d.ent
	if d.opt.Deep {
		switch e.Kind {
		case KindStream:
			_, err := d.readStream(false)
			return err
		case KindModule:
			_, err := d.readModule()
			return err
		case KindString:
			return d.skipString()
		}
		return d.walk(false, func(*Element) error { return nil })
	}
	d.ctx = "value"
	switch e.Type {
	case TypeString, TypeHashZipmap, TypeListZiplist, TypeSetIntset, TypeZSetZiplist, TypeHashZiplist,
		TypeHashListpack, TypeZSetListpack, TypeSetListpack:
		return d.skipString()
	case TypeList, TypeSet, TypeListQuicklist:
		return d.skipStrings(1, 0)
	case TypeHash:
		return d.skipStrings(2, 0)
	case TypeZSet2:
		return d.skipStrings(1, 8)
	case TypeZSet:
		n, err := d.readCount()
		if err != nil {
			return err
		}
		for range n {
			if err := d.skipString(); err != nil {
				return err
			}
			if _, err := d.readStringDouble(); err != nil {
				return err
			}
		}
		return nil
	case TypeListQuicklist2:
		n, err := d.readCount()
		if err != nil {
			return err
		}
		for range n {
			if _, err := d.readUint(); err != nil {
				return err
			}
			if err := d.skipString(); err != nil {
				return err
			}
		}
		return nil
	case TypeModule2:
		_, err := d.readModule()
		return err
	}
	switch {
	case e.Kind == KindStream:
		_, err := d.readStream(false)
		return err
	case e.Encoding == EncHash2:
		return d.skipStrings(2, 8)
	case e.Type == TypeHashListpackEx:
		if err := d.skip(8); err != nil {
			return err
		}
		return d.skipString()
	case e.Type == TypeHashListpackExPreGA:
		return d.skipString()
	}
	// Types 22 and 24: [min expire] then count × (ttl length, field, value).
	if e.Type == TypeHashMetadata {
		if err := d.skip(8); err != nil {
			return err
		}
	}
	n, err := d.readCount()
	if err != nil {
		return err
	}
	for range n {
		if _, err := d.readUint(); err != nil {
			return err
		}
		if err := d.skipString(); err != nil {
			return err
		}
		if err := d.skipString(); err != nil {
			return err
		}
	}
	return nil
}

// skipStrings skips count × (per strings, then extra fixed bytes).
func (d *Decoder) skipStrings(per int, extra uint64) error {
	n, err := d.readCount()
	if err != nil {
		return err
	}
	for range n {
		for range per {
			if err := d.skipString(); err != nil {
				return err
			}
		}
		if extra > 0 {
			if err := d.skip(extra); err != nil {
				return err
			}
		}
	}
	return nil
}

// wrapInner rebases an error from a blob codec (offset relative to the
// blob) to the absolute offset base and names the current key.
func (d *Decoder) wrapInner(err error, base int64, ctx string) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		c := ctx
		if fe.Context != "" {
			c += ": " + fe.Context
		}
		off := base + fe.Offset
		if d.strLZF {
			// base is where the compressed payload starts.
			c += " at offset " + strconv.FormatInt(fe.Offset, 10) + " of the decompressed blob"
			off = base
		}
		return &FormatError{Offset: off, Context: c, Key: d.curKey, Err: fe.Err}
	}
	return d.fail(base, ctx, err)
}

// maxFieldTTL is the largest valid hash field expire time (2^48-1 ms).
const maxFieldTTL = 1<<48 - 1

// walk decodes the current list, set, zset or hash value in any encoding
// and hands each element to fn. With keep, element slices are fresh (or
// alias a freshly read blob) and may be retained; otherwise they alias
// decoder buffers reused for the next element or node.
func (d *Decoder) walk(keep bool, fn func(*Element) error) error {
	e := d.ent
	emit := fn
	if d.opt.Deep {
		v := &d.vld
		v.reset(e, &d.members)
		emit = func(el *Element) error {
			if err := v.check(el); err != nil {
				return d.fail(d.off, "element "+strconv.Itoa(v.n-1), err)
			}
			return fn(el)
		}
	}
	str := func(slot int) ([]byte, error) {
		if keep {
			return d.readString(nil)
		}
		s, err := d.readString(d.sbuf[slot])
		if err == nil {
			d.sbuf[slot] = s
		}
		return s, err
	}
	// The element lives in the Decoder: a local one escapes through fn
	// (an allocation per value).
	d.elem = Element{}
	el := &d.elem
	var err error
	switch {
	case e.Type == TypeList || e.Type == TypeSet:
		d.ctx = "element"
		n, err := d.readCount()
		if err != nil {
			return err
		}
		d.reserveMembers(n)
		for range n {
			if el.Member, err = str(0); err != nil {
				return err
			}
			if err = emit(el); err != nil {
				return err
			}
		}
		return nil
	case e.Type == TypeZSet || e.Type == TypeZSet2:
		d.ctx = "zset member"
		n, err := d.readCount()
		if err != nil {
			return err
		}
		d.reserveMembers(n)
		for range n {
			if el.Member, err = str(0); err != nil {
				return err
			}
			if e.Type == TypeZSet {
				el.Score, err = d.readStringDouble()
			} else {
				el.Score, err = d.readBinaryDouble()
			}
			if err != nil {
				return err
			}
			if err = emit(el); err != nil {
				return err
			}
		}
		return nil
	case e.Type == TypeHash:
		d.ctx = "hash field"
		n, err := d.readCount()
		if err != nil {
			return err
		}
		d.reserveMembers(n)
		for range n {
			if el.Member, err = str(0); err != nil {
				return err
			}
			if el.Value, err = str(1); err != nil {
				return err
			}
			if err = emit(el); err != nil {
				return err
			}
		}
		return nil
	case e.Encoding == EncHash2:
		d.ctx = "hash field"
		n, err := d.readCount()
		if err != nil {
			return err
		}
		d.reserveMembers(n)
		for range n {
			if el.Member, err = str(0); err != nil {
				return err
			}
			if el.Value, err = str(1); err != nil {
				return err
			}
			off := d.off
			t, err := d.readUint64LE()
			if err != nil {
				return err
			}
			// Valkey HASH_2: absolute ms after the value, -1 = no TTL.
			switch ts := int64(t); {
			case ts == -1:
				el.ExpireAtMs = 0
			case ts < 0:
				return d.fail(off, "hash field TTL", errCorrupt("negative field TTL"))
			default:
				el.ExpireAtMs = ts
			}
			if err = emit(el); err != nil {
				return err
			}
		}
		return nil
	case e.Type == TypeHashMetadataPreGA || e.Type == TypeHashMetadata:
		d.ctx = "hash metadata"
		var minExp uint64
		if e.Type == TypeHashMetadata {
			if minExp, err = d.readUint64LE(); err != nil {
				return err
			}
		}
		d.ctx = "hash field"
		n, err := d.readCount()
		if err != nil {
			return err
		}
		d.reserveMembers(n)
		for range n {
			off := d.off
			ttl, err := d.readUint()
			if err != nil {
				return err
			}
			if el.Member, err = str(0); err != nil {
				return err
			}
			if el.Value, err = str(1); err != nil {
				return err
			}
			exp := ttl
			if e.Type == TypeHashMetadata && ttl != 0 {
				// Relative to the header: expireAt = ttl + minExpire - 1.
				exp = ttl + minExp - 1
				if exp < ttl {
					exp = 1 << 63
				}
			}
			if exp > maxFieldTTL {
				return d.fail(off, "hash field TTL", errCorrupt("field TTL "+strconv.FormatUint(exp, 10)+" out of range"))
			}
			el.ExpireAtMs = int64(exp)
			if err = emit(el); err != nil {
				return err
			}
		}
		return nil
	case e.Type == TypeListQuicklist || e.Type == TypeListQuicklist2:
		d.ctx = "quicklist"
		n, err := d.readCount()
		if err != nil {
			return err
		}
		for i := range n {
			d.ctx = "quicklist node " + strconv.FormatUint(i, 10)
			container := uint64(qlPacked)
			if e.Type == TypeListQuicklist2 {
				off := d.off
				if container, err = d.readUint(); err != nil {
					return err
				}
				if container != qlPlain && container != qlPacked {
					return d.fail(off, d.ctx, errCorrupt("invalid quicklist container "+strconv.FormatUint(container, 10)))
				}
			}
			blob, err := d.readBlob(keep)
			if err != nil {
				return err
			}
			if container == qlPlain { // the blob is one element
				el.Member = blob
				if err := emit(el); err != nil {
					return err
				}
				continue
			}
			if len(blob) == 0 {
				return d.fail(d.strOff, d.ctx, errCorrupt("empty quicklist node"))
			}
			// Empty nodes are dropped, as Redis does.
			if err := d.walkBlobList(blob, keep, e.Type == TypeListQuicklist, el, emit); err != nil {
				return err
			}
		}
		return nil
	}
	// Single-blob encodings.
	d.ctx = e.Encoding.String()
	if e.Type == TypeHashListpackEx {
		d.ctx = "listpackex min expire"
		if _, err := d.readUint64LE(); err != nil {
			return err
		}
		d.ctx = e.Encoding.String()
	}
	blob, err := d.readBlob(keep)
	if err != nil {
		return err
	}
	base := d.strOff
	if len(blob) >= lpHdrSize && (e.Encoding == EncListpack || e.Encoding == EncListpackEx) {
		// The listpack header's entry count (UINT16_MAX: unknown).
		if n := binary.LittleEndian.Uint16(blob[4:]); n != lpNumeleUnknown {
			d.reserveMembers(uint64(n) / uint64(entriesPerMember(e)))
		}
	}
	return d.walkBlob(blob, base, keep, el, emit)
}

// walkBlob emits the elements of a single-blob value (intset, listpack,
// ziplist, zipmap) of the current entry; base is the blob's file offset
// for errors. It serves walk and, for deferred values, BlobWalker.
func (d *Decoder) walkBlob(blob []byte, base int64, keep bool, el *Element, emit func(*Element) error) error {
	e := d.ent
	switch e.Type {
	case TypeListZiplist:
		return d.walkBlobList(blob, keep, true, el, emit)
	case TypeSetListpack:
		return d.walkBlobList(blob, keep, false, el, emit)
	case TypeSetIntset:
		if d.intsOn {
			_, err := walkIntset(blob, func(_ int, v int64) error {
				d.ints = append(d.ints, v)
				return nil
			})
			if err != nil {
				return d.wrapInner(err, base, "intset")
			}
			return nil
		}
		if keep && d.alloc != nil && !d.countOnly {
			return d.walkIntsetText(blob, base, el, emit)
		}
		var cbErr error
		var arena []byte
		prev, first := int64(0), true
		_, err := walkIntset(blob, func(i int, v int64) error {
			if d.opt.Deep && !first && v <= prev {
				cbErr = d.fail(base, "intset", errCorrupt("intset not strictly increasing"))
				return cbErr
			}
			prev, first = v, false
			if !d.countOnly {
				el.Member = d.intText(v, keep, 0, &arena)
			}
			if cbErr = emit(el); cbErr != nil {
				return cbErr
			}
			return nil
		})
		if cbErr != nil {
			return cbErr
		}
		if err != nil {
			return d.wrapInner(err, base, "intset")
		}
		return nil
	case TypeHashZipmap:
		var cbErr error
		_, err := walkZipmap(blob, func(k, v []byte) error {
			el.Member, el.Value = k, v
			cbErr = emit(el)
			return cbErr
		})
		if cbErr != nil {
			return cbErr
		}
		if err != nil {
			return d.wrapInner(err, base, "zipmap")
		}
		return nil
	}
	// Pairs or triples in a ziplist or listpack.
	per := 2
	if e.Encoding == EncListpackEx {
		per = 3
	}
	zip := e.Encoding == EncZiplist
	isZSet := e.Kind == KindZSet
	var arena []byte
	var cbErr error
	cb := func(i int, be blobEntry) error {
		slot := i % per
		switch slot {
		case 0:
			el.Member = d.entryText(&be, keep, 0, &arena)
			return nil
		case 1:
			if !isZSet {
				el.Value = d.entryText(&be, keep, 1, &arena)
				if per == 3 {
					return nil
				}
				el.ExpireAtMs = 0
			} else if be.IsInt {
				el.Score = float64(be.Int)
			} else {
				f, ok := parseScore(be.Str)
				if !ok {
					cbErr = d.fail(base, "element "+strconv.Itoa(i), errCorrupt("invalid score "+strconv.Quote(string(be.Str))))
					return cbErr
				}
				el.Score = f
			}
		case 2:
			if !be.IsInt || be.Int < 0 || be.Int > maxFieldTTL {
				cbErr = d.fail(base, "element "+strconv.Itoa(i), errCorrupt("invalid field TTL"))
				return cbErr
			}
			el.ExpireAtMs = be.Int
		}
		cbErr = emit(el)
		return cbErr
	}
	var cnt int
	var err error
	if zip {
		cnt, err = walkZiplist(blob, cb)
	} else {
		cnt, err = walkListpack(blob, cb)
	}
	if cbErr != nil {
		return cbErr
	}
	if err != nil {
		return d.wrapInner(err, base, d.ctx)
	}
	if cnt%per != 0 {
		return d.fail(base, d.ctx, errCorrupt("element count "+strconv.Itoa(cnt)+" is not a multiple of "+strconv.Itoa(per)))
	}
	return nil
}

// entriesPerMember is how many listpack entries make one member of e.
func entriesPerMember(e *Entry) int {
	switch {
	case e.Kind == KindSet:
		return 1
	case e.Encoding == EncListpackEx:
		return 3
	}
	return 2
}

// reserveMembers sizes the duplicate-member table for a value of about n
// members (a count from the file).
func (d *Decoder) reserveMembers(n uint64) {
	if d.opt.Deep && d.vld.seen != nil {
		d.vld.seen.reserve(n)
	}
}

// walkBlobList emits every element of a ziplist or listpack blob.
func (d *Decoder) walkBlobList(blob []byte, keep, zip bool, el *Element, emit func(*Element) error) error {
	base := d.strOff
	var arena []byte
	var cbErr error
	cb := func(i int, be blobEntry) error {
		el.Member = d.entryText(&be, keep, 0, &arena)
		cbErr = emit(el)
		return cbErr
	}
	var err error
	if zip {
		_, err = walkZiplist(blob, cb)
	} else {
		_, err = walkListpack(blob, cb)
	}
	if cbErr != nil {
		return cbErr
	}
	if err != nil {
		what := "listpack"
		if zip {
			what = "ziplist"
		}
		return d.wrapInner(err, base, d.ctx+" "+what)
	}
	return nil
}

// readBlob reads a string holding an encoded structure: fresh with keep.
// Otherwise a raw blob that is whole in the input window is returned in
// place, which saves copying every listpack and quicklist node (the window
// stays put until the next read, and callers walk the blob before reading
// on); the others go to the decoder's reusable blob buffer. The result is
// read-only: it may be the input itself.
func (d *Decoder) readBlob(keep bool) ([]byte, error) {
	if keep {
		return d.readString(nil)
	}
	s := &d.br
	if s.r < s.w && s.buf[s.r]>>6 != lenEnc && !d.recording {
		off := d.off
		n, _, err := d.readLen()
		if err != nil {
			return nil, err
		}
		if n > d.lim.MaxStringLen {
			return nil, d.fail(off, d.ctx, errLimit("string length", n, d.lim.MaxStringLen))
		}
		d.strOff, d.strLZF = d.off, false
		if n <= uint64(s.w-s.r) {
			b := s.buf[s.r : s.r+int(n) : s.r+int(n)]
			s.r += int(n)
			d.off += int64(n)
			return b, nil
		}
		b, err := d.readBytes(n, d.blob)
		if err == nil {
			d.blob = b
		}
		return b, err
	}
	b, err := d.readString(d.blob)
	if err == nil {
		d.blob = b
	}
	return b, err
}

// entryText returns a blob entry as bytes: strings alias the blob, integers
// become decimal text (in arena with keep, else in a reused buffer).
//
// be is a pointer: passed by value, the 40-byte struct was spilled from
// registers with 8- and 1-byte stores and copied back with 16-byte loads,
// which the CPU cannot forward from those stores (a stall per element: 6%
// of a dump of mixed.rdb, in the listpack walks' callbacks).
func (d *Decoder) entryText(be *blobEntry, keep bool, slot int, arena *[]byte) []byte {
	if !be.IsInt {
		return be.Str
	}
	return d.intText(be.Int, keep, slot, arena)
}

func (d *Decoder) intText(v int64, keep bool, slot int, arena *[]byte) []byte {
	if keep && d.alloc != nil {
		return d.allocInt(v)
	}
	if keep {
		if cap(*arena)-len(*arena) < 20 {
			// Chunks grow from small (most values are small) to 4 KiB;
			// earlier chunks stay alive through the slices handed out.
			*arena = make([]byte, 0, min(4096, max(64, 2*cap(*arena))))
		}
		start := len(*arena)
		*arena = appendInt(*arena, v)
		return (*arena)[start:len(*arena):len(*arena)]
	}
	d.numbuf[slot] = appendInt(d.numbuf[slot][:0], v)
	return d.numbuf[slot]
}

// walkIntsetText is the intset walk of ElementsIn: the members' text goes
// into one allocation from d.alloc, measured in a first pass, instead of
// one per member (intsets hold a quarter of the elements of a typical
// file). Deep's ordering check is walkIntset's own.
func (d *Decoder) walkIntsetText(blob []byte, base int64, el *Element, emit func(*Element) error) error {
	total := 0
	if _, err := walkIntset(blob, func(_ int, v int64) error {
		total += intTextLen(v)
		return nil
	}); err != nil {
		return d.wrapInner(err, base, "intset")
	}
	buf := d.alloc(total)[:0]
	var cbErr error
	walkIntset(blob, func(_ int, v int64) error {
		n := len(buf)
		buf = appendInt(buf, v)
		el.Member = buf[n:len(buf):len(buf)]
		cbErr = emit(el)
		return cbErr
	})
	return cbErr
}

// allocInt renders v as text in memory from d.alloc.
func (d *Decoder) allocInt(v int64) []byte {
	t := appendInt(d.itoa[:0], v)
	b := d.alloc(len(t))
	copy(b, t)
	return b
}

// validSlotInfo reports whether v is Valkey's "<slot>,<keys>,<expires>"
// with an optional fourth number (rdb-next.md §2.3).
func validSlotInfo(v []byte) bool {
	parts := strings.Split(string(v), ",")
	if len(parts) < 3 || len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			return false
		}
	}
	return true
}
