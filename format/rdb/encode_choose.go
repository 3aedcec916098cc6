package rdb

import "fmt"

// degrade returns v in a form the target can hold. Without Lossy, anything
// that would be lost is an ErrUnsupported error naming key. With Lossy the
// loss is reported to OnLossy; a nil Value means "drop the key".
func (o *EncodeOptions) degrade(key []byte, v Value) (Value, error) {
	switch x := v.(type) {
	case *Hash:
		if o.redisAtLeast(12) || o.valkey80() {
			return v, nil
		}
		ttl := false
		for i := range x.Fields {
			if x.Fields[i].ExpireAtMs != 0 {
				ttl = true
				break
			}
		}
		if !ttl {
			return v, nil
		}
		if err := o.lossy(key, "hash field TTLs"); err != nil {
			return nil, err
		}
		h := &Hash{Fields: make([]HashField, len(x.Fields))}
		copy(h.Fields, x.Fields)
		for i := range h.Fields {
			h.Fields[i].ExpireAtMs = 0
		}
		return h, nil
	case *ZSet:
		for _, m := range x.Members {
			if m.Score != m.Score {
				return nil, &FormatError{Key: key, Context: "zset score", Err: fmt.Errorf("%w: NaN score", ErrUnsupported)}
			}
		}
	case *Stream:
		if o.Version < 9 {
			if err := o.lossy(key, "stream key"); err != nil {
				return nil, err
			}
			return nil, nil
		}
		return o.degradeStream(key, x)
	case *Module:
		if o.Version < 8 {
			if err := o.lossy(key, "module key"); err != nil {
				return nil, err
			}
			return nil, nil
		}
	case *String, *List, *Set:
	default:
		return nil, &FormatError{Key: key, Context: fmt.Sprintf("value %T", v), Err: ErrUnsupported}
	}
	return v, nil
}

// degradeStream drops stream state older stream types cannot store.
func (o *EncodeOptions) degradeStream(key []byte, s *Stream) (Value, error) {
	st := streamVersion(s, o)
	lose := func(what string) error { return o.lossy(key, what) }
	c := *s
	changed := false
	if len(s.IDMP) > 0 && st < 4 {
		if err := lose("stream IDMP state"); err != nil {
			return nil, err
		}
		c.IDMP, changed = nil, true
	}
	if st < 2 && s.HasV2Meta {
		var first StreamID
		if len(s.Entries) > 0 {
			first = s.Entries[0].ID
		}
		if s.EntriesAdded != s.Length || s.MaxDeletedID != (StreamID{}) || s.FirstID != first {
			if err := lose("stream metadata (entries-added, max-deleted-id, first-id)"); err != nil {
				return nil, err
			}
		}
		c.HasV2Meta, changed = false, true
	}
	if st < 3 {
		active := false
		for _, g := range s.Groups {
			for _, cn := range g.Consumers {
				if cn.ActiveTimeMs != cn.SeenTimeMs {
					active = true
				}
			}
		}
		if active {
			if err := lose("stream consumer active-time"); err != nil {
				return nil, err
			}
		}
	}
	if changed {
		return &c, nil
	}
	return s, nil
}

// streamVersion is the stream layout the target writes: 1 (type 15),
// 2 (19), 3 (21) or 4 (26).
func streamVersion(s *Stream, o *EncodeOptions) int {
	switch {
	case o.Version == 9:
		return 1
	case o.Version == 10:
		return 2
	case o.Flavour == FlavourRedis && o.Version >= 13 && len(s.IDMP) > 0:
		return 4
	}
	return 3
}

// chooseEncoding picks the type byte the target server would write for v,
// as it would hold v in memory after loading it (rdb.md §5 "Which type
// Redis writes"). hint, when not EncRaw, is the source encoding to keep
// if the target has a type for it (EncodeOptions.KeepEncoding).
// v must already be degraded for the target.
func chooseEncoding(v Value, hint Encoding, o *EncodeOptions) (Type, error) {
	th := &o.Thresholds
	switch x := v.(type) {
	case *String:
		return TypeString, nil
	case *List:
		switch {
		case o.Version >= 10:
			return TypeListQuicklist2, nil
		case o.Version >= 7:
			return TypeListQuicklist, nil
		}
		if hint != EncLinkedList && len(x.Elems) <= th.ListMaxZiplistEntries && maxLen(x.Elems) <= th.ListMaxZiplistValue {
			return TypeListZiplist, nil
		}
		return TypeList, nil
	case *Set:
		if hint == EncListpack && !o.redisAtLeast(11) {
			hint = EncRaw // no listpack sets before 11: choose naturally
		}
		if hint != EncHashtable && hint != EncListpack && (hint == EncIntset || len(x.Members) <= th.SetMaxIntsetEntries) &&
			len(x.Members) > 0 && allInts(x.Members) {
			return TypeSetIntset, nil
		}
		if o.redisAtLeast(11) && hint != EncHashtable && (hint == EncListpack ||
			len(x.Members) <= th.SetMaxListpackEntries && maxLen(x.Members) <= th.SetMaxListpackValue) {
			return TypeSetListpack, nil
		}
		return TypeSet, nil
	case *ZSet:
		small := hint != EncSkiplist && (hint == EncListpack || hint == EncZiplist ||
			len(x.Members) <= th.ZSetMaxListpackEntries && zsetMaxLen(x) <= th.ZSetMaxListpackValue)
		switch {
		case small && o.Version >= 10:
			return TypeZSetListpack, nil
		case small:
			return TypeZSetZiplist, nil
		case o.Version >= 8:
			return TypeZSet2, nil
		}
		return TypeZSet, nil
	case *Hash:
		ttl := false
		n := 0
		for i := range x.Fields {
			f := &x.Fields[i]
			if f.ExpireAtMs != 0 {
				ttl = true
			}
			n = max(n, len(f.Field), len(f.Value))
		}
		fits := len(x.Fields) <= th.HashMaxListpackEntries && n <= th.HashMaxListpackValue
		small := hint != EncHashtable && (hint == EncListpack || hint == EncListpackEx || hint == EncZiplist || fits)
		if o.valkey80() {
			switch {
			case ttl:
				return TypeValkeyHash2, nil
			case small:
				return TypeHashListpack, nil
			}
			return TypeHash, nil
		}
		switch {
		case small && o.Version >= 12 && (ttl || hint == EncListpackEx):
			return TypeHashListpackEx, nil
		case ttl:
			return TypeHashMetadata, nil
		case small && o.Version >= 10:
			return TypeHashListpack, nil
		case small:
			return TypeHashZiplist, nil
		}
		return TypeHash, nil
	case *Stream:
		switch streamVersion(x, o) {
		case 1:
			return TypeStreamListpacks, nil
		case 2:
			return TypeStreamListpacks2, nil
		case 4:
			return TypeStreamListpacks4, nil
		}
		return TypeStreamListpacks3, nil
	case *Module:
		return TypeModule2, nil
	}
	return 0, &FormatError{Context: fmt.Sprintf("value %T", v), Err: ErrUnsupported}
}

func maxLen(bs [][]byte) int {
	n := 0
	for _, b := range bs {
		n = max(n, len(b))
	}
	return n
}

func zsetMaxLen(z *ZSet) int {
	n := 0
	for _, m := range z.Members {
		n = max(n, len(m.Member))
	}
	return n
}

func allInts(bs [][]byte) bool {
	for _, b := range bs {
		if _, ok := parseCanonicalInt(b); !ok {
			return false
		}
	}
	return true
}
