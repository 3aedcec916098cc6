package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/persistkit/persistkit/internal/cli"
)

type checkOptions struct {
	env          *cli.Env
	g            *cli.Globals
	path         string
	fix          bool
	salvage      bool
	yes          bool
	noBackup     bool
	truncateTS   int64
	hasTS        bool
	redisVersion string
	legacy       bool // from --redis-version < 7
}

func newCheckCmd(env *cli.Env, g *cli.Globals) *cobra.Command {
	o := &checkOptions{env: env, g: g}
	cmd := &cobra.Command{
		Use:   "check AOF",
		Short: "Validate an AOF like redis-check-aof; --fix repairs it",
		Long: `check validates every file of AOF in load order: the BASE file (as RDB,
decoded completely with its CRC, or as RESP), then the INCR files, plus the
manifest and the directory (missing files are errors; unlisted and temp
files are warnings). It prints what redis-check-aof prints (ok_up_to,
ok_up_to_line, diff per file) and where the damage is: file, offset, the
last good command and an open MULTI. --json prints one object instead.
Exit status 0: sound; 3: invalid.

--fix makes the cut redis-check-aof --fix makes: the damaged file, which
must be the last one, is truncated at ok_up_to (the last record boundary
outside a transaction before the damage). It asks first unless --yes,
keeps the original as FILE.bak unless --no-backup, and replaces the file
atomically. Damage in an RDB part or in a file that is not the last one
cannot be cut away; --fix --salvage then keeps every complete command,
skips each damaged range up to the next valid "*<n>\r\n$" command start,
and keeps the RDB keys decodable before damage in an RDB part (rewritten
with a fresh checksum); the dropped byte ranges are reported.

--truncate-to-timestamp T cuts the last file at the first "#TS:"
annotation later than T (Unix seconds), like redis-check-aof; RDB parts
are never cut.

--redis-version 6.2 (or older) applies the Redis 6.2 scanner, which
does not know "#" annotations.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.path = args[0]
			o.hasTS = cmd.Flags().Changed("truncate-to-timestamp")
			switch {
			case o.salvage && !o.fix:
				return cli.Usagef("--salvage needs --fix")
			case o.hasTS && o.fix:
				return cli.Usagef("--fix and --truncate-to-timestamp exclude each other")
			case o.hasTS && o.truncateTS <= 0:
				return cli.Usagef("--truncate-to-timestamp: want Unix seconds > 0")
			case (o.yes || o.noBackup) && !o.fix && !o.hasTS:
				return cli.Usagef("--yes and --no-backup need --fix or --truncate-to-timestamp")
			}
			return runCheck(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.fix, "fix", false, "truncate the damaged last file at ok_up_to, like redis-check-aof --fix")
	f.BoolVar(&o.salvage, "salvage", false, "with --fix: keep every intact command around damage anywhere")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	f.BoolVar(&o.noBackup, "no-backup", false, "do not keep the original as FILE.bak")
	f.Int64Var(&o.truncateTS, "truncate-to-timestamp", 0, "cut at the first #TS annotation after this Unix time (seconds)")
	f.StringVar(&o.redisVersion, "redis-version", "", "check with the rules of this redis-check-aof version (X.Y)")
	return cmd
}

// legacyVersion reports whether v names a Redis before 7.0.
func legacyVersion(v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	maj, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(maj)
	if err != nil || n <= 0 {
		return false, cli.Usagef("--redis-version: want X.Y, got %q", v)
	}
	return n < 7, nil
}

func runCheck(ctx context.Context, o *checkOptions) error {
	legacy, err := legacyVersion(o.redisVersion)
	if err != nil {
		return err
	}
	o.legacy = legacy
	a, err := locate(o.path)
	if err != nil {
		return err
	}
	p := o.env.NewProgress(o.g, "checking")
	run, err := scanAOF(ctx, a, scanOptions{
		legacy: legacy, truncateTS: o.truncateTS, progress: p,
		stopOnError: !o.salvage,
	})
	p.Done()
	if err != nil {
		return err
	}
	switch {
	case o.hasTS:
		return runTruncateTS(ctx, o, run)
	case o.fix:
		return runFix(ctx, o, run)
	}
	w := bufio.NewWriter(o.env.Out)
	if o.g.JSON {
		w.Write(run.appendJSON(nil))
	} else {
		pal, _ := o.env.Palettes(o.g)
		run.writeText(w, pal, textMode{quiet: o.g.Quiet, hintFix: true, legacy: legacy})
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if run.ok() {
		return nil
	}
	if !o.g.JSON && !o.g.Quiet {
		o.env.Err.Write([]byte("aoftool: hint: " + run.fixHint(o.path) + "\n"))
	}
	return cli.Silent(cli.ExitInvalid)
}

// fixHint says what would repair the AOF.
func (r *checkRun) fixHint(arg string) string {
	if name := shownPath(arg); name != arg {
		return fmt.Sprintf("%s cannot be fixed in place: save it to a file, then run 'aoftool check --fix FILE'", pipeName(name))
	}
	bad := r.firstBad()
	if bad == nil || bad.Format == "missing" {
		return "restore the missing files or edit the manifest by hand"
	}
	if bad.RDB != nil && bad.RDB.Err != nil {
		return "the RDB part cannot be cut; 'aoftool check --fix --salvage " + arg + "' keeps the keys decodable before the damage"
	}
	if !bad.Last {
		return bad.Name + " is not the last file; 'aoftool check --fix --salvage " + arg + "' keeps every intact command"
	}
	return fmt.Sprintf("'aoftool check --fix %s' cuts %s at offset %d (removes %d bytes)", arg, bad.Name, bad.RESP.OkUpTo, bad.RESP.Diff)
}

// textMode selects what writeText prints.
type textMode struct {
	quiet   bool
	hintFix bool // print redis-check-aof's "Use the --fix option" line
	ts      int64
	legacy  bool // Redis 6.2 wording for a single file
}

// writeText prints the report the way redis-check-aof does, with "[detail]"
// lines locating the damage.
func (r *checkRun) writeText(w io.Writer, pal *cli.Palette, m textMode) {
	pf := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	legacy := m.legacy && !r.aof.multi
	switch {
	case r.aof.multi:
		pf("Start checking Multi Part AOF")
	case !legacy:
		pf("Start checking Old-Style AOF")
	}
	incrSeen := false
	for _, f := range r.Files {
		label := "AOF " + cli.Printable(f.Name)
		if r.aof.multi {
			label = strings.ToUpper(f.Role) + " " + label
			switch {
			case f.Role == "base" && f.Format == "resp":
				pf("Start to check BASE AOF (RESP format).")
			case f.Role == "base":
				pf("Start to check BASE AOF (RDB format).")
			case !incrSeen:
				pf("Start to check INCR files.")
				incrSeen = true
			}
		}
		switch f.Format {
		case "missing":
			pf("%s", pal.Bad.Sprintf("%s is missing or unreadable", label))
			continue
		case "empty":
			pf("%s is empty", label)
			continue
		}
		if rp := f.RDB; rp != nil {
			if legacy {
				pf("The AOF appears to start with an RDB preamble.")
				pf("Checking the RDB preamble to start:")
			}
			if !m.quiet {
				for _, l := range rp.Lines {
					pf("%s", l)
				}
			}
			if rp.Err != nil {
				pf("%s", pal.Bad.Sprint("--- RDB ERROR DETECTED ---"))
				pf("[offset %d] %s", rp.ErrAt, cli.Printable(rp.ErrText))
				if rp.ErrKey != nil {
					pf("[additional info] Reading key '%s'", cli.PrintableBytes(rp.ErrKey))
				}
				pf("[info] %d keys read", rp.Keys)
				pf("[info] %d expires", rp.Expires)
				pf("RDB preamble of AOF file is not sane, aborting.")
				continue
			}
			switch rp.Checksum {
			case "ok":
				pf("[offset %d] Checksum OK", rp.End)
			case "disabled":
				pf("[offset %d] RDB file was saved with checksum disabled: no check performed.", rp.End)
			}
			pf("[offset %d] %s", rp.End, pal.OK.Sprint(`\o/ RDB looks OK! \o/`))
			pf("[info] %d keys read", rp.Keys)
			pf("[info] %d expires", rp.Expires)
			pf("RDB preamble is OK, proceeding with AOF tail...")
		}
		res := f.RESP
		if res.TruncateAt >= 0 || res.InvalidTimestamp {
			continue // the timestamp cut reports itself
		}
		if l := res.MessageLine(); l != "" {
			pf("%s", l)
		}
		if res.FormatError && !legacy {
			pf("AOF %s format error", cli.Printable(f.Name))
		}
		if m.ts != 0 && res.Diff == 0 {
			pf("Truncate nothing in AOF %s to timestamp %d", cli.Printable(f.Name), m.ts)
			pf("%s", pal.OK.Sprintf("%s is valid", label))
			continue
		}
		if legacy {
			label = "AOF"
			pf("AOF analyzed: size=%d, ok_up_to=%d, ok_up_to_line=%d, diff=%d", res.Size, res.OkUpTo, res.OkUpToLine, res.Diff)
		} else {
			pf("AOF analyzed: filename=%s, size=%d, ok_up_to=%d, ok_up_to_line=%d, diff=%d",
				cli.Printable(f.Name), res.Size, res.OkUpTo, res.OkUpToLine, res.Diff)
		}
		if res.Diff == 0 {
			pf("%s", pal.OK.Sprintf("%s is valid", label))
			continue
		}
		if !m.quiet {
			for _, d := range f.details() {
				pf("[detail] %s", d)
			}
		}
		if m.hintFix {
			if legacy {
				pf("%s", pal.Bad.Sprint("AOF is not valid. Use the --fix option to try fixing it."))
			} else {
				pf("%s", pal.Bad.Sprintf("AOF %s is not valid. Use the --fix option to try fixing it.", cli.Printable(f.Name)))
			}
		}
	}
	if r.Skipped > 0 {
		pf("[detail] %d later file(s) not checked", r.Skipped)
	}
	for _, p := range r.Invalid {
		pf("%s", pal.Bad.Sprintf("[manifest] %s", cli.Printable(p)))
	}
	for _, p := range r.Warnings {
		pf("%s", pal.Warn.Sprintf("[warning] %s", cli.Printable(p)))
	}
	if r.ok() && m.ts == 0 {
		if r.aof.multi {
			pf("%s", pal.OK.Sprint("All AOF files and manifest are valid"))
		}
	}
}

// details locates the damage of an invalid RESP part in words.
func (f *fileCheck) details() []string {
	res := f.RESP
	var out []string
	cause := res.Message
	switch {
	case res.FormatError:
		cause = "a record does not start with '*' or '#'"
	case cause == "":
		cause = "the file ends inside a record"
	}
	out = append(out, fmt.Sprintf("damage in %s at offset %d (0x%x): %s", cli.Printable(f.Name), res.OkUpTo, res.OkUpTo, cli.Printable(cause)))
	if res.InMulti {
		out = append(out, fmt.Sprintf("inside the transaction opened by MULTI at offset %d; the whole transaction is dropped by a fix", res.OkUpTo))
	} else if f.BadCmd != "" {
		out = append(out, fmt.Sprintf("the record at offset %d is %s", res.OkUpTo, quoteArg([]byte(f.BadCmd))))
	}
	if f.LastCmd != "" {
		out = append(out, fmt.Sprintf("last good command: %s at offset %d (command %d of the file)", quoteArg([]byte(f.LastCmd)), f.LastCmdAt, f.LastCmdIndex))
	} else {
		out = append(out, "no complete command before the damage")
	}
	if f.Last {
		out = append(out, fmt.Sprintf("a fix cuts the last %d bytes (offset %d to the end)", res.Diff, res.OkUpTo))
	} else {
		out = append(out, "not the last file: redis-check-aof --fix refuses; --fix --salvage can repair it")
	}
	return out
}

func (r *checkRun) appendJSON(b []byte) []byte {
	b = append(b, `{"path":`...)
	b = cli.AppendString(b, r.aof.arg)
	b = append(b, `,"multi_part":`...)
	b = strconv.AppendBool(b, r.aof.multi)
	if r.aof.set.ManifestPath != "" {
		b = append(b, `,"manifest":`...)
		b = cli.AppendString(b, r.aof.shown(r.aof.set.ManifestPath))
	}
	b = append(b, `,"ok":`...)
	b = strconv.AppendBool(b, r.ok())
	b = append(b, `,"files":[`...)
	for i, f := range r.Files {
		if i > 0 {
			b = append(b, ',')
		}
		b = f.appendJSON(b)
	}
	b = append(b, `],"skipped_files":`...)
	b = strconv.AppendInt(b, int64(r.Skipped), 10)
	b = append(b, `,"problems":[`...)
	for i, p := range r.Problems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"kind":`...)
		b = cli.AppendString(b, p.Kind.String())
		b = append(b, `,"path":`...)
		b = cli.AppendString(b, r.aof.shown(p.Path))
		if p.Err != nil {
			b = append(b, `,"error":`...)
			b = cli.AppendString(b, p.Err.Error())
		}
		b = append(b, '}')
	}
	b = append(b, `],"invalid":`...)
	b = appendStrings(b, r.Invalid)
	if bad := r.firstBad(); bad != nil {
		b = append(b, `,"damaged_file":`...)
		b = cli.AppendString(b, bad.Name)
		fixable := bad.Last && bad.RESP != nil && (bad.RDB == nil || bad.RDB.Err == nil)
		b = append(b, `,"fixable":`...)
		b = strconv.AppendBool(b, fixable)
	}
	return append(b, "}\n"...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = cli.AppendString(b, s)
	}
	return append(b, ']')
}

func (f *fileCheck) appendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = cli.AppendString(b, f.Name)
	b = append(b, `,"path":`...)
	b = cli.AppendString(b, f.Path)
	b = append(b, `,"role":`...)
	b = cli.AppendString(b, f.Role)
	b = append(b, `,"format":`...)
	b = cli.AppendString(b, f.Format)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, f.Size, 10)
	b = append(b, `,"last":`...)
	b = strconv.AppendBool(b, f.Last)
	b = append(b, `,"valid":`...)
	b = strconv.AppendBool(b, f.valid())
	if rp := f.RDB; rp != nil {
		b = append(b, `,"rdb":{"version":`...)
		b = strconv.AppendInt(b, int64(rp.Version), 10)
		b = append(b, `,"keys":`...)
		b = strconv.AppendInt(b, rp.Keys, 10)
		b = append(b, `,"expires":`...)
		b = strconv.AppendInt(b, rp.Expires, 10)
		if rp.Err != nil {
			b = append(b, `,"error":`...)
			b = cli.AppendString(b, rp.Err.Error())
			b = append(b, `,"error_offset":`...)
			b = strconv.AppendInt(b, rp.ErrAt, 10)
			if rp.ErrKey != nil {
				b = append(b, `,"error_key":`...)
				b = cli.AppendBytes(b, rp.ErrKey)
			}
		} else {
			b = append(b, `,"end":`...)
			b = strconv.AppendInt(b, rp.End, 10)
			b = append(b, `,"checksum":`...)
			b = cli.AppendString(b, rp.Checksum)
		}
		b = append(b, '}')
	}
	if res := f.RESP; res != nil {
		b = append(b, `,"ok_up_to":`...)
		b = strconv.AppendInt(b, res.OkUpTo, 10)
		b = append(b, `,"ok_up_to_line":`...)
		b = strconv.AppendInt(b, res.OkUpToLine, 10)
		b = append(b, `,"diff":`...)
		b = strconv.AppendInt(b, res.Diff, 10)
		b = append(b, `,"commands":`...)
		b = strconv.AppendInt(b, res.Commands, 10)
		b = append(b, `,"annotations":`...)
		b = strconv.AppendInt(b, res.Annotations, 10)
		if res.HasTimestamp {
			b = append(b, `,"last_timestamp":`...)
			b = strconv.AppendInt(b, res.LastTimestamp, 10)
		}
		if res.Message != "" {
			b = append(b, `,"message":`...)
			b = cli.AppendString(b, res.Message)
			b = append(b, `,"message_offset":`...)
			b = strconv.AppendInt(b, res.MessageOffset, 10)
		}
		if res.FormatError {
			b = append(b, `,"format_error":true`...)
		}
		if res.InMulti {
			b = append(b, `,"in_multi":true,"multi_offset":`...)
			b = strconv.AppendInt(b, res.OkUpTo, 10)
		}
		if res.TruncateAt >= 0 {
			b = append(b, `,"truncate_at":`...)
			b = strconv.AppendInt(b, res.TruncateAt, 10)
		}
		if f.LastCmd != "" {
			b = append(b, `,"last_command":`...)
			b = cli.AppendBytes(b, []byte(f.LastCmd))
			b = append(b, `,"last_command_offset":`...)
			b = strconv.AppendInt(b, f.LastCmdAt, 10)
		}
		if f.BadCmd != "" {
			b = append(b, `,"damaged_command":`...)
			b = cli.AppendBytes(b, []byte(f.BadCmd))
		}
	}
	return append(b, '}')
}
