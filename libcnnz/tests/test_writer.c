/* suite_writer: what cnnz_writer must reject (spec 5.3, 5.4, 5.5, 6, 7, 8 and
 * the header's argument rules), with the token each rejection gives; and
 * that a rejected call leaves the writer usable, writing nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

struct wfix {
    struct membuf b;
    struct cnnz_sink sink;
    cnnz_writer *w;
    struct model m; /* what was accepted */
    struct rng r;
};

static void wfix_open(struct wfix *f, const char *label)
{
    membuf_init(&f->b);
    f->sink = membuf_sink(&f->b);
    model_init(&f->m);
    rng_init(&f->r, label);
    f->w = NULL;
    ck_assert_int_eq(cnnz_writer_open(&f->w, &f->sink, NULL), 0);
    ck_assert_ptr_nonnull(f->w);
}

/* Finish, check the file holds exactly the accepted tensors and metadata. */
static void wfix_finish_check(struct wfix *f)
{
    ck_assert_int_eq(cnnz_writer_finish(f->w), 0);
    cnnz_writer_free(f->w);
    model_check_image(&f->m, f->b.data, f->b.len);
    membuf_free(&f->b);
    model_free(&f->m);
}

static struct cnnz_tensor_desc desc(const char *name, size_t name_len, int dtype, unsigned rank,
                                    const uint64_t *dims)
{
    struct cnnz_tensor_desc d;
    memset(&d, 0, sizeof d);
    d.name = name;
    d.name_len = name_len;
    d.dtype = dtype;
    d.rank = rank;
    d.dims = dims;
    d.repr = CNNZ_REPR_PLAIN;
    d.coder = CNNZ_CODER_RAW;
    return d;
}

/* A valid u8 [4] tensor, added and recorded in the fixture's model. */
static void add_ok(struct wfix *f, const char *name, size_t name_len)
{
    uint64_t dims[1] = {4};
    struct ttensor *t = model_add(&f->m, &f->r, name, name_len, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1,
                                  dims, NULL);
    struct cnnz_tensor_desc d = desc(t->name, t->name_len, CNNZ_DT_U8, 1, t->dims);
    int err = cnnz_writer_add_tensor(f->w, &d, t->input, t->input_size);
    ck_assert_msg(err == 0, "valid tensor rejected: %s", cnnz_error_token(err));
}

static void expect_add(struct wfix *f, const struct cnnz_tensor_desc *d, const void *data,
                       size_t size, int want, const char *what)
{
    size_t before = f->b.len;
    int err = cnnz_writer_add_tensor(f->w, d, data, size);
    ck_assert_msg(err == want, "%s: got %s, want %s", what, cnnz_error_token(err),
                  cnnz_error_token(want));
    ck_assert_msg(f->b.len == before, "%s: a rejected tensor wrote %zu bytes", what,
                  f->b.len - before);
}

static const struct {
    const char *s;
    size_t n;
    const char *why;
} bad_utf8[] = {
    {"\xC0\x80", 2, "overlong NUL"},
    {"\xC1\xBF", 2, "overlong 2-byte"},
    {"\xE0\x80\x80", 3, "overlong 3-byte"},
    {"\xE0\x9F\xBF", 3, "overlong 3-byte (U+07FF)"},
    {"\xF0\x80\x80\x80", 4, "overlong 4-byte"},
    {"\xF0\x8F\xBF\xBF", 4, "overlong 4-byte (U+FFFF)"},
    {"\xED\xA0\x80", 3, "surrogate U+D800"},
    {"\xED\xBF\xBF", 3, "surrogate U+DFFF"},
    {"a\xED\xB0\x80z", 5, "surrogate inside"},
    {"\xF4\x90\x80\x80", 4, "U+110000"},
    {"\xF5\x80\x80\x80", 4, "lead F5"},
    {"\xF7\xBF\xBF\xBF", 4, "U+1FFFFF"},
    {"\xF8\x88\x80\x80\x80", 5, "5-byte form"},
    {"\xFC\x84\x80\x80\x80\x80", 6, "6-byte form"},
    {"\xFE", 1, "byte FE"},
    {"\xFF", 1, "byte FF"},
    {"\xC3", 1, "truncated 2-byte"},
    {"\xE2\x82", 2, "truncated 3-byte"},
    {"\xF0\x9F\x98", 3, "truncated 4-byte"},
    {"ab\xE2\x82", 4, "truncated at end"},
    {"\xE2\x82x", 3, "truncated then ASCII"},
    {"\x80", 1, "lone continuation"},
    {"a\xBF", 2, "continuation after ASCII"},
    {"\xC3\xA9\xA9", 3, "extra continuation"},
    {"a\0b", 3, "NUL inside"},
    {"\0", 1, "only NUL"},
    {"ab\0", 3, "NUL at end"},
};

