/* Check suite for cnnz-tools/formats/safetensors.{c,h}: writer/parser round
 * trips for every dtype, rank 0 and empty tensors, byte-exact headers, every
 * truncation, targeted malformed headers and layouts, unsupported dtypes,
 * limits, sink failures and random byte flips. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnz.h"
#include "tests.h"
#include "safetensors.h"


/* ------------------------------------------------------------ helpers */

/* Parse an exact copy of p[0..n); returns the status, frees the result. */
static int parse_status(const void *p, size_t n, const struct safetensors_options *o, char *err)
{
    unsigned char *d = dup_exact(p, n);
    struct safetensors_file *f = (struct safetensors_file *)1;
    int rc = safetensors_parse(d, n, o, &f, err, FMT_ERR_SIZE);
    if (rc != FMT_OK)
        ck_assert_ptr_null(f);
    safetensors_free(f);
    free(d);
    return rc;
}

/* A file from header text and `data` bytes of buffer (0x00..). */
static unsigned char *make_file(const char *json, size_t data, size_t *len)
{
    size_t n = strlen(json);
    unsigned char *p = malloc(8 + n + data + 1);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(p + 8, json, n);
    for (size_t i = 0; i < data; i++)
        p[8 + n + i] = (unsigned char)(i % 2);
    *len = 8 + n + data;
    return p;
}

static int json_status(const char *json, size_t data, const struct safetensors_options *o,
                       char *err)
{
    size_t len;
    unsigned char *p = make_file(json, data, &len);
    int rc = parse_status(p, len, o, err);
    free(p);
    return rc;
}

#define ALL_DTYPES                                                                              \
    {CNNZ_DT_F32, CNNZ_DT_F16, CNNZ_DT_BF16, CNNZ_DT_F64, CNNZ_DT_I8, CNNZ_DT_U8, CNNZ_DT_I16,    \
     CNNZ_DT_U16, CNNZ_DT_I32, CNNZ_DT_U32, CNNZ_DT_I64, CNNZ_DT_U64, CNNZ_DT_BOOL}

/* Tensors of every dtype with assorted shapes (rank 0, empty, up to 4). */
struct set {
    struct safetensors_tensor t[64];
    char names[64][32];
    unsigned char *data[64];
    size_t n;
};

static void set_make(struct set *s, uint64_t seed)
{
    static const int dts[] = ALL_DTYPES;
    memset(s, 0, sizeof *s);
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++) {
        for (int v = 0; v < 4; v++) {
            struct safetensors_tensor *t = &s->t[s->n];
            snprintf(s->names[s->n], sizeof s->names[0], "layer%d.%s.w", v,
                     cnnz_dtype_name(dts[d]));
            t->name = s->names[s->n];
            t->dtype = dts[d];
            t->rank = v == 0 ? 0 : (unsigned)(rng_next(&seed) % 4 + 1);
            uint64_t el = 1;
            for (unsigned k = 0; k < t->rank; k++) {
                t->dims[k] = v == 1 && k == 0 ? 0 : rng_next(&seed) % 5 + 1;
                el *= t->dims[k];
            }
            t->data_bytes = (size_t)el * cnnz_dtype_size(t->dtype);
            s->data[s->n] = malloc(t->data_bytes ? t->data_bytes : 1);
            ck_assert_ptr_nonnull(s->data[s->n]);
            for (size_t i = 0; i < t->data_bytes; i++)
                s->data[s->n][i] = t->dtype == CNNZ_DT_BOOL ? (unsigned char)(rng_next(&seed) & 1)
                                                            : (unsigned char)rng_next(&seed);
            t->data = s->data[s->n];
            s->n++;
        }
    }
}

static void set_free(struct set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->data[i]);
}

static const struct safetensors_tensor *set_find(const struct set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->t[i].name, name) == 0)
            return &s->t[i];
    return NULL;
}

/* -------------------------------------------------------------- tests */

