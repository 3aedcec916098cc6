package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/attest"
	"github.com/persistkit/persistkit/internal/cli"
)

type keygenOptions struct {
	env    *cli.Env
	g      *cli.Globals
	output string
	force  bool
	rand   io.Reader // nil: crypto/rand
}

func newKeygenCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &keygenOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "keygen -o KEYFILE",
		Short: "Create an Ed25519 key pair for signing backup attestations",
		Long: `keygen creates an Ed25519 key pair for attest and validate. The private
key goes to KEYFILE (mode 0600) as a PKCS#8 "PRIVATE KEY" PEM block, the
public key to KEYFILE.pub (mode 0644) as a PKIX "PUBLIC KEY" PEM block, the
encodings of "openssl genpkey -algorithm ed25519" and "openssl pkey
-pubout", so other tools read them. The public key is also printed on
stdout; its key id (first 16 hex digits of SHA-256 of the raw 32-byte key)
goes to stderr.

Existing files are never overwritten unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeygen(o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "private key file; the public key goes to FILE.pub (required)")
	f.BoolVar(&o.force, "force", false, "overwrite existing key files")
	return cmd
}

func runKeygen(o *keygenOptions) error {
	if o.output == "" || o.output == "-" {
		return cli.WithHint(cli.Usagef("keygen needs -o KEYFILE (a private key is never written to stdout)"), "rdbtool keygen -o backup.key")
	}
	pubPath := o.output + ".pub"
	if !o.force {
		for _, p := range []string{o.output, pubPath} {
			if _, err := os.Lstat(p); err == nil {
				return cli.WithHint(cli.Usagef("%s exists; not overwriting a key", p), "use --force to replace it")
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	r := o.rand
	if r == nil {
		r = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return err
	}
	privPEM, err := attest.MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	pubPEM, err := attest.MarshalPublicKey(pub)
	if err != nil {
		return err
	}
	if err := writeKeyFile(o.output, privPEM, 0o600); err != nil {
		return err
	}
	if err := writeKeyFile(pubPath, pubPEM, 0o644); err != nil {
		return err
	}
	id := attest.KeyID(pub)
	if o.g.JSON {
		b := []byte(`{"private_key_file":`)
		b = cli.AppendString(b, o.output)
		b = append(b, `,"public_key_file":`...)
		b = cli.AppendString(b, pubPath)
		b = append(b, `,"key_id":`...)
		b = cli.AppendString(b, id)
		b = append(b, `,"public_key":`...)
		b = cli.AppendString(b, string(pubPEM))
		b = append(b, "}\n"...)
		_, err := o.env.Out.Write(b)
		return err
	}
	if _, err := o.env.Out.Write(pubPEM); err != nil {
		return err
	}
	if !o.g.Quiet {
		fmt.Fprintf(o.env.Err, "rdbtool: wrote private key %s (0600) and public key %s; key id %s\n",
			cli.Printable(o.output), cli.Printable(pubPath), id)
	}
	return nil
}

// writeKeyFile writes data to path through a temp file in the same
// directory. os.CreateTemp creates mode 0600, so a private key is never
// readable by others, not even before the final chmod; an existing file
// (with --force) is replaced, not rewritten in place, so its old mode does
// not carry over.
func writeKeyFile(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
