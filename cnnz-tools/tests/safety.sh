#!/bin/sh
# The tools never lose data (issue 8): whatever stops `cnnz convert`,
# `extract` or `export` half way (SIGKILL, SIGINT/SIGTERM/SIGHUP, a full
# disk, a file size limit), it leaves no partial output, removes its temp
# files when it can, and never touches an input; an existing output is
# replaced only with -f, and never when it is one of the inputs.
# Usage: safety.sh PATH/TO/cnnz. One line per check, "N passed, N failed"
# last; exits 1 on failure. Linux: reads /proc; the tmpfs case needs root.
set -u
cnnz=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
t=$(mktemp -d "${TMPDIR:-/tmp}/cnnz-safety.XXXXXX")
small=
cleanup() {
    [ -n "$small" ] && umount "$small" 2>/dev/null
    rm -rf "$t"
}
trap cleanup EXIT
cd "$t" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { # check NAME TEST...: ok when TEST succeeds
    _what=$1
    shift
    if "$@"; then ok "$_what"; else bad "$_what"; fi
}

# mknpy FILE N: N random float32 as a version 1.0 .npy (header padded to 64).
mknpy() {
    dict="{'descr': '<f4', 'fortran_order': False, 'shape': ($2,), }"
    hl=$(((${#dict} + 11 + 63) / 64 * 64 - 10))
    {
        printf '\223NUMPY\001\000'
        printf "\\$(printf '%03o' $((hl % 256)))\\$(printf '%03o' $((hl / 256)))"
        printf '%-*s\n' $((hl - 1)) "$dict"
        head -c $(($2 * 4)) /dev/urandom
    } >"$1"
}

# The signals must reach the tool: a background job of a non-interactive
# shell starts with SIGINT ignored, and the tool keeps what it inherits.
if env --default-signal=INT true 2>/dev/null; then
    bg="env --default-signal=INT,TERM,HUP"
else
    bg=
    echo "note: env --default-signal missing; SIGINT cases are skipped"
fi

# Inputs: eight 1 MiB arrays. cabac at one thread is the slow path, so a
# convert spends a while with its output half written.
# extract and export write only after decoding, so their temp files live
# while 16 MiB tensors are written and synced: big.cnnz holds two.
mkdir in
for i in 1 2 3 4 5 6 7 8; do mknpy "in/w$i.npy" 262144; done
mknpy b1.npy 4194304
mknpy b2.npy 4194304
"$cnnz" convert in/w*.npy -o in/ref.cnnz -j 1 --coder cabac >/dev/null &&
    "$cnnz" convert in/w*.npy -o in/raw.cnnz --coder raw >/dev/null &&
    "$cnnz" convert b1.npy b2.npy -o in/big.cnnz --coder raw >/dev/null &&
    "$cnnz" extract in/big.cnnz -o ref-x >/dev/null &&
    "$cnnz" export in/big.cnnz -o ref-big.npz >/dev/null || { echo "FAIL cannot make the inputs"; exit 1; }
rm b1.npy b2.npy
# Every input of every case below: none may change.
cksum in/* >inputs.sum
inputs_ok() { cksum in/* | cmp -s - inputs.sum; }

# temps DIR: the temp files the tool leaves in DIR (.NAME.tmp-XXXXXX).
temps() {
    for f in "$1"/.?*.tmp-??????; do
        [ -e "$f" ] && echo "${f##*/}"
    done
}
no_temps() { [ -z "$(temps "$1")" ]; }
# only_outputs DIR: DIR holds nothing but outputs and temp files.
only_outputs() {
    for f in "$1"/* "$1"/.*; do
        case ${f##*/} in
        . | .. | out.cnnz | out.npz | *.npy) ;;
        .?*.tmp-??????) ;;
        *) [ -e "$f" ] && return 1 ;;
        esac
    done
    return 0
}
# alive PID: the process runs (not a zombie).
alive() {
    [ -r "/proc/$1/stat" ] || return 1
    read -r _ _ state _ <"/proc/$1/stat" && [ "$state" != Z ]
}
# absent_or_same FILE REF: FILE does not exist, or is the complete output
# (encoding is deterministic, so it equals REF byte for byte).
absent_or_same() { [ ! -e "$1" ] || cmp -s "$1" "$2"; }
# extract_intact DIR: every .npy in DIR is complete (equals the reference).
extract_intact() {
    for f in "$1"/*.npy; do
        [ -e "$f" ] || continue
        cmp -s "$f" "ref-x/${f##*/}" || return 1
    done
}

# interrupt SIG DIR CMD...: run CMD in the background; once a temp file in
# DIR holds data (CMD is writing its output), send SIG and wait. Sets st
# (exit status) and mid (yes: the temp file was there when SIG was sent;
# no: CMD ended first).
interrupt() {
    sig=$1 dir=$2
    shift 2
    $bg "$@" >/dev/null 2>err.txt &
    pid=$!
    mid=no
    n=0
    while alive "$pid" && [ $n -lt 6000 ]; do
        for f in $(temps "$dir"); do
            if [ -s "$dir/$f" ]; then
                mid=yes
                break 2
            fi
        done
        sleep 0.005
        n=$((n + 1))
    done
    [ $mid = yes ] && kill -s "$sig" "$pid"
    wait "$pid"
    st=$?
}

