package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Errors returned by [Locate] besides *ParseError and *fs.PathError.
var (
	ErrNoManifest    = errors.New("no *.manifest file in the directory")
	ErrManyManifests = errors.New("more than one *.manifest file in the directory")
)

// Format is what a file starts with.
type Format int

const (
	FormatUnknown Format = iota // missing or unreadable
	FormatEmpty                 // size 0 (fine for an INCR file)
	FormatRDB                   // starts with "REDIS": RDB base or RDB-preamble AOF
	FormatRESP                  // anything else: commands
)

func (f Format) String() string {
	switch f {
	case FormatEmpty:
		return "empty"
	case FormatRDB:
		return "rdb"
	case FormatRESP:
		return "resp"
	}
	return "unknown"
}

// Entry is one file of a [Set].
type Entry struct {
	File          // as listed (a single-file AOF is a TypeBase with Seq 0)
	Path   string // absolute path
	Size   int64  // -1 when missing or unreadable
	Format Format // detected from the first bytes
}

// ProblemKind classifies a [Problem].
type ProblemKind int

const (
	ProblemMissing    ProblemKind = iota + 1 // a base/INCR file listed in the manifest does not exist
	ProblemUnreadable                        // a listed file cannot be opened or is not a regular file
	ProblemOrphan                            // a file in the directory that the manifest does not list
	ProblemTemp                              // a "temp-..." leftover of an interrupted rewrite
	ProblemNoData                            // the manifest lists neither a base nor an INCR file
)

func (k ProblemKind) String() string {
	switch k {
	case ProblemMissing:
		return "missing"
	case ProblemUnreadable:
		return "unreadable"
	case ProblemOrphan:
		return "orphan"
	case ProblemTemp:
		return "temp"
	case ProblemNoData:
		return "no-data"
	}
	return "unknown"
}

// Problem is something wrong with the files of a [Set]; Locate reports
// problems instead of failing so that a checker can list them all.
type Problem struct {
	Kind ProblemKind
	Path string // absolute path concerned
	Err  error  // underlying error, if any
}

func (p Problem) String() string {
	if p.Err != nil {
		return fmt.Sprintf("%s: %s: %v", p.Kind, p.Path, p.Err)
	}
	return fmt.Sprintf("%s: %s", p.Kind, p.Path)
}

// Set is the list of files that make up an AOF.
type Set struct {
	Dir          string    // absolute directory holding the AOF files
	ManifestPath string    // absolute manifest path; "" for a single-file AOF
	Manifest     *Manifest // nil for a single-file AOF
	Load         []Entry   // files to load in order: the base, then INCR files in manifest order
	History      []Entry   // history files (never loaded; may be missing)
	Problems     []Problem // in a stable order: listed files first, then the directory listing
}

// Locate resolves path, which is a single AOF file (plain or with an RDB
// preamble), a manifest file, or a directory (appendonlydir) holding exactly
// one non-temp *.manifest file. Files named in a manifest are resolved in
// the manifest's directory. A file is taken as a manifest when its name ends
// in ".manifest" or, as redis-check-aof decides, when its first line not
// starting with '#' starts with "file".
func Locate(path string) (*Set, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		mp, err := findManifest(abs)
		if err != nil {
			return nil, err
		}
		return locateManifest(mp)
	}
	if strings.HasSuffix(abs, ".manifest") {
		return locateManifest(abs)
	}
	isM, err := looksLikeManifest(abs)
	if err != nil {
		return nil, err
	}
	if isM {
		return locateManifest(abs)
	}
	s := &Set{Dir: filepath.Dir(abs)}
	e := Entry{File: File{Name: filepath.Base(abs), Type: TypeBase}, Path: abs}
	s.probe(&e, true)
	s.Load = []Entry{e}
	return s, nil
}

func findManifest(dir string) (string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var found []string
	for _, de := range des {
		n := de.Name()
		if strings.HasSuffix(n, ".manifest") && !strings.HasPrefix(n, "temp-") && de.Type().IsRegular() {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s: %w", dir, ErrNoManifest)
	case 1:
		return filepath.Join(dir, found[0]), nil
	}
	return "", fmt.Errorf("%s: %w: %s", dir, ErrManyManifests, strings.Join(found, ", "))
}

// looksLikeManifest is redis-check-aof's detection: the first line that
// does not start with '#' starts with "file" (an empty file is not one).
func looksLikeManifest(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	br := bufio.NewReader(io.LimitReader(f, DefaultMaxSize))
	for {
		line, err := fgets(br, maxLine)
		if err != nil {
			return false, err
		}
		if line == nil {
			return false, nil
		}
		if line[0] != '#' {
			return bytes.HasPrefix(line, []byte("file")), nil
		}
	}
}

func locateManifest(mp string) (*Set, error) {
	f, err := os.Open(mp)
	if err != nil {
		return nil, err
	}
	m, err := Parse(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mp, err)
	}
	s := &Set{Dir: filepath.Dir(mp), ManifestPath: mp, Manifest: m}
	listed := map[string]bool{filepath.Base(mp): true}
	add := func(fl File) Entry {
		listed[fl.Name] = true
		return Entry{File: fl, Path: filepath.Join(s.Dir, fl.Name)}
	}
	if b := m.Base(); b != nil {
		e := add(*b)
		s.probe(&e, true)
		s.Load = append(s.Load, e)
	}
	for _, fl := range m.Incrs() {
		e := add(fl)
		s.probe(&e, true)
		s.Load = append(s.Load, e)
	}
	for _, fl := range m.History() {
		e := add(fl)
		s.probe(&e, false)
		s.History = append(s.History, e)
	}
	if len(s.Load) == 0 {
		s.Problems = append(s.Problems, Problem{Kind: ProblemNoData, Path: mp})
	}
	des, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, err
	}
	for _, de := range des {
		n := de.Name()
		if listed[n] || de.IsDir() {
			continue
		}
		kind := ProblemOrphan
		if strings.HasPrefix(n, "temp-") {
			kind = ProblemTemp
		}
		s.Problems = append(s.Problems, Problem{Kind: kind, Path: filepath.Join(s.Dir, n)})
	}
	return s, nil
}

// probe fills Size and Format; for files that must be loaded, a missing or
// unreadable file is recorded as a problem.
func (s *Set) probe(e *Entry, required bool) {
	e.Size = -1
	f, err := os.Open(e.Path)
	if err != nil {
		if required {
			kind := ProblemUnreadable
			if errors.Is(err, os.ErrNotExist) {
				kind = ProblemMissing
			}
			s.Problems = append(s.Problems, Problem{Kind: kind, Path: e.Path, Err: err})
		}
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file (%s)", st.Mode().Type())
	}
	if err != nil {
		if required {
			s.Problems = append(s.Problems, Problem{Kind: ProblemUnreadable, Path: e.Path, Err: err})
		}
		return
	}
	e.Size = st.Size()
	var sig [5]byte
	n, _ := io.ReadFull(f, sig[:])
	switch {
	case e.Size == 0:
		e.Format = FormatEmpty
	case n == 5 && string(sig[:]) == "REDIS":
		e.Format = FormatRDB
	default:
		e.Format = FormatRESP
	}
}