START_TEST(roundtrip_every_dtype)
{
    struct set s;
    set_make(&s, 42);
    struct safetensors_meta meta[2] = {{"format", "pt"}, {"author", "cnnz \xC3\xA9"}};
    struct buf b;
    buf_init(&b);
    char err[FMT_ERR_SIZE];
    ck_assert_int_eq(safetensors_write(s.t, s.n, meta, 2, buf_write, &b, err, sizeof err), FMT_OK);

    struct safetensors_file *f;
    ck_assert_msg(safetensors_parse(b.data, b.len, NULL, &f, err, sizeof err) == FMT_OK, "%s", err);
    ck_assert_uint_eq(f->count, s.n);
    ck_assert_uint_eq(f->skipped_count, 0);
    ck_assert_uint_eq(f->header_bytes % 8, 0);
    /* Data order is sorted name order. */
    for (size_t i = 0; i < f->count; i++) {
        const struct safetensors_tensor *t = &f->tensors[i], *w = set_find(&s, t->name);
        ck_assert_ptr_nonnull(w);
        if (i > 0)
            ck_assert_int_lt(strcmp(f->tensors[i - 1].name, t->name), 0);
        ck_assert_uint_eq(t->name_len, strlen(w->name));
        ck_assert_int_eq(t->dtype, w->dtype);
        ck_assert_uint_eq(t->rank, w->rank);
        uint64_t el = 1;
        for (unsigned k = 0; k < t->rank; k++) {
            ck_assert_uint_eq(t->dims[k], w->dims[k]);
            el *= w->dims[k];
        }
        ck_assert_uint_eq(t->elements, el);
        ck_assert_uint_eq(t->data_bytes, w->data_bytes);
        ck_assert(memcmp(t->data, w->data, w->data_bytes) == 0);
    }
    ck_assert_uint_eq(f->meta_count, 2);
    ck_assert_str_eq(f->meta[0].key, "author"); /* sorted */
    ck_assert_str_eq(f->meta[0].value, "cnnz \xC3\xA9");
    ck_assert_str_eq(f->meta[1].key, "format");

    /* Writing what was parsed gives the same bytes (deterministic). */
    struct buf b2;
    buf_init(&b2);
    ck_assert_int_eq(safetensors_write(f->tensors, f->count, f->meta, f->meta_count, buf_write, &b2,
                                       err, sizeof err),
                     FMT_OK);
    ck_assert_uint_eq(b2.len, b.len);
    ck_assert(memcmp(b2.data, b.data, b.len) == 0);
    safetensors_free(f);
    free(b.data);
    free(b2.data);
    set_free(&s);
}
END_TEST

START_TEST(exact_bytes)
{
    const uint8_t w[8] = {1, 0, 0, 0, 2, 0, 0, 0};
    const uint8_t e[2] = {7, 9};
    struct safetensors_tensor t[3];
    memset(t, 0, sizeof t);
    t[0].name = "w";
    t[0].dtype = CNNZ_DT_I32;
    t[0].rank = 1;
    t[0].dims[0] = 2;
    t[0].data = w;
    t[0].data_bytes = 8;
    t[1].name = "b";
    t[1].dtype = CNNZ_DT_U8;
    t[1].rank = 2;
    t[1].dims[0] = 1;
    t[1].dims[1] = 2;
    t[1].data = e;
    t[1].data_bytes = 2;
    t[2].name = "s"; /* rank 0, empty name_len -> strlen */
    t[2].dtype = CNNZ_DT_U8;
    t[2].data = e;
    t[2].data_bytes = 1;
    struct safetensors_meta m = {"format", "pt"};
    struct buf b;
    buf_init(&b);
    char err[FMT_ERR_SIZE];
    ck_assert_int_eq(safetensors_write(t, 3, &m, 1, buf_write, &b, err, sizeof err), FMT_OK);
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"b\":{\"data_offsets\":[0,2],\"dtype\":\"U8\",\"shape\":[1,2]},"
                       "\"s\":{\"data_offsets\":[2,3],\"dtype\":\"U8\",\"shape\":[]},"
                       "\"w\":{\"data_offsets\":[3,11],\"dtype\":\"I32\",\"shape\":[2]}}";
    size_t jl = strlen(json), pad = (8 - jl % 8) % 8;
    ck_assert_uint_eq(b.len, 8 + jl + pad + 11);
    ck_assert_uint_eq(b.data[0], (jl + pad) & 0xFF);
    ck_assert_uint_eq(b.data[1], (jl + pad) >> 8);
    for (int i = 2; i < 8; i++)
        ck_assert_uint_eq(b.data[i], 0);
    ck_assert(memcmp(b.data + 8, json, jl) == 0);
    for (size_t i = 0; i < pad; i++)
        ck_assert_uint_eq(b.data[8 + jl + i], ' ');
    const unsigned char *d = b.data + 8 + jl + pad;
    ck_assert(memcmp(d, e, 2) == 0 && d[2] == 7 && memcmp(d + 3, w, 8) == 0);
    free(b.data);
}
END_TEST

