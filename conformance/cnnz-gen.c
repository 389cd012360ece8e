/* cnnz-gen: random valid .cnnz files and the tensors they must decode to,
 * for differential testing of decoders (zstd's decodecorpus idea).
 *
 *   cnnz-gen --seed N [--count K] -o DIR
 *
 * Writes DIR/valid/gen-S.cnnz for the seeds S = N .. N + K - 1 (K = 1 by
 * default) and DIR/manifest.tsv, whose lines are those of
 * conformance/manifest.tsv (README.md): so `conformance/run --dir DIR
 * --decoder CMD` checks any decoder against them, and `cnnz-gen-vectors
 * --check DIR` checks libcnnz. The same seed always gives the same file.
 *
 * Each file: 0 to 40 tensors of random representation (all six), dtype,
 * rank (0 to 32, zero dimensions included), size (up to 70000 elements, so
 * that some get a TDAT of their own, four Huffman bitstreams or two CABAC
 * lanes), coder (raw, huffman, rans, cabac, or the writer's choice), value
 * distribution and name (UTF-8, shared prefixes, up to 4096 bytes), sHAM
 * block rows up to 127 blocks, metadata of every type, all written by
 * libcnnz's writer. Then, through the file model of cfile.c, what the
 * writer never does but the spec allows: a newer minor version with
 * reserved fields set, unknown skippable sections anywhere, other TDAT
 * run boundaries, META elsewhere, name_shared below the common prefix. The
 * expected tensors are computed from the inputs (spec 6), not decoded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"

static const char *const pieces[] = {"layer", "conv", "weight", "bias", "attn", "mlp", ".", "/",
                                     "_", "0", "1", "12", "\xc3\xa9", "\xe5\xb1\x82",
                                     "\xf0\x9f\xa7\xa0", "q", "k", "v", "norm", " "};

static void random_name(struct cf_rng *r, struct cf_buf *out, const struct cf_wmodel *m)
{
    out->n = 0;
    if (m->nt && cf_unit(r) < 0.6) { /* share a prefix with the previous name */
        const struct cf_buf *prev = &m->t[m->nt - 1].name;
        size_t keep = cf_below(r, (uint32_t)prev->n + 1);
        while (keep && keep < prev->n && (prev->p[keep] & 0xC0) == 0x80)
            keep--; /* not inside a character */
        cf_buf_put(out, prev->p, keep);
    }
    if (cf_unit(r) < 0.02) { /* a long name */
        size_t want = 100 + cf_below(r, 3997);
        while (out->n + 4 < want)
            cf_buf_str(out, pieces[cf_below(r, sizeof pieces / sizeof pieces[0])]);
    }
    unsigned np = 1 + cf_below(r, 5);
    for (unsigned i = 0; i < np && out->n < 4080; i++)
        cf_buf_str(out, pieces[cf_below(r, sizeof pieces / sizeof pieces[0])]);
    /* unique: append a counter while taken */
    for (unsigned k = 0;; k++) {
        int taken = 0;
        for (size_t j = 0; j < m->nt && !taken; j++)
            taken = m->t[j].name.n == out->n && !memcmp(m->t[j].name.p, out->p, out->n);
        if (!taken && out->n <= 4096)
            return;
        if (out->n > 4090)
            out->n = 4000;
        char c[16];
        snprintf(c, sizeof c, "#%u", k);
        cf_buf_str(out, c);
    }
}

/* Random values of a dtype, with a distribution chosen per tensor. */
static void values(struct cf_rng *r, int dtype, uint8_t *p, size_t n, int dist)
{
    const size_t es = cnnz_dtype_size(dtype);
    uint64_t constant = cf_next(r);
    for (size_t i = 0; i < n; i++, p += es) {
        uint64_t u;
        if (dtype == CNNZ_DT_BOOL) {
            p[0] = dist == 0 ? 1 : cf_unit(r) < 0.3;
            continue;
        }
        if (dist == 0) {
            u = constant;
        } else if (dist == 1 && (dtype == CNNZ_DT_F32 || dtype == CNNZ_DT_F64 ||
                                 dtype == CNNZ_DT_F16 || dtype == CNNZ_DT_BF16)) {
            double v = cf_normal(r) * 0.05;
            if (dtype == CNNZ_DT_F64) {
                memcpy(&u, &v, 8);
            } else {
                float f = (float)v;
                uint32_t b;
                memcpy(&b, &f, 4);
                u = dtype == CNNZ_DT_F32 ? b : b >> 16;
                if (dtype == CNNZ_DT_F16) /* sign, exponent 5..17, fraction */
                    u = (uint64_t)(v < 0) << 15 | (uint64_t)(5 + cf_below(r, 13)) << 10 |
                        cf_below(r, 1024);
            }
        } else if (dist == 2) { /* mostly zero, a few small values */
            u = cf_unit(r) < 0.8 ? 0 : 1 + cf_below(r, 9);
        } else if (dist == 3) { /* skewed small integers */
            u = 0;
            while (u < 200 && cf_unit(r) < 0.7)
                u++;
        } else {
            u = cf_next(r);
        }
        for (size_t b = 0; b < es; b++)
            p[b] = (uint8_t)(u >> (8 * b));
    }
}

