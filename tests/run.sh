#!/bin/bash
# THE test command (README, CI): install what is missing, build plain into
# build/ and with ASan+UBSan into build-asan/, run every test with ctest in
# both (the `format` test runs once, in build/). Exits non-zero if anything
# failed.
#
# Usage: tests/run.sh [CTEST ARGS...]     e.g. tests/run.sh -L unit
# Environment:
#   EXECFS_JOBS=N         build parallelism (default: nproc)
#   EXECFS_SANITIZED=0    skip the sanitized build and run
#   EXECFS_FUZZ=0         skip the libFuzzer build and the fuzz tests
#   EXECFS_SKIP_DEPS=1    do not check/install Debian packages
#   EXECFS_CPU_HOGS=N     run N busy loops (`yes > /dev/null`) for the whole
#                         run, e.g. EXECFS_CPU_HOGS=$(nproc): the suite must
#                         pass on a machine that is busy with something else
set -eu -o pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$src"
jobs=${EXECFS_JOBS:-$(nproc)}
start=$(date +%s)

step() {
	printf '\n=== run.sh: %s (%ss)\n' "$*" "$(($(date +%s) - start))"
}

hogs=()
stop_hogs() {
	[ ${#hogs[@]} -eq 0 ] || kill "${hogs[@]}" 2>/dev/null || true
	hogs=()
}
trap stop_hogs EXIT
if [ "${EXECFS_CPU_HOGS:-0}" -gt 0 ]; then
	for ((i = 0; i < EXECFS_CPU_HOGS; i++)); do
		yes >/dev/null &
		hogs+=($!)
	done
	step "${#hogs[@]} busy loops running until the end (EXECFS_CPU_HOGS)"
fi

if [ "${EXECFS_SKIP_DEPS:-0}" != 1 ]; then
	step "packages"
	bash .ci/install-deps.sh
fi

# configure DIR [CMAKE ARGS...]: a compiler is chosen only at the first
# configure (changing it later would need a fresh directory).
configure() {
	local dir=$1
	shift
	if [ -f "$dir/CMakeCache.txt" ]; then
		cmake -S . -B "$dir" "$@"
	else
		cmake -S . -B "$dir" "$@" ${sanitize_cc:+"-DCMAKE_C_COMPILER=$sanitize_cc"}
	fi
}

step "build (plain) in build/"
sanitize_cc=
configure build -DEXECFS_SANITIZE=OFF
cmake --build build -j "$jobs"

builds=(build)
if [ "${EXECFS_SANITIZED:-1}" != 0 ]; then
	step "build (ASan+UBSan) in build-asan/"
	sanitize_cc=$(command -v clang || command -v gcc)
	configure build-asan -DEXECFS_SANITIZE=ON
	cmake --build build-asan -j "$jobs"
	builds+=(build-asan)
fi

# Fuzz targets need clang's libFuzzer; in their own build (coverage
# instrumentation everywhere), where only the fuzz tests run.
if [ "${EXECFS_FUZZ:-1}" != 0 ] && command -v clang >/dev/null; then
	step "build (libFuzzer) in build-fuzz/"
	sanitize_cc=$(command -v clang)
	configure build-fuzz -DEXECFS_FUZZ=ON -DEXECFS_SANITIZE=OFF
	cmake --build build-fuzz -j "$jobs"
	builds+=(build-fuzz)
fi

total_pass=0
total_fail=0
total_skip=0
status=0
for dir in "${builds[@]}"; do
	args=(--output-on-failure --no-compress-output)
	if [ "$dir" = build-fuzz ]; then
		args+=(-L '^fuzz$')
	fi
	if [ "$dir" = build-asan ]; then
		# The format check does not depend on the build: run it once.
		args+=(-E '^format$')
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:print_summary=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	fi
	step "ctest in $dir/"
	log=$dir/run-ctest.log
	rc=0
	(cd "$dir" && ctest "${args[@]}" "$@") 2>&1 | tee "$log" || rc=$?
	[ "$rc" -eq 0 ] || status=1
	# "NN% tests passed, F tests failed out of T"
	summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
	if [ -n "$summary" ]; then
		f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
		t=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$summary")
		skipped=$(grep -c '(Skipped)$' "$log" || true)
		total_pass=$((total_pass + t - f - skipped))
		total_fail=$((total_fail + f))
		total_skip=$((total_skip + skipped))
	elif [ "$rc" -ne 0 ]; then
		total_fail=$((total_fail + 1))
	fi
done

step "done"
echo "run.sh: ${builds[*]}: $((($(date +%s) - start) / 60)) min"
echo "tests: $total_pass passed, $total_fail failed, $total_skip skipped"
exit "$status"
