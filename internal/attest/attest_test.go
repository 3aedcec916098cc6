package attest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	corpusRDB = "../../fixtures/corpus/7.4.1/types-small/dump.rdb"
	corpusAOF = "../../fixtures/corpus/7.4.1/types-small/aof-hybrid/appendonlydir"
	// DEBUG DIGEST recorded by Redis 7.4.1 for types-small (digest.txt).
	corpusDigest = "0aaf7bdb448ae8300486169d61cae9403f57572d"
)

var (
	created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	key1    = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	key2    = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
)

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// copyTree copies a file or directory into dir and returns the new path.
func copyTree(t *testing.T, src, dir string) string {
	t.Helper()
	st, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
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
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		copyTree(t, filepath.Join(src, e.Name()), dst)
	}
	return dst
}

func failed(r *Report) []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c.Name+": "+c.Detail)
		}
	}
	return out
}

func TestCreateInspect(t *testing.T) {
	ctx := context.Background()
	out, a, err := Create(ctx, []string{corpusRDB, corpusAOF}, CreateOptions{Key: key1, Now: created})
	if err != nil {
		t.Fatal(err)
	}
	if a.CreatedAt != "2026-01-02T03:04:05Z" || a.KeyID != KeyID(pub(key1)) || len(a.KeyID) != 16 {
		t.Errorf("created_at %s key_id %s", a.CreatedAt, a.KeyID)
	}
	rdb, aof := a.Subjects[0], a.Subjects[1]
	if rdb.Format != "rdb" || rdb.Name != "dump.rdb" || rdb.RDBVersion != 12 || rdb.RedisVer != "7.4.1" ||
		rdb.Digest != corpusDigest || rdb.Size != 1429 || rdb.Keys == 0 || len(rdb.DBs["0"]) == 0 {
		t.Errorf("rdb subject %+v", rdb)
	}
	if aof.Format != "aof-dir" || aof.Name != "appendonlydir" || len(aof.Files) != 3 ||
		aof.Files[0].Role != "manifest" || aof.Files[1].Role != "base" || aof.Files[2].Role != "incr" {
		t.Errorf("aof subject %+v", aof)
	}
	for _, f := range aof.Files {
		if strings.Contains(f.Name, "/") {
			t.Errorf("file name %q not relative to the directory", f.Name)
		}
	}
	got, err := Verify(out, pub(key1))
	if err != nil {
		t.Fatal(err)
	}
	if got.Subjects[1].Digest != aof.Digest {
		t.Error("verified content differs")
	}
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	good, _, err := Create(ctx, []string{corpusRDB}, CreateOptions{Key: key1, Now: created})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := Create(ctx, []string{corpusRDB}, CreateOptions{Key: key2, Now: created})
	if err != nil {
		t.Fatal(err)
	}
	sigAt := bytes.Index(good, []byte(`"signature":"`)) + len(`"signature":"`)
	sigEnd := sigAt + bytes.IndexByte(good[sigAt:], '"')
	sig, _ := base64.StdEncoding.DecodeString(string(good[sigAt:sigEnd]))
	withSig := func(s []byte) []byte {
		return append(append(append([]byte(nil), good[:sigAt]...), base64.StdEncoding.EncodeToString(s)...), good[sigEnd:]...)
	}
	flipped := append([]byte(nil), sig...)
	flipped[7] ^= 0x10
	payloadFlip := append([]byte(nil), good...)
	i := bytes.Index(payloadFlip, []byte(`"digest":"`)) + len(`"digest":"`)
	payloadFlip[i] ^= 0x01 // '0' -> '1': still valid, canonical JSON
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"flipped payload bit", payloadFlip, ErrBadSignature},
		{"flipped signature bit", withSig(flipped), ErrBadSignature},
		{"truncated signature", withSig(sig[:60]), ErrSignatureLength},
		{"other key", other, ErrWrongKey},
		{"reformatted", bytes.Replace(good, []byte(`,"`), []byte(`, "`), 1), ErrNonCanonical},
		{"not json", good[:len(good)/2], ErrMalformed},
		{"oversized", append(bytes.Repeat([]byte(" "), MaxSize), good...), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Verify(tc.data, pub(key1)); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rdbPath := copyTree(t, corpusRDB, dir)
	aofPath := copyTree(t, corpusAOF, dir)
	att, _, err := Create(ctx, []string{rdbPath, aofPath}, CreateOptions{Key: key1, Now: created})
	if err != nil {
		t.Fatal(err)
	}
	opt := ValidateOptions{Attestation: att, PublicKey: pub(key1), Now: created.Add(time.Hour),
		MaxAge: 26 * time.Hour, MinKeys: 5, ExpectDigest: ""}

	t.Run("good", func(t *testing.T) {
		r, err := Validate(ctx, []string{rdbPath, aofPath}, opt)
		if err != nil || !r.OK() {
			t.Fatalf("err %v, failed %q", err, failed(r))
		}
	})
	t.Run("copied elsewhere", func(t *testing.T) {
		elsewhere := filepath.Join(t.TempDir(), "restored")
		os.MkdirAll(elsewhere, 0o755)
		moved := copyTree(t, aofPath, elsewhere)
		r, err := Validate(ctx, []string{copyTree(t, rdbPath, elsewhere), moved}, opt)
		if err != nil || !r.OK() {
			t.Fatalf("err %v, failed %q", err, failed(r))
		}
	})
	t.Run("expired", func(t *testing.T) {
		o := opt
		o.Now = created.Add(27 * time.Hour)
		r, _ := Validate(ctx, []string{rdbPath, aofPath}, o)
		if f := failed(r); len(f) != 1 || !strings.HasPrefix(f[0], "max-age: ") {
			t.Fatalf("failed %q", f)
		}
	})
	t.Run("created in the future", func(t *testing.T) {
		o := opt
		o.MaxAge, o.Now = 0, created.Add(-time.Hour)
		r, _ := Validate(ctx, []string{rdbPath, aofPath}, o)
		if f := failed(r); len(f) != 1 || !strings.HasPrefix(f[0], "age: created 2026-01-02T03:04:05Z, in the future") {
			t.Fatalf("failed %q", f)
		}
	})
	t.Run("min-keys and digest", func(t *testing.T) {
		o := opt
		o.MinKeys, o.ExpectDigest = 1_000_000, strings.ToUpper(corpusDigest)
		r, _ := Validate(ctx, []string{rdbPath}, o)
		f := failed(r)
		if len(f) != 2 || !strings.HasPrefix(f[0], "attested appendonlydir") || !strings.HasPrefix(f[1], "min-keys ") {
			t.Fatalf("failed %q", f)
		}
	})
	t.Run("flipped bit in data", func(t *testing.T) {
		bad := copyTree(t, aofPath, t.TempDir())
		incr := filepath.Join(bad, "appendonly.aof.2.incr.aof")
		data, _ := os.ReadFile(incr)
		j := bytes.LastIndexByte(data, 'a')
		data[j] ^= 0x02 // 'a' -> 'c' inside an argument: still valid RESP
		os.WriteFile(incr, data, 0o644)
		r, err := Validate(ctx, []string{rdbPath, bad}, opt)
		if err != nil {
			t.Fatal(err)
		}
		f := failed(r)
		t.Logf("failed: %q", f)
		if len(f) == 0 || !strings.Contains(strings.Join(f, "\n"), "appendonly.aof.2.incr.aof: modified since attested") {
			t.Fatalf("failed %q", f)
		}
	})
}