static const int float_dtypes[] = {CNNZ_DT_F32, CNNZ_DT_F64, CNNZ_DT_I32, CNNZ_DT_U32,
                                   CNNZ_DT_I64, CNNZ_DT_U64};

static void random_tensor(struct cf_rng *r, struct cf_wmodel *m, uint64_t *budget)
{
    struct cf_buf name = {0};
    random_name(r, &name, m);
    int repr = (int)cf_below(r, 6);
    int dtype = 1 + (int)cf_below(r, 13);
    if (repr == CNNZ_REPR_AFFINE)
        dtype = cf_unit(r) < 0.7 ? CNNZ_DT_F32 : CNNZ_DT_I32;
    else if (repr == CNNZ_REPR_WIDEN)
        dtype = CNNZ_DT_F32;
    else if (repr == CNNZ_REPR_PLANES)
        dtype = float_dtypes[cf_below(r, 6)];
    /* shape: rank 0 to 4, sometimes up to 32; elements up to the budget */
    unsigned rank = cf_unit(r) < 0.05 ? cf_below(r, 33) : cf_below(r, 5);
    uint64_t dims[CNNZ_MAX_RANK];
    uint64_t want = cf_unit(r) < 0.08 ? 20000 + cf_below(r, 50000) : cf_below(r, 2000);
    if (want > *budget)
        want = *budget;
    uint64_t n = 1;
    for (unsigned i = 0; i < rank; i++) {
        uint64_t room = want / n;
        dims[i] = i + 1 == rank ? room : 1 + cf_below(r, room < 64 ? (uint32_t)room + 1 : 64);
        if (rank > 6 && i + 1 < rank)
            dims[i] = 1 + cf_below(r, 2);
        if (!dims[i] || cf_unit(r) < 0.02)
            dims[i] = cf_unit(r) < 0.5 ? 0 : dims[i];
        n *= dims[i] ? dims[i] : 1;
    }
    int zero = 0;
    for (unsigned i = 0; i < rank; i++)
        zero |= dims[i] == 0;
    if (zero && cf_unit(r) < 0.3) /* huge dimensions beside a zero one */
        for (unsigned i = 0; i < rank; i++)
            if (dims[i])
                dims[i] = UINT64_MAX - cf_below(r, 100);
    static const int coders[] = {CNNZ_CODER_RAW, CNNZ_CODER_HUFFMAN, CNNZ_CODER_RANS,
                                 CNNZ_CODER_CABAC, CNNZ_CODER_AUTO};
    struct cf_wtensor *t = cf_wadd(m, name.p, name.n, dtype, rank, dims, repr,
                                   coders[cf_below(r, 5)]);
    cf_buf_free(&name);
    uint64_t elements = zero ? 0 : cf_welements(t);
    *budget -= elements < *budget ? elements : *budget;
    int dist = (int)cf_below(r, 5);
    size_t es = cnnz_dtype_size(dtype);
    switch (repr) {
    case CNNZ_REPR_PLAIN:
    case CNNZ_REPR_PLANES:
        cf_buf_zeros(&t->input, (size_t)elements * es);
        values(r, dtype, t->input.p, (size_t)elements, dist);
        break;
    case CNNZ_REPR_AFFINE:
        t->d.symbol_dtype = cf_unit(r) < 0.6 ? CNNZ_DT_U8 : CNNZ_DT_U16;
        if (dtype == CNNZ_DT_I32) {
            static const double scales[] = {0.5, 1.0, 0.25, 3.0, 0.125};
            t->d.scale = scales[cf_below(r, 5)];
            t->d.offset = (double)((int)cf_below(r, 4001) - 2000) * 0.5;
        } else {
            t->d.scale = cf_unit(r) * 0.01 + 1e-6;
            t->d.offset = cf_normal(r);
        }
        cf_buf_zeros(&t->input, (size_t)elements * cnnz_dtype_size(t->d.symbol_dtype));
        values(r, t->d.symbol_dtype, t->input.p, (size_t)elements, dist == 1 ? 3 : dist);
        break;
    case CNNZ_REPR_WIDEN:
        t->d.symbol_dtype = cf_unit(r) < 0.5 ? CNNZ_DT_F16 : CNNZ_DT_BF16;
        cf_buf_zeros(&t->input, (size_t)elements * 2);
        values(r, t->d.symbol_dtype, t->input.p, (size_t)elements, dist);
        break;
    default: { /* ham, sham */
        int wide = cf_unit(r) < 0.3;
        uint32_t k = wide ? 1 + cf_below(r, 3000) : 1 + cf_below(r, 256);
        if (repr == CNNZ_REPR_SHAM && k < 2)
            k = 2;
        t->d.symbol_dtype = wide ? CNNZ_DT_U16 : CNNZ_DT_U8;
        t->d.codebook_size = k;
        cf_buf_zeros(&t->codebook, k * es);
        values(r, dtype, t->codebook.p, k, dist == 0 ? 4 : dist);
        if (repr == CNNZ_REPR_SHAM) { /* entry 0 all zero; the others not */
            memset(t->codebook.p, 0, es);
            for (uint32_t j = 1; j < k; j++)
                if (dtype == CNNZ_DT_BOOL)
                    t->codebook.p[j] = 1;
                else
                    t->codebook.p[j * es] |= 1;
        }
        double zeros = cf_unit(r);
        for (uint64_t i = 0; i < elements; i++) {
            uint32_t q = cf_unit(r) < zeros ? 0 : cf_below(r, k);
            wide ? cf_buf_u16(&t->input, q) : cf_buf_u8(&t->input, q);
        }
        if (repr == CNNZ_REPR_SHAM && elements && cf_unit(r) < 0.7) {
            uint64_t rows = rank ? dims[0] : 1;
            uint64_t least = (rows + 126) / 127;
            t->d.block_rows = least + cf_below(r, 8);
        }
    }
    }
    cf_wexpect(t);
}