START_TEST(test_bad_names)
{
    struct wfix f;
    wfix_open(&f, __func__);
    add_ok(&f, "first", 0);
    uint8_t data[4] = {1, 2, 3, 4};
    uint64_t dims[1] = {4};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        struct cnnz_tensor_desc d = desc(bad_utf8[i].s, bad_utf8[i].n, CNNZ_DT_U8, 1, dims);
        expect_add(&f, &d, data, 4, CNNZ_E_NAME, bad_utf8[i].why);
    }
    struct cnnz_tensor_desc d = desc("", 0, CNNZ_DT_U8, 1, dims);
    expect_add(&f, &d, data, 4, CNNZ_E_NAME, "empty name");
    d = desc(NULL, 3, CNNZ_DT_U8, 1, dims);
    expect_add(&f, &d, data, 4, CNNZ_E_ARG, "NULL name");
    add_ok(&f, "last", 0);
    wfix_finish_check(&f);
}
END_TEST

START_TEST(test_name_length)
{
    struct wfix f;
    wfix_open(&f, __func__);
    char *name = malloc(CNNZ_MAX_NAME_BYTES + 2);
    ck_assert_ptr_nonnull(name);
    memset(name, 'n', CNNZ_MAX_NAME_BYTES + 1);
    name[CNNZ_MAX_NAME_BYTES + 1] = 0;
    uint8_t data[4] = {0};
    uint64_t dims[1] = {4};
    struct cnnz_tensor_desc d = desc(name, CNNZ_MAX_NAME_BYTES + 1, CNNZ_DT_U8, 1, dims);
    expect_add(&f, &d, data, 4, CNNZ_E_FORMAT_LIMIT, "name of 4097 bytes");
    d.name_len = 0; /* strlen: 4097 too */
    expect_add(&f, &d, data, 4, CNNZ_E_FORMAT_LIMIT, "name of 4097 bytes (strlen)");
    d.name_len = 70000; /* more than a u16 can hold */
    char *huge = malloc(70001);
    ck_assert_ptr_nonnull(huge);
    memset(huge, 'h', 70000);
    huge[70000] = 0;
    d.name = huge;
    expect_add(&f, &d, data, 4, CNNZ_E_FORMAT_LIMIT, "name of 70000 bytes");
    free(huge);
    add_ok(&f, name, CNNZ_MAX_NAME_BYTES); /* exactly the limit */
    /* name_len = 0 means strlen */
    name[3] = 0;
    add_ok(&f, name, 0);
    free(name);
    wfix_finish_check(&f);
}
END_TEST

