package cli

import "os"

// writeBackChunk is how much a [WriteBack] lets accumulate before it starts
// writing it out. Redis syncs its RDB and AOF rewrites every 4 MiB
// (REDIS_AUTOSYNC_BYTES); larger steps cost fewer calls and still keep the
// final fsync short.
const writeBackChunk = 16 << 20

// WriteBack writes to a file and, where the system allows it (Linux),
// starts the kernel writing each chunk of writeBackChunk bytes to disk as
// soon as it is complete, then waits for the chunk two before it, much as
// Redis does with rdb-save-incremental-fsync. Without it the dirty pages of a
// large output pile up in the page cache (the background threshold is a
// share of RAM) and the final fsync waits for all of them at once; with
// it, writing to disk overlaps the producing of the output and at most
// three chunks are in flight. It is not a durability guarantee: callers
// still fsync. Not safe for concurrent use.
type WriteBack struct {
	f *os.File
	// off: bytes written; started: bytes whose write-back was started;
	// lag: the start of the last chunk started; waited: bytes known to be
	// on disk.
	off, started, lag, waited int64
	disabled                  bool // write-back failed once (unsupported): stop trying
}

// NewWriteBack returns a WriteBack writing to f from its current offset
// (the start of a new file).
func NewWriteBack(f *os.File) *WriteBack { return &WriteBack{f: f} }

// Write writes p to the file.
func (w *WriteBack) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.started >= writeBackChunk && !w.disabled {
		w.writeBack()
	}
	return n, err
}
