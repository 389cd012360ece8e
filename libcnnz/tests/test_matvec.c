/* Suite matvec: compute on compressed tensors (cnnz.h: cnnz_matvec,
 * cnnz_vecmat, cnnz_decoder) and the coders' incremental decoders under
 * them (coder.h: cnnz__cstream).
 *
 *  - every coder, decoded in order in random chunk sizes, gives the bytes
 *    and the error of its whole-stream decode, on valid, truncated,
 *    mutated and random inputs;
 *  - cnnz_decoder gives the bytes of cnnz_reader_decode, whatever the
 *    buffer size, and the same error on damaged files;
 *  - products on random tensors of every representation x coder x odd
 *    shape equal, bit for bit, a dense loop in the order cnnz.h documents
 *    over the cnnz_reader_decode output, for 1 to 4 threads;
 *  - argument and buffer checks, and damaged files (stream bytes changed,
 *    checksums recomputed): an error or the right answer, never a crash. */
#include <stdlib.h>
#include <string.h>

#include "coder_tests.h"
#include "matvec_ref.h"

/* matvec.c's test hook: simd 0 keeps to the portable kernels. */
int cnnz__matvec_with(int simd, int trans, const cnnz_reader *r, size_t index, const float *x,
                      size_t x_len, float *y, size_t y_len,
                      const struct cnnz_matvec_options *opts, struct cnnz_where *w);

/* ============================================== incremental decoders */

/* Whole decode vs the stream layer in random chunks: same verdict, and the
 * same bytes when both succeed. Returns the whole decode's error. */
static int stream_vs_whole(struct rng *r, const struct cnnz__coder *cd, const uint8_t *params,
                           size_t params_len, const uint8_t *src, size_t src_len,
                           size_t dst_len, unsigned width)
{
    struct cnnz__alloc a = lib_alloc();
    uint8_t *whole = malloc(dst_len + 1), *part = malloc(dst_len + 1), *scratch = malloc(dst_len + 1);
    ck_assert(whole && part && scratch);
    int e_whole = cd->decode(&a, cd->version, params, params_len, src, src_len, whole, dst_len);
    /* Through cnnz__cstream (identity views, the fallback for cabac) and,
     * when the coder has one, its own incremental decoder directly. */
    for (int direct = 0; direct < 2; direct++) {
        if (direct && !cd->stream_begin)
            continue;
        int e = CNNZ_OK;
        size_t done = 0;
        struct cnnz__cstream cs;
        void *state = NULL;
        if (direct)
            e = cd->stream_begin(&a, cd->version, params, params_len, src, src_len, dst_len, &state);
        else
            e = cnnz__cstream_begin(&cs, &a, cd, cd->version, params, params_len, src, src_len,
                                    dst_len);
        while (!e && done < dst_len) {
            size_t k = width * (1 + rng_below(r, rng_below(r, 2) ? 7 : 3000));
            if (k > dst_len - done)
                k = dst_len - done;
            if (direct) {
                e = cd->stream_next(state, part + done, k);
            } else {
                const uint8_t *p = cnnz__cstream_next(&cs, scratch, k, &e);
                if (p)
                    memcpy(part + done, p, k);
                else
                    ck_assert_int_ne(e, CNNZ_OK);
            }
            done += k;
        }
        if (direct) {
            if (state)
                cd->stream_end(&a, state);
        } else {
            cnnz__cstream_end(&cs);
        }
        ck_assert_msg(e == e_whole, "coder %s (%s): streamed %s, whole %s", cd->name,
                      direct ? "direct" : "cstream", cnnz_error_token(e),
                      cnnz_error_token(e_whole));
        if (!e)
            ck_assert(memcmp(part, whole, dst_len) == 0);
    }
    free(whole);
    free(part);
    free(scratch);
    return e_whole;
}

/* Symbols with a skewed distribution (what weights' indices look like). */
static void skewed(struct rng *r, uint8_t *p, size_t n, unsigned width, unsigned alphabet)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = rng_below(r, alphabet);
        if (rng_below(r, 4))
            v = v * v / (alphabet ? alphabet : 1) / 3; /* small values more often */
        if (rng_below(r, 50) == 0)
            v = rng_below(r, 1u << (8 * width));
        p[width * i] = (uint8_t)v;
        if (width == 2)
            p[2 * i + 1] = (uint8_t)(v >> 8);
    }
}

