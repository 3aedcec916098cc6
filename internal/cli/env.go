// Package cli is the glue shared by rdbtool and aoftool: the process
// environment (streams, TTY detection, clock), the exit-code table, error
// printing, JSON helpers for binary strings, tables, colour, progress and
// atomic output files. Only this package and cmd/* use cobra and color.
package cli

import (
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
)

// TTY says which standard streams are terminals.
type TTY struct{ In, Out, Err bool }

// Env is everything a command may touch of the outside world. Tests build
// one on buffers; [System] builds the real one.
type Env struct {
	In    io.Reader
	Out   io.Writer
	Err   io.Writer
	IsTTY TTY
	// Getenv reads environment variables (NO_COLOR, TERM); nil means none set.
	Getenv func(string) string
	// Now is the wall clock; nil means time.Now. Only the CLI edge reads it.
	Now func() time.Time
}

// System returns the Env of the running process.
func System() *Env {
	tty := func(f *os.File) bool {
		return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
	}
	return &Env{
		In:     os.Stdin,
		Out:    os.Stdout,
		Err:    os.Stderr,
		IsTTY:  TTY{In: tty(os.Stdin), Out: tty(os.Stdout), Err: tty(os.Stderr)},
		Getenv: os.Getenv,
		Now:    time.Now,
	}
}

// Test returns an Env on the given buffers with the given TTY flags and a
// fixed clock, for in-process CLI tests.
func Test(in io.Reader, out, err io.Writer, tty bool) *Env {
	return &Env{
		In:     in,
		Out:    out,
		Err:    err,
		IsTTY:  TTY{In: tty, Out: tty, Err: tty},
		Getenv: func(string) string { return "" },
		Now:    func() time.Time { return time.UnixMilli(1700000000000) },
	}
}

func (e *Env) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

// NowMs is the wall clock in Unix milliseconds.
func (e *Env) NowMs() int64 {
	if e.Now == nil {
		return time.Now().UnixMilli()
	}
	return e.Now().UnixMilli()
}

// Globals are the persistent flags every tool has.
type Globals struct {
	JSON    bool
	NoColor bool
	Quiet   bool
}
