package keyspace

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/persistkit/persistkit/internal/redistest"
)

// Issue 5: what a Store costs per key and per element, next to what Redis
// spends on the same data. memoryN keys or elements per dataset.
const memoryN = 100_000

// memoryDataset is one workload as batches of write commands, so that Redis
// gets them in few round trips.
type memoryDataset struct {
	name string
	unit string // "key" or "element"
	cmds [][][]byte
}

func memoryDatasets() []memoryDataset {
	batch := func(head []string, n, per int, elem func(i int) []string) [][][]byte {
		var cmds [][][]byte
		for lo := 0; lo < n; lo += per {
			var args [][]byte
			for _, h := range head {
				args = append(args, []byte(h))
			}
			for i := lo; i < min(lo+per, n); i++ {
				for _, a := range elem(i) {
					args = append(args, []byte(a))
				}
			}
			cmds = append(cmds, args)
		}
		return cmds
	}
	return []memoryDataset{
		{"string keys (key:%06d = 10-byte value)", "key", batch([]string{"MSET"}, memoryN, 1000, func(i int) []string {
			return []string{fmt.Sprintf("key:%06d", i), fmt.Sprintf("val:%06d", i)}
		})},
		{"list (13-byte elements)", "element", batch([]string{"RPUSH", "list"}, memoryN, 1000, func(i int) []string {
			return []string{fmt.Sprintf("element:%06d", i)}
		})},
		{"set (13-byte members)", "element", batch([]string{"SADD", "set"}, memoryN, 1000, func(i int) []string {
			return []string{fmt.Sprintf("member:%06d", i)}
		})},
		{"zset (13-byte members, integer scores)", "element", batch([]string{"ZADD", "zset"}, memoryN, 1000, func(i int) []string {
			return []string{strconv.Itoa(i), fmt.Sprintf("member:%06d", i)}
		})},
		{"hash (12-byte fields, 12-byte values)", "element", batch([]string{"HSET", "hash"}, memoryN, 1000, func(i int) []string {
			return []string{fmt.Sprintf("field:%06d", i), fmt.Sprintf("value:%06d", i)}
		})},
	}
}

// heapAlloc is HeapAlloc after a full GC.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// storeBytes is the heap a fresh Store holding ds costs.
func storeBytes(t testing.TB, ds memoryDataset) float64 {
	before := heapAlloc()
	s := New(0)
	for _, c := range ds.cmds {
		if err := s.Apply(c); err != nil {
			t.Fatalf("%s: %v", ds.name, err)
		}
	}
	after := heapAlloc()
	runtime.KeepAlive(s)
	return float64(int64(after)-int64(before)) / memoryN
}

// memoryLimits are regression guards for storeBytes, about 1.5x what was
// measured when the test was written (Go 1.26, amd64).
var memoryLimits = map[string]float64{"key": 250, "element": 150}

// TestMemoryPerKey measures a Store's heap per key and per element and, when
// redis-server is available (and not -short), Redis' used_memory for the same
// commands. Run with -v to see the table.
func TestMemoryPerKey(t *testing.T) {
	datasets := memoryDatasets()
	ours := make([]float64, len(datasets))
	for i, ds := range datasets {
		ours[i] = storeBytes(t, ds)
		if lim := memoryLimits[ds.unit]; ours[i] > lim {
			t.Errorf("%s: %.1f bytes per %s, want <= %.0f", ds.name, ours[i], ds.unit, lim)
		}
	}

	theirs := make([]float64, len(datasets))
	redis := ""
	if redistest.Binary() != "" && !testing.Short() {
		srv := redistest.Start(t, nil)
		redis = srv.Version()
		for i, ds := range datasets {
			theirs[i] = redisBytes(t, srv, ds)
		}
	}
	t.Logf("%-52s %12s %12s %7s", "dataset", "store B/unit", "redis B/unit", "ratio")
	for i, ds := range datasets {
		line := fmt.Sprintf("%-52s %12.1f", ds.name+" per "+ds.unit, ours[i])
		if redis != "" {
			line += fmt.Sprintf(" %12.1f %6.2fx", theirs[i], ours[i]/theirs[i])
		}
		t.Log(line)
	}
	if redis != "" {
		t.Logf("redis %s, used_memory delta after FLUSHALL", redis)
	}
}

// redisBytes is the used_memory delta of running ds on an empty server.
func redisBytes(t *testing.T, srv *redistest.Server, ds memoryDataset) float64 {
	if _, err := srv.Do("FLUSHALL", "SYNC"); err != nil {
		t.Fatal(err)
	}
	before := usedMemory(t, srv)
	for _, c := range ds.cmds {
		if _, err := srv.DoBytes(c...); err != nil {
			t.Fatalf("%s: %v", ds.name, err)
		}
	}
	after := usedMemory(t, srv)
	return float64(after-before) / memoryN
}

func usedMemory(t *testing.T, srv *redistest.Server) int64 {
	m, err := srv.Info("memory")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(m["used_memory"], 10, 64)
	if err != nil {
		t.Fatalf("used_memory %q: %v", m["used_memory"], err)
	}
	return n
}

func BenchmarkStoreMemory(b *testing.B) {
	for _, ds := range memoryDatasets() {
		b.Run(ds.unit+"/"+ds.name[:4], func(b *testing.B) {
			var per float64
			for b.Loop() {
				per = storeBytes(b, ds)
			}
			b.ReportMetric(per, "B/"+ds.unit)
		})
	}
}
