// Command rdbtool inspects, checks, dumps and converts Redis RDB files.
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
