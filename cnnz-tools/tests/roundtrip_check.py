#!/usr/bin/python3
"""Independent check of `cnnz convert` + `cnnz export` on a real model.

usage: roundtrip_check.py SOURCE EXPORTED.npz EXPORTED.safetensors

SOURCE is an .onnx model (read with the onnx package: initializers and
Constant-node tensors) or a TensorFlow.js weights manifest (dequantized here
as tfjs does: float64 q*scale + min, stored as float32; Math.round for int32).
Every tensor of the source must appear in both exported files with the same
dtype, shape and bytes. Prints one line and exits 1 on any difference.
Runs with Debian's python3-onnx and python3-numpy (not part of cnnz itself).
"""
import json
import os
import struct
import sys

import numpy as np


def onnx_tensors(path):
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path, load_external_data=True)
    out = {}
    for t in model.graph.initializer:
        out[t.name] = numpy_helper.to_array(t)
    for node in model.graph.node:
        if node.op_type != "Constant":
            continue
        for a in node.attribute:
            name = node.output[0] if node.output else a.t.name
            if a.name == "value":
                out[name] = numpy_helper.to_array(a.t)
            elif a.name == "value_float":
                out[name] = np.array(a.f, dtype=np.float32)
            elif a.name == "value_floats":
                out[name] = np.array(list(a.floats), dtype=np.float32)
            elif a.name == "value_int":
                out[name] = np.array(a.i, dtype=np.int64)
            elif a.name == "value_ints":
                out[name] = np.array(list(a.ints), dtype=np.int64)
    return out


def tfjs_tensors(path):
    groups = json.load(open(path))
    if isinstance(groups, dict):
        groups = groups["weightsManifest"]
    folder = os.path.dirname(path)
    out = {}
    for g in groups:
        blob = b"".join(open(os.path.join(folder, p), "rb").read() for p in g["paths"])
        off = 0
        for w in g["weights"]:
            shape = tuple(w["shape"])
            n = int(np.prod(shape, dtype=np.int64))
            q = w.get("quantization")
            if q:
                st = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}[q["dtype"]]
            else:
                st = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}[w["dtype"]]
            raw = np.frombuffer(blob, dtype=st, count=n, offset=off).reshape(shape)
            off += raw.nbytes
            if q and q["dtype"] in ("uint8", "uint16"):
                v = raw.astype(np.float64) * q["scale"] + q["min"]
                raw = (np.where(v - np.floor(v) >= 0.5, np.floor(v) + 1, np.floor(v)).astype(np.int32)
                       if w["dtype"] == "int32" else v.astype(np.float32))
            elif q:
                raw = raw.astype(np.float32)
            out[w["name"]] = raw
    return out


def safetensors_tensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    dt = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(body[b:end], dtype=dt[e["dtype"]]).reshape(e["shape"])
    return out


def main():
    src, npz, st = sys.argv[1:4]
    want = onnx_tensors(src) if src.endswith(".onnx") else tfjs_tensors(src)
    got_npz = dict(np.load(npz))
    got_st = safetensors_tensors(st)
    bad = []
    for label, got in (("npz", got_npz), ("safetensors", got_st)):
        if set(got) != set(want):
            bad.append(f"{label}: names differ ({len(got)} vs {len(want)} tensors)")
            continue
        for name, a in want.items():
            b = got[name]
            if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
                bad.append(f"{label}: tensor {name!r}: {b.dtype}{b.shape} differs from {a.dtype}{a.shape}")
    tag = os.path.basename(src)
    if bad:
        print(f"FAIL {tag}: " + "; ".join(bad[:5]))
        sys.exit(1)
    print(f"ok   {tag}: {len(want)} tensors bit-exact in .npz and .safetensors")


main()
