package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	fixtureRDB = "../../fixtures/corpus/7.4.1/types-small/dump.rdb"
	fixtureAOF = "../../fixtures/corpus/7.4.1/types-small/aof-hybrid/appendonlydir"
	// DEBUG DIGEST Redis 7.4.1 reported for the fixture (digest.txt).
	fixtureDigest = "0aaf7bdb448ae8300486169d61cae9403f57572d"
	// attestTime is the clock of cli.Test, so the attestations' created_at.
	attestTime = 1700000000000
)

// copyPath copies a file or directory tree to dst.
func copyPath(t *testing.T, src, dst string) string {
	t.Helper()
	st, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsDir() {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		copyPath(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
	}
	return dst
}

// backup is a backup directory with an attestation, as attest leaves it.
type backup struct {
	dir, rdb, aof, att, key, pub string
}

func newBackup(t *testing.T, dir string) *backup {
	t.Helper()
	b := &backup{dir: dir}
	os.MkdirAll(filepath.Join(dir, "backup"), 0o755)
	b.rdb = copyPath(t, fixtureRDB, filepath.Join(dir, "backup", "dump.rdb"))
	b.aof = copyPath(t, fixtureAOF, filepath.Join(dir, "backup", "appendonlydir"))
	b.att = filepath.Join(dir, "backup", "backup.attest.json")
	b.key = filepath.Join(dir, "backup.key")
	b.pub = b.key + ".pub"
	if _, stderr, code := runCLI(t, false, "", "keygen", "-o", b.key); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	if _, stderr, code := runCLI(t, false, "", "attest", b.rdb, b.aof, "--key", b.key, "-o", b.att); code != 0 {
		t.Fatalf("attest: exit %d: %s", code, stderr)
	}
	return b
}

func (b *backup) validate(t *testing.T, extra ...string) (string, string, int) {
	t.Helper()
	args := append([]string{"validate", b.rdb, b.aof, "--attestation", b.att, "--pub", b.pub}, extra...)
	return runCLI(t, false, "", args...)
}

func flipBit(t *testing.T, path string, off int, bit byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += len(data)
	}
	data[off] ^= bit
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editSignature rewrites the attestation's base64 signature with f.
func editSignature(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	data, _ := os.ReadFile(path)
	const field = `"signature":"`
	i := bytes.Index(data, []byte(field)) + len(field)
	j := i + bytes.IndexByte(data[i:], '"')
	sig, err := base64.StdEncoding.DecodeString(string(data[i:j]))
	if err != nil {
		t.Fatal(err)
	}
	out := append(append(append([]byte(nil), data[:i]...), base64.StdEncoding.EncodeToString(f(sig))...), data[j:]...)
	os.WriteFile(path, out, 0o644)
}

func TestValidateGood(t *testing.T) {
	b := newBackup(t, t.TempDir())
	stdout, stderr, code := b.validate(t, "--max-age", "26h", "--min-keys", "10", "--now", "2023-11-15T20:13:20Z")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "PASS ") {
			t.Errorf("not a PASS line: %q", l)
		}
	}
	for _, want := range []string{"PASS signature: ", "PASS sha256 " + b.rdb, "PASS digest " + b.rdb + ": keyspace digest " + fixtureDigest,
		"PASS sha256 " + b.aof + ": 3 files", "PASS max-age: created 2023-11-14T22:13:20Z, 22h0m0s ago", "PASS min-keys "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "backup valid") {
		t.Errorf("stderr %q", stderr)
	}

	stdout, _, code = b.validate(t, "--json", "--expect-digest", fixtureDigest)
	var rep struct {
		OK     bool `json:"ok"`
		KeyID  string
		Checks []struct {
			Name, Detail string
			OK           bool
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 3 || rep.OK {
		// the AOF's digest differs from the RDB's, so expect-digest fails once
		t.Fatalf("json: exit %d, %v, %s", code, err, stdout)
	}
	var failed []string
	for _, c := range rep.Checks {
		if !c.OK {
			failed = append(failed, c.Name)
		}
	}
	if len(failed) != 1 || failed[0] != "expect-digest "+b.aof {
		t.Errorf("failed checks %q", failed)
	}
}

func TestValidateRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, b *backup)
		args   []string
		want   []string // FAIL lines (prefixes of name: detail)
	}{
		{
			name:   "flipped bit in RDB file",
			tamper: func(t *testing.T, b *backup) { flipBit(t, b.rdb, 200, 0x04) },
			want:   []string{"FAIL check " + "RDB", "FAIL sha256 RDB: modified since attested"},
		},
		{
			name: "flipped bit in AOF file",
			tamper: func(t *testing.T, b *backup) {
				p := filepath.Join(b.aof, "appendonly.aof.2.incr.aof")
				data, _ := os.ReadFile(p)
				flipBit(t, p, bytes.LastIndexByte(data, 'a'), 0x02) // still valid RESP
			},
			want: []string{"FAIL sha256 AOF: appendonly.aof.2.incr.aof: modified since attested", "FAIL digest AOF: keyspace digest"},
		},
		{
			name: "flipped bit in attestation",
			tamper: func(t *testing.T, b *backup) {
				data, _ := os.ReadFile(b.att)
				flipBit(t, b.att, bytes.Index(data, []byte(`"keys":`))+len(`"keys":`), 0x01) // 38 -> 28
			},
			want: []string{"FAIL signature: signature does not verify: the attestation or its signature was altered"},
		},
		{
			name: "flipped bit in signature",
			tamper: func(t *testing.T, b *backup) {
				editSignature(t, b.att, func(s []byte) []byte { s[40] ^= 0x80; return s })
			},
			want: []string{"FAIL signature: signature does not verify"},
		},
		{
			name: "truncated signature",
			tamper: func(t *testing.T, b *backup) {
				editSignature(t, b.att, func(s []byte) []byte { return s[:48] })
			},
			want: []string{"FAIL signature: truncated or overlong signature: signature has 48 bytes, want 64"},
		},
		{
			name: "signed by another key",
			tamper: func(t *testing.T, b *backup) {
				other := filepath.Join(t.TempDir(), "other.key")
				runCLI(t, false, "", "keygen", "-o", other)
				if _, stderr, code := runCLI(t, false, "", "attest", b.rdb, b.aof, "--key", other, "-o", b.att); code != 0 {
					t.Fatal(stderr)
				}
			},
			want: []string{"FAIL signature: signed by a different key: attestation names key "},
		},
		{
			name: "non-canonical encoding",
			tamper: func(t *testing.T, b *backup) {
				data, _ := os.ReadFile(b.att)
				var v any
				json.Unmarshal(data, &v)
				pretty, _ := json.MarshalIndent(v, "", "  ") // same content, reformatted
				os.WriteFile(b.att, pretty, 0o644)
			},
			want: []string{"FAIL signature: non-canonical encoding: the file differs from its canonical serialisation"},
		},
		{
			name: "expired",
			args: []string{"--max-age", "26h", "--now", "2023-11-16T01:13:20Z"},
			want: []string{"FAIL max-age: created 2023-11-14T22:13:20Z, 27h0m0s ago, older than 26h0m0s"},
		},
		{
			name: "policy",
			args: []string{"--min-keys", "39", "--expect-digest", strings.ToUpper(fixtureDigest)},
			want: []string{"FAIL min-keys RDB: 38 keys, want at least 39", "FAIL expect-digest AOF: digest "},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackup(t, t.TempDir())
			if tc.tamper != nil {
				tc.tamper(t, b)
			}
			stdout, stderr, code := b.validate(t, tc.args...)
			if code != 3 {
				t.Errorf("exit %d, want 3\n%s%s", code, stdout, stderr)
			}
			var fails []string
			for _, l := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(l, "FAIL ") {
					fails = append(fails, strings.NewReplacer(b.rdb, "RDB", b.aof, "AOF").Replace(l))
				}
			}
			if len(fails) != len(tc.want) {
				t.Errorf("FAIL lines:\n%s\nwant %d", strings.Join(fails, "\n"), len(tc.want))
			}
			for i, w := range tc.want {
				if i < len(fails) && !strings.HasPrefix(fails[i], w) {
					t.Errorf("FAIL line %d:\n got %s\nwant %s...", i, fails[i], w)
				}
			}
			if !strings.Contains(stderr, "backup INVALID") {
				t.Errorf("stderr %q", stderr)
			}
		})
	}
}

