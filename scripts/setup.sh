#!/usr/bin/env bash
# Makes sure this machine can build PatchRT and run its GPU tests:
#   - a Rust toolchain (cargo, rustc >= the workspace's rust-version) with
#     clippy and rustfmt;
#   - on Linux, the Vulkan loader (libvulkan.so.1) and at least one Vulkan
#     driver (ICD). Mesa's software driver, lavapipe, is enough: CI has no GPU.
#
# Idempotent, and silent when everything is already present. As root it
# installs what is missing with apt-get; otherwise it prints the command to run
# and exits 1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*" >&2; }
fail() {
	say "$@"
	exit 1
}

# --- Rust -------------------------------------------------------------------

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
	# rustup installed it, but this shell has not sourced ~/.cargo/env.
	export PATH="$HOME/.cargo/bin:$PATH"
fi
apt_install() {
	# Installs Debian packages as root, or says how to when not root.
	if [ "$(id -u)" -ne 0 ]; then
		fail "missing $1. Install it with:
  sudo apt-get install -y $2"
	fi
	command -v apt-get >/dev/null 2>&1 || fail "missing $1, and apt-get is not available: install $2 with this system's package manager"
	say "installing $2"
	apt-get update -qq
	# shellcheck disable=SC2086 # the package list is meant to split
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $2 >/dev/null
}

# A C linker is needed by rustc on Linux.
if [ "$(uname -s)" = Linux ] && ! command -v cc >/dev/null 2>&1; then
	apt_install "a C compiler and linker (cc)" "build-essential"
fi

if ! command -v cargo >/dev/null 2>&1; then
	command -v curl >/dev/null 2>&1 || apt_install "curl (to fetch rustup)" "curl ca-certificates"
	say "installing Rust with rustup (into \$HOME/.cargo)"
	curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt >/dev/null ||
		fail "rustup failed. Install Rust by hand: https://rustup.rs"
	export PATH="$HOME/.cargo/bin:$PATH"
fi

# Python 3 with venv and pip runs the model importer (tools/).
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
	apt_install "Python 3 with venv and pip" "python3 python3-venv python3-pip"
fi

# rustc must be at least the workspace's rust-version.
required=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
have=$(rustc --version | awk '{print $2}')
if [ -n "$required" ] && [ "$(printf '%s\n%s\n' "$required" "$have" | sort -V | head -n 1)" != "$required" ]; then
	fail "rustc $have is older than the workspace's rust-version $required. Update it: rustup update stable"
fi

if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
	if command -v rustup >/dev/null 2>&1; then
		say "adding the clippy and rustfmt components"
		rustup component add clippy rustfmt >/dev/null
	else
		fail "cargo clippy or cargo fmt is missing and rustup is not installed; install clippy and rustfmt with your toolchain's package manager"
	fi
fi

# --- Vulkan (Linux only; macOS and iOS use Metal) ------------------------------

[ "$(uname -s)" = Linux ] || exit 0

have_icd() {
	local dir
	for dir in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
		if compgen -G "$dir/*.json" >/dev/null; then
			return 0
		fi
	done
	return 1
}

have_loader() {
	local ldconfig
	ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
	# grep reads all input (no -q), so ldconfig never dies of SIGPIPE under pipefail.
	"$ldconfig" -p 2>/dev/null | grep 'libvulkan\.so\.1 ' >/dev/null
}

have_vulkan() { have_icd && have_loader; }

# What is missing, in words.
missing() {
	local what=""
	have_loader || what="the Vulkan loader (libvulkan.so.1)"
	if ! have_icd; then
		what="${what:+$what and }a Vulkan driver (no ICD file in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d)"
	fi
	printf '%s' "$what"
}

if have_vulkan; then
	exit 0
fi

packages="mesa-vulkan-drivers libvulkan1"
apt_install "$(missing) (Mesa's Vulkan drivers, including the software lavapipe, and the loader)" "$packages"
have_vulkan || fail "installed $packages, but still missing $(missing)"
