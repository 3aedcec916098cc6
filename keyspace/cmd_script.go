package keyspace

import (
	"errors"
	"fmt"
	"strings"
)

// EVAL, EVALSHA and SCRIPT LOAD/FLUSH: AOFs written by Redis < 5.0 (or 5.0-6.2
// with lua-replicate-commands no) hold scripts instead of their effects
// (verbatim script replication); Redis <= 4.0 writes EVALSHA to the AOF as
// EVAL with the body. The scripts run in the Lua sandbox of lua.go; the
// replies redis.call gives them come from lua_reply.go.

// Sentinel causes of script failures, matched with errors.Is on the
// [CommandError] (Name "EVAL" or "EVALSHA").
var (
	// ErrScript is a script that failed to compile or raised an error;
	// when redis.call raised it, the command's own cause is wrapped too
	// (errors.Is(err, ErrWrongType) works).
	ErrScript = errors.New("error running script")
	// ErrScriptReply is a script that returned an error reply
	// (redis.error_reply, or the table redis.pcall returned).
	ErrScriptReply = errors.New("script returned an error")
	// ErrNoScript is EVALSHA of a script not seen by EVAL or SCRIPT LOAD.
	ErrNoScript = errors.New("NOSCRIPT No matching script. Please use EVAL.")

	errNumKeysNegative = errors.New("Number of keys can't be negative")
	errNumKeysTooMany  = errors.New("Number of keys can't be greater than number of args")
	errScriptNoArgs    = errors.New("Please specify at least one argument for redis.call()")
	errScriptArgType   = errors.New("Lua redis() command arguments must be strings or integers")
	errScriptUnknown   = errors.New("Unknown Redis command called from Lua script")
	errScriptArity     = errors.New("Wrong number of args calling Redis command From Lua script")
	errScriptForbidden = errors.New("This Redis command is not allowed from scripts")
)

func init() {
	register("EVAL", -3, cmdEval)
	register("EVALSHA", -3, cmdEval)
	registerSub("SCRIPT", "LOAD", 3, cmdScriptLoad)
	registerSub("SCRIPT", "FLUSH", -2, cmdScriptFlush)
}

// engine returns the store's Lua state, creating it on first use.
func (s *Store) engine() *scriptEngine {
	if s.scripts == nil {
		s.scripts = newScriptEngine(s)
	}
	return s.scripts
}

// cmdEval is EVAL script numkeys key... arg... and EVALSHA sha numkeys ....
func cmdEval(s *Store, args [][]byte) error {
	n, err := parseInt(args[2])
	if err != nil {
		return err
	}
	if n < 0 {
		return errNumKeysNegative
	}
	if n > int64(len(args)-3) {
		return errNumKeysTooMany
	}
	e := s.engine()
	var sha string
	if eq(args[0], "EVALSHA") {
		sha = strings.ToLower(string(args[1]))
	} else {
		sha = sha1Hex(args[1])
	}
	fn, ok := e.funcs[sha]
	if !ok {
		if eq(args[0], "EVALSHA") {
			return ErrNoScript
		}
		if fn, err = e.compile(args[1]); err != nil {
			return err
		}
		e.funcs[sha] = fn
	}
	keys := args[3 : 3+n]
	return e.run(sha, fn, keys, args[3+n:])
}

// cmdScriptLoad is SCRIPT LOAD body: compile and cache, no run.
func cmdScriptLoad(s *Store, args [][]byte) error {
	e := s.engine()
	sha := sha1Hex(args[2])
	if _, ok := e.funcs[sha]; ok {
		return nil
	}
	fn, err := e.compile(args[2])
	if err != nil {
		return err
	}
	e.funcs[sha] = fn
	return nil
}

// cmdScriptFlush is SCRIPT FLUSH [ASYNC|SYNC]: forget every cached script.
func cmdScriptFlush(s *Store, args [][]byte) error {
	if err := flushMode(args[1:]); err != nil {
		return err
	}
	if s.scripts != nil {
		clear(s.scripts.funcs)
	}
	return nil
}

// scriptForbidden are the commands Redis flags noscript (and the
// transaction commands Apply handles itself).
var scriptForbidden = map[string]bool{
	"MULTI": true, "EXEC": true, "DISCARD": true, "WATCH": true, "UNWATCH": true,
	"EVAL": true, "EVALSHA": true, "EVAL_RO": true, "EVALSHA_RO": true, "SCRIPT": true,
	"FCALL": true, "FCALL_RO": true, "FUNCTION": true, "SUBSCRIBE": true, "PSUBSCRIBE": true,
	"SAVE": true, "BGSAVE": true, "BGREWRITEAOF": true, "WAIT": true, "WAITAOF": true,
}

// scriptCommand runs one redis.call from a script and returns its reply
// (see lua_reply.go for the reply model). Errors are the bare causes.
func (s *Store) scriptCommand(args [][]byte) (any, error) {
	name := strings.ToUpper(string(args[0]))
	if scriptForbidden[name] {
		return nil, errScriptForbidden
	}
	if rd, ok := scriptReads[name]; ok {
		if !arityOK(rd.arity, len(args)) {
			return nil, errScriptArity
		}
		return rd.fn(s, args)
	}
	if _, err := lookupCommand([]byte(name), args); err != nil {
		switch {
		case errors.Is(err, ErrUnknownCommand):
			return nil, errScriptUnknown
		case errors.Is(err, ErrArity):
			return nil, errScriptArity
		}
		return nil, err
	}
	wr, ok := scriptWrites[name]
	if !ok {
		return nil, fmt.Errorf("%w: the reply of %s inside a script is not modelled", ErrUnsupported, name)
	}
	return wr(s, args, func() error {
		err := s.run(args)
		var ce *CommandError
		if errors.As(err, &ce) {
			return ce.Err
		}
		return err
	})
}
