package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
)

// An AOF can arrive through a pipe: "-" (standard input), or a FIFO or
// /dev/fd/N from `<(zstdcat backup.aof.zst)`. Such a stream can be read
// once, but an AOF is located, checked and replayed by path, convert in
// more than one pass. So it is first copied to a temp file in $TMPDIR,
// removed when the command ends, and every message names the input as the
// user gave it.

const spoolHint = "an AOF from a pipe is copied to $TMPDIR first; set TMPDIR to a directory with room for it"

// spooled maps each temp file to the input name it stands for.
var spooled sync.Map

// shownPath is the name to print for path: the user's name for a spooled
// input, path itself otherwise.
func shownPath(path string) string {
	if name, ok := spooled.Load(path); ok {
		return name.(string)
	}
	return path
}

// readsPipedInput wraps c's RunE so that its positional AOF arguments may
// be pipes. The flags in modifying change the input file in place and are
// refused for a pipe.
func readsPipedInput(env *cli.Env, g *cli.Globals, c *cobra.Command, modifying ...string) *cobra.Command {
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) (err error) {
		if i := slices.Index(args, "-"); i >= 0 && slices.Contains(args[i+1:], "-") {
			return cli.Usagef("standard input (-) can be given once")
		}
		args = append([]string(nil), args...)
		for i, arg := range args {
			if !isPipe(arg) {
				continue
			}
			for _, flag := range modifying {
				if cmd.Flags().Changed(flag) {
					return cli.Usagef("--%s changes the AOF file in place, which %s cannot be: save it to a file first", flag, pipeName(arg))
				}
			}
			tmp, serr := spool(cmd.Context(), env, g, arg)
			if serr != nil {
				return serr
			}
			spooled.Store(tmp, arg)
			defer func(tmp, arg string) {
				os.Remove(tmp)
				spooled.Delete(tmp)
				if err != nil && strings.Contains(err.Error(), tmp) {
					err = &relError{msg: strings.ReplaceAll(err.Error(), tmp, arg), err: err}
				}
			}(tmp, arg)
			args[i] = tmp
		}
		return run(cmd, args)
	}
	return c
}

// isPipe reports whether path is "-" or names something that is neither a
// regular file nor a directory (a FIFO, a character device). A path that
// cannot be stat'ed is left to the command, which says so.
func isPipe(path string) bool {
	if path == "-" {
		return true
	}
	st, err := os.Stat(path)
	return err == nil && !st.Mode().IsRegular() && !st.IsDir()
}

func pipeName(path string) string {
	if path == "-" {
		return "standard input"
	}
	return cli.Printable(path)
}

// spool copies the pipe path to a new temp file and returns its name.
func spool(ctx context.Context, env *cli.Env, g *cli.Globals, path string) (name string, err error) {
	src := env.In
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		src = f
	}
	tmp, err := os.CreateTemp("", "persistkit-pipe-*.aof")
	if err != nil {
		return "", cli.WithHint(fmt.Errorf("reading %s: %w", pipeName(path), err), spoolHint)
	}
	defer func() {
		if cerr := tmp.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	p := env.NewProgress(g, "reading "+pipeName(path))
	defer p.Done()
	buf := make([]byte, 1<<20)
	var copied int64
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			copied += int64(n)
			if _, werr := tmp.Write(buf[:n]); werr != nil {
				return "", cli.WithHint(fmt.Errorf("copying %s to a temp file: %w", pipeName(path), werr), spoolHint)
			}
			p.Update(copied, 0)
		}
		if errors.Is(rerr, io.EOF) {
			return tmp.Name(), nil
		}
		if rerr != nil {
			return "", fmt.Errorf("reading %s: %w", pipeName(path), rerr)
		}
	}
}