START_TEST(test_duplicates)
{
    struct wfix f;
    wfix_open(&f, __func__);
    add_ok(&f, "w", 0);
    add_ok(&f, "w2", 0);
    uint64_t dims[1] = {2};
    float v[2] = {1, 2};
    struct cnnz_tensor_desc d = desc("w", 0, CNNZ_DT_F32, 1, dims);
    expect_add(&f, &d, v, sizeof v, CNNZ_E_DUPLICATE, "duplicate name, other dtype");
    d.name = "w2xyz";
    d.name_len = 2;
    expect_add(&f, &d, v, sizeof v, CNNZ_E_DUPLICATE, "duplicate via name_len");
    /* metadata keys: duplicates across types; a key may equal a tensor name */
    ck_assert_int_eq(cnnz_writer_meta_string(f.w, "k", "v"), 0);
    model_meta_string(&f.m, "k", "v");
    ck_assert_int_eq(cnnz_writer_meta_int(f.w, "k", 1), CNNZ_E_DUPLICATE);
    ck_assert_int_eq(cnnz_writer_meta_float(f.w, "k", 1), CNNZ_E_DUPLICATE);
    ck_assert_int_eq(cnnz_writer_meta_bool(f.w, "k", 1), CNNZ_E_DUPLICATE);
    ck_assert_int_eq(cnnz_writer_meta_bytes(f.w, "k", "x", 1), CNNZ_E_DUPLICATE);
    ck_assert_int_eq(cnnz_writer_meta_string(f.w, "k", "v"), CNNZ_E_DUPLICATE);
    ck_assert_int_eq(cnnz_writer_meta_int(f.w, "w", 5), 0);
    model_meta_int(&f.m, "w", 5);
    add_ok(&f, "k", 0);
    wfix_finish_check(&f);
}
END_TEST

START_TEST(test_bad_meta)
{
    struct wfix f;
    wfix_open(&f, __func__);
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        if (memchr(bad_utf8[i].s, 0, bad_utf8[i].n))
            continue; /* a C-string key ends at the NUL */
        char key[16];
        memcpy(key, bad_utf8[i].s, bad_utf8[i].n);
        key[bad_utf8[i].n] = 0;
        ck_assert_msg(cnnz_writer_meta_int(f.w, key, 1) == CNNZ_E_NAME, "key: %s",
                      bad_utf8[i].why);
        ck_assert_msg(cnnz_writer_meta_string(f.w, "s", key) == CNNZ_E_METADATA,
                      "string value: %s", bad_utf8[i].why);
    }
    ck_assert_int_eq(cnnz_writer_meta_int(f.w, "", 1), CNNZ_E_NAME);
    ck_assert_int_eq(cnnz_writer_meta_int(f.w, NULL, 1), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_writer_meta_string(f.w, "s", NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_writer_meta_bytes(f.w, "b", NULL, 3), CNNZ_E_ARG);
    char *key = malloc(CNNZ_MAX_NAME_BYTES + 2);
    ck_assert_ptr_nonnull(key);
    memset(key, 'k', CNNZ_MAX_NAME_BYTES + 1);
    key[CNNZ_MAX_NAME_BYTES + 1] = 0;
    ck_assert_int_eq(cnnz_writer_meta_int(f.w, key, 1), CNNZ_E_FORMAT_LIMIT);
    key[CNNZ_MAX_NAME_BYTES] = 0;
    ck_assert_int_eq(cnnz_writer_meta_int(f.w, key, 1), 0);
    model_meta_int(&f.m, key, 1);
    free(key);
    /* the rejected key "s" was never taken */
    ck_assert_int_eq(cnnz_writer_meta_string(f.w, "s", "ok"), 0);
    model_meta_string(&f.m, "s", "ok");
    ck_assert_int_eq(cnnz_writer_meta_bytes(f.w, "b", NULL, 0), 0);
    model_meta_bytes(&f.m, "b", "", 0);
    wfix_finish_check(&f);
}
END_TEST

/* spec 5.4: a stored bool is 0 or 1. The writer may reject other ints or
 * store them as 1, but never write an invalid file. */
START_TEST(test_meta_bool_values)
{
    static const int vals[] = {2, -1, 255, 256, 0x7FFFFFFF};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        struct wfix f;
        wfix_open(&f, __func__);
        int err = cnnz_writer_meta_bool(f.w, "b", vals[i]);
        ck_assert_msg(err == 0 || err == CNNZ_E_ARG || err == CNNZ_E_METADATA,
                      "meta_bool(%d): %s", vals[i], cnnz_error_token(err));
        if (err == 0)
            model_meta_bool(&f.m, "b", 1);
        wfix_finish_check(&f);
    }
}
END_TEST

