/* NumPy .npy parsing and header building (npy.h). */
#include "npy.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *descr; /* as written */
    int dtype;
} descrs[] = {
    {"<f2", CNNZ_DT_F16}, {"<f4", CNNZ_DT_F32}, {"<f8", CNNZ_DT_F64}, {"|i1", CNNZ_DT_I8},
    {"|u1", CNNZ_DT_U8},  {"<i2", CNNZ_DT_I16}, {"<u2", CNNZ_DT_U16}, {"<i4", CNNZ_DT_I32},
    {"<u4", CNNZ_DT_U32}, {"<i8", CNNZ_DT_I64}, {"<u8", CNNZ_DT_U64}, {"|b1", CNNZ_DT_BOOL},
};
#define NDESCRS (sizeof descrs / sizeof descrs[0])

const char *npy_descr(int dtype)
{
    if (dtype == CNNZ_DT_BF16)
        return "<u2"; /* no NumPy dtype: its raw 16-bit patterns */
    for (size_t i = 0; i < NDESCRS; i++)
        if (descrs[i].dtype == dtype)
            return descrs[i].descr;
    return NULL;
}

/* A tiny cursor over the header dict text. */
struct lex {
    const char *p, *end;
};

static void skip_ws(struct lex *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
        l->p++;
}

static int eat(struct lex *l, char c)
{
    skip_ws(l);
    if (l->p < l->end && *l->p == c) {
        l->p++;
        return 1;
    }
    return 0;
}

/* A Python string literal in ' or " quotes, without escapes. */
static int string(struct lex *l, const char **s, size_t *n)
{
    skip_ws(l);
    if (l->p >= l->end || (*l->p != '\'' && *l->p != '"'))
        return 0;
    char q = *l->p++;
    const char *start = l->p;
    while (l->p < l->end && *l->p != q) {
        if (*l->p == '\\')
            return 0;
        l->p++;
    }
    if (l->p >= l->end)
        return 0;
    *s = start;
    *n = (size_t)(l->p - start);
    l->p++;
    return 1;
}

static int word(struct lex *l, const char *w)
{
    skip_ws(l);
    size_t n = strlen(w);
    if ((size_t)(l->end - l->p) >= n && memcmp(l->p, w, n) == 0) {
        l->p += n;
        return 1;
    }
    return 0;
}

static int number(struct lex *l, uint64_t *v)
{
    skip_ws(l);
    if (l->p >= l->end || *l->p < '0' || *l->p > '9')
        return 0;
    uint64_t x = 0;
    while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
        if (fmt_mul_u64(x, 10, &x) || fmt_add_u64(x, (uint64_t)(*l->p - '0'), &x))
            return 0;
        l->p++;
    }
    if (l->p < l->end && *l->p == 'L') /* Python 2 longs */
        l->p++;
    *v = x;
    return 1;
}

static int parse_descr(const char *s, size_t n, int *dtype, char *err, size_t es)
{
    if (n == 3) {
        char order = s[0], kind = s[1], size = s[2];
        int one = size == '1';
        if (order == '>' && !one)
            return fmt_fail(err, es, FMT_E_UNSUPPORTED, "big-endian .npy not supported (dtype '%.3s')", s);
        if (order == '<' || order == '=' || (one && (order == '|' || order == '>'))) {
            for (size_t i = 0; i < NDESCRS; i++)
                if (descrs[i].descr[1] == kind && descrs[i].descr[2] == size) {
                    *dtype = descrs[i].dtype;
                    return FMT_OK;
                }
        }
    }
    char q[64];
    return fmt_fail(err, es, FMT_E_UNSUPPORTED, "unsupported .npy dtype '%s'", fmt_quote(q, sizeof q, s, n, 40));
}