// TestVerifyWithOpenSSL checks the README's recipe: jq rebuilds the signed
// message and openssl verifies the signature, without this package.
func TestVerifyWithOpenSSL(t *testing.T) {
	jq, err1 := exec.LookPath("jq")
	openssl, err2 := exec.LookPath("openssl")
	if err1 != nil || err2 != nil {
		t.Skip("needs jq and openssl")
	}
	dir := t.TempDir()
	out, _, err := Create(context.Background(), []string{corpusRDB, corpusAOF}, CreateOptions{Key: key1, Now: created})
	if err != nil {
		t.Fatal(err)
	}
	att := filepath.Join(dir, "a.json")
	os.WriteFile(att, out, 0o644)
	pubPEM, _ := MarshalPublicKey(pub(key1))
	os.WriteFile(filepath.Join(dir, "k.pub"), pubPEM, 0o644)
	payload, err := exec.Command(jq, "-jcS", "del(.signature)", att).Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "payload"), payload, 0o644)
	sigB64, err := exec.Command(jq, "-r", ".signature", att).Output()
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigB64)))
	os.WriteFile(filepath.Join(dir, "sig"), sig, 0o644)
	cmd := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", "k.pub", "-rawin", "-in", "payload", "-sigfile", "sig")
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, msg)
	}
}
