package clitest

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Truth is a corpus truth.json: what the oracle server reported for every
// key after loading the fixture.
type Truth struct {
	Server struct{ Name, Version string } `json:"server"`
	DBs    map[string][]map[string]any    `json:"dbs"`
}

// LoadTruth reads a truth.json.
func LoadTruth(path string) (*Truth, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t Truth
	return &t, json.Unmarshal(data, &t)
}

// LoadNow is the oracle server's load time: pexpiretime - pttl of a key.
func (t *Truth) LoadNow() int64 {
	dbs := make([]string, 0, len(t.DBs))
	for k := range t.DBs {
		dbs = append(dbs, k)
	}
	sort.Strings(dbs)
	for _, db := range dbs {
		for _, k := range t.DBs[db] {
			pt, ok := k["pttl"].(float64)
			if !ok || pt < 0 {
				continue
			}
			if pe, ok := k["pexpiretime"].(float64); ok && pe > 0 {
				return int64(pe - pt)
			}
			if pe, ok := k["pexpiretime_approx"].(float64); ok {
				return int64(pe - pt)
			}
		}
	}
	return 0
}

// RedisVersion is the digest rules' version (X.Y) of the oracle server.
func (t *Truth) RedisVersion() string {
	if t.Server.Name == "valkey" {
		return "7.2"
	}
	m := regexp.MustCompile(`^(\d+)\.(\d+)`).FindStringSubmatch(t.Server.Version)
	if m == nil {
		return ""
	}
	if m[1]+"."+m[2] == "7.9" {
		return "8.0"
	}
	return m[1] + "." + m[2]
}

// Args are the --now and --redis-version flags that reproduce the oracle.
func (t *Truth) Args() []string {
	var args []string
	if n := t.LoadNow(); n != 0 {
		args = append(args, "--now", strconv.FormatInt(n, 10))
	}
	if v := t.RedisVersion(); v != "" {
		args = append(args, "--redis-version", v)
	}
	return args
}

// OracleDigest is the "DEBUG DIGEST <hex>" of a corpus digest.txt, or "".
func OracleDigest(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "DEBUG DIGEST ") {
			return strings.Fields(line)[2]
		}
	}
	return ""
}
