/* cnnz-gen-vectors: writes the conformance vectors of conformance/valid/ and
 * their manifest, reproducibly (fixed seeds, libcnnz's deterministic writer).
 *
 *   cnnz-gen-vectors OUTDIR      writes the vectors into OUTDIR/valid, and OUTDIR/manifest.tsv
 *
 * One vector per coder x representation x dtype feature, each a file with
 * one tensor named after its feature, so a failing decoder shows at once
 * which feature it gets wrong. `make check` regenerates the vectors into the
 * build tree and requires them to equal the committed ones byte for byte,
 * and decodes each through libcnnz against the manifest. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "cnnz.h"

/* ------------------------------------------------------------ data */

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double unit(struct rng *r)
{
    return (double)(next(r) >> 11) * 0x1p-53;
}

/* Roughly normal (sum of four uniforms), like trained weights. */
static double normal(struct rng *r)
{
    return (unit(r) + unit(r) + unit(r) + unit(r) - 2.0) * 1.7320508;
}

/* A skewed small integer: geometric-ish, capped below k. */
static unsigned skewed(struct rng *r, unsigned k)
{
    unsigned v = 0;
    while (v + 1 < k && unit(r) < 0.6)
        v++;
    return v;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_f32(uint8_t *p, float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(b >> (8 * i));
}

/* ------------------------------------------------------------ output */

struct out {
    const char *dir;
    FILE *manifest;
    int failed;
};

/* SHA-256 of p as 64 hex digits into hex[65]. */
static void sha256_hex(const uint8_t *p, size_t n, char hex[65])
{
    unsigned char md[32];
    unsigned len = 0;
    if (!EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) || len != 32) {
        fputs("cnnz-gen-vectors: SHA-256 failed\n", stderr);
        exit(1);
    }
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
        fprintf(stderr, "cnnz-gen-vectors: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

struct mem {
    uint8_t *p;
    size_t n, cap;
};

static int mem_write(void *opaque, const void *buf, size_t n)
{
    struct mem *m = opaque;
    if (m->n + n > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->n + n)
            cap *= 2;
        uint8_t *q = realloc(m->p, cap);
        if (!q)
            return -1;
        m->p = q;
        m->cap = cap;
    }
    memcpy(m->p + m->n, buf, n);
    m->n += n;
    return 0;
}

/* Write one single-tensor vector and its manifest line. The expected
 * decoded bytes are computed here by the caller, independently of libcnnz's
 * decoder; the file's decoded_xxh64 must agree with them. */
static void vector(struct out *o, const char *name, const char *features,
                   const struct cnnz_tensor_desc *d0, const void *data, size_t size,
                   const uint8_t *expect, size_t expect_size)
{
    struct cnnz_tensor_desc d = *d0;
    d.name = name;
    struct mem m = {0};
    struct cnnz_sink s = {mem_write, &m};
    cnnz_writer *w = NULL;
    int err = cnnz_writer_open(&w, &s, NULL);
    if (!err)
        err = cnnz_writer_add_tensor(w, &d, data, size);
    if (!err)
        err = cnnz_writer_finish(w);
    cnnz_writer_free(w);
    if (err) {
        fprintf(stderr, "cnnz-gen-vectors: %s: %s\n", name, cnnz_error_token(err));
        o->failed = 1;
        free(m.p);
        return;
    }
    char path[4096], shape[512];
    snprintf(path, sizeof path, "%s/valid/%s.cnnz", o->dir, name);
    if (write_file(path, m.p, m.n))
        o->failed = 1;
    size_t k = 0;
    shape[k++] = '[';
    for (unsigned i = 0; i < d.rank; i++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%llu", i ? "," : "",
                              (unsigned long long)d.dims[i]);
    snprintf(shape + k, sizeof shape - k, "]");
    char sha[65];
    sha256_hex(expect, expect_size, sha);
    fprintf(o->manifest, "valid/%s.cnnz\tvalid\tdecode\t%s\t%s\t%s\t%016llx\t%s\t%s\n", name,
            name, cnnz_dtype_name(d.dtype), shape,
            (unsigned long long)XXH64(expect, expect_size, 0), sha, features);
    free(m.p);
}

/* ------------------------------------------------------------ features */

enum { MAXN = 1 << 17 };
static uint8_t in[MAXN * 8], ex[MAXN * 8], cb[65536 * 8];

static struct cnnz_tensor_desc desc(int dtype, unsigned rank, const uint64_t *dims, int repr,
                                    int coder)
{
    struct cnnz_tensor_desc d;
    memset(&d, 0, sizeof d);
    d.dtype = dtype;
    d.rank = rank;
    d.dims = dims;
    d.repr = repr;
    d.coder = coder;
    return d;
}

static size_t count(unsigned rank, const uint64_t *dims)
{
    size_t n = 1;
    for (unsigned i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    return n;
}

/* plain: expected bytes are the input */
static void plain(struct out *o, const char *coder_name, int coder, const char *feat, int dtype,
                  unsigned rank, const uint64_t *dims, struct rng *r, int kind)
{
    size_t n = count(rank, dims), es = cnnz_dtype_size(dtype);
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = in + i * es;
        if (dtype == CNNZ_DT_F32) {
            put_f32(p, (float)(normal(r) * 0.05));
        } else if (dtype == CNNZ_DT_BOOL) {
            p[0] = unit(r) < 0.2;
        } else if (kind == 1) { /* one symbol */
            memset(p, 7, es);
        } else if (kind == 2 && es == 2) { /* every u16 value once */
            put16(p, (uint16_t)(i * 40503u));
        } else {
            for (size_t b = 0; b < es; b++)
                p[b] = (uint8_t)(b == 0 ? skewed(r, 256) * 3 : next(r));
        }
    }
    char name[256], f[256];
    snprintf(name, sizeof name, "%s-%s", coder_name, feat);
    snprintf(f, sizeof f, "coder=%s,repr=plain,dtype=%s", coder_name, cnnz_dtype_name(dtype));
    struct cnnz_tensor_desc d = desc(dtype, rank, dims, CNNZ_REPR_PLAIN, coder);
    vector(o, name, f, &d, in, n * es, in, n * es);
}

static void planes(struct out *o, const char *coder_name, int coder, const char *feat, int dtype,
                   unsigned rank, const uint64_t *dims, struct rng *r)
{
    size_t n = count(rank, dims), es = cnnz_dtype_size(dtype);
    for (size_t i = 0; i < n; i++) {
        if (dtype == CNNZ_DT_F32) {
            put_f32(in + 4 * i, (float)(normal(r) * 0.05));
        } else {
            double v = normal(r) * 0.05;
            memcpy(in + 8 * i, &v, 8); /* little-endian hosts only, as the tool builds */
        }
    }
    char name[256], f[256];
    snprintf(name, sizeof name, "%s-%s", coder_name, feat);
    snprintf(f, sizeof f, "coder=%s,repr=planes,dtype=%s", coder_name, cnnz_dtype_name(dtype));
    struct cnnz_tensor_desc d = desc(dtype, rank, dims, CNNZ_REPR_PLANES, coder);
    vector(o, name, f, &d, in, n * es, in, n * es);
}

/* affine f32 from u8/u16 symbols: expected = (f32)((f64)q * scale + offset) */
static void affine(struct out *o, const char *coder_name, int coder, const char *feat, int symdt,
                   unsigned rank, const uint64_t *dims, struct rng *r)
{
    size_t n = count(rank, dims), ss = cnnz_dtype_size(symdt);
    const double scale = 0.0078125, offset = -1.0;
    for (size_t i = 0; i < n; i++) {
        unsigned q = (unsigned)(128 + (int)(normal(r) * 12)); /* 87 ..= 169 */
        if (ss == 1)
            in[i] = (uint8_t)q;
        else
            put16(in + 2 * i, (uint16_t)(q * 200));
        volatile double x = (double)(ss == 1 ? q : q * 200) * scale;
        put_f32(ex + 4 * i, (float)(x + offset));
    }
    char name[256], f[256];
    snprintf(name, sizeof name, "%s-%s", coder_name, feat);
    snprintf(f, sizeof f, "coder=%s,repr=affine,dtype=f32,symbols=%s", coder_name,
             cnnz_dtype_name(symdt));
    struct cnnz_tensor_desc d = desc(CNNZ_DT_F32, rank, dims, CNNZ_REPR_AFFINE, coder);
    d.symbol_dtype = symdt;
    d.scale = scale;
    d.offset = offset;
    vector(o, name, f, &d, in, n * ss, ex, n * 4);
}

/* ham / sham with an f32 codebook whose entry 0 is 0.0 (pruned weights). */
static void indexed(struct out *o, const char *coder_name, int coder, const char *feat, int repr,
                    int symdt, uint32_t k, double zero_frac, uint64_t block_rows, unsigned rank,
                    const uint64_t *dims, struct rng *r)
{
    size_t n = count(rank, dims), ss = cnnz_dtype_size(symdt);
    for (uint32_t j = 0; j < k; j++)
        put_f32(cb + 4 * j, j ? (float)((double)j / k - 0.5) : 0.0f);
    for (size_t i = 0; i < n; i++) {
        unsigned q = unit(r) < zero_frac ? 0 : 1 + (unsigned)(unit(r) * (k - 1));
        if (k == 1)
            q = 0;
        if (ss == 1)
            in[i] = (uint8_t)q;
        else
            put16(in + 2 * i, (uint16_t)q);
        memcpy(ex + 4 * i, cb + 4 * q, 4);
    }
    char name[256], f[256];
    snprintf(name, sizeof name, "%s-%s", coder_name, feat);
    snprintf(f, sizeof f, "coder=%s,repr=%s,dtype=f32,symbols=%s,codebook=%u", coder_name,
             cnnz_repr_name(repr), cnnz_dtype_name(symdt), (unsigned)k);
    struct cnnz_tensor_desc d = desc(CNNZ_DT_F32, rank, dims, repr, coder);
    d.symbol_dtype = symdt;
    d.codebook = cb;
    d.codebook_size = k;
    d.block_rows = block_rows;
    vector(o, name, f, &d, in, n * ss, ex, n * 4);
}

/* Several tensors in one file (spec 4, 5.1, 5.3): small tensors share a TDAT
 * section, a large raw one (>= 64 KiB) gets its own between them, names
 * share prefixes with the name before them (and one does not), the large
 * stream is 64-byte aligned and the small raw ones 8-byte aligned. One
 * manifest line per tensor. */
static void sections(struct out *o)
{
    static uint8_t big[70000];
    static const uint64_t d64[1] = {64}, d16[1] = {16}, d70k[1] = {70000}, d200[2] = {10, 20},
                          d3[1] = {3};
    struct rng r = {UINT64_C(0x5345435449) /* "SECTI" */};
    static uint8_t f64[64 * 4], f16[16 * 4], f1[4], a200[200], ea200[200 * 4], u3[3];
    for (size_t i = 0; i < 64; i++)
        put_f32(f64 + 4 * i, (float)(normal(&r) * 0.05));
    for (size_t i = 0; i < 16; i++)
        put_f32(f16 + 4 * i, (float)(normal(&r) * 0.01));
    put_f32(f1, 0.75f);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)next(&r);
    for (size_t i = 0; i < 200; i++) {
        a200[i] = (uint8_t)(128 + (int)(normal(&r) * 6));
        volatile double x = (double)a200[i] * 0.015625;
        put_f32(ea200 + 4 * i, (float)(x + -2.0));
    }
    memcpy(u3, "\x01\x00\xff", 3);
    struct {
        const char *name;
        struct cnnz_tensor_desc d;
        const uint8_t *data, *expect;
        size_t size, expect_size;
        const char *features;
    } t[] = {
        {"block.0.conv.weight", desc(CNNZ_DT_F32, 1, d64, CNNZ_REPR_PLAIN, CNNZ_CODER_HUFFMAN), f64,
         f64, sizeof f64, sizeof f64, "coder=huffman,repr=plain,dtype=f32"},
        {"block.0.conv.bias", desc(CNNZ_DT_F32, 1, d16, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW), f16, f16,
         sizeof f16, sizeof f16, "coder=raw,repr=plain,dtype=f32,align=8"},
        {"block.0.bn.eps", desc(CNNZ_DT_F32, 0, NULL, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW), f1, f1, 4, 4,
         "coder=raw,repr=plain,dtype=f32,rank=0"},
        {"big.weight", desc(CNNZ_DT_U8, 1, d70k, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW), big, big,
         sizeof big, sizeof big, "coder=raw,repr=plain,dtype=u8,section=own,align=64"},
        {"block.1.conv.weight", desc(CNNZ_DT_F32, 2, d200, CNNZ_REPR_AFFINE, CNNZ_CODER_CABAC),
         a200, ea200, sizeof a200, sizeof ea200, "coder=cabac,repr=affine,dtype=f32,symbols=u8"},
        {"block.1.conv.bias", desc(CNNZ_DT_U8, 1, d3, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW), u3, u3, 3, 3,
         "coder=raw,repr=plain,dtype=u8"},
        {"\xc3\xa9t\xc3\xa9", desc(CNNZ_DT_U8, 1, d3, CNNZ_REPR_PLAIN, CNNZ_CODER_RAW), u3, u3, 3,
         3, "coder=raw,repr=plain,dtype=u8,name=utf8"},
    };
    t[4].d.symbol_dtype = CNNZ_DT_U8;
    t[4].d.scale = 0.015625;
    t[4].d.offset = -2.0;
    const size_t nt = sizeof t / sizeof t[0];
    struct mem m = {0};
    struct cnnz_sink s = {mem_write, &m};
    cnnz_writer *w = NULL;
    int err = cnnz_writer_open(&w, &s, NULL);
    for (size_t i = 0; i < nt && !err; i++) {
        t[i].d.name = t[i].name;
        err = cnnz_writer_add_tensor(w, &t[i].d, t[i].data, t[i].size);
    }
    if (!err)
        err = cnnz_writer_finish(w);
    cnnz_writer_free(w);
    char path[4096];
    snprintf(path, sizeof path, "%s/valid/sections-runs.cnnz", o->dir);
    if (err || write_file(path, m.p, m.n)) {
        fprintf(stderr, "cnnz-gen-vectors: sections-runs: %s\n", cnnz_error_token(err));
        o->failed = 1;
    }
    for (size_t i = 0; i < nt; i++) {
        char shape[64] = "[", sha[65];
        for (unsigned k = 0; k < t[i].d.rank; k++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu", k ? "," : "",
                     (unsigned long long)t[i].d.dims[k]);
        strcat(shape, "]");
        sha256_hex(t[i].expect, t[i].expect_size, sha);
        fprintf(o->manifest, "valid/sections-runs.cnnz\tvalid\tdecode\t%s\t%s\t%s\t%016llx\t%s\t%s,"
                "tensors=7,sections=3\n", t[i].name,
                t[i].d.repr == CNNZ_REPR_AFFINE ? "f32" : cnnz_dtype_name(t[i].d.dtype), shape,
                (unsigned long long)XXH64(t[i].expect, t[i].expect_size, 0), sha, t[i].features);
    }
    free(m.p);
}

