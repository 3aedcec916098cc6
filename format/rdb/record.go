package rdb

// This file is the value model: plain data, no I/O. Logical values are kept
// apart from their on-disk Encoding, which is metadata on the Entry.

// Record is one top-level item of an RDB file, returned by Decoder.Next.
// It is one of *Aux, *SelectDB, *ResizeDB, *SlotInfo, *Function,
// *ModuleAux, *Entry.
type Record interface{ isRecord() }

// Aux is an AUX field (opcode 250), e.g. redis-ver.
type Aux struct {
	Key, Value []byte
	Offset     int64
}

// SelectDB switches the current database (opcode 254).
type SelectDB struct {
	DB     uint64
	Offset int64
}

// ResizeDB is the size hint (opcode 251); never validated by Redis.
type ResizeDB struct {
	DBSize, ExpiresSize uint64
	Offset              int64
}

// SlotInfo is Redis' SLOT_INFO opcode 244 (cluster hint).
type SlotInfo struct {
	Slot, SlotSize, ExpiresSize uint64
	Offset                      int64
}

// Function is a FUNCTION2 library (opcode 245): the full library source.
type Function struct {
	Code   []byte
	Offset int64
}

// ModuleAux is module auxiliary data (opcode 247), kept raw.
type ModuleAux struct {
	ModuleID uint64
	Name     string // 9-character module type name decoded from ModuleID
	EncVer   int
	When     uint64 // 1 = before keys, 2 = after keys
	Raw      []byte // the module opcode stream including its 0 EOF, byte-exact
	Offset   int64
}

// KeyMeta is one class record of Redis RDB 13's KEY_META opcode 243, raw.
type KeyMeta struct {
	ClassSpec uint32
	Raw       []byte // module opcode stream including its 0 EOF
}

// NoExpire is the ExpireAtMs of a key without a TTL.
const NoExpire int64 = -1

// Entry is a key: the prefix opcodes (expire, idle, freq, key-meta) folded
// into one record. Its value is read on demand with Decoder.Value.
type Entry struct {
	DB         uint64
	Key        []byte
	Type       Type     // the on-disk type byte
	Kind       Kind     // the logical type
	Encoding   Encoding // the on-disk encoding (for strings: raw, int or lzf)
	ExpireAtMs int64    // absolute Unix ms, or NoExpire
	LRUIdleSec int64    // -1 when absent
	LFUFreq    int      // -1 when absent
	KeyMeta    []KeyMeta
	Offset     int64 // offset of the first byte of this entry (first prefix opcode or type byte)
}

// RecordOffset is the offset of the first byte of r in its decoder's
// input (for an entry, of its first prefix opcode).
func RecordOffset(r Record) int64 {
	switch r := r.(type) {
	case *Entry:
		return r.Offset
	case *Aux:
		return r.Offset
	case *Function:
		return r.Offset
	case *ModuleAux:
		return r.Offset
	case *SelectDB:
		return r.Offset
	case *ResizeDB:
		return r.Offset
	case *SlotInfo:
		return r.Offset
	}
	return -1
}

func (*Aux) isRecord()       {}
func (*SelectDB) isRecord()  {}
func (*ResizeDB) isRecord()  {}
func (*SlotInfo) isRecord()  {}
func (*Function) isRecord()  {}
func (*ModuleAux) isRecord() {}
func (*Entry) isRecord()     {}

// Kind is the logical type of a value, as TYPE reports it.
type Kind uint8

const (
	KindString Kind = iota
	KindList
	KindSet
	KindZSet
	KindHash
	KindModule
	KindStream
)

// DigestType is the object type number Redis mixes into DEBUG DIGEST
// (OBJ_STRING=0 ... OBJ_MODULE=5, OBJ_STREAM=6), which equals Kind.
func (k Kind) DigestType() uint32 { return uint32(k) }

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindList:
		return "list"
	case KindSet:
		return "set"
	case KindZSet:
		return "zset"
	case KindHash:
		return "hash"
	case KindModule:
		return "module"
	case KindStream:
		return "stream"
	}
	return "unknown"
}

// Encoding is the on-disk encoding of a value. Its String form is the name
// used in the canonical JSON ("listpack", "quicklist2", ...).
type Encoding uint8

