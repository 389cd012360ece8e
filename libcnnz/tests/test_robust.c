/* suite_robust: hostile input into the reader. Every truncation of several
 * valid files fails to open; every single-bit flip anywhere makes open,
 * decoding or verify fail (never success with other data); random garbage,
 * random overwrites and checksum-fixed mutations of the directory and the
 * metadata never crash (run under ASan: make asan). Buffers are exact-size
 * heap copies so any over-read is caught; output buffers carry sentinels. */
#include <stdlib.h>
#include <string.h>

#include "tests.h"

#define FILL 0x5A
#define GUARD 16

/* Open, decode every tensor, verify; like open_decode_verify but also
 * checks the cnnz_where contract on each failure and the decoded checksum
 * on each success. Returns the first error (0 when all succeed). */
static int odv(const uint8_t *img, size_t n, const struct model *expect)
{
    cnnz_reader *r = NULL;
    struct cnnz_where w;
    memset(&w, 0, sizeof w);
    /* A damaged file may declare a huge tensor whose coded form is tiny (a
     * one-symbol stream, an empty sHAM block): decoding it is linear in its
     * output, so the caller's limit is what bounds the work. */
    struct cnnz_limits lim;
    cnnz_limits_default(&lim);
    lim.max_tensor_bytes = lim.max_stream_bytes = UINT64_C(1) << 26;
    struct cnnz_open_options o = {&lim, NULL, &w};
    int err = cnnz_reader_open_memory(&r, img, n, &o);
    if (err) {
        ck_assert_ptr_null(r);
        ck_assert_int_gt(err, 0);
        ck_assert_int_lt(err, CNNZ_E__COUNT);
        ck_assert_int_eq(w.err, err);
        ck_assert_ptr_nonnull(w.what);
        ck_assert_int_ge(w.offset, -1);
        ck_assert_int_le(w.offset, (int64_t)n);
        return err;
    }
    ck_assert_ptr_nonnull(r);
    int first = 0;
    size_t nt = cnnz_reader_tensor_count(r);
    for (size_t i = 0; i < nt; i++) {
        struct cnnz_tensor_info ti;
        ck_assert_int_eq(cnnz_reader_tensor_info(r, i, &ti), 0);
        size_t sz = ti.decoded_bytes > (UINT64_C(1) << 24) ? 64 : (size_t)ti.decoded_bytes;
        uint8_t *dst = malloc(sz + GUARD);
        ck_assert_ptr_nonnull(dst);
        memset(dst, FILL, sz + GUARD);
        memset(&w, 0, sizeof w);
        err = cnnz_reader_decode(r, i, dst, sz, &w);
        for (size_t k = 0; k < GUARD; k++)
            ck_assert_msg(dst[sz + k] == FILL, "decode wrote past the buffer");
        if (err) {
            ck_assert_int_eq(w.err, err);
            ck_assert_ptr_nonnull(w.what);
            if (err != CNNZ_E_BUFFER && err != CNNZ_E_LIMIT)
                ck_assert_int_eq(w.tensor, (int64_t)i);
            if (!first)
                first = err;
        } else {
            ck_assert_uint_eq(xxh64(dst, sz), ti.decoded_xxh64);
            if (expect) {
                ck_assert_uint_lt(i, expect->nt);
                ck_assert_uint_eq(sz, expect->t[i].expect_size);
                if (sz)
                    ck_assert_mem_eq(dst, expect->t[i].expect, sz);
            }
        }
        free(dst);
        for (unsigned k = 0; k < ti.stream_count; k++) {
            size_t ss = ti.streams[k].decoded_bytes > (UINT64_C(1) << 24)
                            ? 64
                            : (size_t)ti.streams[k].decoded_bytes;
            dst = malloc(ss + GUARD);
            ck_assert_ptr_nonnull(dst);
            memset(dst, FILL, ss + GUARD);
            err = cnnz_reader_decode_stream(r, i, k, dst, ss, NULL);
            for (size_t q = 0; q < GUARD; q++)
                ck_assert_msg(dst[ss + q] == FILL, "decode_stream wrote past the buffer");
            if (!err && expect && k == 0 && i < expect->nt && ss == expect->t[i].input_size && ss &&
                ti.repr == expect->t[i].repr && ti.stream_count == 1)
                ck_assert_mem_eq(dst, expect->t[i].input, ss);
            free(dst);
        }
    }
    memset(&w, 0, sizeof w);
    err = cnnz_reader_verify(r, &w);
    if (err) {
        ck_assert_int_eq(w.err, err);
        ck_assert_ptr_nonnull(w.what);
        if (!first)
            first = err;
    }
    /* the parallel verify reports the same fault at the same place */
    struct cnnz_where w2;
    memset(&w2, 0, sizeof w2);
    ck_assert_int_eq(cnnz_reader_verify_mt(r, 3, &w2), err);
    if (err) {
        ck_assert_int_eq(w2.err, w.err);
        ck_assert_int_eq(w2.tensor, w.tensor);
        ck_assert_int_eq(w2.stream, w.stream);
        ck_assert_int_eq(w2.offset, w.offset);
    }
    /* metadata getters on whatever opened */
    for (size_t i = 0; i < cnnz_reader_meta_count(r); i++) {
        struct cnnz_meta m;
        ck_assert_int_eq(cnnz_reader_meta_get(r, i, &m), 0);
        ck_assert_ptr_nonnull(m.key);
    }
    if (!first && expect)
        model_check(expect, r);
    cnnz_reader_close(r);
    return first;
}

