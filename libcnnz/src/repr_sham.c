/* Representation `sham` (spec 6.7): the paper's sHAM with coded positions.
 * The tensor is viewed as dims[0] rows; blocks of block_rows rows are stored
 * independently (two streams each), so a block can be decoded, or multiplied
 * with, on its own: the stream entries are the entry points. Elements that
 * are zero (all bytes 0) are not stored; each stored element is a zero-run
 * length (bytes of the `runs` stream, 255 meaning "255 more, continue") and a
 * codebook index. Runs are small integers with a skewed distribution, so the
 * stream's entropy coder codes them in a few bits, unlike raw row indices. */
#include "repr.h"

#define SHAM_MAX_BLOCKS 127u /* 1 + 2 * blocks streams <= 255 (spec 5.3) */

struct geom {
    uint64_t stride; /* elements in a full block */
    uint64_t blocks;
};

static int geom(const struct cnnz_tensor_info *ti, struct geom *g)
{
    uint64_t rows = ti->rank ? ti->dims[0] : 1;
    g->stride = g->blocks = 0;
    if (ti->block_rows == 0)
        return CNNZ_E_REPR;
    if (ti->elements == 0)
        return CNNZ_OK;
    uint64_t row_len = ti->elements / rows;
    uint64_t br = ti->block_rows < rows ? ti->block_rows : rows;
    g->stride = br * row_len; /* <= elements: no overflow */
    g->blocks = rows / br + (rows % br != 0);
    return g->blocks > SHAM_MAX_BLOCKS ? CNNZ_E_REPR : CNNZ_OK;
}

void cnnz__sham_geom(const struct cnnz_tensor_info *ti, uint64_t *stride, uint64_t *blocks)
{
    struct geom g;
    geom(ti, &g);
    *stride = g.stride;
    *blocks = g.blocks;
}

static uint64_t block_elems(const struct cnnz_tensor_info *ti, const struct geom *g, uint64_t b)
{
    uint64_t start = b * g->stride;
    return ti->elements - start < g->stride ? ti->elements - start : g->stride;
}

static int sham_check(const struct cnnz_tensor_info *ti)
{
    struct geom g;
    int err = cnnz__codebook_check(ti);
    return err ? err : geom(ti, &g);
}

static int sham_read(struct cnnz_tensor_info *ti, const uint8_t *p, int reserved_ok)
{
    int err = cnnz__codebook_read(ti, p, reserved_ok);
    if (err)
        return err;
    ti->block_rows = cnnz__le64(p + 8);
    return sham_check(ti);
}

static void sham_write(const struct cnnz_tensor_info *ti, uint8_t *p)
{
    cnnz__codebook_write(ti, p);
    cnnz__put64(p + 8, ti->block_rows);
}

static unsigned sham_count(const struct cnnz_tensor_info *ti)
{
    struct geom g;
    geom(ti, &g); /* validated by check */
    return 1 + 2 * (unsigned)g.blocks;
}

static int sham_stream(const struct cnnz_tensor_info *ti, unsigned k, uint8_t *role, uint64_t *len,
                       uint64_t *unit)
{
    if (k == 0) {
        *role = CNNZ_ROLE_CODEBOOK;
        *unit = 0;
        return cnnz__mul64(ti->codebook_size, cnnz_dtype_size(ti->dtype), len);
    }
    struct geom g;
    geom(ti, &g);
    uint64_t e = block_elems(ti, &g, (k - 1) / 2);
    if (k % 2) { /* runs: one terminating byte per stored element, one 255 per 255 zeros */
        *role = CNNZ_ROLE_RUNS;
        *unit = 1;
        *len = e + e / 255;
        return 0;
    }
    *role = CNNZ_ROLE_SYMBOLS;
    *unit = cnnz_dtype_size(ti->symbol_dtype);
    return cnnz__mul64(e, *unit, len);
}

/* Place the stored elements of the blocks that meet [first, first + count),
 * resuming from cur when the previous call ended at first. indices: write
 * each stored element's symbol (symbol_dtype) instead of its codebook entry,
 * and leave the other elements of dst as the caller set them. */
static int place(const struct cnnz_tensor_info *ti, const struct cnnz__streams *ss,
                 struct cnnz__cursor *cur, uint64_t first, size_t count, uint8_t *dst, int indices)
{
    const unsigned ssz = (unsigned)cnnz_dtype_size(ti->symbol_dtype);
    const size_t es = indices ? ssz : cnnz_dtype_size(ti->dtype);
    const uint8_t *cb = ss->data[0];
    struct geom g;
    geom(ti, &g);
    if (!count)
        return CNNZ_OK;
    if (!indices)
        memset(dst, 0, count * es);
    const uint64_t end = first + count;
    struct cnnz__cursor c;
    if (cur && cur->valid && cur->next == first) {
        c = *cur;
    } else {
        memset(&c, 0, sizeof c);
        c.block = first / g.stride;
    }
    for (; c.block < g.blocks && c.block * g.stride < end; c.block++) {
        const uint64_t bs = c.block * g.stride, eb = block_elems(ti, &g, c.block);
        const uint8_t *runs = ss->data[1 + 2 * c.block], *sym = ss->data[2 + 2 * c.block];
        const uint64_t rl = ss->len[1 + 2 * c.block], nnz = ss->len[2 + 2 * c.block] / ssz;
        for (;;) {
            if (!c.pending) {
                if (c.sym == nnz) {
                    if (c.run != rl) /* runs left over: the streams disagree */
                        return CNNZ_E_CORRUPT;
                    break;
                }
                uint64_t r;
                int err = cnnz__sham_run(runs, rl, &c.run, eb - c.pos, &r);
                if (err)
                    return err;
                c.pos += r;
                c.pending = 1;
            }
            if (bs + c.pos >= end)
                goto out;
            unsigned s = ssz == 1 ? sym[c.sym] : cnnz__le16(sym + 2 * c.sym);
            if (bs + c.pos >= first && !indices) {
                int err = cnnz__codebook_put(ti, cb, s, dst + (bs + c.pos - first) * es, es);
                if (err)
                    return err;
            } else if (s >= ti->codebook_size) {
                return CNNZ_E_CORRUPT;
            } else if (bs + c.pos >= first) {
                uint8_t *d = dst + (bs + c.pos - first) * es;
                if (ssz == 1)
                    *d = (uint8_t)s;
                else
                    cnnz__put16(d, (uint16_t)s);
            } else if (s >= ti->codebook_size) {
                return CNNZ_E_CORRUPT;
            }
            c.sym++;
            c.pos++;
            c.pending = 0;
        }
        c.pos = c.run = c.sym = 0;
    }
out:
    c.next = end;
    c.valid = 1;
    if (cur)
        *cur = c;
    return CNNZ_OK;
}

