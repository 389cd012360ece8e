/* suite_limits: struct cnnz_limits (cnnz.h, spec 8). A file that needs
 * exactly a limit opens and decodes; tightening any one field below what the
 * file needs gives CNNZ_E_LIMIT (never a format error); values above the
 * defaults act as the defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

struct needs {
    uint32_t tensors, name_bytes, rank, meta_entries;
    uint64_t dir_bytes, meta_bytes, tensor_bytes, stream_bytes;
};

static void measure(const struct model *m, const uint8_t *img, size_t n, struct needs *nd)
{
    memset(nd, 0, sizeof *nd);
    nd->tensors = (uint32_t)m->nt;
    nd->meta_entries = (uint32_t)m->nm;
    for (size_t i = 0; i < m->nt; i++) {
        const struct ttensor *t = &m->t[i];
        if (t->name_len > nd->name_bytes)
            nd->name_bytes = (uint32_t)t->name_len;
        if (t->rank > nd->rank)
            nd->rank = t->rank;
        if (t->expect_size > nd->tensor_bytes)
            nd->tensor_bytes = t->expect_size;
    }
    for (size_t i = 0; i < m->nm; i++)
        if (strlen(m->m[i].key) > nd->name_bytes)
            nd->name_bytes = (uint32_t)strlen(m->m[i].key);
    struct xs_file f;
    xs_parse(&f, img, n);
    nd->dir_bytes = get64(img + f.tdir_offset + 8);
    /* the stream limit bounds decoded and coded bytes of every stream */
    for (size_t i = 0; i < f.nt; i++)
        for (unsigned k = 0; k < f.t[i].stream_count; k++) {
            const struct xs_stream *s = &f.t[i].s[k];
            if (s->decoded_len > nd->stream_bytes)
                nd->stream_bytes = s->decoded_len;
            if (s->data_len > nd->stream_bytes)
                nd->stream_bytes = s->data_len;
        }
    long mi = xs_find_section(&f, "META");
    nd->meta_bytes = mi >= 0 ? f.sec[mi].body_len : 0;
    /* max_directory_bytes also bounds the names the directory expands to
     * (spec 5.3 front coding); in these models the body is the larger, so
     * it is what the file needs (test_expanded_names has the other case) */
    uint64_t names = 0;
    for (size_t i = 0; i < f.nt; i++)
        names += f.t[i].name_len + 1;
    ck_assert_uint_lt(names, nd->dir_bytes);
    xs_free(&f);
}

/* Open with limits and decode everything. Returns 0, or the one error seen
 * (asserting that every failure gives that same error). */
static int run_with(const uint8_t *img, size_t n, const struct cnnz_limits *l,
                    const struct model *expect)
{
    cnnz_reader *r = NULL;
    struct cnnz_where w;
    memset(&w, 0, sizeof w);
    struct cnnz_open_options o = {l, NULL, &w};
    int err = cnnz_reader_open_memory(&r, img, n, &o);
    if (err) {
        ck_assert_int_eq(w.err, err);
        return err;
    }
    int seen = 0;
    for (size_t i = 0; i < cnnz_reader_tensor_count(r); i++) {
        struct cnnz_tensor_info ti;
        ck_assert_int_eq(cnnz_reader_tensor_info(r, i, &ti), 0);
        uint8_t *dst = malloc(ti.decoded_bytes + 1);
        ck_assert_ptr_nonnull(dst);
        err = cnnz_reader_decode(r, i, dst, (size_t)ti.decoded_bytes, &w);
        if (err) {
            ck_assert_msg(!seen || seen == err, "mixed errors %s and %s", cnnz_error_token(seen),
                          cnnz_error_token(err));
            seen = err;
        } else if (ti.decoded_bytes) {
            ck_assert_mem_eq(dst, expect->t[i].expect, expect->t[i].expect_size);
        }
        free(dst);
        uint8_t *sd = malloc(ti.streams[0].decoded_bytes + 1);
        ck_assert_ptr_nonnull(sd);
        int serr = cnnz_reader_decode_stream(r, i, 0, sd, (size_t)ti.streams[0].decoded_bytes, NULL);
        if (serr) {
            ck_assert_msg(!seen || seen == serr, "mixed errors %s and %s",
                          cnnz_error_token(seen), cnnz_error_token(serr));
            seen = serr;
        }
        free(sd);
    }
    err = cnnz_reader_verify(r, NULL);
    if (err) {
        ck_assert_msg(!seen || seen == err, "verify: %s after %s", cnnz_error_token(err),
                      cnnz_error_token(seen));
        seen = err;
    }
    if (!seen)
        model_check(expect, r);
    cnnz_reader_close(r);
    return seen;
}

