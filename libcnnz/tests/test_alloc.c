/* suite_alloc: allocator hooks. A counting allocator sees every allocation
 * freed after close/free; failing the N-th allocation (for every N), or every
 * allocation from the N-th on, gives CNNZ_E_NOMEM and never a crash or leak;
 * a writer call that failed for memory can be retried. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

static void alloc_model(struct model *m, struct rng *r)
{
    model_mixed(m, r);
    uint64_t d[2] = {40, 50};
    model_add(m, r, "big", 0, CNNZ_DT_F32, CNNZ_REPR_AFFINE, CNNZ_DT_U16, 2, d, NULL);
    model_add(m, r, "bigw", 0, CNNZ_DT_F32, CNNZ_REPR_WIDEN, CNNZ_DT_BF16, 2, d, NULL);
}

/* Open (via how: 0 memory, 1 path, 2 FILE*), decode all, verify, close, with
 * the given allocator. Returns the first error; asserts it is NOMEM when
 * the allocator failed and that nothing is live afterwards. */
static int run_reader(const uint8_t *img, size_t n, const struct model *m, struct test_alloc *ta,
                      int how, const char *path, FILE *fp)
{
    struct cnnz_allocator h = test_alloc_hooks(ta);
    struct cnnz_open_options o = {NULL, &h, NULL};
    cnnz_reader *r = NULL;
    int err;
    if (how == 0)
        err = cnnz_reader_open_memory(&r, img, n, &o);
    else if (how == 1)
        err = cnnz_reader_open_path(&r, path, &o);
    else
        err = cnnz_reader_open_file(&r, fp, &o);
    int first = err;
    if (!err) {
        for (size_t i = 0; i < m->nt; i++) {
            uint8_t *dst = malloc(m->t[i].expect_size + 1);
            ck_assert_ptr_nonnull(dst);
            err = cnnz_reader_decode(r, i, dst, m->t[i].expect_size, NULL);
            if (!err && m->t[i].expect_size)
                ck_assert_mem_eq(dst, m->t[i].expect, m->t[i].expect_size);
            if (err && !first)
                first = err;
            free(dst);
        }
        err = cnnz_reader_verify(r, NULL);
        if (err && !first)
            first = err;
        cnnz_reader_close(r);
    } else {
        ck_assert_ptr_null(r);
    }
    ck_assert_msg(ta->live == 0, "%ld allocations live after close (how=%d, fail_at=%ld)",
                  ta->live, how, ta->fail_at);
    if (first)
        ck_assert_msg(first == CNNZ_E_NOMEM, "failing allocation %ld: %s (how=%d)", ta->fail_at,
                      cnnz_error_token(first), how);
    (void)img;
    return first;
}

