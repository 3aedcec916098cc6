#!/usr/bin/env bash
# bench.sh - end-to-end benchmarks of rdbtool/aoftool against the tools they replace.
#
# Usage: scripts/bench.sh [SCALE]      (SCALE 0.01 = ~10 MB inputs, 0.1 = ~100 MB, 1 = ~1 GB)
#
# Generates (once, cached) strings.rdb, mixed.rdb and the aof-mixed/ appendonlydir with
# ../shared/bench/gen-big.sh (a real redis-server), builds our binaries, then runs each of
# our commands and the real tool on the same file, side by side, ROUNDS times, and prints
# median wall time, MB/s, the ratio (real tool time / our time: >1 means we are faster)
# and peak RSS (max over rounds, from /usr/bin/time).
#
# Env:
#   ROUNDS=5          rounds per command (median reported)
#   BENCH_DATA=/tmp/persistkit-bench   cache dir (inputs go to $BENCH_DATA/$SCALE)
#   GEN_BIG=../shared/bench/gen-big.sh
#   HDT_RDB=path      HDT3213/rdb binary (default: `rdb` from $GOBIN/PATH, else tried with go install)
#   ONLY=regex        run only the benchmarks whose name matches
#   PORT=7300         port for the redis-server runs
#   MD=1              print the table as Markdown too
#   SKIP_BUILD=1      use the binaries already in $BENCH_DATA/bin
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${1:-${SCALE:-0.01}}
ROUNDS=${ROUNDS:-5}
BENCH_DATA=${BENCH_DATA:-/tmp/persistkit-bench}
DATA=$BENCH_DATA/$SCALE
BIN=$BENCH_DATA/bin
GEN_BIG=${GEN_BIG:-$ROOT/../shared/bench/gen-big.sh}
PORT=${PORT:-7300}
ONLY=${ONLY:-.}
TIME=/usr/bin/time
mkdir -p "$DATA" "$BIN"

[ -x "$TIME" ] || { echo "bench.sh: $TIME missing (apt-get install time)" >&2; exit 1; }
for t in redis-server redis-cli redis-check-rdb redis-check-aof; do
  command -v "$t" >/dev/null || { echo "bench.sh: $t not on PATH (apt-get install redis-server)" >&2; exit 1; }
done

# ------------------------------------------------------------------ inputs
gen() { # $1 = strings|mixed|aof, $2 = file that proves it exists
  if [ ! -s "$2" ]; then
    echo "# generating $1 at SCALE=$SCALE in $DATA ..." >&2
    DATA=$DATA SCALE=$SCALE PORT=$((PORT + 90)) bash "$GEN_BIG" "$1" >"$DATA/gen-$1.out" 2>&1 ||
      { cat "$DATA/gen-$1.out" >&2; exit 1; }
  fi
}
gen strings "$DATA/strings.rdb"
gen mixed "$DATA/mixed.rdb"
gen aof "$DATA/aof-mixed/mixed.aof.manifest"
AOFDIR=$DATA/aof-mixed
MANIFEST=$AOFDIR/mixed.aof.manifest
# The issue's figures are for files in the page cache: read them once first, so the
# first command measured does not pay for the disk.
cat "$DATA/strings.rdb" "$DATA/mixed.rdb" "$AOFDIR"/*.aof >/dev/null

# ------------------------------------------------------------------ binaries
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "# building rdbtool, aoftool -> $BIN" >&2
  (cd "$ROOT" && go build -o "$BIN/" ./cmd/rdbtool ./cmd/aoftool)
fi
# Our digests follow the rules of the server version we compare with.
RV=$(redis-server --version | sed -n 's/.* v=\([0-9]*\.[0-9]*\).*/\1/p')
RDBTOOL=$BIN/rdbtool
AOFTOOL=$BIN/aoftool
HDT=${HDT_RDB:-}
if [ -z "$HDT" ]; then
  if command -v rdb >/dev/null && rdb -h 2>&1 | grep -q -- '-c'; then HDT=$(command -v rdb)
  elif [ -x "$BIN/hdt/rdb" ]; then HDT=$BIN/hdt/rdb
  elif GOBIN=$BIN/hdt GOFLAGS=-mod=mod go install github.com/hdt3213/rdb@latest >"$BIN/hdt.log" 2>&1; then HDT=$BIN/hdt/rdb
  else
    echo "# HDT3213/rdb not installable ($(tail -2 "$BIN/hdt.log" | tr '\n' ' ')): its rows are skipped" >&2
  fi
