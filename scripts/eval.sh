#!/usr/bin/env bash
# Scores freshly built rdbtool/aoftool against the shared ground-truth corpus
# with ../shared/tools/corpus_eval.py (outside this repo; not part of test.sh).
# Usage: scripts/eval.sh [corpus_eval.py args, e.g. --only digest,dump]
# Env: CORPUS (default ../shared/corpus), EVAL_JSON (default /tmp/eval.json).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="/usr/local/go/bin:$PATH"
fi

evaluator=../shared/tools/corpus_eval.py
corpus=${CORPUS:-../shared/corpus}
if [ ! -f "$evaluator" ]; then
	echo "eval.sh: $evaluator not found (it lives beside the repo, in shared/)" >&2
	exit 1
fi

mkdir -p bin
go build -o bin/rdbtool ./cmd/rdbtool
go build -o bin/aoftool ./cmd/aoftool
python3 "$evaluator" --bin bin "$corpus" --json "${EVAL_JSON:-/tmp/eval.json}" "$@"
echo "details: ${EVAL_JSON:-/tmp/eval.json}"
