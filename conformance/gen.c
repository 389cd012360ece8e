/* cnnz-gen-vectors: writes the conformance vectors and their manifest,
 * reproducibly (fixed seeds, libcnnz's deterministic writer, and the file
 * model and spec-only encoders of cf.h for what the writer never makes),
 * and checks a vector directory with libcnnz.
 *
 *   cnnz-gen-vectors OUTDIR       the vectors in OUTDIR/{valid,invalid,uncommon}, and OUTDIR/manifest.tsv
 *   cnnz-gen-vectors --check DIR  every vector of DIR/manifest.tsv through libcnnz
 *
 * `make conformance-vectors` rewrites conformance/ with it; `make check`
 * regenerates into the build tree, requires the result to equal the
 * committed files byte for byte, and runs --check (the library) and
 * conformance/run (the cnnz tool) over them. README.md says what the tiers
 * and columns mean. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* ------------------------------------------------------------ output */

static void claim(struct gen *g, const char *file)
{
    for (size_t i = 0; i < g->nnames; i++)
        if (!strcmp(g->names[i], file))
            cf_die("two vectors named %s", file);
    g->names = cf_realloc(g->names, (g->nnames + 1) * sizeof *g->names);
    g->names[g->nnames++] = cf_dup(file, strlen(file) + 1);
}

static void write_vector(struct gen *g, const char *file, const uint8_t *img, size_t n)
{
    claim(g, file);
    struct cf_buf path = {0};
    cf_buf_str(&path, g->dir);
    cf_buf_str(&path, "/");
    cf_buf_str(&path, file);
    cf_buf_u8(&path, 0);
    cf_write_file((const char *)path.p, img, n);
    cf_buf_free(&path);
}

void gen_decode(struct gen *g, const char *tier, const char *name, const uint8_t *img, size_t n,
                const struct cf_expect *t, size_t nt, const char *features, const char *sections)
{
    char file[512];
    snprintf(file, sizeof file, "%s/%s.cnnz", tier, name);
    write_vector(g, file, img, n);
    cf_manifest_decode(g->manifest, file, tier, t, nt, features, sections);
}

void gen_decode_w(struct gen *g, const char *tier, const char *name, struct cf_wmodel *m,
                  const char *features, const char *sections)
{
    int err = cf_wwrite(m, &g->img);
    if (err)
        cf_die("%s: the writer says %s", name, cnnz_error_token(err));
    struct cf_expect *e = cf_wexpects(m);
    gen_decode(g, tier, name, g->img.p, g->img.n, e, m->nt, features, sections);
    free(e);
}

void gen_decode_f(struct gen *g, const char *tier, const char *name, struct cf_file *f,
                  const struct cf_wmodel *m, const char *features, const char *sections)
{
    cf_serialize(f, &g->img);
    struct cf_expect *e = cf_wexpects(m);
    gen_decode(g, tier, name, g->img.p, g->img.n, e, m->nt, features, sections);
    free(e);
}

void gen_reject(struct gen *g, const char *name, const uint8_t *img, size_t n, const char *tokens,
                const char *what, const char *clause)
{
    char file[512];
    snprintf(file, sizeof file, "invalid/%s.cnnz", name);
    write_vector(g, file, img, n);
    cf_manifest_reject(g->manifest, file, tokens, what, clause);
}

void gen_reject_f(struct gen *g, const char *name, struct cf_file *f, const char *tokens,
                  const char *what, const char *clause)
{
    cf_serialize(f, &g->img);
    gen_reject(g, name, g->img.p, g->img.n, tokens, what, clause);
}

void gen_base(struct cf_wmodel *m, struct cf_file *f)
{
    struct cf_buf img = {0}, again = {0};
    int err = cf_wwrite(m, &img);
    if (err)
        cf_die("base file: the writer says %s", cnnz_error_token(err));
    cf_parse(f, img.p, img.n);
    cf_serialize(f, &again);
    if (again.n != img.n || memcmp(again.p, img.p, img.n))
        cf_die("the file model does not serialize the writer's file back");
    cf_buf_free(&img);
    cf_buf_free(&again);
}

