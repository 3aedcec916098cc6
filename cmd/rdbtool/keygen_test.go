package main

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/internal/attest"
)

func TestKeygen(t *testing.T) {
	key := filepath.Join(t.TempDir(), "backup.key")
	stdout, stderr, code := runCLI(t, false, "", "keygen", "-o", key)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	st, err := os.Stat(key)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, %v; want 0600", st.Mode(), err)
	}
	pubPEM, err := os.ReadFile(key + ".pub")
	if err != nil || string(pubPEM) != stdout {
		t.Fatalf("stdout %q, KEYFILE.pub %q (%v)", stdout, pubPEM, err)
	}
	privPEM, _ := os.ReadFile(key)
	priv, err := attest.ParsePrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := attest.ParsePublicKey(pubPEM)
	if err != nil || !pub.Equal(priv.Public().(ed25519.PublicKey)) {
		t.Fatalf("public key does not match the private key (%v)", err)
	}
	if !strings.Contains(stderr, "key id "+attest.KeyID(pub)) {
		t.Errorf("stderr %q lacks the key id", stderr)
	}

	if _, stderr, code := runCLI(t, false, "", "keygen", "-o", key); code != 2 || !strings.Contains(stderr, "exists") {
		t.Errorf("overwrite without --force: exit %d, %q", code, stderr)
	}
	if again, _ := os.ReadFile(key); string(again) != string(privPEM) {
		t.Error("refused keygen changed the key")
	}
	os.Chmod(key, 0o644)
	if _, stderr, code := runCLI(t, false, "", "keygen", "-o", key, "--force"); code != 0 {
		t.Fatalf("--force: exit %d, %s", code, stderr)
	}
	if st, _ := os.Stat(key); st.Mode().Perm() != 0o600 {
		t.Errorf("--force over a 0644 file left mode %v", st.Mode())
	}
	if again, _ := os.ReadFile(key); string(again) == string(privPEM) {
		t.Error("--force kept the old key")
	}
	if _, _, code := runCLI(t, false, "", "keygen"); code != 2 {
		t.Errorf("keygen without -o: exit %d, want 2", code)
	}
}
