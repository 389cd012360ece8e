/* suite_open: the open paths (memory, path via mmap, seekable FILE*, pipes)
 * agree; concurrent decoding from one reader; cnnz_where on a damaged
 * payload and its cnnz_where_format text. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"

static char *temp_file(const uint8_t *img, size_t n)
{
    char *path = strdup("/tmp/cnnz-open-XXXXXX");
    ck_assert_ptr_nonnull(path);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(fd, img + done, n - done);
        ck_assert_int_gt(k, 0);
        done += (size_t)k;
    }
    ck_assert_int_eq(close(fd), 0);
    return path;
}

static void open_model(struct model *m, struct rng *r)
{
    struct model_opts o = {8, 4, 5000, 6, 32};
    model_mixed(m, r);
    model_random(m, r, &o);
}

START_TEST(test_open_path)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    open_model(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    char *path = temp_file(img, n);
    cnnz_reader *rd = NULL;
    int err = cnnz_reader_open_path(&rd, path, NULL);
    ck_assert_msg(err == 0, "open_path: %s", cnnz_error_token(err));
    ck_assert_uint_eq(cnnz_reader_file_size(rd), n);
    model_check(&m, rd);
    cnnz_reader_close(rd);
    remove(path);
    free(path);

    /* errors: missing file, a directory, an empty file, a truncated file */
    rd = NULL;
    ck_assert_int_eq(cnnz_reader_open_path(&rd, "/nonexistent/cnnz/file.cnnz", NULL), CNNZ_E_IO);
    ck_assert_ptr_null(rd);
    ck_assert_int_ne(cnnz_reader_open_path(&rd, "/tmp", NULL), 0);
    ck_assert_ptr_null(rd);
    ck_assert_int_eq(cnnz_reader_open_path(&rd, NULL, NULL), CNNZ_E_ARG);
    path = temp_file(img, 0);
    ck_assert_int_eq(cnnz_reader_open_path(&rd, path, NULL), CNNZ_E_TRUNCATED);
    remove(path);
    free(path);
    path = temp_file(img, n - 1);
    ck_assert_int_ne(cnnz_reader_open_path(&rd, path, NULL), 0);
    ck_assert_ptr_null(rd);
    remove(path);
    free(path);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_open_file_seekable)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    open_model(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(img, 1, n, f), n);
    ck_assert_int_eq(fflush(f), 0);
    /* the FILE position does not matter (the reader uses pread) */
    ck_assert_int_eq(fseek(f, 17, SEEK_SET), 0);
    cnnz_reader *rd = NULL;
    int err = cnnz_reader_open_file(&rd, f, NULL);
    ck_assert_msg(err == 0, "open_file: %s", cnnz_error_token(err));
    ck_assert_uint_eq(cnnz_reader_file_size(rd), n);
    ck_assert_int_eq(fseek(f, 3, SEEK_SET), 0);
    model_check(&m, rd);
    cnnz_reader_close(rd);
    ck_assert_int_eq(cnnz_reader_open_file(&rd, NULL, NULL), CNNZ_E_ARG);
    fclose(f);

    /* an empty seekable file */
    f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(cnnz_reader_open_file(&rd, f, NULL), CNNZ_E_TRUNCATED);
    /* the same FILE once it holds the image */
    ck_assert_uint_eq(fwrite(img, 1, n, f), n);
    fflush(f);
    ck_assert_int_eq(cnnz_reader_open_file(&rd, f, NULL), 0);
    cnnz_reader_close(rd);
    fclose(f);
    free(img);
    model_free(&m);
}
END_TEST

struct feeder {
    int fd;
    const uint8_t *p;
    size_t n;
};

