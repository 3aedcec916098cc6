package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/cli"
)

// jsonlSource reads the canonical JSONL of "rdbtool dump" back into
// records, for convert --from jsonl.
type jsonlSource struct {
	br   *bufio.Reader
	line int
}

func newJSONLSource(r io.Reader) *jsonlSource {
	return &jsonlSource{br: bufio.NewReaderSize(r, 1<<20)}
}

func (s *jsonlSource) version() int { return 0 }

// jsonLine is the union of all canonical record objects.
type jsonLine struct {
	DB          *uint64           `json:"db"`
	Key         json.RawMessage   `json:"key"`
	Type        string            `json:"type"`
	Encoding    string            `json:"encoding"`
	ExpireAtMs  *int64            `json:"expire_at_ms"`
	IdleS       *int64            `json:"idle_s"`
	Freq        *int              `json:"freq"`
	FieldExpire []json.RawMessage `json:"field_expire_at_ms"`
	Value       json.RawMessage   `json:"value"`
	Aux         json.RawMessage   `json:"aux"`
	Function    json.RawMessage   `json:"function"`
	Code        json.RawMessage   `json:"code"`
	ModuleAux   *string           `json:"module_aux"`
	EncVer      int               `json:"encver"`
	When        uint64            `json:"when"`
	Raw         json.RawMessage   `json:"raw"`
}

var errJSONL = errors.New("invalid canonical JSONL")

func (s *jsonlSource) fail(format string, args ...any) error {
	return cli.Invalid(fmt.Errorf("line %d: %w: %s", s.line, errJSONL, fmt.Sprintf(format, args...)))
}

func (s *jsonlSource) next() (rdb.Record, rdb.Value, error) {
	for {
		line, err := s.br.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				return nil, nil, io.EOF
			}
			return nil, nil, err
		}
		s.line++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var j jsonLine
		if err := json.Unmarshal(line, &j); err != nil {
			return nil, nil, s.fail("%v", err)
		}
		return s.decode(&j)
	}
}

func (s *jsonlSource) decode(j *jsonLine) (rdb.Record, rdb.Value, error) {
	switch {
	case j.Aux != nil:
		k, err1 := jsonBytes(j.Aux)
		v, err2 := jsonBytes(j.Value)
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, s.fail("aux: %v", err)
		}
		return &rdb.Aux{Key: k, Value: v}, nil, nil
	case j.Function != nil:
		code, err := jsonBytes(j.Code)
		if err != nil {
			return nil, nil, s.fail("function: %v", err)
		}
		return &rdb.Function{Code: code}, nil, nil
	case j.ModuleAux != nil:
		raw, err := jsonBytes(j.Raw)
		id, ierr := moduleID(*j.ModuleAux, j.EncVer)
		if err := errors.Join(err, ierr); err != nil {
			return nil, nil, s.fail("module_aux: %v", err)
		}
		return &rdb.ModuleAux{ModuleID: id, Name: *j.ModuleAux, EncVer: j.EncVer, When: j.When, Raw: raw}, nil, nil
	case j.Key == nil || j.DB == nil:
		return nil, nil, s.fail("neither a key nor a known record")
	}
	key, err := jsonBytes(j.Key)
	if err != nil {
		return nil, nil, s.fail("key: %v", err)
	}
	kind, ok := parseKind(j.Type)
	if !ok {
		return nil, nil, s.fail("key %q: unknown type %q", key, j.Type)
	}
	e := &rdb.Entry{DB: *j.DB, Key: key, Kind: kind, ExpireAtMs: rdb.NoExpire, LRUIdleSec: -1, LFUFreq: -1}
	e.Encoding, _ = parseEncoding(j.Encoding)
	if j.ExpireAtMs != nil {
		e.ExpireAtMs = *j.ExpireAtMs
	}
	if j.IdleS != nil {
		e.LRUIdleSec = *j.IdleS
	}
	if j.Freq != nil {
		e.LFUFreq = *j.Freq
	}
	v, err := jsonValue(kind, j.Value)
	if err != nil {
		return nil, nil, s.fail("key %q: %v", key, err)
	}
	if h, ok := v.(*rdb.Hash); ok && len(j.FieldExpire) > 0 {
		ttl := map[string]int64{}
		for _, fe := range j.FieldExpire {
			var pair []json.RawMessage
			if err := json.Unmarshal(fe, &pair); err != nil || len(pair) != 2 {
				return nil, nil, s.fail("key %q: bad field_expire_at_ms", key)
			}
			f, err := jsonBytes(pair[0])
			ms, err2 := strconv.ParseInt(string(pair[1]), 10, 64)
			if err != nil || err2 != nil {
				return nil, nil, s.fail("key %q: bad field_expire_at_ms", key)
			}
			ttl[string(f)] = ms
		}
		for i := range h.Fields {
			h.Fields[i].ExpireAtMs = ttl[string(h.Fields[i].Field)]
		}
	}
	return e, v, nil
}