START_TEST(test_bad_shapes)
{
    struct wfix f;
    wfix_open(&f, __func__);
    uint8_t data[16] = {0};
    uint64_t dims[40];
    for (int i = 0; i < 40; i++)
        dims[i] = 1;
    struct cnnz_tensor_desc d = desc("r", 0, CNNZ_DT_U8, CNNZ_MAX_RANK + 1, dims);
    expect_add(&f, &d, data, 1, CNNZ_E_FORMAT_LIMIT, "rank 33");
    d.rank = 255;
    expect_add(&f, &d, data, 1, CNNZ_E_FORMAT_LIMIT, "rank 255");
    d.rank = 256;
    expect_add(&f, &d, data, 1, CNNZ_E_FORMAT_LIMIT, "rank 256");
    d.rank = 2;
    d.dims = NULL;
    expect_add(&f, &d, data, 1, CNNZ_E_ARG, "NULL dims with rank 2");

    static const struct {
        unsigned rank;
        uint64_t dims[3];
        int dtype;
        const char *why;
    } shapes[] = {
        {2, {UINT64_C(1) << 32, UINT64_C(1) << 32}, CNNZ_DT_U8, "2^64 elements"},
        {2, {UINT64_C(1) << 63, 2}, CNNZ_DT_U8, "2^64 elements (2)"},
        {3, {UINT64_MAX, UINT64_MAX, 1}, CNNZ_DT_U8, "product overflow"},
        {1, {UINT64_C(1) << 62}, CNNZ_DT_F32, "bytes overflow"},
        {1, {UINT64_MAX}, CNNZ_DT_U16, "bytes overflow (2)"},
        {1, {(UINT64_C(1) << 56) + 1}, CNNZ_DT_U8, "over 2^56 bytes"},
        {1, {(UINT64_C(1) << 53) + 1}, CNNZ_DT_F64, "over 2^56 bytes (f64)"},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        d = desc("s", 0, shapes[i].dtype, shapes[i].rank, shapes[i].dims);
        expect_add(&f, &d, data, 16, CNNZ_E_SHAPE, shapes[i].why);
    }
    /* size mismatch */
    uint64_t d4[1] = {4};
    d = desc("m", 0, CNNZ_DT_U16, 1, d4);
    expect_add(&f, &d, data, 7, CNNZ_E_ARG, "size one short");
    expect_add(&f, &d, data, 9, CNNZ_E_ARG, "size one long");
    expect_add(&f, &d, data, 0, CNNZ_E_ARG, "size 0");
    expect_add(&f, &d, NULL, 8, CNNZ_E_ARG, "NULL data");
    expect_add(&f, NULL, data, 8, CNNZ_E_ARG, "NULL desc");
    ck_assert_int_eq(cnnz_writer_add_tensor(NULL, &d, data, 8), CNNZ_E_ARG);
    /* zero elements: NULL data with size 0 is fine */
    uint64_t dz[2] = {3, 0};
    struct ttensor *t = model_add(&f.m, &f.r, "zero", 0, CNNZ_DT_F64, CNNZ_REPR_PLAIN, 0, 2, dz, NULL);
    d = desc("zero", 0, CNNZ_DT_F64, 2, t->dims);
    ck_assert_int_eq(cnnz_writer_add_tensor(f.w, &d, NULL, 0), 0);
    add_ok(&f, "m", 0); /* the name of a rejected tensor is free */
    wfix_finish_check(&f);
}
END_TEST

