#!/usr/bin/env python3
"""Write a small .cnnz file (spec sections 3-5, 7.2) whose one tensor
declares COUNT u8 elements, all zero: a huffman stream of `run` blocks
(7.2.2) of BLOCK symbols each (default: one block for all), 5 bytes or so a
block whatever BLOCK is. Valid when it keeps to the expansion cap of spec
5.3.1 (COUNT <= 2^20 x coded bytes + 65536), else a file that must be
refused with CNNZ_E_FORMAT_LIMIT. The decoded checksum is that of COUNT zero
bytes only when COUNT is small enough to hash here (<= 2^24); beyond that
the file is for tests that must refuse it before decoding.

usage: mkbig.py OUT.cnnz COUNT [BLOCK]
"""
import struct
import sys

M = 2**64 - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M


def rnd(acc, lane):
    return (rotl((acc + lane * P2) & M, 31) * P1) & M


def xxh64(d):
    """XXH64 with seed 0 (the xxHash specification)."""
    n, i = len(d), 0
    if n >= 32:
        v = [(P1 + P2) & M, P2, 0, (-P1) & M]
        while i + 32 <= n:
            for k in range(4):
                v[k] = rnd(v[k], struct.unpack_from('<Q', d, i + 8 * k)[0])
            i += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
        for k in range(4):
            h = ((h ^ rnd(0, v[k])) * P1 + P4) & M
    else:
        h = P5
    h = (h + n) & M
    while i + 8 <= n:
        h ^= rnd(0, struct.unpack_from('<Q', d, i)[0])
        h = (rotl(h, 27) * P1 + P4) & M
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from('<I', d, i)[0] * P1) & M
        h = (rotl(h, 23) * P2 + P3) & M
        i += 4
    while i < n:
        h ^= (d[i] * P5) & M
        h = (rotl(h, 11) * P1) & M
        i += 1
    h ^= h >> 33
    h = (h * P2) & M
    h ^= h >> 29
    h = (h * P3) & M
    return h ^ (h >> 32)


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def pad8(f):
    f += bytes(-len(f) % 8)


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    block = int(sys.argv[3]) if len(sys.argv) > 3 else count
    assert xxh64(b'') == 0xEF46DB3751D8E999
    q = lambda v: struct.pack('<Q', v)
    u32 = lambda v: struct.pack('<I', v)
    f = bytearray()
    h = b'\x89CNZ\r\n\x1a\n' + struct.pack('<HHI', 1, 0, 0) + bytes(40)
    f += h + q(xxh64(h))
    # TDAT: the huffman stream (7.2.2: run blocks of zero symbols)
    full, last = divmod(count, block)
    stream = (varint((block - 1) * 4) + b'\x00') * full
    if last:
        stream += varint((last - 1) * 4) + b'\x00'
    body = stream + q(xxh64(stream))
    tdat = len(f)
    f += b'TDAT' + u32(1) + q(len(body)) + body
    pad8(f)
    tdir = len(f)
    d = u32(1) + u32(1) + q(0) + q(tdat) + q(len(body)) + b'TDAT' + u32(1)
    decoded = xxh64(bytes(count)) if count <= 1 << 24 else 0
    d += varint(0) + varint(3) + b'big' + bytes([6, 1, 0, 1]) + varint(0) + q(decoded)
    d += varint(count) + varint(0)                  # dims, repr_params_length
    d += bytes([0, 1, 0]) + varint(1) + b'\x01'     # values, huffman v0, params: width 1
    d += varint(len(stream)) + varint(count)
    d += q(xxh64(d))
    f += b'TDIR' + u32(1) + q(len(d)) + d
    pad8(f)
    t = q(tdir) + q(0)
    f += t + q(xxh64(t)) + b'CNZEND\r\n'
    with open(out, 'wb') as o:
        o.write(f)


if __name__ == '__main__':
    main()
