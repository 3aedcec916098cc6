package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/persistkit/persistkit/format/rdb"
	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

// salvage is the result of check --fix.
type salvage struct {
	Version     int
	Kept        int64
	DroppedKeys []checkProblem // keys whose record was found but failed
	Dropped     [][2]int64     // byte ranges [start, end) skipped
	Problems    []checkProblem
	// LateDups are duplicate keys found only once every key was written
	// (the key set had outgrown its memory budget), by offset: the
	// salvaged file holds them, so runFix salvages again without them.
	LateDups []checkProblem
}

// fixBufSize is --fix's output buffer (a variable for tests, which make
// it small enough for a small file to be written out as it goes).
var fixBufSize = 1 << 20

// salvageKeySetBudget is the memory budget of the salvage's duplicate-key
// test (0: keyspace.DefaultKeySetBudget); tests lower it.
var salvageKeySetBudget = 0

// runFix salvages FILE: it maps the file (resynchronising needs random
// access; stdin or a FIFO is spooled to a temporary file first), keeps
// every record that decodes completely and validates, and after damage
// scans forward for the next plausible record.
func runFix(ctx context.Context, o *checkOptions) error {
	if o.inPlace == (o.output != "") {
		return cli.Usagef("--fix needs exactly one of -o OUT or --in-place")
	}
	if o.inPlace {
		if o.file == "-" {
			return cli.Usagef("--in-place needs a file, not stdin")
		}
		if st, err := os.Stat(o.file); err == nil && !st.Mode().IsRegular() {
			return cli.Usagef("--in-place needs a regular file; %s is not one: use -o OUT", cli.Printable(o.file))
		}
	}
	var in *cli.Mapping
	var err error
	if o.file == "-" {
		in, err = cli.MapReader(o.env.In) // spooled to $TMPDIR, not memory
	} else {
		in, err = cli.MapPath(o.file)
	}
	if err != nil {
		return err
	}
	defer in.Release()
	data := in.Data
	dst := o.output
	if o.inPlace {
		dst = o.file
		// Keep the original first: FILE.bak, written atomically too.
		bak, err := cli.CreateAtomic(o.file+".bak", 0)
		if err != nil {
			return err
		}
		if _, err := bak.Write(data); err != nil {
			bak.Abort()
			return err
		}
		if err := bak.Commit(); err != nil {
			return err
		}
	}
	var res *salvage
	err = cli.WithMapped(o.file, func() (err error) {
		res, err = salvageTo(ctx, o, data, in.DoneBefore, dst, nil)
		return err
	})
	if err == nil && len(res.LateDups) > 0 {
		// Duplicates found only at the end were written: salvage again,
		// dropping them where they are met.
		drop := make([]int64, len(res.LateDups))
		for i, d := range res.LateDups {
			drop[i] = d.Offset
		}
		err = cli.WithMapped(o.file, func() (err error) {
			res, err = salvageTo(ctx, o, data, in.DoneBefore, dst, drop)
			return err
		})
		if err == nil && len(res.LateDups) > 0 {
			err = fmt.Errorf("internal error: %d duplicate keys left after dropping the ones found", len(res.LateDups))
		}
	}
	if err != nil {
		return err
	}
	return writeSalvageReport(o, res, dst)
}

// salvageTo salvages data into dst (committed only when the salvage
// found no duplicate too late to drop), dropping the keys at the offsets
// in drop as duplicates.
func salvageTo(ctx context.Context, o *checkOptions, data []byte, doneBefore func(int64), dst string, drop []int64) (*salvage, error) {
	out, err := o.env.OpenOutput(dst, true, true)
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	var w io.Writer = out
	var spool *os.File
	if dst == "-" {
		// Standard output cannot take back what a salvage with late
		// duplicates wrote: it goes through a temporary file.
		if spool, err = os.CreateTemp("", "persistkit-fix-"); err != nil {
			return nil, err
		}
		defer func() {
			spool.Close()
			os.Remove(spool.Name())
		}()
		w = spool
	}
	bw := bufio.NewWriterSize(w, fixBufSize)
	res, err := salvageRDB(ctx, data, bw, doneBefore, drop)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.file, err)
	}
	if len(res.LateDups) > 0 {
		return res, nil // the output is dropped
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if spool != nil {
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		if _, err := io.Copy(out, spool); err != nil {
			return nil, err
		}
	}
	return res, out.Commit()
}

