/* suite_roundtrip: writer -> reader round trips. Seeded random models
 * (every repr x dtype x registered coder, ranks 0..8 and 32, zero dims,
 * unicode names, metadata of every type), deterministic output, sequential
 * sinks (a real pipe, a FILE*), and failing sinks. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"

START_TEST(test_random_models)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model_opts o = {12, 8, 3000, 10, 48};
    unsigned iters = test_iters(150);
    for (unsigned it = 0; it < iters; it++) {
        struct model m;
        model_init(&m);
        model_random(&m, &r, &o);
        size_t n, n2;
        uint8_t *img = model_file(&m, &n);
        model_check_image(&m, img, n);
        /* deterministic: the same calls give the same bytes */
        uint8_t *img2 = model_file(&m, &n2);
        ck_assert_uint_eq(n, n2);
        ck_assert_mem_eq(img, img2, n);
        free(img2);
        free(img);
        model_free(&m);
    }
}
END_TEST

/* Every representation x dtype x coder, a few shapes each. */
START_TEST(test_every_repr_dtype_coder)
{
    struct rng r;
    rng_init(&r, __func__);
    static const struct {
        int repr, dtype, symdt;
    } combos[] = {
        {CNNZ_REPR_AFFINE, CNNZ_DT_F32, CNNZ_DT_U8},  {CNNZ_REPR_AFFINE, CNNZ_DT_F32, CNNZ_DT_U16},
        {CNNZ_REPR_WIDEN, CNNZ_DT_F32, CNNZ_DT_F16},  {CNNZ_REPR_WIDEN, CNNZ_DT_F32, CNNZ_DT_BF16},
        {CNNZ_REPR_PLANES, CNNZ_DT_F32, 0},           {CNNZ_REPR_PLANES, CNNZ_DT_I32, 0},
        {CNNZ_REPR_PLANES, CNNZ_DT_F64, 0},           {CNNZ_REPR_PLANES, CNNZ_DT_U64, 0},
        {CNNZ_REPR_HAM, CNNZ_DT_F32, CNNZ_DT_U8},     {CNNZ_REPR_HAM, CNNZ_DT_F16, CNNZ_DT_U16},
        {CNNZ_REPR_HAM, CNNZ_DT_BOOL, CNNZ_DT_U8},    {CNNZ_REPR_HAM, CNNZ_DT_F64, CNNZ_DT_U16},
        {CNNZ_REPR_SHAM, CNNZ_DT_F32, CNNZ_DT_U8},    {CNNZ_REPR_SHAM, CNNZ_DT_I8, CNNZ_DT_U16},
        {CNNZ_REPR_SHAM, CNNZ_DT_BOOL, CNNZ_DT_U8},   {CNNZ_REPR_SHAM, CNNZ_DT_U64, CNNZ_DT_U8},
    };
    const int ncombos = (int)(sizeof combos / sizeof combos[0]);
    static const uint64_t shapes[][3] = {{0, 0, 0}, {1, 1, 0}, {1, 0, 0}, {1, 97, 0},
                                         {2, 5, 13}, {2, 0, 9}, {2, 1000, 1}, {3, 3, 0}};
    struct model m;
    model_init(&m);
    int k = 0;
    for (int coder = CNNZ_CODER_AUTO; coder < 256; coder++) {
        if (coder != CNNZ_CODER_AUTO && !cnnz_coder_name(coder))
            continue;
        for (int c = -13; c < ncombos; c++) {
            int repr = c < 0 ? CNNZ_REPR_PLAIN : combos[c].repr;
            int dtype = c < 0 ? -c : combos[c].dtype;
            int symdt = c < 0 ? 0 : combos[c].symdt;
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                uint64_t dims[3] = {shapes[s][1], shapes[s][2], 4};
                char name[64];
                snprintf(name, sizeof name, "%s/%s/%s/%d",
                         coder == CNNZ_CODER_AUTO ? "auto" : cnnz_coder_name(coder),
                         cnnz_repr_name(repr), cnnz_dtype_name(dtype), k++);
                struct ttensor *t = model_add(&m, &r, name, 0, dtype, repr, symdt,
                                              (unsigned)shapes[s][0], dims, NULL);
                t->coder = coder;
            }
        }
    }
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    free(img);
    model_free(&m);
}
END_TEST

