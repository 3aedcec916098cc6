package keyspace

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/persistkit/persistkit/format/manifest"
	"github.com/persistkit/persistkit/format/resp"
)

// ErrTruncatedNotLast is wrapped when a file other than the last one of a
// multi-part AOF ends inside a record or an open MULTI; Redis refuses to
// load such an AOF ("the truncated file is not the last file").
var ErrTruncatedNotLast = errors.New("truncated file is not the last file")

// ErrMissingFile is wrapped when a file listed in the manifest is missing
// or unreadable.
var ErrMissingFile = errors.New("AOF file listed in the manifest is missing or unreadable")

// ReplayOptions configure [ReplayAOF]. The zero value (or nil) behaves like
// a Redis server loading with aof-load-truncated yes.
type ReplayOptions struct {
	// Strict makes every rejected command fatal. By default, like Redis,
	// commands that fail (wrong type, syntax, ...) are counted and skipped;
	// unknown and unsupported commands are always fatal.
	Strict bool
	// NoTruncated makes a truncated tail fatal (aof-load-truncated no).
	NoTruncated bool
	// Warn receives every skipped command error (a *CommandError).
	Warn func(error)
	// Progress, when set, is called now and then with the file being read
	// and the offset reached in it.
	Progress func(path string, offset int64)
	// Limits for the RESP reader; zero fields use resp.DefaultLimits.
	Limits resp.Limits
}

// ReplayFile describes one loaded file.
type ReplayFile struct {
	Path     string
	Preamble bool  // the file started with an RDB (preamble or RDB base)
	Commands int64 // records read, MULTI/EXEC/SELECT included
	Size     int64 // bytes read
}

// ReplayResult summarises a replay.
type ReplayResult struct {
	Files    []ReplayFile
	Commands int64 // records read over all files
	// Errors counts commands that failed and were skipped (non-strict).
	Errors int64
	// FirstError is the first skipped error, if any.
	FirstError error
	// Truncated reports an ignored tail in the last file: an incomplete
	// record or a MULTI without EXEC. TruncatedAt is where Redis would cut
	// the file (aof-load-truncated yes), in TruncatedFile.
	Truncated     bool
	TruncatedFile string
	TruncatedAt   int64
	// TruncateCause is the reader's error, or nil for an open MULTI.
	TruncateCause error
}

// ReplayAOF loads an AOF into s like Redis does at startup: path is a
// single AOF file (plain or with an RDB preamble), a manifest, or an
// appendonlydir. Files are loaded in manifest order (base, then INCR
// files); history files are ignored. An RDB preamble or base is loaded
// without dropping expired keys, then commands follow from the byte after
// its checksum. Keys are never expired during replay; set s.NowMs before
// digesting. Errors about commands are *CommandError with file and offset.
func ReplayAOF(ctx context.Context, path string, s *Store, opt *ReplayOptions) (*ReplayResult, error) {
	if opt == nil {
		opt = &ReplayOptions{}
	}
	files, err := locateAOF(path)
	if err != nil {
		return nil, err
	}
	presizeDB0(s, files)
	return replayFiles(ctx, files, s, opt)
}

// locateAOF finds the files to load for path, failing on missing ones.
func locateAOF(path string) ([]manifest.Entry, error) {
	set, err := manifest.Locate(path)
	if err != nil {
		return nil, fmt.Errorf("keyspace: %w", err)
	}
	for _, p := range set.Problems {
		if p.Kind == manifest.ProblemMissing || p.Kind == manifest.ProblemUnreadable {
			return nil, fmt.Errorf("keyspace: %s: %w: %v", p.Path, ErrMissingFile, p.Err)
		}
	}
	return set.Load, nil
}

// replayTarget receives what replayFile reads: a [Store] applies it, a
// router (partition.go) sends it to partition files. Both see the same
// commands, MULTI state and preambles, so truncation and errors are
// decided by one loop.
type replayTarget interface {
	// Apply runs or queues one command like [Store.Apply]. An error that
	// is not a *CommandError stops the replay.
	Apply(args [][]byte) error
	InMulti() bool
	DiscardMulti() bool
	// startFile resets the fake client for a new file: db 0, no MULTI.
	startFile()
	// loadPreamble reads an RDB preamble (or RDB base) from br, leaving
	// br right after its checksum.
	loadPreamble(ctx context.Context, br *bufio.Reader) error
}

func (s *Store) startFile() {
	s.CurDB = 0
	s.DiscardMulti()
}

func (s *Store) loadPreamble(ctx context.Context, br *bufio.Reader) error {
	return LoadRDB(ctx, br, s, &LoadOptions{})
}