enum field { F_TENSORS, F_NAME, F_RANK, F_META, F_DIR, F_METAB, F_TENSORB, F_STREAMB, F_COUNT };
static const char *const field_names[] = {"max_tensors",         "max_name_bytes",
                                          "max_rank",            "max_meta_entries",
                                          "max_directory_bytes", "max_metadata_bytes",
                                          "max_tensor_bytes",    "max_stream_bytes"};

static void set_field(struct cnnz_limits *l, int f, uint64_t v)
{
    switch (f) {
    case F_TENSORS: l->max_tensors = (uint32_t)v; break;
    case F_NAME: l->max_name_bytes = (uint32_t)v; break;
    case F_RANK: l->max_rank = (uint32_t)v; break;
    case F_META: l->max_meta_entries = (uint32_t)v; break;
    case F_DIR: l->max_directory_bytes = v; break;
    case F_METAB: l->max_metadata_bytes = v; break;
    case F_TENSORB: l->max_tensor_bytes = v; break;
    default: l->max_stream_bytes = v; break;
    }
}

static uint64_t need_of(const struct needs *nd, int f)
{
    const uint64_t v[] = {nd->tensors,   nd->name_bytes, nd->rank,         nd->meta_entries,
                          nd->dir_bytes, nd->meta_bytes, nd->tensor_bytes, nd->stream_bytes};
    return v[f];
}

static void limits_model(struct model *m, struct rng *r)
{
    model_init(m);
    uint64_t d3[3] = {4, 5, 6}, d1[1] = {33}, d5[5] = {1, 2, 1, 2, 3};
    model_add(m, r, "short", 0, CNNZ_DT_F64, CNNZ_REPR_PLAIN, 0, 3, d3, NULL); /* 960 bytes */
    model_add(m, r, "a-rather-longer-tensor-name", 0, CNNZ_DT_F32, CNNZ_REPR_AFFINE, CNNZ_DT_U8, 1,
              d1, NULL);
    model_add(m, r, "\xE2\x82\xAC-rank5", 0, CNNZ_DT_F32, CNNZ_REPR_WIDEN, CNNZ_DT_F16, 5, d5,
              NULL);
    model_meta_string(m, CNNZ_META_PRODUCER, "test_limits");
    model_meta_int(m, "x", 1);
}

START_TEST(test_each_limit)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    limits_model(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct needs nd;
    measure(&m, img, n, &nd);
    struct cnnz_limits l;
    for (int f = 0; f < F_COUNT; f++) {
        uint64_t need = need_of(&nd, f);
        ck_assert_uint_gt(need, 0);
        cnnz_limits_default(&l);
        set_field(&l, f, need);
        int err = run_with(img, n, &l, &m);
        ck_assert_msg(err == 0, "%s = %llu (exactly what the file needs): %s", field_names[f],
                      (unsigned long long)need, cnnz_error_token(err));
        set_field(&l, f, need - 1);
        err = run_with(img, n, &l, &m);
        ck_assert_msg(err == CNNZ_E_LIMIT, "%s = need - 1: got %s, want CNNZ_E_LIMIT",
                      field_names[f], cnnz_error_token(err));
        set_field(&l, f, 0);
        err = run_with(img, n, &l, &m);
        ck_assert_msg(err == CNNZ_E_LIMIT, "%s = 0: got %s, want CNNZ_E_LIMIT", field_names[f],
                      cnnz_error_token(err));
    }
    /* every field exactly at the need at once */
    cnnz_limits_default(&l);
    for (int f = 0; f < F_COUNT; f++)
        set_field(&l, f, need_of(&nd, f));
    ck_assert_int_eq(run_with(img, n, &l, &m), 0);
    free(img);
    model_free(&m);
}
END_TEST

/* A metadata key longer than every tensor name is bound by max_name_bytes
 * too (spec 5.4 puts keys under the name limit). */
START_TEST(test_key_length_limit)
{
    struct model m;
    model_init(&m);
    uint64_t d[1] = {1};
    model_add(&m, NULL, "t", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d, "\x07");
    model_meta_int(&m, "a-forty-byte-key-......................x", 1);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct cnnz_limits l;
    cnnz_limits_default(&l);
    l.max_name_bytes = 40;
    ck_assert_int_eq(run_with(img, n, &l, &m), 0);
    l.max_name_bytes = 39;
    ck_assert_int_eq(run_with(img, n, &l, &m), CNNZ_E_LIMIT);
    free(img);
    model_free(&m);
}
END_TEST

