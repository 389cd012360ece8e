/* libFuzzer target: every registered coder on fuzzer-chosen bytes.
 *
 * Input byte 0 picks the coder (modulo the registry), byte 1 the mode:
 *   even: decode. Byte 2 is the params length p (<= 32), then p param bytes,
 *         a u16 decoded length, and the rest is the coded stream. check() and
 *         decode() must never read or write out of bounds (exact-size copies,
 *         a sentinel after the output), whatever they return; a coder's
 *         incremental decoder must give the same error or the same bytes.
 *   odd:  round trip. Byte 2 picks the symbol width (1 or 2) and a row length;
 *         the rest is the data. Encoding twice must give the same bytes, and
 *         the stream must pass check() and decode back to the data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void *xalloc(void *o, size_t n)
{
    (void)o;
    return malloc(n);
}
static void xfree(void *o, void *p)
{
    (void)o;
    free(p);
}

/* The coder's incremental decoder, in chunks of a size the input picks,
 * must give the whole decode's error (e) or its bytes (whole). */
static void stream_case(const struct cnnz__alloc *a, const struct cnnz__coder *cd,
                        const uint8_t *params, size_t plen, const uint8_t *coded, size_t clen,
                        const uint8_t *whole, size_t dlen, int e, unsigned pick)
{
    size_t w = cd->id == 0 || plen < 1 || params[0] != 2 ? 1 : 2;
    if (dlen % w)
        return;
    size_t chunk = w * (1 + pick % 61);
    uint8_t *dst = malloc(dlen + 1);
    void *st = NULL;
    int se = cd->stream_begin(a, cd->version, params, plen, coded, clen, dlen, &st);
    size_t done = 0;
    while (!se && done < dlen) {
        size_t k = dlen - done < chunk ? dlen - done : chunk;
        se = cd->stream_next(st, dst + done, k);
        done += k;
    }
    if (st)
        cd->stream_end(a, st);
    if (se != e || (!e && dlen && memcmp(dst, whole, dlen)))
        abort(); /* streamed decoding differs from the whole decode */
    free(dst);
}

static void decode_case(const struct cnnz__alloc *a, const struct cnnz__coder *cd,
                        const uint8_t *p, size_t n)
{
    if (n < 1)
        return;
    size_t plen = p[0] % 33;
    if (n < 1 + plen + 2)
        return;
    uint8_t *params = malloc(plen ? plen : 1);
    memcpy(params, p + 1, plen);
    size_t dlen = (size_t)p[1 + plen] | (size_t)p[2 + plen] << 8;
    size_t clen = n - 3 - plen;
    uint8_t *coded = malloc(clen ? clen : 1);
    memcpy(coded, p + 3 + plen, clen);
    uint8_t *dst = malloc(dlen + 1);
    dst[dlen] = 0xA5;
    if (cd->check(cd->version, params, plen, clen, dlen) == CNNZ_OK) {
        int e = cd->decode(a, cd->version, params, plen, coded, clen, dst, dlen);
        if (cd->stream_begin)
            stream_case(a, cd, params, plen, coded, clen, dst, dlen, e, p[0]);
    }
    if (dst[dlen] != 0xA5)
        abort(); /* wrote past the output */
    free(dst);
    free(coded);
    free(params);
}

static void roundtrip_case(const struct cnnz__alloc *a, const struct cnnz__coder *cd,
                           const uint8_t *p, size_t n)
{
    if (n < 1)
        return;
    struct cnnz__symfmt f = {1u + (p[0] & 1), (uint64_t)(p[0] >> 1), 0};
    p++, n--;
    n -= n % f.width;
    struct cnnz__buf out1 = {0}, par1 = {0}, out2 = {0}, par2 = {0};
    out1.a = par1.a = out2.a = par2.a = a;
    const uint8_t *c1, *c2;
    size_t l1, l2;
    int e1 = cd->encode(a, &f, p, n, &out1, &c1, &l1, &par1);
    int e2 = cd->encode(a, &f, p, n, &out2, &c2, &l2, &par2);
    if (e1 != e2)
        abort();
    if (!e1) {
        if (l1 != l2 || (l1 && memcmp(c1, c2, l1)) || par1.len != par2.len ||
            (par1.len && memcmp(par1.data, par2.data, par1.len)))
            abort(); /* not deterministic */
        if (cd->check(cd->version, par1.data, par1.len, l1, n) != CNNZ_OK)
            abort();
        uint8_t *coded = malloc(l1 ? l1 : 1), *dst = malloc(n + 1);
        memcpy(coded, c1, l1);
        dst[n] = 0xA5;
        if (cd->decode(a, cd->version, par1.data, par1.len, coded, l1, dst, n) != CNNZ_OK ||
            (n && memcmp(dst, p, n)) || dst[n] != 0xA5)
            abort(); /* the decoder must invert the encoder */
        free(coded);
        free(dst);
    } else if (e1 != CNNZ_E_UNSUPPORTED && e1 != CNNZ_E_NOMEM) {
        abort();
    }
    cnnz__buf_free(&out1);
    cnnz__buf_free(&par1);
    cnnz__buf_free(&out2);
    cnnz__buf_free(&par2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cnnz__alloc a = {xalloc, xfree, NULL};
    if (size < 2)
        return 0;
    const struct cnnz__coder *cd = cnnz__coder_at(data[0] % cnnz__coder_count());
    if (data[1] & 1)
        roundtrip_case(&a, cd, data + 2, size - 2);
    else
        decode_case(&a, cd, data + 2, size - 2);
    return 0;
}
