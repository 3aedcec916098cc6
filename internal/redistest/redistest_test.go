package redistest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseDigestFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
		ok                  bool
	}{
		{"corpus", "DEBUG DIGEST 5553a093d39354212c6a84f8504c69c8ac1dc547\ndb0 k 00\n", "5553a093d39354212c6a84f8504c69c8ac1dc547", true},
		{"no-newline", "DEBUG DIGEST 0000000000000000000000000000000000000000", "0000000000000000000000000000000000000000", true},
		{"short", "DEBUG DIGEST abc\n", "", false},
		{"other", "db0 k 00\n", "", false},
		{"empty", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ParseDigestFile(p)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParseDigestFile = %q, %v; want %q, ok=%v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestCorpusDigestFile(t *testing.T) {
	if _, err := ParseDigestFile("../../fixtures/corpus/7.0.15-debian/types-small/digest.txt"); err != nil {
		t.Fatal(err)
	}
}
