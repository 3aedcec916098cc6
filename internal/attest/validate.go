package attest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/persistkit/persistkit/format/manifest"
)

// Check is one verdict of [Validate].
type Check struct {
	Name   string // e.g. "check dump.rdb", "signature", "sha256 dump.rdb"
	OK     bool
	Detail string
}

// ValidateOptions configure [Validate].
type ValidateOptions struct {
	// Attestation is the attestation file; nil validates the files alone.
	Attestation []byte
	// PublicKey verifies Attestation; required with it.
	PublicKey ed25519.PublicKey
	// MaxAge, when > 0, fails attestations created longer ago than that
	// before Now. It needs an attestation.
	MaxAge time.Duration
	// MinKeys, when > 0, fails paths with fewer keys.
	MinKeys int64
	// ExpectDigest, when set, fails paths whose DEBUG DIGEST differs.
	ExpectDigest string
	// Inspect configures the inspection of every path.
	Inspect InspectOptions
	// Now is the reference time; zero means time.Now.
	Now time.Time
}

// Report is the result of [Validate].
type Report struct {
	Checks      []Check
	Attestation *Attestation // nil unless given and verified
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

func (r *Report) add(ok bool, name, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// clockSkew is how far in the future a creation time may lie before it is
// suspicious rather than a clock difference between machines.
const clockSkew = 5 * time.Minute

// Validate fully checks every path and, with an attestation, verifies its
// signature and that every attested file still has its size, SHA-256 and
// digest; then it applies the policy options. Bad data, bad attestations
// and policy violations are failed checks in the report; the error is for
// operational failures only (I/O, interruption).
func Validate(ctx context.Context, paths []string, opt ValidateOptions) (*Report, error) {
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := &Report{}
	subs := make([]*Subject, len(paths))
	// loaded[i] says subs[i] is complete; a damaged path gets only names,
	// sizes and hashes, so the report can still say what changed.
	loaded := make([]bool, len(paths))
	for i, p := range paths {
		sub, err := Inspect(ctx, p, &opt.Inspect)
		var de *DataError
		switch {
		case errors.As(err, &de):
			r.add(false, "check "+p, "%v", de.Err)
			subs[i] = hashOnly(p)
			continue
		case err != nil:
			return nil, err
		}
		subs[i], loaded[i] = sub, true
		r.add(true, "check "+p, "%s", summary(sub))
	}

	if opt.Attestation != nil {
		a, err := Verify(opt.Attestation, opt.PublicKey)
		if err != nil {
			r.add(false, "signature", "%v", err)
		} else {
			r.Attestation = a
			r.add(true, "signature", "valid Ed25519 signature by key %s, created %s", a.KeyID, a.CreatedAt)
			r.matchSubjects(a, paths, subs, loaded)
			created, _ := a.Created()
			switch age := now.Sub(created); {
			case created.After(now.Add(clockSkew)):
				r.add(false, "age", "created %s, in the future (now %s)", a.CreatedAt, now.UTC().Format(time.RFC3339))
			case opt.MaxAge > 0 && age > opt.MaxAge:
				r.add(false, "max-age", "created %s, %s ago, older than %s", a.CreatedAt, roundAge(age), opt.MaxAge)
			case opt.MaxAge > 0:
				r.add(true, "max-age", "created %s, %s ago, within %s", a.CreatedAt, roundAge(max(age, 0)), opt.MaxAge)
			}
		}
	}

	for i, p := range paths {
		sub := subs[i]
		if !loaded[i] {
			continue
		}
		if opt.MinKeys > 0 {
			r.add(sub.Keys >= opt.MinKeys, "min-keys "+p, "%d keys, want at least %d", sub.Keys, opt.MinKeys)
		}
		if opt.ExpectDigest != "" {
			want := strings.ToLower(opt.ExpectDigest)
			if sub.Digest == want {
				r.add(true, "expect-digest "+p, "digest %s", sub.Digest)
			} else {
				r.add(false, "expect-digest "+p, "digest %s, want %s", sub.Digest, want)
			}
		}
	}
	return r, nil
}

func roundAge(d time.Duration) time.Duration { return d.Round(time.Second) }

func summary(s *Subject) string {
	var b strings.Builder
	b.WriteString(s.Format)
	if s.Format == "aof-dir" {
		fmt.Fprintf(&b, " (%d files)", len(s.Files))
	}
	if s.RDBVersion != 0 {
		fmt.Fprintf(&b, ", RDB version %d", s.RDBVersion)
	}
	if s.RedisVer != "" {
		fmt.Fprintf(&b, ", redis-ver %s", s.RedisVer)
	}
	fmt.Fprintf(&b, ", %d keys, %d expires, digest %s", s.Keys, s.Expires, s.Digest)
	return b.String()
}

// matchSubjects pairs paths with attested subjects, by name first, then
// the rest in order (a copied directory may have been renamed), and
// compares their content.
func (r *Report) matchSubjects(a *Attestation, paths []string, subs []*Subject, loaded []bool) {
	used := make([]bool, len(a.Subjects))
	pair := make([]int, len(paths))
	for i := range pair {
		pair[i] = -1
		if subs[i] == nil {
			continue
		}
		for j := range a.Subjects {
			if !used[j] && a.Subjects[j].Name == subs[i].Name && a.Subjects[j].Format == subs[i].Format {
				pair[i], used[j] = j, true
				break
			}
		}
	}
	var freeS []int
	for j := range a.Subjects {
		if !used[j] {
			freeS = append(freeS, j)
		}
	}
	var freeP []int
	for i := range paths {
		if pair[i] < 0 && subs[i] != nil {
			freeP = append(freeP, i)
		}
	}
	if len(freeS) == len(freeP) {
		for k, i := range freeP {
			pair[i], used[freeS[k]] = freeS[k], true
		}
	}
	for i, p := range paths {
		if subs[i] == nil {
			continue
		}
		if pair[i] < 0 {
			r.add(false, "attested "+p, "%s %q is not in the attestation", subs[i].Format, subs[i].Name)
			continue
		}
		r.compare(p, &a.Subjects[pair[i]], subs[i], loaded[i])
	}
	for j, s := range a.Subjects {
		if !used[j] {
			r.add(false, "attested "+s.Name, "the attestation covers %s %q, which was not validated", s.Format, s.Name)
		}
	}
}

// compare checks that a path still holds what its subject attests.
func (r *Report) compare(p string, want, got *Subject, loaded bool) {
	if want.Format != got.Format {
		r.add(false, "files "+p, "attested as %s %q, but is %s", want.Format, want.Name, got.Format)
		return
	}
	var bad []string
	if want.Format == "aof-dir" {
		have := map[string]File{}
		for _, f := range got.Files {
			have[f.Name] = f
		}
		for _, f := range want.Files {
			g, ok := have[f.Name]
			switch {
			case !ok:
				bad = append(bad, fmt.Sprintf("%s: attested %s file is no longer part of the AOF", f.Name, f.Role))
			case g.Size != f.Size || g.SHA256 != f.SHA256:
				bad = append(bad, fmt.Sprintf("%s: modified since attested (size %d, sha256 %s; attested size %d, sha256 %s)",
					f.Name, g.Size, g.SHA256, f.Size, f.SHA256))
			}
			delete(have, f.Name)
		}
		for _, f := range got.Files {
			if _, extra := have[f.Name]; extra {
				bad = append(bad, fmt.Sprintf("%s: %s file not in the attestation", f.Name, f.Role))
			}
		}
	} else if got.Size != want.Size || got.SHA256 != want.SHA256 {
		bad = append(bad, fmt.Sprintf("modified since attested (size %d, sha256 %s; attested size %d, sha256 %s)",
			got.Size, got.SHA256, want.Size, want.SHA256))
	}
	if len(bad) > 0 {
		r.add(false, "sha256 "+p, "%s", strings.Join(bad, "; "))
	} else if want.Format == "aof-dir" {
		r.add(true, "sha256 "+p, "%d files match the attestation", len(want.Files))
	} else {
		r.add(true, "sha256 "+p, "%d bytes, sha256 %s matches the attestation", got.Size, got.SHA256)
	}
	if !loaded {
		return
	}
	if got.Digest != want.Digest {
		r.add(false, "digest "+p, "keyspace digest %s, attested %s", got.Digest, want.Digest)
	} else {
		r.add(true, "digest "+p, "keyspace digest %s matches the attestation (%d keys)", got.Digest, got.Keys)
	}
}

// hashOnly describes a path that failed its check by names, sizes and
// hashes only; nil when even that cannot be read.
func hashOnly(path string) *Subject {
	st, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if !st.IsDir() && !strings.HasSuffix(path, ".manifest") {
		sub := &Subject{Name: filepath.Base(path), Format: "rdb"}
		if isAOFName(sub.Name) {
			sub.Format = "aof"
		}
		if sub.Size, sub.SHA256, _, err = hashFile(path); err != nil {
			return nil
		}
		return sub
	}
	set, err := manifest.Locate(path)
	if err != nil {
		return nil
	}
	sub := &Subject{Name: filepath.Base(set.Dir), Format: "aof-dir"}
	add := func(abs, role string) {
		rel, err := filepath.Rel(set.Dir, abs)
		if err != nil {
			return
		}
		size, sum, _, err := hashFile(abs)
		if err != nil {
			return // missing: reported as no longer part of the AOF
		}
		sub.Files = append(sub.Files, File{Name: filepath.ToSlash(rel), Role: role, Size: size, SHA256: sum})
	}
	add(set.ManifestPath, "manifest")
	for _, e := range set.Load {
		add(e.Path, roleName(e.Type.String()))
	}
	return sub
}
