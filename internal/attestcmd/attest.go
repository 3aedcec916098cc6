// Package attestcmd holds the attest and validate subcommands, which
// rdbtool and aoftool both register: both tools attest RDB files, AOF files
// and AOF directories alike. It is cmd-layer glue over internal/attest.
package attestcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/attest"
	"github.com/persistkit/persistkit/internal/cli"
)

type attestOptions struct {
	env    *cli.Env
	g      *cli.Globals
	tool   string
	paths  []string
	key    string
	output string
}

const attestLong = `attest reads every PATH completely (RDB files, single-file AOFs named
*.aof*, AOF directories or manifests), checks it like "check" does, and
writes a signed JSON attestation: per path its name, format (rdb, aof, or
aof-dir with each file's name relative to the directory, so the
attestation survives copying the directory elsewhere), size and SHA-256,
RDB version and redis-ver, keys per database and type, expires, and Redis'
DEBUG DIGEST of the data (nothing treated as expired); plus the creation
time and the signer's key id.

The signature is Ed25519 over the canonical JSON of the attestation
without its "signature" member (keys sorted, no whitespace, integers
only); see README "Validate backups in CI". Check it with validate.

A damaged or incomplete input is not attested (exit 3).`

// NewAttestCmd returns the attest subcommand. Messages are prefixed with the
// root command's name.
func NewAttestCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &attestOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "attest PATH... --key KEYFILE [-o FILE]",
		Short: "Write a signed attestation of RDB/AOF backups (hashes, key counts, digest)",
		Long:  attestLong,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.paths = args
			o.tool = cmd.Root().Name()
			return runAttest(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.key, "key", "", "Ed25519 private key (PKCS#8 PEM, from keygen) (required)")
	f.StringVarP(&o.output, "output", "o", "", "write the attestation here (default: stdout)")
	return cmd
}

// noStdin refuses "-": a backup is hashed and attested by name.
func noStdin(paths []string) error {
	for _, p := range paths {
		if p == "-" {
			return cli.Usagef("PATH - (stdin) is not supported: give the backup's file or directory")
		}
	}
	return nil
}

func runAttest(ctx context.Context, o *attestOptions) error {
	if err := noStdin(o.paths); err != nil {
		return err
	}
	if o.key == "" {
		return cli.WithHint(cli.Usagef("attest needs --key KEYFILE"), "create one with: rdbtool keygen -o backup.key")
	}
	data, err := os.ReadFile(o.key)
	if err != nil {
		return err
	}
	priv, err := attest.ParsePrivateKey(data)
	if err != nil {
		return cli.Usagef("--key %s: %w", o.key, err)
	}
	now := o.env.Now
	if now == nil {
		now = defaultNow
	}
	out, a, err := attest.Create(ctx, o.paths, attest.CreateOptions{Key: priv, Now: now(), Inspect: inspectOptions()})
	if err != nil {
		var de *attest.DataError
		if errors.As(err, &de) {
			return cli.Invalid(err)
		}
		return err
	}
	w, err := o.env.OpenOutput(o.output, false, false)
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(out); err != nil {
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	toFile := o.output != "" && o.output != "-"
	if toFile && o.g.JSON {
		b := []byte(`{"attestation":`)
		b = cli.AppendString(b, o.output)
		b = append(b, `,"key_id":`...)
		b = cli.AppendString(b, a.KeyID)
		b = append(b, `,"created_at":`...)
		b = cli.AppendString(b, a.CreatedAt)
		b = append(b, `,"subjects":[`...)
		for i, s := range a.Subjects {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = cli.AppendString(b, s.Name)
			b = append(b, `,"format":`...)
			b = cli.AppendString(b, s.Format)
			b = append(b, `,"keys":`...)
			b = strconv.AppendInt(b, s.Keys, 10)
			b = append(b, `,"digest":`...)
			b = cli.AppendString(b, s.Digest)
			b = append(b, '}')
		}
		b = append(b, "]}\n"...)
		_, err := o.env.Out.Write(b)
		return err
	}
	if !o.g.Quiet && !o.g.JSON {
		for _, s := range a.Subjects {
			fmt.Fprintf(o.env.Err, "%s: attested %s %s: %d keys, digest %s\n", o.tool, s.Format, cli.Printable(s.Name), s.Keys, s.Digest)
		}
		if toFile {
			fmt.Fprintf(o.env.Err, "%s: wrote %s, signed by key %s\n", o.tool, cli.Printable(o.output), a.KeyID)
		}
	}
	return nil
}

// inspectOptions let a large AOF be replayed in partitions by two
// goroutines: two partitions' stores are live at most.
func inspectOptions() attest.InspectOptions {
	return attest.InspectOptions{Workers: min(2, runtime.GOMAXPROCS(0))}
}