START_TEST(test_streams_equal_whole)
{
    struct rng r;
    rng_init(&r, __func__);
    struct cnnz__alloc a = lib_alloc();
    const size_t lens[] = {0, 1, 2, 5, 100, 1023, 1024, 1025, 4095, 5000, 9000, 40000, 70001};
    for (unsigned c = 0; c < cnnz__coder_count(); c++) {
        const struct cnnz__coder *cd = cnnz__coder_at(c);
        for (unsigned width = 1; width <= 2; width++)
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
                size_t n = lens[li];
                uint8_t *src = malloc(width * n + 1);
                ck_assert_ptr_nonnull(src);
                unsigned kind = rng_below(&r, 3);
                if (kind == 0)
                    skewed(&r, src, n, width, 33);
                else if (kind == 1)
                    memset(src, 7, width * n); /* one symbol */
                else
                    skewed(&r, src, n, width, width == 1 ? 256 : 3000);
                struct cnnz__buf out = {.a = &a}, params = {.a = &a};
                struct cnnz__symfmt f = {.width = width};
                const uint8_t *coded;
                size_t clen;
                int e = cd->encode(&a, &f, src, width * n, &out, &coded, &clen, &params);
                if (e == CNNZ_E_UNSUPPORTED) {
                    cnnz__buf_free(&out);
                    cnnz__buf_free(&params);
                    free(src);
                    continue;
                }
                ck_assert_int_eq(e, CNNZ_OK);
                uint8_t *cp = dup_exact(coded, clen);
                ck_assert_int_eq(stream_vs_whole(&r, cd, params.data, params.len, cp, clen,
                                                 width * n, width),
                                 CNNZ_OK);
                /* Truncations, single-byte changes, one extra byte. */
                for (unsigned t = 0; t < 12 && clen; t++) {
                    size_t cut = rng_below(&r, (uint32_t)clen);
                    uint8_t *tc = dup_exact(cp, cut);
                    stream_vs_whole(&r, cd, params.data, params.len, tc, cut, width * n, width);
                    free(tc);
                    uint8_t *mc = dup_exact(cp, clen);
                    mc[rng_below(&r, (uint32_t)clen)] ^= (uint8_t)(1 + rng_below(&r, 255));
                    stream_vs_whole(&r, cd, params.data, params.len, mc, clen, width * n, width);
                    free(mc);
                }
                uint8_t *ext = malloc(clen + 1);
                ck_assert_ptr_nonnull(ext);
                if (clen)
                    memcpy(ext, cp, clen);
                ext[clen] = (uint8_t)rng_u64(&r);
                stream_vs_whole(&r, cd, params.data, params.len, ext, clen + 1, width * n, width);
                free(ext);
                free(cp);
                cnnz__buf_free(&out);
                cnnz__buf_free(&params);
                free(src);
            }
        /* Garbage of random lengths under the coder's parameters seen above. */
        for (unsigned t = 0; t < 40; t++) {
            size_t clen = rng_below(&r, 300);
            uint8_t *g = malloc(clen + 1);
            ck_assert_ptr_nonnull(g);
            rng_bytes(&r, g, clen);
            uint8_t params[3];
            size_t plen = 0;
            if (cd->id == CNNZ_CODER_HUFFMAN) {
                params[0] = 1;
                plen = 1;
            } else if (cd->id == CNNZ_CODER_RANS) {
                params[0] = 1, params[1] = (uint8_t)rng_below(&r, 6), params[2] = 12;
                plen = 3;
            } else if (cd->id == CNNZ_CODER_CABAC) {
                free(g);
                continue; /* its parameters are its own business: covered above */
            }
            uint8_t *gc = dup_exact(g, clen);
            size_t dlen = cd->identity ? clen : rng_below(&r, 2000);
            stream_vs_whole(&r, cd, params, plen, gc, clen, dlen, 1);
            free(gc);
            free(g);
        }
    }
}
END_TEST

/* ============================================== tensors for products */

static int mv_write(void *opaque, const void *buf, size_t n)
{
    membuf_append(opaque, buf, n);
    return 0;
}

/* One tensor written with the writer into an image; the decoded floats (by
 * cnnz_reader_decode, widened to f32) are the reference's matrix. */
struct mt {
    uint8_t *img;
    size_t size;
    cnnz_reader *r;
    struct cnnz_tensor_info ti;
    uint64_t rows, cols;
    float *w; /* rows * cols decoded elements */
};

struct mt_spec {
    int repr, dtype, symbol_dtype, coder;
    unsigned rank;
    uint64_t dims[4];
    double prune;   /* fraction of elements set to the zero entry */
    int zero_rows;  /* also make some whole rows (and the first block) zero */
    uint32_t levels;
    uint64_t block_rows;
};

static uint16_t f32_to_half(float f, int bf16)
{
    uint32_t b = f32_bits(f);
    if (bf16)
        return (uint16_t)(b >> 16);
    /* small normal values only (what the tests draw): truncating is fine */
    uint32_t s = b >> 31, e = (b >> 23) & 0xff, m = b & 0x7fffff;
    if (e < 103)
        return (uint16_t)(s << 15);
    if (e < 113) /* subnormal half */
        return (uint16_t)(s << 15 | ((m | 0x800000) >> (126 - e)));
    return (uint16_t)(s << 15 | (e - 112) << 10 | m >> 13);
}

static void put_elem(uint8_t *p, int dtype, float v)
{
    if (dtype == CNNZ_DT_F32)
        put32(p, f32_bits(v));
    else
        put16(p, f32_to_half(v, dtype == CNNZ_DT_BF16));
}

static float get_elem(const uint8_t *p, int dtype)
{
    if (dtype == CNNZ_DT_F32)
        return f32_from_bits(get32(p));
    return dtype == CNNZ_DT_F16 ? ref_f16_to_f32(get16(p)) : ref_bf16_to_f32(get16(p));
}

