package keyspace

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/persistkit/persistkit/format/rdb"
)

// Apply runs the write commands found in AOF files against the store, with
// the semantics of a Redis server that is loading: keys are never expired
// on access (a loading server expires nothing, and an EXPIREAT/PEXPIREAT,
// GETEX or HPEXPIREAT in the past still only sets the TTL), relative TTLs
// (EXPIRE, SETEX, XADD *, ...) are taken relative to s.NowMs, and read-only
// commands are accepted and ignored. Argument parsing, the order of checks
// and the accept/reject decision follow Redis 7 (t_*.c, util.c string2ll /
// string2d / string2ld); apply_integration_test.go (build tag integration) checks both the
// decision and DEBUG DIGEST against a live redis-server.
//
// One file per family: cmd_strings.go, cmd_keys.go, cmd_lists.go,
// cmd_sets.go, cmd_zsets.go, cmd_hashes.go (incl. field TTLs, 8.0 HSETEX /
// HGETEX / HGETDEL), cmd_streams.go, cmd_bits.go (SETBIT, BITFIELD, BITOP),
// cmd_hll.go (byte-exact HyperLogLog), cmd_geo.go, cmd_sort.go,
// cmd_restore.go (RESTORE, FUNCTION RESTORE), cmd_functions.go,
// cmd_server.go (SELECT, SWAPDB, FLUSHDB, FLUSHALL), cmd_script.go
// (EVAL, EVALSHA, SCRIPT LOAD/FLUSH of pre-5.0 AOFs, run by lua.go).
//
// Not replayable, reported as ErrUnsupported: FCALL and EVAL_RO (never
// in an AOF), XREADGROUP
// and XAUTOCLAIM (AOFs hold XCLAIM/XGROUP records instead), and SPOP that
// does not pop every member (AOFs hold SREM). Known approximations: XADD /
// XTRIM "~" trims exactly (AOFs always carry "="); GEO* STOREDIST
// distances use Go's math, which can differ from glibc in the last bit;
// SORT ties over a set or sorted set use byte order where Redis uses its
// hash-table order; -0 scores are kept where a 7.0 listpack zset stores 0.

// Sentinel causes carried by [CommandError]; match them with errors.Is.
var (
	ErrUnknownCommand = errors.New("unknown command")
	ErrArity          = errors.New("wrong number of arguments")
	ErrSyntax         = errors.New("syntax error")
	ErrWrongType      = errors.New("WRONGTYPE Operation against a key holding the wrong kind of value")
	ErrNotInteger     = errors.New("value is not an integer or out of range")
	ErrNotFloat       = errors.New("value is not a valid float")
	ErrOverflow       = errors.New("increment or decrement would overflow")
	ErrNoSuchKey      = errors.New("no such key")
	ErrOutOfRange     = errors.New("index out of range")
	ErrDBIndex        = errors.New("DB index is out of range")
	ErrNested         = errors.New("MULTI calls can not be nested")
	ErrExecWithout    = errors.New("EXEC without MULTI")
	ErrInvalidValue   = errors.New("invalid value")
	// ErrUnsupported marks commands this engine knows but cannot replay
	// (scripts, module commands).
	ErrUnsupported = errors.New("unsupported command")
)

// CommandError is a command Redis would have rejected (or that this engine
// cannot run). File and Offset are filled in by [ReplayAOF].
type CommandError struct {
	Name   string // command name as written (upper-cased)
	File   string // AOF file, when known
	Offset int64  // byte offset of the command in File, -1 when unknown
	Err    error
}

func (e *CommandError) Error() string {
	var b strings.Builder
	b.WriteString("keyspace: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, "offset %d: ", e.Offset)
	}
	name := e.Name
	if !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) {
		name = strconv.Quote(name) // a damaged name: its bytes, not a broken line
	}
	fmt.Fprintf(&b, "%s: %v", name, e.Err)
	return b.String()
}

func (e *CommandError) Unwrap() error { return e.Err }

// txQueue holds the commands of an open MULTI block.
type txQueue struct{ cmds [][][]byte }

