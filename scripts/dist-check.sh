#!/usr/bin/env bash
# Keeps the release setup valid (RELEASING.md): the crate packages and builds as
# published, dist's plan matches the committed workflow, and a local dist build
# produces the Linux archive with exactly the expected files, plus the installer
# script and the Homebrew formula. .ci/run calls this.
#
#   scripts/dist-check.sh      # about 2 minutes after the test build (a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'dist-check: %s\n' "$*" >&2; }
fail() {
    say "FAILED: $*"
    exit 1
}

say "cargo publish --dry-run"
# Its verification build gets a target dir of its own: built from the packaged
# copy (no .git), its binary would otherwise replace target/debug/ssosync, which
# the integration tests run.
cargo publish --dry-run --locked --allow-dirty --target-dir target/publish-check >&2

# dist itself: the prebuilt binary from PyPI, pinned to the version the workflow
# was generated with, in a venv of our own.
dist_version=$(sed -n 's/^cargo-dist-version = "\(.*\)"/\1/p' dist-workspace.toml)
[[ -n $dist_version ]] || fail "no cargo-dist-version in dist-workspace.toml"
venv=.venv-dist
if [[ ! -x $venv/bin/dist ]] || [[ $($venv/bin/dist --version) != "cargo-dist $dist_version" ]]; then
    say "installing dist $dist_version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "astral-dev-toolchain-cargo-dist==$dist_version"
fi
dist=$venv/bin/dist

say "dist plan (fails when .github/workflows/release.yml is out of date)"
"$dist" plan >&2

host=$(rustc -vV | sed -n 's/^host: //p')
case $host in
*-linux-gnu) ;;
*) say "skipping the local dist build: $host is not a Linux gnu host"; exit 0 ;;
esac

say "dist build for $host"
scripts/dist-extras.sh
"$dist" build --artifacts=all --target "$host" >&2
# dist writes its output under the workspace's own target/, whatever CARGO_TARGET_DIR says.
distrib=target/distrib
archive=$distrib/ssosync-$host.tar.xz
[[ -f $archive ]] || fail "no $archive"

expected=$(
    printf '%s\n' ssosync README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE \
        man man/ssosync.1 completions completions/ssosync.bash completions/_ssosync \
        completions/ssosync.fish completions/_ssosync.ps1 completions/ssosync.elv |
        sed "s|^|ssosync-$host/|" | { cat; echo "ssosync-$host/"; } | sort
)
actual=$(tar -tJf "$archive" | sort)
if [[ $expected != "$actual" ]]; then
    diff <(echo "$expected") <(echo "$actual") >&2 || true
    fail "$archive does not hold the expected files (- expected, + found)"
fi
say "$archive holds:"
tar -tJf "$archive" | sort | sed 's/^/  /' >&2

for f in ssosync-installer.sh ssosync.rb sha256.sum "ssosync-$host.tar.xz.sha256"; do
    [[ -s $distrib/$f ]] || fail "no $distrib/$f"
done
grep -q "ssosync-$host.tar.xz" "$distrib/ssosync.rb" || fail "the Homebrew formula does not name the archive"
sh -n "$distrib/ssosync-installer.sh" || fail "the installer script does not parse"
grep -qF "ssosync-$host.tar.xz" "$distrib/ssosync-installer.sh" || fail "the installer does not fetch the archive"

# The archive's binary runs and says what it is: the version, the commit (this is
# a git checkout) and the target.
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
tar -xJf "$archive" -C "$unpacked"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
"$unpacked/ssosync-$host/ssosync" --version | grep -Eq "^ssosync $version \(commit [0-9a-f]{12}, $host\)$" ||
    fail "the archived binary's --version does not name $version, its commit and $host"
grep -q '^\.TH' "$unpacked/ssosync-$host/man/ssosync.1" || fail "man/ssosync.1 is not a manual page"

# cargo binstall finds the same archive: its metadata (Cargo.toml), filled in for
# this host and for Windows, must give the URLs dist's formula and installer use.
meta=$(cargo metadata --no-deps --format-version 1 --locked)
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); p=[p for p in d["packages"] if p["name"]=="ssosync"][0]; print(eval(sys.argv[1]))' "$1" <<<"$meta"; }
repo=$(field 'p["repository"]')
binstall() { field "(p['metadata']['binstall'].get('overrides',{}).get('$1',{}).get('$2') or p['metadata']['binstall']['$2'])"; }
suffix_of() {
    case $1 in
    txz) echo .tar.xz ;; tgz) echo .tar.gz ;; tzstd) echo .tar.zst ;; zip) echo .zip ;;
    *) fail "binstall pkg-fmt $1 is not one dist builds" ;;
    esac
}
fill() { # template target bin-ext suffix
    local t=$1
    t=${t//'{ repo }'/$repo}
    t=${t//'{ name }'/ssosync}
    t=${t//'{ bin }'/ssosync}
    t=${t//'{ version }'/$version}
    t=${t//'{ target }'/$2}
    t=${t//'{ binary-ext }'/$3}
    t=${t//'{ archive-suffix }'/$4}
    echo "$t"
}
url=$(fill "$(binstall "$host" pkg-url)" "$host" "" "$(suffix_of "$(binstall "$host" pkg-fmt)")")
[[ $url == "$repo/releases/download/v$version/ssosync-$host.tar.xz" ]] || fail "binstall's URL for $host is $url"
grep -qF "$url" "$distrib/ssosync.rb" || fail "the Homebrew formula does not download binstall's $url"
bin_path=$(fill "$(binstall "$host" bin-dir)" "$host" "" "")
[[ -x $unpacked/$bin_path ]] || fail "binstall's bin-dir $bin_path is not in the archive"
win=x86_64-pc-windows-msvc
win_url=$(fill "$(binstall $win pkg-url)" $win .exe "$(suffix_of "$(binstall $win pkg-fmt)")")
# Captured first: `grep -q` would close the pipe early, and pipefail would fail dist.
plan_json=$("$dist" plan --output-format=json 2>/dev/null)
grep -qF "\"ssosync-$win.zip\"" <<<"$plan_json" || fail "dist plans no ssosync-$win.zip"
[[ $win_url == "$repo/releases/download/v$version/ssosync-$win.zip" ]] || fail "binstall's URL for $win is $win_url"
# dist's zips have no top folder: the binary is at the root.
[[ $(fill "$(binstall $win bin-dir)" $win .exe "") == ssosync.exe ]] || fail "binstall's bin-dir for $win"
say "ok"
