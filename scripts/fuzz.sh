#!/usr/bin/env bash
# Fuzzes the runtime's untrusted-input parsers (runtime/fuzz/README.md):
# bundle manifest, bundle container (+ verification), patch file, backbone file.
#
#   scripts/fuzz.sh [EXECS [TARGET...]]
#
# EXECS: libFuzzer executions per target (default 1000000). TARGET: any of
# bundle_manifest bundle_container patch_file backbone_file (default: all,
# one after another). Needs a nightly toolchain (cargo-fuzz builds with
# sanitizers); installs cargo-fuzz if missing. Not part of CI.
#
# The growing corpus is kept in runtime/fuzz/corpus/<target>/ (git-ignored),
# libFuzzer's output in runtime/fuzz/artifacts/logs/<target>.log, crashes in
# runtime/fuzz/artifacts/<target>/. A crash: minimise it with
#   (cd runtime && cargo +nightly fuzz tmin -a <target> fuzz/artifacts/<target>/crash-...)
# and commit the result under runtime/fuzz/regressions/<target>/, which
# tests/tests/fuzz_regressions.rs replays on stable.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v cargo >/dev/null 2>&1; then
	export PATH="$HOME/.cargo/bin:$PATH"
fi

runs="${1:-1000000}"
shift || true
all=(bundle_manifest bundle_container patch_file backbone_file)
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${all[@]}")

# Largest input per target: a little above the largest seed, so that mutations
# can grow files without the fuzzer spending its time hashing megabytes.
declare -A max_len=(
	[bundle_manifest]=8192
	[bundle_container]=65536
	[patch_file]=32768
	[backbone_file]=65536
)
for t in "${targets[@]}"; do
	[ -n "${max_len[$t]:-}" ] || {
		echo "unknown fuzz target $t; targets: ${all[*]}" >&2
		exit 2
	}
done

if ! rustup toolchain list | grep -q '^nightly'; then
	echo "cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
	exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
	cargo install cargo-fuzz --locked
fi

# Seeds are deterministic; regenerating them rewrites the committed bytes.
cargo run -q -p patchrt-tests --example fuzz_seeds >/dev/null

mkdir -p runtime/fuzz/artifacts/logs
failed=()
summary=()
for t in "${targets[@]}"; do
	mkdir -p "runtime/fuzz/corpus/$t"
	log="runtime/fuzz/artifacts/logs/$t.log"
	# -a: debug assertions and overflow checks, as in the test profile.
	cmd=(cargo +nightly fuzz run -a "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" --
		"-runs=$runs" "-max_len=${max_len[$t]}" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=30
		-print_final_stats=1)
	echo "== $t: (cd runtime && ${cmd[*]})"
	start=$(date +%s)
	if (cd runtime && "${cmd[@]}") >"$log" 2>&1; then
		status=ok
	else
		status="FAILED (see $log)"
		failed+=("$t")
	fi
	wall=$(($(date +%s) - start))
	done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1 || true)
	final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
	line="$t: $status; ${done_line:-no Done line}; wall ${wall}s (with build); ${final:-}"
	echo "$line"
	summary+=("$line")
done

echo
echo "== summary ($runs runs per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "failed: ${failed[*]}; the log says whether the build failed or which" \
		"input crashed (kept in runtime/fuzz/artifacts/<target>/)" >&2
	exit 1
fi
