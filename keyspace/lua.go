package keyspace

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/persistkit/persistkit/format/rdb"
)

// This file is the only importer of gopher-lua: the Lua 5.1 sandbox that
// runs EVAL/EVALSHA bodies found in pre-5.0 AOFs (verbatim script
// replication), modelled on Redis 4 scripting.c. The environment is:
//
//   - libraries base (without dofile, loadfile; print is a no-op), table,
//     string, math, debug, and bit (LuaBitOp semantics, implemented here);
//     no os, io, package/require. cjson, cmsgpack and struct are not
//     provided: a script using them fails ("nonexistent global variable").
//   - global protection as scriptingEnableGlobalsProtection: a script can
//     neither create nor read an undefined global.
//   - math.random/math.randomseed are Redis' redis_math_random over
//     rand48 (rand.c), re-seeded with redisSrand48(0) before every call,
//     so a script sees the same sequence Redis gave it.
//   - redis.call, redis.pcall, redis.sha1hex, redis.error_reply,
//     redis.status_reply, redis.log (no-op), redis.LOG_* constants,
//     redis.replicate_commands and redis.set_repl (accepted, no effect).
//
// Known differences: gopher-lua turns non-integer numbers into text
// (concatenation, string.format("%s")) with Go's shortest form where Lua
// 5.1 uses "%.14g"; tostring is patched to "%.14g", '..' is not. Numbers
// passed to redis.call use "%.17g" as Redis does. A script that never
// ends blocks Apply (a loading Redis blocks too).
// TODO(issue 5): bound script run time and memory.

// luaMaxString bounds strings a script can build in one step (Redis'
// proto-max-bulk-len default).
const luaMaxString = 512 << 20

// scriptEngine is a Store's Lua state and script cache (Redis keeps one
// per server; SCRIPT FLUSH empties the cache but this engine keeps the
// state, which scripts cannot change thanks to global protection).
type scriptEngine struct {
	L     *lua.LState
	funcs map[string]*lua.LFunction // sha1 hex (lower case) -> script function
	s     *Store                    // the store the running script acts on
	rand  rand48
	// raised maps the error tables redis.call raised to their Go cause,
	// so a failing script reports the command's error (errors.Is works).
	raised map[*lua.LTable]error
}

