//go:build integration

package manifest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/persistkit/persistkit/format/manifest"
	"github.com/persistkit/persistkit/internal/redistest"
)

// TestRedisAcceptsWhatWeAccept starts Debian's redis-server on hand-made
// appendonlydirs and checks that Parse+Validate accept exactly the manifests
// the real loader accepts. The server runs with port 0 (a unix socket only), so the
// verdict is whether it reaches "ready to accept connections" or exits.
func TestRedisAcceptsWhatWeAccept(t *testing.T) {
	bin := redistest.Require(t)
	cases := []struct {
		name, manifest string
		files          []string // created empty in appendonlydir
	}{
		{"valid", "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
			[]string{"appendonly.aof.1.base.aof", "appendonly.aof.1.incr.aof"}},
		{"no-trailing-newline", "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i",
			[]string{"appendonly.aof.1.base.aof", "appendonly.aof.1.incr.aof"}},
		{"comment-line", "# hand-made\nfile appendonly.aof.1.base.aof seq 1 type b\n",
			[]string{"appendonly.aof.1.base.aof"}},
		{"history-and-incrs", "file appendonly.aof.1.base.aof seq 1 type h\nfile appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
			[]string{"appendonly.aof.2.base.aof", "appendonly.aof.1.incr.aof", "appendonly.aof.2.incr.aof"}},
		{"quoted-name-with-space", "file \"append only.aof.1.base.aof\" seq 1 type b\n",
			[]string{"append only.aof.1.base.aof"}},
		{"two-bases", "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.2.base.aof seq 2 type b\n",
			[]string{"appendonly.aof.1.base.aof", "appendonly.aof.2.base.aof"}},
		{"unknown-type", "file appendonly.aof.1.base.aof seq 1 type x\n",
			[]string{"appendonly.aof.1.base.aof"}},
		{"missing-seq", "file appendonly.aof.1.base.aof type b\n",
			[]string{"appendonly.aof.1.base.aof"}},
		{"incr-seq-not-increasing", "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
			[]string{"appendonly.aof.1.base.aof", "appendonly.aof.1.incr.aof", "appendonly.aof.2.incr.aof"}},
		{"seq-zero", "file appendonly.aof.0.base.aof seq 0 type b\n",
			[]string{"appendonly.aof.0.base.aof"}},
		{"odd-token-count", "file appendonly.aof.1.base.aof seq 1 type\n",
			[]string{"appendonly.aof.1.base.aof"}},
		{"unknown-key-ignored", "file appendonly.aof.1.base.aof seq 1 type b foo bar\n",
			[]string{"appendonly.aof.1.base.aof"}},
		{"only-incr", "file appendonly.aof.1.incr.aof seq 1 type i\n",
			[]string{"appendonly.aof.1.incr.aof"}},
		{"garbage-line", "this is not a manifest\n", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := manifest.Parse(strings.NewReader(tc.manifest))
			if err == nil {
				err = m.Validate()
			}
			ours := err == nil
			server, log := redisLoads(t, bin, tc.manifest, tc.files)
			if ours != server {
				t.Fatalf("we accept=%v (err %v), redis-server accepts=%v; server log:\n%s", ours, err, server, log)
			}
		})
	}
}

// redisLoads reports whether redis-server starts on an appendonlydir holding
// this manifest, and its log.
func redisLoads(t *testing.T, bin, text string, files []string) (bool, string) {
	t.Helper()
	dir := t.TempDir()
	aofDir := filepath.Join(dir, "appendonlydir")
	if err := os.Mkdir(aofDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(aofDir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(aofDir, "appendonly.aof.manifest"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := &lockedBuffer{}
	cmd := exec.CommandContext(ctx, bin, "--port", "0", "--dir", dir, "--save", "", "--appendonly", "yes",
		"--appenddirname", "appendonlydir", "--logfile", "", "--unixsocket", filepath.Join(dir, "s"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false, out.String()
		case <-ctx.Done():
			cmd.Process.Kill()
			<-done
			t.Fatalf("redis-server neither became ready nor exited; log:\n%s", out.String())
		case <-tick.C:
			if strings.Contains(strings.ToLower(out.String()), "ready to accept connections") {
				cmd.Process.Kill()
				<-done
				return true, out.String()
			}
		}
	}
}

// lockedBuffer is written by exec's copying goroutine while the test polls it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