static void mt_make(struct rng *r, const struct mt_spec *sp, struct mt *t)
{
    memset(t, 0, sizeof *t);
    uint64_t n = 1;
    for (unsigned i = 0; i < sp->rank; i++)
        n *= sp->dims[i];
    uint64_t rows = sp->rank ? sp->dims[0] : 1, cols = rows ? (n / (rows ? rows : 1)) : 0;
    if (!rows && sp->rank > 1) {
        cols = 1;
        for (unsigned i = 1; i < sp->rank; i++)
            cols *= sp->dims[i];
    }
    const size_t es = cnnz_dtype_size(sp->dtype);
    struct cnnz_tensor_desc d;
    memset(&d, 0, sizeof d);
    d.name = "w";
    d.dtype = sp->dtype;
    d.rank = sp->rank;
    d.dims = sp->dims;
    d.repr = sp->repr;
    d.coder = sp->coder;
    d.symbol_dtype = sp->symbol_dtype;
    d.block_rows = sp->block_rows;
    uint8_t *data = NULL, *cb = NULL;
    size_t size = 0;
    /* Which elements are zero: a pruning mask. */
    uint8_t *zero = malloc(n + 1);
    ck_assert_ptr_nonnull(zero);
    for (uint64_t i = 0; i < n; i++)
        zero[i] = rng_unit(r) < sp->prune;
    if (sp->zero_rows && rows && cols) {
        uint64_t br = sp->block_rows ? sp->block_rows : 1;
        for (uint64_t row = 0; row < rows; row++)
            if (row < br || rng_below(r, 5) == 0)
                memset(zero + row * cols, 1, (size_t)cols);
    }
    if (sp->repr == CNNZ_REPR_HAM || sp->repr == CNNZ_REPR_SHAM) {
        uint32_t K = sp->levels + 1;
        const size_t ss = cnnz_dtype_size(sp->symbol_dtype);
        cb = malloc(K * es);
        ck_assert_ptr_nonnull(cb);
        put_elem(cb, sp->dtype, 0.0f); /* entry 0: the zero (all bytes 0) */
        for (uint32_t k = 1; k < K; k++)
            put_elem(cb + k * es, sp->dtype, (float)(rng_unit(r) * 2 - 1) * (float)(1 + k % 3));
        size = (size_t)n * ss;
        data = malloc(size + 1);
        ck_assert_ptr_nonnull(data);
        for (uint64_t i = 0; i < n; i++) {
            unsigned q = zero[i] ? 0 : 1 + rng_below(r, K - 1);
            if (ss == 1)
                data[i] = (uint8_t)q;
            else
                put16(data + 2 * i, (uint16_t)q);
        }
        d.codebook = cb;
        d.codebook_size = K;
    } else if (sp->repr == CNNZ_REPR_AFFINE) {
        d.scale = rng_unit(r) * 0.01 + 1e-4;
        d.offset = -rng_unit(r);
        const size_t ss = cnnz_dtype_size(sp->symbol_dtype);
        size = (size_t)n * ss;
        data = malloc(size + 1);
        ck_assert_ptr_nonnull(data);
        for (uint64_t i = 0; i < n; i++) {
            unsigned q = zero[i] ? 0 : rng_below(r, sp->levels ? sp->levels : ss == 1 ? 256 : 65536);
            if (ss == 1)
                data[i] = (uint8_t)q;
            else
                put16(data + 2 * i, (uint16_t)q);
        }
    } else { /* plain (maybe stored as planes by auto), widen */
        const int sdt = sp->repr == CNNZ_REPR_WIDEN ? sp->symbol_dtype : sp->dtype;
        const size_t ss = cnnz_dtype_size(sdt);
        size = (size_t)n * ss;
        data = malloc(size + 1);
        ck_assert_ptr_nonnull(data);
        for (uint64_t i = 0; i < n; i++)
            put_elem(data + i * ss, sdt, zero[i] ? 0.0f : (float)(rng_unit(r) * 4 - 2));
    }
    struct membuf mb;
    membuf_init(&mb);
    struct cnnz_sink sink = {mv_write, &mb};
    cnnz_writer *wr;
    ck_assert_int_eq(cnnz_writer_open(&wr, &sink, NULL), CNNZ_OK);
    int e = cnnz_writer_add_tensor(wr, &d, data, size);
    ck_assert_msg(e == CNNZ_OK, "add_tensor: %s", cnnz_error_token(e));
    ck_assert_int_eq(cnnz_writer_finish(wr), CNNZ_OK);
    cnnz_writer_free(wr);
    t->img = dup_exact(mb.data, mb.len);
    t->size = mb.len;
    membuf_free(&mb);
    ck_assert_int_eq(cnnz_reader_open_memory(&t->r, t->img, t->size, NULL), CNNZ_OK);
    ck_assert_int_eq(cnnz_reader_tensor_info(t->r, 0, &t->ti), CNNZ_OK);
    ck_assert_int_eq(cnnz_matrix_shape(&t->ti, &t->rows, &t->cols), CNNZ_OK);
    ck_assert_uint_eq(t->rows, rows);
    ck_assert_uint_eq(t->cols, cols);
    uint8_t *dec = malloc(t->ti.decoded_bytes + 1);
    t->w = malloc((size_t)n * sizeof *t->w + 1);
    ck_assert(dec && t->w);
    ck_assert_int_eq(cnnz_reader_decode(t->r, 0, dec, t->ti.decoded_bytes, NULL), CNNZ_OK);
    for (uint64_t i = 0; i < n; i++)
        t->w[i] = get_elem(dec + i * es, sp->dtype);
    free(dec);
    free(data);
    free(cb);
    free(zero);
}

static void mt_free(struct mt *t)
{
    cnnz_reader_close(t->r);
    free(t->img);
    free(t->w);
}

/* The orders of cnnz.h, over the dense matrix. */
/* block_rows 0: one block (everything but sham). */
static void ref_vecmat_alloc(const float *w, uint64_t rows, uint64_t cols, uint64_t block_rows,
                             const float *x, float *y)
{
    float *p = malloc((size_t)cols * sizeof *p + 1);
    ck_assert_ptr_nonnull(p);
    ref_vecmat(w, rows, cols, block_rows, x, y, p);
    free(p);
}

static void rand_vec(struct rng *r, float *v, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        v[i] = (float)(rng_unit(r) * 2 - 1);
}

#define SENTINEL 0x5Au

/* Both products of t, 1..4 threads, with and without verify: equal to the
 * reference bit for bit (+0.0 and -0.0 compare equal), the same bytes for
 * every thread count, nothing written past y. */