static char *temp_path(const uint8_t *img, size_t n)
{
    char *path = strdup("/tmp/cnnz-test-XXXXXX");
    ck_assert_ptr_nonnull(path);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(img, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

START_TEST(test_counting_reader)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    alloc_model(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    char *path = temp_path(img, n);
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    for (int how = 0; how < 3; how++) {
        struct test_alloc ta;
        test_alloc_init(&ta, -1);
        ck_assert_int_eq(run_reader(img, n, &m, &ta, how, path, fp), 0);
        ck_assert_msg(ta.allocs > 0, "the reader never used the allocator (how=%d)", how);
        ck_assert_int_eq(ta.allocs, ta.frees);
    }
    fclose(fp);
    remove(path);
    free(path);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_failing_reader)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    alloc_model(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    char *path = temp_path(img, n);
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    for (int how = 0; how < 3; how++) {
        for (int sticky = 0; sticky < 2; sticky++) {
            for (long k = 0;; k++) {
                struct test_alloc ta;
                test_alloc_init(&ta, k);
                ta.fail_all_after = sticky;
                int err = run_reader(img, n, &m, &ta, how, path, fp);
                if (ta.allocs <= k) { /* the failure was never reached */
                    ck_assert_int_eq(err, 0);
                    break;
                }
                ck_assert_msg(err == CNNZ_E_NOMEM, "allocation %ld failed unnoticed (how=%d)", k,
                              how);
                ck_assert_int_lt(k, 100000);
            }
        }
    }
    fclose(fp);
    remove(path);
    free(path);
    free(img);
    model_free(&m);
}
END_TEST

/* The writer under a failing allocator. With sticky failure every call
 * after the first NOMEM may fail; with a single failure, the failed call is
 * retried once and must then succeed, and the file must be exactly the
 * model (a NOMEM leaves no half-added tensor or key behind). */
static int write_retrying(const struct model *m, cnnz_writer *w, int *retried)
{
    int err;
    for (size_t i = 0; i < m->nt; i++) {
        const struct ttensor *t = &m->t[i];
        struct cnnz_tensor_desc d;
        memset(&d, 0, sizeof d);
        d.name = t->name;
        d.name_len = t->name_len;
        d.dtype = t->dtype;
        d.rank = t->rank;
        d.dims = t->dims;
        d.repr = t->repr;
        d.symbol_dtype = t->symbol_dtype;
        d.scale = t->scale;
        d.offset = t->offset;
        d.coder = t->coder;
        err = cnnz_writer_add_tensor(w, &d, t->input, t->input_size);
        if (err == CNNZ_E_NOMEM) {
            *retried = 1;
            err = cnnz_writer_add_tensor(w, &d, t->input, t->input_size);
            ck_assert_msg(err == 0, "retrying add_tensor('%s') after NOMEM: %s", t->name,
                          cnnz_error_token(err));
        }
        if (err)
            return err;
    }
    for (size_t i = 0; i < m->nm; i++) {
        const struct tmeta *e = &m->m[i];
        for (int attempt = 0; attempt < 2; attempt++) {
            switch (e->type) {
            case CNNZ_META_STRING:
                err = cnnz_writer_meta_string(w, e->key, (const char *)e->bytes);
                break;
            case CNNZ_META_INT:
                err = cnnz_writer_meta_int(w, e->key, e->i);
                break;
            case CNNZ_META_FLOAT:
                err = cnnz_writer_meta_float(w, e->key, e->f);
                break;
            case CNNZ_META_BOOL:
                err = cnnz_writer_meta_bool(w, e->key, (int)e->i);
                break;
            default:
                err = cnnz_writer_meta_bytes(w, e->key, e->bytes, e->len);
                break;
            }
            if (err != CNNZ_E_NOMEM)
                break;
            ck_assert_int_eq(attempt, 0);
            *retried = 1;
        }
        ck_assert_msg(err == 0, "meta '%s' (after a retry?): %s", e->key, cnnz_error_token(err));
    }
    return cnnz_writer_finish(w);
}

static void failing_writer(const struct model *m, int retry)
{
    size_t n;
    uint8_t *want = model_file(m, &n);
    for (int sticky = 0; sticky < 2 - retry; sticky++) {
        for (long k = 0;; k++) {
            ck_assert_int_lt(k, 100000);
            struct test_alloc ta;
            test_alloc_init(&ta, k);
            ta.fail_all_after = sticky;
            struct cnnz_allocator h = test_alloc_hooks(&ta);
            struct cnnz_writer_options wo = {.allocator = &h};
            struct membuf b;
            membuf_init(&b);
            struct cnnz_sink s = membuf_sink(&b);
            cnnz_writer *w = NULL;
            int err = cnnz_writer_open(&w, &s, &wo);
            int retried = 0;
            if (err == 0) {
                err = retry ? write_retrying(m, w, &retried) : model_write_with(m, w);
                cnnz_writer_free(w);
            } else {
                ck_assert_ptr_null(w);
            }
            ck_assert_msg(ta.live == 0, "writer leaked %ld allocations (fail_at=%ld)", ta.live, k);
            if (ta.allocs <= k) {
                ck_assert_int_eq(err, 0);
                ck_assert_uint_eq(b.len, n);
                ck_assert_mem_eq(b.data, want, n);
                membuf_free(&b);
                break;
            }
            ck_assert_msg(err == 0 || err == CNNZ_E_NOMEM, "fail_at %ld: %s", k,
                          cnnz_error_token(err));
            if (err == 0) { /* single failure, retried: the exact file */
                ck_assert(retry);
                ck_assert_uint_eq(b.len, n);
                ck_assert_mem_eq(b.data, want, n);
            }
            membuf_free(&b);
        }
    }
    free(want);
}

START_TEST(test_failing_writer)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    alloc_model(&m, &r);
    failing_writer(&m, 0);
    model_free(&m);
}
END_TEST

START_TEST(test_writer_nomem_retry_tensor)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_init(&m);
    uint64_t d[1] = {5};
    model_add(&m, &r, "t0", 0, CNNZ_DT_F32, CNNZ_REPR_PLAIN, 0, 1, d, NULL);
    model_add(&m, &r, "t1", 0, CNNZ_DT_F32, CNNZ_REPR_WIDEN, CNNZ_DT_F16, 1, d, NULL);
    failing_writer(&m, 1);
    model_free(&m);
}
END_TEST

START_TEST(test_writer_nomem_retry_meta)
{
    struct model m;
    model_meta_only(&m);
    failing_writer(&m, 1);
    model_free(&m);
}
END_TEST

/* The pipe path of open_file reads the stream into memory through the
 * allocator; fail each allocation there too. */
START_TEST(test_failing_open_pipe)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    alloc_model(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    char *path = temp_path(img, n);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cat '%s'", path);
    for (long k = 0;; k++) {
        ck_assert_int_lt(k, 100000);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        struct test_alloc ta;
        test_alloc_init(&ta, k);
        int err = run_reader(img, n, &m, &ta, 2, NULL, p);
        pclose(p);
        if (ta.allocs <= k) {
            ck_assert_int_eq(err, 0);
            break;
        }
        ck_assert_int_eq(err, CNNZ_E_NOMEM);
    }
    remove(path);
    free(path);
    free(img);
    model_free(&m);
}
END_TEST

Suite *suite_alloc(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("hooks");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_counting_reader);
    tcase_add_test(tc, test_failing_reader);
    tcase_add_test(tc, test_failing_writer);
    tcase_add_test(tc, test_writer_nomem_retry_tensor);
    tcase_add_test(tc, test_writer_nomem_retry_meta);
    tcase_add_test(tc, test_failing_open_pipe);
    suite_add_tcase(s, tc);
    return s;
}
