package attest

import (
	"context"

	"github.com/persistkit/persistkit/keyspace"
)

// InspectOptions configure [Inspect].
type InspectOptions struct {
	// Workers, when > 1, replays a large AOF's partitions on that many
	// goroutines and writes its partition files on one more; all end
	// before Inspect returns. RDB files are digested on GOMAXPROCS
	// goroutines regardless.
	Workers int
}

// forcePartitions overrides the partition count in tests (0: by size; 1
// still takes the partitioned path); lastPartitioned records that the
// last describeAOF took it.
var (
	forcePartitions int
	lastPartitioned bool
)

// describeAOF replays the AOF at path (total bytes) and fills sub's
// keyspace facts. A large AOF is replayed in partitions
// (keyspace.PartitionAOF), in the memory of a few small stores instead of
// one of the whole keyspace; whatever the partitions cannot reproduce
// exactly, including every error, is left to the single-store replay, so
// results and errors are those of replay.
func describeAOF(ctx context.Context, sub *Subject, path string, total int64, opt *InspectOptions) error {
	lastPartitioned = false
	n := forcePartitions
	if n == 0 {
		n = keyspace.PartitionCount(total)
	}
	if n > 0 {
		if f, err := partitionedFacts(ctx, path, n, opt.Workers); err != nil || f != nil {
			if f != nil {
				f.describe(sub)
				lastPartitioned = true
			}
			return err
		}
	}
	s, err := replay(ctx, path)
	if err != nil {
		return err
	}
	describe(sub, s)
	return nil
}

// partitionedFacts returns nil facts and no error when the single-store
// replay must decide: a command the partitions cannot route, any error
// but a cancellation, a truncated tail (which fails there with its
// offset), or an RDB preamble (its values are re-encoded in the partition
// files and may come back with another encoding, which the digest of a -0
// zset score depends on; its AUX fields are not kept either).
func partitionedFacts(ctx context.Context, path string, n, workers int) (*facts, error) {
	parts, res, err := keyspace.PartitionAOF(ctx, path, &keyspace.PartitionOptions{Partitions: n, Background: workers > 1, NoPreamble: true})
	if err != nil {
		return nil, ctx.Err()
	}
	defer parts.Close()
	if res.Truncated {
		return nil, nil
	}
	all := make([]*facts, parts.Len())
	err = parts.ReplayEach(ctx, workers, func(_ context.Context, i int, s *keyspace.Store) error {
		all[i] = storeFacts(s)
		return nil
	})
	if err != nil {
		return nil, ctx.Err()
	}
	f := all[0]
	for _, g := range all[1:] {
		f.add(g)
	}
	return f, nil
}