func newScriptEngine(s *Store) *scriptEngine {
	e := &scriptEngine{s: s, funcs: map[string]*lua.LFunction{}, raised: map[*lua.LTable]error{}}
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 256, RegistrySize: 1024, RegistryMaxSize: 1 << 20})
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath}, {lua.DebugLibName, lua.OpenDebug},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	for _, n := range []string{"dofile", "loadfile", "_printregs", "newproxy"} {
		g.RawSetString(n, lua.LNil)
	}
	g.RawSetString("print", L.NewFunction(func(*lua.LState) int { return 0 }))
	g.RawSetString("tostring", L.NewFunction(luaToString))

	// string.rep allocates its result at once: cap it at Redis'
	// proto-max-bulk-len so a hostile count fails instead of exhausting
	// memory.
	L.GetGlobal("string").(*lua.LTable).RawSetString("rep", L.NewFunction(func(L *lua.LState) int {
		str, n := L.CheckString(1), L.CheckInt(2)
		if n > 0 && int64(len(str))*int64(n) > luaMaxString {
			L.RaiseError("string.rep: result longer than %d bytes", luaMaxString)
		}
		L.Push(lua.LString(strings.Repeat(str, max(n, 0))))
		return 1
	}))

	m := L.GetGlobal("math").(*lua.LTable)
	m.RawSetString("random", L.NewFunction(e.mathRandom))
	m.RawSetString("randomseed", L.NewFunction(e.mathRandomSeed))

	g.RawSetString("bit", newBitLib(L))

	r := L.NewTable()
	r.RawSetString("call", L.NewFunction(func(L *lua.LState) int { return e.call(L, true) }))
	r.RawSetString("pcall", L.NewFunction(func(L *lua.LState) int { return e.call(L, false) }))
	r.RawSetString("sha1hex", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			L.RaiseError("wrong number of arguments")
		}
		L.Push(lua.LString(sha1Hex([]byte(L.ToString(1)))))
		return 1
	}))
	r.RawSetString("error_reply", L.NewFunction(func(L *lua.LState) int { return replyTable(L, "err") }))
	r.RawSetString("status_reply", L.NewFunction(func(L *lua.LState) int { return replyTable(L, "ok") }))
	r.RawSetString("log", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() < 2 {
			L.RaiseError("redis.log() requires two arguments or more.")
		}
		return 0
	}))
	for i, n := range []string{"LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"} {
		r.RawSetString(n, lua.LNumber(i))
	}
	r.RawSetString("replicate_commands", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LTrue); return 1 }))
	r.RawSetString("set_repl", L.NewFunction(func(*lua.LState) int { return 0 }))
	for i, n := range []string{"REPL_NONE", "REPL_AOF", "REPL_SLAVE", "REPL_REPLICA", "REPL_ALL"} {
		r.RawSetString(n, lua.LNumber([]int{0, 1, 2, 2, 3}[i]))
	}
	g.RawSetString("redis", r)

	// scriptingEnableGlobalsProtection (Redis 3.0-6.2). Redis lets code
	// whose caller is "main" or C create globals; here the script body is
	// the outermost frame, which gopher-lua reports as "main", so only Go
	// callers ("G") are let through.
	const protect = `
local dbg=debug
local mt = {}
setmetatable(_G, mt)
mt.__newindex = function (t, n, v)
  if dbg.getinfo(2) then
    local w = dbg.getinfo(2, "S").what
    if w ~= "G" and w ~= "C" then
      error("Script attempted to create global variable '"..tostring(n).."'", 2)
    end
  end
  rawset(t, n, v)
end
mt.__index = function (t, n)
  if dbg.getinfo(2) then
    local w = dbg.getinfo(2, "S").what
    if w ~= "G" and w ~= "C" then
      error("Script attempted to access nonexistent global variable '"..tostring(n).."'", 2)
    end
  end
  return rawget(t, n)
end
`
	if err := L.DoString(protect); err != nil {
		panic("keyspace: Lua setup: " + err.Error()) // constant code: a bug, not input
	}
	e.L = L
	return e
}

// sha1Hex is the lower-case SHA1 of a script body, Redis' script name.
func sha1Hex(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// compile turns a body into its function as luaCreateFunction does: the
// body is wrapped in a function (keeping its line numbers) and compiled
// with the chunk name "@user_script".
func (e *scriptEngine) compile(body []byte) (*lua.LFunction, error) {
	src := "return function() " + string(body) + "\nend"
	chunk, err := parse.Parse(strings.NewReader(src), "@user_script")
	if err != nil {
		return nil, fmt.Errorf("%w: Error compiling script (new function): %w", ErrScript, err)
	}
	proto, err := lua.Compile(chunk, "@user_script")
	if err != nil {
		return nil, fmt.Errorf("%w: Error compiling script (new function): %w", ErrScript, err)
	}
	L := e.L
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, 1, nil); err != nil {
		return nil, fmt.Errorf("%w: Error compiling script (new function): %w", ErrScript, err)
	}
	fn, ok := L.Get(-1).(*lua.LFunction)
	L.Pop(1)
	if !ok {
		return nil, fmt.Errorf("%w: Error compiling script (new function)", ErrScript)
	}
	return fn, nil
}

// run calls a compiled script with KEYS and ARGV set, as evalGenericCommand
// does in verbatim mode: PRNG re-seeded with 0, SELECT inside the script
// not leaking to the caller. Commands applied before an error stay applied
// (Redis has no rollback).
func (e *scriptEngine) run(sha string, fn *lua.LFunction, keys, argv [][]byte) error {
	L := e.L
	g := L.G.Global
	g.RawSetString("KEYS", bulkArray(L, keys))
	g.RawSetString("ARGV", bulkArray(L, argv))
	e.rand.seed(0)
	db := e.s.CurDB
	defer func() {
		e.s.CurDB = db
		clear(e.raised)
		L.SetTop(0)
	}()
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		var ae *lua.ApiError
		if errors.As(err, &ae) {
			if t, ok := ae.Object.(*lua.LTable); ok {
				if cause, ok := e.raised[t]; ok {
					return fmt.Errorf("%w (call to f_%s): %w", ErrScript, sha, cause)
				}
				if msg, ok := t.RawGetString("err").(lua.LString); ok {
					return fmt.Errorf("%w (call to f_%s): %s", ErrScript, sha, string(msg))
				}
			}
			return fmt.Errorf("%w (call to f_%s): %s", ErrScript, sha, ae.Object.String())
		}
		return fmt.Errorf("%w (call to f_%s): %w", ErrScript, sha, err)
	}
	// luaReplyToRedisReply: only an error reply matters for replay.
	if t, ok := L.Get(-1).(*lua.LTable); ok {
		if msg, ok := t.RawGetString("err").(lua.LString); ok {
			return fmt.Errorf("%w: %s", ErrScriptReply, string(msg))
		}
	}
	return nil
}

