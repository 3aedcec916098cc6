package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/internal/cli"
)

// TestInterrupted runs commands with an already cancelled context, as after
// Ctrl-C: they stop at a record boundary, exit 130 and leave no output file.
func TestInterrupted(t *testing.T) {
	src := filepath.Join(corpusDir, "7.4.1", "types-small", "dump.rdb")
	dir := t.TempDir()
	for _, args := range [][]string{
		{"dump", src},
		{"digest", src},
		{"check", src},
		{"convert", "--to", "rdb", "-o", filepath.Join(dir, "out.rdb"), src},
		{"convert", "--to", "aof-dir", "-o", filepath.Join(dir, "aofdir"), src},
		{"check", "--fix", "-o", filepath.Join(dir, "fixed.rdb"), src},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out, errb bytes.Buffer
		code := cli.Run(ctx, newRootCmd(cli.Test(nil, &out, &errb, false)), args)
		if code != cli.ExitInterrupted {
			t.Errorf("%v: exit %d, want 130 (%s)", args, code, errb.String())
		}
		if !strings.Contains(errb.String(), "interrupted") {
			t.Errorf("%v: stderr %q", args, errb.String())
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind after interrupt: %v", ents)
	}
}