static void check_products(struct rng *r, const struct mt *t)
{
    const uint64_t rows = t->rows, cols = t->cols;
    const uint64_t brows = t->ti.repr == CNNZ_REPR_SHAM ? t->ti.block_rows : 0;
    for (int trans = 0; trans < 2; trans++) {
        const uint64_t in = trans ? rows : cols, out = trans ? cols : rows;
        float *x = malloc((size_t)in * 4 + 4), *ref = malloc((size_t)out * 4 + 4);
        uint8_t *y = malloc((size_t)out * 4 + 8), *first = malloc((size_t)out * 4 + 8);
        ck_assert(x && ref && y && first);
        rand_vec(r, x, in);
        if (trans)
            ref_vecmat_alloc(t->w, rows, cols, brows, x, ref);
        else
            ref_matvec(t->w, rows, cols, x, ref);
        for (unsigned th = 1; th <= 4; th++) {
            struct cnnz_matvec_options o = {.threads = th, .verify = (int)(th & 1)};
            struct cnnz_where wh = {0};
            memset(y, SENTINEL, (size_t)out * 4 + 8);
            int e = trans ? cnnz_vecmat(t->r, 0, x, (size_t)in, (float *)(void *)y, (size_t)out, &o, &wh)
                          : cnnz_matvec(t->r, 0, x, (size_t)in, (float *)(void *)y, (size_t)out, &o, &wh);
            ck_assert_msg(e == CNNZ_OK, "%s %s coder %s %llux%llu threads %u: %s",
                          trans ? "vecmat" : "matvec", cnnz_repr_name(t->ti.repr),
                          t->ti.stream_count > 1 ? cnnz_coder_name(t->ti.streams[1].coder)
                                                 : cnnz_coder_name(t->ti.streams[0].coder),
                          (unsigned long long)rows, (unsigned long long)cols, th,
                          cnnz_error_token(e));
            for (unsigned k = 0; k < 8; k++)
                ck_assert_uint_eq(y[out * 4 + k], SENTINEL);
            for (uint64_t i = 0; i < out; i++) {
                float v;
                memcpy(&v, y + 4 * i, 4);
                ck_assert_msg(v == ref[i] || (v != v && ref[i] != ref[i]),
                              "%s %s %llux%llu th %u: y[%llu] = %a, reference %a",
                              trans ? "vecmat" : "matvec", cnnz_repr_name(t->ti.repr),
                              (unsigned long long)rows, (unsigned long long)cols, th,
                              (unsigned long long)i, (double)v, (double)ref[i]);
            }
            if (th == 1)
                memcpy(first, y, (size_t)out * 4);
            else
                ck_assert(memcmp(first, y, (size_t)out * 4) == 0);
            /* the portable kernels and the AVX2 ones (where the call
             * above took AVX-512): the same bytes */
            for (int simd = 0; simd < 2; simd++) {
                memset(y, SENTINEL, (size_t)out * 4 + 8);
                ck_assert_int_eq(cnnz__matvec_with(simd, trans, t->r, 0, x, (size_t)in,
                                                   (float *)(void *)y, (size_t)out, &o, NULL),
                                 CNNZ_OK);
                ck_assert(memcmp(first, y, (size_t)out * 4) == 0);
                ck_assert_uint_eq(y[out * 4], SENTINEL);
            }
        }
        free(x);
        free(ref);
        free(y);
        free(first);
    }
}

static const int all_reprs[] = {CNNZ_REPR_HAM, CNNZ_REPR_SHAM, CNNZ_REPR_AFFINE, CNNZ_REPR_PLAIN,
                                CNNZ_REPR_WIDEN};
static const int all_coders[] = {CNNZ_CODER_RAW, CNNZ_CODER_HUFFMAN, CNNZ_CODER_RANS,
                                 CNNZ_CODER_CABAC, CNNZ_CODER_AUTO};

static void spec_for(struct rng *r, struct mt_spec *sp, int repr, int coder)
{
    memset(sp, 0, sizeof *sp);
    sp->repr = repr;
    sp->coder = coder;
    sp->dtype = CNNZ_DT_F32;
    if (repr == CNNZ_REPR_HAM || repr == CNNZ_REPR_SHAM) {
        static const uint32_t lv[] = {1, 7, 15, 31, 32, 100, 255, 300};
        sp->levels = lv[rng_below(r, 8)];
        sp->symbol_dtype = sp->levels + 1 > 256 ? CNNZ_DT_U16 : CNNZ_DT_U8;
        if (rng_below(r, 4) == 0)
            sp->dtype = rng_below(r, 2) ? CNNZ_DT_F16 : CNNZ_DT_BF16;
    } else if (repr == CNNZ_REPR_AFFINE) {
        sp->symbol_dtype = rng_below(r, 4) ? CNNZ_DT_U8 : CNNZ_DT_U16;
        /* symbols below 8, 16, 32 or one more (uq levels as affine:
         * matvec's register lookups on chunks of a 256-entry table, at the
         * edges of each), or any */
        static const uint32_t lv[] = {8, 9, 16, 17, 32, 33, 0};
        sp->levels = lv[rng_below(r, 7)];
    } else if (repr == CNNZ_REPR_WIDEN) {
        sp->symbol_dtype = rng_below(r, 2) ? CNNZ_DT_F16 : CNNZ_DT_BF16;
    } else if (rng_below(r, 4) == 0) {
        sp->dtype = rng_below(r, 2) ? CNNZ_DT_F16 : CNNZ_DT_BF16;
    }
    static const double pr[] = {0, 0.3, 0.9, 0.99, 1.0};
    sp->prune = pr[rng_below(r, 5)];
    sp->zero_rows = rng_below(r, 4) == 0;
    /* Odd shapes: 1 x N, N x 1, vectors, scalars, conv kernels, empty. */
    switch (rng_below(r, 9)) {
    case 0:
        sp->rank = 2, sp->dims[0] = 1, sp->dims[1] = 1 + rng_below(r, 3000);
        break;
    case 1:
        sp->rank = 2, sp->dims[0] = 1 + rng_below(r, 3000), sp->dims[1] = 1;
        break;
    case 2:
        sp->rank = 1, sp->dims[0] = 1 + rng_below(r, 500);
        break;
    case 3:
        sp->rank = 0;
        break;
    case 4:
        sp->rank = 4, sp->dims[0] = 1 + rng_below(r, 40), sp->dims[1] = 1 + rng_below(r, 20);
        sp->dims[2] = sp->dims[3] = 1 + 2 * rng_below(r, 3);
        break;
    case 5:
        sp->rank = 2, sp->dims[0] = rng_below(r, 2) ? 0 : 3, sp->dims[1] = rng_below(r, 2) ? 0 : 5;
        break;
    case 6: /* large enough for several tasks and blocks */
        sp->rank = 2, sp->dims[0] = 200 + rng_below(r, 700), sp->dims[1] = 300 + rng_below(r, 400);
        break;
    default:
        sp->rank = 2, sp->dims[0] = 1 + rng_below(r, 150), sp->dims[1] = 1 + rng_below(r, 150);
        break;
    }
    if (repr == CNNZ_REPR_SHAM && rng_below(r, 2)) {
        uint64_t rows = sp->rank ? sp->dims[0] : 1;
        sp->block_rows = 1 + rng_below(r, rows > 1 ? (uint32_t)rows : 1);
        if (rows / sp->block_rows >= 127) /* at most 127 blocks (spec 6.7) */
            sp->block_rows = rows / 100 + 1;
    }
}