struct cf_tensor *gen_tensor(struct cf_file *f, const char *name, int dtype, unsigned rank,
                             const uint64_t *dims, int repr, const void *rp, size_t rp_len,
                             unsigned ns)
{
    if (!f->nsec || memcmp(f->sec[f->nsec - 1].tag, "TDAT", 4))
        cf_insert_section(f, f->nsec, "TDAT", 1, NULL, 0);
    struct cf_tensor *t = cf_insert_tensor(f, f->nt);
    cf_buf_str(&t->name, name);
    t->dtype = (uint8_t)dtype;
    t->rank = (uint8_t)rank;
    for (unsigned i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    t->repr = (uint8_t)repr;
    t->section = f->nsec - 1;
    cf_buf_put(&t->rp, rp, rp_len);
    cf_set_streams(t, ns);
    return t;
}

void gen_stream(struct cf_tensor *t, unsigned k, int role, int coder, const void *params,
                size_t params_len, const void *data, size_t data_len, uint64_t decoded_len)
{
    struct cf_stream *s = &t->s[k];
    s->role = (uint8_t)role;
    s->coder = (uint8_t)coder;
    s->version = 0;
    cf_buf_set(&s->params, params, params_len);
    cf_buf_set(&s->data, data, data_len);
    s->decoded_len = decoded_len;
}

void gen_stream_model(struct cf_file *f, uint64_t dims[1], const char *name, unsigned w,
                      uint64_t n, int coder, const void *params, size_t params_len,
                      const void *coded, size_t coded_len, uint64_t decoded_len, const void *dec,
                      size_t dec_n)
{
    cf_init(f);
    dims[0] = n;
    struct cf_tensor *t = gen_tensor(f, name, w == 1 ? CNNZ_DT_U8 : CNNZ_DT_U16, 1, dims,
                                     CNNZ_REPR_PLAIN, NULL, 0, 1);
    gen_stream(t, 0, CNNZ_ROLE_VALUES, coder, params, params_len, coded, coded_len, decoded_len);
    t->xxh = cf_xxh64(dec, dec_n);
}

void gen_stream_file(struct gen *g, const char *tier, const char *name, unsigned w, int coder,
                     const void *params, size_t params_len, const void *coded, size_t coded_len,
                     const uint8_t *dec, size_t dec_n, const char *features, const char *sections)
{
    struct cf_file f;
    uint64_t dims[1];
    gen_stream_model(&f, dims, name, w, dec_n / w, coder, params, params_len, coded, coded_len,
                     dec_n, dec, dec_n);
    struct cf_expect e = {f.t[0].name.p, f.t[0].name.n, w == 1 ? CNNZ_DT_U8 : CNNZ_DT_U16, 1,
                          dims, dec, dec_n};
    cf_serialize(&f, &g->img);
    gen_decode(g, tier, name, g->img.p, g->img.n, &e, 1, features, sections);
    cf_free(&f);
}

/* ------------------------------------------------------------ check */

enum { C_FILE, C_TIER, C_EXPECT, C_INDEX, C_TENSOR, C_DTYPE, C_SHAPE, C_XXH, C_SHA, C_FEATURES,
       C_CLAUSE, C_COUNT };

struct mline {
    char *col[C_COUNT];
};

static int split(char *line, struct mline *l)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    int k = 0;
    for (char *p = line; k < C_COUNT;) {
        l->col[k++] = p;
        char *t = strchr(p, '\t');
        if (!t)
            break;
        *t = '\0';
        p = t + 1;
    }
    return k == C_COUNT;
}

static int token_in(const char *tok, const char *set)
{
    size_t n = strlen(tok);
    for (const char *p = set; *p;) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, tok, n))
            return 1;
        p += len + (e != NULL);
    }
    return 0;
}

/* The tensors of one decode vector against its manifest lines. */
static const char *check_decode(const char *path, struct mline *l, size_t nl, char *why,
                                size_t why_size)
{
    cnnz_reader *r = NULL;
    int err = cnnz_reader_open_path(&r, path, NULL);
    if (!err)
        err = cnnz_reader_verify(r, NULL);
    if (err) {
        cnnz_reader_close(r);
        snprintf(why, why_size, "rejected with %s", cnnz_error_token(err));
        return why;
    }
    size_t want = strcmp(l[0].col[C_INDEX], "-") ? nl : 0;
    const char *bad = NULL;
    if (cnnz_reader_tensor_count(r) != want) {
        snprintf(why, why_size, "%zu tensors, want %zu", cnnz_reader_tensor_count(r), want);
        bad = why;
    }
    struct cf_buf name = {0}, shape = {0};
    for (size_t i = 0; i < want && !bad; i++) {
        struct cnnz_tensor_info ti;
        cnnz_reader_tensor_info(r, i, &ti);
        cf_name_escape((const uint8_t *)ti.name, ti.name_len, &name);
        cf_shape_text(ti.rank, ti.dims, &shape);
        uint8_t *buf = cf_alloc((size_t)ti.decoded_bytes);
        err = cnnz_reader_decode(r, i, buf, (size_t)ti.decoded_bytes, NULL);
        char xx[17], sha[65];
        snprintf(xx, sizeof xx, "%016llx",
                 (unsigned long long)cf_xxh64(buf, (size_t)ti.decoded_bytes));
        cf_sha256_hex(buf, (size_t)ti.decoded_bytes, sha);
        free(buf);
        if (err)
            snprintf(why, why_size, "tensor %zu: %s", i, cnnz_error_token(err));
        else if (strtoull(l[i].col[C_INDEX], NULL, 10) != i ||
                 strcmp((const char *)name.p, l[i].col[C_TENSOR]))
            snprintf(why, why_size, "tensor %zu: name %s, want %s", i, (const char *)name.p,
                     l[i].col[C_TENSOR]);
        else if (strcmp(cnnz_dtype_name(ti.dtype), l[i].col[C_DTYPE]) ||
                 strcmp((const char *)shape.p, l[i].col[C_SHAPE]))
            snprintf(why, why_size, "tensor %zu: %s %s, want %s %s", i, cnnz_dtype_name(ti.dtype),
                     (const char *)shape.p, l[i].col[C_DTYPE], l[i].col[C_SHAPE]);
        else if (strcmp(xx, l[i].col[C_XXH]) || strcmp(sha, l[i].col[C_SHA]))
            snprintf(why, why_size, "tensor %zu: decoded bytes differ", i);
        else
            continue;
        bad = why;
    }
    cf_buf_free(&name);
    cf_buf_free(&shape);
    cnnz_reader_close(r);
    return bad;
}

