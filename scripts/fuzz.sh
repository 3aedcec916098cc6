#!/usr/bin/env bash
# Runs one fuzz target by name, finding the package that defines it.
# Usage: scripts/fuzz.sh FuzzName [DURATION]   (DURATION default 1m, e.g. 30s, 10m, 1000x)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: scripts/fuzz.sh FuzzName [DURATION]" >&2
	exit 2
fi
name=$1
duration=${2:-1m}

files=$(grep -rlE --include='*_test.go' "^func ${name}\(" . || true)
dirs=$(for f in $files; do dirname "$f"; done | sort -u)
count=$(printf '%s\n' "$dirs" | grep -c . || true)
if [ "$count" = 0 ]; then
	echo "fuzz.sh: no fuzz target $name; known targets:" >&2
	grep -rhoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/^func /  /' | sort -u >&2
	exit 2
fi
if [ "$count" -gt 1 ]; then
	echo "fuzz.sh: $name is defined in several packages:" $dirs >&2
	exit 2
fi
# New crashers land in $dir/testdata/fuzz/$name; commit them with the fix.
exec go test -run='^$' -fuzz="^${name}\$" -fuzztime="$duration" "$dirs"
