package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/internal/cli"
)

// cmds builds RESP commands from space-separated words.
func cmds(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		f := strings.Fields(l)
		b.WriteString("*" + itoa(len(f)) + "\r\n")
		for _, a := range f {
			b.WriteString("$" + itoa(len(a)) + "\r\n" + a + "\r\n")
		}
	}
	return b.String()
}

// multiDir writes a Redis 7 appendonlydir with a RESP base and one INCR.
func multiDir(t *testing.T, base, incr string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "appendonlydir")
	os.Mkdir(dir, 0o755)
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("appendonly.aof.1.base.aof", base)
	write("appendonly.aof.1.incr.aof", incr)
	write("appendonly.aof.manifest", "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
	return dir
}

func digestOf(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := runCLI(t, false, "", append([]string{"digest"}, args...)...)
	if code != 0 {
		t.Fatalf("digest %v: exit %d\n%s", args, code, errs)
	}
	return hex40.FindString(out)
}

func TestFixRefusesNonLastFileAndSalvages(t *testing.T) {
	good := cmds("SET a 1", "SET b 2")
	damaged := good + "*3\r\n$3\r\nSET\r\n$1\r\nc\r\nGARBAGE" + cmds("SET d 4", "MULTI", "SET e 5", "EXEC")
	dir := multiDir(t, damaged, cmds("SET f 6"))
	base := filepath.Join(dir, "appendonly.aof.1.base.aof")

	out, errs, code := runCLI(t, false, "", "check", "--fix", "--yes", dir)
	if code != 3 || !strings.Contains(errs, "not the last file") || !strings.Contains(errs, "--salvage") {
		t.Fatalf("fix on a damaged base: exit %d\n%s%s", code, out, errs)
	}
	if data, _ := os.ReadFile(base); string(data) != damaged {
		t.Fatal("refused fix changed the file")
	}

	out, errs, code = runCLI(t, false, "", "check", "--fix", "--salvage", "--yes", dir)
	if code != 0 {
		t.Fatalf("salvage: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "dropping bytes 54-81 (27 bytes)") || !strings.Contains(out, "Successfully salvaged AOF appendonly.aof.1.base.aof") {
		t.Errorf("salvage report:\n%s", out)
	}
	data, _ := os.ReadFile(base)
	if want := good + cmds("SET d 4", "MULTI", "SET e 5", "EXEC"); string(data) != want {
		t.Errorf("salvaged base:\n%q\nwant\n%q", data, want)
	}
	if bak, _ := os.ReadFile(base + ".bak"); string(bak) != damaged {
		t.Error("backup is not the original")
	}
	if _, _, code := runCLI(t, false, "", "check", dir); code != 0 {
		t.Errorf("check after salvage: exit %d", code)
	}
	ref := multiDir(t, good+cmds("SET d 4", "MULTI", "SET e 5", "EXEC"), cmds("SET f 6"))
	if digestOf(t, dir) != digestOf(t, ref) {
		t.Error("salvaged keyspace differs")
	}
}

func TestSalvageDropsBrokenTransactions(t *testing.T) {
	data := cmds("SET a 1", "MULTI", "SET b 2") + "*2\r\n$3\r\nDEL" + // damage inside MULTI
		cmds("EXEC", "SET c 3", "MULTI", "SET d 4") // stray EXEC, then an open MULTI at the end
	path := filepath.Join(t.TempDir(), "appendonly.aof")
	os.WriteFile(path, []byte(data), 0o644)
	out, errs, code := runCLI(t, false, "", "check", "--fix", "--salvage", "--yes", "--no-backup", path)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	got, _ := os.ReadFile(path)
	if want := cmds("SET a 1", "SET c 3"); string(got) != want {
		t.Errorf("salvaged:\n%q\nwant\n%q\n%s", got, want, out)
	}
	if _, err := os.Stat(path + ".bak"); err == nil {
		t.Error("--no-backup left a backup")
	}
}

func TestSalvageRDBPreamble(t *testing.T) {
	src := filepath.Join(corpusDir, "7.4.1/corrupt/aof/hybrid-base-truncated/input/appendonlydir")
	dir := filepath.Join(t.TempDir(), "appendonlydir")
	copyTree(t, src, dir)
	out, errs, code := runCLI(t, false, "", "check", "--fix", "--salvage", "--yes", dir)
	if code != 0 || !strings.Contains(out, "20 RDB keys re-encoded") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	out, _, code = runCLI(t, false, "", "check", dir)
	if code != 0 || !strings.Contains(out, "[info] 20 keys read") {
		t.Errorf("check after salvage: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "not listed in the manifest") {
		t.Errorf("the .bak file is not reported as unlisted:\n%s", out)
	}
}

func TestFixConfirmation(t *testing.T) {
	orig := cmds("SET a 1", "SET b 2") + "*2\r\n$3\r\nDEL\r\n$1"
	for _, tc := range []struct {
		name, stdin string
		tty         bool
		code        int
	}{
		{"declined", "n\n", true, 3},
		{"eof", "", false, 3},
		{"piped-yes", "y\n", false, 0},
		{"tty-yes", "Y\n", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "appendonly.aof")
			os.WriteFile(path, []byte(orig), 0o644)
			out, errs, code := runCLI(t, tc.tty, tc.stdin, "check", "--fix", path)
			if code != tc.code || !strings.Contains(errs, "Continue? [y/N]: ") {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errs)
			}
			got, _ := os.ReadFile(path)
			bak, bakErr := os.ReadFile(path + ".bak")
			if tc.code != 0 {
				if string(got) != orig || bakErr == nil {
					t.Error("declined fix changed something")
				}
				return
			}
			if string(got) != cmds("SET a 1", "SET b 2") || string(bak) != orig {
				t.Errorf("fixed %q, backup %q", got, bak)
			}
			if !strings.Contains(out, "This will shrink the AOF "+path+" from 69 bytes, with 15 bytes, to 54 bytes") ||
				!strings.Contains(out, "removed 15 bytes from offset 54: a damaged record") {
				t.Errorf("output:\n%s", out)
			}
		})
	}
}