fi

# ------------------------------------------------------------------ real-tool workflows
# server_run MODE FILE OUTFILE: start redis-server on a copy-free setup, wait until the
# dataset is loaded, then SAVE (mode save) or DEBUG DIGEST (mode digest), shut down.
SRVDIR=$BENCH_DATA/srv
server_run() {
  local mode=$1 in=$2 out=$3 args=()
  rm -rf "$SRVDIR"; mkdir -p "$SRVDIR"
  case "$mode" in
    aof-*) cp -r "$in" "$SRVDIR/aof-mixed"   # a copy: the server may rewrite the manifest
           args=(--appendonly yes --appenddirname aof-mixed --appendfilename mixed.aof
                 --aof-use-rdb-preamble no --auto-aof-rewrite-percentage 0 --appendfsync no
                 --dbfilename out.rdb) ;;
    rdb-*) ln -s "$in" "$SRVDIR/dump.rdb"; args=(--appendonly no --dbfilename dump.rdb) ;;
  esac
  redis-server --port "$PORT" --bind 127.0.0.1 --dir "$SRVDIR" --save "" --daemonize no \
    --enable-debug-command local --logfile "$SRVDIR/log" "${args[@]}" &
  local pid=$! sfd log= n
  # Wait for the end of loading without forking a poller per probe (its CPU time would be
  # charged to the reference): $(<file) and read -t on an idle pipe are bash builtins.
  exec {sfd}<> <(:)
  # (a C-style loop: "for _ in $(seq 1 1000000)" made bash itself ~100 MiB
  # and charged its expansion to the reference's CPU time)
  for ((n = 0; n < 2000000; n++)); do
    [ -f "$SRVDIR/log" ] && log=$(<"$SRVDIR/log")
    [[ $log == *"Ready to accept connections"* ]] && break
    [[ $log == *"# Fatal"* || $log == *"Bad file format"* ]] && { echo "$log" >&2; break; }
    # A server that died (e.g. its port was taken) never gets ready.
    kill -0 "$pid" 2>/dev/null || { echo "bench.sh: redis-server exited: $(tail -3 "$SRVDIR/log" 2>/dev/null)" >&2; break; }
    read -r -t 0.005 -u "$sfd" _ || true
  done
  exec {sfd}>&-
  case "$mode" in
    *-save) redis-cli -p "$PORT" save >/dev/null ;;
    *-digest) redis-cli -p "$PORT" debug digest >"$out" ;;
  esac
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" 2>/dev/null || true
}
export -f server_run
export PORT SRVDIR

# ------------------------------------------------------------------ measuring
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# run_once WHO NAME CMD...: one timed run of CMD; appends its wall and user+sys seconds
# (children included) to W_<WHO> and C_<WHO>, keeps the largest peak RSS (KiB) in
# R_<WHO> and the exit status in RC_<WHO> (WHO is ours or ref).
run_once() {
  local -n walls=W_$1 cpus=C_$1 rss=R_$1 status=RC_$1
  local name=$2 tf=$BENCH_DATA/time.out w u s m
  shift 2
  # Outputs of the previous round go first, untimed: replacing a 1.7 GB
  # file makes the file system free it inside the timed rename (0.6 s on
  # ext4 here), a cost of the bench loop, not of the tool.
  rm -f "$OUT"/conv.* "$OUT"/hdt.*
  set +e
  "$TIME" -f '%e %U %S %M' -o "$tf" "$@" >/dev/null 2>"$BENCH_DATA/stderr.$name"
  status=$?
  set -e
  # GNU time prints "Command exited with non-zero status N" first.
  read -r w u s m < <(tail -1 "$tf")
  walls+=("$w"); cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')")
  ((m > rss)) && rss=$m
  return 0
}

