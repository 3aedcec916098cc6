//go:build integration

package rdb_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/redistest"
)

const corpus = "../../fixtures/corpus"

// reencode decodes src and writes it again with opt.
func reencode(src []byte, opt *rdb.EncodeOptions) (out []byte, keys int, module bool, err error) {
	d := rdb.NewDecoder(bytes.NewReader(src), nil)
	var buf bytes.Buffer
	e := rdb.NewEncoder(&buf, opt)
	for {
		rec, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, false, err
		}
		switch r := rec.(type) {
		case *rdb.Entry:
			v, err := d.Value()
			if err != nil {
				return nil, 0, false, err
			}
			if r.Kind == rdb.KindModule {
				module = true
			}
			keys++
			err = e.WriteEntry(r, v)
			if err != nil {
				return nil, 0, false, err
			}
		case *rdb.ModuleAux:
			module = true
			if err := e.Write(rec); err != nil {
				return nil, 0, false, err
			}
		default:
			if err := e.Write(rec); err != nil {
				return nil, 0, false, err
			}
		}
	}
	if err := e.Close(); err != nil {
		return nil, 0, false, err
	}
	return buf.Bytes(), keys, module, nil
}

func digest(t *testing.T, s *redistest.Server) string {
	t.Helper()
	r, err := s.Do("DEBUG", "DIGEST")
	if err != nil {
		t.Fatalf("DEBUG DIGEST: %v", err)
	}
	return string(r.Str)
}

func dbsize(t *testing.T, s *redistest.Server) int64 {
	t.Helper()
	var n int64
	info, err := s.Info("keyspace")
	if err != nil {
		t.Fatalf("INFO keyspace: %v", err)
	}
	for k, v := range info {
		if !strings.HasPrefix(k, "db") {
			continue
		}
		// keys=N,expires=M,avg_ttl=...
		f, _, _ := strings.Cut(strings.TrimPrefix(v, "keys="), ",")
		c, _ := strconv.ParseInt(f, 10, 64)
		n += c
	}
	return n
}

// checkRDB runs redis-check-rdb on path when it is installed.
func checkRDB(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("redis-check-rdb")
	if err != nil {
		t.Log("redis-check-rdb not on PATH; skipping the checker (" + redistest.InstallHint + ")")
		return
	}
	out, err := exec.Command(bin, path).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("RDB looks OK")) {
		t.Errorf("redis-check-rdb %s: %v\n%s", path, err, out)
	}
}

// TestIntegrationEncodeLoad encodes every corpus dataset at RDB 6 to 10,
// loads the result into a real redis-server (a replica, so nothing expires)
// and checks the key count, redis-check-rdb, and that DEBUG DIGEST equals
// the digest of the original file loaded into the same server (or, for
// files that server cannot read, that both encodings agree). The server's
// SAVE of the version-10 file must then re-encode byte for byte.
func TestIntegrationEncodeLoad(t *testing.T) {
	redistest.Require(t)
	files, _ := filepath.Glob(filepath.Join(corpus, "*", "*", "dump.rdb"))
	if len(files) == 0 {
		t.Fatal("no corpus files")
	}
	var version string
	for _, p := range files {
		rel, _ := filepath.Rel(corpus, filepath.Dir(p))
		t.Run(rel, func(t *testing.T) {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			srcVer, err := rdb.NewDecoder(bytes.NewReader(src), nil).Version()
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			digests := map[int]string{}
			for _, ver := range []int{6, 7, 8, 9, 10} {
				out, keys, module, err := reencode(src, &rdb.EncodeOptions{Version: ver})
				lossy := false
				if errors.Is(err, rdb.ErrUnsupported) {
					// Degrade instead: the server must still load the file.
					t.Logf("v%d: cannot hold the dataset (%v); checking the lossy form", ver, err)
					lossy = true
					out, keys, module, err = reencode(src, &rdb.EncodeOptions{Version: ver, Lossy: true})
				}
				if err != nil {
					t.Fatalf("v%d: %v", ver, err)
				}
				if module {
					t.Skip("module values need the test modules loaded")
				}
				path := filepath.Join(t.TempDir(), "dump.rdb")
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
				checkRDB(t, path)
				s := redistest.LoadRDB(t, path)
				version = s.Version()
				if n := dbsize(t, s); !lossy && n != int64(keys) {
					t.Errorf("v%d: server has %d keys, file %d", ver, n, keys)
				}
				if lossy {
					s.Stop()
					continue
				}
				digests[ver] = digest(t, s)
				if ver == 10 {
					// Reverse direction: the server's own SAVE of our file,
					// re-encoded by us, must come out byte for byte.
					saved, err := os.ReadFile(s.Save())
					if err != nil {
						t.Fatal(err)
					}
					again, _, _, err := reencode(saved, &rdb.EncodeOptions{Version: 10, KeepEncoding: true})
					if err != nil {
						t.Fatalf("re-encoding the server's SAVE: %v", err)
					}
					if !bytes.Equal(again, saved) {
						t.Errorf("re-encoding the server's SAVE output differs (%d vs %d bytes)", len(again), len(saved))
					}
				}
				if want == "" && srcVer <= 10 {
					want = digest(t, redistest.LoadRDB(t, p))
				}
				s.Stop()
			}
			for ver, got := range digests {
				if want != "" && got != want {
					t.Errorf("v%d: DEBUG DIGEST %s, original file %s", ver, got, want)
				}
			}
			if want == "" {
				for ver, got := range digests {
					if ref, ok := digests[10]; ok && got != ref {
						t.Errorf("DEBUG DIGEST v%d %s != v10 %s", ver, got, ref)
					}
				}
			}
		})
	}
	t.Logf("server: redis %s", version)
}
