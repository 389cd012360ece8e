/* libFuzzer target: the writer against the reader, through the public API
 * only (cnnz.h).
 *
 * The input describes a small .cnnz file: one head byte (tensor count,
 * writer threads, metadata), then per tensor a descriptor and its data, read
 * by next_tensor(). Bytes past the end of the input read as zero, and data
 * and codebooks repeat a run of input bytes (fill()), so a short input can
 * describe a tensor of up to MAX_BYTES (below).
 *
 * Checked, for every input:
 *  - a descriptor that cnnz.h documents as valid is accepted; one it
 *    documents as invalid (unknown dtype, representation or coder, rank over
 *    the format limit, size not matching the shape, parameters the
 *    representation does not allow, an index past the codebook, a bool that
 *    is not 0 or 1, an empty name) is rejected with an input error; either
 *    way the writer stays usable for the next tensor;
 *  - encoding is deterministic: the same tensors written with another thread
 *    count give the same bytes and the same accept/reject decisions;
 *  - the reader opens the file and finds exactly the accepted tensors, by
 *    name, with their dtype, shape and parameters, and decodes each to what
 *    its representation defines: the input (plain, planes), codebook entries
 *    (ham, sham), q * scale + offset (affine), the widened halves (widen).
 *    The stored streams, the codebook indices and the in-place view agree
 *    with the input, a buffer one byte short is refused, verify passes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TENSORS 4
/* Decoded bytes of one tensor: enough for a section of its own and the
 * writer's threads, which the fuzzing build (CNNZ_FUZZING) gives from
 * 1 KiB, and the plain replay in make test from 64 KiB. Under libFuzzer
 * the cap is 4 KiB: with 64 KiB a run took 0.1-1 s under the sanitizers
 * (the encoders' searches, twice), too slow to ever reach ten million. */
#ifdef CNNZ_FUZZING
#define MAX_BYTES 4096u
#else
#define MAX_BYTES 65536u
#endif
#define NAME_MAX_FUZZ 15 /* fuzzer-chosen names; generated ones are longer */

/* The fuzzer's bytes, front to back; zero past the end. */
struct in {
    const uint8_t *p;
    size_t n, i;
};

static unsigned get8(struct in *s)
{
    return s->i < s->n ? s->p[s->i++] : 0;
}

static unsigned get16(struct in *s)
{
    unsigned lo = get8(s);
    return lo | get8(s) << 8;
}