ROWS=()
HDR=(benchmark MB "wall s" "cpu s" MB/s RSS reference "wall s" "cpu s" MB/s RSS "x wall" "x cpu")
FMT='%-26s %6s %7s %7s %5s %5s | %-27s %7s %7s %5s %5s | %6s %6s\n'
rate() { awk -v b="$1" -v t="$2" 'BEGIN{ if (t == "-") print "-"; else if (t > 0) printf "%.0f", b/1e6/t; else print "inf"}'; }
ratio() { awk -v a="$1" -v r="$2" 'BEGIN{ if (r == "-") print "-"; else if (a > 0) printf "%.1f", r/a; else print "inf"}'; }
mib() { [ "$1" = - ] && echo - || echo "$(($1 / 1024))M"; }
row() { # name size | ours: wall cpu rss | refname | ref: wall cpu rss
  local f=("$1" "$(awk -v b="$2" 'BEGIN{printf "%.1f", b/1e6}')" "$3" "$4" "$(rate "$2" "$3")" "$(mib "$5")"
    "$6" "$7" "$8" "$(rate "$2" "$7")" "$(mib "$9")" "$(ratio "$3" "$7")" "$(ratio "$4" "$8")")
  # shellcheck disable=SC2059
  printf "$FMT" "${f[@]}"
  local IFS='|'; ROWS+=("${f[*]}")
}