/* sHAM blocks (spec 6.7): explicit block sizes up to the 127-block limit,
 * tensors big enough that verify rebuilds them in many chunks (the cursor),
 * and a block count over the limit rejected by the writer. */
START_TEST(test_sham_blocks)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_init(&m);
    static const struct {
        uint64_t rows, cols, block_rows;
    } cases[] = {{100, 7, 1}, {127, 3, 1}, {5, 1, 2}, {300, 1000, 7}, {1000, 300, 0},
                 {1, 200000, 1}, {9, 9, 100}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int coder = CNNZ_CODER_AUTO; coder < 256; coder++) {
            if (coder != CNNZ_CODER_AUTO && !cnnz_coder_name(coder))
                continue;
            char name[64];
            snprintf(name, sizeof name, "sham/%zu/%d", i, coder);
            uint64_t dims[2] = {cases[i].rows, cases[i].cols};
            struct ttensor *t = model_add(&m, &r, name, 0, CNNZ_DT_F32, CNNZ_REPR_SHAM,
                                          CNNZ_DT_U8, 2, dims, NULL);
            t->block_rows = cases[i].block_rows;
            t->coder = coder;
        }
    }
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    cnnz_reader *rd = NULL;
    ck_assert_int_eq(cnnz_reader_open_memory(&rd, img, n, NULL), 0);
    ck_assert_int_eq(cnnz_reader_verify(rd, NULL), 0);
    for (size_t i = 0; i < m.nt; i++) { /* indices come back as written */
        uint8_t *ix = malloc(m.t[i].input_size + 1);
        ck_assert_ptr_nonnull(ix);
        ck_assert_int_eq(cnnz_reader_decode_indices(rd, i, ix, m.t[i].input_size, NULL), 0);
        if (m.t[i].input_size)
            ck_assert_mem_eq(ix, m.t[i].input, m.t[i].input_size);
        free(ix);
    }
    struct cnnz_tensor_info ti;
    ck_assert_int_eq(cnnz_reader_tensor_info(rd, 0, &ti), 0);
    ck_assert_uint_eq(ti.repr, CNNZ_REPR_SHAM);
    ck_assert_uint_eq(ti.block_rows, 1);
    ck_assert_uint_eq(ti.stream_count, 1 + 2 * 100);
    cnnz_reader_close(rd);
    free(img);
    model_free(&m);

    /* 128 blocks: one too many */
    model_init(&m);
    uint64_t dims[2] = {128, 2};
    struct ttensor *t = model_add(&m, &r, "over", 0, CNNZ_DT_F32, CNNZ_REPR_SHAM, CNNZ_DT_U8, 2,
                                  dims, NULL);
    t->block_rows = 1;
    struct membuf b;
    membuf_init(&b);
    struct cnnz_sink s = membuf_sink(&b);
    cnnz_writer *w = NULL;
    ck_assert_int_eq(cnnz_writer_open(&w, &s, NULL), 0);
    ck_assert_int_eq(model_write_with(&m, w), CNNZ_E_REPR);
    cnnz_writer_free(w);
    membuf_free(&b);
    model_free(&m);
}
END_TEST