typedef void (*model_fn)(struct model *m, struct rng *r);

static void mk_empty(struct model *m, struct rng *r)
{
    (void)r;
    model_empty(m);
}

static void mk_meta(struct model *m, struct rng *r)
{
    (void)r;
    model_meta_only(m);
}

static void mk_mixed(struct model *m, struct rng *r)
{
    model_mixed(m, r);
}

static void mk_small(struct model *m, struct rng *r)
{
    model_init(m);
    uint64_t d[1] = {5};
    model_add(m, r, "a", 0, CNNZ_DT_BOOL, CNNZ_REPR_PLAIN, 0, 1, d, NULL);
    model_add(m, r, "b", 0, CNNZ_DT_F32, CNNZ_REPR_AFFINE, CNNZ_DT_U8, 1, d, NULL);
    model_meta_int(m, "k", 3);
}

/* A seeded random model (its own stream, so it is the same in each test). */
static void mk_random(struct model *m, struct rng *r)
{
    (void)r;
    struct rng own;
    rng_init(&own, "robust-random-model");
    struct model_opts o = {5, 4, 60, 4, 12};
    model_init(m);
    model_random(m, &own, &o);
    model_add_random(m, &own, CNNZ_REPR_AFFINE, 0, 2, 30, 6);
}

static const model_fn models[] = {mk_empty, mk_meta, mk_small, mk_mixed, mk_random};
#define NMODELS (int)(sizeof models / sizeof models[0])