static void random_meta(struct cf_rng *r, struct cf_wmodel *m)
{
    unsigned nm = cf_below(r, 7);
    for (unsigned i = 0; i < nm; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s.%u", i % 2 ? "model" : "k\xc3\xa9y", i);
        struct cf_wmeta *e = cf_wmeta_add(m, key, 1 + (int)cf_below(r, 5));
        e->i = e->type == CNNZ_META_BOOL ? (int64_t)cf_below(r, 2) : (int64_t)cf_next(r);
        uint64_t bits = cf_next(r);
        memcpy(&e->f, &bits, 8);
        unsigned len = cf_below(r, 40);
        for (unsigned k = 0; k < len; k++)
            cf_buf_u8(&e->value, e->type == CNNZ_META_STRING ? 'a' + cf_below(r, 26)
                                                             : cf_below(r, 256));
    }
}

/* What the writer never does but the spec allows. */
static void variations(struct cf_rng *r, struct cf_file *f)
{
    if (cf_unit(r) < 0.3 && f->nt > 1) { /* other run boundaries */
        cf_merge_runs(f);
        for (size_t j = 1; j < f->nt; j++)
            if (cf_unit(r) < 0.3)
                cf_split_run(f, j);
    }
    long meta = cf_find_section(f, "META");
    if (meta >= 0 && cf_unit(r) < 0.2) { /* META elsewhere */
        struct cf_buf body = {0};
        cf_buf_put(&body, f->sec[meta].body.p, f->sec[meta].body.n);
        cf_remove_section(f, (size_t)meta);
        cf_insert_section(f, cf_below(r, (uint32_t)f->nsec + 1), "META", 0, body.p, body.n);
        cf_buf_free(&body);
    }
    if (cf_unit(r) < 0.3) { /* unknown skippable sections */
        unsigned k = 1 + cf_below(r, 4);
        for (unsigned i = 0; i < k; i++) {
            char tag[4] = {'x', (char)('a' + cf_below(r, 26)), (char)cf_below(r, 256), 'z'};
            uint8_t body[100];
            size_t n = cf_below(r, sizeof body + 1);
            for (size_t b = 0; b < n; b++)
                body[b] = (uint8_t)cf_next(r);
            cf_insert_section(f, cf_below(r, (uint32_t)f->nsec + 1), tag, 0, body, n);
        }
    }
    if (cf_unit(r) < 0.3) /* name_shared below the common prefix */
        for (size_t j = 1; j < f->nt; j++)
            if (cf_unit(r) < 0.5) {
                size_t lcp = 0;
                const struct cf_buf *a = &f->t[j - 1].name, *b = &f->t[j].name;
                while (lcp < a->n && lcp < b->n && a->p[lcp] == b->p[lcp])
                    lcp++;
                f->t[j].shared = (long)cf_below(r, (uint32_t)lcp + 1);
            }
    if (cf_unit(r) < 0.3) { /* a newer minor: reserved fields may hold anything */
        cf_set_minor(f, 1 + cf_below(r, 65535));
        for (int i = 12; i < 56; i++)
            if (cf_unit(r) < 0.2)
                f->header[i] = (uint8_t)cf_next(r);
        if (cf_unit(r) < 0.5)
            f->trailer_reserved = cf_next(r);
        if (cf_unit(r) < 0.5)
            f->tdir_reserved = cf_next(r);
        f->tdir_flags |= (uint32_t)cf_next(r) & ~1u;
        for (size_t i = 0; i < f->nsec; i++)
            if (cf_unit(r) < 0.5) {
                uint32_t bits = (uint32_t)cf_next(r) & ~1u;
                f->sec[i].flags |= bits;
                f->sec[i].table_flags |= bits;
            }
        for (size_t j = 0; j < f->nt; j++) { /* representation parameters */
            struct cf_tensor *t = &f->t[j];
            size_t from = 1, to = t->repr == CNNZ_REPR_AFFINE || t->repr == CNNZ_REPR_WIDEN ? 8
                                  : t->repr >= CNNZ_REPR_HAM                                ? 4
                                                                                            : 1;
            for (size_t b = from; b < to; b++)
                if (cf_unit(r) < 0.3)
                    t->rp.p[b] = (uint8_t)cf_next(r);
        }
    }
}