/* The worked example of spec 6.7, stream by stream. */
START_TEST(test_sham_spec_example)
{
    static const float cb[3] = {0.0f, 0.5f, -1.0f};
    static const uint8_t idx[6] = {0, 2, 0, 0, 0, 1};
    uint64_t dims[2] = {2, 3};
    struct cnnz_tensor_desc d = {.name = "w", .dtype = CNNZ_DT_F32, .rank = 2, .dims = dims,
                                 .repr = CNNZ_REPR_SHAM, .symbol_dtype = CNNZ_DT_U8,
                                 .coder = CNNZ_CODER_RAW, .codebook = cb, .codebook_size = 3,
                                 .block_rows = 1};
    struct membuf b;
    membuf_init(&b);
    struct cnnz_sink s = membuf_sink(&b);
    cnnz_writer *w = NULL;
    ck_assert_int_eq(cnnz_writer_open(&w, &s, NULL), 0);
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &d, idx, sizeof idx), 0);
    ck_assert_int_eq(cnnz_writer_finish(w), 0);
    cnnz_writer_free(w);
    cnnz_reader *r = NULL;
    ck_assert_int_eq(cnnz_reader_open_memory(&r, b.data, b.len, NULL), 0);
    struct cnnz_tensor_info ti;
    ck_assert_int_eq(cnnz_reader_tensor_info(r, 0, &ti), 0);
    ck_assert_uint_eq(ti.stream_count, 5);
    static const uint8_t want_cb[12] = {0, 0, 0, 0, 0, 0, 0, 0x3F, 0, 0, 0x80, 0xBF};
    static const uint8_t want[4] = {1, 2, 2, 1}; /* runs 0, symbols 0, runs 1, symbols 1 */
    uint8_t got[12];
    ck_assert_int_eq(cnnz_reader_decode_stream(r, 0, 0, got, sizeof got, NULL), 0);
    ck_assert_mem_eq(got, want_cb, 12);
    for (unsigned k = 1; k < 5; k++) {
        ck_assert_uint_eq(ti.streams[k].decoded_bytes, 1);
        ck_assert_int_eq(ti.streams[k].role, k % 2 ? CNNZ_ROLE_RUNS : CNNZ_ROLE_SYMBOLS);
        ck_assert_int_eq(cnnz_reader_decode_stream(r, 0, k, got, 1, NULL), 0);
        ck_assert_uint_eq(got[0], want[k - 1]);
    }
    float out[6];
    static const float expect[6] = {0, -1, 0, 0, 0, 0.5f};
    ck_assert_int_eq(cnnz_reader_decode(r, 0, out, sizeof out, NULL), 0);
    ck_assert_mem_eq(out, expect, sizeof out);
    /* the dense indices back, unstored elements as entry 0 (the zero) */
    uint8_t ix[7];
    memset(ix, 0xEE, sizeof ix);
    ck_assert_int_eq(cnnz_reader_decode_indices(r, 0, ix, 6, NULL), 0);
    ck_assert_mem_eq(ix, idx, 6);
    ck_assert_uint_eq(ix[6], 0xEE);
    ck_assert_int_eq(cnnz_reader_decode_indices(r, 0, ix, 5, NULL), CNNZ_E_BUFFER);
    cnnz_reader_close(r);
    membuf_free(&b);
}
END_TEST

