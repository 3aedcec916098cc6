package resp

import (
	"bytes"
	"reflect"
	"testing"
	"testing/iotest"
)

// FuzzCheckFastPath compares Check over a whole buffer (where readLong and
// readString take their in-buffer fast paths) with Check fed one byte per
// Read (where the C emulation runs): the results must be identical.
func FuzzCheckFastPath(f *testing.F) {
	addSeeds(f)
	f.Add([]byte("*2\r\n$3\r\nset\r\n$-1\r\n*1\r\n$99999999999999999999\r\n"))
	f.Add([]byte("*1\r\n$4\r\nmulti\r\n*1\r\n$4\r\nEXEC\r\n*1\r\n$3\r\nab\r\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opt := range []CheckOptions{{}, {Legacy: true}, {TruncateToTimestamp: 1700000000}} {
			fast, err := Check(bytes.NewReader(data), &opt)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := Check(iotest.OneByteReader(bytes.NewReader(data)), &opt)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("opt %+v:\nwhole buffer %+v\none byte    %+v", opt, fast, slow)
			}
		}
	})
}