func bulkArray(L *lua.LState, items [][]byte) *lua.LTable {
	t := L.CreateTable(len(items), 0)
	for i, b := range items {
		t.RawSetInt(i+1, lua.LString(b))
	}
	return t
}

// replyTable is redis.error_reply / redis.status_reply: {field=arg}.
func replyTable(L *lua.LState, field string) int {
	if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
		L.RaiseError("wrong number or type of arguments")
	}
	t := L.NewTable()
	t.RawSetString(field, L.Get(1))
	L.Push(t)
	return 1
}

// luaToString is tostring with Lua 5.1's "%.14g" for numbers.
func luaToString(L *lua.LState) int {
	v := L.CheckAny(1)
	if n, ok := v.(lua.LNumber); ok {
		L.Push(lua.LString(formatLuaNumber(float64(n))))
		return 1
	}
	if mt, ok := L.GetMetaField(v, "__tostring").(*lua.LFunction); ok {
		L.Push(mt)
		L.Push(v)
		L.Call(1, 1)
		return 1
	}
	L.Push(lua.LString(v.String()))
	return 1
}

// formatLuaNumber is LUAI_NUMFFORMAT "%.14g" as glibc prints it.
func formatLuaNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// call is redis.call (raise) and redis.pcall (!raise).
func (e *scriptEngine) call(L *lua.LState, raise bool) int {
	n := L.GetTop()
	fail := func(err error) int {
		t := L.NewTable()
		t.RawSetString("err", lua.LString(redisErrorText(err)))
		if raise {
			e.raised[t] = err
			L.Error(t, 1)
		}
		L.Push(t)
		return 1
	}
	if n == 0 {
		return fail(errScriptNoArgs)
	}
	args := make([][]byte, n)
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			args[i-1] = []byte(string(v))
		case lua.LNumber:
			args[i-1] = rdb.AppendG17(nil, float64(v))
		default:
			return fail(errScriptArgType)
		}
	}
	reply, err := e.s.scriptCommand(args)
	if err != nil {
		return fail(err)
	}
	L.Push(toLua(L, reply))
	return 1
}

// toLua is redisProtocolToLuaType: integer -> number, bulk -> string,
// nil bulk or nil array -> false, array -> table, status -> {ok=...}.
func toLua(L *lua.LState, r any) lua.LValue {
	switch v := r.(type) {
	case int64:
		return lua.LNumber(v)
	case []byte:
		return lua.LString(v)
	case string:
		return lua.LString(v)
	case statusReply:
		t := L.NewTable()
		t.RawSetString("ok", lua.LString(v))
		return t
	case []any:
		t := L.CreateTable(len(v), 0)
		for i, x := range v {
			t.RawSetInt(i+1, toLua(L, x))
		}
		return t
	}
	return lua.LFalse
}

// redisErrorText is the error line Redis would send: a cause that
// already starts with an upper-case code (WRONGTYPE ...) is kept, any
// other gets "ERR ".
func redisErrorText(err error) string {
	var ce *CommandError
	if errors.As(err, &ce) {
		err = ce.Err
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, ' '); i > 0 && strings.ToUpper(msg[:i]) == msg[:i] && msg[:i] != strings.ToLower(msg[:i]) {
		return msg
	}
	return "ERR " + msg
}

// --- math.random: Redis' rand.c (rand48) and redis_math_random -----------

// rand48 is the 48-bit LCG of rand48(3) that Redis reimplements in rand.c
// so scripts see the same numbers on every platform.
type rand48 struct{ x uint64 }

const (
	rand48A    = 0x5DEECE66D
	rand48C    = 0xB
	rand48Mask = 1<<48 - 1
	lrand48Max = math.MaxInt32 // REDIS_LRAND48_MAX
)