START_TEST(test_max_rank)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_init(&m);
    uint64_t dims[CNNZ_MAX_RANK];
    for (unsigned i = 0; i < CNNZ_MAX_RANK; i++)
        dims[i] = (i % 7 == 3) ? 2 : 1;
    model_add(&m, &r, "rank32", 0, CNNZ_DT_I16, CNNZ_REPR_PLAIN, 0, CNNZ_MAX_RANK, dims, NULL);
    model_add(&m, &r, "rank32a", 0, CNNZ_DT_F32, CNNZ_REPR_AFFINE, CNNZ_DT_U16, CNNZ_MAX_RANK,
              dims, NULL);
    dims[31] = 0;
    dims[0] = UINT64_C(1) << 40; /* zero elements: huge dims are fine */
    model_add(&m, &r, "rank32zero", 0, CNNZ_DT_U64, CNNZ_REPR_PLAIN, 0, CNNZ_MAX_RANK, dims, NULL);
    uint64_t big[2] = {UINT64_MAX, 0};
    model_add(&m, &r, "maxdim-zero", 0, CNNZ_DT_F64, CNNZ_REPR_PLAIN, 0, 2, big, NULL);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_names)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_init(&m);
    uint64_t d[1] = {3};
    uint8_t *name = malloc(CNNZ_MAX_NAME_BYTES + 1);
    ck_assert_ptr_nonnull(name);
    /* exactly the maximum, ASCII and multi-byte */
    memset(name, 'a', CNNZ_MAX_NAME_BYTES);
    model_add(&m, &r, (const char *)name, CNNZ_MAX_NAME_BYTES, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1,
              d, NULL);
    for (int k = 0; k < 4; k++) {
        rand_utf8(&r, name, CNNZ_MAX_NAME_BYTES);
        model_add(&m, &r, (const char *)name, CNNZ_MAX_NAME_BYTES, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0,
                  1, d, NULL);
    }
    /* 4-byte sequences only, up to the limit: 1024 x U+10FFFF */
    for (size_t i = 0; i < CNNZ_MAX_NAME_BYTES; i += 4)
        utf8_put(name + i, 0x10FFFF);
    model_add(&m, &r, (const char *)name, CNNZ_MAX_NAME_BYTES, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1,
              d, NULL);
    /* boundary code points */
    static const char *const edge[] = {"\x01", "\x7F", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80",
                                       "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF",
                                       "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "a b/c.d:e"};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        model_add(&m, &r, edge[i], 0, CNNZ_DT_I8, CNNZ_REPR_PLAIN, 0, 1, d, NULL);
    /* names that differ only in the last byte, or are prefixes of others */
    model_add(&m, &r, "w", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d, NULL);
    model_add(&m, &r, "w0", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d, NULL);
    model_add(&m, &r, "w1", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d, NULL);
    /* NFC vs NFD forms are different names (spec 5.5: no normalization) */
    model_add(&m, &r, "\xC3\xA9", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d, NULL);
    model_add(&m, &r, "e\xCC\x81", 0, CNNZ_DT_U8, CNNZ_REPR_PLAIN, 0, 1, d, NULL);
    free(name);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_many_tensors)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_init(&m);
    unsigned count = test_iters(3000);
    for (unsigned i = 0; i < count; i++)
        model_add_random(&m, &r, -1, 0, 2, 6, 12);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_metadata_every_type)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_meta_only(&m);
    model_meta_string(&m, CNNZ_META_SOURCE_FORMAT, "safetensors");
    model_meta_string(&m, CNNZ_META_LICENSE, "Apache-2.0");
    model_meta_string(&m, CNNZ_META_PRODUCER, "test_roundtrip");
    model_meta_int(&m, "int.min", INT64_MIN);
    model_meta_int(&m, "int.max", INT64_MAX);
    model_meta_float(&m, "f.negzero", -0.0);
    model_meta_float(&m, "f.inf", -1.0 / 0.0);
    model_meta_float(&m, "f.denorm", 0x1p-1074);
    double nan;
    uint64_t nanbits = UINT64_C(0xFFF4000000000123);
    memcpy(&nan, &nanbits, sizeof nan);
    model_meta_float(&m, "f.nan", nan);
    /* a key of exactly the maximum length */
    char *key = malloc(CNNZ_MAX_NAME_BYTES + 1);
    ck_assert_ptr_nonnull(key);
    rand_utf8(&r, (uint8_t *)key, CNNZ_MAX_NAME_BYTES);
    key[CNNZ_MAX_NAME_BYTES] = 0;
    model_meta_bool(&m, key, 1);
    free(key);
    /* a long string and a long blob */
    size_t big = 100000;
    uint8_t *v = malloc(big + 1);
    ck_assert_ptr_nonnull(v);
    rand_utf8(&r, v, big);
    v[big] = 0;
    model_meta_string(&m, "long", (const char *)v);
    rng_bytes(&r, v, big);
    model_meta_bytes(&m, "blob.long", v, big);
    free(v);
    uint64_t d[1] = {2};
    model_add(&m, &r, "t", 0, CNNZ_DT_F32, CNNZ_REPR_PLAIN, 0, 1, d, NULL);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_many_meta)
{
    struct model m;
    model_init(&m);
    unsigned count = test_iters(2000);
    if (count > CNNZ_MAX_META_ENTRIES)
        count = CNNZ_MAX_META_ENTRIES;
    for (unsigned i = 0; i < count; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%u", i);
        model_meta_int(&m, key, (int64_t)i * 7919);
    }
    size_t n;
    uint8_t *img = model_file(&m, &n);
    model_check_image(&m, img, n);
    free(img);
    model_free(&m);
}
END_TEST

