#!/usr/bin/env python3
"""Write the seed corpus of fuzz/fuzz_roundtrip.c into fuzz/corpus/roundtrip/.

Each seed is a file description in the harness's input language (see
next_tensor() in fuzz_roundtrip.c): a head byte, then per tensor dtype,
repr, coder, flags, rank, dims, parameters, name and data. Run it again after
changing that language: python3 fuzz/roundtrip_seeds.py
"""
import os
import struct

F32, F16, BF16, F64, I8, U8, I16, U16, I32, U32, I64, U64, BOOL = range(1, 14)
PLAIN, AFFINE, WIDEN, PLANES, HAM, SHAM = range(6)
AUTO, RAW, HUFFMAN, RANS, CABAC = 0, 1, 2, 3, 4  # coder byte: id + 1
SYM_U8, SYM_U16 = 0, 1   # flags bits 0-1 for affine, ham, sham
SYM_F16, SYM_BF16 = 0, 1  # and for widen
RAW_DATA, SIZE_OFF, NAMED = 4, 8, 16


def head(tensors, threads=1, meta=None):
    b = bytes([(tensors - 1) | ((threads - 1) << 2) | (16 if meta is not None else 0)])
    if meta is not None:
        b += bytes([len(meta)]) + meta
    return b


def fill(run):
    return struct.pack('<H', len(run)) + run


def tensor(dtype, repr_, coder, dims, data, flags=0, scale=None, offset=None,
           codebook=None, k=0, block_rows=0, name=None):
    b = bytes([dtype, repr_, coder, flags | (NAMED if name is not None else 0), len(dims)])
    b += bytes(dims)
    if repr_ == AFFINE:
        b += struct.pack('<dd', scale, offset)
    if repr_ in (HAM, SHAM):
        b += struct.pack('<HB', k, block_rows) + fill(codebook)
    if name is not None:
        b += bytes([len(name)]) + name
    return b + fill(data)


def f32s(*v):
    return struct.pack('<%df' % len(v), *v)


seeds = {
    'plain-f32-auto': head(1) + tensor(F32, PLAIN, AUTO, [64, 64],
                                       f32s(0.5, -0.25, 0.125, 0.0, 1e-3, -2.0, 3.5)),
    'plain-u8-huffman': head(1) + tensor(U8, PLAIN, HUFFMAN, [200, 3], b'aaab\x00cdd'),
    'plain-bool-raw': head(1) + tensor(BOOL, PLAIN, RAW, [7, 9], b'\x00\x01\x01'),
    'plain-bool-bad': head(1) + tensor(BOOL, PLAIN, CABAC, [5], b'\x00\x02', flags=RAW_DATA),
    'planes-f64-rans': head(1) + tensor(F64, PLANES, RANS, [16, 8],
                                        struct.pack('<3d', 1.5, -0.001, 42.0)),
    'planes-u8-bad': head(1) + tensor(U8, PLANES, RAW, [10], b'x'),
    'affine-f32-u8-cabac': head(1) + tensor(F32, AFFINE, CABAC, [32, 32], bytes(range(0, 250, 7)),
                                            flags=SYM_U8, scale=0.01, offset=-1.0),
    'affine-i32-u16-auto': head(1) + tensor(I32, AFFINE, AUTO, [100], b'\x01\x00\x10\x27\xff\xff',
                                            flags=SYM_U16, scale=1.0, offset=0.5),
    'widen-bf16-huffman': head(1) + tensor(F32, WIDEN, HUFFMAN, [128], b'\x80\x3f\x00\xc0\x49\x40',
                                           flags=SYM_BF16),
    'widen-f16-size-off': head(1) + tensor(F32, WIDEN, RAW, [4], b'\x00\x3c', flags=SYM_F16 | SIZE_OFF),
    'ham-f32-u8-auto': head(1) + tensor(F32, HAM, AUTO, [64, 64], b'\x00\x01\x01\x02\x03\x00\x00',
                                        flags=SYM_U8, k=4, codebook=f32s(0.0, 0.5, -0.5, 1.0)),
    'sham-f16-u16-cabac': head(1) + tensor(F16, SHAM, CABAC, [20, 10], b'\x00\x00\x02\x00\x01\x00',
                                           flags=SYM_U16, k=3, block_rows=4,
                                           codebook=b'\x00\x00\x00\x3c\x00\xbc'),
    'sham-too-many-blocks': head(1) + tensor(U8, SHAM, RAW, [200, 1], b'\x00\x01', flags=SYM_U8,
                                             k=2, block_rows=1, codebook=b'\x00\x07'),
    'multi-threads-meta': head(4, threads=3, meta=b'seed') +
        tensor(F32, PLAIN, AUTO, [0, 0], b'') +
        tensor(F32, PLANES, RANS, [128, 128], f32s(0.1, 0.2, -0.3, 0.0, 0.0, 7.0)) +
        tensor(I64, PLAIN, RANS, [3], struct.pack('<q', -5), name=b'conv1/w') +
        tensor(U16, PLAIN, HUFFMAN, [], b'\x34\x12', name=b'conv1/w'),
    'big-raw-own-section': head(1) + tensor(F32, PLAIN, RAW, [128, 128], f32s(1.0, -1.0, 0.5)),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'roundtrip')
os.makedirs(out, exist_ok=True)
for name, data in sorted(seeds.items()):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
print('%d seeds in %s' % (len(seeds), out))
