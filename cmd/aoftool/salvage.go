package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/format/resp"
	"github.com/persistkit/persistkit/internal/cli"
)

// salvaged is the repair of one damaged file: what it keeps of the
// original, in order, after the RDB part re-encoded when that was damaged.
// The repaired file is written from the original's mapped bytes (writeTo),
// never held in memory.
type salvaged struct {
	file     *fileCheck
	keep     [][2]int64 // byte ranges [start, end) of the original kept
	size     int64      // bytes of the repaired file
	kept     int64      // commands kept
	keys     int64      // RDB keys kept (re-encoded)
	dropped  [][2]int64 // byte ranges [start, end) of the original left out
	rdbFixed bool       // the RDB part was rewritten
	rdbSize  int64      // ... into this many bytes
	// done says the salvage is past an offset of the original for good
	// (its mapped pages may go), rewind that a new pass over it starts;
	// nil: nothing to say.
	done   func(int64)
	rewind func()
}

// keepRange keeps data[a:b].
func (s *salvaged) keepRange(a, b int64) {
	if a >= b {
		return
	}
	s.size += b - a
	if n := len(s.keep); n > 0 && s.keep[n-1][1] == a {
		s.keep[n-1][1] = b
		return
	}
	s.keep = append(s.keep, [2]int64{a, b})
}

func (s *salvaged) past(off int64) {
	if s.done != nil {
		s.done(off)
	}
}

// writeTo writes the repaired file: the RDB part re-encoded again (the
// same bytes as when sizing it), then the kept ranges of data.
func (s *salvaged) writeTo(ctx context.Context, w io.Writer, data []byte) error {
	if s.rewind != nil {
		s.rewind()
	}
	if s.rdbFixed {
		cw := &countingWriter{w: w}
		if _, _, err := salvageRDB(ctx, data, cw, &salvaged{done: s.done}); err != nil {
			return err
		}
		if cw.n != s.rdbSize {
			return fmt.Errorf("internal error: the RDB part re-encoded to %d bytes, then to %d", s.rdbSize, cw.n)
		}
	}
	const chunk = 8 << 20 // written between progress calls, for the mapping
	for _, r := range s.keep {
		for a := r[0]; a < r[1]; a += chunk {
			b := min(a+chunk, r[1])
			if _, err := w.Write(data[a:b]); err != nil {
				return err
			}
			s.past(b)
		}
	}
	return nil
}

// countingWriter counts what goes through it to w (nil: discards it).
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.w == nil {
		return len(p), nil
	}
	return c.w.Write(p)
}

