package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/persistkit/persistkit/internal/cli"
	"github.com/persistkit/persistkit/keyspace"
)

// replayStore loads the AOF at path into a new store like a Redis server at
// startup (aof-load-truncated yes: an incomplete tail of the last file is
// ignored, with a note on stderr). now becomes the store's reference time
// after the replay, so keys expired before it are left out of digests and
// exports; 0 means nothing expires.
func replayStore(ctx context.Context, env *cli.Env, g *cli.Globals, path string, now int64) (*keyspace.Store, *keyspace.ReplayResult, error) {
	a, err := locate(path)
	if err != nil {
		return nil, nil, err
	}
	_, progress := a.replayProgress(env, g)
	defer progress.Done()
	s := keyspace.New(0)
	res, err := keyspace.ReplayAOF(ctx, path, s, &keyspace.ReplayOptions{
		Progress: progress.update,
	})
	if err != nil {
		if strings.Contains(err.Error(), path) {
			return nil, res, err // it names the file (and the offset) already
		}
		return nil, res, fmt.Errorf("%s: %w", path, err)
	}
	if res.Truncated && !g.Quiet && !g.JSON {
		progress.Done()
		noteTruncated(env, res)
	}
	s.NowMs = now
	return s, res, nil
}

// noteTruncated says on stderr that the AOF's tail was ignored.
func noteTruncated(env *cli.Env, res *keyspace.ReplayResult) {
	fmt.Fprintf(env.Err, "aoftool: note: %s ends with an incomplete tail at offset %d; ignored like Redis does (aof-load-truncated yes)\n",
		cli.Printable(shownPath(res.TruncatedFile)), res.TruncatedAt)
}

// replayProgress is the progress display of replaying the files of a:
// keyspace reports offsets per file, shown as bytes of all files.
type replayProgress struct {
	cli.Progress
	offsets map[string]int64
	total   int64
}

func (p *replayProgress) update(file string, off int64) { p.Update(p.offsets[file]+off, p.total) }

// replayProgress returns the total size of the files a loads and a
// progress display for replaying them.
func (a *aofSet) replayProgress(env *cli.Env, g *cli.Globals) (int64, *replayProgress) {
	p := &replayProgress{Progress: env.NewProgress(g, "replaying"), offsets: map[string]int64{}}
	for _, e := range a.set.Load {
		p.offsets[e.Path] = p.total
		p.total += max(e.Size, 0)
	}
	return p.total, p
}
