//go:build !amd64 || purego

package rdb

const hasCLMUL = false

func crc64CLMUL(crc uint64, p []byte) uint64 { return crc64Table(crc, p) }