func TestValidateAOFDirCopied(t *testing.T) {
	b := newBackup(t, t.TempDir())
	// Copied to another machine: another parent, another directory name.
	elsewhere := copyPath(t, b.aof, filepath.Join(t.TempDir(), "restore", "aof-copy"))
	os.RemoveAll(b.aof)
	stdout, stderr, code := runCLI(t, false, "", "validate", b.rdb, elsewhere, "--attestation", b.att, "--pub", b.pub)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "PASS sha256 "+elsewhere+": 3 files match the attestation") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

func TestValidateUsage(t *testing.T) {
	b := newBackup(t, t.TempDir())
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"validate", b.rdb, "--attestation", b.att}, 2},
		{[]string{"validate", b.rdb, "--pub", b.pub}, 2},
		{[]string{"validate", b.rdb, "--max-age", "1h"}, 2},
		{[]string{"validate", b.rdb, "--expect-digest", "abc"}, 2},
		{[]string{"validate", b.rdb, "--attestation", b.att, "--pub", b.att}, 2},
		{[]string{"validate"}, 2},
		{[]string{"validate", filepath.Join(b.dir, "missing.rdb")}, 1},
		{[]string{"validate", b.rdb}, 0},
		{[]string{"attest", b.rdb}, 2},
		{[]string{"attest", "-", "--key", b.key}, 2},
		{[]string{"validate", "-"}, 2},
	} {
		if _, stderr, code := runCLI(t, false, "", tc.args...); code != tc.code {
			t.Errorf("%q: exit %d, want %d (%s)", tc.args, code, tc.code, stderr)
		}
	}
	// A damaged file is not attested.
	flipBit(t, b.rdb, 200, 0x04)
	if _, stderr, code := runCLI(t, false, "", "attest", b.rdb, "--key", b.key); code != 3 {
		t.Errorf("attest of a damaged file: exit %d, want 3 (%s)", code, stderr)
	}
}