START_TEST(test_products_random)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(8);
    for (unsigned it = 0; it < iters; it++)
        for (size_t ri = 0; ri < sizeof all_reprs / sizeof all_reprs[0]; ri++)
            for (size_t ci = 0; ci < sizeof all_coders / sizeof all_coders[0]; ci++) {
                struct mt_spec sp;
                spec_for(&r, &sp, all_reprs[ri], all_coders[ci]);
                struct mt t;
                mt_make(&r, &sp, &t);
                check_products(&r, &t);
                mt_free(&t);
            }
}
END_TEST

/* The most sham blocks (127: 1 + 2 * 127 streams = 255), one row each, some
 * of them empty; and a block of one stored element per row. */
START_TEST(test_products_sham_blocks)
{
    struct rng r;
    rng_init(&r, __func__);
    for (size_t ci = 0; ci < sizeof all_coders / sizeof all_coders[0]; ci++) {
        struct mt_spec sp = {.repr = CNNZ_REPR_SHAM, .dtype = CNNZ_DT_F32,
                             .symbol_dtype = CNNZ_DT_U8, .coder = all_coders[ci], .rank = 2,
                             .dims = {127, 1 + rng_below(&r, 600)}, .prune = 0.95, .zero_rows = 1,
                             .levels = 31, .block_rows = 1};
        struct mt t;
        mt_make(&r, &sp, &t);
        ck_assert_uint_eq(t.ti.stream_count, 255);
        check_products(&r, &t);
        mt_free(&t);
        /* Long zero runs (255 continuation bytes) and a wide row. */
        struct mt_spec sp2 = {.repr = CNNZ_REPR_SHAM, .dtype = CNNZ_DT_F32,
                              .symbol_dtype = CNNZ_DT_U8, .coder = all_coders[ci], .rank = 2,
                              .dims = {5, 70000}, .prune = 0.999, .levels = 31};
        mt_make(&r, &sp2, &t);
        check_products(&r, &t);
        mt_free(&t);
    }
}
END_TEST

/* ============================================== the decoder */

/* cnnz_decoder through buffers of random sizes: cnnz_reader_decode's bytes,
 * or its error. Returns the error. */
static int decoder_vs_decode(struct rng *r, const cnnz_reader *rd, size_t index, int expect_err)
{
    struct cnnz_tensor_info ti;
    ck_assert_int_eq(cnnz_reader_tensor_info(rd, index, &ti), CNNZ_OK);
    const size_t es = cnnz_dtype_size(ti.dtype), total = (size_t)ti.decoded_bytes;
    uint8_t *ref = malloc(total + 1), *got = malloc(total + 1);
    ck_assert(ref && got);
    int e_dec = cnnz_reader_decode(rd, index, ref, total, NULL);
    if (expect_err >= 0)
        ck_assert_int_eq(e_dec, expect_err);
    cnnz_decoder *d;
    struct cnnz_where wh = {0};
    int e = cnnz_decoder_open(&d, rd, index, &wh);
    size_t done = 0;
    if (!e) {
        size_t n = 1;
        uint8_t buf[40000];
        while (!e && n) {
            size_t cap = es * (1 + rng_below(r, rng_below(r, 2) ? 5 : 6000));
            if (cap > sizeof buf)
                cap = sizeof buf / es * es;
            if (rng_below(r, 8) == 0) /* not a whole number of elements */
                cap += rng_below(r, (uint32_t)es);
            e = cnnz_decoder_read(d, buf, cap, &n, &wh);
            if (!e) {
                ck_assert_uint_le(done + n, total);
                ck_assert_uint_eq(n % es, 0);
                memcpy(got + done, buf, n);
                done += n;
            }
        }
        if (e) { /* sticky */
            size_t n2;
            ck_assert_int_eq(cnnz_decoder_read(d, buf, sizeof buf, &n2, NULL), e);
        }
        cnnz_decoder_close(d);
    }
    ck_assert_msg(e == e_dec, "decoder %s, decode %s", cnnz_error_token(e), cnnz_error_token(e_dec));
    if (!e) {
        ck_assert_uint_eq(done, total);
        ck_assert(memcmp(got, ref, total) == 0);
    }
    free(ref);
    free(got);
    return e;
}