START_TEST(test_bad_types)
{
    struct wfix f;
    wfix_open(&f, __func__);
    uint8_t data[32] = {0};
    uint64_t d4[1] = {4};
    struct cnnz_tensor_desc d = desc("t", 0, 0, 1, d4);
    static const int bad_dt[] = {0, 14, -1, 255, 256};
    for (size_t i = 0; i < sizeof bad_dt / sizeof bad_dt[0]; i++) {
        d.dtype = bad_dt[i];
        expect_add(&f, &d, data, 4, CNNZ_E_DTYPE, "unknown dtype");
    }
    d.dtype = CNNZ_DT_U8;
    static const int bad_repr[] = {3, -1, 255, 256};
    for (size_t i = 0; i < sizeof bad_repr / sizeof bad_repr[0]; i++) {
        d.repr = bad_repr[i];
        expect_add(&f, &d, data, 4, CNNZ_E_REPR, "unknown repr");
    }
    d.repr = CNNZ_REPR_PLAIN;
    for (int c = -2; c < 300; c++) {
        if (c == CNNZ_CODER_AUTO || (c >= 0 && cnnz_coder_name(c)))
            continue;
        d.coder = c;
        expect_add(&f, &d, data, 4, CNNZ_E_CODER, "unknown coder");
    }
    d.coder = CNNZ_CODER_RAW;

    /* AFFINE: f32 or i32 tensor, u8/u16 symbols, finite scale and offset */
    d.repr = CNNZ_REPR_AFFINE;
    d.symbol_dtype = CNNZ_DT_U8;
    d.scale = 0.5;
    static const int not_f32[] = {CNNZ_DT_F16, CNNZ_DT_BF16, CNNZ_DT_F64, CNNZ_DT_U8,
                                  CNNZ_DT_I16, CNNZ_DT_BOOL};
    for (size_t i = 0; i < sizeof not_f32 / sizeof not_f32[0]; i++) {
        d.dtype = not_f32[i];
        expect_add(&f, &d, data, 4, CNNZ_E_REPR, "AFFINE into a tensor that is neither f32 nor i32");
    }
    d.dtype = CNNZ_DT_F32;
    static const int bad_sym[] = {0, CNNZ_DT_I8, CNNZ_DT_I16, CNNZ_DT_U32, CNNZ_DT_F16,
                                  CNNZ_DT_BOOL, CNNZ_DT_F32, 99};
    for (size_t i = 0; i < sizeof bad_sym / sizeof bad_sym[0]; i++) {
        d.symbol_dtype = bad_sym[i];
        size_t sz = 4 * (cnnz_dtype_size(bad_sym[i]) ? cnnz_dtype_size(bad_sym[i]) : 1);
        expect_add(&f, &d, data, sz, CNNZ_E_REPR, "AFFINE with bad symbols");
    }
    d.symbol_dtype = CNNZ_DT_U16;
    static const double bad_num[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        d.scale = bad_num[i];
        d.offset = 0;
        expect_add(&f, &d, data, 8, CNNZ_E_REPR, "AFFINE non-finite scale");
        d.scale = 1;
        d.offset = bad_num[i];
        expect_add(&f, &d, data, 8, CNNZ_E_REPR, "AFFINE non-finite offset");
    }

    /* WIDEN: f16/bf16 into f32 only */
    d.repr = CNNZ_REPR_WIDEN;
    d.scale = d.offset = 0;
    d.dtype = CNNZ_DT_F64;
    d.symbol_dtype = CNNZ_DT_F16;
    expect_add(&f, &d, data, 8, CNNZ_E_REPR, "WIDEN f16 into f64");
    d.dtype = CNNZ_DT_F16;
    expect_add(&f, &d, data, 8, CNNZ_E_REPR, "WIDEN f16 into f16");
    d.dtype = CNNZ_DT_F32;
    static const int bad_wide[] = {0, CNNZ_DT_F32, CNNZ_DT_U16, CNNZ_DT_I16, CNNZ_DT_F64, 77};
    for (size_t i = 0; i < sizeof bad_wide / sizeof bad_wide[0]; i++) {
        d.symbol_dtype = bad_wide[i];
        size_t sz = 4 * (cnnz_dtype_size(bad_wide[i]) ? cnnz_dtype_size(bad_wide[i]) : 2);
        expect_add(&f, &d, data, sz, CNNZ_E_REPR, "WIDEN from a non-f16/bf16 type");
    }

    /* bool data must be 0 or 1 (spec 5.2) */
    uint8_t b[4] = {0, 1, 2, 1};
    d = desc("bool", 0, CNNZ_DT_BOOL, 1, d4);
    expect_add(&f, &d, b, 4, CNNZ_E_INPUT, "bool value 2");
    b[2] = 0xFF;
    expect_add(&f, &d, b, 4, CNNZ_E_INPUT, "bool value 255");
    b[2] = 0x80;
    expect_add(&f, &d, b, 4, CNNZ_E_INPUT, "bool value 128");
    b[2] = 1;
    model_add(&f.m, &f.r, "bool", 0, CNNZ_DT_BOOL, CNNZ_REPR_PLAIN, 0, 1, d4, b);
    ck_assert_int_eq(cnnz_writer_add_tensor(f.w, &d, b, 4), 0);
    wfix_finish_check(&f);
}
END_TEST