// seed is redisSrand48: x = seed<<16 | 0x330E over 48 bits.
func (r *rand48) seed(v int32) { r.x = (uint64(uint32(v))<<16 | 0x330E) & rand48Mask }

// next is redisLrand48: the top 31 bits of the advanced state.
func (r *rand48) next() int32 {
	r.x = (rand48A*r.x + rand48C) & rand48Mask
	return int32(r.x >> 17)
}

func (e *scriptEngine) mathRandom(L *lua.LState) int {
	rv := float64(e.rand.next()%lrand48Max) / float64(lrand48Max)
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(rv))
	case 1:
		u := luaCheckInt(L, 1)
		if u < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(rv*float64(u)) + 1))
	case 2:
		l, u := luaCheckInt(L, 1), luaCheckInt(L, 2)
		if l > u {
			L.ArgError(2, "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(rv*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

func (e *scriptEngine) mathRandomSeed(L *lua.LState) int {
	e.rand.seed(int32(luaCheckInt(L, 1)))
	return 0
}

// luaCheckInt is luaL_checkint: the number truncated to a C int.
func luaCheckInt(L *lua.LState, i int) int64 {
	f := float64(L.CheckNumber(i))
	if math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt32 || f < math.MinInt32 {
		return int64(int32(int64(f))) // C's out-of-range conversion: any value; keep it defined
	}
	return int64(int32(f))
}

// --- bit: LuaBitOp 1.0 --------------------------------------------------

// toBit is LuaBitOp's barg: the number rounded to an integer modulo 2^32
// by the 2^52+2^51 addition trick, as a signed 32-bit value.
func toBit(L *lua.LState, i int) uint32 {
	f := float64(L.CheckNumber(i)) + 6755399441055744.0
	return uint32(math.Float64bits(f))
}

func pushBit(L *lua.LState, v uint32) int {
	L.Push(lua.LNumber(int32(v)))
	return 1
}

func newBitLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	fold := func(op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			v := toBit(L, 1)
			for i := 2; i <= L.GetTop(); i++ {
				v = op(v, toBit(L, i))
			}
			return pushBit(L, v)
		}
	}
	shift := func(op func(a uint32, n uint) uint32) lua.LGFunction {
		return func(L *lua.LState) int { return pushBit(L, op(toBit(L, 1), uint(toBit(L, 2)&31))) }
	}
	fns := map[string]lua.LGFunction{
		"tobit":   func(L *lua.LState) int { return pushBit(L, toBit(L, 1)) },
		"bnot":    func(L *lua.LState) int { return pushBit(L, ^toBit(L, 1)) },
		"band":    fold(func(a, b uint32) uint32 { return a & b }),
		"bor":     fold(func(a, b uint32) uint32 { return a | b }),
		"bxor":    fold(func(a, b uint32) uint32 { return a ^ b }),
		"lshift":  shift(func(a uint32, n uint) uint32 { return a << n }),
		"rshift":  shift(func(a uint32, n uint) uint32 { return a >> n }),
		"arshift": shift(func(a uint32, n uint) uint32 { return uint32(int32(a) >> n) }),
		"rol":     shift(func(a uint32, n uint) uint32 { return a<<n | a>>(32-n) }),
		"ror":     shift(func(a uint32, n uint) uint32 { return a>>n | a<<(32-n) }),
		"bswap": func(L *lua.LState) int {
			v := toBit(L, 1)
			return pushBit(L, v>>24|(v>>8)&0xff00|(v&0xff00)<<8|v<<24)
		},
		"tohex": func(L *lua.LState) int {
			v := toBit(L, 1)
			n := int32(8)
			if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
				n = int32(toBit(L, 2))
			}
			digits := "0123456789abcdef"
			if n < 0 {
				n, digits = -n, "0123456789ABCDEF"
			}
			if n > 8 {
				n = 8
			}
			buf := make([]byte, n)
			for i := int(n) - 1; i >= 0; i-- {
				buf[i] = digits[v&15]
				v >>= 4
			}
			L.Push(lua.LString(buf))
			return 1
		},
	}
	for name, fn := range fns {
		t.RawSetString(name, L.NewFunction(fn))
	}
	return t
}
