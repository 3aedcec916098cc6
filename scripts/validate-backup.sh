#!/usr/bin/env bash
# validate-backup.sh: validate Redis backups (RDB files, AOF files or
# appendonlydir directories) in CI with "rdbtool validate". See README,
# "Validate backups in CI".
#
# Usage: validate-backup.sh PATH...
#
# Environment (all optional):
#   ATTESTATION    signed attestation written by "rdbtool attest"; needs PUBKEY or PUBKEY_PEM
#   PUBKEY         public key file (KEYFILE.pub from "rdbtool keygen")
#   PUBKEY_PEM     the public key PEM itself (e.g. a CI variable), instead of PUBKEY
#   MAX_AGE        fail when the attestation is older, e.g. 26h
#   MIN_KEYS       fail a PATH holding fewer keys
#   EXPECT_DIGEST  fail a PATH whose DEBUG DIGEST differs (40 hex)
#   VALIDATE_JSON  1: print one JSON object instead of PASS/FAIL lines
#   VALIDATE_NOW   reference time for MAX_AGE (Unix ms or RFC 3339; tests)
#   RDBTOOL        rdbtool binary to use; default: build it from the checkout
#                  this script lives in (needs go), else rdbtool on PATH
#
# Exit status is rdbtool's: 0 every check passed, 3 a check failed,
# 2 usage error, 1 I/O error.
set -euo pipefail

if [ "$#" -eq 0 ]; then
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${RDBTOOL:-}" ]; then
	bin=$RDBTOOL
elif [ -f "$here/../go.mod" ] && command -v go >/dev/null 2>&1; then
	echo "validate-backup: building rdbtool from $here/.." >&2
	(cd "$here/.." && go build -o "$tmp/rdbtool" ./cmd/rdbtool)
	bin=$tmp/rdbtool
elif command -v rdbtool >/dev/null 2>&1; then
	bin=rdbtool
else
	echo "validate-backup: error: no rdbtool: set RDBTOOL, install Go, or put rdbtool on PATH" >&2
	exit 1
fi

args=(validate)
if [ -n "${PUBKEY_PEM:-}" ]; then
	printf '%s\n' "$PUBKEY_PEM" >"$tmp/pubkey.pem"
	PUBKEY=$tmp/pubkey.pem
fi
[ -n "${ATTESTATION:-}" ] && args+=(--attestation "$ATTESTATION")
[ -n "${PUBKEY:-}" ] && args+=(--pub "$PUBKEY")
[ -n "${MAX_AGE:-}" ] && args+=(--max-age "$MAX_AGE")
[ -n "${MIN_KEYS:-}" ] && args+=(--min-keys "$MIN_KEYS")
[ -n "${EXPECT_DIGEST:-}" ] && args+=(--expect-digest "$EXPECT_DIGEST")
[ -n "${VALIDATE_NOW:-}" ] && args+=(--now "$VALIDATE_NOW")
[ "${VALIDATE_JSON:-}" = 1 ] && args+=(--json)

# Not exec: the trap must remove the temp directory afterwards.
set +e
"$bin" "${args[@]}" -- "$@"
rc=$?
exit "$rc"