// runSalvage repairs every damaged file: complete commands are kept, each
// damaged range is skipped up to the next valid command start, and an RDB
// part keeps the keys decodable before its damage. Salvage needs random
// access, so each damaged file is mapped (read into memory where mapping
// is not available); the repaired file is written from the mapping.
func runSalvage(ctx context.Context, o *checkOptions, run *checkRun) error {
	var todo []*salvaged
	var maps []*cli.Mapping
	defer func() {
		for _, m := range maps {
			m.Release()
		}
	}()
	for _, f := range run.Files {
		if f.valid() {
			continue
		}
		if f.Format == "missing" {
			return cli.Invalid(fmt.Errorf("%s is missing; nothing to salvage", f.Name))
		}
		m, err := cli.MapPath(f.Path)
		if err != nil {
			return err
		}
		maps = append(maps, m)
		var s *salvaged
		err = cli.WithMapped(f.Path, func() (err error) {
			s, err = salvageFile(ctx, f, m.Data, m.DoneBefore)
			return err
		})
		if err != nil {
			return err
		}
		s.rewind = m.Rewind
		todo = append(todo, s)
	}
	w := bufio.NewWriter(o.env.Out)
	defer w.Flush()
	if len(todo) == 0 {
		if !o.g.JSON && !o.g.Quiet {
			fmt.Fprintln(w, "Nothing to fix")
		}
		if o.g.JSON {
			w.Write(fixJSON(run, nil, 0, "nothing_to_fix", ""))
		}
		return nil
	}
	if !o.g.JSON {
		for _, s := range todo {
			fmt.Fprintf(w, "Salvage of %s: %d bytes -> %d bytes, %d commands kept", cli.Printable(s.file.Name), s.file.Size, s.size, s.kept)
			if s.rdbFixed {
				fmt.Fprintf(w, ", %d RDB keys re-encoded", s.keys)
			}
			fmt.Fprintln(w)
			for _, d := range s.dropped {
				fmt.Fprintf(w, "[detail] dropping bytes %d-%d (%d bytes)\n", d[0], d[1], d[1]-d[0])
			}
		}
		w.Flush()
	}
	ok, err := confirm(o, true)
	if err != nil {
		return err
	}
	if !ok {
		return cli.Invalid(errors.New("Aborting...: nothing was changed"))
	}
	var baks []string
	for i, s := range todo {
		bak, err := replaceFile(s.file.Path, !o.noBackup, func(w io.Writer, _ *os.File) error {
			return cli.WithMapped(s.file.Path, func() error { return s.writeTo(ctx, w, maps[i].Data) })
		})
		if err != nil {
			return err
		}
		baks = append(baks, bak)
	}
	if o.g.JSON {
		b := []byte(`{"path":`)
		b = cli.AppendString(b, o.path)
		b = append(b, `,"action":"salvaged","files":[`...)
		for i, s := range todo {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"file":`...)
			b = cli.AppendString(b, s.file.Path)
			b = append(b, `,"new_size":`...)
			b = strconv.AppendInt(b, s.size, 10)
			b = append(b, `,"commands_kept":`...)
			b = strconv.AppendInt(b, s.kept, 10)
			b = append(b, `,"rdb_keys_kept":`...)
			b = strconv.AppendInt(b, s.keys, 10)
			b = append(b, `,"dropped":[`...)
			for j, d := range s.dropped {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, '[')
				b = strconv.AppendInt(b, d[0], 10)
				b = append(b, ',')
				b = strconv.AppendInt(b, d[1], 10)
				b = append(b, ']')
			}
			b = append(b, ']')
			if baks[i] != "" {
				b = append(b, `,"backup":`...)
				b = cli.AppendString(b, baks[i])
			}
			b = append(b, '}')
		}
		b = append(b, "]}\n"...)
		w.Write(b)
		return nil
	}
	for i, s := range todo {
		fmt.Fprintf(w, "Successfully salvaged AOF %s\n", cli.Printable(s.file.Name))
		if baks[i] != "" && !o.g.Quiet {
			fmt.Fprintf(w, "[detail] original kept as %s\n", cli.Printable(baks[i]))
		}
	}
	return nil
}

func (s *salvaged) drop(a, b int64) {
	if a >= b {
		return
	}
	if n := len(s.dropped); n > 0 && s.dropped[n-1][1] == a {
		s.dropped[n-1][1] = b
		return
	}
	s.dropped = append(s.dropped, [2]int64{a, b})
}

// salvageFile plans the repair of a damaged file; done, if not nil, is
// told how far the plan has read data for good.
func salvageFile(ctx context.Context, f *fileCheck, data []byte, done func(int64)) (*salvaged, error) {
	s := &salvaged{file: f, done: done}
	start := int64(0)
	if f.RDB != nil {
		if f.RDB.Err == nil {
			start = f.RDB.End
			s.keepRange(0, start)
		} else {
			// Sized now, re-encoded again when the file is written.
			cw := &countingWriter{}
			end, resume, err := salvageRDB(ctx, data, cw, s)
			if err != nil {
				return nil, err
			}
			s.rdbFixed, s.rdbSize = true, cw.n
			s.size += cw.n
			s.drop(end, resume)
			start = resume
		}
	}
	salvageRESP(data, start, s)
	return s, nil
}

// salvageRDB re-encodes the records of a damaged RDB part that decode
// completely, then looks for the RESP tail after the damage. It returns the
// end of the last good record and where RESP resumes.
func salvageRDB(ctx context.Context, data []byte, out io.Writer, s *salvaged) (good, resume int64, err error) {
	dec := rdb.NewDecoder(bytes.NewReader(data), &rdb.DecodeOptions{Deep: true})
	ver, verr := dec.Version()
	if verr != nil {
		// Not even a header: nothing of the RDB part can be kept.
		return 0, resync(data, 1), nil
	}
	flav, _ := dec.Flavour()
	// Not lossy: a record the part's own version cannot hold is damage,
	// where keeping stops, not a key to drop quietly and count as kept.
	enc := rdb.NewEncoder(out, &rdb.EncodeOptions{Version: max(ver, 6), Flavour: flav, KeepEncoding: true})
	kept := newKeyHashes()
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if ctx.Err() != nil {
				return 0, 0, ctx.Err()
			}
			s.past(dec.Offset() - 1<<20) // the decoder reads ahead of its offset
		}
		rec, err := dec.Next()
		if err == io.EOF {
			break // cannot happen for a damaged part, but harmless
		}
		if err != nil {
			break
		}
		if e, ok := rec.(*rdb.Entry); ok {
			v, err := dec.Value()
			if err != nil {
				break
			}
			// A zeroed or erased run decodes as records, and a key kept
			// twice makes the server refuse the file: both are damage,
			// where keeping stops.
			if rdb.InsideRun(data, e.Offset, dec.Offset()) || kept.dup(e.DB, e.Key) {
				break
			}
			if err := enc.WriteEntry(e, v); errors.Is(err, rdb.ErrUnsupported) {
				break
			} else if err != nil {
				return 0, 0, fmt.Errorf("re-encoding key %q: %w", e.Key, err)
			}
			s.keys++
		} else if _, ok := rec.(*rdb.SelectDB); !ok {
			if err := enc.Write(rec); errors.Is(err, rdb.ErrUnsupported) {
				break
			} else if err != nil {
				return 0, 0, err
			}
		}
		good = dec.Offset()
	}
	if err := enc.Close(); err != nil {
		return 0, 0, err
	}
	return good, resync(data, good), nil
}

// keyHashes remembers the keys an RDB part's salvage keeps, as 64-bit
// hashes by db, to stop at a duplicate. Past maxKeyHashes keys (32 MiB or
// so of map) it stops remembering: a duplicate made by damage follows the
// junk that made it, near the start of the damage, and the salvage stops
// at the first damage anyway.
type keyHashes struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

const maxKeyHashes = 1 << 20

func newKeyHashes() *keyHashes { return &keyHashes{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}} }

// dup records key in db and says whether it was there already.
func (k *keyHashes) dup(db uint64, key []byte) bool {
	var h maphash.Hash
	h.SetSeed(k.seed)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], db)
	h.Write(b[:])
	h.Write(key)
	sum := h.Sum64()
	if _, ok := k.m[sum]; ok {
		return true
	}
	if len(k.m) < maxKeyHashes {
		k.m[sum] = struct{}{}
	}
	return false
}

// salvageRESP keeps every complete command of data[start:] outside damaged
// ranges, dropping transactions that are cut by damage or never closed.
func salvageRESP(data []byte, start int64, s *salvaged) {
	pos := start
	size := int64(len(data))
	tx := int64(-1) // offset of an open MULTI
	var txCmds int64
	mark := start // everything before mark is kept or dropped already
	nKept := 0
	keep := func(a, b int64) {
		s.keepRange(a, b)
		mark = b
		if nKept++; nKept%4096 == 0 {
			s.past(mark - 1<<20) // the reader reads ahead of mark
		}
	}
	drop := func(a, b int64) { s.drop(a, b); mark = max(mark, b) }
	for pos < size {
		rr := resp.NewReader(bytes.NewReader(data[pos:]), &resp.ReaderOptions{Reuse: true, StartOffset: pos})
		rr.SetOffset(pos)
		for {
			cmd, err := rr.Next()
			if err == io.EOF {
				if tx >= 0 {
					drop(tx, size)
				} else {
					drop(mark, size) // annotations after the last command
				}
				return
			}
			if err != nil {
				bad := rr.Offset()
				var fe *resp.FormatError
				if errors.As(err, &fe) {
					bad = fe.Record
				}
				from := min(bad, mark)
				if tx >= 0 {
					from, tx = tx, -1
				}
				next := resync(data, bad+1)
				drop(from, next)
				pos = next
				break
			}
			// redis-check-aof compares the name as a C string: up to a NUL.
			name := cmd.Args[0]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			switch {
			case bytes.EqualFold(name, []byte("multi")):
				if tx >= 0 {
					drop(tx, cmd.Offset) // nested MULTI: the first one never closed
				}
				tx, txCmds = cmd.Offset, 1
			case bytes.EqualFold(name, []byte("exec")):
				if tx < 0 {
					drop(cmd.Offset, cmd.End) // EXEC without MULTI
					continue
				}
				keep(tx, cmd.End)
				s.kept += txCmds + 1
				tx = -1
			case tx >= 0:
				txCmds++
			default:
				if longLine(data[cmd.Offset:cmd.RecordOffset]) {
					// redis-check-aof reads annotations with fgets(1024):
					// a longer one would read as a broken record.
					drop(cmd.Offset, cmd.RecordOffset)
				}
				keep(mark, cmd.End)
				s.kept++
			}
		}
	}
	if tx >= 0 {
		drop(tx, size)
	}
}

// longLine reports whether an annotation block has a line that
// redis-check-aof's fgets(1024) would split.
func longLine(b []byte) bool {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b) - 1
		}
		if i+1 > 1023 {
			return true
		}
		b = b[i+1:]
	}
	return false
}

// resync returns the first offset >= from where a complete, well-formed
// command starts ("*<n>\r\n$..."), or len(data).
func resync(data []byte, from int64) int64 {
	for i := from; i < int64(len(data)); {
		j := bytes.IndexByte(data[i:], '*')
		if j < 0 {
			break
		}
		c := i + int64(j)
		if commandAt(data, c) {
			return c
		}
		i = c + 1
	}
	return int64(len(data))
}

// commandAt reports whether data[off:] starts with a whole RESP command of
// bulk strings with at least one argument.
func commandAt(data []byte, off int64) bool {
	p := data[off:]
	num := func(prefix byte) (int64, bool) {
		if len(p) == 0 || p[0] != prefix {
			return 0, false
		}
		i, n := 1, int64(0)
		for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
			n = n*10 + int64(p[i]-'0')
			if n > 1<<40 {
				return 0, false
			}
		}
		if i == 1 || i+1 >= len(p) || p[i] != '\r' || p[i+1] != '\n' {
			return 0, false
		}
		p = p[i+2:]
		return n, true
	}
	argc, ok := num('*')
	if !ok || argc < 1 {
		return false
	}
	for k := int64(0); k < argc; k++ {
		l, ok := num('$')
		if !ok || l+2 > int64(len(p)) || p[l] != '\r' || p[l+1] != '\n' {
			return false
		}
		p = p[l+2:]
	}
	return true
}
