/* libFuzzer target: cnnz_matvec and cnnz_vecmat against a dense product on
 * the decoded tensor, and cnnz_decoder against cnnz_reader_decode, on
 * tensors the input builds through the public writer.
 *
 * Input: 8 bytes of choices, then the bytes the weights and x are drawn from
 * (cycled; an empty tail gives zeros):
 *   0 representation (ham, sham, affine, plain, widen)
 *   1 bits 0-3: the coder (raw, huffman or rans 14 times in 16, cabac and
 *     auto once each: their encoders' searches and cabac's whole-stream
 *     decodes cost the most under the fuzzer); bit 4: W x or x^T W;
 *     bits 5-6: the kernel level on one thread (portable, AVX2, AVX-512F,
 *     capped at what the CPU has), or 3: the best level on three threads
 *     with the decoded checksum verified; bit 7: the u16 symbol dtype
 *   2 rows (1..36)            3 columns (1..56)
 *   4 dtype (f32, f16, bf16); bits 2-3: the rank of the shape (1, 2, 4)
 *   5 codebook entries (2..257 with u8 symbols, to 300 with u16)
 *   6 sham block_rows (0: the writer's choice)
 *   7 fraction of elements that index the zero entry (ham, sham), /255
 * Every weight bit pattern is allowed (NaN, infinities, subnormals); x is
 * finite, so that sham's skipped zeros add nothing (cnnz.h). The product is
 * checked bit for bit, NaN against NaN. Under libFuzzer (CNNZ_FUZZING) an
 * input does the one product byte 1 picks: a run is then about twice as
 * fast, and the fuzzer flips those bits anyway. The plain replay in make
 * check does all eight for every saved input, so a crasher found with one
 * product still tests every kernel level. A writer refusal (an input that is not a valid tensor
 * description) ends the run quietly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../libcnnz/tests/matvec_ref.h"
#include "cnnz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libcnnz/src/matvec.c: simd 0 portable, 1 AVX2, 2 AVX-512F (at most). */
int cnnz__matvec_with(int simd, int trans, const cnnz_reader *r, size_t index, const float *x,
                      size_t x_len, float *y, size_t y_len, const struct cnnz_matvec_options *opts,
                      struct cnnz_where *w);

struct src {
    const uint8_t *p;
    size_t n, at;
};

static uint8_t take(struct src *s)
{
    if (!s->n)
        return 0;
    uint8_t b = s->p[s->at];
    s->at = (s->at + 1) % s->n;
    return b;
}

struct sink_buf {
    uint8_t *p;
    size_t len, cap;
};

static int sink_write(void *opaque, const void *buf, size_t n)
{
    struct sink_buf *b = opaque;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, buf, n);
    b->len += n;
    return 0;
}

static int same(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i])))
            return 0;
        else if (a[i] == b[i] && memcmp(&a[i], &b[i], 4)) /* +0 against -0 */
            return 0;
    return 1;
}

static void check_product(const cnnz_reader *r, const struct cnnz_tensor_info *ti,
                          const float *w, uint64_t rows, uint64_t cols, unsigned pick,
                          struct src *s)
{
    const size_t nx = (size_t)(rows > cols ? rows : cols);
    float *x = malloc(nx * sizeof *x), *y = malloc((nx + 1) * sizeof *y);
    float *ref = malloc(nx * sizeof *ref), *part = malloc(nx * sizeof *part);
    if (!x || !y || !ref || !part)
        abort();
    for (size_t i = 0; i < nx; i++) /* finite: sixteenths in [-8, 8) */
        x[i] = (float)(int8_t)take(s) / 16.0f;
    const int trans = pick & 1, k = (int)(pick >> 1);
    const uint64_t in = trans ? rows : cols, out = trans ? cols : rows;
    if (trans)
        ref_vecmat(w, rows, cols, ti->repr == CNNZ_REPR_SHAM ? ti->block_rows : rows, x, ref,
                   part);
    else
        ref_matvec(w, rows, cols, x, ref);
    /* a level the CPU lacks runs the best it has; the threaded run (the
     * fuzzing build threads any size) also verifies the decoded checksum */
    struct cnnz_matvec_options o = {.threads = k < 3 ? 1 : 3, .verify = k == 3};
    y[out] = 12345.0f; /* nothing past y_len */
    int e = cnnz__matvec_with(k < 3 ? k : 2, trans, r, 0, x, (size_t)in, y, (size_t)out, &o,
                              NULL);
    if (e != CNNZ_OK || !same(y, ref, (size_t)out) || y[out] != 12345.0f)
        abort(); /* the product differs from the dense one */
    free(x);
    free(y);
    free(ref);
    free(part);
}