START_TEST(test_empty_file)
{
    struct model m;
    model_empty(&m);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    ck_assert_uint_eq(n, 136); /* spec 3.5 */
    model_check_image(&m, img, n);
    free(img);
    model_free(&m);
}
END_TEST

static int contains(const uint8_t *h, size_t hn, const uint8_t *nd, size_t nn)
{
    for (size_t i = 0; i + nn <= hn; i++)
        if (memcmp(h + i, nd, nn) == 0)
            return 1;
    return 0;
}

/* A large tensor goes out before add_tensor returns, small ones within a
 * bounded group (header: cnnz_writer_add_tensor), and the sink sees strictly
 * increasing, gap-free output. */
START_TEST(test_streaming_writes)
{
    struct rng r;
    rng_init(&r, __func__);
    struct membuf b;
    membuf_init(&b);
    struct cnnz_sink s = membuf_sink(&b);
    cnnz_writer *w;
    ck_assert_int_eq(cnnz_writer_open(&w, &s, NULL), 0);
    static uint8_t data[70000]; /* >= 64 KiB coded: a section of its own */
    rng_bytes(&r, data, sizeof data);
    uint64_t dims[1] = {sizeof data};
    struct cnnz_tensor_desc d = {.name = "a", .dtype = CNNZ_DT_U8, .rank = 1, .dims = dims,
                                 .repr = CNNZ_REPR_PLAIN, .coder = CNNZ_CODER_RAW};
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &d, data, sizeof data), 0);
    ck_assert_uint_ge(b.len, 64 + 16 + sizeof data);
    ck_assert(contains(b.data, b.len, data, sizeof data));
    size_t after_first = b.len;
    d.name = "b";
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &d, data, sizeof data), 0);
    ck_assert_uint_ge(b.len, after_first + 16 + sizeof data);
    /* a small tensor waits in the group ... */
    size_t before_small = b.len;
    uint64_t small_dims[1] = {10};
    struct cnnz_tensor_desc sd = d;
    sd.name = "small";
    sd.dims = small_dims;
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &sd, data, 10), 0);
    ck_assert_uint_eq(b.len, before_small);
    /* ... and goes out, in its own section, before the next large one */
    d.name = "c";
    ck_assert_int_eq(cnnz_writer_add_tensor(w, &d, data, sizeof data), 0);
    ck_assert_uint_ge(b.len, before_small + 16 + 10 + 8 + 16 + sizeof data);
    ck_assert(contains(b.data + before_small, b.len - before_small, data, 10));
    ck_assert_int_eq(cnnz_writer_finish(w), 0);
    cnnz_writer_free(w);
    ck_assert_int_eq(open_decode_verify(b.data, b.len, NULL), 0);
    membuf_free(&b);
}
END_TEST

struct drain {
    int fd;
    struct membuf b;
};

static void *drain_main(void *arg)
{
    struct drain *d = arg;
    uint8_t buf[4096];
    for (;;) {
        ssize_t k = read(d->fd, buf, sizeof buf);
        if (k <= 0)
            break;
        membuf_append(&d->b, buf, (size_t)k);
    }
    return NULL;
}

/* The writer through a real pipe (cnnz_writer_open_file on fdopen'ed write
 * end) and through a tmpfile give the memory sink's bytes. */
