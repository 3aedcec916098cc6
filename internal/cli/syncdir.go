package cli

import "os"

// SyncDir fsyncs a directory so that a rename or create inside it survives
// a crash. File systems that refuse fsync on a directory are not worth
// failing for, so errors are ignored.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// WriteFileSync writes data to a new file and fsyncs it before closing, for
// files published later by renaming their directory.
func WriteFileSync(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
