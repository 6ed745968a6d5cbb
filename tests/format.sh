#!/bin/bash
# The `format` test: every *.c/*.h under fs transport agent include tests
# must be clean under the root .clang-format (Linux kernel style).
# Usage: tests/format.sh [--fix] [SOURCE_DIR]
#   --fix   rewrite the files in place instead of checking them
# Exits 77 (ctest: skipped) when there is no .clang-format at the root.
set -eu

fix=0
if [ "${1:-}" = --fix ]; then
	fix=1
	shift
fi
src=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$src"

if [ ! -f .clang-format ]; then
	echo "format: no .clang-format at $src, skipped"
	exit 77
fi

cf=
for c in clang-format clang-format-19 clang-format-18 clang-format-17 \
	clang-format-16 clang-format-15 clang-format-14; do
	if command -v "$c" >/dev/null; then
		cf=$c
		break
	fi
done
if [ -z "$cf" ]; then
	echo "format: clang-format not found (.ci/install-deps.sh installs it)" >&2
	exit 1
fi

files=()
while IFS= read -r -d '' f; do
	files+=("$f")
done < <(find fs transport agent include tests -type f \
	\( -name '*.c' -o -name '*.h' \) -print0 2>/dev/null | sort -z)

if [ ${#files[@]} -eq 0 ]; then
	echo "format: no C files"
	exit 0
fi

if [ $fix -eq 1 ]; then
	"$cf" -i "${files[@]}"
	echo "format: rewrote ${#files[@]} files"
	exit 0
fi

# One clang-format for every file (a process per file is minutes on a
# busy machine); only when that fails, one per file to name them.
if "$cf" --dry-run -Werror "${files[@]}" >/dev/null 2>&1; then
	echo "format: ${#files[@]} files clean ($("$cf" --version))"
	exit 0
fi
bad=()
for f in "${files[@]}"; do
	"$cf" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
# What would change, a few lines per file, then the list.
for f in "${bad[@]}"; do
	"$cf" "$f" | diff -u --label "$f" --label "$f (formatted)" "$f" - |
		head -n 25 || true
done
echo
echo "format: ${#bad[@]} of ${#files[@]} files are not clang-format clean:" >&2
printf '  %s\n' "${bad[@]}" >&2
echo "format: run tests/format.sh --fix (clang-format -i) and review the diff" >&2
exit 1