// cmdFunc applies one command; args[0] is the command name.
type cmdFunc func(s *Store, args [][]byte) error

// cmdSpec is a command table entry. arity follows Redis: n > 0 means
// exactly n arguments (name included), n < 0 means at least -n.
type cmdSpec struct {
	fn    cmdFunc
	arity int
}

// commands maps upper-case names to their implementation; filled by the
// init functions of the cmd_*.go files.
var commands = map[string]cmdSpec{}

func register(name string, arity int, fn cmdFunc) {
	commands[name] = cmdSpec{fn: fn, arity: arity}
}

// subcommands maps "CMD SUB" (both upper-case) for container commands.
var subcommands = map[string]cmdSpec{}

func registerSub(name, sub string, arity int, fn cmdFunc) {
	subcommands[name+" "+sub] = cmdSpec{fn: fn, arity: arity}
}

// InMulti reports whether a MULTI block is open (commands are queued).
func (s *Store) InMulti() bool { return s.tx != nil }

// DiscardMulti drops an open MULTI block, as Redis does with a MULTI that
// has no EXEC at the end of an AOF. It reports whether one was open.
func (s *Store) DiscardMulti() bool {
	open := s.tx != nil
	s.tx = nil
	return open
}

// Apply runs one command (args[0] is the name, any case). Inside MULTI,
// commands are checked (name, arity) and queued; EXEC runs them all, going
// on after a failing one like Redis, and returns the first error. Errors
// are *CommandError with Offset -1.
func (s *Store) Apply(args [][]byte) error {
	if len(args) == 0 {
		return &CommandError{Name: "", Offset: -1, Err: ErrUnknownCommand}
	}
	var buf [maxNameLen]byte
	name, ok := upperName(&buf, args[0])
	if ok {
		switch string(name) {
		case "MULTI":
			if s.tx != nil {
				return nameError(args[0], ErrNested)
			}
			s.tx = &txQueue{}
			return nil
		case "EXEC":
			if s.tx == nil {
				return nameError(args[0], ErrExecWithout)
			}
			q := s.tx.cmds
			s.tx = nil
			var first error
			for _, c := range q {
				if err := s.run(c); err != nil && first == nil {
					first = err
				}
			}
			return first
		case "DISCARD":
			if s.tx == nil {
				return nameError(args[0], errors.New("DISCARD without MULTI"))
			}
			s.tx = nil
			return nil
		}
	}
	if s.tx != nil {
		if _, err := lookupCommand(name, args); err != nil {
			return nameError(args[0], err)
		}
		// Arguments may alias the caller's buffer (resp.Reader in Reuse
		// mode): a queued command keeps its own copy.
		n := 0
		for _, a := range args {
			n += len(a)
		}
		buf := make([]byte, 0, n)
		cp := make([][]byte, len(args))
		for i, a := range args {
			at := len(buf)
			buf = append(buf, a...)
			cp[i] = buf[at:len(buf):len(buf)]
		}
		s.tx.cmds = append(s.tx.cmds, cp)
		return nil
	}
	return s.run(args)
}

// maxNameLen bounds the command names looked up in the table; longer names
// are unknown. The longest registered name is well below it.
const maxNameLen = 32

// upperName upper-cases name (ASCII, like Redis' strcasecmp) into buf
// without allocating; it returns nil, false when name is too long to be a
// known command.
func upperName(buf *[maxNameLen]byte, name []byte) ([]byte, bool) {
	if len(name) > maxNameLen {
		return nil, false
	}
	for i, c := range name {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(name)], true
}

// nameError is a *CommandError for the command named raw (any case),
// upper-cased byte by byte: strings.ToUpper would turn a damaged name's
// invalid UTF-8 into U+FFFD.
func nameError(raw []byte, err error) error {
	name := append([]byte(nil), raw...)
	for i, c := range name {
		if 'a' <= c && c <= 'z' {
			name[i] = c - ('a' - 'A')
		}
	}
	return &CommandError{Name: string(name), Offset: -1, Err: err}
}