/* cnnz_decoder, in chunks of an input-chosen size, gives the same bytes. */
static void check_decoder(const cnnz_reader *r, const uint8_t *whole, size_t len, size_t es,
                          struct src *s)
{
    size_t chunk = es * (1 + take(s) % 37);
    uint8_t *buf = malloc(chunk);
    cnnz_decoder *d;
    if (!buf || cnnz_decoder_open(&d, r, 0, NULL) != CNNZ_OK)
        abort();
    size_t at = 0, n;
    int e;
    while ((e = cnnz_decoder_read(d, buf, chunk, &n, NULL)) == CNNZ_OK && n) {
        if (n % es || at + n > len || memcmp(buf, whole + at, n))
            abort();
        at += n;
    }
    if (e != CNNZ_OK || at != len)
        abort();
    cnnz_decoder_close(d);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int reprs[] = {CNNZ_REPR_HAM, CNNZ_REPR_SHAM, CNNZ_REPR_AFFINE, CNNZ_REPR_PLAIN,
                                CNNZ_REPR_WIDEN};
    static const int coders[16] = {
        CNNZ_CODER_RAW,  CNNZ_CODER_HUFFMAN, CNNZ_CODER_RANS, CNNZ_CODER_RAW,
        CNNZ_CODER_HUFFMAN, CNNZ_CODER_RANS, CNNZ_CODER_RAW,  CNNZ_CODER_HUFFMAN,
        CNNZ_CODER_RANS, CNNZ_CODER_RAW,  CNNZ_CODER_HUFFMAN, CNNZ_CODER_RANS,
        CNNZ_CODER_RAW,  CNNZ_CODER_HUFFMAN, CNNZ_CODER_CABAC, CNNZ_CODER_AUTO};
    static const int dtypes[] = {CNNZ_DT_F32, CNNZ_DT_F16, CNNZ_DT_BF16};
    if (size < 8)
        return 0;
    struct src s = {data + 8, size - 8, 0};
    const int repr = reprs[data[0] % 5], coder = coders[data[1] & 15];
    const int wide = data[1] >> 7;
    const uint64_t rows = 1 + data[2] % 36, cols = 1 + data[3] % 56;
    int dtype = dtypes[(data[4] & 3) % 3];
    const unsigned rank_pick = (data[4] >> 2) & 3;
    if (repr == CNNZ_REPR_AFFINE || repr == CNNZ_REPR_WIDEN)
        dtype = CNNZ_DT_F32;
    const size_t es = cnnz_dtype_size(dtype);
    uint32_t K = 2 + data[5] % (wide ? 299 : 256);
    const unsigned zero_pct = data[7];