START_TEST(test_pipe_and_file_sinks)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    struct model_opts o = {10, 4, 20000, 6, 30};
    model_init(&m);
    model_random(&m, &r, &o);
    model_add_random(&m, &r, CNNZ_REPR_PLAIN, CNNZ_DT_F64, 1, 50000, 8); /* > pipe buffer */
    size_t n;
    uint8_t *img = model_file(&m, &n);

    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    struct drain dr;
    dr.fd = fds[0];
    membuf_init(&dr.b);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, drain_main, &dr), 0);
    FILE *f = fdopen(fds[1], "wb");
    ck_assert_ptr_nonnull(f);
    cnnz_writer *w;
    ck_assert_int_eq(cnnz_writer_open_file(&w, f, NULL), 0);
    ck_assert_int_eq(model_write_with(&m, w), 0);
    cnnz_writer_free(w);
    ck_assert_int_eq(fclose(f), 0);
    pthread_join(th, NULL);
    close(fds[0]);
    ck_assert_uint_eq(dr.b.len, n);
    ck_assert_mem_eq(dr.b.data, img, n);
    membuf_free(&dr.b);

    FILE *t = tmpfile();
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(cnnz_writer_open_file(&w, t, NULL), 0);
    ck_assert_int_eq(model_write_with(&m, w), 0);
    cnnz_writer_free(w);
    ck_assert_int_eq(fflush(t), 0);
    ck_assert_int_eq(fseek(t, 0, SEEK_END), 0);
    ck_assert_int_eq(ftell(t), (long)n);
    rewind(t);
    uint8_t *back = malloc(n);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(fread(back, 1, n, t), n);
    ck_assert_mem_eq(back, img, n);
    free(back);
    fclose(t);

    free(img);
    model_free(&m);
}
END_TEST

/* A sink that fails at its k-th write, for every k: some writer call fails
 * with CNNZ_E_IO, later calls fail too, nothing leaks. */
START_TEST(test_failing_sink)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_mixed(&m, &r);
    /* count the writes of a good run */
    struct membuf b;
    membuf_init(&b);
    struct cnnz_sink s = membuf_sink(&b);
    cnnz_writer *w;
    ck_assert_int_eq(cnnz_writer_open(&w, &s, NULL), 0);
    ck_assert_int_eq(model_write_with(&m, w), 0);
    cnnz_writer_free(w);
    long total = b.writes;
    ck_assert_int_gt(total, 0);
    membuf_free(&b);
    for (long k = 0; k < total; k++) {
        membuf_init(&b);
        b.fail_at = k;
        s = membuf_sink(&b);
        struct test_alloc ta;
        test_alloc_init(&ta, -1);
        struct cnnz_allocator h = test_alloc_hooks(&ta);
        struct cnnz_writer_options wo = {.allocator = &h};
        w = NULL;
        int err = cnnz_writer_open(&w, &s, &wo);
        if (err == 0) {
            err = model_write_with(&m, w);
            if (err) /* output is broken: finishing must not succeed */
                ck_assert_int_ne(cnnz_writer_finish(w), 0);
            cnnz_writer_free(w);
        }
        ck_assert_msg(err == CNNZ_E_IO, "sink failing at write %ld: got %s", k,
                      cnnz_error_token(err));
        ck_assert_int_eq(ta.live, 0);
        membuf_free(&b);
    }
    model_free(&m);
}
END_TEST

/* Output does not depend on the allocator or on how input is held. */
/* Encoding with threads gives the same bytes as without (the writer's
 * choices depend on the input only), for tensors big enough to use them. */
START_TEST(test_deterministic_across_threads)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_init(&m);
    uint64_t d1[2] = {300, 400}, d2[2] = {256, 1000};
    struct ttensor *t = model_add(&m, &r, "dense", 0, CNNZ_DT_F32, CNNZ_REPR_PLAIN, 0, 2, d1, NULL);
    t->coder = CNNZ_CODER_AUTO;
    t = model_add(&m, &r, "sparse", 0, CNNZ_DT_F32, CNNZ_REPR_HAM, CNNZ_DT_U8, 2, d2, NULL);
    t->coder = CNNZ_CODER_AUTO;
    t = model_add(&m, &r, "f64", 0, CNNZ_DT_F64, CNNZ_REPR_PLAIN, 0, 2, d1, NULL);
    t->coder = CNNZ_CODER_AUTO;
    uint8_t *img[3];
    size_t len[3];
    static const unsigned threads[3] = {1, 3, 0};
    for (int i = 0; i < 3; i++) {
        struct membuf b;
        membuf_init(&b);
        struct cnnz_sink s = membuf_sink(&b);
        struct cnnz_writer_options wo = {.threads = threads[i]};
        cnnz_writer *w;
        ck_assert_int_eq(cnnz_writer_open(&w, &s, &wo), 0);
        ck_assert_int_eq(model_write_with(&m, w), 0);
        cnnz_writer_free(w);
        img[i] = b.data;
        len[i] = b.len;
    }
    for (int i = 1; i < 3; i++) {
        ck_assert_uint_eq(len[i], len[0]);
        ck_assert_mem_eq(img[i], img[0], len[0]);
    }
    model_check_image(&m, img[1], len[1]);
    for (int i = 0; i < 3; i++)
        free(img[i]);
    model_free(&m);
}
END_TEST

