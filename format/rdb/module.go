package rdb

import "strconv"

// Module values (type 7), MODULE_AUX (opcode 247) and Redis 13 KEY_META
// (opcode 243) carry a self-describing module opcode stream (rdb.md §6.2):
// (opcode, operand)* then opcode 0. The decoder walks it without knowing
// the module and keeps the raw bytes, so values of unknown modules survive a
// round trip byte for byte.

// Module opcodes (RDB_MODULE_OPCODE_* in rdb.h).
const (
	moduleOpEOF    = 0
	moduleOpSInt   = 1
	moduleOpUInt   = 2
	moduleOpFloat  = 3
	moduleOpDouble = 4
	moduleOpString = 5
)

// maxKeyMetaClasses is KEY_META_MAX_NUM_MODULES: module classes 1..7.
const maxKeyMetaClasses = 7

const moduleCharset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// ModuleTypeName decodes a 64-bit module type id into its 9-character name
// and 10-bit encoding version (rdb.md §6.1). Every id decodes.
func ModuleTypeName(id uint64) (name string, encver int) {
	encver = int(id & 1023)
	id >>= 10
	var b [9]byte
	for i := 8; i >= 0; i-- {
		b[i] = moduleCharset[id&63]
		id >>= 6
	}
	return string(b[:]), encver
}

// walkModuleStream consumes a module opcode stream up to and including its
// EOF opcode.
func (d *Decoder) walkModuleStream() error {
	for {
		off := d.off
		op, err := d.readUint()
		if err != nil {
			return err
		}
		switch op {
		case moduleOpEOF:
			return nil
		case moduleOpSInt, moduleOpUInt:
			_, err = d.readUint()
		case moduleOpFloat:
			err = d.skip(4)
		case moduleOpDouble:
			err = d.skip(8)
		case moduleOpString:
			err = d.skipString()
		default:
			// Redis' generic skipper would read on; treat it as corrupt.
			return d.fail(off, d.ctx, errCorrupt("unknown module opcode "+strconv.FormatUint(op, 10)))
		}
		if err != nil {
			return err
		}
	}
}

// readRawModuleStream walks a module opcode stream and returns its bytes.
func (d *Decoder) readRawModuleStream() ([]byte, error) {
	d.recording, d.rec, d.recErr = true, nil, nil
	err := d.walkModuleStream()
	d.recording = false
	raw := d.rec
	d.rec = nil
	if err == nil {
		err = d.recErr
	}
	return raw, err
}

func (d *Decoder) readModule() (Value, error) {
	d.ctx = "module value"
	id, err := d.readUint()
	if err != nil {
		return nil, err
	}
	name, ver := ModuleTypeName(id)
	d.ctx = "module value " + name
	raw, err := d.readRawModuleStream()
	if err != nil {
		return nil, err
	}
	return &Module{ModuleID: id, Name: name, EncVer: ver, Raw: raw}, nil
}

func (d *Decoder) readModuleAux(off int64) (Record, error) {
	d.ctx = "MODULE_AUX"
	id, err := d.readUint()
	if err != nil {
		return nil, err
	}
	name, ver := ModuleTypeName(id)
	d.ctx = "MODULE_AUX " + name
	wop := d.off
	whenOp, err := d.readUint()
	if err != nil {
		return nil, err
	}
	if whenOp != moduleOpUInt {
		return nil, d.fail(wop, d.ctx, errCorrupt("MODULE_AUX when-opcode is not UINT"))
	}
	when, err := d.readUint()
	if err != nil {
		return nil, err
	}
	raw, err := d.readRawModuleStream()
	if err != nil {
		return nil, err
	}
	return &ModuleAux{ModuleID: id, Name: name, EncVer: ver, When: when, Raw: raw, Offset: off}, nil
}

// readKeyMeta reads the payload of Redis 13's KEY_META opcode: a class
// count, then per class a little-endian uint32 class spec (written raw in
// host order) and a module opcode stream.
func (d *Decoder) readKeyMeta() ([]KeyMeta, error) {
	d.ctx = "KEY_META"
	off := d.off
	n, err := d.readUint()
	if err != nil {
		return nil, err
	}
	if n > maxKeyMetaClasses {
		return nil, d.fail(off, d.ctx, errCorrupt("KEY_META with "+strconv.FormatUint(n, 10)+" classes (max 7)"))
	}
	meta := make([]KeyMeta, 0, n)
	for range n {
		p, err := d.readFixed(4)
		if err != nil {
			return nil, err
		}
		spec := uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
		raw, err := d.readRawModuleStream()
		if err != nil {
			return nil, err
		}
		meta = append(meta, KeyMeta{ClassSpec: spec, Raw: raw})
	}
	return meta, nil
}

// SlotImport is Valkey 9's SLOT_IMPORT opcode 243 (atomic slot migration
// state, cluster mode). Layout from a third-party parser, unconfirmed
// against Valkey's source (rdb-next.md §2.3).
type SlotImport struct {
	Job    []byte
	Ranges [][2]uint64 // [start, end] slot ranges
	Offset int64
}

func (*SlotImport) isRecord() {}

func (d *Decoder) readSlotImport(off int64) (Record, error) {
	d.ctx = "SLOT_IMPORT"
	job, err := d.readString(nil)
	if err != nil {
		return nil, err
	}
	n, err := d.readCount()
	if err != nil {
		return nil, err
	}
	r := &SlotImport{Job: job, Ranges: make([][2]uint64, 0, capHint(n)), Offset: off}
	for range n {
		a, err := d.readUint()
		if err != nil {
			return nil, err
		}
		b, err := d.readUint()
		if err != nil {
			return nil, err
		}
		r.Ranges = append(r.Ranges, [2]uint64{a, b})
	}
	return r, nil
}