static double get_f64(struct in *s)
{
    uint64_t b = 0;
    for (unsigned k = 0; k < 8; k++)
        b |= (uint64_t)get8(s) << (8 * k);
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* n bytes: a run of up to get16() input bytes, repeated; zeros when empty. */
static uint8_t *fill(struct in *s, size_t n)
{
    size_t run = get16(s);
    if (run > s->n - s->i)
        run = s->n - s->i;
    const uint8_t *r = s->p + s->i;
    s->i += run;
    uint8_t *b = xmalloc(n);
    for (size_t k = 0; k < n; k++)
        b[k] = run ? r[k % run] : 0;
    return b;
}

static unsigned sym_at(const uint8_t *p, size_t ss, uint64_t i)
{
    return ss == 1 ? p[i] : (unsigned)p[2 * i] | (unsigned)p[2 * i + 1] << 8;
}

static void sym_put(uint8_t *p, size_t ss, uint64_t i, unsigned v)
{
    if (ss == 1) {
        p[i] = (uint8_t)v;
    } else {
        p[2 * i] = (uint8_t)v;
        p[2 * i + 1] = (uint8_t)(v >> 8);
    }
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

struct tensor {
    struct cnnz_tensor_desc d;
    uint64_t dims[CNNZ_MAX_RANK + 1];
    char name[40];
    uint8_t *data, *codebook;
    size_t size;       /* bytes passed to the writer */
    uint64_t elements;
    int verdict;       /* 1: must be accepted, -1: must be rejected, 0: either */
    int accepted;
};

static void tensor_free(struct tensor *t)
{
    free(t->data);
    free(t->codebook);
    t->data = t->codebook = NULL;
}

/* Is every index below K (and every bool entry 0 or 1)? */
static int indices_ok(const struct tensor *t, size_t ss, uint32_t K)
{
    for (uint64_t i = 0; i < t->elements; i++)
        if (sym_at(t->data, ss, i) >= K)
            return 0;
    if (t->d.dtype == CNNZ_DT_BOOL)
        for (uint32_t k = 0; k < K; k++)
            if (t->codebook[k] > 1)
                return 0;
    return 1;
}

/* sHAM blocks of the caller's block_rows (spec 6.7: at most 127). */
static uint64_t sham_blocks(const struct tensor *t)
{
    uint64_t rows = t->d.rank ? t->dims[0] : 1, br = t->d.block_rows;
    if (!br || !t->elements)
        return 1;
    if (br > rows)
        br = rows;
    return rows / br + (rows % br != 0);
}

/* Descriptor bytes: dtype, repr, coder, flags, rank, dims[rank]; then
 * affine: scale, offset (f64); ham/sham: codebook_size (u16), block_rows,
 * codebook (fill); a name when flags bit 4 (length % 16, bytes); the data
 * (fill). flags: bits 0-1 the symbol dtype, bit 2 leave indices and bools
 * as the fuzzer gave them, bit 3 a size one off the shape's. Returns 0 when
 * the shape or the codebook is too large for the harness (the tensor is
 * left out). */
static int next_tensor(struct in *s, struct tensor *t, unsigned index, int ncoders)
{
    memset(t, 0, sizeof *t);
    static const int sym_q[4] = {CNNZ_DT_U8, CNNZ_DT_U16, CNNZ_DT_U8, CNNZ_DT_I8};
    static const int sym_w[4] = {CNNZ_DT_F16, CNNZ_DT_BF16, CNNZ_DT_BF16, CNNZ_DT_F32};
    const int dt = (int)(get8(s) % 15), rp = (int)(get8(s) % 7);
    const int coder = (int)(get8(s) % (unsigned)(ncoders + 2)) - 1; /* AUTO .. one past */
    const unsigned fl = get8(s), rk = get8(s);
    const int raw = fl >> 2 & 1, size_off = fl >> 3 & 1;
    const unsigned rank = rk == 0xFF ? CNNZ_MAX_RANK + 1 : rk % 6;
    uint64_t n = 1;
    for (unsigned k = 0; k < rank; k++) {
        t->dims[k] = get8(s);
        n *= t->dims[k];
        if (n > MAX_BYTES)
            n = MAX_BYTES + 1; /* saturate: a zero dim still makes it 0 */
    }
    const size_t es = cnnz_dtype_size(dt);
    if (n * (es ? es : 1) > MAX_BYTES)
        return 0;
    t->elements = n;
    struct cnnz_tensor_desc *d = &t->d;
    d->dtype = dt;
    d->repr = rp;
    d->coder = coder;
    d->rank = rank;
    d->dims = t->dims;
    int quant = rp == CNNZ_REPR_AFFINE || rp == CNNZ_REPR_HAM || rp == CNNZ_REPR_SHAM;
    if (quant)
        d->symbol_dtype = sym_q[fl & 3];
    else if (rp == CNNZ_REPR_WIDEN)
        d->symbol_dtype = sym_w[fl & 3];
    else
        d->symbol_dtype = (int)(fl & 3); /* ignored by plain and planes */
    if (rp == CNNZ_REPR_AFFINE) {
        d->scale = get_f64(s);
        d->offset = get_f64(s);
    }
    const size_t ss = cnnz_dtype_size(d->symbol_dtype);
    uint32_t K = 0;
    if (rp == CNNZ_REPR_HAM || rp == CNNZ_REPR_SHAM) {
        K = get16(s);
        /* A codebook the writer would take (K within its symbols' range)
         * is data too, held to MAX_BYTES: codebooks of up to 65535 entries
         * of 8 bytes made a run five times slower. Larger ones, which the
         * writer must refuse, stay in. */
        if ((size_t)K * (es ? es : 1) > MAX_BYTES && K <= (ss == 1 ? 256u : 65536u))
            return 0;
        d->codebook_size = K;
        d->block_rows = get8(s);
        t->codebook = fill(s, (size_t)K * (es ? es : 1));
        if (dt == CNNZ_DT_BOOL && !raw)
            for (uint32_t k = 0; k < K; k++)
                t->codebook[k] &= 1;
        d->codebook = t->codebook;
    }
    int fuzz_name = fl >> 4 & 1;
    if (fuzz_name) {
        unsigned len = get8(s) % (NAME_MAX_FUZZ + 1);
        for (unsigned k = 0; k < len; k++)
            t->name[k] = (char)get8(s);
        d->name_len = len; /* 0: strlen, so the empty name "" */
    } else {
        snprintf(t->name, sizeof t->name, "fuzz.generated/%u/weights", index);
    }
    d->name = t->name;
    /* What the writer takes: elements in dtype, symbols, or half floats. */
    size_t unit = quant || rp == CNNZ_REPR_WIDEN ? ss : es;
    size_t good = (size_t)n * (unit ? unit : 1);
    t->size = size_off ? (good ? good - 1 + 2 * (fl >> 5 & 1) : 1) : good;
    t->data = fill(s, t->size);
    if (!raw && K && (rp == CNNZ_REPR_HAM || rp == CNNZ_REPR_SHAM) && !size_off && ss <= 2)
        for (uint64_t i = 0; i < n; i++)
            sym_put(t->data, ss, i, sym_at(t->data, ss, i) % K);
    if (!raw && dt == CNNZ_DT_BOOL && rp == CNNZ_REPR_PLAIN)
        for (size_t i = 0; i < t->size; i++)
            t->data[i] &= 1;

    /* What cnnz.h says of this descriptor. */
    int bad = dt < CNNZ_DT_F32 || dt > CNNZ_DT_BOOL || rp > CNNZ_REPR_SHAM || coder >= ncoders ||
              rank > CNNZ_MAX_RANK || size_off || (fuzz_name && d->name_len == 0);
    int unsure = fuzz_name; /* a fuzzer's name may be invalid UTF-8 or a duplicate */
    int sym_ok = d->symbol_dtype == CNNZ_DT_U8 || d->symbol_dtype == CNNZ_DT_U16;
    if (!bad) {
        switch (rp) {
        case CNNZ_REPR_PLAIN:
            if (dt == CNNZ_DT_BOOL)
                for (size_t i = 0; i < t->size; i++)
                    bad |= t->data[i] > 1;
            break;
        case CNNZ_REPR_PLANES:
            bad = es != 4 && es != 8;
            break;
        case CNNZ_REPR_WIDEN:
            bad = dt != CNNZ_DT_F32 ||
                  (d->symbol_dtype != CNNZ_DT_F16 && d->symbol_dtype != CNNZ_DT_BF16);
            break;
        case CNNZ_REPR_AFFINE:
            bad = (dt != CNNZ_DT_F32 && dt != CNNZ_DT_I32) || !sym_ok || !isfinite(d->scale) ||
                  !isfinite(d->offset);
            unsure |= dt == CNNZ_DT_I32; /* values past int32 are refused */
            break;
        default: /* ham, sham */
            bad = !sym_ok || K < 1 || K > (ss == 1 ? 256u : 65536u) || !indices_ok(t, ss, K) ||
                  (rp == CNNZ_REPR_SHAM && sham_blocks(t) > 127);
            break;
        }
    }
    t->verdict = bad ? -1 : unsure ? 0 : 1;
    return 1;
}

static int input_error(int err)
{
    switch (err) {
    case CNNZ_E_ARG:
    case CNNZ_E_NAME:
    case CNNZ_E_DUPLICATE:
    case CNNZ_E_DTYPE:
    case CNNZ_E_SHAPE:
    case CNNZ_E_REPR:
    case CNNZ_E_CODER:
    case CNNZ_E_INPUT:
    case CNNZ_E_FORMAT_LIMIT:
        return 1;
    default:
        return 0;
    }
}

struct meta {
    int on;
    uint8_t bytes[32];
    size_t len;
};

/* An image in memory. */
struct mem {
    char *p;
    size_t len;
};

/* Write the tensors (and metadata) into out with the given thread count;
 * record in t[].accepted (first run) or require the same decisions. */
static void write_file(struct tensor *t, const int *present, unsigned nt, const struct meta *m,
                       unsigned threads, int first, struct mem *out)
{
    FILE *f = open_memstream(&out->p, &out->len);
    struct cnnz_writer_options wo = {.threads = threads};
    cnnz_writer *w;
    if (!f || cnnz_writer_open_file(&w, f, &wo) != CNNZ_OK)
        abort();
    for (unsigned k = 0; k < nt; k++) {
        if (!present[k])
            continue;
        int err = cnnz_writer_add_tensor(w, &t[k].d, t[k].data, t[k].size);
        if (err && !input_error(err))
            abort(); /* a rejected tensor is the caller's fault, named as such */
        if ((err && t[k].verdict > 0) || (!err && t[k].verdict < 0))
            abort(); /* accepted what cnnz.h forbids, or refused what it allows */
        if (first)
            t[k].accepted = !err;
        else if (t[k].accepted != !err)
            abort(); /* not deterministic */
    }
    if (m->on) {
        if (cnnz_writer_meta_bytes(w, "fuzz.bytes", m->bytes, m->len) != CNNZ_OK ||
            cnnz_writer_meta_string(w, "fuzz.bytes", "again") != CNNZ_E_DUPLICATE)
            abort();
    }
    if (cnnz_writer_finish(w) != CNNZ_OK)
        abort();
    cnnz_writer_free(w);
    if (fclose(f) != 0) /* the image is complete in out from here on */
        abort();
}

/* The decoded tensor, computed from the input as spec 6 defines it. */
static uint8_t *expected(const struct tensor *t, const struct cnnz_tensor_info *ti)
{
    const struct cnnz_tensor_desc *d = &t->d;
    const size_t es = cnnz_dtype_size(d->dtype), ss = cnnz_dtype_size(d->symbol_dtype);
    uint8_t *x = xmalloc((size_t)ti->decoded_bytes);
    for (uint64_t i = 0; i < t->elements; i++) {
        uint8_t *o = x + i * es;
        if (d->repr == CNNZ_REPR_PLAIN || d->repr == CNNZ_REPR_PLANES) {
            memcpy(o, t->data + i * es, es);
        } else if (d->repr == CNNZ_REPR_HAM || d->repr == CNNZ_REPR_SHAM) {
            memcpy(o, t->codebook + (size_t)sym_at(t->data, ss, i) * es, es);
        } else if (d->repr == CNNZ_REPR_WIDEN) {
            uint16_t h = (uint16_t)sym_at(t->data, 2, i);
            float f = d->symbol_dtype == CNNZ_DT_BF16 ? cnnz_bf16_to_f32(h) : cnnz_f16_to_f32(h);
            memcpy(o, &f, 4);
        } else { /* affine: two binary64 operations, then f32 or round half up */
            double v = (double)sym_at(t->data, ss, i) * d->scale + d->offset;
            if (d->dtype == CNNZ_DT_F32) {
                float f = (float)v;
                memcpy(o, &f, 4);
            } else {
                double r = floor(v);
                if (v - r >= 0.5)
                    r += 1;
                int32_t q = (int32_t)r;
                memcpy(o, &q, 4);
            }
        }
    }
    return x;
}

/* The codebook indices decode_indices gives: sham gives the unstored
 * elements (all-zero entries) the first all-zero entry's index. */
static uint8_t *expected_indices(const struct tensor *t, int repr, uint32_t zero)
{
    const size_t es = cnnz_dtype_size(t->d.dtype), ss = cnnz_dtype_size(t->d.symbol_dtype);
    uint8_t *x = xmalloc((size_t)t->elements * ss);
    for (uint64_t i = 0; i < t->elements; i++) {
        unsigned q = sym_at(t->data, ss, i);
        if (repr == CNNZ_REPR_SHAM && all_zero(t->codebook + (size_t)q * es, es))
            q = zero;
        sym_put(x, ss, i, q);
    }
    return x;
}

static void check_tensor(const cnnz_reader *r, const struct tensor *t)
{
    const struct cnnz_tensor_desc *d = &t->d;
    const size_t es = cnnz_dtype_size(d->dtype), ss = cnnz_dtype_size(d->symbol_dtype);
    size_t idx;
    struct cnnz_tensor_info ti;
    if (cnnz_reader_find(r, t->name, &idx) != CNNZ_OK ||
        cnnz_reader_tensor_info(r, idx, &ti) != CNNZ_OK)
        abort();
    if (ti.name_len != strlen(t->name) || strcmp(ti.name, t->name) || ti.dtype != d->dtype ||
        ti.rank != d->rank || (d->rank && memcmp(ti.dims, t->dims, d->rank * sizeof *t->dims)) ||
        ti.elements != t->elements || ti.decoded_bytes != t->elements * es)
        abort();
    /* The layout: the caller's, or under AUTO its lossless alternative. */
    int alt = d->repr == CNNZ_REPR_PLAIN ? CNNZ_REPR_PLANES
              : d->repr == CNNZ_REPR_HAM ? CNNZ_REPR_SHAM
                                         : d->repr;
    if (ti.repr != d->repr && !(d->coder == CNNZ_CODER_AUTO && ti.repr == alt))
        abort();
    for (unsigned k = 0; k < ti.stream_count; k++)
        if (d->coder != CNNZ_CODER_AUTO && ti.streams[k].coder != d->coder &&
            ti.streams[k].coder != CNNZ_CODER_RAW)
            abort(); /* a stream the coder cannot take stays raw, nothing else */
    switch (d->repr) {
    case CNNZ_REPR_AFFINE:
        if (ti.symbol_dtype != d->symbol_dtype || memcmp(&ti.scale, &d->scale, sizeof ti.scale) ||
            memcmp(&ti.offset, &d->offset, sizeof ti.offset))
            abort();
        break;
    case CNNZ_REPR_WIDEN:
        if (ti.symbol_dtype != d->symbol_dtype)
            abort();
        break;
    case CNNZ_REPR_HAM:
    case CNNZ_REPR_SHAM:
        if (ti.symbol_dtype != d->symbol_dtype || ti.codebook_size != d->codebook_size ||
            (d->repr == CNNZ_REPR_SHAM && d->block_rows && ti.block_rows != d->block_rows))
            abort();
        break;
    default:
        break;
    }

    /* Decode: the expected bytes, nothing written past the end, and a
     * buffer one byte short refused. */
    const size_t nb = (size_t)ti.decoded_bytes;
    uint8_t *want = expected(t, &ti), *got = xmalloc(nb + 1);
    got[nb] = 0xA5;
    if (cnnz_reader_decode(r, idx, got, nb, NULL) != CNNZ_OK || (nb && memcmp(got, want, nb)) ||
        got[nb] != 0xA5)
        abort();
    if (nb && cnnz_reader_decode(r, idx, got, nb - 1, NULL) != CNNZ_E_BUFFER)
        abort();

    /* The in-place view: exactly for plain tensors in a raw stream. */
    const void *view;
    int verr = cnnz_reader_view(r, idx, &view, NULL);
    int viewable = ti.repr == CNNZ_REPR_PLAIN && ti.stream_count == 1 &&
                   ti.streams[0].coder == CNNZ_CODER_RAW;
    if (viewable ? verr != CNNZ_OK || (nb && memcmp(view, want, nb)) : verr != CNNZ_E_UNSUPPORTED)
        abort();

    /* Stream 0 holds the stored symbols, halves or codebook as given. */
    const uint8_t *s0 = NULL;
    size_t s0len = 0;
    if (d->repr == CNNZ_REPR_AFFINE || d->repr == CNNZ_REPR_WIDEN || ti.repr == CNNZ_REPR_PLAIN)
        s0 = t->data, s0len = t->size;
    else if (d->repr == CNNZ_REPR_HAM || d->repr == CNNZ_REPR_SHAM)
        s0 = t->codebook, s0len = (size_t)d->codebook_size * es;
    if (s0) {
        uint8_t *b = xmalloc(s0len);
        if (ti.streams[0].decoded_bytes != s0len ||
            cnnz_reader_decode_stream(r, idx, 0, b, s0len, NULL) != CNNZ_OK ||
            (s0len && memcmp(b, s0, s0len)))
            abort();
        free(b);
    }

    /* Codebook indices: ham and sham only; sham needs an all-zero entry. */
    size_t il = ss ? (size_t)t->elements * ss : 0;
    uint8_t *ib = xmalloc(il);
    int ierr = cnnz_reader_decode_indices(r, idx, ib, il, NULL);
    if (ti.repr == CNNZ_REPR_HAM || ti.repr == CNNZ_REPR_SHAM) {
        uint32_t zero = 0;
        while (zero < d->codebook_size && !all_zero(t->codebook + (size_t)zero * es, es))
            zero++;
        if (ti.repr == CNNZ_REPR_SHAM && zero == d->codebook_size) {
            if (ierr != CNNZ_E_UNSUPPORTED)
                abort();
        } else {
            uint8_t *wi = expected_indices(t, ti.repr, zero);
            if (ierr != CNNZ_OK || (il && memcmp(ib, wi, il)))
                abort();
            free(wi);
        }
    } else if (ierr != CNNZ_E_UNSUPPORTED) {
        abort();
    }
    free(ib);
    free(want);
    free(got);
}

static int coder_count(void)
{
    int n = 0;
    while (n < 256 && cnnz_coder_name(n))
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in s = {data, size, 0};
    const int ncoders = coder_count();
    const unsigned head = get8(&s);
    const unsigned nt = (head & 3) + 1, threads = (head >> 2 & 3) % 3 + 1;
    struct meta m = {.on = head >> 4 & 1};
    if (m.on) {
        m.len = get8(&s) % (sizeof m.bytes + 1);
        for (size_t k = 0; k < m.len; k++)
            m.bytes[k] = (uint8_t)get8(&s);
    }
    struct tensor t[MAX_TENSORS];
    int present[MAX_TENSORS] = {0};
    for (unsigned k = 0; k < nt; k++)
        present[k] = next_tensor(&s, &t[k], k, ncoders);

    /* Twice, with different thread counts: the same bytes. */
    struct mem f1 = {0}, f2 = {0};
    write_file(t, present, nt, &m, threads, 1, &f1);
    write_file(t, present, nt, &m, threads % 3 + 1, 0, &f2);
    if (f1.len != f2.len || memcmp(f1.p, f2.p, f1.len))
        abort();
    free(f2.p);

    cnnz_reader *r;
    struct cnnz_where where = {0};
    struct cnnz_open_options opts = {.where = &where};
    if (cnnz_reader_open_memory(&r, f1.p, f1.len, &opts) != CNNZ_OK)
        abort(); /* the writer wrote a file its reader refuses */
    size_t accepted = 0;
    for (unsigned k = 0; k < nt; k++) {
        if (!present[k] || !t[k].accepted)
            continue;
        accepted++;
        check_tensor(r, &t[k]);
    }
    if (cnnz_reader_tensor_count(r) != accepted)
        abort();
    struct cnnz_meta meta;
    if (m.on && (cnnz_reader_meta_find(r, "fuzz.bytes", &meta) != CNNZ_OK ||
                 meta.type != CNNZ_META_BYTES || meta.value_len != m.len ||
                 (m.len && memcmp(meta.value, m.bytes, m.len))))
        abort();
    if (cnnz_reader_verify(r, NULL) != CNNZ_OK || cnnz_reader_verify_mt(r, 3, NULL) != CNNZ_OK)
        abort();
    cnnz_reader_close(r);
    free(f1.p);
    for (unsigned k = 0; k < nt; k++)
        if (present[k])
            tensor_free(&t[k]);
    return 0;
}
