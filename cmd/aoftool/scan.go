package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/persistkit/persistkit/format/manifest"
	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/format/resp"
	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

// aofSet is an AOF argument resolved to its files in load order.
type aofSet struct {
	arg    string
	set    *manifest.Set
	multi  bool   // manifest-driven (Redis 7 multi-part)
	argDir string // the directory of the files, as the user spelled it
}

// locate resolves an AOF argument: a file, a manifest or an appendonlydir.
// A manifest that Redis would refuse is invalid input.
func locate(path string) (*aofSet, error) {
	if path == "-" {
		// readsPipedInput spools standard input; a command without it
		// says so instead of "stat -: no such file".
		return nil, cli.Usagef("an AOF cannot be read from standard input here; pass a file, a manifest or an appendonlydir")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, err // the path as given, not made absolute
	}
	set, err := manifest.Locate(path)
	if err != nil {
		// Locate names files by absolute path; say it the way the user did.
		if abs, aerr := filepath.Abs(path); aerr == nil && abs != path {
			err = &relError{msg: strings.ReplaceAll(err.Error(), abs, path), err: err}
		}
		var pe *manifest.ParseError
		if errors.As(err, &pe) || errors.Is(err, manifest.ErrNoManifest) || errors.Is(err, manifest.ErrManyManifests) {
			return nil, cli.Invalid(err)
		}
		return nil, err
	}
	if name := shownPath(path); name != path && set.Manifest != nil {
		return nil, cli.Usagef("%s holds a manifest, which names files beside it: pass the manifest's path or its appendonlydir", pipeName(name))
	}
	a := &aofSet{arg: shownPath(path), set: set, multi: set.Manifest != nil, argDir: filepath.Dir(path)}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		a.argDir = path
	}
	return a, nil
}

// shown turns an absolute path of the set into one relative to the
// argument as the user gave it, so output does not depend on the working
// directory. All files of a set live in one directory.
func (a *aofSet) shown(abs string) string {
	if !a.multi {
		return a.arg
	}
	return filepath.Join(a.argDir, filepath.Base(abs))
}

// relError rewords an error and keeps its chain for errors.Is/As.
type relError struct {
	msg string
	err error
}

func (e *relError) Error() string { return e.msg }
func (e *relError) Unwrap() error { return e.err }

// display is the name redis-check-aof prints for a file: the manifest's
// name in a multi-part AOF, the argument as given for a single file.
func (a *aofSet) display(e *manifest.Entry) string {
	if a.multi {
		return e.Name
	}
	return a.arg
}

// rdbPart is what checking an RDB base or preamble found.
type rdbPart struct {
	Version  int
	Keys     int64
	Expires  int64
	End      int64  // offset just past the checksum (where RESP may follow)
	Checksum string // ok, disabled, none
	Lines    []string
	Err      error  // the decoder's error; nil when the RDB part is sound
	ErrText  string // Err without the offset prefix
	ErrAt    int64
	ErrKey   []byte
}

// fileCheck is the verdict on one file of the load order.
type fileCheck struct {
	Name   string // as displayed
	Path   string // absolute path
	Role   string // base, incr or aof (single file)
	Size   int64
	Format string // rdb, resp, empty, missing
	Last   bool   // last file of the load order: the only one --fix may cut

	RDB  *rdbPart
	RESP *resp.CheckResult // nil when empty, missing or the RDB part failed

	// Context of the damage, filled only for an invalid RESP part.
	LastCmd      string // name of the last complete command before OkUpTo
	LastCmdAt    int64
	LastCmdIndex int64  // 1-based among the file's commands
	BadCmd       string // name of the record at OkUpTo when it parses (e.g. MULTI)
}

// valid reports whether the file needs no repair.
func (f *fileCheck) valid() bool {
	if f.Format == "missing" || (f.RDB != nil && f.RDB.Err != nil) {
		return false
	}
	return f.RESP == nil || f.RESP.Valid()
}

// scanOptions tune a check run.
type scanOptions struct {
	legacy      bool  // Redis <= 6.2 scanner rules
	truncateTS  int64 // --truncate-to-timestamp, 0 if unset
	progress    cli.Progress
	stopOnError bool // stop at the first damaged file, like redis-check-aof
}

// checkRun is the whole verdict.
type checkRun struct {
	aof      *aofSet
	Files    []*fileCheck
	Problems []manifest.Problem // from the directory and manifest
	Invalid  []string           // manifest/directory problems that make the AOF unloadable
	Warnings []string           // harmless leftovers (unlisted or temp files)
	Skipped  int                // files not checked after a damaged one
}

// firstBad returns the first damaged file, or nil.
func (r *checkRun) firstBad() *fileCheck {
	for _, f := range r.Files {
		if !f.valid() {
			return f
		}
	}
	return nil
}

