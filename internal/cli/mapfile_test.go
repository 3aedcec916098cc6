//go:build unix

package cli

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMappingDoneBefore gives back the pages before an offset: the bytes
// still read the same (they fault back in from the page cache) and the
// mapping records how far it gave back, page-aligned and dropBehind short
// of the offset.
func TestMappingDoneBefore(t *testing.T) {
	defer func(b, e int) { dropBehind, dropEvery = b, e }(dropBehind, dropEvery)
	dropBehind, dropEvery = 4096, 64<<10
	want := make([]byte, 3<<20+123)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := MapPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	if !m.mapped {
		t.Fatal("a regular file was not mapped")
	}
	m.DoneBefore(10 << 10) // less than dropEvery past the start: nothing
	if m.dropped != 0 {
		t.Errorf("dropped %d after 10 KiB", m.dropped)
	}
	m.DoneBefore(2<<20 + 5)
	if page := os.Getpagesize(); m.dropped%page != 0 || m.dropped > 2<<20+5-dropBehind || m.dropped < 2<<20-dropBehind-page {
		t.Errorf("dropped up to %d after 2 MiB+5", m.dropped)
	}
	if !bytes.Equal(m.Data, want) {
		t.Error("the mapping reads other bytes after giving pages back")
	}
}

// TestWithMappedTruncated: a mapped file truncated by another program
// reads as an error naming it, not a crash.
func TestWithMappedTruncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := MapPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	var sum byte
	err = WithMapped(path, func() error {
		for _, b := range m.Data {
			sum += b
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("reading a truncated mapping: %v, want an error naming %s", err, path)
	}
}

// TestMapReader: input that cannot be mapped as it is (a pipe, here any
// reader) is spooled and mapped with the same bytes, and leaves no file;
// a regular file at its start maps with the same bytes too.
func TestMapReader(t *testing.T) {
	want := make([]byte, 3<<20+7)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	t.Setenv("TMPDIR", t.TempDir())
	m, err := MapReader(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Data, want) || !m.mapped {
		t.Errorf("spooled input: %d bytes, mapped %v", len(m.Data), m.mapped)
	}
	m.Release()
	if left, _ := os.ReadDir(os.Getenv("TMPDIR")); len(left) != 0 {
		t.Errorf("spool files left: %v", left)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m, err = MapReader(f); err != nil || !bytes.Equal(m.Data, want) {
		t.Fatalf("regular file: %v", err)
	}
	m.Release()
}
