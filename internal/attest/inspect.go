package attest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/persistkit/persistkit/format/manifest"
	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/keyspace"
)

// DataError reports that a file's content is invalid (corrupt, truncated,
// checksum mismatch, missing AOF part); other errors from [Inspect] are
// operational (I/O).
type DataError struct {
	Path string
	Err  error
}

func (e *DataError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *DataError) Unwrap() error { return e.Err }

// Inspect reads path completely and describes it as a [Subject]. It is a
// full check too: RDB data (files, preambles and AOF bases) is decoded with
// deep validation (sanitize-dump-payload yes) and its CRC verified, AOF
// commands are replayed as Redis loads them, and a truncated AOF tail is an
// error (aof-load-truncated no: a backup must be complete). path is an RDB
// file, a single-file AOF (named *.aof*), or an AOF directory or manifest.
// opt may be nil.
func Inspect(ctx context.Context, path string, opt *InspectOptions) (*Subject, error) {
	if opt == nil {
		opt = &InspectOptions{}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() || strings.HasSuffix(path, ".manifest") {
		return inspectAOFDir(ctx, path, opt)
	}
	if isAOFName(filepath.Base(path)) {
		return inspectAOFFile(ctx, path, st.Size(), opt)
	}
	return inspectRDB(ctx, path)
}

// isAOFName tells a single-file AOF (which may start with an RDB preamble,
// so content cannot decide) from an RDB file by Redis' naming
// (appendonly.aof, appendonly.aof.1.incr.aof, ...).
func isAOFName(name string) bool {
	return strings.HasSuffix(name, ".aof") || strings.Contains(name, ".aof.")
}

func checkName(name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("attest: file name %q is not UTF-8", name)
	}
	return nil
}

func inspectRDB(ctx context.Context, path string) (*Subject, error) {
	sub := &Subject{Name: filepath.Base(path), Format: "rdb"}
	if err := checkName(sub.Name); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n := &countWriter{}
	br := bufio.NewReaderSize(io.TeeReader(f, io.MultiWriter(h, n)), 1<<20)
	if hdr, err := br.Peek(9); err == nil {
		sub.RDBVersion = rdbVersion(hdr)
	}
	// Streamed: the same facts as LoadRDB into a Store and describe, in
	// memory bounded by the largest value plus the duplicate-key test's
	// budget. The test reads keys back through f (pread, which leaves the
	// stream's position alone) when f is a regular file.
	opt := &keyspace.DigestRDBOptions{Deep: true, Workers: runtime.GOMAXPROCS(0)}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		opt.ReaderAt = f
	}
	res, err := keyspace.DigestRDB(ctx, br, opt)
	if err != nil {
		return nil, classify(path, err)
	}
	// Bytes after the checksum are hashed too: the hash covers the file.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, err
	}
	sub.Size = n.n
	sub.SHA256 = hex.EncodeToString(h.Sum(nil))
	describeDigest(sub, res)
	return sub, nil
}

func inspectAOFFile(ctx context.Context, path string, size int64, opt *InspectOptions) (*Subject, error) {
	sub := &Subject{Name: filepath.Base(path), Format: "aof"}
	if err := checkName(sub.Name); err != nil {
		return nil, err
	}
	if err := describeAOF(ctx, sub, path, size, opt); err != nil {
		return nil, err
	}
	var err error
	if sub.Size, sub.SHA256, sub.RDBVersion, err = hashFile(path); err != nil {
		return nil, err
	}
	return sub, nil
}

func inspectAOFDir(ctx context.Context, path string, opt *InspectOptions) (*Subject, error) {
	set, err := manifest.Locate(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, &DataError{Path: path, Err: err}
	}
	sub := &Subject{Name: filepath.Base(set.Dir), Format: "aof-dir"}
	if err := checkName(sub.Name); err != nil {
		return nil, err
	}
	total := int64(0)
	for _, e := range set.Load {
		total += max(e.Size, 0)
	}
	if err := describeAOF(ctx, sub, set.Dir, total, opt); err != nil {
		return nil, err
	}
	add := func(abs, role string) (int64, error) {
		rel, err := filepath.Rel(set.Dir, abs)
		if err != nil {
			return 0, err
		}
		rel = filepath.ToSlash(rel)
		if err := checkName(rel); err != nil {
			return 0, err
		}
		size, sum, ver, err := hashFile(abs)
		if err != nil {
			return 0, err
		}
		sub.Files = append(sub.Files, File{Name: rel, Role: role, Size: size, SHA256: sum})
		return ver, nil
	}
	if _, err := add(set.ManifestPath, "manifest"); err != nil {
		return nil, err
	}
	for i, e := range set.Load {
		ver, err := add(e.Path, e.Type.String())
		if err != nil {
			return nil, err
		}
		if i == 0 && ver != 0 {
			sub.RDBVersion = ver
		}
	}
	for i := range sub.Files {
		sub.Files[i].Role = roleName(sub.Files[i].Role)
	}
	return sub, nil
}

