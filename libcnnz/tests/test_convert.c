/* suite_convert: cnnz_f16_to_f32 / cnnz_bf16_to_f32 exhaustively against the
 * ldexp references of test_util.c (spec 6.4), and the same 65536 inputs
 * through a WIDEN tensor and an AFFINE tensor written and read back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

START_TEST(test_f16_exhaustive)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float got = cnnz_f16_to_f32((uint16_t)h);
        float ref = ref_f16_to_f32((uint16_t)h);
        ck_assert_msg(f32_bits(got) == f32_bits(ref), "f16 0x%04x: got 0x%08x want 0x%08x",
                      (unsigned)h, (unsigned)f32_bits(got), (unsigned)f32_bits(ref));
        unsigned e = (h >> 10) & 31, f = h & 1023;
        ck_assert_int_eq(signbit(got) != 0, (h >> 15) != 0);
        if (e == 31 && f)
            ck_assert_msg(isnan(got), "f16 0x%04x must be NaN", (unsigned)h);
        else if (e == 31)
            ck_assert(isinf(got));
        else {
            /* finite, and exactly the spec's value */
            double v = e ? ldexp(1024.0 + f, (int)e - 25) : ldexp((double)f, -24);
            ck_assert(isfinite(got));
            ck_assert_msg((double)got == ((h >> 15) ? -v : v), "f16 0x%04x: %a", (unsigned)h,
                          (double)got);
        }
    }
}
END_TEST

START_TEST(test_bf16_exhaustive)
{
    for (uint32_t b = 0; b < 65536; b++) {
        float got = cnnz_bf16_to_f32((uint16_t)b);
        float ref = ref_bf16_to_f32((uint16_t)b);
        ck_assert_msg(f32_bits(got) == f32_bits(ref), "bf16 0x%04x: got 0x%08x want 0x%08x",
                      (unsigned)b, (unsigned)f32_bits(got), (unsigned)f32_bits(ref));
        /* spec 6.4: the binary32 whose bits are bits << 16 */
        ck_assert_uint_eq(f32_bits(got), b << 16);
        unsigned e = (b >> 7) & 255, f = b & 127;
        ck_assert_int_eq(signbit(got) != 0, (b >> 15) != 0);
        if (e == 255 && f)
            ck_assert(isnan(got));
        if (e == 0 && f) /* subnormal stays subnormal, exact */
            ck_assert_int_eq(fpclassify(got), FP_SUBNORMAL);
    }
}
END_TEST

START_TEST(test_nan_sign_and_payload)
{
    /* quiet and signalling NaNs, both signs: NaN stays NaN with its sign
     * and (spec 6.4) payload bits s<<31 | 0x7F800000 | f<<13 */
    static const uint16_t nans[] = {0x7C01, 0x7D00, 0x7E00, 0x7FFF, 0xFC01, 0xFE00, 0xFFFF};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t h = nans[i];
        float v = cnnz_f16_to_f32(h);
        ck_assert(isnan(v));
        ck_assert_int_eq(signbit(v) != 0, h >> 15);
        ck_assert_uint_eq(f32_bits(v),
                          ((uint32_t)(h >> 15) << 31) | 0x7F800000u | ((uint32_t)(h & 0x3FF) << 13));
    }
    static const uint16_t bnans[] = {0x7F81, 0x7FC0, 0x7FFF, 0xFF81, 0xFFC0, 0xFFFF};
    for (size_t i = 0; i < sizeof bnans / sizeof bnans[0]; i++) {
        float b = cnnz_bf16_to_f32(bnans[i]);
        ck_assert(isnan(b));
        ck_assert_int_eq(signbit(b) != 0, bnans[i] >> 15);
        ck_assert_uint_eq(f32_bits(b), (uint32_t)bnans[i] << 16);
    }
    /* subnormal f16 become exact normal f32 */
    ck_assert((double)cnnz_f16_to_f32(0x0001) == ldexp(1, -24));
    ck_assert((double)cnnz_f16_to_f32(0x8001) == -ldexp(1, -24));
    ck_assert((double)cnnz_f16_to_f32(0x0155) == 0x155 * ldexp(1, -24));
    ck_assert_uint_eq(f32_bits(cnnz_f16_to_f32(0x8000)), 0x80000000u);
}
END_TEST

/* All 65536 bit patterns in one WIDEN tensor (f16 or bf16), through a file. */
static void widen_all(int symdt)
{
    uint16_t *in = malloc(65536 * 2);
    ck_assert_ptr_nonnull(in);
    for (uint32_t i = 0; i < 65536; i++)
        put16((uint8_t *)&in[i], (uint16_t)i);
    struct model m;
    model_init(&m);
    uint64_t dims[2] = {256, 256};
    model_add(&m, NULL, "all", 0, CNNZ_DT_F32, CNNZ_REPR_WIDEN, symdt, 2, dims, in);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    /* and check the decoded floats against the references directly */
    cnnz_reader *r;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, img, n, NULL), 0);
    uint8_t *out = malloc(65536 * 4);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(cnnz_reader_decode(r, 0, out, 65536 * 4, NULL), 0);
    for (uint32_t i = 0; i < 65536; i++) {
        float want = symdt == CNNZ_DT_F16 ? ref_f16_to_f32((uint16_t)i) : ref_bf16_to_f32((uint16_t)i);
        ck_assert_msg(get32(out + 4 * i) == f32_bits(want), "widen %s 0x%04x",
                      cnnz_dtype_name(symdt), (unsigned)i);
    }
    free(out);
    cnnz_reader_close(r);
    free(img);
    free(in);
    model_free(&m);
}