// replayFiles feeds the files in load order to t.
func replayFiles(ctx context.Context, files []manifest.Entry, t replayTarget, opt *ReplayOptions) (*ReplayResult, error) {
	res := &ReplayResult{}
	for i, e := range files {
		last := i == len(files)-1
		if err := replayFile(ctx, e.Path, t, opt, res, last); err != nil {
			return res, err
		}
	}
	return res, nil
}

// An AOF spends at least this many bytes per key it leaves in the
// keyspace in practice (bench/gen-big.sh's mixed AOF: ~155); presizing the
// key map from the file sizes saves rehashing every key log2(n) times. An
// AOF of overwrites wastes at most ~30 B per hinted key (~12% of its size).
const (
	aofBytesPerKeyHint = 256
	maxPresizeKeys     = 1 << 24
)

// presizeDB0 gives an empty db 0 a key map sized for the files to load.
func presizeDB0(s *Store, files []manifest.Entry) {
	d := s.DBs[0]
	if d == nil || len(d.Keys) != 0 {
		return
	}
	var total int64
	for _, e := range files {
		total += max(e.Size, 0)
	}
	if hint := total / aofBytesPerKeyHint; hint > 1024 {
		d.Keys = make(map[string]*Object, min(hint, maxPresizeKeys))
	}
}

// countingReader counts bytes handed to the bufio.Reader above it, so the
// RDB decoder's consumption is known without a second buffer.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func replayFile(ctx context.Context, path string, s replayTarget, opt *ReplayOptions, res *ReplayResult, last bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("keyspace: %w", err)
	}
	defer f.Close()
	cr := &countingReader{r: f}
	br := bufio.NewReaderSize(cr, 256<<10)
	// Reuse: arguments alias the reader's buffer until the next command;
	// Apply copies whatever it keeps (values, queued MULTI commands).
	rr := resp.NewReader(br, &resp.ReaderOptions{Limits: opt.Limits, Reuse: true})
	fr := ReplayFile{Path: path}
	defer func() {
		fr.Size = rr.Offset()
		res.Files = append(res.Files, fr)
	}()

	// Each file is loaded by a fresh fake client: db 0, no transaction.
	s.startFile()
	multiAt := int64(-1)

	truncate := func(at int64, cause error) error {
		s.DiscardMulti()
		if !last {
			return fmt.Errorf("keyspace: %s: offset %d: %w", path, at, ErrTruncatedNotLast)
		}
		if opt.NoTruncated {
			if cause == nil {
				cause = errors.New("MULTI without EXEC at end of file")
			}
			return fmt.Errorf("keyspace: %s: %w", path, cause)
		}
		res.Truncated, res.TruncatedFile, res.TruncatedAt, res.TruncateCause = true, path, at, cause
		return nil
	}

	for n := 0; ; n++ {
		if n%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if opt.Progress != nil {
				opt.Progress(path, rr.Offset())
			}
		}
		cmd, err := rr.Next()
		switch {
		case err == io.EOF:
			if s.InMulti() {
				return truncate(multiAt, nil)
			}
			return nil
		case errors.Is(err, resp.ErrRDBPreamble):
			fr.Preamble = true
			if err := s.loadPreamble(ctx, br); err != nil {
				return fmt.Errorf("keyspace: %s: RDB preamble: %w", path, err)
			}
			rr.SetOffset(cr.n - int64(br.Buffered()))
			continue
		case errors.Is(err, resp.ErrTruncated):
			var fe *resp.FormatError
			at := rr.Offset()
			if errors.As(err, &fe) {
				at = fe.Offset
			}
			if s.InMulti() {
				at = multiAt
			}
			return truncate(at, err)
		case err != nil:
			return fmt.Errorf("keyspace: %s: %w", path, err)
		}
		fr.Commands++
		res.Commands++
		if len(cmd.Args) == 1 && eq(cmd.Args[0], "MULTI") && !s.InMulti() {
			multiAt = cmd.Offset
		}
		if err := s.Apply(cmd.Args); err != nil {
			var ce *CommandError
			if !errors.As(err, &ce) {
				return err
			}
			ce.File, ce.Offset = path, cmd.Offset
			if opt.Strict || errors.Is(err, ErrUnknownCommand) || errors.Is(err, ErrUnsupported) {
				s.DiscardMulti()
				return ce
			}
			res.Errors++
			if res.FirstError == nil {
				res.FirstError = ce
			}
			if opt.Warn != nil {
				opt.Warn(ce)
			}
		}
	}
}
