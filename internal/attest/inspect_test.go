package attest

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/keyspace"
)

// TestInspectRDBStreamed checks that the streamed description of an RDB
// file (DigestRDB) equals the one of the file loaded into a Store, on every
// RDB file of the corpus and the fixtures, damaged ones included.
func TestInspectRDBStreamed(t *testing.T) {
	var files []string
	for _, dir := range []string{"../../fixtures", "../../format/rdb/testdata", "../../keyspace/testdata"} {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".rdb") {
				files = append(files, path)
			}
			return nil
		})
	}
	if len(files) == 0 {
		t.Skip("no RDB fixtures")
	}
	for _, path := range files {
		got, gotErr := inspectRDB(context.Background(), path)
		want, wantErr := inspectRDBStore(path)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Errorf("%s: error %v, with a Store %v", path, gotErr, wantErr)
			continue
		}
		var de *DataError
		if gotErr != nil && errors.As(gotErr, &de) != errors.As(wantErr, &de) {
			t.Errorf("%s: error class differs: %T, with a Store %T", path, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", path, got, want)
		}
	}
}

// inspectRDBStore describes an RDB file the way inspectRDB did before it
// streamed: LoadRDB into a Store, then describe.
func inspectRDBStore(path string) (*Subject, error) {
	sub := &Subject{Name: filepath.Base(path), Format: "rdb"}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if sub.Size, sub.SHA256, sub.RDBVersion, err = hashFile(path); err != nil {
		return nil, err
	}
	s := keyspace.New(0)
	if err := keyspace.LoadRDB(context.Background(), bufio.NewReader(f), s, &keyspace.LoadOptions{Deep: true}); err != nil {
		return nil, classify(path, err)
	}
	describe(sub, s)
	return sub, nil
}
