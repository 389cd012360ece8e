/* npy.c: header building, parsing, and rejection of malformed files. */
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "tests.h"

/* header + data for dtype/dims, filled with a byte pattern. */
static unsigned char *make(int dtype, unsigned rank, const uint64_t *dims, size_t *size)
{
    unsigned char h[NPY_HEADER_MAX];
    size_t hl;
    char err[FMT_ERR_SIZE];
    ck_assert_int_eq(npy_header(dtype, rank, dims, h, sizeof h, &hl, err, sizeof err), FMT_OK);
    ck_assert_uint_eq(hl % 64, 0); /* numpy aligns the data to 64 bytes */
    uint64_t n = 1;
    for (unsigned i = 0; i < rank; i++)
        n *= dims[i];
    size_t db = (size_t)n * cnnz_dtype_size(dtype);
    unsigned char *b = malloc(hl + db + 1);
    memcpy(b, h, hl);
    for (size_t i = 0; i < db; i++)
        b[hl + i] = dtype == CNNZ_DT_BOOL ? (unsigned char)(i & 1) : (unsigned char)(i * 7 + 3);
    *size = hl + db;
    return b;
}

START_TEST(test_roundtrip_every_dtype)
{
    static const uint64_t shapes[][3] = {{2, 3, 4}, {0, 5, 1}, {1, 1, 1}, {7, 0, 0}};
    for (int dt = 1; dt <= CNNZ_DT_BOOL; dt++) {
        if (dt == CNNZ_DT_BF16)
            continue; /* written as <u2: reads back as u16 by design */
        for (unsigned rank = 0; rank <= 3; rank++)
            for (size_t s = 0; s < 4; s++) {
                size_t size;
                unsigned char *b = make(dt, rank, shapes[s], &size);
                struct npy_array a;
                char err[FMT_ERR_SIZE];
                ck_assert_msg(npy_parse(b, size, &a, err, sizeof err) == FMT_OK, "%s", err);
                ck_assert_int_eq(a.dtype, dt);
                ck_assert_uint_eq(a.rank, rank);
                for (unsigned i = 0; i < rank; i++)
                    ck_assert_uint_eq(a.dims[i], shapes[s][i]);
                ck_assert_ptr_eq(a.data, b + a.data_offset);
                ck_assert_uint_eq(a.data_offset + a.data_bytes, size);
                free(b);
            }
    }
}
END_TEST

START_TEST(test_numpy_header_bytes)
{
    /* What numpy 1.24 writes for np.save(f, np.zeros((2, 3), np.float32)). */
    static const char want[] = "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    unsigned char h[NPY_HEADER_MAX];
    size_t hl;
    uint64_t dims[2] = {2, 3};
    ck_assert_int_eq(npy_header(CNNZ_DT_F32, 2, dims, h, sizeof h, &hl, NULL, 0), FMT_OK);
    ck_assert_uint_eq(hl, 128);
    ck_assert_mem_eq(h, want, sizeof want - 1);
    ck_assert_int_eq(h[127], '\n');
    for (size_t i = sizeof want - 1; i < 127; i++)
        ck_assert_int_eq(h[i], ' ');
    uint64_t one[1] = {5};
    ck_assert_int_eq(npy_header(CNNZ_DT_U8, 1, one, h, sizeof h - 1, &hl, NULL, 0), FMT_OK);
    h[hl] = '\0';
    ck_assert_ptr_nonnull(strstr((const char *)h + 10, "'shape': (5,), }"));
}
END_TEST

START_TEST(test_every_truncation_rejected)
{
    uint64_t dims[2] = {3, 5};
    size_t size;
    unsigned char *b = make(CNNZ_DT_I16, 2, dims, &size);
    for (size_t n = 0; n < size; n++) {
        unsigned char *c = malloc(n ? n : 1);
        memcpy(c, b, n);
        struct npy_array a;
        char err[FMT_ERR_SIZE];
        ck_assert_msg(npy_parse(c, n, &a, err, sizeof err) != FMT_OK, "prefix %zu accepted", n);
        free(c);
    }
    free(b);
}
END_TEST

static int parse_text(const char *dict, size_t data_bytes, int *status)
{
    unsigned char buf[512] = "\x93NUMPY\x01\x00";
    size_t dl = strlen(dict);
    buf[8] = (unsigned char)dl;
    buf[9] = 0;
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, 0, data_bytes);
    struct npy_array a;
    char err[FMT_ERR_SIZE] = "";
    *status = npy_parse(buf, 10 + dl + data_bytes, &a, err, sizeof err);
    ck_assert(*status == FMT_OK || err[0]); /* every failure explains itself */
    return *status;
}

START_TEST(test_malformed_headers)
{
    int st;
    ck_assert_int_eq(parse_text("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8, &st), FMT_OK);
    ck_assert_int_eq(parse_text("{'shape': (2,), 'descr': '<f4', 'fortran_order': False}", 8, &st), FMT_OK);
    ck_assert_int_eq(parse_text("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8, &st), FMT_E_UNSUPPORTED);
    ck_assert_int_eq(parse_text("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, &st), FMT_E_UNSUPPORTED);
    ck_assert_int_eq(parse_text("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, &st), FMT_E_UNSUPPORTED);
    ck_assert_int_eq(parse_text("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, &st), FMT_E_UNSUPPORTED);
    ck_assert_int_eq(parse_text("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 9, &st), FMT_E_INVALID);
    ck_assert_int_eq(parse_text("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 4, &st), FMT_E_INVALID);
    ck_assert_int_eq(parse_text("{'descr': '<f4', 'fortran_order': False}", 4, &st), FMT_E_INVALID);
    ck_assert_int_eq(parse_text("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, &st), FMT_E_INVALID);
    ck_assert_int_eq(parse_text("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, &st), FMT_E_INVALID);
    ck_assert_int_eq(parse_text("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16)}", 0, &st), FMT_E_INVALID);
    ck_assert_int_eq(parse_text("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}", 0, &st), FMT_E_INVALID);
    ck_assert_int_eq(parse_text("{'descr': '|b1', 'fortran_order': False, 'shape': (), }", 1, &st), FMT_OK);
    ck_assert_int_eq(parse_text("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296, 16)}", 0, &st), FMT_OK);
    /* bool bytes must be 0 or 1 */
    unsigned char b[256];
    size_t size;
    uint64_t dims[1] = {2};
    unsigned char *ok = make(CNNZ_DT_BOOL, 1, dims, &size);
    memcpy(b, ok, size);
    free(ok);
    b[size - 1] = 2;
    struct npy_array a;
    ck_assert_int_eq(npy_parse(b, size, &a, NULL, 0), FMT_E_INVALID);
}
END_TEST

Suite *suite_npy(void)
{
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("npy");
    tcase_add_test(tc, test_roundtrip_every_dtype);
    tcase_add_test(tc, test_numpy_header_bytes);
    tcase_add_test(tc, test_every_truncation_rejected);
    tcase_add_test(tc, test_malformed_headers);
    suite_add_tcase(s, tc);
    return s;
}