// readmeValidateStep returns the environment and command of the GitHub
// Actions "Validate" step in README's "Validate backups in CI" section.
func readmeValidateStep(t *testing.T) (env []string, command string) {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## Validate backups in CI")
	if !ok {
		t.Fatal("README has no \"Validate backups in CI\" section")
	}
	_, step, ok := strings.Cut(section, "- name: Validate\n")
	if !ok {
		t.Fatal("README: no \"- name: Validate\" step")
	}
	sc := bufio.NewScanner(strings.NewReader(step))
	inEnv := false
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "env:":
			inEnv = true
		case strings.HasPrefix(l, "run: "):
			return env, strings.TrimPrefix(l, "run: ")
		case inEnv:
			k, v, ok := strings.Cut(l, ": ")
			if !ok {
				t.Fatalf("README: bad env line %q", l)
			}
			env = append(env, k+"="+strings.Trim(v, `"`))
		}
	}
	t.Fatal("README: Validate step has no run: line")
	return nil, ""
}

// TestValidateBackupScript runs the README's CI step, scripts/validate-backup.sh
// with the step's environment, on a workspace laid out like the job's: this
// checkout as persistkit/, the backup in backup/, the public key in .ci/.
func TestValidateBackupScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rdbtool")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	env, command := readmeValidateStep(t)
	if !strings.Contains(command, "scripts/validate-backup.sh") {
		t.Fatalf("README step runs %q", command)
	}
	bin := filepath.Join(t.TempDir(), "rdbtool")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ws := t.TempDir()
	b := newBackup(t, ws)
	repo, _ := filepath.Abs("../..")
	if err := os.Symlink(repo, filepath.Join(ws, "persistkit")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(ws, ".ci"), 0o755)
	copyPath(t, b.pub, filepath.Join(ws, ".ci", "backup.pub"))

	run := func(now time.Time, extraEnv ...string) (string, int) {
		cmd := exec.Command(bash, "-c", command)
		cmd.Dir = ws
		cmd.Env = append(append(append(os.Environ(), env...), "RDBTOOL="+bin, "VALIDATE_NOW="+now.UTC().Format(time.RFC3339)), extraEnv...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	created := time.UnixMilli(attestTime)
	if out, code := run(created.Add(2 * time.Hour)); code != 0 || !strings.Contains(out, "backup valid") {
		t.Fatalf("good backup: exit %d\n%s", code, out)
	}
	if out, code := run(created.Add(27 * time.Hour)); code != 3 || !strings.Contains(out, "FAIL max-age") {
		t.Errorf("stale backup: exit %d\n%s", code, out)
	}
	if out, code := run(created.Add(time.Hour), "VALIDATE_JSON=1"); code != 0 || !strings.HasPrefix(out, `{"ok":true`) {
		t.Errorf("VALIDATE_JSON=1: exit %d\n%s", code, out)
	}
	flipBit(t, b.rdb, -3, 0x01)
	if out, code := run(created.Add(time.Hour)); code != 3 || !strings.Contains(out, "FAIL sha256 backup/dump.rdb: modified since attested") {
		t.Errorf("tampered backup: exit %d\n%s", code, out)
	}
}
