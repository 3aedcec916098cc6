package sigcheck

import (
	"crypto/ed25519"
	"testing"
)

func TestVerify(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	msg := []byte("backup")
	sig := ed25519.Sign(priv, msg)
	if !Verify(pub, msg, sig) {
		t.Fatal("valid signature rejected")
	}
	bad := append([]byte(nil), sig...)
	bad[10] ^= 1
	other := ed25519.NewKeyFromSeed(append(make([]byte, 31), 1)).Public().(ed25519.PublicKey)
	for name, ok := range map[string]bool{
		"flipped bit":   Verify(pub, msg, bad),
		"other message": Verify(pub, []byte("backuq"), sig),
		"other key":     Verify(other, msg, sig),
		"truncated sig": Verify(pub, msg, sig[:63]),
		"short key":     Verify(pub[:31], msg, sig),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}
