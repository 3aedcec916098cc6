package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLocateCorpus(t *testing.T) {
	dir := filepath.Join(corpusDir, "7.4.1/aof/aof-hybrid/appendonlydir")
	for _, p := range []string{dir, filepath.Join(dir, "appendonly.aof.manifest")} {
		s, err := Locate(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Problems) != 0 {
			t.Errorf("problems: %v", s.Problems)
		}
		var got []string
		for _, e := range s.Load {
			if !filepath.IsAbs(e.Path) || e.Size <= 0 {
				t.Errorf("entry %+v", e)
			}
			got = append(got, e.Name+":"+e.Format.String())
		}
		want := []string{"appendonly.aof.2.base.rdb:rdb", "appendonly.aof.2.incr.aof:resp"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("load %v, want %v", got, want)
		}
	}
	s, err := Locate(filepath.Join(corpusDir, "6.2.16/aof/aof-hybrid/appendonly.aof"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Manifest != nil || len(s.Load) != 1 || s.Load[0].Format != FormatRDB {
		t.Errorf("single file: %+v", s)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLocate(t *testing.T) {
	type want struct {
		load     []string
		history  []string
		problems []ProblemKind
		err      error
	}
	tests := []struct {
		name  string
		files map[string]string
		arg   string // relative to the temp dir; "" = the dir itself
		want  want
	}{
		{"complete", map[string]string{
			"a.manifest":   "file a.1.base.rdb seq 1 type b\nfile a.1.incr.aof seq 1 type i\nfile a.2.incr.aof seq 2 type i\n",
			"a.1.base.rdb": "REDIS0011", "a.1.incr.aof": "*1\r\n$5\r\nMULTI\r\n", "a.2.incr.aof": "",
		}, "", want{load: []string{"a.1.base.rdb", "a.1.incr.aof", "a.2.incr.aof"}}},
		{"history not loaded, may be missing", map[string]string{
			"a.manifest":   "file a.1.base.aof seq 1 type h\nfile a.2.base.aof seq 2 type b\n",
			"a.2.base.aof": "*1\r\n$5\r\nMULTI\r\n",
		}, "a.manifest", want{load: []string{"a.2.base.aof"}, history: []string{"a.1.base.aof"}}},
		{"missing incr and orphans", map[string]string{
			"a.manifest": "file a.1.incr.aof seq 1 type i\n",
			"stray.aof":  "x", "temp-rewriteaof-bg-1.aof": "x",
		}, "", want{load: []string{"a.1.incr.aof"}, problems: []ProblemKind{ProblemMissing, ProblemOrphan, ProblemTemp}}},
		{"no data", map[string]string{"a.manifest": "file a.1.base.aof seq 1 type h\n"}, "",
			want{history: []string{"a.1.base.aof"}, problems: []ProblemKind{ProblemNoData}}},
		{"manifest without suffix detected", map[string]string{
			"m": "# comment\nfile x seq 1 type i\n", "x": "",
		}, "m", want{load: []string{"x"}}},
		{"single aof starting with annotation", map[string]string{"x.aof": "#TS:1\r\n*1\r\n$4\r\nPING\r\n"}, "x.aof",
			want{load: []string{"x.aof"}}},
		{"no manifest", map[string]string{"x.aof": ""}, "", want{err: ErrNoManifest}},
		{"two manifests", map[string]string{"a.manifest": "", "b.manifest": ""}, "", want{err: ErrManyManifests}},
		{"temp manifest ignored", map[string]string{"a.manifest": "file x seq 1 type i\n", "x": "", "temp-a.manifest": ""}, "",
			want{load: []string{"x"}, problems: []ProblemKind{ProblemTemp}}},
		{"bad manifest", map[string]string{"a.manifest": "file a/b seq 1 type i\n"}, "", want{err: ErrPath}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tc.files {
				write(t, dir, n, c)
			}
			s, err := Locate(filepath.Join(dir, tc.arg))
			if tc.want.err != nil {
				if !errors.Is(err, tc.want.err) {
					t.Fatalf("err = %v, want %v", err, tc.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names := func(es []Entry) []string {
				var out []string
				for _, e := range es {
					out = append(out, e.Name)
				}
				return out
			}
			var kinds []ProblemKind
			for _, p := range s.Problems {
				kinds = append(kinds, p.Kind)
			}
			if !reflect.DeepEqual(names(s.Load), tc.want.load) || !reflect.DeepEqual(names(s.History), tc.want.history) ||
				!reflect.DeepEqual(kinds, tc.want.problems) {
				t.Fatalf("load %v history %v problems %v", names(s.Load), names(s.History), s.Problems)
			}
		})
	}
}