func (r *checkRun) ok() bool { return r.firstBad() == nil && len(r.Invalid) == 0 }

// scanAOF checks every file of a in load order.
func scanAOF(ctx context.Context, a *aofSet, opt scanOptions) (*checkRun, error) {
	run := &checkRun{aof: a}
	for _, p := range a.set.Problems {
		run.Problems = append(run.Problems, p)
		switch p.Kind {
		case manifest.ProblemMissing, manifest.ProblemUnreadable:
			msg := fmt.Sprintf("%s: %s", filepath.Base(p.Path), problemText(p.Kind))
			if p.Err != nil {
				msg += ": " + p.Err.Error()
			}
			run.Invalid = append(run.Invalid, msg)
		default:
			run.Warnings = append(run.Warnings, fmt.Sprintf("%s: %s", filepath.Base(p.Path), problemText(p.Kind)))
		}
	}
	if a.set.Manifest != nil {
		if err := a.set.Manifest.Validate(); err != nil {
			run.Invalid = append(run.Invalid, err.Error())
		}
	}
	var total int64
	for _, e := range a.set.Load {
		total += max(e.Size, 0)
	}
	done := int64(0)
	line := int64(1)
	for i := range a.set.Load {
		e := &a.set.Load[i]
		fc := &fileCheck{Name: a.display(e), Path: a.shown(e.Path), Size: e.Size, Last: i == len(a.set.Load)-1}
		switch {
		case !a.multi:
			fc.Role = "aof"
		case e.Type == manifest.TypeBase:
			fc.Role = "base"
		default:
			fc.Role = "incr"
		}
		run.Files = append(run.Files, fc)
		if opt.stopOnError && i > 0 && !run.Files[i-1].valid() {
			run.Files = run.Files[:i]
			run.Skipped = len(a.set.Load) - i
			break
		}
		if e.Size < 0 {
			fc.Format = "missing"
			continue
		}
		if e.Size == 0 {
			fc.Format = "empty"
			continue
		}
		if err := checkFile(ctx, fc, e, &line, opt, done, total); err != nil {
			return nil, err
		}
		done += e.Size
	}
	return run, nil
}

// progressReader reports progress and notices Ctrl-C at every read.
type progressReader struct {
	ctx         context.Context
	r           io.Reader
	p           cli.Progress
	base, total int64
	n           int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.p != nil {
		p.p.Update(p.base+p.n, p.total)
	}
	return n, err
}

