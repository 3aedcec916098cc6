package attest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"
)

// CreateOptions configure [Create].
type CreateOptions struct {
	Key ed25519.PrivateKey
	// Now is the creation time; zero means time.Now (tests inject it).
	Now time.Time
	// Inspect configures the inspection of every path.
	Inspect InspectOptions
}

// Create inspects every path with [Inspect] and returns the signed
// attestation file and its content. Subjects keep the order of paths.
func Create(ctx context.Context, paths []string, opt CreateOptions) ([]byte, *Attestation, error) {
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	a := &Attestation{CreatedAt: now.UTC().Truncate(time.Second).Format(time.RFC3339)}
	seen := map[string]string{}
	for _, p := range paths {
		sub, err := Inspect(ctx, p, &opt.Inspect)
		if err != nil {
			return nil, nil, err
		}
		// Validation matches paths to subjects by name.
		if prev, dup := seen[sub.Name]; dup {
			return nil, nil, fmt.Errorf("attest: %s and %s have the same name %q; attest them separately", prev, p, sub.Name)
		}
		seen[sub.Name] = p
		a.Subjects = append(a.Subjects, *sub)
	}
	out, err := Sign(a, opt.Key)
	if err != nil {
		return nil, nil, err
	}
	return out, a, nil
}
