// Command aoftool checks, fixes, dumps, converts and rewrites Redis AOF
// files: a single file (plain or with an RDB preamble), a manifest, or a
// Redis 7 appendonlydir.
package main

import (
	"context"
	"os"

	"github.com/persistkit/persistkit/internal/cli"
)

func main() {
	env := cli.System()
	os.Exit(cli.Run(context.Background(), newRootCmd(env), os.Args[1:]))
}