START_TEST(test_deterministic_across_allocators)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_mixed(&m, &r);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    struct membuf b;
    membuf_init(&b);
    struct cnnz_sink s = membuf_sink(&b);
    struct test_alloc ta;
    test_alloc_init(&ta, -1);
    struct cnnz_allocator h = test_alloc_hooks(&ta);
    struct cnnz_writer_options wo = {.allocator = &h};
    cnnz_writer *w;
    ck_assert_int_eq(cnnz_writer_open(&w, &s, &wo), 0);
    ck_assert_int_eq(model_write_with(&m, w), 0);
    cnnz_writer_free(w);
    ck_assert_int_eq(ta.live, 0);
    ck_assert_int_gt(ta.allocs, 0);
    ck_assert_uint_eq(b.len, n);
    ck_assert_mem_eq(b.data, img, n);
    membuf_free(&b);
    free(img);
    model_free(&m);
}
END_TEST

/* The image at an odd address and output buffers at odd addresses: the
 * library must not assume alignment (UBSan flags misaligned access). */
START_TEST(test_unaligned)
{
    struct rng r;
    rng_init(&r, __func__);
    struct model m;
    model_mixed(&m, &r);
    struct model_opts o = {8, 3, 300, 4, 16};
    model_random(&m, &r, &o);
    size_t n;
    uint8_t *img = model_file(&m, &n);
    for (size_t shift = 1; shift < 8; shift += 2) {
        uint8_t *raw = malloc(n + shift);
        ck_assert_ptr_nonnull(raw);
        memcpy(raw + shift, img, n);
        cnnz_reader *rd;
        ck_assert_int_eq(cnnz_reader_open_memory(&rd, raw + shift, n, NULL), 0);
        for (size_t i = 0; i < m.nt; i++) {
            const struct ttensor *t = &m.t[i];
            uint8_t *dst = malloc(t->expect_size + 8);
            ck_assert_ptr_nonnull(dst);
            ck_assert_int_eq(cnnz_reader_decode(rd, i, dst + shift, t->expect_size, NULL), 0);
            if (t->expect_size)
                ck_assert_mem_eq(dst + shift, t->expect, t->expect_size);
            free(dst);
        }
        ck_assert_int_eq(cnnz_reader_verify(rd, NULL), 0);
        cnnz_reader_close(rd);
        free(raw);
    }
    free(img);
    model_free(&m);
}
END_TEST

Suite *suite_roundtrip(void)
{
    Suite *s = suite_create("roundtrip");
    TCase *tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_random_models);
    tcase_add_test(tc, test_every_repr_dtype_coder);
    tcase_add_test(tc, test_sham_blocks);
    tcase_add_test(tc, test_sham_spec_example);
    tcase_add_test(tc, test_max_rank);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_many_tensors);
    tcase_add_test(tc, test_metadata_every_type);
    tcase_add_test(tc, test_many_meta);
    tcase_add_test(tc, test_empty_file);
    tcase_add_test(tc, test_streaming_writes);
    tcase_add_test(tc, test_pipe_and_file_sinks);
    tcase_add_test(tc, test_failing_sink);
    tcase_add_test(tc, test_deterministic_across_allocators);
    tcase_add_test(tc, test_deterministic_across_threads);
    tcase_add_test(tc, test_unaligned);
    suite_add_tcase(s, tc);
    return s;
}
