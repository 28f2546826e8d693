#!/usr/bin/env bash
# The files a release archive carries besides the binary that are generated from
# it rather than kept by hand: the manual pages and the shell completions. dist
# (dist-workspace.toml) packs dist-extra/ into every archive; the release
# workflow runs this before each build, and scripts/dist-check.sh does in CI.
#
#   scripts/dist-extras.sh        # writes dist-extra/{man,completions}/
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist-extra
rm -rf "$out"
mkdir -p "$out/man" "$out/completions"
# A host debug build (cargo run finds it wherever the target dir is): man pages
# and completions are the same for every target and profile, and CI has built
# this binary for the tests already.
ssosync() { cargo run --locked -q -p ssosync --bin ssosync -- "$@"; }
ssosync man >"$out/man/ssosync.1"
ssosync completions bash >"$out/completions/ssosync.bash"
ssosync completions zsh >"$out/completions/_ssosync"
ssosync completions fish >"$out/completions/ssosync.fish"
ssosync completions powershell >"$out/completions/_ssosync.ps1"
ssosync completions elvish >"$out/completions/ssosync.elv"
for f in "$out"/man/* "$out"/completions/*; do
    [[ -s $f ]] || { echo "dist-extras: $f is empty" >&2; exit 1; }
done
find "$out" -type f | sort >&2