START_TEST(test_decoder_random)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(12);
    for (unsigned it = 0; it < iters; it++) {
        struct model m;
        model_init(&m);
        struct model_opts o = {.max_tensors = 6, .max_rank = 4, .max_elements = 20000,
                               .max_meta = 1, .max_name_bytes = 16};
        model_random(&m, &r, &o);
        size_t n;
        uint8_t *img = model_file(&m, &n);
        cnnz_reader *rd;
        ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, NULL), CNNZ_OK);
        for (size_t i = 0; i < cnnz_reader_tensor_count(rd); i++)
            decoder_vs_decode(&r, rd, i, CNNZ_OK);
        /* too small for one element; bad arguments */
        if (cnnz_reader_tensor_count(rd)) {
            struct cnnz_tensor_info ti;
            cnnz_reader_tensor_info(rd, 0, &ti);
            cnnz_decoder *d;
            ck_assert_int_eq(cnnz_decoder_open(&d, rd, 0, NULL), CNNZ_OK);
            uint8_t b[8];
            size_t got = 99;
            size_t es = cnnz_dtype_size(ti.dtype);
            if (ti.elements)
                ck_assert_int_eq(cnnz_decoder_read(d, b, es - 1, &got, NULL), CNNZ_E_BUFFER);
            ck_assert_int_eq(cnnz_decoder_read(d, NULL, 8, &got, NULL), CNNZ_E_ARG);
            cnnz_decoder_close(d);
        }
        cnnz_decoder *d;
        ck_assert_int_eq(cnnz_decoder_open(&d, rd, cnnz_reader_tensor_count(rd), NULL),
                         CNNZ_E_NOTFOUND);
        ck_assert_int_eq(cnnz_decoder_open(NULL, rd, 0, NULL), CNNZ_E_ARG);
        cnnz_decoder_close(NULL);
        cnnz_reader_close(rd);
        free(img);
        model_free(&m);
    }
}
END_TEST

/* ============================================== arguments */

START_TEST(test_arguments)
{
    struct rng r;
    rng_init(&r, __func__);
    struct mt_spec sp = {.repr = CNNZ_REPR_SHAM, .dtype = CNNZ_DT_F32, .symbol_dtype = CNNZ_DT_U8,
                         .coder = CNNZ_CODER_AUTO, .rank = 2, .dims = {30, 17}, .prune = 0.5,
                         .levels = 7};
    struct mt t;
    mt_make(&r, &sp, &t);
    float x[64], y[64];
    rand_vec(&r, x, 64);
    struct cnnz_where wh = {0};
    /* x of the wrong length, y one float short: nothing written */
    ck_assert_int_eq(cnnz_matvec(t.r, 0, x, 16, y, 30, NULL, &wh), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_matvec(t.r, 0, x, 18, y, 30, NULL, &wh), CNNZ_E_ARG);
    for (int i = 0; i < 64; i++)
        y[i] = -7.0f;
    ck_assert_int_eq(cnnz_matvec(t.r, 0, x, 17, y, 29, NULL, &wh), CNNZ_E_BUFFER);
    ck_assert_int_eq(cnnz_vecmat(t.r, 0, x, 30, y, 16, NULL, &wh), CNNZ_E_BUFFER);
    for (int i = 0; i < 64; i++)
        ck_assert(y[i] == -7.0f);
    ck_assert_int_eq(cnnz_vecmat(t.r, 0, x, 17, y, 17, NULL, &wh), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_matvec(t.r, 1, x, 17, y, 30, NULL, &wh), CNNZ_E_NOTFOUND);
    ck_assert_int_eq(cnnz_matvec(NULL, 0, x, 17, y, 30, NULL, &wh), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_matvec(t.r, 0, NULL, 17, y, 30, NULL, &wh), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_matvec(t.r, 0, x, 17, NULL, 30, NULL, &wh), CNNZ_E_ARG);
    /* a bigger y is fine, and only rows floats are written */
    ck_assert_int_eq(cnnz_matvec(t.r, 0, x, 17, y, 64, NULL, &wh), CNNZ_OK);
    for (int i = 30; i < 64; i++)
        ck_assert(y[i] == -7.0f);
    mt_free(&t);
    /* dtypes without float products */
    struct membuf mb;
    membuf_init(&mb);
    struct cnnz_sink sink = {mv_write, &mb};
    cnnz_writer *wr;
    ck_assert_int_eq(cnnz_writer_open(&wr, &sink, NULL), CNNZ_OK);
    uint64_t dims[2] = {2, 3};
    int32_t iv[6] = {1, 2, 3, 4, 5, 6};
    struct cnnz_tensor_desc d = {.name = "i", .dtype = CNNZ_DT_I32, .rank = 2, .dims = dims,
                                 .repr = CNNZ_REPR_PLAIN, .coder = CNNZ_CODER_RAW};
    ck_assert_int_eq(cnnz_writer_add_tensor(wr, &d, iv, sizeof iv), CNNZ_OK);
    ck_assert_int_eq(cnnz_writer_finish(wr), CNNZ_OK);
    cnnz_writer_free(wr);
    cnnz_reader *rd;
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, mb.data, mb.len, NULL), CNNZ_OK);
    ck_assert_int_eq(cnnz_matvec(rd, 0, x, 3, y, 2, NULL, &wh), CNNZ_E_UNSUPPORTED);
    ck_assert_int_eq(cnnz_vecmat(rd, 0, x, 2, y, 3, NULL, &wh), CNNZ_E_UNSUPPORTED);
    cnnz_reader_close(rd);
    membuf_free(&mb);
    /* the matrix view */
    uint64_t rows, cols, dd[4] = {8, 3, 5, 5};
    struct cnnz_tensor_info ti = {.rank = 4, .dims = dd};
    ck_assert_int_eq(cnnz_matrix_shape(&ti, &rows, &cols), CNNZ_OK);
    ck_assert_uint_eq(rows, 8);
    ck_assert_uint_eq(cols, 75);
    ti.rank = 0;
    ck_assert_int_eq(cnnz_matrix_shape(&ti, &rows, &cols), CNNZ_OK);
    ck_assert(rows == 1 && cols == 1);
    uint64_t big[3] = {0, UINT64_C(1) << 40, UINT64_C(1) << 40};
    ti.rank = 3;
    ti.dims = big;
    ck_assert_int_eq(cnnz_matrix_shape(&ti, &rows, &cols), CNNZ_E_UNSUPPORTED);
    ck_assert_int_eq(cnnz_matrix_shape(NULL, &rows, &cols), CNNZ_E_ARG);
}
END_TEST

