#!/usr/bin/env bash
# fuzz.sh runs every Go fuzz target in the module, one at a time (go test
# takes one -fuzz target per package per run), for FUZZTIME each (default
# 10s), and stops at the first failure. New failing inputs land in the
# package's testdata/fuzz/, which is committed.
#
#   scripts/fuzz.sh                 # or: make fuzz
#   FUZZTIME=60s scripts/fuzz.sh    # or: make fuzz FUZZTIME=60s
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}
# Minimising a new interesting input defaults to 60s, which can stall a short
# run on a large seed (a whole event batch) for its entire length.
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-5s}
GO=${GO:-go}

# file:func lines, e.g. ./protocol/fuzz_test.go:FuzzParseCode
mapfile -t targets < <(
	grep -rEo --include='*_test.go' --exclude-dir=vendor --exclude-dir=.git --exclude-dir=testdata \
		'^func Fuzz([A-Z0-9_][A-Za-z0-9_]*)?\(' . |
		sed -E 's/:func (Fuzz[A-Za-z0-9_]*)\($/:\1/' |
		sort
)

if ((${#targets[@]} == 0)); then
	echo "fuzz: no fuzz targets found"
	exit 0
fi

echo "fuzz: ${#targets[@]} target(s), ${FUZZTIME} each"
for t in "${targets[@]}"; do
	file=${t%%:*}
	name=${t##*:}
	pkg=./$(dirname "${file#./}")
	echo "fuzz: $name in $pkg"
	if ! "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime="$FUZZMINIMIZETIME" "$pkg"; then
		echo "fuzz: FAILED: $name in $pkg (a new failing input, if any, is under $pkg/testdata/fuzz/$name/)" >&2
		exit 1
	fi
done
echo "fuzz: all ${#targets[@]} target(s) passed"