func parseEncoding(s string) (rdb.Encoding, bool) {
	for e := rdb.EncRaw; e <= rdb.EncHash2; e++ {
		if e.String() == s {
			return e, true
		}
	}
	return rdb.EncRaw, false
}

// jsonBytes decodes a canonical byte string.
func jsonBytes(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New("missing byte string")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []byte(s), nil
	}
	var b struct {
		Base64 *string `json:"base64"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b.Base64 == nil {
		return nil, fmt.Errorf("want a string or {\"base64\":...}, got %.40s", raw)
	}
	return base64.StdEncoding.DecodeString(*b.Base64)
}

func jsonBytesArray(raw json.RawMessage) ([][]byte, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	out := make([][]byte, len(items))
	for i, it := range items {
		b, err := jsonBytes(it)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// jsonPairs decodes [[a,b],...].
func jsonPairs(raw json.RawMessage) ([][2]json.RawMessage, error) {
	var items [][]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	out := make([][2]json.RawMessage, len(items))
	for i, it := range items {
		if len(it) != 2 {
			return nil, errors.New("want pairs")
		}
		out[i] = [2]json.RawMessage{it[0], it[1]}
	}
	return out, nil
}

func jsonScore(raw json.RawMessage) (float64, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		json.Unmarshal(raw, &s)
		switch s {
		case "inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		}
		return strconv.ParseFloat(s, 64)
	}
	return strconv.ParseFloat(string(raw), 64)
}

func parseStreamID(raw json.RawMessage) (rdb.StreamID, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return rdb.StreamID{}, err
	}
	ms, seq, ok := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return rdb.StreamID{}, fmt.Errorf("bad stream ID %q", s)
	}
	return rdb.StreamID{Ms: a, Seq: b}, nil
}

func jsonValue(kind rdb.Kind, raw json.RawMessage) (rdb.Value, error) {
	switch kind {
	case rdb.KindString:
		b, err := jsonBytes(raw)
		return &rdb.String{Data: b}, err
	case rdb.KindList:
		a, err := jsonBytesArray(raw)
		return &rdb.List{Elems: a}, err
	case rdb.KindSet:
		a, err := jsonBytesArray(raw)
		return &rdb.Set{Members: a}, err
	case rdb.KindZSet:
		pairs, err := jsonPairs(raw)
		if err != nil {
			return nil, err
		}
		z := &rdb.ZSet{Members: make([]rdb.ZMember, len(pairs))}
		for i, p := range pairs {
			m, err := jsonBytes(p[0])
			if err != nil {
				return nil, err
			}
			sc, err := jsonScore(p[1])
			if err != nil {
				return nil, err
			}
			z.Members[i] = rdb.ZMember{Member: m, Score: sc}
		}
		return z, nil
	case rdb.KindHash:
		pairs, err := jsonPairs(raw)
		if err != nil {
			return nil, err
		}
		h := &rdb.Hash{Fields: make([]rdb.HashField, len(pairs))}
		for i, p := range pairs {
			f, err1 := jsonBytes(p[0])
			v, err2 := jsonBytes(p[1])
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			h.Fields[i] = rdb.HashField{Field: f, Value: v}
		}
		return h, nil
	case rdb.KindStream:
		return jsonStream(raw)
	case rdb.KindModule:
		var m struct {
			Module string          `json:"module"`
			EncVer int             `json:"encver"`
			Raw    json.RawMessage `json:"raw"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		b, err := jsonBytes(m.Raw)
		if err != nil {
			return nil, err
		}
		id, err := moduleID(m.Module, m.EncVer)
		return &rdb.Module{ModuleID: id, Name: m.Module, EncVer: m.EncVer, Raw: b}, err
	}
	return nil, fmt.Errorf("unknown kind %v", kind)
}

