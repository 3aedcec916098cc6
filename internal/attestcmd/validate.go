package attestcmd

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/attest"
	"github.com/persistkit/persistkit/internal/cli"
)

// defaultNow is the clock when the Env has none.
var defaultNow = time.Now

type validateOptions struct {
	env          *cli.Env
	g            *cli.Globals
	tool         string
	paths        []string
	attestation  string
	pub          string
	maxAge       time.Duration
	minKeys      int64
	expectDigest string
	now          string
}

const validateLong = `validate checks backups completely, the way "check" does (RDB data
deep-validated with its CRC, AOF files replayed; a truncated AOF tail
fails here), and with --attestation verifies the signed attestation
written by attest: the Ed25519 signature (ZIP-215 rules) with the public
key --pub, the canonical encoding, and that every attested file still has
its size and SHA-256 and every PATH its keyspace digest. PATHs are matched
to the attestation by name; a renamed copy matches by position.

Policy flags: --max-age fails attestations created longer ago (needs
--attestation), --min-keys fails a PATH with fewer keys, --expect-digest
fails a PATH whose DEBUG DIGEST differs. --now (Unix ms or RFC 3339) sets
the reference time for --max-age.

It prints one line per check, "PASS name: detail" or "FAIL name: detail"
(--json: one object). Exit status 0 only when every check passes, 3
otherwise; 2 for usage errors, 1 for I/O errors.`

// NewValidateCmd returns the validate subcommand. Messages are prefixed with
// the root command's name.
func NewValidateCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &validateOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "validate PATH... [--attestation FILE --pub PUBKEY] [policy flags]",
		Short: "Check backups and verify their signed attestation and policy (for CI)",
		Long:  validateLong,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.paths = args
			o.tool = cmd.Root().Name()
			return runValidate(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.attestation, "attestation", "", "signed attestation from attest")
	f.StringVar(&o.pub, "pub", "", "public key (PKIX PEM, KEYFILE.pub from keygen) to verify --attestation")
	f.DurationVar(&o.maxAge, "max-age", 0, "fail when the attestation is older than this (e.g. 26h)")
	f.Int64Var(&o.minKeys, "min-keys", 0, "fail a PATH holding fewer keys")
	f.StringVar(&o.expectDigest, "expect-digest", "", "fail a PATH whose DEBUG DIGEST (40 hex) differs")
	f.StringVar(&o.now, "now", "", "reference time for --max-age: Unix ms or RFC 3339 (default: now)")
	return cmd
}

// parseTime parses --now: Unix milliseconds or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.UnixMilli(n), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, cli.Usagef("--now: want Unix milliseconds or RFC 3339, got %q", s)
	}
	return t, nil
}

func runValidate(ctx context.Context, o *validateOptions) error {
	if err := noStdin(o.paths); err != nil {
		return err
	}
	opt := attest.ValidateOptions{MaxAge: o.maxAge, MinKeys: o.minKeys, Inspect: inspectOptions()}
	switch {
	case o.attestation != "" && o.pub == "":
		return cli.WithHint(cli.Usagef("--attestation needs --pub: the key named inside an attestation proves nothing"),
			"pass the public key written by keygen (KEYFILE.pub)")
	case o.pub != "" && o.attestation == "":
		return cli.Usagef("--pub needs --attestation")
	case o.maxAge != 0 && o.attestation == "":
		return cli.Usagef("--max-age needs --attestation (the age is the attestation's creation time)")
	case o.maxAge < 0 || o.minKeys < 0:
		return cli.Usagef("--max-age and --min-keys must not be negative")
	}
	if o.expectDigest != "" {
		if d, err := hex.DecodeString(o.expectDigest); err != nil || len(d) != 20 {
			return cli.Usagef("--expect-digest: want 40 hex digits, got %q", o.expectDigest)
		}
		opt.ExpectDigest = o.expectDigest
	}
	if o.now != "" {
		t, err := parseTime(o.now)
		if err != nil {
			return err
		}
		opt.Now = t
	} else if o.env.Now != nil {
		opt.Now = o.env.Now()
	}
	if o.attestation != "" {
		f, err := os.Open(o.attestation)
		if err != nil {
			return err
		}
		// One byte over the limit is enough for Verify to refuse it.
		data, err := io.ReadAll(io.LimitReader(f, attest.MaxSize+1))
		f.Close()
		if err != nil {
			return err
		}
		opt.Attestation = data
		pemData, err := os.ReadFile(o.pub)
		if err != nil {
			return err
		}
		if opt.PublicKey, err = attest.ParsePublicKey(pemData); err != nil {
			return cli.Usagef("--pub %s: %w", o.pub, err)
		}
	}
	rep, err := attest.Validate(ctx, o.paths, opt)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(o.env.Out)
	if o.g.JSON {
		w.Write(appendValidateJSON(nil, rep))
	} else {
		pal, _ := o.env.Palettes(o.g)
		for _, c := range rep.Checks {
			verdict := pal.OK.Sprint("PASS")
			if !c.OK {
				verdict = pal.Bad.Sprint("FAIL")
			}
			fmt.Fprintf(w, "%s %s: %s\n", verdict, cli.Printable(c.Name), cli.Printable(c.Detail))
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	failed := 0
	for _, c := range rep.Checks {
		if !c.OK {
			failed++
		}
	}
	if !o.g.Quiet && !o.g.JSON {
		if failed == 0 {
			fmt.Fprintf(o.env.Err, "%s: backup valid: all %d checks passed\n", o.tool, len(rep.Checks))
		} else {
			fmt.Fprintf(o.env.Err, "%s: backup INVALID: %d of %d checks failed\n", o.tool, failed, len(rep.Checks))
		}
	}
	if failed > 0 {
		return cli.Silent(cli.ExitInvalid)
	}
	return nil
}

func appendValidateJSON(b []byte, rep *attest.Report) []byte {
	b = append(b, `{"ok":`...)
	b = strconv.AppendBool(b, rep.OK())
	if a := rep.Attestation; a != nil {
		b = append(b, `,"key_id":`...)
		b = cli.AppendString(b, a.KeyID)
		b = append(b, `,"created_at":`...)
		b = cli.AppendString(b, a.CreatedAt)
	}
	b = append(b, `,"checks":[`...)
	for i, c := range rep.Checks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = cli.AppendString(b, c.Name)
		b = append(b, `,"ok":`...)
		b = strconv.AppendBool(b, c.OK)
		b = append(b, `,"detail":`...)
		b = cli.AppendString(b, c.Detail)
		b = append(b, '}')
	}
	return append(b, "]}\n"...)
}
