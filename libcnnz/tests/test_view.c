/* cnnz_reader_view: stored tensors used in place, and every case it refuses. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests.h"

static void build(struct membuf *b)
{
    membuf_init(b);
    struct cnnz_sink sink = membuf_sink(b);
    cnnz_writer *w;
    ck_assert_int_eq(cnnz_writer_open(&w, &sink, NULL), CNNZ_OK);
    uint64_t dims[2] = {3, 5};
    float f[15];
    for (int i = 0; i < 15; i++)
        f[i] = (float)i * 0.25f;
    struct cnnz_tensor_desc d = {.name = "plain", .dtype = CNNZ_DT_F32, .rank = 2, .dims = dims,
                                 .repr = CNNZ_REPR_PLAIN};
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &d, f, sizeof f), CNNZ_OK);
    uint8_t q[15] = {0};
    struct cnnz_tensor_desc a = {.name = "affine", .dtype = CNNZ_DT_F32, .rank = 2, .dims = dims,
                                 .repr = CNNZ_REPR_AFFINE, .symbol_dtype = CNNZ_DT_U8, .scale = 1};
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &a, q, sizeof q), CNNZ_OK);
    uint64_t zero[1] = {0};
    struct cnnz_tensor_desc z = {.name = "empty", .dtype = CNNZ_DT_BOOL, .rank = 1, .dims = zero,
                                 .repr = CNNZ_REPR_PLAIN};
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &z, NULL, 0), CNNZ_OK);
    /* 1024 bytes or more: 64-byte aligned (spec 4); a constant stays raw */
    static float big[300];
    uint64_t bd[1] = {300};
    struct cnnz_tensor_desc g = {.name = "big", .dtype = CNNZ_DT_F32, .rank = 1, .dims = bd,
                                 .repr = CNNZ_REPR_PLAIN, .coder = CNNZ_CODER_RAW};
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &g, big, sizeof big), CNNZ_OK);
    ck_assert_int_eq(cnnz_writer_finish(w), CNNZ_OK);
    cnnz_writer_free(w);
}

START_TEST(test_view_in_place)
{
    struct membuf b;
    build(&b);
    /* A 64-byte aligned copy, as a memory map would be. */
    static _Alignas(64) uint8_t img[8192];
    ck_assert_uint_le(b.len, sizeof img);
    memcpy(img, b.data, b.len);
    cnnz_reader *r;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, img, b.len, NULL), CNNZ_OK);
    const void *p = NULL;
    ck_assert_int_eq(cnnz_reader_view(r, 0, &p, NULL), CNNZ_OK);
    ck_assert_uint_eq((uintptr_t)p % 8, 0); /* 60 bytes: 8-byte aligned (spec 4) */
    ck_assert(p >= (const void *)img && (const uint8_t *)p + 60 <= img + b.len);
    float out[15];
    ck_assert_int_eq(cnnz_reader_decode(r, 0, out, sizeof out, NULL), CNNZ_OK);
    ck_assert_mem_eq(p, out, sizeof out);
    ck_assert_int_eq(cnnz_reader_view(r, 2, &p, NULL), CNNZ_OK); /* zero elements */
    struct cnnz_where w;
    ck_assert_int_eq(cnnz_reader_view(r, 1, &p, &w), CNNZ_E_UNSUPPORTED); /* affine decodes */
    ck_assert_int_eq(cnnz_reader_view(r, 3, &p, NULL), CNNZ_OK);
    ck_assert_uint_eq((uintptr_t)p % 64, 0);
    ck_assert_int_eq(cnnz_reader_view(r, 4, &p, NULL), CNNZ_E_NOTFOUND);
    ck_assert_int_eq(cnnz_reader_view(r, 0, NULL, NULL), CNNZ_E_ARG);
    cnnz_reader_close(r);

    /* A flipped payload byte is caught, as decode catches it. */
    struct cnnz_tensor_info ti;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, img, b.len, NULL), CNNZ_OK);
    ck_assert_int_eq(cnnz_reader_tensor_info(r, 0, &ti), CNNZ_OK);
    uint64_t payload = ti.streams[0].offset; /* ti points into the reader: copy before close */
    cnnz_reader_close(r);
    img[payload + 5] ^= 0x10;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, img, b.len, NULL), CNNZ_OK);
    ck_assert_int_eq(cnnz_reader_view(r, 0, &p, &w), CNNZ_E_CHECKSUM);
    ck_assert_int_eq(w.tensor, 0);
    cnnz_reader_close(r);
    membuf_free(&b);
}
END_TEST

START_TEST(test_view_needs_memory)
{
    struct membuf b;
    build(&b);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b.data, 1, b.len, f), b.len);
    fflush(f);
    cnnz_reader *r;
    ck_assert_int_eq(cnnz_reader_open_file(&r, f, NULL), CNNZ_OK);
    const void *p;
    ck_assert_int_eq(cnnz_reader_view(r, 0, &p, NULL), CNNZ_E_UNSUPPORTED); /* read with pread */
    cnnz_reader_close(r);
    fclose(f);
    membuf_free(&b);
}
END_TEST

Suite *suite_view(void)
{
    Suite *s = suite_create("view");
    TCase *tc = tcase_create("view");
    tcase_add_test(tc, test_view_in_place);
    tcase_add_test(tc, test_view_needs_memory);
    suite_add_tcase(s, tc);
    return s;
}