/* ============================================== damaged files */

/* Change bytes of one coded stream and recompute the checksums, so that
 * the decoders themselves see the damage. decode and the decoder must
 * agree; a product with verify fails exactly when decode does (same
 * error); without verify it fails or, when decode succeeds, is right. */
START_TEST(test_damaged_streams)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(24);
    for (unsigned it = 0; it < iters; it++)
        for (size_t ri = 0; ri < 3; ri++)
            for (size_t ci = 0; ci < 4; ci++) {
                struct mt_spec sp;
                spec_for(&r, &sp, all_reprs[ri], all_coders[ci]);
                sp.rank = 2, sp.dims[0] = 1 + rng_below(&r, 60), sp.dims[1] = 1 + rng_below(&r, 90);
                struct mt t;
                mt_make(&r, &sp, &t);
                struct xs_file f;
                xs_parse(&f, t.img, t.size);
                struct xs_tensor *xt = &f.t[0];
                unsigned k = rng_below(&r, xt->stream_count);
                struct xs_stream *s = &xt->s[k];
                if (!s->data_len) {
                    xs_free(&f);
                    mt_free(&t);
                    continue;
                }
                unsigned changes = 1 + rng_below(&r, 3);
                for (unsigned j = 0; j < changes; j++) {
                    size_t at = rng_below(&r, (uint32_t)s->data_len);
                    if (rng_below(&r, 2))
                        s->data[at] ^= (uint8_t)(1u << rng_below(&r, 8));
                    else
                        s->data[at] = (uint8_t)rng_u64(&r);
                }
                if (s->coder == CNNZ_CODER_RAW && rng_below(&r, 3) == 0) /* a short stream */
                    s->data_len--, s->decoded_len--;
                size_t n;
                uint8_t *img = xs_serialize(&f, &n);
                xs_free(&f);
                uint8_t *ex = dup_exact(img, n);
                free(img);
                cnnz_reader *rd;
                if (cnnz_reader_open_memory(&rd, ex, n, NULL) == CNNZ_OK) {
                    int e_dec = decoder_vs_decode(&r, rd, 0, -1);
                    for (int trans = 0; trans < 2; trans++) {
                        const uint64_t in = trans ? t.rows : t.cols, out = trans ? t.cols : t.rows;
                        float *x = malloc((size_t)in * 4 + 4), *y = malloc((size_t)out * 4 + 4);
                        float *ref = malloc((size_t)out * 4 + 4);
                        ck_assert(x && y && ref);
                        rand_vec(&r, x, in);
                        for (int verify = 0; verify < 2; verify++) {
                            struct cnnz_matvec_options o = {.threads = 1 + rng_below(&r, 3),
                                                            .verify = verify};
                            int e = trans ? cnnz_vecmat(rd, 0, x, in, y, out, &o, NULL)
                                          : cnnz_matvec(rd, 0, x, in, y, out, &o, NULL);
                            if (verify)
                                ck_assert_msg(e == e_dec, "verify: %s, decode: %s",
                                              cnnz_error_token(e), cnnz_error_token(e_dec));
                            /* what decoding finds wrong in the structure (a
                             * run out of its block, a symbol past the
                             * codebook), the fused walks find too */
                            else if (e_dec == CNNZ_E_CORRUPT)
                                ck_assert_msg(e == CNNZ_E_CORRUPT, "%s %s: matvec %s, decode %s",
                                              trans ? "vecmat" : "matvec",
                                              cnnz_repr_name(t.ti.repr), cnnz_error_token(e),
                                              cnnz_error_token(e_dec));
                            if (!e && !e_dec) {
                                uint8_t *dec = malloc(t.ti.decoded_bytes + 1);
                                ck_assert_ptr_nonnull(dec);
                                ck_assert_int_eq(cnnz_reader_decode(rd, 0, dec, t.ti.decoded_bytes, NULL), CNNZ_OK);
                                for (uint64_t i = 0; i < t.rows * t.cols; i++)
                                    t.w[i] = get_elem(dec + i * cnnz_dtype_size(sp.dtype), sp.dtype);
                                free(dec);
                                if (trans)
                                    ref_vecmat_alloc(t.w, t.rows, t.cols, t.ti.repr == CNNZ_REPR_SHAM ? t.ti.block_rows : 0, x, ref);
                                else
                                    ref_matvec(t.w, t.rows, t.cols, x, ref);
                                for (uint64_t i = 0; i < out; i++)
                                    ck_assert(y[i] == ref[i] || (y[i] != y[i] && ref[i] != ref[i]));
                            }
                        }
                        free(x);
                        free(y);
                        free(ref);
                    }
                    cnnz_reader_close(rd);
                }
                free(ex);
                mt_free(&t);
            }
}
END_TEST

/* The sham walks read an element's first run byte without a test while the
 * bytes left cover the elements left, and check that again after a run's
 * continuation bytes (matvec.c). Runs written by hand into a 3 x 300 block
 * of three stored elements, each at the edge of those checks: every kernel
 * level must refuse exactly the ones decoding refuses, with the same error,
 * and agree with each other on the one it accepts. */
