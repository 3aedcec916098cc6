// Package attest creates and verifies signed backup attestations: a JSON
// statement of what RDB and AOF files contained when they were attested
// (size, SHA-256, RDB version, key counts, Redis' DEBUG DIGEST), signed
// with Ed25519 over a canonical serialisation (see canonical.go and the
// README section "Validate backups in CI"). Signatures are checked only
// through internal/sigcheck (ZIP-215 rules). It never prints; the CLIs
// render its results.
package attest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/persistkit/persistkit/internal/sigcheck"
)

// Type is the value of the "type" field; it also separates our signatures
// from any other use of the same key.
const Type = "persistkit.attestation/v1"

// Attestation is the signed statement, without its signature.
type Attestation struct {
	Type      string    `json:"type"`
	CreatedAt string    `json:"created_at"` // RFC 3339, UTC, whole seconds
	KeyID     string    `json:"key_id"`     // [KeyID] of the signer
	Subjects  []Subject `json:"subjects"`
}

// Subject is one attested path: an RDB file, a single-file AOF, or an AOF
// directory (appendonlydir) whose files are listed relative to it, so the
// attestation still holds after the directory is copied elsewhere.
type Subject struct {
	Name   string `json:"name"`   // base name of the path as attested
	Format string `json:"format"` // "rdb", "aof" or "aof-dir"
	// Size and SHA256 describe rdb and aof subjects; an aof-dir has Files.
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Files  []File `json:"files,omitempty"`
	// RDBVersion and RedisVer come from the RDB file, or from the RDB
	// preamble or base of an AOF; absent for pure RESP AOFs.
	RDBVersion int64  `json:"rdb_version,omitempty"`
	RedisVer   string `json:"redis_ver,omitempty"`
	Keys       int64  `json:"keys"`
	Expires    int64  `json:"expires"`
	// DBs maps a database number ("0".."15") to key counts per type
	// ("string", "hash", ...); databases without keys are left out.
	DBs map[string]map[string]int64 `json:"dbs"`
	// Digest is Redis' DEBUG DIGEST (40 hex) of the whole keyspace, nothing
	// treated as expired, with the newest digest rules (rdbtool digest).
	Digest string `json:"digest"`
}

// File is one file of an aof-dir subject.
type File struct {
	Name   string `json:"name"` // relative to the directory
	Role   string `json:"role"` // "manifest", "base" or "incr"
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Created parses CreatedAt.
func (a *Attestation) Created() (time.Time, error) {
	return time.Parse(time.RFC3339, a.CreatedAt)
}

// MaxSize bounds an attestation file; real ones are a few hundred bytes
// per subject.
const MaxSize = 16 << 20

// Errors of [Verify]; each says which way the attestation is unacceptable.
var (
	ErrMalformed       = errors.New("malformed attestation")
	ErrSignatureLength = errors.New("truncated or overlong signature")
	ErrWrongKey        = errors.New("signed by a different key")
	ErrBadSignature    = errors.New("signature does not verify")
)

// payload is the canonical serialisation of a: the bytes that are signed.
func (a *Attestation) payload() ([]byte, error) {
	j, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return Canonicalize(j)
}

// Sign returns the attestation file for a: its canonical serialisation
// with a "signature" member (standard base64 of the 64-byte Ed25519
// signature of the canonical bytes without that member) added, again in
// canonical form, plus a final newline.
func Sign(a *Attestation, priv ed25519.PrivateKey) ([]byte, error) {
	a.Type = Type
	a.KeyID = KeyID(priv.Public().(ed25519.PublicKey))
	payload, err := a.payload()
	if err != nil {
		return nil, err
	}
	v, err := parseValue(payload)
	if err != nil {
		return nil, err
	}
	v.(map[string]any)["signature"] = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, payload))
	out, err := marshalCanonical(nil, v)
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// Verify checks an attestation file against pub and returns its content.
// The file must be exactly the canonical serialisation (one final newline
// allowed): a re-serialised parse has to be byte-identical, so nobody can
// get different bytes past the verifier than were signed. Errors wrap
// [ErrNonCanonical], [ErrMalformed], [ErrSignatureLength], [ErrWrongKey]
// or [ErrBadSignature].
func Verify(data []byte, pub ed25519.PublicKey) (*Attestation, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSize)
	}
	body, _ := bytes.CutSuffix(data, []byte("\n"))
	v, err := parseValue(body)
	if err != nil {
		if !errors.Is(err, ErrNonCanonical) {
			err = fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return nil, err
	}
	canon, err := marshalCanonical(nil, v)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, body) {
		return nil, fmt.Errorf("%w: the file differs from its canonical serialisation at byte %d (reformatted or edited?)",
			ErrNonCanonical, firstDiff(canon, body))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	s, ok := m["signature"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: no \"signature\" string", ErrMalformed)
	}
	delete(m, "signature")
	sig, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: signature is not standard base64: %w", ErrMalformed, err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature has %d bytes, want %d", ErrSignatureLength, len(sig), ed25519.SignatureSize)
	}
	payload, err := marshalCanonical(nil, m)
	if err != nil {
		return nil, err
	}
	var a Attestation
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if a.Type != Type {
		return nil, fmt.Errorf("%w: type %q, want %q", ErrMalformed, a.Type, Type)
	}
	if id := KeyID(pub); a.KeyID != id {
		return nil, fmt.Errorf("%w: attestation names key %s, the public key given is %s", ErrWrongKey, a.KeyID, id)
	}
	if !sigcheck.Verify(pub, payload, sig) {
		return nil, fmt.Errorf("%w: the attestation or its signature was altered", ErrBadSignature)
	}
	if _, err := a.Created(); err != nil {
		return nil, fmt.Errorf("%w: created_at: %w", ErrMalformed, err)
	}
	return &a, nil
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