// lookupCommand finds a command's spec and checks its arity. name is the
// upper-cased args[0] (nil when too long to be a command).
func lookupCommand(name []byte, args [][]byte) (cmdSpec, error) {
	spec, ok := commands[string(name)]
	if !ok {
		return spec, ErrUnknownCommand
	}
	if !arityOK(spec.arity, len(args)) {
		return spec, ErrArity
	}
	if spec.fn == nil { // container: dispatch on the subcommand
		if len(args) < 2 {
			return spec, ErrArity
		}
		sub, ok := subcommands[string(name)+" "+strings.ToUpper(string(args[1]))]
		if !ok {
			return spec, ErrUnknownCommand
		}
		if !arityOK(sub.arity, len(args)) {
			return spec, ErrArity
		}
		return sub, nil
	}
	return spec, nil
}

func arityOK(arity, n int) bool {
	if arity > 0 {
		return n == arity
	}
	return n >= -arity
}

func (s *Store) run(args [][]byte) error {
	var buf [maxNameLen]byte
	name, _ := upperName(&buf, args[0])
	spec, err := lookupCommand(name, args)
	if err == nil {
		err = spec.fn(s, args)
	}
	if err != nil {
		return nameError(args[0], err)
	}
	return nil
}

// noop is for read-only commands that may appear in an AOF (e.g. PFCOUNT
// with several keys) or commands without keyspace effect.
func noop(*Store, [][]byte) error { return nil }

// --- key access -----------------------------------------------------------

func (s *Store) db() *DB { return s.DBs[s.CurDB] }

// lookup returns the key's object, or nil; loading never expires keys.
func (s *Store) lookup(key []byte) *Object { return s.db().Keys[string(key)] }

// lookupKind returns the key's object (nil when missing) or ErrWrongType.
func (s *Store) lookupKind(key []byte, kind rdb.Kind) (*Object, error) {
	o := s.lookup(key)
	if o != nil && o.Kind != kind {
		return nil, ErrWrongType
	}
	return o, nil
}

// lookupOrCreate returns the key's object, creating an empty one.
func (s *Store) lookupOrCreate(key []byte, kind rdb.Kind) (*Object, error) {
	o, err := s.lookupKind(key, kind)
	if err != nil || o != nil {
		return o, err
	}
	o = NewObject(kind)
	if kind == rdb.KindStream {
		o.Stream.HasV2Meta = true
	}
	s.db().Keys[string(key)] = o
	return o, nil
}

// setKey stores o under key, dropping any TTL of the old value unless
// keepTTL (Redis' setKey).
func (s *Store) setKey(key []byte, o *Object, keepTTL bool) {
	d := s.db()
	if keepTTL {
		if old := d.Keys[string(key)]; old != nil {
			o.ExpireAtMs = old.ExpireAtMs
		}
	}
	d.Keys[string(key)] = o
}

// deleteIfEmpty removes a collection key that became empty, as Redis does
// after every removing command. Streams stay.
func (s *Store) deleteIfEmpty(key []byte, o *Object) {
	if o != nil && o.Kind != rdb.KindStream && o.Kind != rdb.KindString && o.Kind != rdb.KindModule && o.Len() == 0 {
		delete(s.db().Keys, string(key))
	}
}

func newString(b []byte) *Object {
	o := NewObject(rdb.KindString)
	o.Str = b
	return o
}

// --- argument parsing (Redis' util.c rules) ---------------------------------

// parseInt is string2ll: "0" or an optional '-' then 1-9 and digits,
// within int64; no '+', spaces or leading zeros.
func parseInt(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, ErrNotInteger
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, nil
	}
	neg := b[0] == '-'
	d := b
	if neg {
		d = b[1:]
	}
	if len(d) == 0 || d[0] < '1' || d[0] > '9' {
		return 0, ErrNotInteger
	}
	var v uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, ErrNotInteger
		}
		if v > (math.MaxUint64-uint64(c-'0'))/10 {
			return 0, ErrNotInteger
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, ErrNotInteger
		}
		return int64(-v), nil
	}
	if v > math.MaxInt64 {
		return 0, ErrNotInteger
	}
	return int64(v), nil
}

