package rdb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The corpus: files written by real Redis servers with what the same
// server said about them (truth.json). See fixtures/corpus/README.md.
const decCorpusDir = "../../fixtures/corpus"

// corpusRDBFiles lists every RDB file of the corpus that real Redis loads:
// everything outside corrupt/ except the redis-assets corrupt_* files that
// Redis refuses (they have a load-failed.txt oracle).
func corpusRDBFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(decCorpusDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() && de.Name() == "corrupt" {
			return filepath.SkipDir
		}
		if de.IsDir() || !strings.HasSuffix(path, ".rdb") {
			return nil
		}
		if _, err := os.Stat(assetOracle(path, "load-failed.txt")); err == nil {
			return nil
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("only %d corpus files found", len(files))
	}
	return files
}

func assetOracle(path, name string) string {
	return filepath.Join(filepath.Dir(path), "oracle-7.4.1", filepath.Base(path), name)
}

// truthFor finds the truth.json describing the keyspace of an RDB file.
func truthFor(path string) string {
	if strings.Contains(path, "redis-assets") {
		return assetOracle(path, "truth.json")
	}
	switch filepath.Base(path) {
	case "dump.rdb", "dump-nocompress.rdb", "dump-nochecksum.rdb", "dump-after-load.rdb":
		return filepath.Join(filepath.Dir(path), "truth.json")
	}
	return ""
}

type decEntry struct {
	ent *Entry
	val Value
}

// decodeFile decodes every record and value of a file with Deep checks.
func decodeFile(t testing.TB, data []byte) ([]decEntry, []Record, *Decoder) {
	t.Helper()
	d := NewDecoder(bytes.NewReader(data), &DecodeOptions{Deep: true})
	var ents []decEntry
	var recs []Record
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		recs = append(recs, rec)
		if e, ok := rec.(*Entry); ok {
			v, err := d.Value()
			if err != nil {
				t.Fatalf("Value: %v", err)
			}
			ents = append(ents, decEntry{e, v})
		}
	}
	if d.Offset() != int64(len(data)) {
		t.Errorf("stopped at offset %d of %d", d.Offset(), len(data))
	}
	return ents, recs, d
}

func TestCorpus(t *testing.T) {
	for _, path := range corpusRDBFiles(t) {
		name := strings.TrimPrefix(path, decCorpusDir+"/")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ents, _, d := decodeFile(t, data)
			stored, computed := d.Checksum()
			if stored != 0 && stored != computed {
				t.Errorf("checksum stored %x computed %x", stored, computed)
			}
			if strings.HasSuffix(path, "nochecksum.rdb") && stored != 0 {
				t.Errorf("nochecksum file has stored CRC %x", stored)
			}
			// Skipping values (Next without Value) must end in the same place.
			sd := NewDecoder(bytes.NewReader(data), nil)
			n := 0
			for {
				rec, err := sd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("skipping Next: %v", err)
				}
				if _, ok := rec.(*Entry); ok {
					n++
				}
			}
			if n != len(ents) {
				t.Errorf("skipping decode saw %d entries, full decode %d", n, len(ents))
			}
			tp := truthFor(path)
			if tp == "" {
				return
			}
			raw, err := os.ReadFile(tp)
			if err != nil {
				t.Fatal(err)
			}
			var truth corpusTruth
			if err := json.Unmarshal(raw, &truth); err != nil {
				t.Fatal(err)
			}
			compareTruth(t, &truth, ents, filepath.Base(path) == "dump.rdb" || strings.Contains(path, "redis-assets"))
		})
	}
}

type corpusTruth struct {
	Server struct{ Name, Version string }
	DBs    map[string][]truthKey `json:"dbs"`
}

type truthKey struct {
	Key              json.RawMessage
	Type             string
	PExpireTime      *int64 `json:"pexpiretime"`
	PExpireTimeApprx *int64 `json:"pexpiretime_approx"`
	PTTL             *int64 `json:"pttl"`
	Value            json.RawMessage
	FieldPExpireTime [][]json.RawMessage `json:"field_pexpiretime"`
}

