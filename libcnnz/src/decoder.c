/* cnnz_decoder: a tensor decoded in order, a chunk at a time, into the
 * caller's small buffer (cnnz.h, "compute on compressed tensors").
 *
 * The element-aligned streams (every stream of plain, affine, widen and
 * planes, the symbols of ham) go through cnnz__cstream, so each call decodes
 * just the bytes of its chunk; a codebook is decoded whole when the decoder
 * opens. sham decodes one block's two streams at a time (spec 6.7: a block
 * is the unit its streams describe) and rebuilds from them with a cursor.
 * The decoded checksum (spec 9.2 step 5) is hashed as the chunks go out and
 * compared on the call that yields the last element. */
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t inside the decoder */
#include <xxhash.h>

#include "coder.h"
#include "reader.h"
#include "repr.h"

/* Elements per read: the scratch of an aligned stream is this many of its
 * units (at most 8 bytes each: 32 KiB). */
#define DEC_CHUNK 4096u

struct cnnz_decoder {
    const cnnz_reader *r;
    size_t index;
    const struct cnnz_tensor_info *ti;
    const struct cnnz__repr *rep;
    struct cnnz__coded coded;
    /* The view rebuild takes, and what backs it. */
    const uint8_t *data[256];
    uint64_t len[256];
    uint8_t *owned[256];       /* whole decoded streams (codebook, sham block) */
    struct cnnz__cstream cs[256]; /* element-aligned streams (not sham) */
    uint64_t unit[256];        /* their bytes per element; 0: not aligned */
    uint8_t *scratch;          /* DEC_CHUNK units of each aligned stream, back to back */
    struct cnnz__streams view;
    struct cnnz__cursor cur;
    uint64_t next;             /* first element of the next read */
    uint64_t block;            /* sham: the block whose streams are decoded, or UINT64_MAX */
    uint64_t stride, blocks;   /* sham geometry */
    XXH64_state_t sum;
    int err;                   /* sticky, with where it happened */
    struct cnnz_where at;
};

/* Decode stream k whole into d->owned[k] (or view it, for identity coders). */
static int whole_stream(cnnz_decoder *d, unsigned k)
{
    const struct cnnz_stream_info *s = &d->ti->streams[k];
    const struct cnnz__coder *cd = d->coded.coder[k];
    const struct cnnz__alloc *a = &d->r->a;
    d->len[k] = s->decoded_bytes;
    if (cd->identity) {
        d->data[k] = d->coded.src[k];
        return CNNZ_OK;
    }
    if (s->decoded_bytes > SIZE_MAX)
        return CNNZ_E_NOMEM;
    d->owned[k] = cnnz__malloc(a, (size_t)s->decoded_bytes);
    if (!d->owned[k])
        return CNNZ_E_NOMEM;
    d->data[k] = d->owned[k];
    return cd->decode(a, (unsigned)s->coder_version, d->coded.params[k], d->coded.params_len[k],
                      d->coded.src[k], (size_t)s->coded_bytes, d->owned[k],
                      (size_t)s->decoded_bytes);
}

static void free_owned(cnnz_decoder *d, unsigned k)
{
    cnnz__free(&d->r->a, d->owned[k]);
    d->owned[k] = NULL;
    d->data[k] = NULL;
}

static int fail(cnnz_decoder *d, int err, const char *what, int32_t stream, struct cnnz_where *w)
{
    d->err = err;
    cnnz__fail(&d->at, err, what, (int64_t)d->index, stream, -1);
    if (w)
        *w = d->at;
    return err;
}

int cnnz_decoder_open(cnnz_decoder **out, const cnnz_reader *r, size_t index,
                      struct cnnz_where *w)
{
    if (!out || !r)
        return cnnz__fail(w, CNNZ_E_ARG, "argument", -1, -1, -1);
    *out = NULL;
    if (index >= r->ntensors)
        return cnnz__fail(w, CNNZ_E_NOTFOUND, "argument", -1, -1, -1);
    const struct cnnz__alloc *a = &r->a;
    cnnz_decoder *d = cnnz__malloc(a, sizeof *d);
    if (!d)
        return cnnz__fail(w, CNNZ_E_NOMEM, "decoder", (int64_t)index, -1, -1);
    memset(d, 0, sizeof *d);
    d->r = r;
    d->index = index;
    d->ti = &r->tensors[index].info;
    d->rep = cnnz__repr_get((unsigned)d->ti->repr);
    d->view.data = d->data;
    d->view.len = d->len;
    d->block = UINT64_MAX;
    XXH64_reset(&d->sum, 0);
    int err = cnnz__coded_open(r, index, &d->coded, w);
    if (err) {
        cnnz__free(a, d);
        return err;
    }
    const struct cnnz_tensor_info *ti = d->ti;
    size_t scratch = 0;
    for (unsigned k = 0; k < ti->stream_count; k++) {
        d->len[k] = ti->streams[k].decoded_bytes;
        if (ti->repr == CNNZ_REPR_SHAM || ti->streams[k].role == CNNZ_ROLE_CODEBOOK ||
            !ti->elements)
            continue;
        /* Every other stream has a fixed number of bytes per element (spec 6). */
        d->unit[k] = ti->streams[k].decoded_bytes / ti->elements;
        scratch += (size_t)d->unit[k] * DEC_CHUNK;
    }
    if (ti->repr == CNNZ_REPR_SHAM)
        cnnz__sham_geom(ti, &d->stride, &d->blocks);
    if (scratch && !(d->scratch = cnnz__malloc(a, scratch)))
        err = cnnz__fail(w, CNNZ_E_NOMEM, "decoder", (int64_t)index, -1, -1);
    for (unsigned k = 0; k < ti->stream_count && !err; k++) {
        const struct cnnz_stream_info *s = &ti->streams[k];
        if (s->role == CNNZ_ROLE_CODEBOOK)
            err = whole_stream(d, k);
        else if (d->unit[k])
            err = cnnz__cstream_begin(&d->cs[k], a, d->coded.coder[k], (unsigned)s->coder_version,
                                      d->coded.params[k], d->coded.params_len[k],
                                      d->coded.src[k], (size_t)s->coded_bytes, s->decoded_bytes);
        if (err) {
            cnnz__fail(w, err, "stream", (int64_t)index, (int32_t)k, (int64_t)s->offset);
            break;
        }
    }
    if (!err && !ti->elements && cnnz__sum_bad(XXH64_digest(&d->sum), ti->decoded_xxh64))
        err = cnnz__fail(w, CNNZ_E_CHECKSUM, "tensor", (int64_t)index, -1, -1);
    if (err) {
        cnnz_decoder_close(d);
        return err;
    }
    *out = d;
    return CNNZ_OK;
}