// parseUint parses a non-negative integer with string2ull rules.
func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 || b[0] == '-' || b[0] == '+' {
		return 0, ErrNotInteger
	}
	if len(b) > 1 && b[0] == '0' {
		return 0, ErrNotInteger
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, ErrNotInteger
	}
	return v, nil
}

// parseFloat is string2d: strtod over the whole argument, no leading
// space, no NaN; "inf"/"infinity" allowed.
func parseFloat(b []byte) (float64, error) {
	if len(b) == 0 || isSpace(b[0]) {
		return 0, ErrNotFloat
	}
	str := string(b)
	if strings.ContainsRune(str, '_') {
		return 0, ErrNotFloat
	}
	// strtod accepts hex floats without a binary exponent; Go needs one.
	if h := strings.TrimLeft(str, "+-"); len(h) > 2 && (h[:2] == "0x" || h[:2] == "0X") && !strings.ContainsAny(h, "pP") {
		str += "p0"
	}
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange && v != 0 && !math.IsInf(v, 0) {
			return v, nil // denormal results are fine for strtod
		}
		return 0, ErrNotFloat
	}
	if math.IsNaN(v) {
		return 0, ErrNotFloat
	}
	return v, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// longDouble is x87 80-bit long double precision (64-bit mantissa), used
// by INCRBYFLOAT/HINCRBYFLOAT.
const longDouble = 64

func newLongDouble() *big.Float { return new(big.Float).SetPrec(longDouble) }

// parseLongDouble is string2ld: strtold over the whole argument (at most
// 5119 bytes), no leading space, no NaN, within long double range. An
// infinite value is rejected here; Redis rejects it one step later ("would
// produce NaN or Infinity"), with the same outcome.
func parseLongDouble(b []byte) (*big.Float, error) {
	if len(b) == 0 || len(b) >= 5*1024 || isSpace(b[0]) {
		return nil, ErrNotFloat
	}
	str := string(b)
	digits := strings.ToLower(strings.TrimLeft(str, "+-"))
	if strings.ContainsRune(str, '_') || strings.HasPrefix(digits, "0b") || strings.HasPrefix(digits, "0o") ||
		strings.HasPrefix(digits, "inf") || strings.HasPrefix(digits, "nan") {
		return nil, ErrNotFloat
	}
	f, _, err := big.ParseFloat(str, 0, longDouble, big.ToNearestEven)
	if err != nil {
		return nil, ErrNotFloat
	}
	// x87 extended: finite values have binary exponents up to 16384;
	// strtold underflows to 0 (ERANGE) below the smallest subnormal.
	if exp := f.MantExp(nil); f.Sign() != 0 && (exp > 16384 || exp < -16444) {
		return nil, ErrNotFloat
	}
	return f, nil
}

// formatLongDouble is ld2string(LD_STR_HUMAN): "%.17Lf" with trailing
// zeros (and a bare '.') removed and "-0" printed as "0".
func formatLongDouble(f *big.Float) []byte {
	out := f.Text('f', 17)
	if strings.IndexByte(out, '.') >= 0 {
		out = strings.TrimRight(out, "0")
		out = strings.TrimSuffix(out, ".")
	}
	if out == "-0" {
		out = "0"
	}
	return []byte(out)
}

// eq reports whether the argument equals the upper-case keyword.
func eq(arg []byte, kw string) bool { return strings.EqualFold(string(arg), kw) }

// parseDB parses a database index argument.
func parseDB(b []byte) (int, error) {
	n, err := parseInt(b)
	if err != nil {
		return 0, ErrNotInteger
	}
	if n < 0 || n >= NumDBs {
		return 0, ErrDBIndex
	}
	return int(n), nil
}

// formatInt is the decimal text Redis stores for integer results.
func formatInt(v int64) []byte { return strconv.AppendInt(nil, v, 10) }