START_TEST(empty_file_and_metadata_only)
{
    struct buf b;
    buf_init(&b);
    char err[FMT_ERR_SIZE];
    ck_assert_int_eq(safetensors_write(NULL, 0, NULL, 0, buf_write, &b, err, sizeof err), FMT_OK);
    ck_assert_uint_eq(b.len, 16); /* "{}" padded to 8 */
    ck_assert(memcmp(b.data + 8, "{}      ", 8) == 0);
    struct safetensors_file *f;
    ck_assert_int_eq(safetensors_parse(b.data, b.len, NULL, &f, err, sizeof err), FMT_OK);
    ck_assert_uint_eq(f->count, 0);
    safetensors_free(f);
    free(b.data);
    ck_assert_int_eq(json_status("{\"__metadata__\":{\"a\":\"b\"}}", 0, NULL, err), FMT_OK);
    ck_assert_int_eq(json_status("{\"__metadata__\":null}", 0, NULL, err), FMT_OK);
    ck_assert_int_eq(json_status("{\"__metadata__\":{}}", 0, NULL, err), FMT_OK);
}
END_TEST

START_TEST(every_truncation_fails)
{
    struct set s;
    set_make(&s, 7);
    struct buf b;
    buf_init(&b);
    char err[FMT_ERR_SIZE];
    ck_assert_int_eq(safetensors_write(s.t, 12, NULL, 0, buf_write, &b, err, sizeof err), FMT_OK);
    for (size_t n = 0; n < b.len; n++)
        ck_assert_msg(parse_status(b.data, n, NULL, err) == FMT_E_INVALID, "prefix %zu", n);
    /* And one byte more is trailing data. */
    unsigned char *longer = malloc(b.len + 1);
    memcpy(longer, b.data, b.len);
    longer[b.len] = 0;
    ck_assert_int_eq(parse_status(longer, b.len + 1, NULL, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "after the last tensor"));
    free(longer);
    free(b.data);
    set_free(&s);
}
END_TEST

/* A header text, its data size, the expected status and a message part. */
struct bad {
    const char *json;
    size_t data;
    int status;
    const char *msg;
};