int npy_parse(const void *buf, size_t size, struct npy_array *out, char *err, size_t es)
{
    const unsigned char *b = buf;
    if (!buf || !out)
        return fmt_fail(err, es, FMT_E_INVALID, "no input");
    memset(out, 0, sizeof *out);
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return fmt_fail(err, es, FMT_E_INVALID, "not a .npy file (bad magic)");
    unsigned major = b[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | ((size_t)b[9] << 8);
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12)
            return fmt_fail(err, es, FMT_E_INVALID, "truncated .npy header");
        hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
        hstart = 12;
    } else {
        return fmt_fail(err, es, FMT_E_UNSUPPORTED, ".npy format version %u.%u not supported", major, b[7]);
    }
    if (hlen > size - hstart)
        return fmt_fail(err, es, FMT_E_INVALID, ".npy header length %zu runs past the end of the file", hlen);
    struct lex l = {(const char *)b + hstart, (const char *)b + hstart + hlen};
    for (const char *p = l.p; p < l.end; p++)
        if (*p == '\0')
            return fmt_fail(err, es, FMT_E_INVALID, "NUL byte in the .npy header");
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0, dtype = 0;
    if (!eat(&l, '{'))
        return fmt_fail(err, es, FMT_E_INVALID, ".npy header is not a dict");
    while (!eat(&l, '}')) {
        const char *k;
        size_t kn;
        if (!string(&l, &k, &kn) || !eat(&l, ':'))
            return fmt_fail(err, es, FMT_E_INVALID, "malformed .npy header dict");
        if (kn == 5 && memcmp(k, "descr", 5) == 0 && !have_descr) {
            const char *v;
            size_t vn;
            if (!string(&l, &v, &vn))
                return fmt_fail(err, es, FMT_E_UNSUPPORTED, "structured .npy dtypes are not supported");
            int st = parse_descr(v, vn, &dtype, err, es);
            if (st)
                return st;
            have_descr = 1;
        } else if (kn == 13 && memcmp(k, "fortran_order", 13) == 0 && !have_order) {
            if (word(&l, "True"))
                fortran = 1;
            else if (!word(&l, "False"))
                return fmt_fail(err, es, FMT_E_INVALID, "fortran_order must be True or False");
            have_order = 1;
        } else if (kn == 5 && memcmp(k, "shape", 5) == 0 && !have_shape) {
            if (!eat(&l, '('))
                return fmt_fail(err, es, FMT_E_INVALID, "shape must be a tuple");
            while (!eat(&l, ')')) {
                uint64_t d;
                if (out->rank == CNNZ_MAX_RANK)
                    return fmt_fail(err, es, FMT_E_UNSUPPORTED, "rank above %u", CNNZ_MAX_RANK);
                if (!number(&l, &d))
                    return fmt_fail(err, es, FMT_E_INVALID, "bad dimension in shape");
                out->dims[out->rank++] = d;
                if (!eat(&l, ',')) {
                    if (!eat(&l, ')'))
                        return fmt_fail(err, es, FMT_E_INVALID, "bad shape tuple");
                    break;
                }
            }
            have_shape = 1;
        } else {
            char q[64];
            return fmt_fail(err, es, FMT_E_INVALID, "unexpected or repeated key '%s' in .npy header",
                            fmt_quote(q, sizeof q, k, kn, 40));
        }
        if (!eat(&l, ',')) {
            if (!eat(&l, '}'))
                return fmt_fail(err, es, FMT_E_INVALID, "malformed .npy header dict");
            break;
        }
    }
    skip_ws(&l);
    if (l.p != l.end)
        return fmt_fail(err, es, FMT_E_INVALID, "trailing text after the .npy header dict");
    if (!have_descr || !have_order || !have_shape)
        return fmt_fail(err, es, FMT_E_INVALID, ".npy header lacks descr, fortran_order or shape");
    if (fortran)
        return fmt_fail(err, es, FMT_E_UNSUPPORTED, "Fortran-order .npy not supported (save with C order)");
    uint64_t n = 1, bytes;
    int zero = 0;
    for (unsigned i = 0; i < out->rank; i++)
        zero |= out->dims[i] == 0;
    for (unsigned i = 0; i < out->rank && !zero; i++)
        if (fmt_mul_u64(n, out->dims[i], &n))
            return fmt_fail(err, es, FMT_E_INVALID, "shape element count overflows");
    if (zero)
        n = 0;
    if (fmt_mul_u64(n, cnnz_dtype_size(dtype), &bytes))
        return fmt_fail(err, es, FMT_E_INVALID, "shape byte size overflows");
    size_t data_off = hstart + hlen;
    if (bytes != (uint64_t)(size - data_off))
        return fmt_fail(err, es, FMT_E_INVALID, ".npy data is %zu bytes, shape and dtype need %llu",
                        size - data_off, (unsigned long long)bytes);
    if (dtype == CNNZ_DT_BOOL)
        for (size_t i = 0; i < bytes; i++)
            if (b[data_off + i] > 1)
                return fmt_fail(err, es, FMT_E_INVALID, "bool .npy holds a byte other than 0 or 1");
    out->dtype = dtype;
    out->elements = n;
    out->version_major = major;
    out->data_offset = data_off;
    out->data = b + data_off;
    out->data_bytes = (size_t)bytes;
    return FMT_OK;
}

int npy_header(int dtype, unsigned rank, const uint64_t *dims, unsigned char *buf, size_t cap,
               size_t *len, char *err, size_t es)
{
    const char *d = npy_descr(dtype);
    if (!d || rank > CNNZ_MAX_RANK)
        return fmt_fail(err, es, FMT_E_INVALID, "cannot write this dtype or rank as .npy");
    char dict[1800];
    size_t n = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", d);
    for (unsigned i = 0; i < rank; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%llu%s", (unsigned long long)dims[i],
                              rank == 1 ? "," : (i + 1 < rank ? ", " : ""));
    n += (size_t)snprintf(dict + n, sizeof dict - n, "), }");
    /* As numpy >= 1.24 writes it: spare spaces so the first axis can grow in
     * place (21 digits), then padding so the data starts on a 64-byte
     * boundary (1..64 spaces) and a newline. */
    if (rank > 0) {
        int digits = snprintf(NULL, 0, "%llu", (unsigned long long)dims[0]);
        for (int i = digits; i < 21; i++)
            dict[n++] = ' ';
    }
    size_t pad = 64 - (10 + n + 1) % 64;
    size_t total = 10 + n + pad + 1;
    if (total > cap || total - 10 > 65535)
        return fmt_fail(err, es, FMT_E_INVALID, ".npy header does not fit");
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((total - 10) & 0xFF);
    buf[9] = (unsigned char)((total - 10) >> 8);
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, ' ', pad);
    buf[total - 1] = '\n';
    *len = total;
    return FMT_OK;
}