func writeSalvageReport(o *checkOptions, res *salvage, dst string) error {
	w := bufio.NewWriter(o.env.Err)
	if o.g.JSON {
		w = bufio.NewWriter(o.env.Out)
		b := []byte(`{"file":`)
		b = cli.AppendString(b, o.file)
		b = append(b, `,"output":`...)
		b = cli.AppendString(b, dst)
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(res.Version), 10)
		b = append(b, `,"kept_keys":`...)
		b = strconv.AppendInt(b, res.Kept, 10)
		b = append(b, `,"dropped_keys":`...)
		b = appendKeyProblems(b, res.DroppedKeys)
		b = append(b, `,"dropped_ranges":`...)
		b = appendRanges(b, res.Dropped)
		b = append(b, `,"problems":[`...)
		for i, p := range res.Problems {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"offset":`...)
			b = strconv.AppendInt(b, p.Offset, 10)
			b = append(b, `,"what":`...)
			b = cli.AppendString(b, p.What)
			b = append(b, '}')
		}
		b = append(b, "]}\n"...)
		w.Write(b)
		return w.Flush()
	}
	if o.g.Quiet && len(res.Problems) == 0 {
		return nil
	}
	for _, p := range res.Problems {
		fmt.Fprintf(w, "rdbtool: problem at offset %d: %s\n", p.Offset, cli.Printable(p.What))
	}
	for _, k := range res.DroppedKeys {
		fmt.Fprintf(w, "rdbtool: dropped key '%s' at offset %d: %s\n", cli.PrintableBytes(k.Key), k.Offset, cli.Printable(k.What))
	}
	for _, r := range res.Dropped {
		fmt.Fprintf(w, "rdbtool: dropped bytes %d-%d (%d bytes)\n", r[0], r[1], r[1]-r[0])
	}
	if len(res.Problems) > 0 && len(res.Dropped) == 0 && len(res.DroppedKeys) == 0 {
		fmt.Fprintf(w, "rdbtool: warning: only the checksum was wrong: every record decoded, but one may hold altered bytes\n")
	}
	fmt.Fprintf(w, "rdbtool: wrote %s: %d keys kept, %d dropped, RDB version %d\n", cli.Printable(dst), res.Kept, len(res.DroppedKeys), res.Version)
	return w.Flush()
}

// salvageRDB decodes data and writes every intact record to w with an
// encoder at the input's version. With w nil it only reports (check's
// resync): values are validated, not built, and nothing is encoded.
// doneBefore, if not nil, learns from time to time where it stands: it
// never reads data before that offset again (except to compare two keys
// of equal hashes). The keys at the offsets in drop (increasing) are
// dropped as duplicates.
//
// Redis refuses a file with a duplicate key, so a later occurrence is
// dropped. The duplicate test (a keyspace.KeySet) has a memory budget;
// past it, duplicates are found only at the end: with w nil they join the
// dropped keys, otherwise they are returned in LateDups (w then holds
// them, and the caller salvages again with them in drop).
func salvageRDB(ctx context.Context, data []byte, w io.Writer, doneBefore func(int64), drop []int64) (*salvage, error) {
	res := &salvage{}
	hdrDec := rdb.NewDecoder(bytes.NewReader(data), nil)
	ver, err := hdrDec.Version()
	if err != nil {
		return nil, cli.WithHint(cli.Invalid(fmt.Errorf("cannot salvage: bad header: %w", err)), "the first bytes must be REDIS<version>")
	}
	flav, _ := hdrDec.Flavour()
	res.Version = ver
	hdr := data[:hdrDec.Offset()]

	// Not lossy: a record its own version cannot hold (a stream in an RDB
	// 7, say) is damage, dropped and reported, not quietly degraded.
	var enc *rdb.Encoder
	if w != nil {
		enc = rdb.NewEncoder(w, &rdb.EncodeOptions{Version: ver, Flavour: flav, KeepEncoding: true})
	}
	dupNow := false
	kr := keyspace.NewRDBKeyReader(bytes.NewReader(data), flav)
	set := keyspace.NewKeySet(&keyspace.KeySetOptions{
		MemoryBudget: salvageKeySetBudget,
		KeyAt:        kr.KeyAt,
		Duplicate: func(d *keyspace.Duplicate) error {
			if !d.Deferred {
				dupNow = true
				return nil
			}
			res.LateDups = append(res.LateDups, checkProblem{Offset: d.Offset, Key: bytes.Clone(d.Key), What: "duplicate key"})
			return nil
		},
	})
	defer set.Close()
	libs := map[string]bool{}

	// decodeFrom returns a decoder reading data[pos:] through br as if it
	// followed the header and a SELECTDB db, and the size of that
	// synthetic prefix. The resync probes once per byte of damage, all
	// through one small reused buffer (a probe rarely reads more than a few
	// records' bytes); the prefix is rebuilt only when the db changes.
	var prefix []byte
	prefixDB := ^uint64(0)
	decodeFrom := func(br *bufio.Reader, pos int64, db uint64, lim rdb.Limits) (*rdb.Decoder, int64) {
		if db != prefixDB {
			prefix = rdb.AppendLen(append(append([]byte{}, hdr...), rdb.OpSelectDB), db)
			prefixDB = db
		}
		br.Reset(io.MultiReader(bytes.NewReader(prefix), bytes.NewReader(data[pos:])))
		return rdb.NewDecoder(br, &rdb.DecodeOptions{Deep: true, Limits: lim}), int64(len(prefix))
	}
	probeBuf := bufio.NewReaderSize(nil, 512)

	var db uint64
	pos := int64(len(hdr))
	dec := rdb.NewDecoder(bufio.NewReaderSize(bytes.NewReader(data), 1<<16), &rdb.DecodeOptions{Deep: true})
	base := int64(0) // file offset = base + decoder offset
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if doneBefore != nil {
				doneBefore(pos)
			}
		}
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		var cur *rdb.Entry
		if err == nil {
			switch r := rec.(type) {
			case *rdb.Entry:
				cur = r
				var v rdb.Value
				if enc == nil {
					err = validateValue(dec, r)
				} else {
					v, err = dec.Value()
				}
				if err == nil {
					off := base + r.Offset
					for len(drop) > 0 && drop[0] < off {
						drop = drop[1:]
					}
					dup := len(drop) > 0 && drop[0] == off
					if !dup {
						// A key written (or refused) counts: a later one
						// of the same name is a duplicate either way.
						if err := set.Add(r.DB, r.Key, off); err != nil {
							return nil, err
						}
						if err := set.Flush(); err != nil {
							return nil, err
						}
						dup, dupNow = dupNow, false
					}
					if dup {
						res.DroppedKeys = append(res.DroppedKeys, checkProblem{Offset: off, Key: r.Key, What: "duplicate key"})
					} else if err = writeEntry(enc, r, v); err == nil {
						res.Kept++
						db = r.DB
					} else if errors.Is(err, rdb.ErrUnsupported) {
						res.DroppedKeys = append(res.DroppedKeys, checkProblem{Offset: base + r.Offset, Key: r.Key, What: unsupportedWhat(err)})
					} else {
						return nil, fmt.Errorf("writing key %q: %w", r.Key, err)
					}
					pos = base + dec.Offset()
					continue
				}
			case *rdb.SelectDB:
				if r.DB >= keyspace.NumDBs {
					err = &rdb.FormatError{Offset: r.Offset, Context: "select db", Err: rdb.ErrCorrupt}
					break
				}
				db = r.DB
			case *rdb.ResizeDB, *rdb.SlotInfo:
				// hints only; the counts change when keys are dropped
			case *rdb.Function:
				// Redis refuses libraries without a name and duplicates.
				name, nerr := keyspace.FunctionLibraryName(r.Code)
				switch {
				case nerr != nil:
					res.Problems = append(res.Problems, checkProblem{Offset: base + r.Offset, What: "dropped function library: " + nerr.Error()})
				case libs[name]:
					res.Problems = append(res.Problems, checkProblem{Offset: base + r.Offset, What: "dropped duplicate function library " + strconv.Quote(name)})
				default:
					libs[name] = true
					if werr := writeRecord(enc, rec, base, res); werr != nil {
						return nil, werr
					}
				}
			default:
				if werr := writeRecord(enc, rec, base, res); werr != nil {
					return nil, werr
				}
			}
			if err == nil {
				pos = base + dec.Offset()
				continue
			}
		}
		// Damage (or a bad footer) at or after pos.
		what := err.Error()
		var fe *rdb.FormatError
		off := base + dec.Offset()
		if errors.As(err, &fe) {
			off = base + fe.Offset
			what = fe.Err.Error()
			if fe.Context != "" {
				what = fe.Context + ": " + what
			}
		}
		if errors.Is(err, rdb.ErrChecksum) && base+dec.Offset() >= int64(len(data)) {
			// Every record was intact; the new file gets a correct CRC.
			res.Problems = append(res.Problems, checkProblem{Offset: off, What: what})
			break
		}
		// An EOF opcode with bytes after it is damage too (random bytes
		// hold 0xFF often): the scan goes on past it.
		res.Problems = append(res.Problems, checkProblem{Offset: off, What: what})
		if cur != nil {
			res.DroppedKeys = append(res.DroppedKeys, checkProblem{Offset: base + cur.Offset, Key: append([]byte(nil), cur.Key...), What: what})
		}
		// Resynchronise: the next position after pos where a complete,
		// valid record starts and is followed by a plausible record.
		next := int64(-1)
		runSeen := int64(0) // runs before this offset are measured
		for p := pos + 1; p < int64(len(data)); p++ {
			if p%4096 == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if data[p] == data[p-1] && p >= runSeen {
				// Inside a run of one byte value (a zeroed bitmap, say)
				// every position decodes the same short records, which
				// probe refuses; only the run's last bytes can begin a
				// record that reaches past it.
				runSeen = runEnd(data, p)
				if runSeen-p > runTail {
					p = runSeen - runTail
				}
			}
			if !quickPlausible(data, p) {
				continue
			}
			lim, ok := probePlan(data, p)
			if !ok {
				continue
			}
			if dec, plen := decodeFrom(probeBuf, p, db, lim); probe(data, p, dec, plen) {
				next = p
				break
			}
		}
		if next < 0 {
			if pos < int64(len(data)) {
				res.Dropped = append(res.Dropped, [2]int64{pos, int64(len(data))})
			}
			break
		}
		res.Dropped = append(res.Dropped, [2]int64{pos, next})
		var plen int64
		dec, plen = decodeFrom(bufio.NewReaderSize(nil, 4096), next, db, rdb.Limits{})
		// Consume the synthetic prefix (SELECTDB) so offsets line up.
		if _, err := dec.Next(); err != nil {
			return nil, err
		}
		base = next - plen
		pos = next
	}
	if err := set.Finish(); err != nil {
		return nil, err
	}
	if len(res.LateDups) > 0 {
		// The keys were counted as kept; a salvage again drops them.
		res.Kept -= int64(len(res.LateDups))
		if enc == nil {
			res.DroppedKeys = mergeByOffset(res.DroppedKeys, res.LateDups)
			res.LateDups = nil
		}
	}
	if enc != nil {
		if err := enc.Close(); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// mergeByOffset merges two lists of problems sorted by offset.
func mergeByOffset(a, b []checkProblem) []checkProblem {
	out := make([]checkProblem, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if b[0].Offset < a[0].Offset {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// quickPlausible rejects, without a decoder, most positions that cannot
// begin a whole record: a probe costs microseconds, and a damaged region of
// random bytes has a value type byte at one position in ten. The byte must
// pass rdb.IsRecordStart, and the record must be well-formed as far as
// rdb.FrameRecord reads it: strings inside data, keys of at most
// resyncMaxKey bytes, blob headers as their walks check them. When it finds
// the record's end, what follows must pass the same tests, up to
// quickChain more records (the probe asks for three key records in a
// row): random bytes declare strings and collections of megabytes, which a
// probe would copy, and one in eight such strings ends where another record
// could begin. It accepts every real record start.
func quickPlausible(data []byte, p int64) bool {
	return plausibleAt(data, p, quickChain)
}

// quickChain is how many records after the first quickPlausible frames.
const quickChain = 2

func plausibleAt(data []byte, p int64, chain int) bool {
	if !rdb.IsRecordStart(data[p]) {
		return false
	}
	end, ok := rdb.FrameRecord(data, p, resyncMaxKey)
	return ok && (end < 0 || plausibleAfter(data, end, chain))
}

// plausibleAfter says whether what follows a record ending at q can come
// after one: the end of the data, an EOF opcode, or a record start that
// passes plausibleAt with chain-1 more records.
func plausibleAfter(data []byte, q int64, chain int) bool {
	switch {
	case q == int64(len(data)) || data[q] == rdb.OpEOF:
		return true
	case chain == 0:
		return rdb.IsRecordStart(data[q])
	}
	return plausibleAt(data, q, chain-1)
}

// probePlan says how to probe a candidate that passed quickPlausible.
// When one of its first records (those quickPlausible frames) is one
// rdb.FrameRecord does not frame (KEY_META, type 22, after any prefix
// opcodes), the probe gets probeLimits: random bytes declaring megabytes
// would cost a copy of them. When they span over bigSpan bytes, the probe
// would copy that span, so bigChain more records must frame after them
// first: in noise before real records, a collection declared by the noise
// frames by walking the real records after it as its elements (a 100 MB
// file with 10 MiB of random bytes had a 54 MB probe), while real records
// frame on to the end of the file.
func probePlan(data []byte, p int64) (lim rdb.Limits, ok bool) {
	end := p
	for range quickChain + 1 {
		if end == int64(len(data)) || data[end] == rdb.OpEOF {
			return rdb.Limits{}, true
		}
		next, ok := rdb.FrameRecord(data, end, resyncMaxKey)
		if !ok || next < 0 {
			return probeLimits, ok
		}
		end = next
	}
	return rdb.Limits{}, end-p <= bigSpan || plausibleAfter(data, end, bigChain)
}

const (
	bigSpan  = 1 << 20
	bigChain = 8
)

// probeLimits bound what the probe of a record that rdb.FrameRecord does
// not frame may read: a KEY_META record or a type-22 hash (Redis 7.4-RC,
// Valkey) with a string over 1 MiB or more than 2^20 elements right after
// damage is dropped with it.
var probeLimits = rdb.Limits{MaxStringLen: 1 << 20, MaxRawLen: 1 << 20, MaxElements: 1 << 20}

// resyncMaxKey is the longest key (as stored) a resync point may start
// with. Random bytes often declare keys of megabytes, each costing a probe
// as much to copy; a real key that long right after damage is lost with
// the damage instead (the resync takes the next record).
const resyncMaxKey = 1 << 20

// probeRecords is how many consecutive complete key records (or the end
// of the file) must follow a resynchronisation point: bytes inside a
// damaged value often look like one record, rarely like several in a row.
// Other records (AUX, SELECTDB...) do not count, since random bytes make
// them easily, but may come between, up to probeMaxRecords records in all.
const (
	probeRecords    = 3
	probeMaxRecords = 32
)

// probe decodes records after the synthetic prefix (plen bytes) of a
// decoder started at data[pos] and accepts the position when probeRecords
// of them decode and validate completely, or the file ends cleanly after
// at least one.
//
// A run of one byte value inside a damaged value decodes as a chain of
// records (zeros as "" = "", type 0 with empty key and value), so a
// position is also refused when two probed records share a key, which a
// database cannot hold, or when the first record lies wholly inside a run
// that began before it: either would make --fix invent keys.
func probe(data []byte, pos int64, dec *rdb.Decoder, plen int64) bool {
	if _, err := dec.Next(); err != nil { // the synthetic SELECTDB
		return false
	}
	var keys [][]byte
	entries := 0
	for i := 0; entries < probeRecords; i++ {
		if i == probeMaxRecords {
			return false
		}
		rec, err := dec.Next()
		if err != nil {
			// The end counts only where the file ends: random bytes after
			// a damaged value hold EOF opcodes too.
			atEnd := pos+dec.Offset()-plen >= int64(len(data))
			return i > 0 && atEnd && (err == io.EOF || errors.Is(err, rdb.ErrChecksum))
		}
		switch r := rec.(type) {
		case *rdb.SelectDB:
			keys = keys[:0]
		case *rdb.Entry:
			if err := validateValue(dec, r); err != nil {
				return false
			}
			for _, k := range keys {
				if bytes.Equal(k, r.Key) {
					return false
				}
			}
			keys = append(keys, bytes.Clone(r.Key))
			if i == 0 && rdb.InsideRun(data, pos, pos+dec.Offset()-plen) {
				return false
			}
			entries++
		}
	}
	return true
}

// runTail is how many of a run's last bytes the resync still tries: more
// than any record made of one byte value can span (types and length bytes
// below 26 make records of a few hundred bytes at most).
const runTail = 4096

// runEnd returns the end of the run of data[p]'s value that holds p.
func runEnd(data []byte, p int64) int64 {
	b := data[p]
	for p < int64(len(data)) && data[p] == b {
		p++
	}
	return p
}

// writeRecord copies a non-key record; one its version cannot hold is
// dropped and reported like a damaged one.
func writeRecord(enc *rdb.Encoder, rec rdb.Record, base int64, res *salvage) error {
	if enc == nil {
		return nil
	}
	err := enc.Write(rec)
	if errors.Is(err, rdb.ErrUnsupported) {
		res.Problems = append(res.Problems, checkProblem{Offset: base + rdb.RecordOffset(rec), What: "dropped record: " + unsupportedWhat(err)})
		return nil
	}
	return err
}

// validateValue reads the value of ent with the checks of building it,
// without building it where the decoder can stream it (as check does).
func validateValue(dec *rdb.Decoder, ent *rdb.Entry) error {
	if ent.Kind == rdb.KindStream || ent.Kind == rdb.KindModule {
		_, err := dec.Value()
		return err
	}
	_, _, err := dec.CountElements()
	return err
}

// writeEntry writes a key unless only reporting (enc nil).
func writeEntry(enc *rdb.Encoder, ent *rdb.Entry, v rdb.Value) error {
	if enc == nil {
		return nil
	}
	return enc.WriteEntry(ent, v)
}

// unsupportedWhat words an encoder's refusal of a record for the report.
func unsupportedWhat(err error) string {
	var fe *rdb.FormatError
	if errors.As(err, &fe) && fe.Context != "" {
		return fe.Context + ": " + fe.Err.Error()
	}
	return err.Error()
}