func TestFixSecondBackup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "appendonly.aof")
	os.WriteFile(path, []byte(cmds("SET a 1")+"*1\r\n"), 0o644)
	os.WriteFile(path+".bak", []byte("older"), 0o644)
	if _, errs, code := runCLI(t, false, "", "check", "--fix", "--yes", path); code != 0 {
		t.Fatal(errs)
	}
	if b, _ := os.ReadFile(path + ".bak"); string(b) != "older" {
		t.Error("an existing backup was overwritten")
	}
	if b, _ := os.ReadFile(path + ".bak.2"); string(b) != cmds("SET a 1")+"*1\r\n" {
		t.Errorf("second backup: %q", b)
	}
}

func TestCheckDirectoryProblems(t *testing.T) {
	dir := multiDir(t, cmds("SET a 1"), "")
	os.WriteFile(filepath.Join(dir, "stray.aof"), nil, 0o644)
	out, _, code := runCLI(t, false, "", "check", dir)
	if code != 0 || !strings.Contains(out, "[warning] stray.aof: not listed in the manifest") || !strings.Contains(out, "INCR AOF appendonly.aof.1.incr.aof is empty") {
		t.Errorf("exit %d\n%s", code, out)
	}
	os.Remove(filepath.Join(dir, "appendonly.aof.1.incr.aof"))
	out, _, code = runCLI(t, false, "", "check", dir)
	if code != 3 || !strings.Contains(out, "appendonly.aof.1.incr.aof: listed in the manifest but missing") {
		t.Errorf("missing INCR: exit %d\n%s", code, out)
	}
	if _, errs, code := runCLI(t, false, "", "check", "--fix", "--yes", dir); code != 3 || !strings.Contains(errs, "cannot fix") {
		t.Errorf("fix with a missing file: exit %d\n%s", code, errs)
	}
	os.WriteFile(filepath.Join(dir, "appendonly.aof.manifest"), []byte("file a seq 1 type x\n"), 0o644)
	if _, errs, code := runCLI(t, false, "", "check", dir); code != 3 || !strings.Contains(errs, "Unknown AOF file type") {
		t.Errorf("bad manifest: exit %d\n%s", code, errs)
	}
}