START_TEST(test_truncations)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    models[_i](&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    ck_assert_int_eq(odv(img, n, &m), 0);
    for (size_t len = 0; len < n; len++) {
        uint8_t *p = dup_exact(img, len);
        cnnz_reader *rd = NULL;
        int err = cnnz_reader_open_memory(&rd, p, len, NULL);
        ck_assert_msg(err != 0, "prefix of %zu/%zu bytes opened", len, n);
        ck_assert_ptr_null(rd);
        if (len < 136) /* spec 3.1: signature prefix matches -> TRUNCATED */
            ck_assert_msg(err == CNNZ_E_TRUNCATED, "prefix %zu: %s", len, cnnz_error_token(err));
        free(p);
    }
    /* and every suffix (the front cut off) */
    for (size_t cut = 1; cut < n; cut++) {
        uint8_t *p = dup_exact(img + cut, n - cut);
        ck_assert_msg(odv(p, n - cut, NULL) != 0, "suffix from %zu opened", cut);
        free(p);
    }
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_bit_flips)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    models[_i](&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    uint8_t *p = dup_exact(img, n);
    for (size_t bit = 0; bit < n * 8; bit++) {
        p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int err = odv(p, n, &m);
        ck_assert_msg(err != 0, "flip of bit %zu (byte %zu of %zu) went undetected", bit % 8,
                      bit / 8, n);
        p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    ck_assert_mem_eq(p, img, n);
    free(p);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_random_overwrites)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(10000);
    struct model ms[NMODELS];
    uint8_t *imgs[NMODELS];
    size_t ns[NMODELS];
    for (int k = 0; k < NMODELS; k++) {
        models[k](&ms[k], &r);
        imgs[k] = model_file(&ms[k], &ns[k]);
    }
    for (unsigned it = 0; it < iters; it++) {
        int k = (int)rng_below(&r, NMODELS);
        uint8_t *p = dup_exact(imgs[k], ns[k]);
        unsigned count = 1 + rng_below(&r, 8);
        for (unsigned j = 0; j < count; j++) {
            size_t at = rng_below(&r, (uint32_t)ns[k]);
            if (rng_below(&r, 2)) {
                p[at] = (uint8_t)rng_u64(&r);
            } else { /* a run of bytes: plausible small or huge numbers */
                static const uint8_t pats[] = {0x00, 0xFF, 0x7F, 0x80, 0x01};
                size_t len = 1 + rng_below(&r, 8);
                for (size_t q = 0; q < len && at + q < ns[k]; q++)
                    p[at + q] = pats[rng_below(&r, sizeof pats)];
            }
        }
        int err = odv(p, ns[k], &ms[k]);
        if (memcmp(p, imgs[k], ns[k]) != 0)
            ck_assert_msg(err != 0, "iteration %u: a changed file passed", it);
        free(p);
    }
    for (int k = 0; k < NMODELS; k++) {
        free(imgs[k]);
        model_free(&ms[k]);
    }
}
END_TEST

START_TEST(test_garbage)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(60000);
    static const uint8_t sig[8] = {0x89, 0x43, 0x4E, 0x5A, 0x0D, 0x0A, 0x1A, 0x0A};
    for (unsigned it = 0; it < iters; it++) {
        size_t n = rng_below(&r, 4) == 0 ? rng_below(&r, 200) : rng_below(&r, 3000);
        uint8_t *p = malloc(n ? n : 1);
        ck_assert_ptr_nonnull(p);
        rng_bytes(&r, p, n);
        int mode = (int)rng_below(&r, 4);
        if (mode >= 1 && n >= 8)
            memcpy(p, sig, 8);
        if (mode >= 2 && n >= 136) { /* valid header and trailer checksums */
            put16(p + 8, 1);
            if (rng_below(&r, 2))
                memset(p + 10, 0, 46);
            put64(p + 56, xxh64(p, 56));
            uint8_t *tr = p + n - 32;
            memcpy(tr + 24, "CNZEND\r\n", 8);
            if (mode == 3)
                put64(tr, 64 + 8 * rng_below(&r, (uint32_t)((n - 136) / 8 + 1)));
            put64(tr + 16, xxh64(tr, 16));
        }
        int err = odv(p, n, NULL);
        ck_assert_int_ne(err, 0);
        if (n < 8 || memcmp(p, sig, 8) != 0)
            ck_assert_msg(err == CNNZ_E_SIGNATURE || (n < 8 && memcmp(p, sig, n) == 0),
                          "garbage without signature: %s", cnnz_error_token(err));
        free(p);
    }
}
END_TEST

/* Mutate the TDIR body (or META body) of valid files and re-checksum, so the
 * directory parser itself sees hostile values. Such files may be valid; the
 * reader must never crash, and every successful decode must match the
 * decoded checksum the directory claims. */
static void mutate_and_fix(struct rng *r, uint8_t *p, size_t n, int meta)
{
    struct xs_file f;
    xs_parse(&f, p, n);
    uint64_t start, len;
    if (meta) {
        long mi = xs_find_section(&f, "META");
        if (mi < 0) {
            xs_free(&f);
            return;
        }
        start = f.sec[mi].offset + 16;
        len = f.sec[mi].body_len - 8;
    } else {
        start = f.tdir_offset + 16;
        len = get64(p + f.tdir_offset + 8) - 8;
    }
    xs_free(&f);
    unsigned count = 1 + rng_below(r, 4);
    for (unsigned j = 0; j < count; j++) {
        size_t at = (size_t)start + rng_below(r, (uint32_t)len);
        switch (rng_below(r, 4)) {
        case 0:
            p[at] ^= (uint8_t)(1u << rng_below(r, 8));
            break;
        case 1:
            p[at] = (uint8_t)rng_u64(r);
            break;
        case 2:
            p[at] = rng_below(r, 2) ? 0xFF : 0x00;
            break;
        default:
            p[at] = (uint8_t)(p[at] + 1);
            break;
        }
    }
    xs_fix_checksums(p, n);
}