func jsonStream(raw json.RawMessage) (rdb.Value, error) {
	var j struct {
		Entries      [][]json.RawMessage `json:"entries"`
		Length       uint64              `json:"length"`
		LastID       json.RawMessage     `json:"last_id"`
		FirstID      json.RawMessage     `json:"first_id"`
		MaxDeletedID json.RawMessage     `json:"max_deleted_id"`
		EntriesAdded *uint64             `json:"entries_added"`
		Groups       []struct {
			Name        json.RawMessage     `json:"name"`
			LastID      json.RawMessage     `json:"last_delivered_id"`
			EntriesRead *int64              `json:"entries_read"`
			PEL         [][]json.RawMessage `json:"pel"`
			Consumers   []struct {
				Name       json.RawMessage   `json:"name"`
				SeenTimeMs int64             `json:"seen_time_ms"`
				ActiveMs   *int64            `json:"active_time_ms"`
				PEL        []json.RawMessage `json:"pel"`
			} `json:"consumers"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, err
	}
	s := &rdb.Stream{Length: j.Length}
	var err error
	for _, e := range j.Entries {
		if len(e) != 2 {
			return nil, errors.New("stream entry: want [id, fields]")
		}
		var ent rdb.StreamEntry
		if ent.ID, err = parseStreamID(e[0]); err != nil {
			return nil, err
		}
		pairs, err := jsonPairs(e[1])
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			f, err1 := jsonBytes(p[0])
			v, err2 := jsonBytes(p[1])
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			ent.Fields = append(ent.Fields, rdb.StreamField{Field: f, Value: v})
		}
		s.Entries = append(s.Entries, ent)
	}
	if j.LastID != nil {
		if s.LastID, err = parseStreamID(j.LastID); err != nil {
			return nil, err
		}
	}
	if j.EntriesAdded != nil {
		s.HasV2Meta = true
		s.EntriesAdded = *j.EntriesAdded
		if s.FirstID, err = parseStreamID(j.FirstID); err != nil {
			return nil, err
		}
		if s.MaxDeletedID, err = parseStreamID(j.MaxDeletedID); err != nil {
			return nil, err
		}
	}
	for _, jg := range j.Groups {
		g := rdb.StreamGroup{EntriesRead: rdb.EntriesReadUnknown}
		if g.Name, err = jsonBytes(jg.Name); err != nil {
			return nil, err
		}
		if g.LastID, err = parseStreamID(jg.LastID); err != nil {
			return nil, err
		}
		if jg.EntriesRead != nil {
			g.EntriesRead = *jg.EntriesRead
		}
		for _, p := range jg.PEL {
			if len(p) != 4 {
				return nil, errors.New("pel entry: want [id, consumer, delivery_time_ms, delivery_count]")
			}
			var pe rdb.StreamPending
			if pe.ID, err = parseStreamID(p[0]); err != nil {
				return nil, err
			}
			if pe.Consumer, err = jsonBytes(p[1]); err != nil {
				return nil, err
			}
			if pe.DeliveryTimeMs, err = strconv.ParseInt(string(p[2]), 10, 64); err != nil {
				return nil, err
			}
			if pe.DeliveryCount, err = strconv.ParseUint(string(p[3]), 10, 64); err != nil {
				return nil, err
			}
			g.PEL = append(g.PEL, pe)
		}
		for _, jc := range jg.Consumers {
			// Before stream type 21 the active time was not stored and
			// equals the seen time.
			c := rdb.StreamConsumer{SeenTimeMs: jc.SeenTimeMs, ActiveTimeMs: jc.SeenTimeMs}
			if jc.ActiveMs != nil {
				c.ActiveTimeMs = *jc.ActiveMs
			}
			if c.Name, err = jsonBytes(jc.Name); err != nil {
				return nil, err
			}
			for _, id := range jc.PEL {
				sid, err := parseStreamID(id)
				if err != nil {
					return nil, err
				}
				c.PEL = append(c.PEL, sid)
			}
			g.Consumers = append(g.Consumers, c)
		}
		s.Groups = append(s.Groups, g)
	}
	return s, nil
}

// moduleCharset is Redis' ModuleTypeNameCharSet: module type names are 9
// characters of it, packed 6 bits each above a 10-bit encoding version.
const moduleCharset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func moduleID(name string, encver int) (uint64, error) {
	if len(name) != 9 || encver < 0 || encver > 1023 {
		return 0, fmt.Errorf("bad module type %q encver %d", name, encver)
	}
	var id uint64
	for i := 0; i < 9; i++ {
		p := strings.IndexByte(moduleCharset, name[i])
		if p < 0 {
			return 0, fmt.Errorf("bad module type name %q", name)
		}
		id = id<<6 | uint64(p)
	}
	return id<<10 | uint64(encver), nil
}
