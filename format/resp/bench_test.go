package resp

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// corpusRESP concatenates the RESP parts of every corpus AOF, repeated to
// about 4 MiB.
func corpusRESP(b *testing.B) []byte {
	var one []byte
	for _, p := range corpusAOFs(b) {
		if strings.HasSuffix(p, ".rdb") {
			continue
		}
		d := mustRead(b, p)
		if bytes.HasPrefix(d, []byte("REDIS")) {
			d = d[rdbEnd(d):]
		}
		one = append(one, d...)
	}
	return bytes.Repeat(one, (4<<20)/len(one)+1)
}

func smallCommands() []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := 0; buf.Len() < 4<<20; i++ {
		w.WriteStrings("SET", fmt.Sprintf("key:%d", i), "value")
		w.Flush()
	}
	return buf.Bytes()
}

// cpuTime is the process's user+system CPU time. The benchmarks also report
// MB per CPU-second ("cpuMB/s") because the shared build host is heavily
// loaded and wall-clock MB/s understates the parser's speed.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, n int) {
	if d := cpuTime() - start; d > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/d.Seconds()/1e6, "cpuMB/s")
	}
}

func benchRead(b *testing.B, data []byte, reuse bool) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	defer reportCPU(b, cpuTime(), len(data))
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), &ReaderOptions{Reuse: reuse})
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

func BenchmarkReaderCorpus(b *testing.B)      { benchRead(b, corpusRESP(b), false) }
func BenchmarkReaderCorpusReuse(b *testing.B) { benchRead(b, corpusRESP(b), true) }
func BenchmarkReaderSmall(b *testing.B)       { benchRead(b, smallCommands(), false) }
func BenchmarkReaderSmallReuse(b *testing.B)  { benchRead(b, smallCommands(), true) }

func BenchmarkCheckCorpus(b *testing.B) {
	data := corpusRESP(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	defer reportCPU(b, cpuTime(), len(data))
	for b.Loop() {
		if _, err := Check(bytes.NewReader(data), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriterSmall(b *testing.B) {
	args := [][]byte{[]byte("SET"), []byte("key:12345"), []byte("value")}
	b.SetBytes(int64(len("*3\r\n$3\r\nSET\r\n$9\r\nkey:12345\r\n$5\r\nvalue\r\n")))
	b.ReportAllocs()
	w := NewWriter(io.Discard)
	for b.Loop() {
		w.WriteCommand(args...)
	}
	w.Flush()
}

// BenchmarkBaselineCount is a yardstick for this machine's memory speed
// (the benchmarks run on a shared, loaded host).
func BenchmarkBaselineCount(b *testing.B) {
	data := smallCommands()
	b.SetBytes(int64(len(data)))
	defer reportCPU(b, cpuTime(), len(data))
	for b.Loop() {
		bytes.Count(data, []byte{'\n'})
	}
}
