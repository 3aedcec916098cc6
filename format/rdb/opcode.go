package rdb

// Type is an on-disk value type byte (RDB_TYPE_* in rdb.h). Some bytes mean
// different things in Redis and Valkey files: the file's flavour decides.
type Type uint8

const (
	TypeString              Type = 0
	TypeList                Type = 1
	TypeSet                 Type = 2
	TypeZSet                Type = 3
	TypeHash                Type = 4
	TypeZSet2               Type = 5
	TypeModulePreGA         Type = 6
	TypeModule2             Type = 7
	TypeHashZipmap          Type = 9
	TypeListZiplist         Type = 10
	TypeSetIntset           Type = 11
	TypeZSetZiplist         Type = 12
	TypeHashZiplist         Type = 13
	TypeListQuicklist       Type = 14
	TypeStreamListpacks     Type = 15
	TypeHashListpack        Type = 16
	TypeZSetListpack        Type = 17
	TypeListQuicklist2      Type = 18
	TypeStreamListpacks2    Type = 19
	TypeSetListpack         Type = 20
	TypeStreamListpacks3    Type = 21
	TypeHashMetadataPreGA   Type = 22 // Redis 7.4-RC; in Valkey 80 files 22 is HASH_2
	TypeHashListpackExPreGA Type = 23
	TypeHashMetadata        Type = 24
	TypeHashListpackEx      Type = 25
	TypeStreamListpacks4    Type = 26 // Redis RDB 13

	TypeValkeyHash2 Type = 22 // Valkey RDB 80
)

// Opcodes (RDB_OPCODE_* in rdb.h).
const (
	OpKeyMeta       byte = 243 // Redis RDB 13; Valkey 80 uses 243 for SLOT_IMPORT
	OpSlotInfo      byte = 244
	OpFunction2     byte = 245
	OpFunctionPreGA byte = 246
	OpModuleAux     byte = 247
	OpIdle          byte = 248
	OpFreq          byte = 249
	OpAux           byte = 250
	OpResizeDB      byte = 251
	OpExpireTimeMs  byte = 252
	OpExpireTime    byte = 253
	OpSelectDB      byte = 254
	OpEOF           byte = 255
)

// Flavour says whose file this is: the same byte can mean different things.
type Flavour uint8

const (
	FlavourRedis  Flavour = iota // magic "REDIS"
	FlavourValkey                // magic "VALKEY" (RDB 80+); Valkey 8 files use "REDIS" 0011
)
