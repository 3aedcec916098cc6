package manifest

import (
	"errors"
	"os"
	"path/filepath"
)

// WriteFile atomically replaces dir/name with m.Marshal(): it writes a
// temporary file in dir, fsyncs it, renames it over name and fsyncs dir, so
// a crash leaves either the old or the new manifest. m must pass Validate.
func WriteFile(dir, name string, m *Manifest) (err error) {
	if err := m.Validate(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "temp-"+name+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(m.Marshal()); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the rename durable. Some file systems refuse fsync on a
// directory; that is not an error worth failing the write for.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !isNotSupported(err) {
		return err
	}
	return nil
}