static void coder_vectors(struct out *o, int coder)
{
    const char *cn = cnnz_coder_name(coder);
    struct rng r = {UINT64_C(0x636E6E7A) + (uint64_t)coder}; /* "cnnz" + id */
    static const uint64_t d0[1] = {0}, d1[1] = {1}, d257[1] = {257}, d20k[1] = {20000},
                          d65k[1] = {65536}, d500[1] = {500}, d33[1] = {33},
                          dconv[4] = {8, 4, 3, 3}, dz[2] = {0, 5}, dfc[2] = {64, 40},
                          dbig[2] = {128, 128}, d300[1] = {300}, d9[1] = {9};
    plain(o, cn, coder, "plain-u8", CNNZ_DT_U8, 1, d257, &r, 0);
    plain(o, cn, coder, "plain-u8-large", CNNZ_DT_U8, 1, d20k, &r, 0);
    plain(o, cn, coder, "plain-u8-one-symbol", CNNZ_DT_U8, 1, d500, &r, 1);
    plain(o, cn, coder, "plain-u8-one-element", CNNZ_DT_U8, 1, d1, &r, 0);
    plain(o, cn, coder, "plain-u8-empty", CNNZ_DT_U8, 1, d0, &r, 0);
    if (coder != CNNZ_CODER_RAW) /* the largest alphabet: every u16 once */
        plain(o, cn, coder, "plain-u16-full-alphabet", CNNZ_DT_U16, 1, d65k, &r, 2);
    plain(o, cn, coder, "plain-i64", CNNZ_DT_I64, 1, d9, &r, 0);
    plain(o, cn, coder, "plain-bool", CNNZ_DT_BOOL, 1, d33, &r, 0);
    plain(o, cn, coder, "plain-f32-conv", CNNZ_DT_F32, 4, dconv, &r, 0);
    plain(o, cn, coder, "plain-f32-rank0", CNNZ_DT_F32, 0, d1, &r, 0);
    plain(o, cn, coder, "plain-f32-zero-dim", CNNZ_DT_F32, 2, dz, &r, 0);
    planes(o, cn, coder, "planes-f32", CNNZ_DT_F32, 2, dfc, &r);
    planes(o, cn, coder, "planes-f64", CNNZ_DT_F64, 1, d300, &r);
    affine(o, cn, coder, "affine-u8", CNNZ_DT_U8, 4, dconv, &r);
    affine(o, cn, coder, "affine-u16", CNNZ_DT_U16, 1, d300, &r);
    indexed(o, cn, coder, "ham-u8-pruned", CNNZ_REPR_HAM, CNNZ_DT_U8, 33, 0.9, 0, 2, dbig, &r);
    indexed(o, cn, coder, "ham-u16", CNNZ_REPR_HAM, CNNZ_DT_U16, 1000, 0.2, 0, 1, d300, &r);
    indexed(o, cn, coder, "ham-one-entry", CNNZ_REPR_HAM, CNNZ_DT_U8, 1, 1.0, 0, 1, d33, &r);
    indexed(o, cn, coder, "sham-u8-4-blocks", CNNZ_REPR_SHAM, CNNZ_DT_U8, 33, 0.9, 16, 2, dfc, &r);
    indexed(o, cn, coder, "sham-u8-long-runs", CNNZ_REPR_SHAM, CNNZ_DT_U8, 33, 0.998, 0, 2, dbig,
            &r);
    indexed(o, cn, coder, "sham-u16", CNNZ_REPR_SHAM, CNNZ_DT_U16, 1000, 0.5, 3, 1, d300, &r);
}

