package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/persistkit/persistkit/internal/cli"
)

// runFix makes redis-check-aof's --fix cut: the first damaged file must be
// the last of the load order and is truncated at ok_up_to.
func runFix(ctx context.Context, o *checkOptions, run *checkRun) error {
	w := bufio.NewWriter(o.env.Out)
	defer w.Flush()
	pal, _ := o.env.Palettes(o.g)
	if !o.g.JSON {
		run.writeText(w, pal, textMode{quiet: o.g.Quiet, legacy: o.legacy})
	}
	if len(run.Invalid) > 0 {
		w.Flush()
		return cli.WithHint(cli.Invalid(fmt.Errorf("cannot fix: %s", strings.Join(run.Invalid, "; "))),
			"restore the missing files or edit the manifest by hand; nothing was changed")
	}
	if o.salvage {
		w.Flush()
		return runSalvage(ctx, o, run)
	}
	bad := run.firstBad()
	if bad == nil {
		if o.g.JSON {
			w.Write(fixJSON(run, nil, 0, "nothing_to_fix", ""))
		} else if !o.g.Quiet {
			fmt.Fprintln(w, "Nothing to fix")
		}
		return nil
	}
	w.Flush()
	salvageHint := "'aoftool check --fix --salvage " + o.path + "' keeps every intact command (and RDB key) around the damage"
	if bad.RDB != nil && bad.RDB.Err != nil {
		return cli.WithHint(cli.Invalid(fmt.Errorf("RDB preamble of AOF %s is not sane: %v; --fix never cuts RDB data, nothing was changed", bad.Name, bad.RDB.Err)), salvageHint)
	}
	if !bad.Last {
		return cli.WithHint(cli.Invalid(fmt.Errorf("Failed to truncate AOF %s because it is not the last file; nothing was changed", bad.Name)), salvageHint)
	}
	res := bad.RESP
	if !o.g.JSON {
		fmt.Fprintf(w, "This will shrink the AOF %s from %d bytes, with %d bytes, to %d bytes\n", cli.Printable(bad.Name), res.Size, res.Diff, res.OkUpTo)
		w.Flush()
	}
	ok, err := confirm(o, true)
	if err != nil {
		return err
	}
	if !ok {
		return cli.Invalid(errors.New("Aborting...: nothing was changed"))
	}
	bak, err := truncateFile(bad.Path, res.OkUpTo, !o.noBackup)
	if err != nil {
		return err
	}
	if o.g.JSON {
		w.Write(fixJSON(run, bad, res.OkUpTo, "truncated", bak))
		return nil
	}
	fmt.Fprintf(w, "%s\n", pal.OK.Sprintf("Successfully truncated AOF %s", cli.Printable(bad.Name)))
	if !o.g.Quiet {
		fmt.Fprintf(w, "[detail] removed %d bytes from offset %d: %s\n", res.Diff, res.OkUpTo, removedWhat(bad))
		if bak != "" {
			fmt.Fprintf(w, "[detail] original kept as %s\n", cli.Printable(bak))
		}
	}
	return nil
}

// removedWhat says in words what the cut dropped.
func removedWhat(f *fileCheck) string {
	res := f.RESP
	switch {
	case res.InMulti && res.Message == "Reached EOF before reading EXEC for MULTI":
		return "a transaction (MULTI) without EXEC"
	case res.InMulti:
		return "an open transaction (MULTI) and the damaged data after it"
	case res.FormatError:
		return "data that is not an AOF record"
	case res.Message != "":
		return "a damaged record (" + res.Message + ") and everything after it"
	}
	return "an incomplete record at the end of the file"
}

func fixJSON(run *checkRun, f *fileCheck, cut int64, action, bak string) []byte {
	b := []byte(`{"path":`)
	b = cli.AppendString(b, run.aof.arg)
	b = append(b, `,"action":`...)
	b = cli.AppendString(b, action)
	if f != nil {
		b = append(b, `,"file":`...)
		b = cli.AppendString(b, f.Path)
		b = append(b, `,"old_size":`...)
		b = strconv.AppendInt(b, f.Size, 10)
		b = append(b, `,"new_size":`...)
		b = strconv.AppendInt(b, cut, 10)
		b = append(b, `,"removed":`...)
		b = strconv.AppendInt(b, f.Size-cut, 10)
		if bak != "" {
			b = append(b, `,"backup":`...)
			b = cli.AppendString(b, bak)
		}
	}
	return append(b, "}\n"...)
}

// confirm asks "Continue? [y/N]" on stderr and reads one line from stdin,
// like redis-check-aof; --yes skips the question. ask false proceeds
// without asking.
func confirm(o *checkOptions, ask bool) (bool, error) {
	if o.yes || !ask {
		return true, nil
	}
	io.WriteString(o.env.Err, "Continue? [y/N]: ")
	line, err := bufio.NewReader(o.env.In).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, err
	}
	if !o.env.IsTTY.In {
		io.WriteString(o.env.Err, "\n")
	}
	return len(line) > 0 && (line[0] == 'y' || line[0] == 'Y'), nil
}