    /* the shape: [rows, cols], [rows * cols], or [rows, c1, c2, c3] */
    uint64_t dims[4] = {rows, cols, 1, 1};
    unsigned rank = 2;
    if (rank_pick == 1) {
        rank = 1;
        dims[0] = rows * cols;
    } else if (rank_pick >= 2 && cols % 3 == 0) {
        rank = 4;
        dims[1] = cols / 3, dims[2] = 3, dims[3] = 1;
    }
    const uint64_t n = rows * cols;
    struct cnnz_tensor_desc d;
    memset(&d, 0, sizeof d);
    d.name = "w";
    d.dtype = dtype;
    d.rank = rank;
    d.dims = dims;
    d.repr = repr;
    d.coder = coder;
    d.symbol_dtype = wide ? CNNZ_DT_U16 : CNNZ_DT_U8;
    d.block_rows = data[6] % (rows + 1);
    uint8_t *cb = NULL, *in = NULL;
    size_t in_len = 0;
    if (repr == CNNZ_REPR_HAM || repr == CNNZ_REPR_SHAM) {
        if (!(cb = malloc((size_t)K * es)))
            abort();
        memset(cb, 0, es); /* entry 0: the zero */
        for (size_t i = es; i < (size_t)K * es; i++)
            cb[i] = take(&s);
        d.codebook = cb;
        d.codebook_size = K;
        const size_t ss = wide ? 2 : 1;
        in_len = (size_t)n * ss;
        if (!(in = malloc(in_len)))
            abort();
        for (uint64_t i = 0; i < n; i++) {
            unsigned q = take(&s) <= zero_pct ? 0 : (take(&s) | (unsigned)take(&s) << 8) % K;
            in[i * ss] = (uint8_t)q;
            if (ss == 2)
                in[i * ss + 1] = (uint8_t)(q >> 8);
        }
    } else if (repr == CNNZ_REPR_AFFINE) {
        d.scale = (double)(1 + take(&s)) / 512.0;
        d.offset = (double)(int8_t)take(&s) / 8.0;
        const size_t ss = wide ? 2 : 1;
        in_len = (size_t)n * ss;
        if (!(in = malloc(in_len)))
            abort();
        for (size_t i = 0; i < in_len; i++)
            in[i] = take(&s);
    } else {
        const size_t ss = repr == CNNZ_REPR_WIDEN ? 2 : es;
        if (repr == CNNZ_REPR_WIDEN)
            d.symbol_dtype = wide ? CNNZ_DT_BF16 : CNNZ_DT_F16;
        in_len = (size_t)n * ss;
        if (!(in = malloc(in_len)))
            abort();
        for (size_t i = 0; i < in_len; i++)
            in[i] = take(&s);
    }

    struct sink_buf file = {NULL, 0, 0};
    struct cnnz_sink sink = {sink_write, &file};
    struct cnnz_writer_options wo = {.threads = 1};
    cnnz_writer *wr;
    int e = cnnz_writer_open(&wr, &sink, &wo);
    if (e)
        abort();
    e = cnnz_writer_add_tensor(wr, &d, in, in_len);
    if (!e)
        e = cnnz_writer_finish(wr);
    cnnz_writer_free(wr);
    free(cb);
    free(in);
    if (e) { /* not a valid description: nothing to multiply */
        free(file.p);
        return 0;
    }
    cnnz_reader *r;
    struct cnnz_tensor_info ti;
    if (cnnz_reader_open_memory(&r, file.p, file.len, NULL) ||
        cnnz_reader_tensor_info(r, 0, &ti))
        abort(); /* the writer's own file does not read back */
    uint8_t *dec = malloc((size_t)ti.decoded_bytes + 1);
    float *w = malloc((size_t)n * sizeof *w + 1);
    if (!dec || !w || cnnz_reader_decode(r, 0, dec, (size_t)ti.decoded_bytes, NULL))
        abort();
    for (uint64_t i = 0; i < n; i++)
        w[i] = ref_element(dec + i * es, dtype);
    uint64_t mr, mc;
    if (cnnz_matrix_shape(&ti, &mr, &mc) || mr * mc != n)
        abort();
#ifdef CNNZ_FUZZING
    check_product(r, &ti, w, mr, mc, (data[1] >> 4) & 7, &s);
#else
    const size_t x_at = s.at;
    for (unsigned pick = 0; pick < 8; pick++) {
        s.at = x_at; /* the same x for each */
        check_product(r, &ti, w, mr, mc, pick, &s);
    }
#endif
    check_decoder(r, dec, (size_t)ti.decoded_bytes, es, &s);
    free(dec);
    free(w);
    cnnz_reader_close(r);
    free(file.p);
    return 0;
}