/* spec 5.3: names share a prefix with the name before, so a small
 * directory can expand to much larger names. max_directory_bytes bounds
 * those too (cnnz.h): 300 entries of a few bytes each, naming tensors of
 * 4000-byte names, need more than the directory body. */
START_TEST(test_expanded_names)
{
    struct model m;
    model_init(&m);
    enum { N = 300, PREFIX = 4000 };
    char *name = malloc(PREFIX + 8);
    ck_assert_ptr_nonnull(name);
    memset(name, 'p', PREFIX);
    uint64_t d[1] = {0};
    uint64_t names = 0;
    for (unsigned i = 0; i < N; i++) {
        int k = snprintf(name + PREFIX, 8, "%03u", i);
        model_add(&m, NULL, name, PREFIX + (size_t)k, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d, "");
        names += PREFIX + (uint64_t)k;
    }
    free(name);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct xs_file f;
    xs_parse(&f, img, n);
    const uint64_t body = get64(img + f.tdir_offset + 8);
    for (size_t i = 1; i < f.nt; i++)
        ck_assert_uint_ge(f.t[i].name_shared, PREFIX);
    xs_free(&f);
    ck_assert_uint_lt(body, 16 * 1024);
    ck_assert_uint_gt(names, 64 * body);

    struct cnnz_limits l;
    cnnz_limits_default(&l);
    ck_assert_int_eq(run_with(img, n, &l, &m), 0);
    /* enough for the body, not for the names */
    l.max_directory_bytes = body;
    ck_assert_int_eq(run_with(img, n, &l, &m), CNNZ_E_LIMIT);
    l.max_directory_bytes = names - 1;
    ck_assert_int_eq(run_with(img, n, &l, &m), CNNZ_E_LIMIT);
    /* enough for both (whether they count together or apart) */
    l.max_directory_bytes = body + names + N;
    ck_assert_int_eq(run_with(img, n, &l, &m), 0);
    /* every name is over 4000 bytes though each suffix is 3 */
    cnnz_limits_default(&l);
    l.max_name_bytes = PREFIX + 2;
    ck_assert_int_eq(run_with(img, n, &l, &m), CNNZ_E_LIMIT);
    l.max_name_bytes = PREFIX + 3;
    ck_assert_int_eq(run_with(img, n, &l, &m), 0);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_limits_above_default)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    limits_model(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct cnnz_limits l;
    memset(&l, 0xFF, sizeof l);
    ck_assert_int_eq(run_with(img, n, &l, &m), 0);
    cnnz_limits_default(&l);
    ck_assert_int_eq(run_with(img, n, &l, &m), 0);
    ck_assert_int_eq(run_with(img, n, NULL, &m), 0);
    free(img);
    model_free(&m);
}
END_TEST

/* Random models, random tightened limits: the outcome is exactly OK when
 * every need is met, else CNNZ_E_LIMIT. */
START_TEST(test_random_limits)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model_opts o = {6, 6, 400, 5, 24};
    unsigned iters = test_iters(300);
    for (unsigned it = 0; it < iters; it++) {
        struct model m;
        model_init(&m);
        model_random(&m, &r, &o);
        size_t n;
        uint8_t *img = model_file(&m, &n);
        struct needs nd;
        measure(&m, img, n, &nd);
        struct cnnz_limits l;
        cnnz_limits_default(&l);
        int over = 0;
        for (int f = 0; f < F_COUNT; f++) {
            if (rng_below(&r, 4))
                continue;
            uint64_t need = need_of(&nd, f);
            uint64_t v = need + 2 > 3 ? need - 2 + rng_below(&r, 5) : rng_below(&r, 4);
            set_field(&l, f, v);
            if (v < need)
                over = 1;
        }
        int err = run_with(img, n, &l, &m);
        ck_assert_msg(err == (over ? CNNZ_E_LIMIT : 0), "iteration %u: %s (over=%d)", it,
                      cnnz_error_token(err), over);
        free(img);
        model_free(&m);
    }
}
END_TEST

Suite *suite_limits(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_each_limit);
    tcase_add_test(tc, test_key_length_limit);
    tcase_add_test(tc, test_expanded_names);
    tcase_add_test(tc, test_limits_above_default);
    tcase_add_test(tc, test_random_limits);
    suite_add_tcase(s, tc);
    return s;
}
