//go:build unix

package cli

import (
	"os"
	"syscall"
)

// canMap: files are mapped here.
const canMap = true

// mapFile maps a regular file; other files are spooled to one first.
func mapFile(f *os.File) (*Mapping, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return MapReader(f) // a FIFO or device: spooled to a file
	}
	if st.Size() == 0 || int64(int(st.Size())) != st.Size() {
		return readAll(f)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readAll(f)
	}
	// Read mostly forward: let the kernel read ahead.
	syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
	return &Mapping{Data: data, mapped: true}, nil
}

// Release unmaps the file.
func (m *Mapping) Release() {
	if m.mapped {
		syscall.Munmap(m.Data)
		m.mapped = false
	}
	m.Data = nil
}

// DoneBefore says the caller is past off for good: the mapped pages well
// before it leave the process (they stay in the page cache, and reading
// them again would only fault them back in), so RSS stays flat on a large
// file.
func (m *Mapping) DoneBefore(off int64) {
	if !m.mapped {
		return
	}
	end := int(off) - dropBehind
	end &^= os.Getpagesize() - 1
	if end-m.dropped < dropEvery {
		return
	}
	syscall.Madvise(m.Data[m.dropped:end], syscall.MADV_DONTNEED)
	m.dropped = end
}

// Rewind says a new pass over the data starts: DoneBefore gives back
// pages from the start again.
func (m *Mapping) Rewind() { m.dropped = 0 }
