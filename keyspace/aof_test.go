package keyspace

import (
	"context"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
)

// aofTargets lists every aof-* directory of the corpus (corrupt/ excluded)
// with the path corpus_eval.py hands to aoftool.
func aofTargets(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(corpusDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if d.Name() == "corrupt" || d.Name() == "redis-assets" {
			return filepath.SkipDir
		}
		if !strings.HasPrefix(d.Name(), "aof-") {
			return nil
		}
		rel, _ := filepath.Rel(corpusDir, path)
		if st, err := os.Stat(filepath.Join(path, "appendonlydir")); err == nil && st.IsDir() {
			out[rel] = filepath.Join(path, "appendonlydir")
		} else if _, err := os.Stat(filepath.Join(path, "appendonly.aof")); err == nil {
			out[rel] = filepath.Join(path, "appendonly.aof")
		}
		return filepath.SkipDir
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCorpusAOFReplay replays every corpus AOF and checks DEBUG DIGEST and
// each key's DIGEST-VALUE against the server that loaded it, and against
// the server's own SAVE after loading (dump-after-load.rdb).
func TestCorpusAOFReplay(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("corpus not present")
	}
	targets := aofTargets(t)
	if len(targets) == 0 {
		t.Fatal("no AOF targets")
	}
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	passed, streams := 0, 0
	for _, name := range names {
		target := targets[name]
		ok := t.Run(name, func(t *testing.T) {
			dir := filepath.Join(corpusDir, name)
			tr := readTruth(t, filepath.Join(dir, "truth.json"))
			want := readDigest(t, filepath.Join(dir, "digest.txt"))
			opt := DigestOptions{RedisVersion: tr.redisVersion()}
			s := New(0)
			res, err := ReplayAOF(context.Background(), target, s, &ReplayOptions{Strict: true})
			if err != nil {
				t.Fatalf("replay: %v", err)
			}
			if res.Truncated {
				t.Errorf("unexpected truncation at %d in %s", res.TruncatedAt, res.TruncatedFile)
			}
			if s.Len() == 0 || res.Commands == 0 {
				t.Fatalf("nothing replayed: %d keys, %d commands", s.Len(), res.Commands)
			}
			s.NowMs = tr.loadNow()
			got := s.Digest(opt)
			if hex.EncodeToString(got[:]) != want.total {
				t.Errorf("digest %x, want %s", got, want.total)
				seen := map[string]bool{}
				for db, d := range s.DBs {
					for _, k := range d.SortedKeys() {
						o := d.Keys[k]
						if s.expired(o) {
							continue
						}
						id := "db" + strconv.Itoa(db) + " " + k
						seen[id] = true
						dv := DigestValue([]byte(k), o, opt)
						if w, ok := want.keys[id]; !ok {
							t.Errorf("extra key %q", id)
						} else if hex.EncodeToString(dv[:]) != w {
							t.Errorf("key %q: value digest %x, want %s (%s %q)", id, dv, w, o.Kind, clip(o))
						}
					}
				}
				for id := range want.keys {
					if !seen[id] {
						t.Errorf("missing key %q", id)
					}
				}
			}

			// The server's own SAVE after loading must digest the same.
			f, err := os.Open(filepath.Join(dir, "dump-after-load.rdb"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r := New(tr.loadNow())
			if err := LoadRDB(context.Background(), f, r, nil); err != nil {
				t.Fatalf("dump-after-load.rdb: %v", err)
			}
			if rd := r.Digest(opt); rd != got {
				t.Errorf("dump-after-load.rdb digest %x, replay %x", rd, got)
			}
			// The digest skips stream metadata and consumer groups.
			for db, d := range r.DBs {
				for k, want := range d.Keys {
					if want.Kind == rdb.KindStream {
						streams++
						if diff := streamMetaDiff(want.Stream, s.DBs[db].Keys[k]); diff != "" {
							t.Errorf("db%d %q: %s", db, k, diff)
						}
					}
				}
			}
		})
		if ok {
			passed++
		}
	}
	t.Logf("AOF corpus: %d/%d targets pass (%d streams' metadata compared)", passed, len(names), streams)
}

func clip(o *Object) string {
	var s string
	switch {
	case o.Str != nil:
		s = string(o.Str)
	default:
		s = ""
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// TestCorruptAOFReplay checks the corpus' damaged AOFs: a torn tail or an
// unterminated MULTI loads up to exactly where redis-check-aof --fix cuts
// (and equals the fixed file), garbage and a broken RDB preamble are fatal.
func TestCorruptAOFReplay(t *testing.T) {
	type want struct {
		truncAt int64 // -1: must fail
	}
	cases := map[string]want{
		"6.2.16/corrupt/aof/garbage-appended":             {-1},
		"6.2.16/corrupt/aof/hybrid-truncated-in-preamble": {-1},
		"6.2.16/corrupt/aof/hybrid-truncated-in-tail":     {2258},
		"6.2.16/corrupt/aof/truncated-midcommand":         {3653},
		"6.2.16/corrupt/aof/unterminated-multi":           {3684},
		"7.4.1/corrupt/aof/garbage-appended":              {-1},
		"7.4.1/corrupt/aof/hybrid-base-truncated":         {-1},
		"7.4.1/corrupt/aof/truncated-midcommand":          {1137},
		"7.4.1/corrupt/aof/unterminated-multi":            {1168},
	}
	for name, w := range cases {
		t.Run(name, func(t *testing.T) {
			in, _ := filepath.Glob(filepath.Join(corpusDir, name, "input", "*"))
			if len(in) != 1 {
				t.Skip("corpus case not present")
			}
			s := New(0)
			res, err := ReplayAOF(context.Background(), in[0], s, nil)
			if w.truncAt < 0 {
				if err == nil {
					t.Fatalf("replay succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !res.Truncated || res.TruncatedAt != w.truncAt {
				t.Fatalf("truncated=%v at %d, want at %d", res.Truncated, res.TruncatedAt, w.truncAt)
			}
			if _, err := ReplayAOF(context.Background(), in[0], New(0), &ReplayOptions{NoTruncated: true}); err == nil {
				t.Errorf("NoTruncated: no error")
			}
			fixed, _ := filepath.Glob(filepath.Join(corpusDir, name, "fixed", "*"))
			f := New(0)
			fres, err := ReplayAOF(context.Background(), fixed[0], f, nil)
			if err != nil || fres.Truncated {
				t.Fatalf("fixed: %v (truncated %v)", err, fres.Truncated)
			}
			if s.Digest(DigestOptions{}) != f.Digest(DigestOptions{}) {
				t.Errorf("truncated replay differs from the fixed file")
			}
		})
	}
}

// TestRedisAssetPreambleAOF replays Redis' own tests/assets/rdb-preamble.aof
// and compares with what Redis 7.4.1 reported after loading it.
func TestRedisAssetPreambleAOF(t *testing.T) {
	dir := filepath.Join(corpusDir, "redis-assets")
	want := filepath.Join(dir, "oracle-7.4.1", "rdb-preamble.aof", "digest.txt")
	if _, err := os.Stat(want); err != nil {
		t.Skip("corpus not present")
	}
	s := New(0)
	res, err := ReplayAOF(context.Background(), filepath.Join(dir, "rdb-preamble.aof"), s, &ReplayOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || !res.Files[0].Preamble || res.Commands == 0 {
		t.Errorf("result %+v", res)
	}
	got := s.Digest(DigestOptions{RedisVersion: "7.4"})
	if od := readDigest(t, want); hex.EncodeToString(got[:]) != od.total {
		t.Errorf("digest %x, want %s", got, od.total)
	}
}

// streamMetaDiff compares what a server saved for a stream with the
// replayed one: IDs and counters, groups, PELs and consumers (not the
// consumers' seen/active times, which come from the server's clock).
func streamMetaDiff(want *rdb.Stream, got *Object) string {
	if got == nil || got.Kind != rdb.KindStream {
		return "missing or not a stream"
	}
	g := got.Stream
	if want.LastID != g.LastID || (want.HasV2Meta && (want.EntriesAdded != g.EntriesAdded ||
		want.MaxDeletedID != g.MaxDeletedID || want.FirstID != g.FirstID)) {
		return fmt.Sprintf("meta: want last %v added %d maxdel %v first %v, got last %v added %d maxdel %v first %v",
			want.LastID, want.EntriesAdded, want.MaxDeletedID, want.FirstID, g.LastID, g.EntriesAdded, g.MaxDeletedID, g.FirstID)
	}
	if len(want.Groups) != len(g.Groups) {
		return fmt.Sprintf("%d groups, want %d", len(g.Groups), len(want.Groups))
	}
	for i, wg := range want.Groups {
		gg := g.Groups[i]
		if string(wg.Name) != string(gg.Name) || wg.LastID != gg.LastID || (want.HasV2Meta && wg.EntriesRead != gg.EntriesRead) {
			return fmt.Sprintf("group %q: want last %v read %d, got %q last %v read %d", wg.Name, wg.LastID, wg.EntriesRead, gg.Name, gg.LastID, gg.EntriesRead)
		}
		if len(wg.PEL) != len(gg.PEL) || len(wg.Consumers) != len(gg.Consumers) {
			return fmt.Sprintf("group %q: %d pending / %d consumers, want %d / %d", wg.Name, len(gg.PEL), len(gg.Consumers), len(wg.PEL), len(wg.Consumers))
		}
		for j, wp := range wg.PEL {
			gp := gg.PEL[j]
			if wp.ID != gp.ID || string(wp.Consumer) != string(gp.Consumer) || wp.DeliveryTimeMs != gp.DeliveryTimeMs || wp.DeliveryCount != gp.DeliveryCount {
				return fmt.Sprintf("group %q pending %d: want %+v, got %+v", wg.Name, j, wp, gp)
			}
		}
		for j, wc := range wg.Consumers {
			gc := gg.Consumers[j]
			if string(wc.Name) != string(gc.Name) || fmt.Sprint(wc.PEL) != fmt.Sprint(gc.PEL) {
				return fmt.Sprintf("group %q consumer %d: want %q %v, got %q %v", wg.Name, j, wc.Name, wc.PEL, gc.Name, gc.PEL)
			}
		}
	}
	return ""
}