const (
	EncRaw        Encoding = iota // string stored as plain bytes
	EncInt                        // string stored as int8/16/32
	EncLZF                        // string stored LZF-compressed
	EncLinkedList                 // type 1
	EncHashtable                  // types 2, 4, 24
	EncSkiplist                   // types 3, 5 (zset)
	EncZipmap                     // type 9
	EncZiplist                    // types 10, 12, 13
	EncIntset                     // type 11
	EncQuicklist                  // type 14
	EncListpack                   // types 16, 17, 20
	EncQuicklist2                 // type 18
	EncStream                     // types 15, 19, 21, 26
	EncModule                     // type 7
	EncListpackEx                 // types 23, 25 (hash listpack with field TTLs)
	EncHash2                      // Valkey 9 type 22
)

func (e Encoding) String() string {
	switch e {
	case EncRaw:
		return "raw"
	case EncInt:
		return "int"
	case EncLZF:
		return "lzf"
	case EncLinkedList:
		return "linkedlist"
	case EncHashtable:
		return "hashtable"
	case EncSkiplist:
		return "skiplist"
	case EncZipmap:
		return "zipmap"
	case EncZiplist:
		return "ziplist"
	case EncIntset:
		return "intset"
	case EncQuicklist:
		return "quicklist"
	case EncListpack:
		return "listpack"
	case EncQuicklist2:
		return "quicklist2"
	case EncStream:
		return "stream"
	case EncModule:
		return "module"
	case EncListpackEx:
		return "listpackex"
	case EncHash2:
		return "hash2"
	}
	return "unknown"
}

// Value is a decoded logical value: one of *String, *List, *Set, *ZSet,
// *Hash, *Stream, *Module.
type Value interface{ Kind() Kind }

// String is a string value.
type String struct{ Data []byte }

// List is a list, head to tail.
type List struct{ Elems [][]byte }

// Set is a set; member order is the file's order and carries no meaning.
type Set struct{ Members [][]byte }

// ZMember is a sorted-set member with its score.
type ZMember struct {
	Member []byte
	Score  float64
}

// ZSet is a sorted set; member order is the file's order.
type ZSet struct{ Members []ZMember }

// HashField is a hash field; ExpireAtMs is 0 when the field has no TTL.
type HashField struct {
	Field, Value []byte
	ExpireAtMs   int64
}

// Hash is a hash; field order is the file's order.
type Hash struct{ Fields []HashField }

// StreamID is a stream entry ID.
type StreamID struct{ Ms, Seq uint64 }

// StreamField is one field/value pair of a stream entry.
type StreamField struct{ Field, Value []byte }

// StreamEntry is a live (not deleted) stream entry.
type StreamEntry struct {
	ID     StreamID
	Fields []StreamField
}

// StreamPending is an entry of a consumer group's PEL.
type StreamPending struct {
	ID             StreamID
	Consumer       []byte // owner, resolved from the consumers' PELs
	DeliveryTimeMs int64
	DeliveryCount  uint64
}

// StreamConsumer is a consumer of a group.
type StreamConsumer struct {
	Name         []byte
	SeenTimeMs   int64
	ActiveTimeMs int64 // v3 only; equals SeenTimeMs for older types
	PEL          []StreamID
}

// EntriesReadUnknown is the "invalid" entries_read counter (-1 as uint64).
const EntriesReadUnknown int64 = -1

// StreamGroup is a consumer group.
type StreamGroup struct {
	Name        []byte
	LastID      StreamID
	EntriesRead int64 // EntriesReadUnknown when not known or not stored (v1)
	PEL         []StreamPending
	Consumers   []StreamConsumer
}

// Stream is a stream with its metadata and consumer groups. Entries are in
// ID order.
type Stream struct {
	Entries      []StreamEntry
	Length       uint64
	LastID       StreamID
	FirstID      StreamID // stored from v2 (type 19) on
	MaxDeletedID StreamID // stored from v2 on
	EntriesAdded uint64   // stored from v2 on
	HasV2Meta    bool     // FirstID, MaxDeletedID, EntriesAdded were in the file
	Groups       []StreamGroup
	// IDMP holds RDB 13 (type 26) extra state raw, when present.
	IDMP []byte
}

// Module is a module value kept raw so unknown modules survive a round trip.
type Module struct {
	ModuleID uint64
	Name     string // 9-character module type name
	EncVer   int
	Raw      []byte // the module opcode stream after the id, including its 0 EOF
}

func (*String) Kind() Kind { return KindString }
func (*List) Kind() Kind   { return KindList }
func (*Set) Kind() Kind    { return KindSet }
func (*ZSet) Kind() Kind   { return KindZSet }
func (*Hash) Kind() Kind   { return KindHash }
func (*Stream) Kind() Kind { return KindStream }
func (*Module) Kind() Kind { return KindModule }
