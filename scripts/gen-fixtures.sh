#!/usr/bin/env bash
# Regenerates a Redis 7.0 "types-small" fixture with Debian's redis-server:
# starts a private server (unix socket only, no TCP port), writes the same
# keys and values as the corpus dataset types-small, SAVEs, and writes
#   OUTDIR/dump.rdb     the server's RDB
#   OUTDIR/digest.txt   "DEBUG DIGEST <hex>", then "db0 <key> <DEBUG DIGEST-VALUE>" per key
# With Debian 12's redis-server 7.0.15 the digest equals
# fixtures/corpus/7.0.15-debian/types-small/digest.txt (the RDB bytes differ in
# the ctime/used-mem AUX fields and in key order). See fixtures/SOURCES.md.
#
# Usage: scripts/gen-fixtures.sh OUTDIR     (REDIS_SERVER / REDIS_CLI override the binaries)
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: scripts/gen-fixtures.sh OUTDIR" >&2
	exit 2
fi
out=$1
server=${REDIS_SERVER:-redis-server}
cli=${REDIS_CLI:-redis-cli}
for b in "$server" "$cli"; do
	if ! command -v "$b" >/dev/null 2>&1; then
		echo "gen-fixtures: $b not found; install: apt-get install -y redis-server redis-tools" >&2
		exit 1
	fi
done
version=$("$server" --version | sed -nE 's/.* v=([0-9.]+) .*/\1/p')
case "$version" in
7.0.*) ;;
*) echo "gen-fixtures: warning: redis-server $version; the fixtures are meant to come from 7.0 (RDB v10)" >&2 ;;
esac

mkdir -p "$out"
work=$(mktemp -d)
sock=$work/redis.sock
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		"$cli" -s "$sock" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
		sleep 0.2
		kill "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# --port 0: no TCP listener at all, so runs never collide on a port.
"$server" --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$work" \
	--save "" --appendonly no --enable-debug-command local \
	--daemonize no --logfile "$work/redis.log" &
pid=$!
for _ in $(seq 100); do
	[ "$("$cli" -s "$sock" PING 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
if [ "$("$cli" -s "$sock" PING 2>/dev/null)" != PONG ]; then
	echo "gen-fixtures: redis-server did not start:" >&2
	cat "$work/redis.log" >&2
	exit 1
fi

# The workload: one command per line, in redis-cli's quoting (double quotes
# take \xHH, \r, \n escapes), so binary values need no special tooling.
workload() {
	local uni='héllo wörld ✓ 日本語 🎉 Ω≈ç√∫'
	# strings: every integer-encoding edge and strings that only look numeric
	cat <<-CMDS
	SET s:short hello
	SET s:int 12345
	SET s:int8 127
	SET s:int8neg -128
	SET s:int16 32767
	SET s:int32 2147483647
	SET s:int32neg -2147483648
	SET s:int64max 9223372036854775807
	SET s:int64min -9223372036854775808
	SET s:int64overflow 9223372036854775808
	SET s:neg -42
	SET s:negzero -0
	SET s:zero 0
	SET s:leadingzero 007
	SET s:plus +5
	SET s:space " 1"
	SET s:float 3.14159
	SET s:longint 123456789012345678901234567890
	SET s:empty ""
	SET s:21chars abcdefghijklmnopqrstu
	SET s:unicode "$uni"
	SET s:bin "\x00\x01\xff\xfe\r\n"
	CMDS
	# lists (listpack inside a quicklist)
	printf 'RPUSH l:small a b 1 2 -3 "" %s 12345678901 9223372036854775807\n' "$(printf 'x%.0s' $(seq 40))"
	echo 'RPUSH l:one only'
	printf 'RPUSH l:ints'
	for i in $(seq 0 19); do printf ' %d' $((i * 1000 - 3)); done
	echo
	# hashes (listpack)
	echo 'HSET h:small f1 v1'
	printf 'HMSET h:small num 123 neg -7 empty "" uni "%s" bin "\\x00\\xff"\n' "$uni"
	echo 'HSET h:one k v'
	# sets: intsets of each width, listpack/hashtable string sets
	cat <<-CMDS
	SADD st:int16 1 2 3 -5 32767 -32768
	SADD st:int32 1 100000 -70000 2147483647
	SADD st:int64 1 5000000000 -9223372036854775808 9223372036854775807
	SADD st:str a b c hello
	SADD st:mixed 1 a 2
	SADD st:one x
	ZADD z:small 1 a -2.5 b inf c -inf d 0.1 e 1e300 f 123456789012345 g 0 h 3.0000000000000004 i
	ZADD z:one 42 answer
	CMDS
	printf 'ZADD z:ints'
	for i in $(seq 0 9); do printf ' %d m%d' "$i" "$i"; done
	echo
	# a sparse HyperLogLog (a string value)
	printf 'PFADD hll:sparse'
	for i in $(seq 0 29); do printf ' e%d' "$i"; done
	echo
	# a small stream with explicit IDs
	echo 'XADD x:small 1-1 f v'
	echo 'XADD x:small 1-2 f v2 g w'
}

replies=$(workload | "$cli" -s "$sock")
if grep -q '^ERR\|^(error)\|^WRONGTYPE' <<<"$replies"; then
	echo "gen-fixtures: a command failed:" >&2
	echo "$replies" >&2
	exit 1
fi

"$cli" -s "$sock" SAVE >/dev/null
cp "$work/dump.rdb" "$out/dump.rdb"
{
	echo "DEBUG DIGEST $("$cli" -s "$sock" DEBUG DIGEST)"
	# Keys here are plain ASCII without spaces; sort by bytes like the corpus.
	# One redis-cli for all keys: its replies come back in order.
	keys=$("$cli" -s "$sock" --scan | LC_ALL=C sort)
	paste -d ' ' <(sed 's/^/db0 /' <<<"$keys") \
		<(sed 's/^/DEBUG DIGEST-VALUE /' <<<"$keys" | "$cli" -s "$sock")
} >"$out/digest.txt"
echo "gen-fixtures: redis-server $version: wrote $out/dump.rdb ($(wc -c <"$out/dump.rdb") bytes) and $out/digest.txt ($(($(wc -l <"$out/digest.txt") - 1)) keys)"
