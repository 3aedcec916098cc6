package cli

import (
	"encoding/base64"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
)

// This file writes the canonical JSON of RDB records and values (the
// format of `rdbtool dump --format jsonl`), by hand and without
// reflection: it is the hot path of dump.

// AppendStreamID appends a stream ID as the string "ms-seq".
func AppendStreamID(dst []byte, id rdb.StreamID) []byte {
	dst = append(dst, '"')
	dst = strconv.AppendUint(dst, id.Ms, 10)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, id.Seq, 10)
	return append(dst, '"')
}

// AppendEntry appends one key's canonical JSON object (no newline):
// {"db","key","type","encoding","expire_at_ms"?,"idle_s"?,"freq"?,"value"}.
// v may be nil when the value was not read (then "value" is omitted).
func AppendEntry(dst []byte, e *rdb.Entry, v rdb.Value) []byte {
	dst = append(dst, `{"db":`...)
	dst = strconv.AppendUint(dst, e.DB, 10)
	dst = append(dst, `,"key":`...)
	dst = AppendBytes(dst, e.Key)
	dst = append(dst, `,"type":"`...)
	dst = append(dst, e.Kind.String()...)
	dst = append(dst, `","encoding":"`...)
	dst = append(dst, e.Encoding.String()...)
	dst = append(dst, '"')
	if e.ExpireAtMs != rdb.NoExpire {
		dst = append(dst, `,"expire_at_ms":`...)
		dst = strconv.AppendInt(dst, e.ExpireAtMs, 10)
	}
	if e.LRUIdleSec >= 0 {
		dst = append(dst, `,"idle_s":`...)
		dst = strconv.AppendInt(dst, e.LRUIdleSec, 10)
	}
	if e.LFUFreq >= 0 {
		dst = append(dst, `,"freq":`...)
		dst = strconv.AppendInt(dst, int64(e.LFUFreq), 10)
	}
	if h, ok := v.(*rdb.Hash); ok {
		dst = appendFieldExpires(dst, h)
	}
	if v != nil {
		dst = append(dst, `,"value":`...)
		if st, ok := v.(*rdb.Stream); ok {
			// Consumers' active time is stored from stream type 21 on.
			dst = appendStream(dst, st, e.Type == rdb.TypeStreamListpacks3 || e.Type == rdb.TypeStreamListpacks4)
		} else {
			dst = AppendValue(dst, v)
		}
	}
	return append(dst, '}')
}

func appendFieldExpires(dst []byte, h *rdb.Hash) []byte {
	n := 0
	for i := range h.Fields {
		f := &h.Fields[i]
		if f.ExpireAtMs == 0 {
			continue
		}
		if n == 0 {
			dst = append(dst, `,"field_expire_at_ms":[`...)
		} else {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, '[')
		dst = AppendBytes(dst, f.Field)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, f.ExpireAtMs, 10)
		dst = append(dst, ']')
	}
	if n > 0 {
		dst = append(dst, ']')
	}
	return dst
}

// AppendValue appends the canonical JSON of a value: string → byte string;
// list, set → array; hash → [[f,v],...]; zset → [[member,score],...];
// stream → object; module → {"module","encver","raw"}.
func AppendValue(dst []byte, v rdb.Value) []byte {
	switch v := v.(type) {
	case *rdb.String:
		return AppendBytes(dst, v.Data)
	case *rdb.List:
		return appendBytesArray(dst, v.Elems)
	case *rdb.Set:
		return appendBytesArray(dst, v.Members)
	case *rdb.ZSet:
		dst = append(dst, '[')
		for i := range v.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '[')
			dst = AppendBytes(dst, v.Members[i].Member)
			dst = append(dst, ',')
			dst = AppendFloat(dst, v.Members[i].Score)
			dst = append(dst, ']')
		}
		return append(dst, ']')
	case *rdb.Hash:
		dst = append(dst, '[')
		for i := range v.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '[')
			dst = AppendBytes(dst, v.Fields[i].Field)
			dst = append(dst, ',')
			dst = AppendBytes(dst, v.Fields[i].Value)
			dst = append(dst, ']')
		}
		return append(dst, ']')
	case *rdb.Stream:
		return appendStream(dst, v, true)
	case *rdb.Module:
		dst = append(dst, `{"module":`...)
		dst = AppendString(dst, v.Name)
		dst = append(dst, `,"encver":`...)
		dst = strconv.AppendInt(dst, int64(v.EncVer), 10)
		dst = append(dst, `,"raw":`...)
		dst = appendBase64(dst, v.Raw)
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