fsize() { stat -c %s "$1"; }
aofsize() { du -cb "$AOFDIR"/*.aof | tail -1 | cut -f1; }

# bench NAME SIZE "ours cmd" REFNAME "ref cmd"  (commands are eval'd strings)
# Rounds alternate ours and the reference, so that both meet the same minutes of a
# VM whose speed drifts (by 35-45% within an hour on the bench VM); each column is
# the median of its rounds.
bench() {
  local name=$1 size=$2 ours=$3 refname=$4 ref=$5 i rw=- rc=- rrss=-
  [[ $name =~ $ONLY ]] || return 0
  W_ours=() C_ours=() R_ours=0 RC_ours=0 W_ref=() C_ref=() R_ref=0 RC_ref=0
  for ((i = 0; i < ROUNDS; i++)); do
    run_once ours "$name" bash -c "$ours"
    [ -n "$ref" ] && run_once ref "$name-ref" bash -c "$ref"
  done
  [ "$RC_ours" = 0 ] || echo "# WARNING: $name exited $RC_ours: $(tail -2 "$BENCH_DATA/stderr.$name" | tr '\n' ' ')" >&2
  if [ -n "$ref" ]; then
    rw=$(printf '%s\n' "${W_ref[@]}" | median) rc=$(printf '%s\n' "${C_ref[@]}" | median) rrss=$R_ref
    [ "$RC_ref" = 0 ] || echo "# WARNING: $refname exited $RC_ref: $(tail -2 "$BENCH_DATA/stderr.$name-ref" | tr '\n' ' ')" >&2
  fi
  row "$name" "$size" "$(printf '%s\n' "${W_ours[@]}" | median)" "$(printf '%s\n' "${C_ours[@]}" | median)" "$R_ours" \
    "$refname" "$rw" "$rc" "$rrss"
}

OUT=$BENCH_DATA/out
mkdir -p "$OUT"
echo "# SCALE=$SCALE ROUNDS=$ROUNDS $(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(go version), commit $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- format keyspace cmd internal || echo +dirty)"
printf "$FMT" "${HDR[@]}"
for f in strings mixed; do
  F=$DATA/$f.rdb S=$(fsize "$F")
  bench "rdbtool check $f" "$S" "exec $RDBTOOL -q check $F" "redis-check-rdb" "exec redis-check-rdb $F"
done
S=$(aofsize)
bench "aoftool check" "$S" "exec $AOFTOOL -q check $MANIFEST" "redis-check-aof" "exec redis-check-aof $MANIFEST"
for f in strings mixed; do
  F=$DATA/$f.rdb S=$(fsize "$F")
  bench "rdbtool dump jsonl $f" "$S" "exec $RDBTOOL -q dump --format jsonl $F" \
    "HDT3213 rdb -c json" "${HDT:+exec $HDT -c json -o $OUT/hdt.json $F}"
done
for f in strings mixed; do
  F=$DATA/$f.rdb S=$(fsize "$F")
  bench "rdbtool convert aof $f" "$S" "exec $RDBTOOL -q convert --to aof -o $OUT/conv.aof $F" \
    "HDT3213 rdb -c aof" "${HDT:+exec $HDT -c aof -o $OUT/hdt.aof $F}"
done
S=$(aofsize)
bench "aoftool convert" "$S" "exec $AOFTOOL -q convert -o $OUT/conv.rdb $MANIFEST" \
  "redis-server load AOF+SAVE" "server_run aof-save $AOFDIR /dev/null"
for f in strings mixed; do
  F=$DATA/$f.rdb S=$(fsize "$F")
  bench "rdbtool digest $f" "$S" "exec $RDBTOOL -q digest --redis-version $RV $F >$OUT/digest.$f.ours" \
    "redis load RDB+DEBUG DIGEST" "server_run rdb-digest $F $OUT/digest.$f.ref"
  if [[ "rdbtool digest $f" =~ $ONLY ]]; then
    a=$(head -1 "$OUT/digest.$f.ours") b=$(head -1 "$OUT/digest.$f.ref")
    [ "$a" = "$b" ] || echo "# WARNING: digest of $f differs: ours $a, redis $b" >&2
  fi
done
S=$(aofsize)
bench "aoftool digest" "$S" "exec $AOFTOOL -q digest --redis-version $RV $MANIFEST >$OUT/digest.aof.ours" \
  "redis load AOF+DEBUG DIGEST" "server_run aof-digest $AOFDIR $OUT/digest.aof.ref"
if [[ "aoftool digest" =~ $ONLY ]]; then
  a=$(head -1 "$OUT/digest.aof.ours") b=$(head -1 "$OUT/digest.aof.ref")
  [ "$a" = "$b" ] || echo "# WARNING: digest of the AOF differs: ours $a, redis $b" >&2
fi

# Peak RSS of the streaming commands (issue 10: under 64 MiB on every input). No
# reference tool; the wall/cpu columns are there for information.
KEY=$BENCH_DATA/bench.key
[ -s "$KEY" ] || "$RDBTOOL" -q keygen -o "$KEY" >/dev/null
for f in strings mixed; do
  F=$DATA/$f.rdb S=$(fsize "$F")
  bench "rss rdbtool stats $f" "$S" "exec $RDBTOOL -q stats $F" "" ""
  bench "rss rdbtool memory $f" "$S" "exec $RDBTOOL -q memory $F" "" ""
  bench "rss rdbtool attest $f" "$S" "exec $RDBTOOL -q attest --key $KEY -o $OUT/attest.$f.json $F" "" ""
done
S=$(aofsize)
bench "rss aoftool dump" "$S" "exec $AOFTOOL -q dump $MANIFEST" "" ""
bench "rss aoftool attest" "$S" "exec $AOFTOOL -q attest --key $KEY -o $OUT/attest.aof.json $MANIFEST" "" ""

if [ "${MD:-0}" = 1 ]; then
  echo
  (IFS='|'; echo "|${HDR[*]}|" | sed 's/|/ | /g; s/^ //; s/ $//')
  echo "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
  for r in "${ROWS[@]}"; do echo "| ${r//|/ | } |"; done
fi
