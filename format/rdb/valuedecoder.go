package rdb

import "io"

// Split decoding. Checking a file of small collections is bound by the
// walking and validating of values, which one goroutine does in order
// while the other cores wait. A Decoder can instead only frame each
// value (SkipValue: the lengths that delimit it, nothing per element) and
// leave its validation to ValueDecoders on other goroutines, which decode
// it from the file's bytes with the same checks, errors and offsets as
// the Decoder would have.

// SkipValue consumes the value of the *Entry last returned by Next,
// reading only the lengths that delimit it, as Next does without
// DecodeOptions.Deep (even when Deep is set: the value is left for a
// ValueDecoder to validate). It returns the file offset just past the
// value; the value began at Offset() as it was when Next returned the
// Entry. An error leaves the decoder failed, like any error; the error
// may differ from the one Value or Elements would have given, so decode
// the value with a ValueDecoder to report it.
func (d *Decoder) SkipValue() (end int64, err error) {
	if d.err != nil {
		return 0, d.err
	}
	if !d.pending {
		return 0, errNoEntry
	}
	deep := d.opt.Deep
	d.opt.Deep = false
	err = d.skipValue()
	d.opt.Deep = deep
	if err != nil {
		d.stick(err)
		return 0, err
	}
	return d.off, nil
}

// ValueDecoder decodes single values that a Decoder skipped with
// SkipValue, from the file's bytes, with the Decoder's checks: several, on
// goroutines of their own, can validate the values of one file while its
// Decoder reads on. Values do not depend on the file's version or flavour
// beyond what their Entry says. Not safe for concurrent use.
type ValueDecoder struct {
	d   Decoder
	ent Entry
}

// NewValueDecoder returns a ValueDecoder that validates and limits as a
// Decoder with opt would (nil means defaults). opt.Warn, ReuseEntry and
// ConcurrentCRC do not apply: values raise no warnings.
func NewValueDecoder(opt *DecodeOptions) *ValueDecoder {
	vd := &ValueDecoder{}
	if opt != nil {
		vd.d.opt = DecodeOptions{Limits: opt.Limits, Deep: opt.Deep}
	}
	vd.d.lim = vd.d.opt.Limits.withDefaults()
	return vd
}

// Reset makes e's value the one to decode next: its Type, Kind, Encoding
// and Key as Next returned them (Key names it in errors), its bytes
// beginning at file offset off. data holds the file's bytes from off on
// and is only read; more, if not nil, reads the bytes after data, so
// that a damaged value is reported as the Decoder would report it even
// when it runs past data (nil: the file ends with data). Reset keeps a
// copy of *e but not of e.Key, data or more.
func (vd *ValueDecoder) Reset(e *Entry, off int64, data []byte, more io.Reader) {
	d := &vd.d
	vd.ent = *e
	s := &d.br
	s.buf, s.r, s.w, s.crcAt = data, 0, len(data), 0
	s.fixed, s.rd, s.err = true, more, nil
	d.hdr, d.off, d.err = true, off, nil
	d.ent, d.curKey, d.pending, d.val = &vd.ent, vd.ent.Key, true, nil
	d.recording, d.rec, d.recErr = false, nil, nil
}

// CountElements is Decoder.CountElements for the value given to Reset.
func (vd *ValueDecoder) CountElements() (n, withTTL int, err error) { return vd.d.CountElements() }

// Value is Decoder.Value for the value given to Reset.
func (vd *ValueDecoder) Value() (Value, error) { return vd.d.Value() }

// Offset is the file offset of the next byte the decoder would read: past
// the value once it is decoded, where decoding stopped after an error.
func (vd *ValueDecoder) Offset() int64 { return vd.d.off }