# (a), (b): interruptions mid-write. The exit status says the signal ended
# the process (128 + its number), as it would have without the cleanup.
for sig in KILL INT TERM HUP; do
    [ $sig = INT ] && [ -z "$bg" ] && continue
    case $sig in KILL) want=137 ;; INT) want=130 ;; TERM) want=143 ;; HUP) want=129 ;; esac
    for cmd in convert extract export; do
        rm -rf o && mkdir o
        case $cmd in
        convert) interrupt $sig o "$cnnz" convert in/w1.npy in/w2.npy in/w3.npy in/w4.npy in/w5.npy \
            in/w6.npy in/w7.npy in/w8.npy -o o/out.cnnz -j 1 --coder cabac ;;
        extract) interrupt $sig o "$cnnz" extract in/big.cnnz -o o -j 1 ;;
        export) interrupt $sig o "$cnnz" export in/big.cnnz -o o/out.npz ;;
        esac
        what="$cmd, SIG$sig"
        if [ $mid = no ] || [ "$st" -eq 0 ]; then
            # Only on a machine fast enough to finish between two looks.
            echo "note: $what: the command ended before it could be interrupted mid-write (exit $st)"
        else
            check "$what mid-write: killed by the signal (exit $st)" [ "$st" -eq "$want" ]
        fi
        case $cmd in
        convert) check "$what: no output, or a complete one" absent_or_same o/out.cnnz in/ref.cnnz ;;
        extract) check "$what: every .npy left is complete" extract_intact o ;;
        export) check "$what: no output, or a complete one" absent_or_same o/out.npz ref-big.npz ;;
        esac
        left=$(temps o | tr '\n' ' ')
        if [ $sig = KILL ]; then
            # Nothing can run on SIGKILL: a named temp file may stay.
            [ -n "$left" ] && echo "note: $what: left temp file(s) $left"
            check "$what: nothing in the folder but outputs and .NAME.tmp-XXXXXX files" only_outputs o
        else
            check "$what: temp file removed" [ -z "$left" ]
        fi
        check "$what: inputs untouched" inputs_ok
    done
done

# (c) Disk full: a file size limit, a full tmpfs, stdout on /dev/full.
# expect_fail NAME DIR PATTERN CMD...: CMD fails (1), says PATTERN, and
# leaves DIR without outputs or temp files.
expect_fail() {
    name=$1 dir=$2 pat=$3
    shift 3
    "$@" >/dev/null 2>err.txt
    st=$?
    check "$name: exit 1 (got $st)" [ "$st" -eq 1 ]
    if grep -q "$pat" err.txt; then ok "$name: says '$pat'"; else bad "$name: says '$pat'"; cat err.txt; fi
    check "$name: nothing left in the folder" [ -z "$(ls -A "$dir")" ]
}
for xfsz in ignored default; do
    trap_xfsz=
    [ $xfsz = ignored ] && trap_xfsz="trap '' XFSZ;"
    for cmd in convert extract export; do
        rm -rf o && mkdir o
        case $cmd in
        convert) args="convert in/w1.npy in/w2.npy -o o/out.cnnz" ;;
        extract) args="extract in/raw.cnnz -o o -j 1" ;;
        export) args="export in/raw.cnnz -o o/out.npz" ;;
        esac
        expect_fail "$cmd under ulimit -f 512 (SIGXFSZ $xfsz)" o "File too large" \
            sh -c "$trap_xfsz ulimit -f 512; exec \"\$0\" $args" "$cnnz"
    done
done
if [ "$(id -u)" -eq 0 ] && mkdir small && mount -t tmpfs -o size=1m tmpfs small 2>/dev/null; then
    small=$t/small
    expect_fail "convert into a full 1 MiB tmpfs" small "No space left on device" \
        "$cnnz" convert in/w1.npy in/w2.npy -o small/out.cnnz --coder raw
    expect_fail "extract into a full 1 MiB tmpfs" small "No space left on device" \
        "$cnnz" extract in/raw.cnnz -o small -j 2
    expect_fail "export into a full 1 MiB tmpfs" small "No space left on device" \
        "$cnnz" export in/raw.cnnz -o small/out.safetensors
    umount small && small=
else
    echo "note: not root, or tmpfs cannot be mounted here: the full tmpfs case is skipped"
fi
if [ -w /dev/full ]; then
    for args in "inspect in/ref.cnnz" "inspect --json in/ref.cnnz" "verify in/ref.cnnz" "--help" "--version"; do
        # shellcheck disable=SC2086
        "$cnnz" $args >/dev/full 2>err.txt
        st=$?
        check "cnnz $args >/dev/full: exit 1 (got $st)" [ "$st" -eq 1 ]
        check "cnnz $args >/dev/full: says so" grep -q "cannot write to standard output" err.txt
    done