// truncateFile cuts path to size bytes: the prefix is copied to a temp file
// next to it, fsynced and renamed over path, so a crash leaves the old or
// the new file. With backup the original is first kept as path.bak (or
// path.bak.N if that exists); its name is returned.
func truncateFile(path string, size int64, backup bool) (string, error) {
	return replaceFile(path, backup, func(w io.Writer, src *os.File) error {
		_, err := io.CopyN(w, src, size)
		return err
	})
}

// replaceFile rewrites path atomically with what fill writes, reading the
// original from src; see truncateFile for the backup.
func replaceFile(path string, backup bool, fill func(w io.Writer, src *os.File) error) (string, error) {
	src, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer src.Close()
	bak := ""
	if backup {
		if bak, err = writeBackup(path, src); err != nil {
			return "", err
		}
		if _, err := src.Seek(0, io.SeekStart); err != nil {
			return "", err
		}
	}
	out, err := cli.CreateAtomic(path, 0)
	if err != nil {
		return "", err
	}
	defer out.Abort()
	bw := bufio.NewWriterSize(out, 1<<20)
	if err := fill(bw, src); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	return bak, out.Commit()
}

func writeBackup(path string, src *os.File) (string, error) {
	bak := path + ".bak"
	for i := 2; ; i++ {
		if _, err := os.Lstat(bak); errors.Is(err, os.ErrNotExist) {
			break
		}
		bak = path + ".bak." + strconv.Itoa(i)
	}
	f, err := cli.CreateAtomic(bak, 0)
	if err != nil {
		return "", err
	}
	defer f.Abort()
	if _, err := io.Copy(f, src); err != nil {
		return "", err
	}
	return bak, f.Commit()
}

// runTruncateTS emulates redis-check-aof --truncate-to-timestamp (tools.md
// §4): the first "#TS:" annotation later than T must lie in the last file,
// not at its start; the file is cut right before it.
func runTruncateTS(ctx context.Context, o *checkOptions, run *checkRun) error {
	w := bufio.NewWriter(o.env.Out)
	defer w.Flush()
	pal, _ := o.env.Palettes(o.g)
	ts := o.truncateTS
	if !o.g.JSON {
		run.writeText(w, pal, textMode{quiet: o.g.Quiet, hintFix: true, ts: ts, legacy: o.legacy})
	}
	w.Flush()
	if len(run.Invalid) > 0 {
		return cli.Invalid(fmt.Errorf("cannot truncate: %s", strings.Join(run.Invalid, "; ")))
	}
	for _, f := range run.Files {
		res := f.RESP
		if !f.valid() && (res == nil || (res.TruncateAt < 0 && !res.InvalidTimestamp)) {
			return cli.WithHint(cli.Invalid(fmt.Errorf("AOF %s is not valid; nothing was truncated", f.Name)), run.fixHint(o.path))
		}
		if res == nil {
			continue
		}
		if res.InvalidTimestamp {
			return cli.Invalid(fmt.Errorf("Invalid timestamp annotation in AOF %s (near offset %d); nothing was truncated", f.Name, res.MessageOffset))
		}
		if res.TruncateAt < 0 {
			continue
		}
		cut := res.TruncateAt
		switch {
		case cut == 0:
			return cli.Invalid(fmt.Errorf("AOF %s has nothing before timestamp %d, aborting...", f.Name, ts))
		case !f.Last:
			return cli.WithHint(cli.Invalid(fmt.Errorf("Failed to truncate AOF %s to timestamp %d to offset %d because it is not the last file.", f.Name, ts, cut)),
				"If you insist, please delete all files after this file according to the manifest file and delete the corresponding records in manifest file manually. Then re-run the check.")
		}
		if !o.g.JSON {
			fmt.Fprintf(w, "This will shrink the AOF %s from %d bytes, with %d bytes, to %d bytes\n", cli.Printable(f.Name), res.Size, res.Size-cut, cut)
			w.Flush()
		}
		// Like redis-check-aof, no question unless a person is at the terminal.
		ok, err := confirm(o, o.env.IsTTY.In)
		if err != nil {
			return err
		}
		if !ok {
			return cli.Invalid(errors.New("Aborting...: nothing was changed"))
		}
		bak, err := truncateFile(f.Path, cut, !o.noBackup)
		if err != nil {
			return err
		}
		if o.g.JSON {
			w.Write(fixJSON(run, f, cut, "truncated_to_timestamp", bak))
			return nil
		}
		fmt.Fprintf(w, "%s\n", pal.OK.Sprintf("Successfully truncated AOF %s to timestamp %d", cli.Printable(f.Name), ts))
		if run.aof.multi {
			fmt.Fprintf(w, "%s\n", pal.OK.Sprint("All AOF files and manifest are valid"))
		}
		if !o.g.Quiet && bak != "" {
			fmt.Fprintf(w, "[detail] original kept as %s\n", cli.Printable(bak))
		}
		return nil
	}
	if o.g.JSON {
		w.Write(fixJSON(run, nil, 0, "nothing_to_truncate", ""))
	}
	return nil
}
