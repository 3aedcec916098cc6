// Package sigcheck verifies Ed25519 signatures. It is the only package that
// imports github.com/hdevalence/ed25519consensus (STYLE.md §2), so the
// verification rules are decided in one place.
package sigcheck

import (
	"crypto/ed25519"

	"github.com/hdevalence/ed25519consensus"
)

// Verify reports whether sig is a valid Ed25519 signature of msg by pub
// under the ZIP-215 rules. Unlike crypto/ed25519.Verify, ZIP-215 pins down
// which non-canonical points and cofactor cases are accepted, so every
// verifier agrees on every signature. Wrong-sized keys or signatures are
// simply invalid.
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519consensus.Verify(pub, msg, sig)
}