START_TEST(malformed_headers)
{
    static const struct bad cases[] = {
        {"[]", 0, FMT_E_INVALID, "start with '{'"},
        {" {}", 0, FMT_E_INVALID, "start with '{'"},
        {"{", 0, FMT_E_INVALID, "header JSON"},
        {"{}x", 0, FMT_E_INVALID, "header JSON"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, FMT_E_INVALID, "duplicate"},
        {"{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, FMT_E_INVALID,
         "empty tensor name"},
        {"{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
         FMT_E_INVALID, "NUL"},
        {"{\"a\xFF\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, FMT_E_INVALID,
         "header JSON"},
        {"{\"a\":[]}", 0, FMT_E_INVALID, "not an object"},
        {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, FMT_E_INVALID, "dtype missing"},
        {"{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,1]}}", 1, FMT_E_INVALID,
         "dtype missing"},
        {"{\"a\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, FMT_E_INVALID,
         "unknown dtype"},
        {"{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, FMT_E_INVALID,
         "unknown dtype"},
        {"{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, FMT_E_INVALID, "shape missing"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}", 1, FMT_E_INVALID,
         "shape[0]"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", 1, FMT_E_INVALID,
         "shape[0]"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, FMT_E_INVALID, "data_offsets"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1, FMT_E_INVALID,
         "data_offsets"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 1, FMT_E_INVALID,
         "data_offsets"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", 1, FMT_E_INVALID,
         "data_offsets"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,0]}}", 1, FMT_E_INVALID,
         "before begin"},
        /* size checks */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, FMT_E_INVALID,
         "need 8"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,2],\"data_offsets\":[0,1]}}", 1,
         FMT_E_INVALID, "overflows"},
        {"{\"a\":{\"dtype\":\"U64\",\"shape\":[2305843009213693952,2],\"data_offsets\":[0,1]}}", 1,
         FMT_E_INVALID, "overflows"},
        /* layout: outside, holes, overlaps, trailing bytes */
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 3, FMT_E_INVALID,
         "past the end"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[1,5]}}", 5, FMT_E_INVALID,
         "hole"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[5,9]}}",
         9, FMT_E_INVALID, "hole"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}",
         6, FMT_E_INVALID, "overlaps"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
         4, FMT_E_INVALID, "overlaps"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 5, FMT_E_INVALID,
         "after the last"},
        {"{}", 1, FMT_E_INVALID, "after the last"},
        /* bool values */
        {"{\"a\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}", 3, FMT_OK, ""},
        /* metadata */
        {"{\"__metadata__\":{\"a\":1}}", 0, FMT_E_INVALID, "not a string"},
        {"{\"__metadata__\":[\"a\"]}", 0, FMT_E_INVALID, "not an object"},
        /* unsupported dtypes and ranks are named */
        {"{\"x.y\":{\"dtype\":\"F8_E4M3\",\"shape\":[3],\"data_offsets\":[0,3]}}", 3,
         FMT_E_UNSUPPORTED, "'x.y': unsupported dtype F8_E4M3"},
        {"{\"c\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, FMT_E_UNSUPPORTED,
         "C64"},
        {"{\"q\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, FMT_E_INVALID,
         "whole bytes"},
        {"{\"q\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]}}", 2, FMT_E_UNSUPPORTED,
         "F4"},
        {"{\"r\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
         "1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
         1, FMT_E_UNSUPPORTED, "rank 33"},
        /* accepted oddities */
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
         "\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"extra\":1}}",
         2, FMT_OK, ""},
        {"{}      ", 0, FMT_OK, ""},
        {"{}\n\t ", 0, FMT_OK, ""},
    };
    char err[FMT_ERR_SIZE];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        int rc = json_status(cases[i].json, cases[i].data, NULL, err);
        ck_assert_msg(rc == cases[i].status, "case %zu: got %d (%s)", i, rc, err);
        ck_assert_msg(strstr(err, cases[i].msg) != NULL, "case %zu: message '%s'", i, err);
    }
}
END_TEST

START_TEST(bool_values_checked)
{
    char err[FMT_ERR_SIZE];
    size_t len;
    unsigned char *p =
        make_file("{\"a\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}", 3, &len);
    p[len - 1] = 2;
    ck_assert_int_eq(parse_status(p, len, NULL, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "bool element 2"));
    free(p);
}
END_TEST

START_TEST(header_length_checks)
{
    char err[FMT_ERR_SIZE];
    unsigned char p[16] = {0};
    ck_assert_int_eq(parse_status(p, 7, NULL, err), FMT_E_INVALID);
    ck_assert_int_eq(parse_status(p, 8, NULL, err), FMT_E_INVALID); /* N = 0: no '{' */
    p[0] = 9; /* N = 9 > 8 bytes present */
    memcpy(p + 8, "{}      ", 8);
    ck_assert_int_eq(parse_status(p, 16, NULL, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "past the end"));
    /* Above the format's 100 MB, and absurd values. */
    uint64_t big[] = {UINT64_C(100000001), UINT64_MAX, UINT64_C(1) << 63};
    for (size_t i = 0; i < 3; i++) {
        for (int k = 0; k < 8; k++)
            p[k] = (unsigned char)(big[i] >> (8 * k));
        ck_assert_int_eq(parse_status(p, 16, NULL, err), FMT_E_INVALID);
        ck_assert_ptr_nonnull(strstr(err, "format's limit"));
    }
    /* The caller's limit is a different error. */
    size_t len;
    unsigned char *f = make_file("{\"__metadata__\":{\"k\":\"v\"}}", 0, &len);
    struct safetensors_options o = {0};
    o.max_header_bytes = 10;
    ck_assert_int_eq(parse_status(f, len, &o, err), FMT_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err, "header limit"));
    o.max_header_bytes = len - 8;
    ck_assert_int_eq(parse_status(f, len, &o, err), FMT_OK);
    free(f);
}
END_TEST

