package keyspace

import (
	"context"
	"errors"
	"sync"
)

// A partition's Store takes ~2.5x its share of the AOF (mixed benchmark
// AOF) and two are live at once with two workers. An AOF is cut into
// partitions of at most partitionBytes, and into at least minPartitions
// so that two live stores stay well under one store of the whole AOF (the
// issue 10 target: no more memory than redis-server needs, ~0.6x the AOF
// plus its own ~8 MiB, at 10 MB as at 1 GB). Below minPartitionedBytes
// one Store is small enough. Each partition holds two open files at most
// (its partition file and a caller's output); maxPartitions keeps that
// well under a 1024 descriptor limit, so beyond 8 GiB of AOF partitions
// grow instead.
const (
	partitionBytes      = 32 << 20
	minPartitions       = 16
	minPartitionedBytes = 1 << 20
	maxPartitions       = 256
)

// PartitionCount is the number of partitions for an AOF of total bytes,
// or 0 when a single Store is small enough.
func PartitionCount(total int64) int {
	if total < minPartitionedBytes {
		return 0
	}
	return int(min(max((total+partitionBytes-1)/partitionBytes, minPartitions), maxPartitions))
}

// ReplayEach replays every partition into its own Store, releases its
// file and calls fn with it; fn must not keep the Store, so that at most
// one Store per worker is live. With workers > 1 it starts that many
// goroutines, which end before it returns; the first error cancels the
// others and is returned.
func (p *Partitions) ReplayEach(ctx context.Context, workers int, fn func(ctx context.Context, i int, s *Store) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, p.Len())
	one := func(i int) {
		s, err := p.Replay(ctx, i)
		p.Release(i)
		if err == nil {
			err = fn(ctx, i, s)
		}
		if errs[i] = err; err != nil {
			cancel()
		}
	}
	if workers <= 1 {
		for i := range p.Len() {
			if ctx.Err() != nil {
				break
			}
			one(i)
		}
	} else {
		next := make(chan int)
		var wg sync.WaitGroup
		for range min(workers, p.Len()) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					one(i)
				}
			}()
		}
	feed:
		for i := range p.Len() {
			select {
			case next <- i:
			case <-ctx.Done():
				break feed
			}
		}
		close(next)
		wg.Wait()
	}
	// The first error that is not a cancellation caused by another.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return first
}
