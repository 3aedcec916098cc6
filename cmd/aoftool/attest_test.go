package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const attestAOFDir = "../../fixtures/corpus/7.4.1/types-small/aof-plain/appendonlydir"

func copyAOFDir(t *testing.T, src, dst string) {
	t.Helper()
	os.MkdirAll(dst, 0o755)
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644)
	}
}

// aoftool attest/validate are rdbtool's commands; keygen lives in rdbtool,
// so this test writes a fixed key pair in keygen's formats.
func TestAttestValidate(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "appendonlydir")
	copyAOFDir(t, attestAOFDir, src)
	key := filepath.Join(dir, "k")
	// A fixed PKCS#8 Ed25519 key and its PKIX public key (openssl-compatible).
	os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\n-----END PRIVATE KEY-----\n"), 0o600)
	os.WriteFile(key+".pub", []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=\n-----END PUBLIC KEY-----\n"), 0o644)
	att := filepath.Join(dir, "a.json")
	single := filepath.Join(src, "appendonly.aof.2.incr.aof")
	if _, stderr, code := runCLI(t, false, "", "attest", src, single, "--key", key, "-o", att); code != 0 {
		t.Fatalf("attest: exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(att)
	if !bytes.Contains(data, []byte(`"name":"appendonly.aof.2.base.aof","role":"base"`)) || !bytes.Contains(data, []byte(`"format":"aof","keys":`)) {
		t.Errorf("attestation:\n%s", data)
	}

	// Copied elsewhere under another name.
	moved := filepath.Join(t.TempDir(), "restored-aof")
	copyAOFDir(t, src, moved)
	os.RemoveAll(src)
	movedSingle := filepath.Join(t.TempDir(), "appendonly.aof.2.incr.aof")
	os.WriteFile(movedSingle, mustRead(t, filepath.Join(moved, "appendonly.aof.2.incr.aof")), 0o644)
	stdout, stderr, code := runCLI(t, false, "", "validate", moved, movedSingle, "--attestation", att, "--pub", key+".pub", "--min-keys", "1")
	if code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", code, stdout, stderr)
	}
	if n := strings.Count(stdout, "PASS "); n != 9 || strings.Contains(stdout, "FAIL") {
		t.Errorf("%d PASS lines:\n%s", n, stdout)
	}

	// An incomplete AOF is not a backup: a truncated tail fails here even
	// though Redis would load it with aof-load-truncated yes.
	incr := filepath.Join(moved, "appendonly.aof.2.incr.aof")
	b := mustRead(t, incr)
	os.WriteFile(incr, b[:len(b)-3], 0o644)
	stdout, _, code = runCLI(t, false, "", "validate", moved, movedSingle, "--attestation", att, "--pub", key+".pub")
	if code != 3 || !strings.Contains(stdout, "FAIL check "+moved) || !strings.Contains(stdout, "FAIL sha256 "+moved+": appendonly.aof.2.incr.aof: modified since attested") {
		t.Errorf("truncated: exit %d\n%s", code, stdout)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
