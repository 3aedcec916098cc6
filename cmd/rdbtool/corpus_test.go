package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/internal/clitest"
)

// This test mirrors the project's corpus scoring (corpus_eval.py) on the
// copy of the corpus in fixtures/corpus: digest against digest.txt, dump
// against truth.json, check against the verdicts of real servers.

const corpusDir = "../../fixtures/corpus"

var hex40 = regexp.MustCompile(`\b[0-9a-f]{40}\b`)

func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skip("no corpus")
	}
	var ndigest, ndump, ncorrupt int
	err := filepath.WalkDir(corpusDir, func(dir string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, dir)
		inCorrupt := strings.Contains("/"+rel+"/", "/corrupt/")
		entries, _ := os.ReadDir(dir)
		truth, _ := clitest.LoadTruth(filepath.Join(dir, "truth.json"))
		for _, e := range entries {
			fn := e.Name()
			path := filepath.Join(dir, fn)
			if truth != nil && !inCorrupt && strings.HasPrefix(fn, "dump") && strings.HasSuffix(fn, ".rdb") && fn != "dump-after-load.rdb" {
				suffix := strings.TrimSuffix(strings.TrimPrefix(fn, "dump"), ".rdb")
				if want := clitest.OracleDigest(filepath.Join(dir, "digest"+suffix+".txt")); want != "" {
					ndigest++
					args := append([]string{"digest"}, truth.Args()...)
					out, errs, code := runCLI(t, false, "", append(args, path)...)
					if got := hex40.FindString(out); code != 0 || got != want {
						t.Errorf("digest %s: exit %d, got %s, want %s %s", path, code, got, want, errs)
					}
				}
				if fn == "dump.rdb" {
					ndump++
					out, errs, code := runCLI(t, false, "", "dump", "--format", "jsonl", path)
					if code != 0 {
						t.Errorf("dump %s: exit %d %s", path, code, errs)
					} else if probs := compareDump(truth, out, truth.LoadNow()); len(probs) > 0 {
						t.Errorf("dump %s: %v", path, probs[:min(5, len(probs))])
					}
				}
			}
			// Redis' own assets with the oracle's verdict in oracle-*/<file>/.
			if !e.IsDir() {
				for _, o := range entries {
					od := filepath.Join(dir, o.Name(), fn)
					if !o.IsDir() || !strings.HasPrefix(o.Name(), "oracle-") || strings.HasSuffix(fn, ".aof") {
						continue
					}
					if st, err := os.Stat(od); err != nil || !st.IsDir() {
						continue
					}
					if want := clitest.OracleDigest(filepath.Join(od, "digest.txt")); want != "" {
						ndigest++
						args := []string{"digest"}
						if ot, err := clitest.LoadTruth(filepath.Join(od, "truth.json")); err == nil {
							args = append(args, ot.Args()...)
						}
						out, errs, code := runCLI(t, false, "", append(args, path)...)
						if got := hex40.FindString(out); code != 0 || got != want {
							t.Errorf("digest %s: exit %d, got %s, want %s %s", path, code, got, want, errs)
						}
					} else if _, err := os.Stat(filepath.Join(od, "load-failed.txt")); err == nil {
						ncorrupt++
						if _, _, code := runCLI(t, false, "", "check", path); code != 3 {
							t.Errorf("check %s: exit %d, want 3 (real server refuses it)", path, code)
						}
					}
				}
			}
		}
		if d.Name() == "corrupt" {
			data, err := os.ReadFile(filepath.Join(dir, "results.json"))
			if err != nil {
				return nil
			}
			var results []struct {
				File      string `json:"file"`
				Kind      string `json:"kind"`
				CheckExit *int   `json:"check_exit"`
			}
			if err := json.Unmarshal(data, &results); err != nil {
				return err
			}
			for _, r := range results {
				if !strings.HasSuffix(r.File, ".rdb") || !strings.Contains(r.File, "corrupt/rdb/") {
					continue
				}
				ncorrupt++
				wantBad := r.CheckExit == nil || *r.CheckExit != 0
				path := filepath.Join(filepath.Dir(dir), r.File)
				_, _, code := runCLI(t, false, "", "check", path)
				if (wantBad && code != 3) || (!wantBad && code != 0) {
					t.Errorf("check %s: exit %d (real checker exit %v)", path, code, r.CheckExit)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("digest %d, dump %d, corrupt %d files", ndigest, ndump, ncorrupt)
	if ndigest == 0 || ndump == 0 || ncorrupt == 0 {
		t.Errorf("corpus test found nothing to check")
	}
}

// jb decodes a canonical byte string (string or {"base64"}).
func jb(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if s, ok := v["base64"].(string); ok {
			b, _ := base64.StdEncoding.DecodeString(s)
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

func jscore(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case string:
		switch v {
		case "inf":
			return math.Inf(1)
		case "-inf":
			return math.Inf(-1)
		}
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return math.NaN()
}

// normValue is corpus_eval.py's norm_value: a comparable rendering.
func normValue(typ string, v any) string {
	arr, _ := v.([]any)
	var parts []string
	switch typ {
	case "string":
		return jb(v)
	case "list":
		for _, x := range arr {
			parts = append(parts, strconv.Quote(jb(x)))
		}
		return strings.Join(parts, ",")
	case "set":
		for _, x := range arr {
			parts = append(parts, strconv.Quote(jb(x)))
		}
	case "hash":
		for _, x := range arr {
			p := x.([]any)
			parts = append(parts, strconv.Quote(jb(p[0]))+"="+strconv.Quote(jb(p[1])))
		}
	case "zset":
		for _, x := range arr {
			p := x.([]any)
			parts = append(parts, strconv.Quote(jb(p[0]))+"="+strconv.FormatFloat(jscore(p[1]), 'g', -1, 64))
		}
	case "stream":
		m, _ := v.(map[string]any)
		ents, _ := m["entries"].([]any)
		for _, e := range ents {
			p := e.([]any)
			s := jb(p[0]) + ":"
			for _, fv := range p[1].([]any) {
				q := fv.([]any)
				s += strconv.Quote(jb(q[0])) + "=" + strconv.Quote(jb(q[1])) + ";"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ",")
	default:
		return ""
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func compareDump(truth *clitest.Truth, out string, now int64) []string {
	type dk struct {
		db  int
		key string
	}
	ours := map[dk]map[string]any{}
	var probs []string
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			probs = append(probs, "unparseable line: "+line[:min(len(line), 120)])
			continue
		}
		if _, ok := r["key"]; !ok {
			continue
		}
		if exp, ok := r["expire_at_ms"].(float64); ok && now != 0 && int64(exp) < now {
			continue
		}
		ours[dk{int(r["db"].(float64)), jb(r["key"])}] = r
	}
	want := map[dk]map[string]any{}
	for db, keys := range truth.DBs {
		n, _ := strconv.Atoi(db)
		for _, k := range keys {
			want[dk{n, jb(k["key"])}] = k
		}
	}
	for k, w := range want {
		o, ok := ours[k]
		if !ok {
			probs = append(probs, fmt.Sprintf("missing key db%d %q", k.db, k.key))
			continue
		}
		typ, _ := w["type"].(string)
		switch typ {
		case "string", "list", "set", "zset", "hash", "stream":
			if o["type"] != typ {
				probs = append(probs, fmt.Sprintf("type db%d %q: %v != %s", k.db, k.key, o["type"], typ))
				continue
			}
			if normValue(typ, o["value"]) != normValue(typ, w["value"]) {
				probs = append(probs, fmt.Sprintf("value db%d %q (%s)", k.db, k.key, typ))
			}
		}
		if pe, ok := w["pexpiretime"].(float64); ok {
			oe, has := o["expire_at_ms"].(float64)
			if (pe > 0 && (!has || oe != pe)) || (pe == -1 && has && oe != -1) {
				probs = append(probs, fmt.Sprintf("expire db%d %q: %v != %v", k.db, k.key, o["expire_at_ms"], pe))
			}
		}
	}
	for k := range ours {
		if _, ok := want[k]; !ok {
			probs = append(probs, fmt.Sprintf("extra key db%d %q", k.db, k.key))
		}
	}
	sort.Strings(probs)
	return probs
}
