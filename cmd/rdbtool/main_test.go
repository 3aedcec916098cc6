package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/internal/clitest"
)

// runCLI runs rdbtool in-process on buffers.
func runCLI(t testing.TB, tty bool, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := cli.Test(strings.NewReader(stdin), &out, &errb, tty)
	code = cli.Run(context.Background(), newRootCmd(env), args)
	return out.String(), errb.String(), code
}

// TestTranscripts checks testdata/*.txt (-update rewrites them).
func TestTranscripts(t *testing.T) { clitest.Transcripts(t, runCLI) }
