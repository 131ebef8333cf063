#!/usr/bin/env bash
# gofmt.sh fails, listing them, when any tracked or untracked (but not
# ignored) .go file is not gofmt'd. Files under testdata/ are skipped, as the
# go command skips them.
set -euo pipefail

cd "$(dirname "$0")/.."

files=()
while IFS= read -r f; do
	case "$f" in
	testdata/* | */testdata/*) continue ;;
	esac
	if [[ -f "$f" ]]; then
		files+=("$f")
	fi
done < <(
	if git rev-parse --git-dir >/dev/null 2>&1; then
		git ls-files --cached --others --exclude-standard -- '*.go' | sort -u
	else
		find . -name '*.go' -not -path './vendor/*' -not -path './.git/*' | sort
	fi
)

if ((${#files[@]} == 0)); then
	echo "gofmt: no .go files"
	exit 0
fi

if ! unformatted=$(gofmt -l "${files[@]}"); then
	echo "gofmt: gofmt failed (a syntax error?)" >&2
	exit 1
fi
if [[ -n "$unformatted" ]]; then
	echo "gofmt: these files are not gofmt'd (run gofmt -w on them):" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "gofmt: ${#files[@]} files ok"