func TestTruncateToTimestampNotLast(t *testing.T) {
	base := "#TS:100\r\n" + cmds("SET a 1") + "#TS:200\r\n" + cmds("SET b 2")
	dir := multiDir(t, base, cmds("SET c 3"))
	_, errs, code := runCLI(t, false, "", "check", "--truncate-to-timestamp", "150", dir)
	if code != 3 || !strings.Contains(errs, "because it is not the last file") {
		t.Errorf("exit %d\n%s", code, errs)
	}
}

func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	env := cli.Test(strings.NewReader(""), &out, &errb, false)
	code := cli.Run(ctx, newRootCmd(env), []string{"digest", filepath.Join(corpusDir, "7.4.1/aof/aof-plain/appendonlydir")})
	if code != cli.ExitInterrupted {
		t.Errorf("exit %d, want 130\n%s", code, errb.String())
	}
}

// TestRoundTrips rewrites and converts every corpus AOF and checks that the
// outputs rebuild the same keyspace (same digest) and pass check.
func TestRoundTrips(t *testing.T) {
	for _, tg := range corpusAOFs(t) {
		if !strings.Contains(tg.path, "/aof-") {
			continue // redis-assets files are covered by TestCorpusDigest
		}
		t.Run(strings.TrimPrefix(tg.path, corpusDir+"/"), func(t *testing.T) {
			want := digestOf(t, append(append([]string{}, tg.args...), tg.path)...)
			tmp := t.TempDir()
			outs := map[string][]string{
				"rdb-dir":  {"rewrite", "-q", tg.path, "-o", filepath.Join(tmp, "rdb-dir")},
				"aof-dir":  {"rewrite", "-q", "--base", "aof", tg.path, "-o", filepath.Join(tmp, "aof-dir")},
				"single":   {"rewrite", "-q", "--single-file", tg.path, "-o", filepath.Join(tmp, "single")},
				"convert":  {"convert", "-q", tg.path, "-o", filepath.Join(tmp, "convert")},
				"dump-aof": {"dump", "--format", "resp", tg.path, "-o", filepath.Join(tmp, "dump-aof")},
			}
			for name, args := range outs {
				_, errs, code := runCLI(t, false, "", args...)
				if code != 0 {
					t.Fatalf("%s: exit %d\n%s", name, code, errs)
				}
				out := filepath.Join(tmp, name)
				if got := digestOf(t, append(append([]string{}, tg.args...), out)...); got != want {
					t.Errorf("%s: digest %s, want %s", name, got, want)
				}
				if name != "convert" {
					if o, _, code := runCLI(t, false, "", "check", out); code != 0 {
						t.Errorf("%s: check exit %d\n%s", name, code, o)
					}
				}
				_, _, code = runCLI(t, false, "", append(append([]string{"verify"}, tg.args[:min(2, len(tg.args))]...), tg.path, out)...)
				if code != 0 {
					t.Errorf("%s: verify exit %d", name, code)
				}
			}
			if _, errs, code := runCLI(t, false, "", "rewrite", tg.path, "-o", filepath.Join(tmp, "rdb-dir")); code != 2 {
				t.Errorf("rewrite over an existing output: exit %d\n%s", code, errs)
			}
		})
	}
}

func TestFixJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "appendonly.aof")
	os.WriteFile(path, []byte(cmds("SET a 1")+"*1\r\n"), 0o644)
	out, errs, code := runCLI(t, false, "", "--json", "check", "--fix", "--yes", "--no-backup", path)
	want := `{"path":"` + path + `","action":"truncated","file":"` + path + `","old_size":31,"new_size":27,"removed":4}` + "\n"
	if code != 0 || out != want || errs != "" {
		t.Errorf("exit %d\n%s\nwant\n%s\nstderr %s", code, out, want, errs)
	}
	out, _, code = runCLI(t, false, "", "--json", "check", "--fix", "--yes", path)
	if code != 0 || !strings.Contains(out, `"action":"nothing_to_fix"`) {
		t.Errorf("second fix: exit %d\n%s", code, out)
	}
}
