package rdb

import (
	"encoding/binary"
	"fmt"
)

// AppendEntryBody appends to dst the part of a key record that
// [Encoder.WriteEntry] writes after the record's prefixes: the type byte,
// the key and the value, chosen and encoded exactly as WriteEntry would with
// e's options (lossy degradation and OnLossy included). It writes nothing
// to e's writer and does not change e's state, so several goroutines can
// each encode with their own Encoder and one Encoder can assemble the
// results with [Encoder.WriteEntryBody]; a file assembled that way is
// byte-identical to one written with WriteEntry.
//
// ent.DB and ent.ExpireAtMs are not encoded (pass them to WriteEntryBody);
// an entry with LRU/LFU information or key metadata is refused. ok is false
// when a lossy target drops the key: WriteEntry would write nothing.
func (e *Encoder) AppendEntryBody(dst []byte, ent *Entry, v Value) (out []byte, ok bool, err error) {
	if e.err != nil {
		return dst, false, e.err
	}
	if ent == nil || v == nil {
		return dst, false, &FormatError{Context: "AppendEntryBody", Err: fmt.Errorf("%w: nil entry or value", ErrUnsupported)}
	}
	if ent.LRUIdleSec >= 0 || ent.LFUFreq >= 0 || len(ent.KeyMeta) > 0 {
		return dst, false, &FormatError{Key: ent.Key, Context: "AppendEntryBody", Err: fmt.Errorf("%w: LRU/LFU or key metadata", ErrUnsupported)}
	}
	o := &e.opt
	v, err = o.degrade(ent.Key, v)
	if err != nil || v == nil {
		return dst, false, err
	}
	hint := EncRaw
	if o.KeepEncoding {
		hint = ent.Encoding
	}
	t, err := chooseEncoding(v, hint, o)
	if err != nil {
		return dst, false, err
	}
	mark := len(dst)
	dst = append(dst, byte(t))
	dst = e.appendString(dst, ent.Key)
	dst, err = e.appendValue(dst, v, t)
	if err != nil {
		return dst[:mark], false, err
	}
	return dst, true, nil
}

// WriteEntryBody writes a key record whose body (type, key and value) was
// made by [Encoder.AppendEntryBody] of an encoder with the same options:
// SELECTDB when db differs from the current database, the expire time
// unless expireAtMs is NoExpire, then body as is.
func (e *Encoder) WriteEntryBody(db uint64, expireAtMs int64, body []byte) error {
	if err := e.check(); err != nil {
		return err
	}
	b := e.buf
	if !e.dbWasSet || db != e.db {
		b = append(b, OpSelectDB)
		b = appendLen(b, db)
		e.db, e.dbWasSet = db, true
	}
	if expireAtMs != NoExpire {
		b = append(b, OpExpireTimeMs)
		b = binary.LittleEndian.AppendUint64(b, uint64(expireAtMs))
	}
	e.buf = append(b, body...)
	return e.flush(false)
}