START_TEST(skip_unsupported)
{
    const char *json =
        "{\"a\":{\"dtype\":\"F8_E5M2\",\"shape\":[2],\"data_offsets\":[0,2]},"
        "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]},"
        "\"c\":{\"dtype\":\"F6_E2M3\",\"shape\":[4],\"data_offsets\":[4,7]}}";
    size_t len;
    unsigned char *p = make_file(json, 7, &len);
    struct safetensors_options o = {0};
    o.skip_unsupported = 1;
    struct safetensors_file *f;
    char err[FMT_ERR_SIZE];
    ck_assert_int_eq(safetensors_parse(p, len, &o, &f, err, sizeof err), FMT_OK);
    ck_assert_uint_eq(f->count, 1);
    ck_assert_str_eq(f->tensors[0].name, "b");
    ck_assert_ptr_eq(f->tensors[0].data, p + len - 5);
    ck_assert_uint_eq(f->skipped_count, 2);
    ck_assert_str_eq(f->skipped[0].name, "a");
    ck_assert_str_eq(f->skipped[0].reason, "dtype F8_E5M2");
    ck_assert_str_eq(f->skipped[1].name, "c");
    safetensors_free(f);
    free(p);
    /* Skipped tensors still take part in the layout checks. */
    p = make_file("{\"a\":{\"dtype\":\"F8_E5M2\",\"shape\":[2],\"data_offsets\":[0,3]}}", 3, &len);
    ck_assert_int_eq(parse_status(p, len, &o, err), FMT_E_INVALID);
    free(p);
    p = make_file("{\"a\":{\"dtype\":\"F8_E5M2\",\"shape\":[2],\"data_offsets\":[1,3]}}", 3, &len);
    ck_assert_int_eq(parse_status(p, len, &o, err), FMT_E_INVALID);
    free(p);
}
END_TEST

START_TEST(tensor_limit)
{
    const char *json = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                       "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}";
    struct safetensors_options o = {0};
    char err[FMT_ERR_SIZE];
    o.max_tensors = 1;
    ck_assert_int_eq(json_status(json, 2, &o, err), FMT_E_UNSUPPORTED);
    o.max_tensors = 2;
    ck_assert_int_eq(json_status(json, 2, &o, err), FMT_OK);
}
END_TEST