static int sham_rebuild(const struct cnnz_tensor_info *ti, const struct cnnz__streams *ss,
                        struct cnnz__cursor *cur, uint64_t first, size_t count, uint8_t *dst)
{
    return place(ti, ss, cur, first, count, dst, 0);
}

int cnnz__sham_indices(const struct cnnz_tensor_info *ti, const struct cnnz__streams *ss,
                       uint8_t *dst)
{
    return place(ti, ss, NULL, 0, (size_t)ti->elements, dst, 1);
}

static int sham_split(const struct cnnz__alloc *a, const struct cnnz_tensor_info *ti,
                      const uint8_t *data, size_t size, const uint8_t *codebook,
                      struct cnnz__split *sp)
{
    const size_t es = cnnz_dtype_size(ti->dtype);
    const unsigned ssz = (unsigned)cnnz_dtype_size(ti->symbol_dtype);
    const uint32_t K = ti->codebook_size;
    struct geom g;
    if (geom(ti, &g) || !codebook || size != ti->elements * ssz)
        return CNNZ_E_ARG;
    /* Which codebook entries are zero: their elements are not stored. */
    uint8_t *zero = cnnz__malloc(a, K);
    if (!zero)
        return CNNZ_E_NOMEM;
    for (uint32_t k = 0; k < K; k++)
        zero[k] = (uint8_t)cnnz__entry_is_zero(codebook + (size_t)k * es, es);
    sp->n = 1;
    sp->role[0] = CNNZ_ROLE_CODEBOOK;
    sp->data[0] = codebook;
    sp->len[0] = (uint64_t)K * es;
    sp->owned[0] = NULL;
    int err = CNNZ_OK;
    for (uint64_t b = 0; b < g.blocks && !err; b++) {
        const uint64_t bs = b * g.stride, eb = block_elems(ti, &g, b);
        uint64_t nnz = 0, rbytes = 0, run = 0;
        for (uint64_t i = 0; i < eb; i++) { /* pass 1: sizes */
            unsigned s = ssz == 1 ? data[bs + i] : cnnz__le16(data + 2 * (bs + i));
            if (s >= K) {
                err = CNNZ_E_INPUT;
                break;
            }
            if (zero[s]) {
                run++;
            } else {
                nnz++;
                rbytes += run / 255 + 1;
                run = 0;
            }
        }
        unsigned kr = sp->n, ks = sp->n + 1;
        sp->owned[kr] = sp->owned[ks] = NULL;
        sp->n += 2;
        sp->role[kr] = CNNZ_ROLE_RUNS;
        sp->role[ks] = CNNZ_ROLE_SYMBOLS;
        sp->len[kr] = rbytes;
        sp->len[ks] = nnz * ssz;
        if (err)
            break;
        uint8_t *r = rbytes ? cnnz__malloc(a, (size_t)rbytes) : NULL;
        uint8_t *s = nnz ? cnnz__malloc(a, (size_t)(nnz * ssz)) : NULL;
        sp->owned[kr] = r;
        sp->owned[ks] = s;
        sp->data[kr] = r;
        sp->data[ks] = s;
        if ((rbytes && !r) || (nnz && !s)) {
            err = CNNZ_E_NOMEM;
            break;
        }
        size_t ri = 0, si = 0;
        run = 0;
        for (uint64_t i = 0; i < eb; i++) { /* pass 2: the streams */
            unsigned v = ssz == 1 ? data[bs + i] : cnnz__le16(data + 2 * (bs + i));
            if (zero[v]) {
                run++;
                continue;
            }
            for (; run >= 255; run -= 255)
                r[ri++] = 255;
            r[ri++] = (uint8_t)run;
            run = 0;
            if (ssz == 1)
                s[si++] = (uint8_t)v;
            else {
                cnnz__put16(s + si, (uint16_t)v);
                si += 2;
            }
        }
    }
    cnnz__free(a, zero);
    return err;
}

const struct cnnz__repr cnnz__repr_sham = {
    .id = CNNZ_REPR_SHAM,
    .name = "sham",
    .params_len = 16,
    .read = sham_read,
    .write = sham_write,
    .check = sham_check,
    .count = sham_count,
    .stream = sham_stream,
    .rebuild = sham_rebuild,
    .split = sham_split,
};
