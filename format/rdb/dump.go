package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// DUMP / RESTORE payloads (rdb.md §13, rdb-next.md §6):
//
//	[243 KEY_META ...] type value  version(2 bytes LE)  CRC-64(8 bytes LE)
//
// The CRC covers everything before it. There is no magic, so the version
// decides the type table: 80 is Valkey 9, anything else Redis lineage.

// dumpFooterLen is the 2-byte version plus the 8-byte CRC.
const dumpFooterLen = 10

// EncodeDump returns the DUMP payload of v for RDB version (6..13, or 80
// for Valkey 9), choosing the encoding as that server would.
func EncodeDump(v Value, version int) ([]byte, error) {
	return EncodeDumpWith(v, EncRaw, &EncodeOptions{Version: version})
}

// EncodeDumpWith is EncodeDump with options; enc is the value's current
// encoding, honoured when opt.KeepEncoding is set. opt.Lossy applies
// (with a nil key), NoChecksum does not: RESTORE always checks the CRC.
func EncodeDumpWith(v Value, enc Encoding, opt *EncodeOptions) ([]byte, error) {
	e := &Encoder{opt: opt.resolved()}
	o := &e.opt
	if err := o.validate(); err != nil {
		return nil, err
	}
	if v == nil {
		return nil, &FormatError{Context: "DUMP payload", Err: fmt.Errorf("%w: nil value", ErrUnsupported)}
	}
	v, err := o.degrade(nil, v)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, &FormatError{Context: "DUMP payload", Err: fmt.Errorf("%w: value dropped for RDB %d", ErrUnsupported, o.Version)}
	}
	if !o.KeepEncoding {
		enc = EncRaw
	}
	t, err := chooseEncoding(v, enc, o)
	if err != nil {
		return nil, err
	}
	b := []byte{byte(t)}
	if b, err = e.appendValue(b, v, t); err != nil {
		return nil, err
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(o.Version))
	return binary.LittleEndian.AppendUint64(b, CRC64(0, b)), nil
}

// DecodeDump decodes a DUMP payload as RESTORE does: the footer must hold
// a known RDB version and the CRC-64 of the payload (like Redis'
// verifyDumpPayload, a stored 0 is not special), and the value must use
// the whole body. KEY_META before the type (RDB 13) is accepted and
// dropped; use DecodeDumpEntry to keep it.
func DecodeDump(payload []byte) (Value, error) {
	_, v, err := DecodeDumpEntry(payload, nil)
	return v, err
}

// DecodeDumpEntry is DecodeDump returning an Entry (no key, no DB) with the
// payload's type, encoding and key metadata, decoded with opt (nil =
// defaults; Deep validation is advisable for untrusted payloads).
func DecodeDumpEntry(payload []byte, opt *DecodeOptions) (*Entry, Value, error) {
	if len(payload) < dumpFooterLen+1 {
		return nil, nil, &FormatError{Context: "DUMP payload", Err: fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(payload))}
	}
	n := len(payload) - dumpFooterLen
	body, footer := payload[:n], payload[n:]
	ver := int(binary.LittleEndian.Uint16(footer))
	flavour := FlavourRedis
	switch {
	case ver == valkeyVersion:
		flavour = FlavourValkey
	case ver >= 1 && ver <= maxRedisVersion:
	default:
		return nil, nil, &FormatError{Offset: int64(n), Context: "DUMP payload version", Err: fmt.Errorf("%w: RDB version %d", ErrUnsupported, ver)}
	}
	if stored, crc := binary.LittleEndian.Uint64(footer[2:]), CRC64(0, payload[:n+2]); stored != crc {
		return nil, nil, &FormatError{Offset: int64(n + 2), Context: "DUMP payload checksum",
			Err: fmt.Errorf("%w: stored %016x, computed %016x", ErrChecksum, stored, crc)}
	}
	d := NewDecoder(bytes.NewReader(body), opt)
	d.hdr, d.version, d.flavour = true, ver, flavour
	d.ctx = "DUMP payload type"
	tb, err := d.readByte()
	if err != nil {
		return nil, nil, err
	}
	var meta []KeyMeta
	if tb == OpKeyMeta && flavour == FlavourRedis && ver >= 13 {
		if meta, err = d.readKeyMeta(); err != nil {
			return nil, nil, err
		}
		if tb, err = d.readByte(); err != nil {
			return nil, nil, err
		}
	}
	t := Type(tb)
	kind, enc, ok := d.typeInfo(t)
	if !ok || t == TypeModulePreGA {
		return nil, nil, &FormatError{Offset: d.off - 1, Context: "DUMP payload type", Err: fmt.Errorf("%w: type %d in RDB %d", ErrUnsupported, tb, ver)}
	}
	ent := &Entry{Type: t, Kind: kind, Encoding: enc, ExpireAtMs: NoExpire, LRUIdleSec: -1, LFUFreq: -1, KeyMeta: meta}
	if t == TypeString {
		ent.Encoding = d.peekStringEncoding()
	}
	d.ent, d.pending = ent, true
	v, err := d.Value()
	if err != nil {
		return nil, nil, err
	}
	if d.off != int64(n) {
		return nil, nil, &FormatError{Offset: d.off, Context: "DUMP payload", Err: fmt.Errorf("%w: %d bytes after the value", ErrCorrupt, int64(n)-d.off)}
	}
	return ent, v, nil
}