START_TEST(test_directory_mutations)
{
    struct rng r;
    rng_init(&r, __func__);
    unsigned iters = test_iters(12000);
    struct model ms[NMODELS];
    uint8_t *imgs[NMODELS];
    size_t ns[NMODELS];
    for (int k = 0; k < NMODELS; k++) {
        models[k](&ms[k], &r);
        imgs[k] = model_file(&ms[k], &ns[k]);
    }
    unsigned failed = 0;
    for (unsigned it = 0; it < iters; it++) {
        int k = (int)rng_below(&r, NMODELS);
        uint8_t *p = dup_exact(imgs[k], ns[k]);
        mutate_and_fix(&r, p, ns[k], (int)rng_below(&r, 3) == 0);
        failed += odv(p, ns[k], NULL) != 0;
        free(p);
    }
    ck_assert_uint_gt(failed, 0);
    for (int k = 0; k < NMODELS; k++) {
        free(imgs[k]);
        model_free(&ms[k]);
    }
}
END_TEST

START_TEST(test_bad_calls)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_mixed(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    cnnz_reader *rd = NULL;
    ck_assert_int_eq(cnnz_reader_open_memory(NULL, img, n, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, NULL, n, NULL), CNNZ_E_ARG);
    ck_assert_ptr_null(rd);
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, 0, NULL), CNNZ_E_TRUNCATED);
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, NULL), 0);
    uint8_t buf[64];
    memset(buf, FILL, sizeof buf);
    ck_assert_int_ne(cnnz_reader_decode(rd, m.nt, buf, sizeof buf, NULL), 0);
    ck_assert_int_ne(cnnz_reader_decode(rd, (size_t)-1, buf, sizeof buf, NULL), 0);
    ck_assert_int_ne(cnnz_reader_decode_stream(rd, 0, 1, buf, sizeof buf, NULL), 0);
    ck_assert_int_ne(cnnz_reader_decode_stream(rd, m.nt, 0, buf, sizeof buf, NULL), 0);
    ck_assert_int_ne(cnnz_reader_decode_stream(rd, 0, (unsigned)-1, buf, sizeof buf, NULL), 0);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], FILL);
    ck_assert_int_ne(cnnz_reader_decode(rd, 0, NULL, 60, NULL), 0);
    struct cnnz_tensor_info ti;
    ck_assert_int_ne(cnnz_reader_tensor_info(rd, (size_t)-1, &ti), 0);
    struct cnnz_section_info si;
    ck_assert_int_ne(cnnz_reader_section_info(rd, (size_t)-1, &si), 0);
    size_t idx;
    ck_assert_int_eq(cnnz_reader_find(rd, "", &idx), CNNZ_E_NOTFOUND);
    ck_assert_int_eq(cnnz_reader_find(rd, "conv1/", &idx), CNNZ_E_NOTFOUND);
    ck_assert_int_eq(cnnz_reader_find(rd, "conv1/ww", &idx), CNNZ_E_NOTFOUND);
    /* dst_size 0 for a non-empty tensor */
    ck_assert_int_eq(cnnz_reader_decode(rd, 0, buf, 0, NULL), CNNZ_E_BUFFER);
    cnnz_reader_close(rd);
    cnnz_reader_close(NULL);
    free(img);
    model_free(&m);
}
END_TEST

Suite *suite_robust(void)
{
    Suite *s = suite_create("robust");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_loop_test(tc, test_truncations, 0, NMODELS);
    tcase_add_loop_test(tc, test_bit_flips, 0, NMODELS);
    tcase_add_test(tc, test_random_overwrites);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_directory_mutations);
    tcase_add_test(tc, test_bad_calls);
    suite_add_tcase(s, tc);
    return s;
}
