#!/usr/bin/env bash
# Kotlin and Swift bindings: builds the patchrt-ffi cdylib, generates the
# foreign code in library mode with the workspace's own uniffi-bindgen
# (bindings/bindgen, same UniFFI version as the library), then compiles the
# generated Kotlin with the Kotlin compiler from Maven Central and runs the JVM
# tests (bindings/tests/kotlin) against the cdylib through JNA.
#
# The generated sources are not committed (bindings/generated/ is ignored), so
# "the bindings are current" means: generation from this commit's library
# succeeds and the Kotlin tests compile and pass against it. Swift is generated
# here but compiled only on macOS (see ios/).
#
# Usage: bash scripts/bindings.sh        (from any directory)
# Needs: cargo, a JDK 17+, Maven; a Vulkan adapter (scripts/setup.sh installs
# Mesa's software one). The first run downloads Maven plugins and compiles
# uniffi-bindgen; later runs reuse both.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v cargo >/dev/null 2>&1; then
	export PATH="$HOME/.cargo/bin:$PATH"
fi
# Mesa's Vulkan WSI complains on every start when this is unset (headless machines).
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
	XDG_RUNTIME_DIR="$(mktemp -d)"
	export XDG_RUNTIME_DIR
fi

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$(uname -s)" in
Darwin) lib="$target_dir/release/libpatchrt_ffi.dylib" ;;
*) lib="$target_dir/release/libpatchrt_ffi.so" ;;
esac
out="$root/bindings/generated"

echo "bindings: building patchrt-ffi and uniffi-bindgen (release)"
cargo build --release --quiet -p patchrt-ffi -p patchrt-uniffi-bindgen

echo "bindings: generating Kotlin and Swift from $(basename "$lib")"
rm -rf "$out"
for language in kotlin swift; do
	"$target_dir/release/uniffi-bindgen" generate --library "$lib" \
		--language "$language" --out-dir "$out/$language" --no-format
done
test -s "$out/kotlin/dev/patchrt/patchrt_ffi.kt"
test -s "$out/swift/patchrt_ffi.swift"

# The Swift package keeps the generated Swift (no Swift toolchain is needed to
# consume it); it must match what this build generates.
kept="$root/ios/Sources/PatchRT/Generated/patchrt_ffi.swift"
if ! cmp -s "$out/swift/patchrt_ffi.swift" "$kept"; then
	echo "bindings: $kept is not the Swift generated from this build; update it with:" >&2
	echo "  mkdir -p ios/Sources/PatchRT/Generated && cp bindings/generated/swift/patchrt_ffi.swift ios/Sources/PatchRT/Generated/" >&2
	exit 1
fi

echo "bindings: Kotlin JVM tests (Maven)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! mvn -B -Dstyle.color=never -f bindings/tests/kotlin/pom.xml \
	-Dpatchrt.lib.dir="$(dirname "$lib")" test >"$log" 2>&1; then
	tail -n 100 "$log"
	echo "bindings: Kotlin tests FAILED" >&2
	exit 1
fi
# Maven is quiet on success except for surefire's summary.
grep -E '^\[(INFO|WARNING)\] Tests run:' "$log" | tail -n 1
echo "bindings: OK"