else
    echo "note: no /dev/full: the full stdout case is skipped"
fi
check "inputs untouched by the write failures" inputs_ok

# (d) An existing output is kept without -f, replaced with it.
rm -rf o && mkdir o
echo precious >keep.txt
for f in out.cnnz out.npz w1.npy; do cp keep.txt "o/$f"; done
for args in "convert in/w1.npy -o o/out.cnnz" "export in/ref.cnnz -o o/out.npz" "extract in/ref.cnnz -o o"; do
    "$cnnz" $args >/dev/null 2>err.txt
    st=$?
    check "$args over an existing file without -f: exit 1 (got $st)" [ "$st" -eq 1 ]
    check "$args: says use -f" grep -q "use -f" err.txt
done
for f in out.cnnz out.npz w1.npy; do
    check "existing o/$f untouched" cmp -s "o/$f" keep.txt
done
check "no temp file left by the refusals" no_temps o
"$cnnz" convert in/w1.npy -o o/out.cnnz -f >/dev/null 2>&1 && "$cnnz" verify o/out.cnnz >/dev/null 2>&1 &&
    ok "convert -f replaces the existing file" || bad "convert -f replaces the existing file"
# A file that appears while the tool writes is not clobbered either.
rm -f o/out.cnnz
$bg "$cnnz" convert in/w*.npy -o o/out.cnnz -j 1 --coder cabac >/dev/null 2>err.txt &
pid=$!
n=0
while [ -z "$(temps o)" ] && alive $pid && [ $n -lt 6000 ]; do sleep 0.005; n=$((n + 1)); done
if alive $pid && (set -C && echo precious >o/out.cnnz) 2>/dev/null; then
    wait $pid
    st=$?
    check "a file created during convert: exit 1 (got $st)" [ "$st" -eq 1 ]
    check "a file created during convert: kept" cmp -s o/out.cnnz keep.txt
    check "a file created during convert: says so" grep -q "appeared while" err.txt
    check "a file created during convert: no temp file left" no_temps o
else
    wait $pid
    echo "note: convert ended before a file could be created under it; case skipped"
fi
# Outputs that are not regular files are refused, not replaced.
mkfifo o/fifo.cnnz
"$cnnz" convert in/w1.npy -o o/fifo.cnnz -f >/dev/null 2>err.txt
st=$?
check "-o FIFO -f: exit 1 (got $st)" [ "$st" -eq 1 ]
check "-o FIFO -f: says it is not a regular file" grep -q "not a regular file" err.txt
check "-o FIFO -f: the FIFO stays" [ -p o/fifo.cnnz ]

# (e) An output that is an input is refused, even with -f.
rm -rf o && mkdir o o/e
cp in/w1.npy o/w1.npy
ln -s w1.npy o/link.npy
ln o/w1.npy o/hard.npy
cp in/ref.cnnz o/x.npz       # a .cnnz file named as an export writes
cp in/ref.cnnz o/e/w1.npy    # a .cnnz file named as extract writes tensor w1
cp o/w1.npy o/w1.keep
cksum o/w1.npy o/x.npz o/e/w1.npy >same.sum
refused() { # refused NAME ARGS...: cnnz ARGS fails, saying the output is an input
    name=$1
    shift
    "$cnnz" "$@" >/dev/null 2>err.txt
    st=$?
    check "$name: refused (exit $st)" [ "$st" -eq 1 ]
    check "$name: says it is an input" grep -q "same file as input" err.txt
}
refused "convert -o its input -f" convert o/w1.npy -o o/w1.npy -f
refused "convert -o a symlink to its input -f" convert o/w1.npy -o o/link.npy -f
refused "convert -o a hard link to its input -f" convert o/w1.npy -o o/hard.npy -f
refused "convert -o its second input -f" convert in/w2.npy o/w1.npy -o o/w1.npy -f
refused "export -o its input -f" export o/x.npz -o o/x.npz -f
refused "extract over its input -f" extract o/e/w1.npy -o o/e -f
check "the inputs are untouched" eval 'cksum o/w1.npy o/x.npz o/e/w1.npy | cmp -s - same.sum'
check "no temp file left" eval 'no_temps o && no_temps o/e'
# The lossy report: never over an input, never the output itself.
"$cnnz" convert o/w1.npy -o o/q.cnnz --quant uq:4 --min-weights 1 --report o/w1.npy -f >/dev/null 2>err.txt
check "--report INPUT -f: refused" [ $? -eq 1 ]
check "--report INPUT -f: the input is untouched" cmp -s o/w1.npy o/w1.keep
"$cnnz" convert o/w1.npy -o o/q.cnnz --quant uq:4 --min-weights 1 --report o/q.cnnz >/dev/null 2>err.txt
check "--report equal to -o: a usage error" [ $? -eq 2 ]

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
