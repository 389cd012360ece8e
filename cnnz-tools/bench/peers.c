/* The peers cnnz is compared with: zstd -19 and xz -9e, through their
 * libraries on the same bytes, single-threaded (as the cnnz runs are). */
#include <lzma.h>
#include <stdio.h>
#include <zstd.h>

#include "bench.h"

#define ZSTD_BENCH_LEVEL 19
/* xz -9e: preset 9 with the extreme flag, CRC64 check as the xz tool writes. */
#define XZ_BENCH_PRESET (9u | LZMA_PRESET_EXTREME)

int peer_zstd_compress(const uint8_t *src, size_t n, struct membuf *out, char *err, size_t esz)
{
    size_t bound = ZSTD_compressBound(n);
    if (membuf_reserve(out, bound)) {
        snprintf(err, esz, "zstd: out of memory");
        return 1;
    }
    size_t r = ZSTD_compress(out->p, bound, src, n, ZSTD_BENCH_LEVEL);
    if (ZSTD_isError(r)) {
        snprintf(err, esz, "zstd: %s", ZSTD_getErrorName(r));
        return 1;
    }
    out->len = r;
    return 0;
}

int peer_zstd_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, char *err,
                         size_t esz)
{
    size_t r = ZSTD_decompress(dst, dst_len, src, n);
    if (ZSTD_isError(r) || r != dst_len) {
        snprintf(err, esz, "zstd: decompression failed: %s",
                 ZSTD_isError(r) ? ZSTD_getErrorName(r) : "wrong length");
        return 1;
    }
    return 0;
}

int peer_xz_compress(const uint8_t *src, size_t n, struct membuf *out, char *err, size_t esz)
{
    size_t bound = lzma_stream_buffer_bound(n);
    if (!bound || membuf_reserve(out, bound)) {
        snprintf(err, esz, "xz: out of memory");
        return 1;
    }
    size_t pos = 0;
    lzma_ret r = lzma_easy_buffer_encode(XZ_BENCH_PRESET, LZMA_CHECK_CRC64, NULL, src, n, out->p,
                                         &pos, bound);
    if (r != LZMA_OK) {
        snprintf(err, esz, "xz: lzma_easy_buffer_encode error %d", (int)r);
        return 1;
    }
    out->len = pos;
    return 0;
}

int peer_xz_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, char *err,
                       size_t esz)
{
    uint64_t memlimit = UINT64_MAX;
    size_t in_pos = 0, out_pos = 0;
    lzma_ret r = lzma_stream_buffer_decode(&memlimit, 0, NULL, src, &in_pos, n, dst, &out_pos,
                                           dst_len);
    if (r != LZMA_OK || in_pos != n || out_pos != dst_len) {
        snprintf(err, esz, "xz: decompression failed (error %d)", (int)r);
        return 1;
    }
    return 0;
}

const char *peer_zstd_version(void)
{
    return ZSTD_versionString();
}

const char *peer_xz_version(void)
{
    return lzma_version_string();
}