/* ------------------------------------------------------------ check */

/* Decode every vector of DIR/manifest.tsv with libcnnz and compare the
 * decoded bytes with the manifest's hashes, dtype and shape. */
/* Manifest lines naming this file: the file must hold that many tensors. */
static int lines_for(const char *manifest, const char *file)
{
    FILE *f = fopen(manifest, "r");
    char line[8192];
    int n = 0;
    size_t len = strlen(file);
    while (f && fgets(line, sizeof line, f))
        n += line[0] != '#' && !strncmp(line, file, len) && line[len] == '\t';
    if (f)
        fclose(f);
    return n;
}

static int check(const char *dir)
{
    char path[4096], manifest[4096], line[8192];
    snprintf(manifest, sizeof manifest, "%s/manifest.tsv", dir);
    FILE *f = fopen(manifest, "r");
    if (!f) {
        fprintf(stderr, "cnnz-gen-vectors: %s: %s\n", manifest, strerror(errno));
        return 1;
    }
    int pass = 0, fail = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *field[16];
        int nf = 0;
        for (char *p = line; nf < 16;) {
            field[nf++] = p;
            char *t = strpbrk(p, "\t\n");
            if (!t)
                break;
            int end = *t == '\n';
            *t = '\0';
            if (end)
                break;
            p = t + 1;
        }
        if (nf < 9 || strcmp(field[2], "decode")) {
            fprintf(stderr, "manifest: bad line for %s\n", field[0]);
            fail++;
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, field[0]);
        cnnz_reader *r = NULL;
        int err = cnnz_reader_open_path(&r, path, NULL);
        size_t idx = 0;
        struct cnnz_tensor_info ti;
        uint8_t *buf = NULL;
        char shape[512] = "", sha[65] = "", xx[17] = "";
        if (!err)
            err = cnnz_reader_find(r, field[3], &idx);
        if (!err)
            err = cnnz_reader_tensor_info(r, idx, &ti);
        if (!err && !(buf = malloc(ti.decoded_bytes ? (size_t)ti.decoded_bytes : 1)))
            err = CNNZ_E_NOMEM;
        if (!err)
            err = cnnz_reader_decode(r, idx, buf, (size_t)ti.decoded_bytes, NULL);
        if (!err) {
            size_t k = 0;
            shape[k++] = '[';
            for (unsigned i = 0; i < ti.rank; i++)
                k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%llu", i ? "," : "",
                                      (unsigned long long)ti.dims[i]);
            snprintf(shape + k, sizeof shape - k, "]");
            sha256_hex(buf, (size_t)ti.decoded_bytes, sha);
            snprintf(xx, sizeof xx, "%016llx",
                     (unsigned long long)XXH64(buf, (size_t)ti.decoded_bytes, 0));
        }
        int ok = !err && cnnz_reader_tensor_count(r) == (size_t)lines_for(manifest, field[0]) &&
                 !strcmp(cnnz_dtype_name(ti.dtype), field[4]) && !strcmp(shape, field[5]) &&
                 !strcmp(xx, field[6]) && !strcmp(sha, field[7]);
        if (ok) {
            pass++;
        } else {
            fail++;
            printf("FAIL %s: %s\n", field[0], err ? cnnz_error_token(err) : "decoded bytes differ");
        }
        free(buf);
        cnnz_reader_close(r);
    }
    fclose(f);
    printf("conformance (libcnnz): %d passed, %d failed\n", pass, fail);
    return fail != 0 || pass == 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--check"))
        return check(argv[2]);
    if (argc != 2) {
        fputs("usage: cnnz-gen-vectors OUTDIR | --check DIR\n", stderr);
        return 2;
    }
    struct out o = {argv[1], NULL, 0};
    char path[4096];
    snprintf(path, sizeof path, "%s/valid", o.dir);
    mkdir(o.dir, 0777);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/manifest.tsv", o.dir);
    o.manifest = fopen(path, "w");
    if (!o.manifest) {
        fprintf(stderr, "cnnz-gen-vectors: %s: %s\n", path, strerror(errno));
        return 1;
    }
    fputs("# file\ttier\texpect\ttensor\tdtype\tshape\tdecoded_xxh64\tdecoded_sha256\tfeatures\n",
          o.manifest);
    /* spec Appendix A, kept by hand (libcnnz's test suite rebuilds it) */
    static const uint8_t a[3] = {1, 2, 3};
    char sha[65];
    sha256_hex(a, 3, sha);
    fprintf(o.manifest, "valid/appendix-a.cnnz\tvalid\tdecode\tw\tu8\t[3]\t%016llx\t%s\t"
            "coder=raw,repr=plain,dtype=u8,metadata\n", (unsigned long long)XXH64(a, 3, 0), sha);
    for (int c = 0; c < 256; c++)
        if (cnnz_coder_name(c))
            coder_vectors(&o, c);
    sections(&o);
    if (fclose(o.manifest))
        o.failed = 1;
    return o.failed;
}
