#!/usr/bin/env bash
# The Windows build, proven under Wine (called by .ci/run; see README's CI notes).
#
# Cross-compiles ssosync, its unit tests, the integration suite and the fake
# portal for x86_64-pc-windows-gnu, then runs the test binaries under Wine: the
# Windows integration suite starts the Windows ssosync.exe against the fake
# portal, which is linked into the test binary, so it is the Windows build too.
#
# rustup cannot download targets here, so this uses Debian's Rust (rustc-web,
# cargo-web and rust-web-src, which ship the standard library's sources) and
# builds std for the target with -Zbuild-std. That flag is unstable, hence
# RUSTC_BOOTSTRAP=1: for this check only, never for a release build (releases
# are built by dist on real Windows runners, see RELEASING.md).
#
# Usage: scripts/windows-check.sh [TEST-NAME-FILTER]
# (WINDOWS_CHECK_TARGET_DIR moves its target folder, default target/windows-check.)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

target=x86_64-pc-windows-gnu
packages=(rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64 wine)

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == 'install ok installed' ]]; }
# The Rust the locked crates need (Cargo.toml's rust-version), and whether
# Debian's is that new: the plain bookworm rustc-web is 1.85, 1.96 comes from
# bookworm-security, which a stale package list does not know of.
needed=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$needed" ] || { echo "windows-check: no rust-version in Cargo.toml" >&2; exit 1; }
new_enough() {
  local have
  have=$(/usr/bin/rustc --version 2>/dev/null | awk '{print $2}')
  [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$needed" "$have" | sort -V | head -n 1)" = "$needed" ]
}
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
new_enough || missing+=(rustc-web cargo-web rust-web-src)
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || { echo "windows-check: install ${missing[*]} (Debian packages, Rust $needed or later)" >&2; exit 1; }
  echo "windows-check: installing ${missing[*]}"
  install_missing() { apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
  if ! install_missing || ! new_enough; then
    apt-get update -q >/dev/null
    install_missing
  fi
fi
if ! new_enough; then
  echo "windows-check: /usr/bin/rustc is $(/usr/bin/rustc --version 2>/dev/null | awk '{print $2}'), the locked crates need $needed (Debian's rustc-web from bookworm-security)" >&2
  exit 1
fi

# Debian's toolchain, not rustup's (which comes first in PATH and has no std sources).
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
cargo=/usr/bin/cargo
export RUSTC_BOOTSTRAP=1
# A target folder of its own: another toolchain, so it never shares the host build's.
export CARGO_TARGET_DIR="${WINDOWS_CHECK_TARGET_DIR:-$PWD/target/windows-check}"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
mkdir -p "$CARGO_TARGET_DIR"
build=("$cargo" test --locked --workspace --lib --bins --tests --no-run
  -Zbuild-std=std,panic_abort --target "$target")

# 1. Build everything a Windows `cargo test` would; any warning fails the check
#    (clippy needs a toolchain with a Windows std, which only Debian's has here).
log="$CARGO_TARGET_DIR/build.log"
if ! "${build[@]}" --message-format short >"$log" 2>&1; then
  grep -v '^ *\(Compiling\|Checking\|Blocking\)' "$log" >&2
  echo "windows-check: the Windows build failed" >&2
  exit 1
fi
if grep -E '^(warning|[^ ]+\.rs:[0-9]+:[0-9]+: warning)' "$log" >&2; then
  echo "windows-check: the Windows build has warnings" >&2
  exit 1
fi
built=$(date +%s)

# The test executables, from cargo's own list.
mapfile -t binaries < <("${build[@]}" --message-format json 2>/dev/null |
  sed -n 's/.*"profile":{[^}]*"test":true[^}]*}.*"executable":"\([^"]*\)".*/\1/p' | sort -u)
((${#binaries[@]})) || { echo "windows-check: no test executables found" >&2; exit 1; }

# 2. A private Wine prefix, made once per target folder.
export WINEPREFIX="$CARGO_TARGET_DIR/wine-prefix" WINEDEBUG=-all
# No Mono or Gecko installers while the prefix is made (no network, no display).
export WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  wineboot --init >/dev/null 2>&1
  wineserver --wait
fi
# Rust's std needs ProcessPrng from bcryptprimitives.dll (Windows 10+), which
# Wine has from 9.x on. On an older Wine, a stub of ours stands in for it.
system32="$WINEPREFIX/drive_c/windows/system32"
wine_dlls=$(dirname "$(find /usr/lib /usr/lib64 /opt -path '*/x86_64-windows/kernel32.dll' 2>/dev/null | head -n 1)")
if [ ! -f "$wine_dlls/bcryptprimitives.dll" ] && [ ! -f "$system32/bcryptprimitives.dll" ]; then
  x86_64-w64-mingw32-gcc -shared -O2 -s -o "$system32/bcryptprimitives.dll" \
    scripts/wine/bcryptprimitives.c -ladvapi32
fi

# Wine's crypt32 deadlocks every later process when one is killed while it
# opens the Root certificate store (see scripts/wine/hold-root-store.c), and the
# crash tests kill ssosync at random moments: a helper of ours stands beside the
# tests and undoes that.
holder_out="$CARGO_TARGET_DIR/hold-root-store.out"
x86_64-w64-mingw32-gcc -O2 -s -o "$CARGO_TARGET_DIR/hold-root-store.exe" \
  scripts/wine/hold-root-store.c -lcrypt32
# No Wine process left from an earlier, interrupted run may hold the semaphore.
wineserver -k 2>/dev/null || true
# Wine shows a file's Unix mode as its access list (o+r: Everyone may read), so
# the files the tests make are private, as a profile folder's are on Windows:
# set before the wineserver starts, which creates the files.
umask 077
: >"$holder_out"
wine "$CARGO_TARGET_DIR/hold-root-store.exe" >"$holder_out" 2>&1 &
holder=$!
stop_holder() { kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null || true; }
trap stop_holder EXIT
for _ in $(seq 600); do
  grep -q '^ready' "$holder_out" && break
  kill -0 "$holder" 2>/dev/null || { cat "$holder_out" >&2; echo "windows-check: hold-root-store failed" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$holder_out" || { echo "windows-check: hold-root-store did not start" >&2; exit 1; }

# 3. Run every test binary under Wine, from the repository (on Wine's Z: drive,
#    so the absolute paths compiled into the tests resolve).
#    A binary that hangs is stopped after 20 minutes (the suite takes about 4).
results="$CARGO_TARGET_DIR/results.txt"
: >"$results"
status=0 crashed=0
# run_tests EXE LOG LABEL ARGS...: one run of a test binary, its summary kept.
run_tests() {
  local exe=$1 out=$2 label=$3 code=0
  shift 3
  timeout --kill-after=30 1200 wine "$exe" "$@" >"$out" 2>&1 || code=$?
  grep '^test result:' "$out" | sed "s/^/$label: /" >>"$results" || true
  if [ "$code" != 0 ]; then
    status=1
    grep -q '^test result:' "$out" || crashed=$((crashed + 1))
    cat "$out" >&2
    echo "windows-check: $label failed under Wine (exit $code)" >&2
  fi
}
for exe in "${binaries[@]}"; do
  name=$(basename "$exe" .exe)
  echo "windows-check: ${name%-*} under Wine"
  run_tests "$exe" "$CARGO_TARGET_DIR/$name.log" "${name%-*}" ${1:+"$1"} --skip windows_settings::
  # The tests that change the user's proxy setting (the prefix's registry),
  # which every process reads: #[ignore]d in the suite, run here alone (those
  # the filter names, when there is one: it matches no other ignored test).
  if [ "${name%-*}" = integration ]; then
    run_tests "$exe" "$CARGO_TARGET_DIR/$name.alone.log" "${name%-*} (alone)" --ignored "${1:-windows_settings::}"
  fi
done
stop_holder
# A program a failed test left running (a `watch`) must not hold the check up.
timeout 60 wineserver --wait || wineserver -k || true

finished=$(date +%s)
cat "$results"
echo "windows-check: built in $((built - started)) s, tested under Wine in $((finished - built)) s, $((finished - started)) s in all"
# Tests that are Unix-only by nature are left out by cfg and not counted;
# `skipped` counts #[ignore]d ones.
# A test binary that ended without its summary (a crash, the timeout) counts as
# one failure.
awk -v crashed="$crashed" '{ for (i = 2; i <= NF; i++) { if ($(i) ~ /^passed;/) p += $(i - 1); if ($(i) ~ /^failed;/) f += $(i - 1); if ($(i) ~ /^ignored;/) s += $(i - 1) } }
  END { printf "windows-check: %d passed, %d failed, %d skipped\n", p, f + crashed, s }' "$results"
exit "$status"