static const char *check_reject(const char *path, const char *tokens, char *why, size_t why_size)
{
    cnnz_reader *r = NULL;
    int err = cnnz_reader_open_path(&r, path, NULL);
    if (!err)
        err = cnnz_reader_verify(r, NULL);
    cnnz_reader_close(r);
    if (!err)
        return "accepted";
    if (token_in(cnnz_error_token(err), tokens))
        return NULL;
    snprintf(why, why_size, "rejected with %s, want %s", cnnz_error_token(err), tokens);
    return why;
}

/* Every vector of DIR/manifest.tsv through libcnnz: valid and uncommon ones
 * must decode to the manifest's tensors (the reference declines none),
 * invalid ones must be rejected with one of their tokens. */
static int check(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        cf_die("%s: %s", path, strerror(errno));
    struct mline *l = NULL;
    char **raw = NULL;
    size_t nl = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        raw = cf_realloc(raw, (nl + 1) * sizeof *raw);
        l = cf_realloc(l, (nl + 1) * sizeof *l);
        raw[nl] = cf_dup(line, strlen(line) + 1);
        if (!split(raw[nl], &l[nl]))
            cf_die("%s: a line without %d columns", path, C_COUNT);
        nl++;
    }
    free(line);
    fclose(f);
    int pass = 0, fail = 0;
    for (size_t i = 0; i < nl;) {
        size_t j = i + 1;
        while (j < nl && !strcmp(l[j].col[C_FILE], l[i].col[C_FILE]))
            j++;
        snprintf(path, sizeof path, "%s/%s", dir, l[i].col[C_FILE]);
        char why[512];
        const char *bad = !strcmp(l[i].col[C_TIER], "invalid")
                              ? check_reject(path, l[i].col[C_EXPECT], why, sizeof why)
                              : check_decode(path, &l[i], j - i, why, sizeof why);
        if (bad) {
            printf("FAIL %s (%s): %s\n", l[i].col[C_FILE], l[i].col[C_CLAUSE], bad);
            fail++;
        } else {
            pass++;
        }
        i = j;
    }
    for (size_t i = 0; i < nl; i++)
        free(raw[i]);
    free(raw);
    free(l);
    printf("conformance (libcnnz): %d passed, %d failed\n", pass, fail);
    return fail != 0 || pass == 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--check"))
        return check(argv[2]);
    if (argc != 2 || argv[1][0] == '-') {
        fputs("usage: cnnz-gen-vectors OUTDIR | --check DIR\n", stderr);
        return 2;
    }
    struct gen g;
    memset(&g, 0, sizeof g);
    g.dir = argv[1];
    char path[4096];
    cf_mkdir(g.dir);
    static const char *const tiers[] = {"valid", "invalid", "uncommon"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", g.dir, tiers[i]);
        cf_mkdir(path);
    }
    snprintf(path, sizeof path, "%s/manifest.tsv", g.dir);
    g.manifest = fopen(path, "w");
    if (!g.manifest)
        cf_die("%s: %s", path, strerror(errno));
    fputs(CF_MANIFEST_HEADER, g.manifest);
    gen_valid(&g);
    gen_uncommon(&g);
    gen_invalid(&g);
    if (fclose(g.manifest))
        cf_die("%s: cannot write", path);
    for (size_t i = 0; i < g.nnames; i++)
        free(g.names[i]);
    free(g.names);
    cf_buf_free(&g.img);
    return 0;
}
