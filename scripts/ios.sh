#!/usr/bin/env bash
# Builds PatchRT for iOS (macOS with Xcode only):
#   scripts/ios.sh         ios/PatchRTFFI.xcframework (libpatchrt_ffi.a for iPhone,
#                          and arm64 + x86_64 simulators in one lipo'd slice, with
#                          the C header and module map) and the generated Swift in
#                          ios/Sources/PatchRT/Generated
#   scripts/ios.sh --test  then runs the Swift package's tests on a simulator
#                          (PATCHRT_IOS_DESTINATION overrides the destination)
#
# The Swift package is ios/Package.swift; usage: docs/mobile.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

device=aarch64-apple-ios
sims=(aarch64-apple-ios-sim x86_64-apple-ios)
# Matches `platforms: [.iOS(.v15)]` in ios/Package.swift; read by rustc and cc.
export IPHONEOS_DEPLOYMENT_TARGET=15.0

stage="$root/target/ios"
xcframework="$root/ios/PatchRTFFI.xcframework"
swift_out="$root/ios/Sources/PatchRT/Generated"
generated="$root/bindings/generated/swift"

say() { printf 'ios: %s\n' "$*" >&2; }
fail() {
	say "$@"
	exit 1
}

run_tests=0
for arg in "$@"; do
	case "$arg" in
	--test) run_tests=1 ;;
	-h | --help)
		sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) fail "unknown argument '$arg' (try --help)" ;;
	esac
done

# --- Prerequisites -------------------------------------------------------------

if [ "$(uname -s)" != Darwin ]; then
	fail "this script needs macOS with Xcode (xcodebuild, lipo and the iOS SDKs);
this machine runs $(uname -s). Build the XCFramework on a Mac: docs/mobile.md"
fi
xcrun --find xcodebuild >/dev/null 2>&1 && xcrun --sdk iphoneos --show-sdk-path >/dev/null 2>&1 ||
	fail "Xcode with the iOS SDK is missing. Install Xcode from the App Store, then:
  sudo xcode-select --switch /Applications/Xcode.app/Contents/Developer"

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
	export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || fail "cargo is missing. Install Rust: https://rustup.rs"
if command -v rustup >/dev/null 2>&1; then
	installed="$(rustup target list --installed)"
	missing=()
	for t in "$device" "${sims[@]}"; do
		grep -qx "$t" <<<"$installed" || missing+=("$t")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		fail "missing Rust targets. Add them with:
  rustup target add ${missing[*]}"
	fi
fi

# --- Static libraries ---------------------------------------------------------------

for t in "$device" "${sims[@]}"; do
	say "building libpatchrt_ffi.a for $t"
	cargo build --release -p patchrt-ffi --target "$t"
	[ -f "target/$t/release/libpatchrt_ffi.a" ] || fail "cargo did not produce target/$t/release/libpatchrt_ffi.a"
done

# One XCFramework slice per platform: both simulator architectures go in one
# fat library.
sim_libs=()
for t in "${sims[@]}"; do
	sim_libs+=("target/$t/release/libpatchrt_ffi.a")
done
mkdir -p "$stage/sim"
xcrun lipo -create "${sim_libs[@]}" -output "$stage/sim/libpatchrt_ffi.a"

# --- Generated Swift, C header and module map -------------------------------------------

if [ -z "$(find "$generated" -name '*.swift' -print -quit 2>/dev/null)" ]; then
	say "no generated Swift in $generated; running scripts/bindings.sh"
	bash "$root/scripts/bindings.sh"
fi
modulemap="$(find "$generated" -name '*.modulemap' -print -quit 2>/dev/null)"
[ -n "$modulemap" ] || fail "no .modulemap in $generated: scripts/bindings.sh must generate Swift with headers and a module map"
module="$(sed -n 's/^ *\(framework \)\{0,1\}module \([A-Za-z0-9_]*\).*/\2/p' "$modulemap" | head -n 1)"
[ -n "$module" ] || fail "cannot read the module name from $modulemap"
header="$generated/$module.h"
[ -f "$header" ] || fail "missing $header (the header $modulemap names)"

# Headers go in a folder named after the module, and the module map is renamed
# module.modulemap: Xcode merges every XCFramework's headers into one include
# folder, and clang finds <include>/<module>/module.modulemap by the name.
headers="$stage/headers"
rm -rf "$headers"
mkdir -p "$headers/$module"
cp "$header" "$headers/$module/"
# The XCFramework holds static libraries, not frameworks: a module map written
# for a framework (uniffi-bindgen-swift --xcframework) is turned into a plain one.
sed 's/^\( *\)framework module /\1module /' "$modulemap" >"$headers/$module/module.modulemap"

# --- XCFramework -------------------------------------------------------------------------

rm -rf "$xcframework"
xcodebuild -create-xcframework \
	-library "target/$device/release/libpatchrt_ffi.a" -headers "$headers" \
	-library "$stage/sim/libpatchrt_ffi.a" -headers "$headers" \
	-output "$xcframework"

rm -rf "$swift_out"
mkdir -p "$swift_out"
find "$generated" -name '*.swift' -exec cp {} "$swift_out/" \;
say "wrote $xcframework and $(find "$swift_out" -name '*.swift' | wc -l | tr -d ' ') Swift file(s) into $swift_out"

# --- Tests on a simulator -------------------------------------------------------------------

[ "$run_tests" -eq 1 ] || exit 0
destination="${PATCHRT_IOS_DESTINATION:-platform=iOS Simulator,name=iPhone 16}"
say "running the package tests on '$destination' (xcrun simctl list devices available lists others)"
cd "$root/ios"
xcodebuild test -scheme PatchRT -destination "$destination"