// roleName maps manifest type names to stable attestation roles.
func roleName(t string) string {
	switch t {
	case "b", "base":
		return "base"
	case "i", "incr":
		return "incr"
	case "h", "history":
		return "history"
	}
	return t
}

// replay loads an AOF strictly enough for a backup: a truncated tail fails.
func replay(ctx context.Context, path string) (*keyspace.Store, error) {
	s := keyspace.New(0)
	if _, err := keyspace.ReplayAOF(ctx, path, s, &keyspace.ReplayOptions{NoTruncated: true}); err != nil {
		return nil, classify(path, err)
	}
	s.NowMs = 0
	return s, nil
}

// classify keeps I/O errors as they are and marks everything else as bad
// data. A file listed in a manifest but missing is bad data: the backup is
// incomplete.
func classify(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && !errors.Is(err, keyspace.ErrMissingFile) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &DataError{Path: path, Err: err}
}

// hashFile returns size and SHA-256 of a file, and its RDB version when it
// starts with an RDB header.
func hashFile(path string) (size int64, sum string, ver int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	br := bufio.NewReader(f)
	if hdr, err := br.Peek(9); err == nil {
		ver = rdbVersion(hdr)
	}
	size, err = io.Copy(h, br)
	if err != nil {
		return 0, "", 0, err
	}
	return size, hex.EncodeToString(h.Sum(nil)), ver, nil
}

// rdbVersion parses "REDIS0011"; 0 when hdr is not an RDB header.
func rdbVersion(hdr []byte) int64 {
	if len(hdr) < 9 || string(hdr[:5]) != "REDIS" {
		return 0
	}
	v, err := strconv.ParseInt(string(hdr[5:9]), 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// describe fills the keyspace facts of sub from s.
func describe(sub *Subject, s *keyspace.Store) {
	storeFacts(s).describe(sub)
	setRedisVer(sub, s.Aux)
}

// facts are the keyspace facts of a Subject before they are put together:
// those of disjoint parts of a keyspace add up.
type facts struct {
	dbs           [keyspace.NumDBs]map[string]int64
	keys, expires int64
	digest        keyspace.DigestParts
}

// storeFacts counts s's keys, all live (NowMs 0), and digests them with
// the newest rules.
func storeFacts(s *keyspace.Store) *facts {
	f := &facts{digest: s.DigestParts(keyspace.DigestOptions{})}
	for i, db := range s.DBs {
		if db == nil || len(db.Keys) == 0 {
			continue
		}
		types := map[string]int64{}
		for _, o := range db.Keys {
			types[o.Kind.String()]++
			f.keys++
			if o.HasTTL() {
				f.expires++
			}
		}
		f.dbs[i] = types
	}
	return f
}

func (f *facts) add(g *facts) {
	for i, types := range g.dbs {
		if types == nil {
			continue
		}
		if f.dbs[i] == nil {
			f.dbs[i] = map[string]int64{}
		}
		for k, n := range types {
			f.dbs[i][k] += n
		}
	}
	f.keys += g.keys
	f.expires += g.expires
	f.digest.Add(&g.digest)
}

func (f *facts) describe(sub *Subject) {
	sub.DBs = map[string]map[string]int64{}
	for i, types := range f.dbs {
		if types != nil {
			sub.DBs[strconv.Itoa(i)] = types
		}
	}
	sub.Keys, sub.Expires = f.keys, f.expires
	d := f.digest.Sum()
	sub.Digest = hex.EncodeToString(d[:])
}

// describeDigest is describe for a keyspace digested while streaming:
// nothing is expired (NowMs 0), the newest digest rules.
func describeDigest(sub *Subject, res *keyspace.DigestResult) {
	sub.DBs = map[string]map[string]int64{}
	for i, st := range res.DBs {
		if st.Keys == 0 {
			continue
		}
		types := map[string]int64{}
		for k, n := range st.Kinds {
			if n > 0 {
				types[rdb.Kind(k).String()] = int64(n)
			}
		}
		sub.DBs[strconv.Itoa(i)] = types
		sub.Keys += int64(st.Keys)
		sub.Expires += int64(st.Expires)
	}
	setRedisVer(sub, res.Aux)
	sub.Digest = hex.EncodeToString(res.Digest[:])
}

// setRedisVer takes the last redis-ver AUX field that is valid UTF-8.
func setRedisVer(sub *Subject, aux []*rdb.Aux) {
	for _, a := range aux {
		if string(a.Key) == "redis-ver" && utf8.Valid(a.Value) {
			sub.RedisVer = string(a.Value)
		}
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