func checkFile(ctx context.Context, fc *fileCheck, e *manifest.Entry, line *int64, opt scanOptions, base, total int64) error {
	f, err := os.Open(e.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	pr := &progressReader{ctx: ctx, r: f, p: opt.progress, base: base, total: total}
	br := bufio.NewReaderSize(pr, 256<<10)
	start := int64(0)
	if p, _ := br.Peek(5); string(p) == "REDIS" && e.Size >= 8 {
		fc.Format = "rdb"
		fc.RDB = checkRDBPart(ctx, br, fc.Name)
		if err := ctx.Err(); err != nil {
			return err
		}
		if fc.RDB.Err != nil {
			return nil // the tail cannot be located: redis-check-aof aborts here
		}
		start = pr.n - int64(br.Buffered())
		fc.RDB.End = start
	} else {
		fc.Format = "resp"
	}
	res, err := resp.Check(br, &resp.CheckOptions{
		StartOffset: start, StartLine: *line, Name: fc.Name, Legacy: opt.legacy, TruncateToTimestamp: opt.truncateTS,
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("%s: %w", fc.Name, err)
	}
	*line = res.OkUpToLine
	fc.RESP = res
	if fc.Format == "rdb" && res.Size > start {
		fc.Format = "rdb+resp" // an RDB preamble with a RESP tail
	}
	if res.Diff > 0 {
		damageContext(fc, start)
	}
	return nil
}

// damageContext re-reads the RESP part up to the damage to name the last
// good command and the record at ok_up_to (an open MULTI, say).
func damageContext(fc *fileCheck, start int64) {
	f, err := os.Open(fc.Path)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return
	}
	rr := resp.NewReader(f, &resp.ReaderOptions{Reuse: true, StartOffset: start})
	rr.SetOffset(start) // never treat the tail as a preamble
	stop := fc.RESP.OkUpTo
	n := int64(0)
	for {
		cmd, err := rr.Next()
		if err != nil {
			return
		}
		if cmd.Offset >= stop {
			if cmd.Offset == stop && len(cmd.Args) > 0 {
				fc.BadCmd = string(cmd.Args[0])
			}
			return
		}
		n++
		if len(cmd.Args) > 0 {
			fc.LastCmd, fc.LastCmdAt, fc.LastCmdIndex = string(cmd.Args[0]), cmd.Offset, n
		}
	}
}

// checkRDBPart decodes an RDB base or preamble from br completely (values
// included, deep checks, CRC) and leaves br right after the checksum.
func checkRDBPart(ctx context.Context, br *bufio.Reader, name string) *rdbPart {
	rp := &rdbPart{Lines: []string{fmt.Sprintf("[offset 0] Checking RDB file %s", cli.Printable(name))}}
	dec := rdb.NewDecoder(br, &rdb.DecodeOptions{Deep: true})
	fail := func(err error) *rdbPart {
		rp.Err, rp.ErrAt, rp.ErrText = err, dec.Offset(), err.Error()
		var fe *rdb.FormatError
		if errors.As(err, &fe) {
			rp.ErrAt, rp.ErrText = fe.Offset, fe.Err.Error()
			if fe.Context != "" {
				rp.ErrText = fe.Context + ": " + rp.ErrText
			}
			if fe.Key != nil {
				rp.ErrKey = fe.Key
			}
		}
		return rp
	}
	v, err := dec.Version()
	if err != nil {
		return fail(err)
	}
	rp.Version = v
	// A key twice in the part makes the server refuse the AOF, as rdbtool
	// check reports for an RDB; the key set bounds the memory.
	set := keyspace.NewKeySet(&keyspace.KeySetOptions{Duplicate: duplicateKeyError, MemoryBudget: preambleKeySetBudget})
	defer set.Close()
	dupTest := true
	// dupFound says whether an error of the key set is a duplicate; any
	// other (its spill file could not be written) ends the test, with a
	// line saying so, rather than pass for damage. The set's errors are
	// sticky: after that, every call returns the same one, ignored here.
	dupFound := func(err error) bool {
		if err == nil || !dupTest {
			return false
		}
		if errors.Is(err, keyspace.ErrDuplicate) {
			return true
		}
		dupTest = false
		rp.Lines = append(rp.Lines, fmt.Sprintf("[warning] duplicate keys not looked for past offset %d: %v", dec.Offset(), err))
		return false
	}
	// The set tests keys in batches: a duplicate before the damage is
	// the first problem.
	damaged := func(err error) *rdbPart {
		if derr := set.Flush(); dupFound(derr) {
			err, rp.ErrKey = derr, nil
		}
		return fail(err)
	}
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return fail(ctx.Err())
		}
		rec, err := dec.Next()
		if err == io.EOF {
			if err := set.Finish(); dupFound(err) {
				return fail(err)
			}
			break
		}
		if err != nil {
			return damaged(err)
		}
		off := dec.Offset()
		switch rec := rec.(type) {
		case *rdb.Aux:
			rp.Lines = append(rp.Lines, fmt.Sprintf("[offset %d] AUX FIELD %s = '%s'", off, cli.PrintableBytes(rec.Key), cli.PrintableBytes(rec.Value)))
		case *rdb.SelectDB:
			rp.Lines = append(rp.Lines, fmt.Sprintf("[offset %d] Selecting DB ID %d", off, rec.DB))
		case *rdb.Entry:
			rp.Keys++
			if rec.ExpireAtMs != rdb.NoExpire {
				rp.Expires++
			}
			if _, err := dec.Value(); err != nil {
				if rp.ErrKey == nil {
					rp.ErrKey = rec.Key
				}
				return damaged(err)
			}
			if err := set.Add(rec.DB, rec.Key, rec.Offset); dupFound(err) {
				return fail(err)
			}
		}
	}
	stored, _ := dec.Checksum()
	rp.Checksum = cli.ChecksumStatus(rp.Version, stored)
	return rp
}

// preambleKeySetBudget is the memory budget of the duplicate-key test of
// an RDB part (0: keyspace's default; a variable for tests).
var preambleKeySetBudget = 0

// duplicateKeyError is the key set's Duplicate callback: the error about
// the later occurrence, which stops the set.
func duplicateKeyError(d *keyspace.Duplicate) error {
	ctx := "key"
	if d.Key == nil {
		ctx = fmt.Sprintf("key with the 64-bit hash of the key at offset %d", d.First)
	}
	return &rdb.FormatError{Offset: d.Offset, Key: bytes.Clone(d.Key), Context: ctx,
		Err: fmt.Errorf("%w: %w key (first at offset %d)", rdb.ErrCorrupt, keyspace.ErrDuplicate, d.First)}
}

// problemText words a directory problem for people.
func problemText(k manifest.ProblemKind) string {
	switch k {
	case manifest.ProblemMissing:
		return "listed in the manifest but missing"
	case manifest.ProblemUnreadable:
		return "listed in the manifest but unreadable"
	case manifest.ProblemOrphan:
		return "not listed in the manifest (ignored)"
	case manifest.ProblemTemp:
		return "leftover of an interrupted rewrite (ignored)"
	case manifest.ProblemNoData:
		return "the manifest lists no base and no INCR file"
	}
	return k.String()
}