/* sham: make block b's streams the decoded ones. */
static int sham_block(cnnz_decoder *d, uint64_t b, struct cnnz_where *w)
{
    if (d->block != UINT64_MAX)
        for (unsigned k = 1 + 2 * (unsigned)d->block; k <= 2 + 2 * (unsigned)d->block; k++)
            free_owned(d, k);
    d->block = b;
    for (unsigned k = 1 + 2 * (unsigned)b; k <= 2 + 2 * (unsigned)b; k++) {
        int err = whole_stream(d, k);
        if (err)
            return fail(d, err, "stream", (int32_t)k, w);
    }
    return CNNZ_OK;
}

int cnnz_decoder_read(cnnz_decoder *d, void *dst, size_t dst_size, size_t *written,
                      struct cnnz_where *w)
{
    if (written)
        *written = 0;
    if (!d || !written || (!dst && dst_size))
        return cnnz__fail(w, CNNZ_E_ARG, "argument", -1, -1, -1);
    if (d->err) {
        if (w)
            *w = d->at;
        return d->err;
    }
    const struct cnnz_tensor_info *ti = d->ti;
    const size_t es = cnnz_dtype_size(ti->dtype);
    if (d->next == ti->elements)
        return CNNZ_OK;
    uint64_t count = dst_size / es;
    if (count == 0)
        return cnnz__fail(w, CNNZ_E_BUFFER, "argument", (int64_t)d->index, -1, -1);
    if (count > DEC_CHUNK)
        count = DEC_CHUNK;
    if (count > ti->elements - d->next)
        count = ti->elements - d->next;
    int err;
    if (ti->repr == CNNZ_REPR_SHAM) {
        uint64_t b = d->next / d->stride, end = (b + 1) * d->stride; /* < elements + stride */
        if (b != d->block && (err = sham_block(d, b, w)))
            return err;
        if (count > end - d->next) /* one block's streams at a time */
            count = end - d->next;
        err = d->rep->rebuild(ti, &d->view, &d->cur, d->next, (size_t)count, dst);
    } else {
        uint8_t *sc = d->scratch;
        for (unsigned k = 0; k < ti->stream_count; k++) {
            if (!d->unit[k])
                continue;
            const uint8_t *p = cnnz__cstream_next(&d->cs[k], sc, (size_t)(count * d->unit[k]), &err);
            if (!p)
                return fail(d, err, "stream", (int32_t)k, w);
            d->data[k] = p;
            sc += d->unit[k] * DEC_CHUNK;
        }
        /* The chunk's bytes of each stream start at element 0 of the view. */
        err = d->rep->rebuild(ti, &d->view, NULL, 0, (size_t)count, dst);
    }
    if (err)
        return fail(d, err, "tensor", -1, w);
    XXH64_update(&d->sum, dst, (size_t)count * es);
    d->next += count;
    *written = (size_t)count * es;
    if (d->next == ti->elements && cnnz__sum_bad(XXH64_digest(&d->sum), ti->decoded_xxh64))
        return fail(d, CNNZ_E_CHECKSUM, "tensor", -1, w);
    return CNNZ_OK;
}

void cnnz_decoder_close(cnnz_decoder *d)
{
    if (!d)
        return;
    const struct cnnz__alloc *a = &d->r->a;
    for (unsigned k = 0; k < 256; k++) {
        cnnz__cstream_end(&d->cs[k]);
        cnnz__free(a, d->owned[k]);
    }
    cnnz__free(a, d->scratch);
    cnnz__coded_close(d->r, &d->coded);
    cnnz__free(a, d);
}
