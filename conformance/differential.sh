#!/bin/sh
# conformance/differential.sh BUILD FIRST COUNT DIR
#
# Random valid files from BUILD/cnnz-gen (seeds FIRST .. FIRST + COUNT - 1),
# in batches of 500 under DIR: each batch is decoded by libcnnz
# (BUILD/cnnz-gen-vectors --check, against the tensors the generator
# computed from its inputs) and by the tool (BUILD/cnnz extract
# --conformance, compared bit for bit with the library's decoding by
# BUILD/cnnz-compare), then deleted. JOBS (default 2) files at a time.
# Prints the seeds that fail and exits 1 when any does.
set -eu
if [ $# -ne 4 ]; then
    echo "usage: $0 BUILD FIRST COUNT DIR" >&2
    exit 2
fi
build=$1 first=$2 count=$3 dir=$4
jobs=${JOBS:-2}
rm -rf "$dir"
mkdir -p "$dir"
start=$(date +%s)
done_n=0
failed=0
while [ "$done_n" -lt "$count" ]; do
    n=$((count - done_n))
    [ "$n" -gt 500 ] && n=500
    seed=$((first + done_n))
    batch=$dir/batch-$seed
    "$build/cnnz-gen" --seed "$seed" --count "$n" -o "$batch"
    if ! "$build/cnnz-gen-vectors" --check "$batch" >"$batch/library.log"; then
        grep -v '^conformance' "$batch/library.log" | head -20
        failed=1
    fi
    mkdir "$batch/out"
    # the tool's output of each file against the library's decoding
    (cd "$batch/valid" && ls) | xargs -P "$jobs" -n 25 sh -c '
        b=$1 build=$2; shift 2
        for f; do
            o=$b/out/${f%.cnnz}
            if "$build/cnnz" extract --conformance "$b/valid/$f" "$o" >"$o.log" 2>&1 &&
               "$build/cnnz-compare" --quiet "$b/valid/$f" "$o" >>"$o.log" 2>&1; then
                rm -rf "$o" "$o.log"
            else
                echo "differential: $f: tool and library differ" >&2
                cat "$o.log" >&2
                : >"$b/failed.$f"
            fi
        done' sh "$batch" "$build"
    if ls "$batch" | grep -q '^failed\.'; then
        failed=1
    else
        rm -rf "$batch"
    fi
    done_n=$((done_n + n))
done
end=$(date +%s)
if [ "$failed" -ne 0 ]; then
    echo "differential: seeds $first..$((first + count - 1)): FAILED (kept in $dir)"
    exit 1
fi
rmdir "$dir" 2>/dev/null || true
echo "differential: $count cnnz-gen seeds from $first decode alike through libcnnz and cnnz extract ($((end - start)) s)"
