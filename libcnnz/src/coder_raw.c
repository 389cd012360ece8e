/* Coder `raw` (spec 7.1): coded bytes are the decoded bytes. */
#include "coder.h"

static int raw_check(unsigned version, const uint8_t *params, size_t params_len,
                     uint64_t coded_len, uint64_t decoded_len)
{
    (void)params;
    if (version != 0 || params_len != 0 || coded_len != decoded_len)
        return CNNZ_E_CODER;
    return CNNZ_OK;
}

static int raw_decode(const struct cnnz__alloc *a, unsigned version, const uint8_t *params, size_t params_len,
                      const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
    (void)a, (void)version, (void)params, (void)params_len;
    if (src_len != dst_len)
        return CNNZ_E_CORRUPT;
    if (dst != src && dst_len)
        memmove(dst, src, dst_len);
    return CNNZ_OK;
}

static int raw_encode(const struct cnnz__alloc *a, const struct cnnz__symfmt *fmt,
                      const uint8_t *src, size_t src_len, struct cnnz__buf *out,
                      const uint8_t **coded, size_t *coded_len, struct cnnz__buf *params_out)
{
    (void)a, (void)fmt, (void)out, (void)params_out;
    *coded = src;
    *coded_len = src_len;
    return CNNZ_OK;
}

/* Incremental: the bytes in order from where the last call stopped. */
struct raw_stream {
    const uint8_t *src;
    size_t at;
};

static int raw_stream_begin(const struct cnnz__alloc *a, unsigned version, const uint8_t *params,
                            size_t params_len, const uint8_t *src, size_t src_len, size_t dst_len,
                            void **state)
{
    (void)version, (void)params, (void)params_len;
    if (src_len != dst_len)
        return CNNZ_E_CORRUPT;
    struct raw_stream *st = cnnz__malloc(a, sizeof *st);
    if (!st)
        return CNNZ_E_NOMEM;
    st->src = src;
    st->at = 0;
    *state = st;
    return CNNZ_OK;
}

static int raw_stream_next(void *state, uint8_t *dst, size_t n)
{
    struct raw_stream *st = state;
    if (n)
        memcpy(dst, st->src + st->at, n);
    st->at += n;
    return CNNZ_OK;
}

static void raw_stream_end(const struct cnnz__alloc *a, void *state)
{
    cnnz__free(a, state);
}

const struct cnnz__coder cnnz__coder_raw = {
    .id = CNNZ_CODER_RAW,
    .name = "raw",
    .version = 0,
    .check = raw_check,
    .decode = raw_decode,
    .encode = raw_encode,
    .identity = 1,
    .stream_begin = raw_stream_begin,
    .stream_next = raw_stream_next,
    .stream_end = raw_stream_end,
};
