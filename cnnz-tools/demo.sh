#!/usr/bin/env bash
# demo.sh - real tfjs models through cnnz and back, checked bit for bit.
#
#   cnnz-tools/demo.sh [--check] [--cnnz BIN] [--out DIR] [--models DIR]
#
# Takes every NAME-weights_manifest.json in the models directory (default:
# the face-api models that `make corpus` installs), and for each one runs
#   cnnz encode, cnnz inspect --json, cnnz verify, cnnz extract --stored, cnnz extract
# into DIR (default: build/demo), then cnnz-tools/demo-compare.mjs checks the
# stored symbols against the .bin shards and the decoded floats against what
# tfjs computes. --check: terse output, for `make check`. Exit 0 when every
# model round-trips exactly, 1 otherwise, 2 on a usage error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

check=0
cnnz=${CNNZ:-build/cnnz}
out=
models=.corpus/node_modules/@vladmandic/face-api/model

usage() {
    sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

while [ $# -gt 0 ]; do
    case $1 in
        --check) check=1 ;;
        --cnnz) [ $# -ge 2 ] || usage 2; cnnz=$2; shift ;;
        --out) [ $# -ge 2 ] || usage 2; out=$2; shift ;;
        --models) [ $# -ge 2 ] || usage 2; models=$2; shift ;;
        -h|--help) usage 0 ;;
        *) echo "demo.sh: unknown argument '$1'" >&2; usage 2 ;;
    esac
    shift
done
out=${out:-$(dirname "$cnnz")/demo}

die() { echo "demo.sh: $*" >&2; exit 1; }

[ -x "$cnnz" ] || die "no cnnz binary at $cnnz (run make)"
command -v node >/dev/null 2>&1 || die "node is not installed (run .ci/deps)"
shopt -s nullglob
manifests=("$models"/*-weights_manifest.json)
shopt -u nullglob
[ ${#manifests[@]} -gt 0 ] || die "no *-weights_manifest.json in $models (run make corpus)"
mkdir -p "$out"

# The model shown in full (small, and has every kind of layer the demo needs).
showcase=tiny_face_detector_model
[ -f "$models/$showcase-weights_manifest.json" ] || showcase=$(basename "${manifests[0]}" -weights_manifest.json)

say() { [ $check -eq 1 ] || printf '%s\n' "$*"; }

# run LABEL CMD...: run a cnnz command, output to $log; on failure show it and stop.
log=$out/.last.log
run() {
    local label=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        echo "demo.sh: $label failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

# show CMD...: print the command as typed and its output.
show() {
    printf '\n$ %s\n' "${*/#$cnnz/cnnz}"
    "$@" || die "failed: $*"
}

say "cnnz demo: ${#manifests[@]} tfjs models from $models, output in $out"
[ $check -eq 1 ] || "$cnnz" --version || die "$cnnz --version failed"

for m in "${manifests[@]}"; do
    name=$(basename "$m" -weights_manifest.json)
    f=$out/$name.cnnz

    if [ $check -eq 0 ] && [ "$name" = "$showcase" ]; then
        show "$cnnz" encode "$m" -o "$f" -f
        show "$cnnz" inspect "$f"
        show "$cnnz" verify "$f"
        echo
    else
        run "encode $name" "$cnnz" encode "$m" -o "$f" -f
    fi

    run "verify $name" "$cnnz" verify "$f"
    grep -q '^OK' "$log" || { cat "$log" >&2; die "verify $name did not print OK"; }
    run "inspect $name" "$cnnz" inspect "$f" --json
    cp "$log" "$out/$name.json"

    rm -rf "$out/$name.stored" "$out/$name.f32"
    run "extract --stored $name" "$cnnz" extract "$f" --stored -o "$out/$name.stored"
    run "extract $name" "$cnnz" extract "$f" -o "$out/$name.f32"
    say "$(printf '%-30s encode, verify, inspect --json, extract --stored, extract: done' "$name")"
done
rm -f "$log"

compare=(node cnnz-tools/demo-compare.mjs --cnnz "$cnnz" --out "$out")
[ $check -eq 0 ] || compare+=(--check)
"${compare[@]}" "${manifests[@]}"
