package attestcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
)

const (
	fixtureRDB = "../../fixtures/corpus/7.4.1/types-small/dump.rdb"
	// DEBUG DIGEST Redis 7.4.1 reported for the fixture (digest.txt).
	fixtureDigest = "0aaf7bdb448ae8300486169d61cae9403f57572d"
)

// run executes the shared commands under a root named tool, as rdbtool and
// aoftool register them.
func run(t *testing.T, tool string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := cli.Test(strings.NewReader(""), &out, &errb, false)
	g := &cli.Globals{}
	root := &cobra.Command{Use: tool}
	cli.SetupRoot(root, env, g)
	root.AddCommand(NewAttestCmd(env, g), NewValidateCmd(env, g))
	code := cli.Run(context.Background(), root, args)
	return out.String(), errb.String(), code
}

func TestAttestValidateShared(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(fixtureRDB)
	if err != nil {
		t.Fatal(err)
	}
	rdb := filepath.Join(dir, "dump.rdb")
	os.WriteFile(rdb, data, 0o644)
	key := filepath.Join(dir, "k")
	// A fixed PKCS#8 Ed25519 key and its PKIX public key (openssl-compatible).
	os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB\n-----END PRIVATE KEY-----\n"), 0o600)
	os.WriteFile(key+".pub", []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAiojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=\n-----END PUBLIC KEY-----\n"), 0o644)
	att := filepath.Join(dir, "a.json")
	for _, tool := range []string{"rdbtool", "aoftool"} {
		_, stderr, code := run(t, tool, "attest", rdb, "--key", key, "-o", att)
		if code != 0 || !strings.HasPrefix(stderr, tool+": attested rdb ") || !strings.Contains(stderr, "digest "+fixtureDigest) {
			t.Fatalf("%s attest: exit %d: %s", tool, code, stderr)
		}
		stdout, stderr, code := run(t, tool, "validate", rdb, "--attestation", att, "--pub", key+".pub", "--expect-digest", fixtureDigest)
		if code != 0 || strings.Contains(stdout, "FAIL") || !strings.HasPrefix(stderr, tool+": backup valid: ") {
			t.Errorf("%s validate: exit %d\n%s%s", tool, code, stdout, stderr)
		}
	}
	// "-" is refused by both commands; --pub is required with --attestation.
	for _, args := range [][]string{
		{"attest", "-", "--key", key},
		{"validate", "-"},
		{"validate", rdb, "--attestation", att},
	} {
		if _, _, code := run(t, "rdbtool", args...); code != cli.ExitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, cli.ExitUsage)
		}
	}
	os.WriteFile(rdb, data[:len(data)-1], 0o644)
	if stdout, _, code := run(t, "aoftool", "validate", rdb, "--attestation", att, "--pub", key+".pub"); code != cli.ExitInvalid || !strings.Contains(stdout, "FAIL ") {
		t.Errorf("damaged: exit %d\n%s", code, stdout)
	}
}