START_TEST(writer_rejects)
{
    uint8_t d[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    struct safetensors_tensor t[2];
    char err[FMT_ERR_SIZE];
    struct buf b;
    memset(t, 0, sizeof t);
    for (int i = 0; i < 2; i++) {
        t[i].dtype = CNNZ_DT_U8;
        t[i].rank = 1;
        t[i].dims[0] = 4;
        t[i].data = d;
        t[i].data_bytes = 4;
    }
    struct {
        const char *n0, *n1;
        size_t l0;
        const char *msg;
    } cases[] = {
        {"a", "a", 0, "duplicate"},      {"", "b", 0, "empty name"},
        {"a\xFF", "b", 0, "not UTF-8"},  {"a\0b", "b", 3, "not UTF-8"},
        {"__metadata__", "b", 0, "reserved"}, {"\xED\xA0\x80", "b", 0, "not UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t[0].name = cases[i].n0;
        t[0].name_len = cases[i].l0;
        t[1].name = cases[i].n1;
        buf_init(&b);
        ck_assert_int_eq(safetensors_write(t, 2, NULL, 0, buf_write, &b, err, sizeof err),
                         FMT_E_INVALID);
        ck_assert_msg(strstr(err, cases[i].msg) != NULL, "case %zu: %s", i, err);
        ck_assert_uint_eq(b.len, 0); /* nothing written */
    }
    t[0].name = "a";
    t[0].name_len = 0;
    t[1].name = "b";
    t[1].data_bytes = 5;
    ck_assert_int_eq(safetensors_write(t, 2, NULL, 0, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    t[1].data_bytes = 4;
    t[1].dtype = 99;
    ck_assert_int_eq(safetensors_write(t, 2, NULL, 0, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    t[1].dtype = CNNZ_DT_BOOL;
    ck_assert_int_eq(safetensors_write(t, 2, NULL, 0, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    t[1].dtype = CNNZ_DT_U8;
    t[1].rank = CNNZ_MAX_RANK + 1;
    ck_assert_int_eq(safetensors_write(t, 2, NULL, 0, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    t[1].rank = 1;
    struct safetensors_meta m[2] = {{"k", "v"}, {"k", "w"}};
    ck_assert_int_eq(safetensors_write(t, 2, m, 2, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "duplicate metadata"));
    m[1].key = "\xC0\x80";
    ck_assert_int_eq(safetensors_write(t, 2, m, 2, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    /* Every failing write is reported, nothing leaks. */
    buf_init(&b);
    ck_assert_int_eq(safetensors_write(t, 2, m, 1, buf_write, &b, err, sizeof err), FMT_OK);
    long writes = b.writes;
    free(b.data);
    for (long k = 0; k <= writes; k++) {
        buf_init(&b);
        b.fail_at = k;
        int rc = safetensors_write(t, 2, m, 1, buf_write, &b, err, sizeof err);
        ck_assert_int_eq(rc, k < writes ? FMT_E_IO : FMT_OK);
        free(b.data);
    }
}
END_TEST

START_TEST(random_byte_flips)
{
    struct set s;
    set_make(&s, 99);
    struct buf b;
    buf_init(&b);
    char err[FMT_ERR_SIZE];
    struct safetensors_meta m = {"format", "pt"};
    ck_assert_int_eq(safetensors_write(s.t, 20, &m, 1, buf_write, &b, err, sizeof err), FMT_OK);
    uint64_t seed = 12345;
    struct safetensors_options o = {0};
    for (int it = 0; it < 3000; it++) {
        unsigned char *c = dup_exact(b.data, b.len);
        int flips = (int)(rng_next(&seed) % 3) + 1;
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(rng_next(&seed) % b.len);
            if (it % 2 == 0)
                at = (size_t)(rng_next(&seed) % (8 + b.data[0] + 256u * b.data[1]));
            c[at] ^= (unsigned char)(1u << (rng_next(&seed) % 8));
        }
        o.skip_unsupported = it % 3 == 0;
        struct safetensors_file *f;
        int rc = safetensors_parse(c, b.len, &o, &f, err, sizeof err);
        if (rc == FMT_OK) {
            for (size_t i = 0; i < f->count; i++) {
                ck_assert(f->tensors[i].data >= c && f->tensors[i].data_bytes <= b.len);
                ck_assert((size_t)(f->tensors[i].data - c) + f->tensors[i].data_bytes <= b.len);
            }
            safetensors_free(f);
        } else {
            ck_assert(rc == FMT_E_INVALID || rc == FMT_E_UNSUPPORTED);
            ck_assert(err[0] != '\0');
        }
        free(c);
    }
    free(b.data);
    set_free(&s);
}
END_TEST

Suite *suite_safetensors(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, roundtrip_every_dtype);
    tcase_add_test(tc, exact_bytes);
    tcase_add_test(tc, empty_file_and_metadata_only);
    tcase_add_test(tc, every_truncation_fails);
    tcase_add_test(tc, malformed_headers);
    tcase_add_test(tc, bool_values_checked);
    tcase_add_test(tc, header_length_checks);
    tcase_add_test(tc, skip_unsupported);
    tcase_add_test(tc, tensor_limit);
    tcase_add_test(tc, writer_rejects);
    tcase_add_test(tc, random_byte_flips);
    suite_add_tcase(s, tc);
    return s;
}
