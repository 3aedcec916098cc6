#!/usr/bin/env bash
# Static checks: go vet, gofmt, and the dependency rules of STYLE.md §2:
#   - format/* depend on the standard library only, and never on each other;
#   - keyspace never depends on cmd/*, internal/cli, cobra, color or tablewriter.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi

mod=$(go list -m)
fail=0
problem() {
	echo "check: $*" >&2
	fail=1
}

# With the tag, vet sees the integration tests too (a superset of files).
echo "go vet -tags integration ./..."
go vet -tags integration ./... || fail=1

echo "gofmt -l"
# Tracked and new (not ignored) files; outside a git checkout, every file.
gofiles=$(git ls-files -co --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*')
gofiles=$(grep -v '^\(\./\)\?fixtures/' <<<"$gofiles" || true)
unformatted=
if [ -n "$gofiles" ]; then
	unformatted=$(gofmt -l $gofiles 2>&1 || true)
fi
if [ -n "$unformatted" ]; then
	problem "files need gofmt -w:"
	echo "$unformatted" >&2
fi

echo "import rules"
# Non-stdlib dependencies of the format packages (their own path included).
fmt_pkgs=$(go list ./format/...)
for pkg in $fmt_pkgs; do
	while read -r dep; do
		[ -n "$dep" ] || continue
		[ "$dep" = "$pkg" ] && continue
		case "$dep" in
		"$mod"/format/*) problem "$pkg depends on $dep (format packages must not import each other)" ;;
		*) problem "$pkg depends on non-stdlib $dep (format packages are stdlib-only)" ;;
		esac
	done < <(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "$pkg")
done

if [ -d keyspace ]; then
	while read -r dep; do
		case "$dep" in
		"$mod"/cmd/* | "$mod"/internal/cli | "$mod"/internal/cli/* | github.com/spf13/cobra* | github.com/fatih/color* | github.com/olekukonko/tablewriter*)
			problem "keyspace depends on $dep (keyspace must not import CLI layers)" ;;
		esac
	done < <(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./keyspace/...)
fi

if [ "$fail" != 0 ]; then
	echo "check: FAILED" >&2
	exit 1
fi
echo "check: ok"