START_TEST(test_sham_run_edges)
{
    static const struct {
        uint8_t runs[12];
        size_t len;
        int ok;
    } cases[] = {
        {{255, 45, 0, 0}, 4, 1},               /* row 1, columns 0-2 */
        {{255, 255, 255, 134, 0, 0}, 6, 0},    /* 899, then 900: out of the block */
        {{255, 255, 255, 132, 0, 0}, 6, 1},    /* the last three elements of the block */
        {{0, 0, 255}, 3, 0},                   /* the last run does not end */
        {{255, 0, 0}, 3, 0},                   /* two bytes for three elements */
        {{0, 0, 0, 0}, 4, 0},                  /* a byte left over */
        {{0, 0}, 2, 0},                        /* fewer bytes than elements */
        {{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0}, 12, 0}, /* far out */
    };
    static const uint8_t syms[3] = {1, 2, 3};
    struct rng r;
    rng_init(&r, __func__);
    struct mt_spec sp = {.repr = CNNZ_REPR_SHAM, .dtype = CNNZ_DT_F32, .symbol_dtype = CNNZ_DT_U8,
                         .coder = CNNZ_CODER_RAW, .rank = 2, .dims = {3, 300}, .prune = 0.5,
                         .levels = 8, .block_rows = 3};
    struct mt t;
    mt_make(&r, &sp, &t);
    ck_assert_uint_eq(t.ti.stream_count, 3); /* codebook, runs, symbols: one block */
    float x[300], y[300], first[300];
    for (unsigned i = 0; i < 300; i++)
        x[i] = (float)(i % 7) - 3.0f;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct xs_file f;
        xs_parse(&f, t.img, t.size);
        xs_set_data(&f.t[0].s[1], cases[c].runs, cases[c].len);
        f.t[0].s[1].decoded_len = cases[c].len;
        xs_set_data(&f.t[0].s[2], syms, sizeof syms);
        f.t[0].s[2].decoded_len = sizeof syms;
        size_t n;
        uint8_t *img = xs_serialize(&f, &n);
        xs_free(&f);
        cnnz_reader *rd;
        ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, NULL), CNNZ_OK);
        /* decoding checks the decoded checksum too, which hand-written
         * runs do not match: the structure is what must agree */
        uint8_t dec[3 * 300 * 4];
        int e_dec = cnnz_reader_decode(rd, 0, dec, sizeof dec, NULL);
        ck_assert_int_eq(e_dec, cases[c].ok ? CNNZ_E_CHECKSUM : CNNZ_E_CORRUPT);
        for (int trans = 0; trans < 2; trans++) {
            const size_t in = trans ? 3 : 300, out = trans ? 300 : 3;
            for (int simd = 0; simd < 3; simd++) {
                int e = cnnz__matvec_with(simd, trans, rd, 0, x, in, y, out, NULL, NULL);
                ck_assert_msg(e == (cases[c].ok ? CNNZ_OK : CNNZ_E_CORRUPT),
                              "case %zu %s level %d: %s", c, trans ? "vecmat" : "matvec", simd,
                              cnnz_error_token(e));
                if (!cases[c].ok)
                    continue;
                if (simd == 0)
                    memcpy(first, y, out * sizeof *y);
                else
                    ck_assert(memcmp(first, y, out * sizeof *y) == 0);
            }
            /* matvec: the rows with nothing stored are +0 */
            for (size_t i = 0; cases[c].ok && !trans && i < 3; i++)
                if (i != (c == 0 ? 1u : 2u))
                    ck_assert(f32_bits(first[i]) == 0);
        }
        cnnz_reader_close(rd);
        free(img);
    }
    mt_free(&t);
}
END_TEST

/* Reading with pread (cnnz_reader_open_file): the coded tensor is read into
 * memory, the result is the same. */
START_TEST(test_products_from_file)
{
    struct rng r;
    rng_init(&r, __func__);
    for (size_t ri = 0; ri < 2; ri++) {
        struct mt_spec sp;
        spec_for(&r, &sp, all_reprs[ri], CNNZ_CODER_AUTO);
        sp.rank = 2, sp.dims[0] = 300, sp.dims[1] = 200, sp.block_rows = 0;
        struct mt t;
        mt_make(&r, &sp, &t);
        FILE *fp = tmpfile();
        ck_assert_ptr_nonnull(fp);
        ck_assert_uint_eq(fwrite(t.img, 1, t.size, fp), t.size);
        fflush(fp);
        cnnz_reader *rd;
        ck_assert_int_eq(cnnz_reader_open_file(&rd, fp, NULL), CNNZ_OK);
        float x[200], y1[300], y2[300];
        rand_vec(&r, x, 200);
        struct cnnz_matvec_options o = {.threads = 2, .verify = 1};
        ck_assert_int_eq(cnnz_matvec(t.r, 0, x, 200, y1, 300, &o, NULL), CNNZ_OK);
        ck_assert_int_eq(cnnz_matvec(rd, 0, x, 200, y2, 300, &o, NULL), CNNZ_OK);
        ck_assert(memcmp(y1, y2, sizeof y1) == 0);
        decoder_vs_decode(&r, rd, 0, CNNZ_OK);
        cnnz_reader_close(rd);
        fclose(fp);
        mt_free(&t);
    }
}
END_TEST

Suite *suite_matvec(void)
{
    Suite *s = suite_create("matvec");
    TCase *tc = tcase_create("matvec");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_streams_equal_whole);
    tcase_add_test(tc, test_products_random);
    tcase_add_test(tc, test_products_sham_blocks);
    tcase_add_test(tc, test_decoder_random);
    tcase_add_test(tc, test_arguments);
    tcase_add_test(tc, test_damaged_streams);
    tcase_add_test(tc, test_sham_run_edges);
    tcase_add_test(tc, test_products_from_file);
    suite_add_tcase(s, tc);
    return s;
}
