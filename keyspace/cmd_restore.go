package keyspace

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/persistkit/persistkit/format/rdb"
)

var (
	errBusyKey    = errors.New("BUSYKEY Target key name already exists.")
	errInvalidTTL = errors.New("Invalid TTL value, must be >= 0")
	errBadPayload = errors.New("Bad data format")
)

func init() {
	register("RESTORE", -4, cmdRestore)
	register("RESTORE-ASKING", -4, cmdRestore)
	registerSub("FUNCTION", "RESTORE", -3, cmdFunctionRestore)
}

// cmdRestore is RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s]
// [FREQ f]; 7.0+ AOFs carry it with ABSTTL. A TTL in the past is kept, as
// by a loading server.
func cmdRestore(s *Store, args [][]byte) error {
	var replace, absTTL bool
	idle, freq := int64(-1), -1
	for i := 4; i < len(args); i++ {
		hasVal := i+1 < len(args)
		switch {
		case eq(args[i], "REPLACE"):
			replace = true
		case eq(args[i], "ABSTTL"):
			absTTL = true
		case eq(args[i], "IDLETIME") && hasVal && freq < 0:
			v, err := parseInt(args[i+1])
			if err != nil {
				return err
			}
			if v < 0 {
				return errors.New("Invalid IDLETIME value, must be >= 0")
			}
			idle = v
			i++
		case eq(args[i], "FREQ") && hasVal && idle < 0:
			v, err := parseInt(args[i+1])
			if err != nil {
				return err
			}
			if v < 0 || v > 255 {
				return errors.New("Invalid FREQ value, must be >= 0 and <= 255")
			}
			freq = int(v)
			i++
		default:
			return ErrSyntax
		}
	}
	ttl, err := parseInt(args[2])
	if err != nil {
		return err
	}
	if ttl < 0 {
		return errInvalidTTL
	}
	if !replace && s.lookup(args[1]) != nil {
		return errBusyKey
	}
	v, err := rdb.DecodeDump(args[3])
	if err != nil {
		return fmt.Errorf("%w: %w", errBadPayload, err)
	}
	if rdb.IsEmpty(v) {
		return errBadPayload
	}
	o, err := ObjectFromValue(v)
	if err != nil {
		return fmt.Errorf("%w: %w", errBadPayload, err)
	}
	o = cloneObject(o) // the payload's bytes belong to the caller
	if ttl > 0 {
		if !absTTL {
			if ttl > math.MaxInt64-s.NowMs {
				return errInvalidExpire
			}
			ttl += s.NowMs
		}
		o.ExpireAtMs = ttl
	}
	o.setLRULFU(idle, freq)
	s.setKey(args[1], o, false)
	return nil
}

// cmdFunctionRestore is FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE].
// The payload is FUNCTION2 records + RDB version + CRC-64; it is decoded
// by wrapping it into a minimal RDB file for rdb.Decoder.
func cmdFunctionRestore(s *Store, args [][]byte) error {
	policy := "APPEND"
	if len(args) == 4 {
		switch {
		case eq(args[3], "FLUSH"), eq(args[3], "APPEND"), eq(args[3], "REPLACE"):
			policy = string(bytes.ToUpper(args[3]))
		default:
			return ErrSyntax
		}
	} else if len(args) > 4 {
		return ErrSyntax
	}
	p := args[2]
	if len(p) < 10 {
		return errBadPayload
	}
	body, footer := p[:len(p)-10], p[len(p)-10:]
	ver := binary.LittleEndian.Uint16(footer)
	if rdb.CRC64(0, p[:len(p)-8]) != binary.LittleEndian.Uint64(footer[2:]) {
		return fmt.Errorf("%w: payload version or checksum are wrong", errBadPayload)
	}
	file := fmt.Appendf(nil, "REDIS%04d", ver)
	file = append(file, body...)
	file = append(file, rdb.OpEOF)
	file = binary.LittleEndian.AppendUint64(file, rdb.CRC64(0, file))
	dec := rdb.NewDecoder(bytes.NewReader(file), nil)
	libs := map[string][]byte{}
	for {
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errBadPayload, err)
		}
		f, ok := rec.(*rdb.Function)
		if !ok {
			return errBadPayload
		}
		name, err := FunctionLibraryName(f.Code)
		if err != nil {
			return err
		}
		libs[name] = clone(f.Code)
	}
	if policy == "APPEND" {
		for name := range libs {
			if _, ok := s.Functions[name]; ok {
				return fmt.Errorf("%w: %q", errLibraryExists, name)
			}
		}
	}
	if policy == "FLUSH" {
		clear(s.Functions)
	}
	if s.Functions == nil {
		s.Functions = map[string][]byte{}
	}
	for name, code := range libs {
		s.Functions[name] = code
	}
	return nil
}
