package resp

import (
	"bytes"
	"encoding/binary"
	"hash/crc64"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const corpusDir = "../../fixtures/corpus"

// corpusAOFs lists every AOF file (single-file AOFs, BASE and INCR files)
// in the corpus outside the corrupt/ directories.
func corpusAOFs(t testing.TB) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "corrupt" {
			return filepath.SkipDir
		}
		name := d.Name()
		if !d.IsDir() && (strings.HasSuffix(name, ".aof") || strings.HasSuffix(name, ".base.rdb")) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 40 {
		t.Fatalf("found only %d AOF files under %s", len(out), corpusDir)
	}
	return out
}

var jonesTable = crc64.MakeTable(0x95AC9329AC4BC9B5)

// rdbEnd returns the length of the RDB preamble at the start of data: the
// position after the first 0xFF (EOF opcode) whose following 8 bytes are the
// Redis CRC-64 of everything up to and including it. Tests cannot import
// format/rdb; the real composition lives in keyspace. It returns -1 if none
// is found.
func rdbEnd(data []byte) int {
	crc := uint64(0)
	prev := 0
	for i := 0; i+9 <= len(data); i++ {
		if data[i] != 0xFF {
			continue
		}
		crc = ^crc64.Update(^crc, jonesTable, data[prev:i+1])
		prev = i + 1
		if binary.LittleEndian.Uint64(data[i+1:i+9]) == crc {
			return i + 9
		}
	}
	return -1
}

var headerRE = regexp.MustCompile(`(?m)^\*[0-9]+\r$`)

func TestReaderCorpus(t *testing.T) {
	for _, path := range corpusAOFs(t) {
		t.Run(strings.TrimPrefix(path, corpusDir+"/"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			br := newBufio(data)
			r := NewReader(br, nil)
			start := 0
			cmd, err := r.Next()
			if err == ErrRDBPreamble {
				start = rdbEnd(data)
				if start < 0 {
					t.Fatal("RDB preamble end not found")
				}
				br.Discard(start)
				r.SetOffset(int64(start))
				cmd, err = r.Next()
			}
			n, anns := 0, 0
			last := int64(start)
			for ; err == nil; cmd, err = r.Next() {
				n++
				if cmd.Offset != last {
					t.Fatalf("command %d at offset %d, want %d", n, cmd.Offset, last)
				}
				if cmd.Annotation != "" {
					anns++
					if !strings.HasPrefix(cmd.Annotation, "TS:") {
						t.Errorf("annotation %q", cmd.Annotation)
					}
				}
				last = cmd.End
				if len(cmd.Args) == 0 {
					t.Fatal("empty command")
				}
			}
			if err.Error() != "EOF" {
				t.Fatalf("after %d commands: %v", n, err)
			}
			if r.Offset() != int64(len(data)) {
				t.Fatalf("stopped at %d of %d", r.Offset(), len(data))
			}
			if want := len(headerRE.FindAll(data[start:], -1)); n != want {
				t.Errorf("read %d commands, naive count %d", n, want)
			}
			timestamps := bytes.Count(data[start:], []byte("\n#TS:"))
			if bytes.HasPrefix(data[start:], []byte("#TS:")) {
				timestamps++
			}
			if timestamps != anns && !bytes.Contains(data, []byte("#TS:\r\n#TS:")) {
				t.Errorf("%d annotations, file has %d", anns, timestamps)
			}
			if strings.Contains(path, "aof-timestamp") && strings.HasSuffix(path, ".aof") && anns == 0 {
				t.Errorf("no annotations in a timestamp AOF")
			}
			res, err := Check(bytes.NewReader(data[start:]), &CheckOptions{StartOffset: int64(start), Legacy: strings.Contains(path, "6.2.")})
			if err != nil || !res.Valid() || res.Commands != int64(n) || res.Size != int64(len(data)) {
				t.Errorf("Check: %+v, %v (reader: %d commands)", res, err, n)
			}
			if anns > 0 && (!res.HasTimestamp || res.Annotations != int64(anns)) {
				t.Errorf("Check saw %d annotations (last ts %d)", res.Annotations, res.LastTimestamp)
			}
			t.Logf("%d commands, %d annotations", n, anns)
		})
	}
}