START_TEST(test_widen_file_all_f16)
{
    widen_all(CNNZ_DT_F16);
}
END_TEST

START_TEST(test_widen_file_all_bf16)
{
    widen_all(CNNZ_DT_BF16);
}
END_TEST

/* Every u16 symbol through AFFINE with scales and offsets chosen to hit
 * f32 rounding ties, overflow and signed zero. */
START_TEST(test_affine_all_u16)
{
    static const double params[][2] = {
        {1.0, 0.0},
        {0x1p-24, 1.0},                   /* q*2^-24 + 1: many f32 ties */
        {0x1.0000000000001p0, -3.0},      /* fused vs two roundings differ */
        {-0.0, -0.0},                     /* -0.0 * q + -0.0 = -0.0 for q >= 0 */
        {1e300, -1e300},                  /* overflow to +inf for q >= 2 */
        {-0x1p100, 0x1p127},              /* overflow to -inf */
        {0.1, -3276.75},
        {0x1p-140, 0.0},                  /* f32 subnormals */
        {3.0000001, 16777216.0},          /* around 2^24 */
    };
    uint16_t *in = malloc(65536 * 2);
    ck_assert_ptr_nonnull(in);
    for (uint32_t i = 0; i < 65536; i++)
        put16((uint8_t *)&in[i], (uint16_t)i);
    struct model m;
    model_init(&m);
    uint64_t dims[1] = {65536};
    for (size_t k = 0; k < sizeof params / sizeof params[0]; k++) {
        char name[32];
        snprintf(name, sizeof name, "affine%zu", k);
        struct ttensor *t =
            model_add(&m, NULL, name, 0, CNNZ_DT_F32, CNNZ_REPR_AFFINE, CNNZ_DT_U16, 1, dims, in);
        t->scale = params[k][0];
        t->offset = params[k][1];
        for (uint32_t i = 0; i < 65536; i++)
            put32(t->expect + 4 * i, f32_bits(ref_affine(i, t->scale, t->offset)));
    }
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    free(img);
    free(in);
    model_free(&m);
}
END_TEST

/* AFFINE into i32 rounds half toward +infinity, as JavaScript's Math.round
 * (spec 6.3): checked on ties of both signs and on 0.49999999999999994,
 * where floor(x + 0.5) would give 1. */
START_TEST(test_affine_i32_rounding)
{
    static const struct {
        double scale, offset;
        uint8_t q;
        int32_t want;
    } c[] = {
        {1.0, 1.5, 1, 3},   {1.0, -3.5, 1, -2},  {0.5, 0, 5, 3},   {0.5, -3, 1, -2},
        {1.0, 0.49999999999999994, 0, 0},        {1.0, -0.5, 0, 0}, {2.0, -3, 7, 11},
        {1.0, -2147483648.0, 0, INT32_MIN},      {1.0, 2147483647.4, 0, INT32_MAX},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct membuf b;
        membuf_init(&b);
        struct cnnz_sink sink = membuf_sink(&b);
        cnnz_writer *w;
        ck_assert_int_eq(cnnz_writer_open(&w, &sink, NULL), CNNZ_OK);
        uint64_t dims[1] = {1};
        struct cnnz_tensor_desc d = {.name = "q", .dtype = CNNZ_DT_I32, .rank = 1, .dims = dims,
                                     .repr = CNNZ_REPR_AFFINE, .symbol_dtype = CNNZ_DT_U8,
                                     .scale = c[i].scale, .offset = c[i].offset};
        ck_assert_int_eq(cnnz_writer_add_tensor(w, &d, &c[i].q, 1), CNNZ_OK);
        ck_assert_int_eq(cnnz_writer_finish(w), CNNZ_OK);
        cnnz_writer_free(w);
        cnnz_reader *r;
        ck_assert_int_eq(cnnz_reader_open_memory(&r, b.data, b.len, NULL), CNNZ_OK);
        uint8_t out[4];
        ck_assert_int_eq(cnnz_reader_decode(r, 0, out, 4, NULL), CNNZ_OK);
        int32_t v = (int32_t)((uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
                              (uint32_t)out[3] << 24);
        ck_assert_msg(v == c[i].want, "case %zu: %d, want %d", i, v, c[i].want);
        cnnz_reader_close(r);
        membuf_free(&b);
    }
    /* Out of the i32 range: the writer refuses what no decoder could rebuild. */
    struct membuf b;
    membuf_init(&b);
    struct cnnz_sink sink = membuf_sink(&b);
    cnnz_writer *w;
    ck_assert_int_eq(cnnz_writer_open(&w, &sink, NULL), CNNZ_OK);
    uint64_t dims[1] = {1};
    uint8_t q = 255;
    struct cnnz_tensor_desc d = {.name = "big", .dtype = CNNZ_DT_I32, .rank = 1, .dims = dims,
                                 .repr = CNNZ_REPR_AFFINE, .symbol_dtype = CNNZ_DT_U8,
                                 .scale = 1e9, .offset = 0};
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &d, &q, 1), CNNZ_E_INPUT);
    cnnz_writer_free(w);
    membuf_free(&b);
}
END_TEST

Suite *suite_convert(void)
{
    Suite *s = suite_create("convert");
    TCase *tc = tcase_create("exhaustive");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_f16_exhaustive);
    tcase_add_test(tc, test_affine_i32_rounding);
    tcase_add_test(tc, test_bf16_exhaustive);
    tcase_add_test(tc, test_nan_sign_and_payload);
    tcase_add_test(tc, test_widen_file_all_f16);
    tcase_add_test(tc, test_widen_file_all_bf16);
    tcase_add_test(tc, test_affine_all_u16);
    suite_add_tcase(s, tc);
    return s;
}