static void *feed_main(void *arg)
{
    struct feeder *fe = arg;
    size_t done = 0;
    while (done < fe->n) {
        ssize_t k = write(fe->fd, fe->p + done, fe->n - done > 777 ? 777 : fe->n - done);
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    close(fe->fd);
    return NULL;
}

START_TEST(test_open_file_pipe)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    open_model(&m, &r);
    model_add_random(&m, &r, CNNZ_REPR_PLAIN, CNNZ_DT_I32, 1, 40000, 8); /* > pipe buffer */
    size_t n;
    uint8_t *img = model_file(&m, &n);

    /* pipe() + fdopen, fed in small writes by a thread */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    struct feeder fe = {fds[1], img, n};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, feed_main, &fe), 0);
    FILE *f = fdopen(fds[0], "rb");
    ck_assert_ptr_nonnull(f);
    cnnz_reader *rd = NULL;
    int err = cnnz_reader_open_file(&rd, f, NULL);
    pthread_join(th, NULL);
    ck_assert_msg(err == 0, "open_file(pipe): %s", cnnz_error_token(err));
    fclose(f); /* the reader holds its own copy of a non-seekable stream */
    ck_assert_uint_eq(cnnz_reader_file_size(rd), n);
    model_check(&m, rd);
    cnnz_reader_close(rd);

    /* popen */
    char *path = temp_file(img, n);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cat '%s'", path);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(cnnz_reader_open_file(&rd, f, NULL), 0);
    model_check(&m, rd);
    cnnz_reader_close(rd);
    pclose(f);

    /* a truncated pipe */
    snprintf(cmd, sizeof cmd, "head -c %zu '%s'", n - 1, path);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    rd = NULL;
    ck_assert_int_ne(cnnz_reader_open_file(&rd, f, NULL), 0);
    ck_assert_ptr_null(rd);
    pclose(f);
    /* an empty pipe */
    f = popen("true", "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(cnnz_reader_open_file(&rd, f, NULL), CNNZ_E_TRUNCATED);
    pclose(f);
    remove(path);
    free(path);
    free(img);
    model_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- threads */

struct worker {
    const cnnz_reader *r;
    const struct model *m;
    unsigned rounds;
    unsigned seed;
    int bad;
    char msg[200];
};

static void *worker_main(void *arg)
{
    struct worker *wk = arg;
    size_t nt = wk->m->nt;
    for (unsigned round = 0; round < wk->rounds && !wk->bad; round++) {
        for (size_t k = 0; k < nt; k++) {
            size_t i = (k + wk->seed * 7 + round) % nt;
            const struct ttensor *t = &wk->m->t[i];
            uint8_t *dst = malloc(t->expect_size + 1);
            if (!dst) {
                wk->bad = 1;
                break;
            }
            dst[t->expect_size] = 0xEE;
            int err = cnnz_reader_decode(wk->r, i, dst, t->expect_size, NULL);
            if (err || (t->expect_size && memcmp(dst, t->expect, t->expect_size) != 0) ||
                dst[t->expect_size] != 0xEE) {
                snprintf(wk->msg, sizeof wk->msg, "thread %u: tensor %zu: %s", wk->seed, i,
                         err ? cnnz_error_token(err) : "wrong data");
                wk->bad = 1;
            }
            free(dst);
            struct cnnz_tensor_info ti;
            size_t idx;
            if (cnnz_reader_tensor_info(wk->r, i, &ti) || cnnz_reader_find(wk->r, t->name, &idx) ||
                idx != i) {
                snprintf(wk->msg, sizeof wk->msg, "thread %u: info/find %zu", wk->seed, i);
                wk->bad = 1;
            }
        }
        if (round % 4 == 0 && cnnz_reader_verify(wk->r, NULL) != 0) {
            snprintf(wk->msg, sizeof wk->msg, "thread %u: verify failed", wk->seed);
            wk->bad = 1;
        }
    }
    return NULL;
}

static void run_threads(const cnnz_reader *r, const struct model *m)
{
    enum { NTH = 4 };
    pthread_t th[NTH];
    struct worker wk[NTH];
    for (unsigned i = 0; i < NTH; i++) {
        memset(&wk[i], 0, sizeof wk[i]);
        wk[i].r = r;
        wk[i].m = m;
        wk[i].rounds = test_iters(40);
        wk[i].seed = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &wk[i]), 0);
    }
    for (unsigned i = 0; i < NTH; i++)
        pthread_join(th[i], NULL);
    for (unsigned i = 0; i < NTH; i++)
        ck_assert_msg(!wk[i].bad, "%s", wk[i].msg);
}

START_TEST(test_threads)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    open_model(&m, &r);
    ck_assert_uint_gt(m.nt, 0);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    cnnz_reader *rd;
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, NULL), 0);
    run_threads(rd, &m);
    cnnz_reader_close(rd);
    char *path = temp_file(img, n);
    ck_assert_int_eq(cnnz_reader_open_path(&rd, path, NULL), 0);
    run_threads(rd, &m);
    cnnz_reader_close(rd);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(cnnz_reader_open_file(&rd, f, NULL), 0);
    run_threads(rd, &m);
    cnnz_reader_close(rd);
    fclose(f);
    remove(path);
    free(path);
    free(img);
    model_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- where */