START_TEST(test_after_finish)
{
    struct wfix f;
    wfix_open(&f, __func__);
    add_ok(&f, "a", 0);
    ck_assert_int_eq(cnnz_writer_finish(f.w), 0);
    size_t len = f.b.len;
    uint8_t data[4] = {0};
    uint64_t d4[1] = {4};
    struct cnnz_tensor_desc d = desc("b", 0, CNNZ_DT_U8, 1, d4);
    ck_assert_int_eq(cnnz_writer_add_tensor(f.w, &d, data, 4), CNNZ_E_STATE);
    ck_assert_int_eq(cnnz_writer_meta_string(f.w, "k", "v"), CNNZ_E_STATE);
    ck_assert_int_eq(cnnz_writer_meta_int(f.w, "k", 1), CNNZ_E_STATE);
    ck_assert_int_eq(cnnz_writer_meta_float(f.w, "k", 1), CNNZ_E_STATE);
    ck_assert_int_eq(cnnz_writer_meta_bool(f.w, "k", 1), CNNZ_E_STATE);
    ck_assert_int_eq(cnnz_writer_meta_bytes(f.w, "k", "v", 1), CNNZ_E_STATE);
    ck_assert_int_eq(cnnz_writer_finish(f.w), CNNZ_E_STATE);
    ck_assert_uint_eq(f.b.len, len);
    cnnz_writer_free(f.w);
    model_check_image(&f.m, f.b.data, f.b.len);
    membuf_free(&f.b);
    model_free(&f.m);
}
END_TEST

START_TEST(test_open_args)
{
    cnnz_writer *w = NULL;
    struct membuf b;
    membuf_init(&b);
    struct cnnz_sink s = membuf_sink(&b);
    ck_assert_int_eq(cnnz_writer_open(NULL, &s, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_writer_open(&w, NULL, NULL), CNNZ_E_ARG);
    struct cnnz_sink nos = {NULL, NULL};
    ck_assert_int_eq(cnnz_writer_open(&w, &nos, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_writer_open_file(&w, NULL, NULL), CNNZ_E_ARG);
    ck_assert_int_eq(cnnz_writer_finish(NULL), CNNZ_E_ARG);
    cnnz_writer_free(NULL);
    ck_assert_int_eq(cnnz_writer_meta_int(NULL, "k", 1), CNNZ_E_ARG);
    /* free without finish: nothing leaks (counted allocator) */
    struct test_alloc ta;
    test_alloc_init(&ta, -1);
    struct cnnz_allocator h = test_alloc_hooks(&ta);
    struct cnnz_writer_options o = {.allocator = &h};
    ck_assert_int_eq(cnnz_writer_open(&w, &s, &o), 0);
    uint8_t data[4] = {0};
    uint64_t d4[1] = {4};
    struct cnnz_tensor_desc d = desc("b", 0, CNNZ_DT_U8, 1, d4);
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &d, data, 4), 0);
    ck_assert_int_eq(cnnz_writer_meta_int(w, "k", 1), 0);
    cnnz_writer_free(w);
    ck_assert_int_gt(ta.allocs, 0);
    ck_assert_int_eq(ta.live, 0);
    membuf_free(&b);
}
END_TEST

/* spec 8: at most 65535 metadata entries; the 65536th is refused by the
 * call or by finish, never written. */
