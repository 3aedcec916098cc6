package keyspace

import (
	"errors"
	"fmt"
)

var (
	errLibraryExists = errors.New("library already exists")
	errNoSuchLibrary = errors.New("library not found")
	errScriptsReplay = fmt.Errorf("%w: read-only scripts and functions are never in an AOF", ErrUnsupported)
	errFunctionDump  = fmt.Errorf("%w: FUNCTION RESTORE", ErrUnsupported)
)

func init() {
	register("FUNCTION", -2, nil)
	registerSub("FUNCTION", "LOAD", -3, cmdFunctionLoad)
	registerSub("FUNCTION", "DELETE", 3, cmdFunctionDelete)
	registerSub("FUNCTION", "FLUSH", -2, cmdFunctionFlush)
	for _, sub := range []string{"LIST", "STATS", "DUMP", "KILL", "HELP"} {
		registerSub("FUNCTION", sub, -2, noop)
	}
	register("SCRIPT", -2, nil) // LOAD and FLUSH: cmd_script.go
	for _, sub := range []string{"EXISTS", "KILL", "HELP", "DEBUG"} {
		registerSub("SCRIPT", sub, -2, noop)
	}
	// EVAL and EVALSHA: cmd_script.go.
	for _, n := range []string{"EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"} {
		register(n, -3, cmdScript)
	}
}

// cmdScript: EVAL_RO/EVALSHA_RO write nothing and FCALL (7.0+) is always
// replicated as its effects, so none of them can be replayed.
func cmdScript(*Store, [][]byte) error { return errScriptsReplay }

// cmdFunctionLoad is FUNCTION LOAD [REPLACE] code. The code is not
// compiled; the library name comes from its "#!lua name=..." line.
func cmdFunctionLoad(s *Store, args [][]byte) error {
	replace := false
	i := 2
	for ; i < len(args)-1; i++ {
		if !eq(args[i], "REPLACE") {
			return ErrSyntax
		}
		replace = true
	}
	code := args[i]
	name, err := FunctionLibraryName(code)
	if err != nil {
		return err
	}
	if _, ok := s.Functions[name]; ok && !replace {
		return fmt.Errorf("%w: %q", errLibraryExists, name)
	}
	if s.Functions == nil {
		s.Functions = map[string][]byte{}
	}
	s.Functions[name] = clone(code)
	return nil
}

func cmdFunctionDelete(s *Store, args [][]byte) error {
	name := string(args[2])
	if _, ok := s.Functions[name]; !ok {
		return fmt.Errorf("%w: %q", errNoSuchLibrary, name)
	}
	delete(s.Functions, name)
	return nil
}

func cmdFunctionFlush(s *Store, args [][]byte) error {
	if err := flushMode(args[1:]); err != nil {
		return err
	}
	clear(s.Functions)
	return nil
}