static void one_file(const char *dir, uint64_t seed, FILE *manifest)
{
    struct cf_rng r = {seed * UINT64_C(0x9E3779B97F4A7C15) + UINT64_C(0x636E6E7A67656E)};
    struct cf_wmodel m = {0};
    unsigned nt = cf_unit(&r) < 0.05 ? 0 : cf_unit(&r) < 0.1 ? 1 + cf_below(&r, 40)
                                                             : 1 + cf_below(&r, 8);
    uint64_t budget = 150000;
    for (unsigned i = 0; i < nt; i++)
        random_tensor(&r, &m, &budget);
    random_meta(&r, &m);
    struct cf_buf img = {0};
    int err = cf_wwrite(&m, &img);
    if (err)
        cf_die("seed %llu: the writer says %s", (unsigned long long)seed, cnnz_error_token(err));
    struct cf_file f;
    cf_parse(&f, img.p, img.n);
    variations(&r, &f);
    cf_serialize(&f, &img);
    char file[64], path[4096], features[64];
    snprintf(file, sizeof file, "valid/gen-%llu.cnnz", (unsigned long long)seed);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    cf_write_file(path, img.p, img.n);
    snprintf(features, sizeof features, "seed=%llu", (unsigned long long)seed);
    struct cf_expect *e = cf_wexpects(&m);
    cf_manifest_decode(manifest, file, "valid", e, m.nt, features, "cnnz-gen");
    free(e);
    cf_free(&f);
    cf_buf_free(&img);
    cf_wfree(&m);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    uint64_t seed = 0, count = 1;
    int have_seed = 0;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], &end, 10);
            have_seed = *end == '\0';
        } else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
            count = strtoull(argv[++i], &end, 10);
            if (*end || !count)
                have_seed = 0, i = argc;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            dir = argv[++i];
        } else {
            have_seed = 0;
            break;
        }
    }
    if (!have_seed || !dir) {
        fputs("usage: cnnz-gen --seed N [--count K] -o DIR\n", stderr);
        return 2;
    }
    char path[4096];
    cf_mkdir(dir);
    snprintf(path, sizeof path, "%s/valid", dir);
    cf_mkdir(path);
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    FILE *manifest = fopen(path, "w");
    if (!manifest)
        cf_die("%s: %s", path, strerror(errno));
    fputs(CF_MANIFEST_HEADER, manifest);
    for (uint64_t s = seed; s - seed < count; s++)
        one_file(dir, s, manifest);
    if (fclose(manifest))
        cf_die("%s: cannot write", path);
    return 0;
}
