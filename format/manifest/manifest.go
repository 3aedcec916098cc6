package manifest

import (
	"errors"
	"io"
)

// STUB: owned by the manifest work (issue 4); replace wholesale.

// FileType is a manifest file type.
type FileType byte

const (
	TypeBase    FileType = 'b'
	TypeHistory FileType = 'h'
	TypeIncr    FileType = 'i'
)

// File is one manifest line.
type File struct {
	Name string
	Seq  int64
	Type FileType
}

// Manifest is a parsed multi-part AOF manifest.
type Manifest struct{ Files []File }

// Parse reads a manifest.
func Parse(r io.Reader) (*Manifest, error) { return nil, errors.New("manifest: not implemented") }
