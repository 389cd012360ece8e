/* libFuzzer target: the decoding entry points other than
 * cnnz_reader_decode on arbitrary bytes opened as a .cnnz file (the reader
 * target has open, list, decode and verify): cnnz_decoder in chunks, and
 * for the float tensors cnnz_matvec and cnnz_vecmat. Each must agree with
 * cnnz_reader_decode on the same bytes: the same bytes out, the dense
 * product in cnnz.h's order, and a structural fault (CNNZ_E_CORRUPT) that
 * decode finds found by them too. Seeds: fuzz/corpus/compute (conformance
 * vectors of the compute representations). Replayed by replay.c in make
 * check like the others. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../libcnnz/tests/matvec_ref.h"
#include "cnnz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MV_MAX_ELEMS 65536u /* products checked up to this many elements */

/* cnnz_decoder in chunks of 3 elements: the whole decode's bytes (whole,
 * when err is 0), and a structural fault when decode found one. */
static void check_decoder(const cnnz_reader *r, size_t i, const struct cnnz_tensor_info *ti,
                          const uint8_t *whole, int err)
{
    const size_t es = cnnz_dtype_size(ti->dtype);
    uint8_t buf[3 * 8];
    cnnz_decoder *d;
    int e = cnnz_decoder_open(&d, r, i, NULL);
    if (e) {
        if (!err)
            abort(); /* the decoder refused what decode accepted */
        return;
    }
    uint64_t at = 0;
    size_t n;
    while ((e = cnnz_decoder_read(d, buf, 3 * es, &n, NULL)) == CNNZ_OK && n) {
        if (!err && (at + n > ti->decoded_bytes || memcmp(buf, whole + at, n)))
            abort(); /* different bytes */
        at += n;
    }
    cnnz_decoder_close(d);
    if (!err && (e || at != ti->decoded_bytes))
        abort();
    if (err == CNNZ_E_CORRUPT && e != CNNZ_E_CORRUPT)
        abort(); /* a structural fault the decoder did not see */
}

/* cnnz_matvec and cnnz_vecmat against the dense product of the decoded
 * tensor (x: small finite values, so that sham's skipped zeros add nothing). */
static void check_products(const cnnz_reader *r, size_t i, const struct cnnz_tensor_info *ti,
                           const uint8_t *whole, int err)
{
    uint64_t rows, cols;
    if (cnnz_matrix_shape(ti, &rows, &cols) || !rows || !cols || rows > MV_MAX_ELEMS / cols)
        return;
    const size_t n = (size_t)(rows * cols), nx = (size_t)(rows > cols ? rows : cols);
    const size_t es = cnnz_dtype_size(ti->dtype);
    float *w = malloc(n * sizeof *w), *x = malloc(nx * sizeof *x);
    float *y = malloc(nx * sizeof *y), *ref = malloc(nx * sizeof *ref);
    float *part = malloc(nx * sizeof *part);
    if (!w || !x || !y || !ref || !part)
        abort();
    for (size_t k = 0; k < nx; k++)
        x[k] = (float)((int)(k % 7) - 3) / 4.0f;
    if (!err)
        for (size_t k = 0; k < n; k++)
            w[k] = ref_element(whole + k * es, ti->dtype);
    for (int trans = 0; trans < 2; trans++) {
        const uint64_t in = trans ? rows : cols, out = trans ? cols : rows;
        struct cnnz_matvec_options o = {.threads = 1};
        int e = trans ? cnnz_vecmat(r, i, x, (size_t)in, y, (size_t)out, &o, NULL)
                      : cnnz_matvec(r, i, x, (size_t)in, y, (size_t)out, &o, NULL);
        if (err == CNNZ_E_CORRUPT && e != CNNZ_E_CORRUPT)
            abort(); /* a structural fault the product did not see */
        if (err || e)
            continue;
        if (trans)
            ref_vecmat(w, rows, cols, ti->repr == CNNZ_REPR_SHAM ? ti->block_rows : 0, x, ref,
                       part);
        else
            ref_matvec(w, rows, cols, x, ref);
        for (uint64_t k = 0; k < out; k++)
            if (!(y[k] == ref[k] || (y[k] != y[k] && ref[k] != ref[k])))
                abort(); /* the product differs from the dense one */
    }
    free(w);
    free(x);
    free(y);
    free(ref);
    free(part);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cnnz_limits lim;
    cnnz_limits_default(&lim);
    lim.max_tensor_bytes = 1u << 22; /* keep the fuzzer's memory small */
    lim.max_stream_bytes = 1u << 22;
    struct cnnz_open_options opts = {.limits = &lim};
    cnnz_reader *r;
    if (cnnz_reader_open_memory(&r, data, size, &opts) != CNNZ_OK)
        return 0;
    for (size_t i = 0; i < cnnz_reader_tensor_count(r); i++) {
        struct cnnz_tensor_info ti;
        if (cnnz_reader_tensor_info(r, i, &ti) != CNNZ_OK)
            abort();
        uint8_t *buf = malloc(ti.decoded_bytes ? (size_t)ti.decoded_bytes : 1);
        if (!buf)
            continue;
        int err = cnnz_reader_decode(r, i, buf, (size_t)ti.decoded_bytes, NULL);
        check_decoder(r, i, &ti, buf, err);
        if (ti.dtype == CNNZ_DT_F32 || ti.dtype == CNNZ_DT_F16 || ti.dtype == CNNZ_DT_BF16)
            check_products(r, i, &ti, buf, err);
        free(buf);
    }
    cnnz_reader_close(r);
    return 0;
}