// jbytes decodes the corpus' binary-safe string form.
func jbytes(t testing.TB, m json.RawMessage) []byte {
	t.Helper()
	var s string
	if err := json.Unmarshal(m, &s); err == nil {
		return []byte(s)
	}
	var b struct{ Base64 string }
	if err := json.Unmarshal(m, &b); err != nil {
		t.Fatalf("bad binary string %s", m)
	}
	out, err := base64.StdEncoding.DecodeString(b.Base64)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// loadNow is the moment the oracle server loaded the file, from any key
// with a TTL (corpus_eval.py load_now).
func loadNow(truth *corpusTruth) (int64, bool) {
	for _, keys := range truth.DBs {
		for _, k := range keys {
			if k.PTTL == nil || *k.PTTL < 0 {
				continue
			}
			if k.PExpireTime != nil && *k.PExpireTime > 0 {
				return *k.PExpireTime - *k.PTTL, true
			}
			if k.PExpireTimeApprx != nil {
				return *k.PExpireTimeApprx - *k.PTTL, true
			}
		}
	}
	return 0, false
}

type dbKey struct {
	db  uint64
	key string
}

// normalize renders a value as corpus_eval.py's norm_value does, dropping
// hash fields whose TTL passed before now.
func normalize(v Value, now int64, haveNow bool) string {
	var parts []string
	switch v := v.(type) {
	case *String:
		return strconv.Quote(string(v.Data))
	case *List:
		for _, e := range v.Elems {
			parts = append(parts, strconv.Quote(string(e)))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *Set:
		for _, e := range v.Members {
			parts = append(parts, strconv.Quote(string(e)))
		}
	case *Hash:
		for _, f := range v.Fields {
			if haveNow && f.ExpireAtMs != 0 && f.ExpireAtMs < now {
				continue
			}
			parts = append(parts, strconv.Quote(string(f.Field))+"="+strconv.Quote(string(f.Value)))
		}
	case *ZSet:
		for _, m := range v.Members {
			parts = append(parts, strconv.Quote(string(m.Member))+"="+decScore(m.Score))
		}
	case *Stream:
		for _, e := range v.Entries {
			s := fmt.Sprintf("%d-%d:", e.ID.Ms, e.ID.Seq)
			for _, f := range e.Fields {
				s += strconv.Quote(string(f.Field)) + "=" + strconv.Quote(string(f.Value)) + ";"
			}
			parts = append(parts, s)
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		return ""
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

func decScore(f float64) string {
	if f == 0 {
		f = 0 // -0 == 0 in the oracle's comparison
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func normalizeTruth(t testing.TB, k *truthKey) string {
	var parts []string
	switch k.Type {
	case "string":
		return strconv.Quote(string(jbytes(t, k.Value)))
	case "list", "set":
		var a []json.RawMessage
		if err := json.Unmarshal(k.Value, &a); err != nil {
			t.Fatal(err)
		}
		for _, e := range a {
			parts = append(parts, strconv.Quote(string(jbytes(t, e))))
		}
		if k.Type == "list" {
			return "[" + strings.Join(parts, ",") + "]"
		}
	case "hash", "zset":
		var a [][]json.RawMessage
		if err := json.Unmarshal(k.Value, &a); err != nil {
			t.Fatal(err)
		}
		for _, p := range a {
			if k.Type == "hash" {
				parts = append(parts, strconv.Quote(string(jbytes(t, p[0])))+"="+strconv.Quote(string(jbytes(t, p[1]))))
				continue
			}
			var s string
			if err := json.Unmarshal(p[1], &s); err != nil {
				t.Fatal(err)
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, strconv.Quote(string(jbytes(t, p[0])))+"="+decScore(f))
		}
	case "stream":
		var st struct{ Entries [][]json.RawMessage }
		if err := json.Unmarshal(k.Value, &st); err != nil {
			t.Fatal(err)
		}
		for _, e := range st.Entries {
			var fv [][]json.RawMessage
			if err := json.Unmarshal(e[1], &fv); err != nil {
				t.Fatal(err)
			}
			s := string(jbytes(t, e[0])) + ":"
			for _, p := range fv {
				s += strconv.Quote(string(jbytes(t, p[0]))) + "=" + strconv.Quote(string(jbytes(t, p[1]))) + ";"
			}
			parts = append(parts, s)
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		return ""
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

func compareTruth(t *testing.T, truth *corpusTruth, ents []decEntry, checkExpire bool) {
	now, haveNow := loadNow(truth)
	ours := make(map[dbKey]decEntry)
	for _, de := range ents {
		e := de.ent
		if haveNow && e.ExpireAtMs != NoExpire && e.ExpireAtMs < now {
			continue // expired before the oracle loaded the file
		}
		if IsEmpty(de.val) {
			continue // Redis skips empty keys
		}
		if h, ok := de.val.(*Hash); ok && haveNow && len(h.Fields) > 0 && normalize(h, now, true) == "{}" {
			continue // every field expired: Redis drops the key
		}
		ours[dbKey{e.DB, string(e.Key)}] = de
	}
	want := make(map[dbKey]*truthKey)
	for db, keys := range truth.DBs {
		n, err := strconv.ParseUint(db, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			want[dbKey{n, string(jbytes(t, keys[i].Key))}] = &keys[i]
		}
	}
	for k := range want {
		if _, ok := ours[k]; !ok {
			t.Errorf("missing key db%d %q", k.db, k.key)
		}
	}
	for k := range ours {
		if _, ok := want[k]; !ok {
			t.Errorf("extra key db%d %q", k.db, k.key)
		}
	}
	t.Logf("comparing %d keys with truth", len(want))
	for k, tk := range want {
		de, ok := ours[k]
		if !ok {
			continue
		}
		kind := de.ent.Kind.String()
		if m, ok := de.val.(*Module); ok {
			kind = m.Name
		}
		if kind != tk.Type {
			t.Errorf("db%d %q: type %s, want %s", k.db, k.key, kind, tk.Type)
			continue
		}
		if got, exp := normalize(de.val, now, haveNow), normalizeTruth(t, tk); got != exp {
			t.Errorf("db%d %q (%s): value\n got %.300s\nwant %.300s", k.db, k.key, tk.Type, got, exp)
		}
		if st, ok := de.val.(*Stream); ok {
			compareStreamMeta(t, string(k.key), st, tk.Value)
		}
		if checkExpire && tk.PExpireTime != nil {
			pe := *tk.PExpireTime
			if pe > 0 && de.ent.ExpireAtMs != pe || pe == -1 && de.ent.ExpireAtMs != NoExpire {
				t.Errorf("db%d %q: expire %d, want %d", k.db, k.key, de.ent.ExpireAtMs, pe)
			}
		}
		if h, ok := de.val.(*Hash); ok && tk.FieldPExpireTime != nil {
			var got, exp []string
			for _, f := range h.Fields {
				if f.ExpireAtMs != 0 && (!haveNow || f.ExpireAtMs >= now) {
					got = append(got, fmt.Sprintf("%q=%d", f.Field, f.ExpireAtMs))
				}
			}
			for _, p := range tk.FieldPExpireTime {
				var ms int64
				if err := json.Unmarshal(p[1], &ms); err != nil {
					t.Fatal(err)
				}
				exp = append(exp, fmt.Sprintf("%q=%d", jbytes(t, p[0]), ms))
			}
			slices.Sort(got)
			slices.Sort(exp)
			if !slices.Equal(got, exp) {
				t.Errorf("db%d %q: field TTLs %v, want %v", k.db, k.key, got, exp)
			}
		}
	}
}

// TestCorpusCorrupt decodes every corrupted file: each must fail with a
// typed *FormatError at an offset inside the file, never succeed or panic.
// The offsets are compared loosely with redis-check-rdb's.
func TestCorpusCorrupt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(decCorpusDir, "*", "corrupt", "rdb", "*.rdb"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corrupt files: %v", err)
	}
	offRE := regexp.MustCompile(`(?m)^\[offset (\d+)\] (.*)$`)
	for _, path := range files {
		name := strings.TrimPrefix(path, decCorpusDir+"/")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			err = decodeAllValues(data, &DecodeOptions{Deep: true})
			if err == nil {
				t.Fatal("decoded without error")
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(data)) {
				t.Errorf("offset %d outside the file (%d bytes)", fe.Offset, len(data))
			}
			check, _ := os.ReadFile(strings.TrimSuffix(path, ".rdb") + ".check-rdb.txt")
			m := offRE.FindAllStringSubmatch(string(check), -1)
			theirs, theirOff := "?", int64(-1)
			for _, l := range m {
				theirs = l[1] + " " + l[2] // the last offset line is the error
				theirOff, _ = strconv.ParseInt(l[1], 10, 64)
			}
			// Loosely: redis-check-rdb reports the start of the item it
			// was reading (or the end of the CRC), we the failing byte.
			sameKind := !strings.Contains(theirs, "CRC") || errors.Is(err, ErrChecksum)
			if d := fe.Offset - theirOff; sameKind && theirOff >= 0 && (d > 64 || d < -64) {
				t.Errorf("offset %d far from redis-check-rdb's %d", fe.Offset, theirOff)
			}
			base := filepath.Base(path)
			switch {
			case strings.HasPrefix(base, "trunc-"):
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("truncation: %v does not wrap io.ErrUnexpectedEOF", err)
				}
			case strings.Contains(string(check), "RDB CRC error"):
				// We also reject score text that is not a number, which
				// Redis' strtod would read as a prefix.
				if !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrCorrupt) {
					t.Errorf("check-rdb reports a CRC error, we: %v", err)
				}
			case !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrChecksum):
				t.Errorf("untyped cause: %v", err)
			}
			t.Logf("ours: %v | redis-check-rdb: %s", err, theirs)
		})
	}
}

// decodeAllValues decodes every record and value, returning the first error.
func decodeAllValues(data []byte, opt *DecodeOptions) error {
	d := NewDecoder(bytes.NewReader(data), opt)
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if _, ok := rec.(*Entry); ok {
			if _, err := d.Value(); err != nil {
				return err
			}
		}
	}
}

func fmtID(id StreamID) string { return fmt.Sprintf("%d-%d", id.Ms, id.Seq) }

// compareStreamMeta checks stream metadata, groups, PELs (with the owning
// consumer resolved from the consumers' PELs) and consumers against
// XINFO STREAM FULL, for the fields the oracle's server reports.
func compareStreamMeta(t *testing.T, key string, st *Stream, raw json.RawMessage) {
	var v struct {
		XInfo map[string]json.RawMessage `json:"xinfo_full"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.XInfo == nil {
		return
	}
	got := map[string]string{
		"length":               strconv.FormatUint(st.Length, 10),
		"last-generated-id":    strconv.Quote(fmtID(st.LastID)),
		"max-deleted-entry-id": strconv.Quote(fmtID(st.MaxDeletedID)),
		"entries-added":        strconv.FormatUint(st.EntriesAdded, 10),
	}
	for name, want := range got {
		if w, ok := v.XInfo[name]; ok && string(w) != want {
			t.Errorf("stream %q: %s %s, want %s", key, name, want, w)
		}
	}
	var groups []struct {
		Name        string  `json:"name"`
		LastID      string  `json:"last-delivered-id"`
		EntriesRead *int64  `json:"entries-read"`
		Pending     [][]any `json:"pending"`
		Consumers   []struct {
			Name       string  `json:"name"`
			SeenTime   int64   `json:"seen-time"`
			ActiveTime *int64  `json:"active-time"`
			Pending    [][]any `json:"pending"`
		} `json:"consumers"`
	}
	if g, ok := v.XInfo["groups"]; !ok || json.Unmarshal(g, &groups) != nil {
		return
	}
	t.Logf("stream %q: %d groups compared", key, len(groups))
	if len(groups) != len(st.Groups) {
		t.Errorf("stream %q: %d groups, want %d", key, len(st.Groups), len(groups))
		return
	}
	for i, wg := range groups {
		g := st.Groups[i]
		if string(g.Name) != wg.Name || fmtID(g.LastID) != wg.LastID {
			t.Errorf("stream %q group %d: %s %s, want %s %s", key, i, g.Name, fmtID(g.LastID), wg.Name, wg.LastID)
		}
		if st.HasV2Meta {
			want := EntriesReadUnknown
			if wg.EntriesRead != nil {
				want = *wg.EntriesRead
			}
			if g.EntriesRead != want {
				t.Errorf("stream %q group %s: entries-read %d, want %d", key, wg.Name, g.EntriesRead, want)
			}
		}
		var gotPEL, wantPEL []string
		for _, p := range g.PEL {
			gotPEL = append(gotPEL, fmt.Sprintf("%s %s %d %d", fmtID(p.ID), p.Consumer, p.DeliveryTimeMs, p.DeliveryCount))
		}
		for _, p := range wg.Pending {
			wantPEL = append(wantPEL, fmt.Sprintf("%v %v %.0f %.0f", p...))
		}
		if !slices.Equal(gotPEL, wantPEL) {
			t.Errorf("stream %q group %s: PEL\n got %v\nwant %v", key, wg.Name, gotPEL, wantPEL)
		}
		if len(wg.Consumers) != len(g.Consumers) {
			t.Errorf("stream %q group %s: %d consumers, want %d", key, wg.Name, len(g.Consumers), len(wg.Consumers))
			continue
		}
		for j, wc := range wg.Consumers {
			c := g.Consumers[j]
			if string(c.Name) != wc.Name || c.SeenTimeMs != wc.SeenTime || len(c.PEL) != len(wc.Pending) ||
				wc.ActiveTime != nil && *wc.ActiveTime != c.ActiveTimeMs && *wc.ActiveTime != -1 {
				t.Errorf("stream %q group %s consumer %d: %s seen %d active %d pel %d, want %+v",
					key, wg.Name, j, c.Name, c.SeenTimeMs, c.ActiveTimeMs, len(c.PEL), wc)
			}
		}
	}
}