START_TEST(test_meta_entry_limit)
{
    struct membuf b;
    membuf_init(&b);
    struct cnnz_sink s = membuf_sink(&b);
    cnnz_writer *w;
    ck_assert_int_eq(cnnz_writer_open(&w, &s, NULL), 0);
    char key[32];
    for (unsigned i = 0; i < CNNZ_MAX_META_ENTRIES; i++) {
        snprintf(key, sizeof key, "k%u", i);
        ck_assert_int_eq(cnnz_writer_meta_bool(w, key, (int)(i & 1)), 0);
    }
    int err = cnnz_writer_meta_bool(w, "one-too-many", 1);
    if (err == 0)
        err = cnnz_writer_finish(w);
    ck_assert_int_eq(err, CNNZ_E_FORMAT_LIMIT);
    cnnz_writer_free(w);
    membuf_free(&b);

    /* exactly the limit is a valid file */
    membuf_init(&b);
    s = membuf_sink(&b);
    ck_assert_int_eq(cnnz_writer_open(&w, &s, NULL), 0);
    for (unsigned i = 0; i < CNNZ_MAX_META_ENTRIES; i++) {
        snprintf(key, sizeof key, "k%u", i);
        ck_assert_int_eq(cnnz_writer_meta_int(w, key, i), 0);
    }
    ck_assert_int_eq(cnnz_writer_finish(w), 0);
    cnnz_writer_free(w);
    cnnz_reader *r;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, b.data, b.len, NULL), 0);
    ck_assert_uint_eq(cnnz_reader_meta_count(r), CNNZ_MAX_META_ENTRIES);
    struct cnnz_meta m;
    ck_assert_int_eq(cnnz_reader_meta_find(r, "k65534", &m), 0);
    ck_assert_int_eq(m.i, 65534);
    cnnz_reader_close(r);
    membuf_free(&b);
}
END_TEST

/* spec 5.3: "element count = product of dims (zero dims are legal)" and it
 * "MUST not overflow". With a zero dim the product is 0 whatever the order
 * of the dims, so whether such a shape is valid must not depend on where
 * the zero is (spec 5.3 does not say partial products count). */
START_TEST(test_zero_dim_order)
{
    static const uint64_t perms[][3] = {
        {0, UINT64_C(1) << 63, 4}, {UINT64_C(1) << 63, 0, 4}, {UINT64_C(1) << 63, 4, 0},
        {0, UINT64_MAX, UINT64_MAX}, {UINT64_MAX, UINT64_MAX, 0},
    };
    int first = -1;
    for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++) {
        struct wfix f;
        wfix_open(&f, __func__);
        struct cnnz_tensor_desc d = desc("z", 0, CNNZ_DT_U8, 3, perms[i]);
        int err = cnnz_writer_add_tensor(f.w, &d, NULL, 0);
        ck_assert_msg(err == 0 || err == CNNZ_E_SHAPE, "%s", cnnz_error_token(err));
        if (first < 0)
            first = err;
        ck_assert_msg(err == first,
                      "dims {%#llx, %#llx, %#llx} (0 elements): %s, but dims {%#llx, %#llx, "
                      "%#llx}: %s",
                      (unsigned long long)perms[i][0], (unsigned long long)perms[i][1],
                      (unsigned long long)perms[i][2], cnnz_error_token(err),
                      (unsigned long long)perms[0][0], (unsigned long long)perms[0][1],
                      (unsigned long long)perms[0][2], cnnz_error_token(first));
        if (err == 0)
            model_add(&f.m, NULL, "z", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 3, perms[i], "");
        wfix_finish_check(&f);
    }
}
END_TEST

Suite *suite_writer(void)
{
    Suite *s = suite_create("writer");
    TCase *tc = tcase_create("rejections");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_name_length);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_bad_meta);
    tcase_add_test(tc, test_meta_bool_values);
    tcase_add_test(tc, test_bad_shapes);
    tcase_add_test(tc, test_bad_types);
    tcase_add_test(tc, test_after_finish);
    tcase_add_test(tc, test_open_args);
    tcase_add_test(tc, test_meta_entry_limit);
    tcase_add_test(tc, test_zero_dim_order);
    suite_add_tcase(s, tc);
    return s;
}
