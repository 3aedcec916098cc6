package keyspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/persistkit/persistkit/format/rdb"
)

// LoadOptions configure [LoadRDB]. The zero value loads everything.
type LoadOptions struct {
	// DropExpired mirrors a master loading an RDB file: keys (and hash
	// fields) whose TTL is before the store's NowMs are not loaded. It has no
	// effect when NowMs is 0. An AOF base or RDB preamble loads with it off.
	DropExpired bool
	// Progress, when set, is called with the input offset now and then and
	// once at the end.
	Progress func(offset int64)
	// Deep enables the decoder's deep validation (sanitize-dump-payload yes).
	Deep bool
	// Warn receives non-fatal problems.
	Warn func(error)
	// Limits bound the decoder's allocations; zero means rdb.DefaultLimits.
	Limits rdb.Limits
}

// ErrDuplicate is wrapped by errors about a key or function library that
// appears twice; Redis refuses such files.
var ErrDuplicate = errors.New("duplicate")

// progressEvery is how many records pass between Progress calls and
// context checks.
const progressEvery = 1024

// LoadRDB reads an RDB stream into s, record by record, like Redis'
// rdbLoad: empty collections are skipped, duplicate keys are an error, AUX
// fields replace s.Aux, function libraries and module aux data are kept.
// r is handed to rdb.NewDecoder unchanged, so a *bufio.Reader is read
// directly and left positioned right after the checksum. It returns nil
// after a complete file with a valid (or disabled) checksum.
func LoadRDB(ctx context.Context, r io.Reader, s *Store, opt *LoadOptions) error {
	if opt == nil {
		opt = &LoadOptions{}
	}
	dec := rdb.NewDecoder(r, &rdb.DecodeOptions{Limits: opt.Limits, Deep: opt.Deep, Warn: opt.Warn})
	if s.Functions == nil {
		s.Functions = map[string][]byte{}
	}
	s.Aux = nil
	drop := opt.DropExpired && s.NowMs != 0
	for n := 0; ; n++ {
		if n%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if opt.Progress != nil && n > 0 {
				opt.Progress(dec.Offset())
			}
		}
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch rec := rec.(type) {
		case *rdb.Aux:
			s.Aux = append(s.Aux, rec)
		case *rdb.ModuleAux:
			s.ModuleAux = append(s.ModuleAux, rec)
		case *rdb.Function:
			name, err := FunctionLibraryName(rec.Code)
			if err != nil {
				return &rdb.FormatError{Offset: rec.Offset, Context: "function library", Err: err}
			}
			if _, dup := s.Functions[name]; dup {
				return &rdb.FormatError{Offset: rec.Offset, Context: "function library " + name,
					Err: fmt.Errorf("%w: %w library", rdb.ErrCorrupt, ErrDuplicate)}
			}
			s.Functions[name] = rec.Code
		case *rdb.SelectDB:
			if rec.DB >= NumDBs {
				return &rdb.FormatError{Offset: rec.Offset, Context: "select db",
					Err: fmt.Errorf("%w: db %d out of range (databases %d)", rdb.ErrUnsupported, rec.DB, NumDBs)}
			}
		case *rdb.Entry:
			if err := loadEntry(dec, rec, s, drop); err != nil {
				return err
			}
		}
	}
	if opt.Progress != nil {
		opt.Progress(dec.Offset())
	}
	return nil
}

// loadEntry decodes one key and stores it unless Redis' loader would drop it.
func loadEntry(dec *rdb.Decoder, e *rdb.Entry, s *Store, drop bool) error {
	if e.DB >= NumDBs {
		return &rdb.FormatError{Offset: e.Offset, Key: e.Key, Context: "key",
			Err: fmt.Errorf("%w: db %d out of range (databases %d)", rdb.ErrUnsupported, e.DB, NumDBs)}
	}
	db := s.DBs[e.DB]
	if db == nil {
		db = &DB{Keys: map[string]*Object{}}
		s.DBs[e.DB] = db
	}
	if _, dup := db.Keys[string(e.Key)]; dup {
		return &rdb.FormatError{Offset: e.Offset, Key: e.Key, Context: "key",
			Err: fmt.Errorf("%w: %w key", rdb.ErrCorrupt, ErrDuplicate)}
	}
	v, err := dec.Value()
	if err != nil {
		return err
	}
	o, err := ObjectFromValue(v)
	if err != nil {
		return &rdb.FormatError{Offset: e.Offset, Key: e.Key, Context: "value", Err: err}
	}
	o.ExpireAtMs = e.ExpireAtMs
	o.Encoding = e.Encoding
	o.setLRULFU(e.LRUIdleSec, e.LFUFreq)
	if drop {
		if o.HasTTL() && o.ExpireAtMs < s.NowMs {
			return nil
		}
		// Redis 7.4+ drops hash fields already expired at load time too
		// (corpus hfe: hf:allgone vanishes, hf:partgone loses a field).
		if o.Kind == rdb.KindHash {
			for f, hv := range o.Hash {
				if hv.ExpireAtMs != 0 && hv.ExpireAtMs < s.NowMs {
					delete(o.Hash, f)
				}
			}
		}
	}
	// Empty collections are skipped ("rdbLoadObject skipping empty key");
	// streams may legitimately be empty.
	switch o.Kind {
	case rdb.KindList, rdb.KindSet, rdb.KindZSet, rdb.KindHash:
		if o.Len() == 0 {
			return nil
		}
	}
	db.Keys[string(e.Key)] = o
	return nil
}

// ErrFunctionHeader is wrapped when a library's shebang line is unusable.
var ErrFunctionHeader = errors.New("keyspace: bad function library header")

// FunctionLibraryName parses the library name from the shebang line that
// starts every library ("#!lua name=mylib [key=value ...]").
func FunctionLibraryName(code []byte) (string, error) {
	line := code
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, "\r")
	if !bytes.HasPrefix(line, []byte("#!")) {
		return "", fmt.Errorf("%w: missing #! line", ErrFunctionHeader)
	}
	fields := bytes.Fields(line[2:])
	for _, f := range fields[min(1, len(fields)):] {
		if name, ok := bytes.CutPrefix(f, []byte("name=")); ok && len(name) > 0 {
			return string(name), nil
		}
	}
	return "", fmt.Errorf("%w: no name= in %q", ErrFunctionHeader, line)
}