START_TEST(test_where_payload_checksum)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_init(&m);
    /* conv1.weight is large enough (random u16 symbols, 80 KB) for a TDAT
     * section of its own (the writer groups small tensors, spec 4), so the
     * small tensors around it still decode */
    uint64_t d[1] = {40000}, s[1] = {4};
    model_add(&m, &r, "first", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, s, NULL);
    model_add(&m, &r, "conv1.weight", 0, CNNZ_DT_F32, CNNZ_REPR_AFFINE, CNNZ_DT_U16, 1, d, NULL);
    model_add(&m, &r, "last", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, s, NULL);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    cnnz_reader *rd;
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, NULL), 0);
    struct cnnz_tensor_info ti;
    ck_assert_int_eq(cnnz_reader_tensor_info(rd, 1, &ti), 0);
    uint64_t so = ti.streams[0].offset, sl = ti.streams[0].coded_bytes;
    cnnz_reader_close(rd);
    img[so + 4096] ^= 0x10; /* a payload byte of tensor 1 */

    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, NULL), 0); /* payloads not read */
    uint8_t *dst = malloc(ti.decoded_bytes);
    ck_assert_ptr_nonnull(dst);
    struct cnnz_where w;
    memset(&w, 0, sizeof w);
    ck_assert_int_eq(cnnz_reader_decode(rd, 1, dst, (size_t)ti.decoded_bytes, &w), CNNZ_E_CHECKSUM);
    ck_assert_int_eq(w.err, CNNZ_E_CHECKSUM);
    ck_assert_int_eq(w.tensor, 1);
    /* the section checksum (spec 4) right after the last stream */
    ck_assert_int_eq(w.stream, -1);
    ck_assert_msg(w.offset >= (int64_t)(so + sl) && w.offset < (int64_t)(so + sl + 8 + 64),
                  "where.offset %lld not at the checksum after [%llu, %llu)", (long long)w.offset,
                  (unsigned long long)so, (unsigned long long)(so + sl));
    ck_assert_ptr_nonnull(w.what);
    char buf[512];
    cnnz_where_format(rd, &w, buf, sizeof buf);
    ck_assert_msg(strstr(buf, "conv1.weight") != NULL, "where text lacks the name: %s", buf);
    ck_assert_msg(strstr(buf, cnnz_strerror(CNNZ_E_CHECKSUM)) != NULL, "where text: %s", buf);
    char off[32];
    snprintf(off, sizeof off, "%lld", (long long)w.offset);
    ck_assert_msg(strstr(buf, off) != NULL, "where text lacks the offset: %s", buf);
    /* decode_stream and verify report the same place; other tensors decode */
    memset(&w, 0, sizeof w);
    ck_assert_int_eq(cnnz_reader_decode_stream(rd, 1, 0, dst, (size_t)sl, &w), CNNZ_E_CHECKSUM);
    ck_assert_int_eq(w.tensor, 1);
    ck_assert_int_eq(w.stream, -1);
    memset(&w, 0, sizeof w);
    ck_assert_int_eq(cnnz_reader_verify(rd, &w), CNNZ_E_CHECKSUM);
    ck_assert_int_eq(w.tensor, 1);
    ck_assert_int_eq(w.stream, -1);
    uint8_t small[4];
    ck_assert_int_eq(cnnz_reader_decode(rd, 0, small, 4, NULL), 0);
    ck_assert_mem_eq(small, m.t[0].expect, 4);
    ck_assert_int_eq(cnnz_reader_decode(rd, 2, small, 4, NULL), 0);
    ck_assert_mem_eq(small, m.t[2].expect, 4);
    free(dst);
    cnnz_reader_close(rd);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_where_open_failures)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_mixed(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct cnnz_where w;
    struct cnnz_open_options o = {NULL, NULL, &w};
    cnnz_reader *rd = NULL;
    char buf[256];
    /* header checksum */
    img[20] ^= 1;
    memset(&w, 0, sizeof w);
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, &o), CNNZ_E_CHECKSUM);
    ck_assert_int_eq(w.err, CNNZ_E_CHECKSUM);
    ck_assert_int_eq(w.tensor, -1);
    ck_assert_int_eq(w.stream, -1);
    ck_assert_ptr_nonnull(w.what);
    cnnz_where_format(NULL, &w, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, cnnz_strerror(CNNZ_E_CHECKSUM)));
    img[20] ^= 1;
    /* signature */
    img[0] = 'P';
    memset(&w, 0, sizeof w);
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, &o), CNNZ_E_SIGNATURE);
    ck_assert_int_eq(w.err, CNNZ_E_SIGNATURE);
    ck_assert_ptr_nonnull(w.what);
    img[0] = 0x89;
    /* end signature */
    img[n - 1] ^= 0xFF;
    memset(&w, 0, sizeof w);
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, &o), CNNZ_E_TRUNCATED);
    ck_assert_int_eq(w.err, CNNZ_E_TRUNCATED);
    img[n - 1] ^= 0xFF;
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, &o), 0);
    cnnz_reader_close(rd);
    free(img);
    model_free(&m);
}
END_TEST

Suite *suite_open(void)
{
    Suite *s = suite_create("open");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_open_path);
    tcase_add_test(tc, test_open_file_seekable);
    tcase_add_test(tc, test_open_file_pipe);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_where_payload_checksum);
    tcase_add_test(tc, test_where_open_failures);
    suite_add_tcase(s, tc);
    return s;
}