func appendBase64(dst, b []byte) []byte {
	dst = append(dst, `{"base64":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"', '}')
}

func appendBytesArray(dst []byte, a [][]byte) []byte {
	dst = append(dst, '[')
	for i, b := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendBytes(dst, b)
	}
	return append(dst, ']')
}

// appendStream writes a stream; activeTime says whether consumers' active
// time was stored (stream type 21+) and so is shown.
func appendStream(dst []byte, s *rdb.Stream, activeTime bool) []byte {
	dst = append(dst, `{"entries":[`...)
	for i := range s.Entries {
		e := &s.Entries[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		dst = AppendStreamID(dst, e.ID)
		dst = append(dst, ",["...)
		for j := range e.Fields {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '[')
			dst = AppendBytes(dst, e.Fields[j].Field)
			dst = append(dst, ',')
			dst = AppendBytes(dst, e.Fields[j].Value)
			dst = append(dst, ']')
		}
		dst = append(dst, "]]"...)
	}
	dst = append(dst, `],"length":`...)
	dst = strconv.AppendUint(dst, s.Length, 10)
	dst = append(dst, `,"last_id":`...)
	dst = AppendStreamID(dst, s.LastID)
	if s.HasV2Meta {
		dst = append(dst, `,"first_id":`...)
		dst = AppendStreamID(dst, s.FirstID)
		dst = append(dst, `,"max_deleted_id":`...)
		dst = AppendStreamID(dst, s.MaxDeletedID)
		dst = append(dst, `,"entries_added":`...)
		dst = strconv.AppendUint(dst, s.EntriesAdded, 10)
	}
	dst = append(dst, `,"groups":[`...)
	for i := range s.Groups {
		g := &s.Groups[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = AppendBytes(dst, g.Name)
		dst = append(dst, `,"last_delivered_id":`...)
		dst = AppendStreamID(dst, g.LastID)
		if s.HasV2Meta {
			dst = append(dst, `,"entries_read":`...)
			dst = strconv.AppendInt(dst, g.EntriesRead, 10)
		}
		dst = append(dst, `,"pel":[`...)
		for j := range g.PEL {
			p := &g.PEL[j]
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '[')
			dst = AppendStreamID(dst, p.ID)
			dst = append(dst, ',')
			dst = AppendBytes(dst, p.Consumer)
			dst = append(dst, ',')
			dst = strconv.AppendInt(dst, p.DeliveryTimeMs, 10)
			dst = append(dst, ',')
			dst = strconv.AppendUint(dst, p.DeliveryCount, 10)
			dst = append(dst, ']')
		}
		dst = append(dst, `],"consumers":[`...)
		for j := range g.Consumers {
			c := &g.Consumers[j]
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = AppendBytes(dst, c.Name)
			dst = append(dst, `,"seen_time_ms":`...)
			dst = strconv.AppendInt(dst, c.SeenTimeMs, 10)
			if activeTime {
				dst = append(dst, `,"active_time_ms":`...)
				dst = strconv.AppendInt(dst, c.ActiveTimeMs, 10)
			}
			dst = append(dst, `,"pel":[`...)
			for k, id := range c.PEL {
				if k > 0 {
					dst = append(dst, ',')
				}
				dst = AppendStreamID(dst, id)
			}
			dst = append(dst, "]}"...)
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, "]}"...)
}

// AppendRecord appends the canonical JSON of a non-key record, or returns
// dst unchanged and false for records that dump does not show (SELECTDB,
// RESIZEDB, SLOT_INFO).
func AppendRecord(dst []byte, rec rdb.Record) ([]byte, bool) {
	switch r := rec.(type) {
	case *rdb.Aux:
		dst = append(dst, `{"aux":`...)
		dst = AppendBytes(dst, r.Key)
		dst = append(dst, `,"value":`...)
		dst = AppendBytes(dst, r.Value)
		return append(dst, '}'), true
	case *rdb.Function:
		dst = append(dst, `{"function":`...)
		dst = AppendBytes(dst, FunctionLibraryName(r.Code))
		dst = append(dst, `,"code":`...)
		dst = AppendBytes(dst, r.Code)
		return append(dst, '}'), true
	case *rdb.ModuleAux:
		dst = append(dst, `{"module_aux":`...)
		dst = AppendString(dst, r.Name)
		dst = append(dst, `,"encver":`...)
		dst = strconv.AppendInt(dst, int64(r.EncVer), 10)
		dst = append(dst, `,"when":`...)
		dst = strconv.AppendUint(dst, r.When, 10)
		dst = append(dst, `,"raw":`...)
		dst = appendBase64(dst, r.Raw)
		return append(dst, '}'), true
	}
	return dst, false
}

// FunctionLibraryName extracts the library name from a Lua library's
// shebang line "#!lua name=<lib> ...".
func FunctionLibraryName(code []byte) []byte {
	line := code
	for i, c := range code {
		if c == '\n' {
			line = code[:i]
			break
		}
	}
	const key = "name="
	for i := 0; i+len(key) <= len(line); i++ {
		if string(line[i:i+len(key)]) == key && (i == 0 || line[i-1] == ' ') {
			rest := line[i+len(key):]
			for j, c := range rest {
				if c == ' ' || c == '\r' {
					return rest[:j]
				}
			}
			return rest
		}
	}
	return nil
}
