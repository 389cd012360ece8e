/* The coder registry table (spec 7). */
#include <string.h>

#include "coder.h"

static const struct cnnz__coder *const coders[] = {
    &cnnz__coder_raw, /* id 0 */
    &cnnz__coder_huffman, /* id 1 */
    &cnnz__coder_rans, /* id 2 */
    &cnnz__coder_cabac, /* id 3 */
};
#define NCODERS (sizeof coders / sizeof coders[0])

unsigned cnnz__coder_count(void)
{
    return (unsigned)NCODERS;
}

const struct cnnz__coder *cnnz__coder_at(unsigned i)
{
    return i < NCODERS ? coders[i] : NULL;
}

const struct cnnz__coder *cnnz__coder_get(unsigned id)
{
    for (size_t i = 0; i < NCODERS; i++)
        if (coders[i]->id == id)
            return coders[i];
    return NULL;
}

const char *cnnz_coder_name(int coder)
{
    const struct cnnz__coder *c = coder < 0 ? NULL : cnnz__coder_get((unsigned)coder);
    return c ? c->name : NULL;
}

int cnnz_coder_from_name(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < NCODERS; i++)
        if (strcmp(coders[i]->name, name) == 0)
            return coders[i]->id;
    return -1;
}

/* ------------------------------------------------ streams decoded in order */

int cnnz__cstream_begin(struct cnnz__cstream *s, const struct cnnz__alloc *a,
                        const struct cnnz__coder *cd, unsigned version, const uint8_t *params,
                        size_t params_len, const uint8_t *src, size_t src_len, uint64_t dst_len)
{
    memset(s, 0, sizeof *s);
    s->cd = cd;
    s->a = a;
    s->src = src;
    s->left = dst_len;
    if (dst_len > SIZE_MAX)
        return s->err = CNNZ_E_NOMEM;
    if (cd->identity)
        return s->err = src_len == dst_len ? CNNZ_OK : CNNZ_E_CORRUPT;
    if (cd->stream_begin) {
        s->err = cd->stream_begin(a, version, params, params_len, src, src_len, (size_t)dst_len,
                                  &s->state);
        return s->err;
    }
    /* No incremental decoder: the whole stream now. */
    s->whole = cnnz__malloc(a, (size_t)dst_len);
    if (!s->whole)
        return s->err = CNNZ_E_NOMEM;
    s->err = cd->decode(a, version, params, params_len, src, src_len, s->whole, (size_t)dst_len);
    return s->err;
}

const uint8_t *cnnz__cstream_next(struct cnnz__cstream *s, uint8_t *scratch, size_t n, int *err)
{
    if (!s->err && n > s->left)
        s->err = CNNZ_E_ARG;
    if (s->err) {
        *err = s->err;
        return NULL;
    }
    s->left -= n;
    const uint8_t *p;
    if (s->cd->identity || s->whole) {
        p = (s->whole ? s->whole : s->src) + s->at;
        s->at += n;
        return p;
    }
    if ((s->err = s->cd->stream_next(s->state, scratch, n))) {
        *err = s->err;
        return NULL;
    }
    return scratch;
}

void cnnz__cstream_end(struct cnnz__cstream *s)
{
    if (!s->cd)
        return;
    if (s->state && s->cd->stream_end)
        s->cd->stream_end(s->a, s->state);
    cnnz__free(s->a, s->whole);
    s->state = NULL;
    s->whole = NULL;
}
