#!/usr/bin/env bash
# Builds PatchRT for Android:
#   scripts/android.sh               libpatchrt_ffi.so for arm64-v8a, armeabi-v7a
#                                    and x86_64 into android/src/main/jniLibs/<abi>/,
#                                    and the Kotlin bindings when they are missing
#   scripts/android.sh --patchbench  also patchbench for arm64-v8a, and prints the
#                                    adb commands that run it on a phone
#
# Needs the Android NDK (ANDROID_NDK_HOME, or an NDK under $ANDROID_HOME/ndk),
# cargo-ndk and the three rustup targets; prints the install commands for
# whatever is missing. The AAR itself is built by Gradle afterwards: see
# docs/mobile.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Android API level the libraries link against; matches minSdk in
# android/build.gradle.kts.
api=26
abis=(arm64-v8a armeabi-v7a x86_64)
triples=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
jnilibs="$root/android/src/main/jniLibs"

say() { printf 'android: %s\n' "$*" >&2; }
fail() {
	say "$@"
	exit 1
}

patchbench=0
for arg in "$@"; do
	case "$arg" in
	--patchbench) patchbench=1 ;;
	-h | --help)
		sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) fail "unknown argument '$arg' (try --help)" ;;
	esac
done

# --- Prerequisites -------------------------------------------------------------

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
	export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || fail "cargo is missing. Install Rust: bash scripts/setup.sh"

if ! cargo ndk --version >/dev/null 2>&1; then
	fail "cargo-ndk is missing. Install it with:
  cargo install cargo-ndk --locked"
fi

if [ -z "${ANDROID_NDK_HOME:-}" ]; then
	# Android Studio's SDK manager puts NDKs in <sdk>/ndk/<version>; take the newest.
	sdk="${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}"
	if [ -n "$sdk" ] && [ -d "$sdk/ndk" ]; then
		newest="$(find "$sdk/ndk" -mindepth 1 -maxdepth 1 -type d | sort -V | tail -n 1)"
		if [ -n "$newest" ]; then
			export ANDROID_NDK_HOME="$newest"
			say "ANDROID_NDK_HOME not set; using $ANDROID_NDK_HOME"
		fi
	fi
fi
if [ -z "${ANDROID_NDK_HOME:-}" ] || [ ! -d "${ANDROID_NDK_HOME:-}/toolchains/llvm" ]; then
	fail "no Android NDK found (ANDROID_NDK_HOME='${ANDROID_NDK_HOME:-}'). Install one with the
Android SDK's command-line tools and point ANDROID_NDK_HOME at it:
  sdkmanager --install 'ndk;27.2.12479018'
  export ANDROID_NDK_HOME=\"\$ANDROID_HOME/ndk/27.2.12479018\""
fi

if command -v rustup >/dev/null 2>&1; then
	installed="$(rustup target list --installed)"
	missing=()
	for t in "${triples[@]}"; do
		grep -qx "$t" <<<"$installed" || missing+=("$t")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		fail "missing Rust targets. Add them with:
  rustup target add ${missing[*]}"
	fi
else
	say "rustup not found; assuming the Rust standard library is installed for: ${triples[*]}"
fi

# --- Shared libraries -------------------------------------------------------------

targets=()
for abi in "${abis[@]}"; do
	targets+=(-t "$abi")
done
say "building libpatchrt_ffi.so for ${abis[*]} (API $api)"
cargo ndk "${targets[@]}" -P "$api" -o "$jnilibs" build --release -p patchrt-ffi

for abi in "${abis[@]}"; do
	[ -f "$jnilibs/$abi/libpatchrt_ffi.so" ] || fail "cargo ndk did not produce $jnilibs/$abi/libpatchrt_ffi.so"
done
say "wrote $(printf '%s ' "${abis[@]/#/$jnilibs/}")"

# --- Kotlin bindings ------------------------------------------------------------

generated="$root/bindings/generated/kotlin"
if [ -z "$(find "$generated" -name '*.kt' -print -quit 2>/dev/null)" ]; then
	say "no generated Kotlin in $generated; running scripts/bindings.sh"
	bash "$root/scripts/bindings.sh"
	[ -n "$(find "$generated" -name '*.kt' -print -quit 2>/dev/null)" ] ||
		fail "scripts/bindings.sh wrote no Kotlin into $generated"
fi

say "done. Build the AAR with: (cd android && gradle assembleRelease)"

# --- patchbench on a phone ----------------------------------------------------------

[ "$patchbench" -eq 1 ] || exit 0

say "building patchbench for arm64-v8a"
cargo ndk -t arm64-v8a -P "$api" build --release -p patchbench
bin="$root/target/aarch64-linux-android/release/patchbench"
[ -f "$bin" ] || fail "cargo ndk did not produce $bin"

model="$root/models/effnet-lite0"
cat <<EOF
patchbench is at $bin. Run it on a phone (USB debugging on, 'adb devices' lists it):

  adb push "$bin" /data/local/tmp/patchbench
  adb shell chmod 755 /data/local/tmp/patchbench
  # The embedded synthetic MobileNetV2 needs no files:
  adb shell /data/local/tmp/patchbench --cooldown 2000 --json /data/local/tmp/patchbench.json
  adb pull /data/local/tmp/patchbench.json

  # A real model (tools/fetch_models.sh imports it into $model):
  adb shell mkdir -p /data/local/tmp/patchrt
  adb push "$model/backbone.safetensors" "$model/patch.safetensors" /data/local/tmp/patchrt/
  adb shell /data/local/tmp/patchbench \\
      --backbone /data/local/tmp/patchrt/backbone.safetensors \\
      --patch /data/local/tmp/patchrt/patch.safetensors --cooldown 2000

Logs: prefix the command with RUST_LOG=info (e.g. adb shell RUST_LOG=info /data/local/tmp/patchbench).
EOF
