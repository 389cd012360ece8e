/* wmodel.c - tensors and metadata written with libcnnz's writer, with the
 * decoded bytes each tensor must give computed from spec section 6 (cf.h). */
#include <stdlib.h>
#include <string.h>

#include "cf.h"

struct cf_wtensor *cf_wadd(struct cf_wmodel *m, const void *name, size_t name_len, int dtype,
                           unsigned rank, const uint64_t *dims, int repr, int coder)
{
    m->t = cf_realloc(m->t, (m->nt + 1) * sizeof *m->t);
    struct cf_wtensor *t = &m->t[m->nt++];
    memset(t, 0, sizeof *t);
    cf_buf_put(&t->name, name, name_len);
    if (rank > CNNZ_MAX_RANK)
        cf_die("wadd: rank %u", rank);
    if (rank)
        memcpy(t->dims, dims, rank * sizeof *dims);
    t->d.dtype = dtype;
    t->d.rank = rank;
    t->d.repr = repr;
    t->d.coder = coder;
    t->out_dtype = dtype;
    return t;
}

uint64_t cf_welements(const struct cf_wtensor *t)
{
    uint64_t n = 1;
    for (unsigned i = 0; i < t->d.rank; i++)
        n *= t->dims[i];
    return n;
}

static uint32_t symbol_at(const struct cf_buf *b, int symdt, uint64_t i)
{
    return symdt == CNNZ_DT_U16 ? cf_get16(b->p + 2 * i) : b->p[i];
}

void cf_wexpect(struct cf_wtensor *t)
{
    const uint64_t n = cf_welements(t);
    const size_t es = cnnz_dtype_size(t->d.dtype);
    t->expect.n = 0;
    switch (t->d.repr) {
    case CNNZ_REPR_PLAIN:
    case CNNZ_REPR_PLANES:
        cf_buf_put(&t->expect, t->input.p, t->input.n);
        break;
    case CNNZ_REPR_AFFINE:
        for (uint64_t i = 0; i < n; i++) {
            uint32_t q = symbol_at(&t->input, t->d.symbol_dtype, i);
            if (t->d.dtype == CNNZ_DT_I32) {
                int32_t v;
                if (cf_affine_i32(q, t->d.scale, t->d.offset, &v))
                    cf_die("wexpect: affine i32 out of range");
                cf_buf_u32(&t->expect, (uint32_t)v);
            } else {
                float v = cf_affine_f32(q, t->d.scale, t->d.offset);
                uint32_t b;
                memcpy(&b, &v, 4);
                cf_buf_u32(&t->expect, b);
            }
        }
        break;
    case CNNZ_REPR_WIDEN:
        for (uint64_t i = 0; i < n; i++) {
            uint16_t h = cf_get16(t->input.p + 2 * i);
            float v = t->d.symbol_dtype == CNNZ_DT_BF16 ? cf_bf16_to_f32(h) : cf_f16_to_f32(h);
            uint32_t b;
            memcpy(&b, &v, 4);
            cf_buf_u32(&t->expect, b);
        }
        break;
    case CNNZ_REPR_HAM:
    case CNNZ_REPR_SHAM:
        for (uint64_t i = 0; i < n; i++) {
            uint32_t q = symbol_at(&t->input, t->d.symbol_dtype, i);
            if (q >= t->d.codebook_size)
                cf_die("wexpect: index %u past the codebook", (unsigned)q);
            cf_buf_put(&t->expect, t->codebook.p + (size_t)q * es, es);
        }
        break;
    default:
        cf_die("wexpect: repr %d", t->d.repr);
    }
    if (t->expect.n != n * cnnz_dtype_size(t->out_dtype))
        cf_die("wexpect: %zu bytes for %llu elements", t->expect.n, (unsigned long long)n);
}

struct cf_wmeta *cf_wmeta_add(struct cf_wmodel *m, const char *key, int type)
{
    m->m = cf_realloc(m->m, (m->nm + 1) * sizeof *m->m);
    struct cf_wmeta *e = &m->m[m->nm++];
    memset(e, 0, sizeof *e);
    cf_buf_str(&e->key, key);
    cf_buf_u8(&e->key, 0);
    e->type = type;
    return e;
}

static int sink_write(void *opaque, const void *p, size_t n)
{
    cf_buf_put(opaque, p, n);
    return 0;
}

int cf_wwrite(struct cf_wmodel *m, struct cf_buf *img)
{
    img->n = 0;
    struct cnnz_sink sink = {sink_write, img};
    cnnz_writer *w = NULL;
    int err = cnnz_writer_open(&w, &sink, NULL);
    for (size_t i = 0; i < m->nt && !err; i++) {
        struct cf_wtensor *t = &m->t[i];
        t->d.name = (const char *)t->name.p;
        t->d.name_len = t->name.n;
        t->d.dims = t->dims;
        t->d.codebook = t->codebook.p;
        err = cnnz_writer_add_tensor(w, &t->d, t->input.n ? t->input.p : NULL, t->input.n);
    }
    for (size_t i = 0; i < m->nm && !err; i++) {
        const struct cf_wmeta *e = &m->m[i];
        const char *key = (const char *)e->key.p;
        switch (e->type) {
        case CNNZ_META_STRING: {
            struct cf_buf v = {0};
            cf_buf_put(&v, e->value.p, e->value.n);
            cf_buf_u8(&v, 0);
            err = cnnz_writer_meta_string(w, key, (const char *)v.p);
            cf_buf_free(&v);
            break;
        }
        case CNNZ_META_INT: err = cnnz_writer_meta_int(w, key, e->i); break;
        case CNNZ_META_FLOAT: err = cnnz_writer_meta_float(w, key, e->f); break;
        case CNNZ_META_BOOL: err = cnnz_writer_meta_bool(w, key, (int)e->i); break;
        default: err = cnnz_writer_meta_bytes(w, key, e->value.p, e->value.n); break;
        }
    }
    if (!err)
        err = cnnz_writer_finish(w);
    cnnz_writer_free(w);
    return err;
}

void cf_wfree(struct cf_wmodel *m)
{
    for (size_t i = 0; i < m->nt; i++) {
        cf_buf_free(&m->t[i].name);
        cf_buf_free(&m->t[i].input);
        cf_buf_free(&m->t[i].codebook);
        cf_buf_free(&m->t[i].expect);
    }
    for (size_t i = 0; i < m->nm; i++) {
        cf_buf_free(&m->m[i].key);
        cf_buf_free(&m->m[i].value);
    }
    free(m->t);
    free(m->m);
    memset(m, 0, sizeof *m);
}

struct cf_expect *cf_wexpects(const struct cf_wmodel *m)
{
    struct cf_expect *e = cf_alloc((m->nt ? m->nt : 1) * sizeof *e);
    for (size_t i = 0; i < m->nt; i++) {
        const struct cf_wtensor *t = &m->t[i];
        e[i].name = t->name.p;
        e[i].name_len = t->name.n;
        e[i].dtype = t->out_dtype;
        e[i].rank = t->d.rank;
        e[i].dims = t->dims;
        e[i].data = t->expect.p;
        e[i].size = t->expect.n;
    }
    return e;
}
