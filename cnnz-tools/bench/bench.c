/*
 * bench - how cnnz compares on the real corpus (make bench).
 *
 * usage: bench [CORPUS_DIR]      (default .corpus)
 * env:   BENCH_REPS     repetitions per timing, the median is reported (default 5)
 *        BENCH_SECONDS  stop repeating one timing after this many seconds, once
 *                       it has run at least once (default 8; keeps the run short)
 *        BENCH_ONLY     comma-separated section names to run (default: all)
 *
 * The benchmark is a table of sections, each a function. A workload section
 * loads its tensors (corpus.c), then run_workload() measures for the same
 * bytes: the order-0 entropy bound, zstd -19 and xz -9e (peers.c), and cnnz
 * through the public writer and reader for each coder. New sections
 * (quantizer timing, matvec against sgemv) are one function plus one line in
 * sections[].
 *
 * It reports, it does not gate: a missed target is printed as MISSED and the
 * exit status stays 0. Any error (a corpus that will not load, a decode error,
 * decoded bytes that differ from the input, output that differs between two
 * encodes of the same input) makes the exit status 1.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "cnnz_quant.h"

#define MAX_REPS 100u
#define MAX_SUMMARY 32u

struct bench {
    const char *corpus;
    unsigned reps;
    double budget; /* seconds */
    int failed;
    char summary[MAX_SUMMARY][256];
    unsigned nsummary;
};

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* An error: said on stderr and in the report, and the exit status becomes 1. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void fail(struct bench *b, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "bench: FAILED: %s\n", msg);
    printf("  FAILED: %s\n", msg);
    b->failed = 1;
}

/* ------------------------------------------------------------ timing */

struct timing {
    double sec; /* median seconds of one repetition */
    unsigned reps;
};

/* Outcome of one repetition. */
enum { REP_OK = 0, REP_NA = 1, REP_FAIL = 2 };

/* One repetition: do the work, add the seconds of its timed part to *sec.
 * Repetition 0 may keep results that later ones compare against. */
typedef int (*rep_fn)(void *arg, unsigned rep, double *sec);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *s, unsigned n)
{
    if (!n)
        return 0;
    qsort(s, n, sizeof s[0], cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Run fn BENCH_REPS times, or fewer once BENCH_SECONDS have gone by; the
 * median of the timed parts goes to t. */
static int measure(const struct bench *b, rep_fn fn, void *arg, struct timing *t)
{
    double s[MAX_REPS], total = 0;
    unsigned n = 0;
    while (n < b->reps) {
        double sec = 0;
        int r = fn(arg, n, &sec);
        if (r != REP_OK)
            return r;
        s[n++] = sec;
        total += sec;
        if (total >= b->budget)
            break;
    }
    t->sec = bench_median(s, n);
    t->reps = n;
    return REP_OK;
}

static double mbps(uint64_t bytes, const struct timing *t)
{
    return t->sec > 0 ? (double)bytes / 1e6 / t->sec : 0;
}

/* ------------------------------------------------------------ results */

/* One line of a workload's table. */
struct row {
    char label[32];
    int ok;          /* measured; else note says why not */
    uint64_t size;   /* bytes; cnnz rows: the payload (see run_cnnz) */
    uint64_t file;   /* cnnz rows: whole .cnnz file bytes */
    double enc, dec; /* MB/s */
    double stream;   /* MB/s of cnnz_reader_decode_stream; < 0: not measured */
    unsigned enc_reps, dec_reps;
    char note[512];
    int coder;      /* cnnz rows: CNNZ_CODER_*; -2 for the others */
    unsigned coded; /* cnnz rows: streams coded with this coder (explicit coders) */
    unsigned streams;
};

#define MAX_ROWS 8u

struct wl_result {
    uint64_t in_bytes;   /* the data to compress */
    uint64_t out_bytes;  /* decoded tensor bytes (what cnnz_reader_decode writes) */
    size_t tensors;
    double order0;
    struct row rows[MAX_ROWS];
    unsigned nrows;
    const struct row *zstd, *xz, *cnnz; /* cnnz: auto, or the smallest coder that ran */
};

static struct row *new_row(struct wl_result *r, const char *label, int coder)
{
    struct row *w = &r->rows[r->nrows++];
    memset(w, 0, sizeof *w);
    snprintf(w->label, sizeof w->label, "%s", label);
    w->stream = -1;
    w->coder = coder;
    return w;
}

/* ------------------------------------------------------------ peers */

struct peer_run {
    const struct bt_workload *w;
    struct membuf *in, *out; /* per model: the data, compressed */
    struct membuf dec;
    int (*comp)(const uint8_t *, size_t, struct membuf *, char *, size_t);
    int (*decomp)(const uint8_t *, size_t, uint8_t *, size_t, char *, size_t);
    char err[256];
};

static int peer_comp_rep(void *arg, unsigned rep, double *sec)
{
    struct peer_run *p = arg;
    (void)rep;
    for (size_t i = 0; i < p->w->nm; i++) {
        double t0 = bench_now();
        if (p->comp(p->in[i].p, p->in[i].len, &p->out[i], p->err, sizeof p->err))
            return REP_FAIL;
        *sec += bench_now() - t0;
    }
    return REP_OK;
}

static int peer_decomp_rep(void *arg, unsigned rep, double *sec)
{
    struct peer_run *p = arg;
    for (size_t i = 0; i < p->w->nm; i++) {
        if (membuf_reserve(&p->dec, p->in[i].len)) {
            snprintf(p->err, sizeof p->err, "out of memory");
            return REP_FAIL;
        }
        double t0 = bench_now();
        if (p->decomp(p->out[i].p, p->out[i].len, p->dec.p, p->in[i].len, p->err, sizeof p->err))
            return REP_FAIL;
        *sec += bench_now() - t0;
        if (rep == 0 && p->in[i].len && memcmp(p->dec.p, p->in[i].p, p->in[i].len) != 0) {
            snprintf(p->err, sizeof p->err, "%s: decompressed bytes differ from the input",
                     p->w->m[i].name);
            return REP_FAIL;
        }
    }
    return REP_OK;
}

static void run_peer(struct bench *b, const struct bt_workload *w, struct membuf *in,
                     struct row *row, const char *what,
                     int (*comp)(const uint8_t *, size_t, struct membuf *, char *, size_t),
                     int (*decomp)(const uint8_t *, size_t, uint8_t *, size_t, char *, size_t))
{
    struct peer_run p = {.w = w, .in = in, .comp = comp, .decomp = decomp};
    p.out = calloc(w->nm ? w->nm : 1, sizeof *p.out);
    struct timing te, td;
    uint64_t n = 0;
    for (size_t i = 0; i < w->nm; i++)
        n += in[i].len;
    if (!p.out) {
        fail(b, "%s: out of memory", w->name);
    } else if (measure(b, peer_comp_rep, &p, &te) || measure(b, peer_decomp_rep, &p, &td)) {
        row->ok = 0;
        snprintf(row->note, sizeof row->note, "error: %s", p.err);
        fail(b, "%s: %s", w->name, p.err);
    } else {
        row->ok = 1;
        for (size_t i = 0; i < w->nm; i++)
            row->size += p.out[i].len;
        row->enc = mbps(n, &te);
        row->dec = mbps(n, &td);
        row->enc_reps = te.reps;
        row->dec_reps = td.reps;
        snprintf(row->note, sizeof row->note, "%s", what);
    }
    for (size_t i = 0; p.out && i < w->nm; i++)
        membuf_free(&p.out[i]);
    free(p.out);
    membuf_free(&p.dec);
}

/* ------------------------------------------------------------ cnnz */

struct cnnz_run {
    const struct bt_workload *w;
    int coder;
    struct membuf *file; /* per model: the .cnnz of repetition 0 */
    struct membuf again; /* later repetitions, compared with file[] */
    struct membuf dst;   /* decode scratch */
    char err[512];
};

static int mem_write(void *opaque, const void *buf, size_t n)
{
    return membuf_append(opaque, buf, n);
}

static void tensor_desc(const struct bt_tensor *t, int coder, struct cnnz_tensor_desc *d)
{
    memset(d, 0, sizeof *d);
    d->name = t->name;
    d->dtype = t->dtype;
    d->rank = t->rank;
    d->dims = t->dims;
    d->repr = t->repr;
    d->symbol_dtype = t->symbol_dtype;
    d->scale = t->scale;
    d->offset = t->offset;
    d->coder = coder;
    d->codebook = t->codebook;
    d->codebook_size = t->codebook_size;
}

/* One model's tensors into one in-memory .cnnz. */
static int encode_model(const struct bt_model *m, int coder, struct membuf *out, char *err,
                        size_t esz)
{
    struct cnnz_sink sink = {mem_write, out};
    cnnz_writer *wr;
    int e = cnnz_writer_open(&wr, &sink, NULL);
    if (e) {
        snprintf(err, esz, "%s: cnnz_writer_open: %s [%s]", m->name, cnnz_strerror(e),
                 cnnz_error_token(e));
        return e;
    }
    for (size_t k = 0; k < m->n; k++) {
        struct cnnz_tensor_desc d;
        tensor_desc(&m->t[k], coder, &d);
        if ((e = cnnz_writer_add_tensor(wr, &d, m->t[k].data, m->t[k].size))) {
            snprintf(err, esz, "%s: tensor '%s': %s [%s]", m->name, m->t[k].name,
                     cnnz_strerror(e), cnnz_error_token(e));
            cnnz_writer_free(wr);
            return e;
        }
    }
    if ((e = cnnz_writer_finish(wr)))
        snprintf(err, esz, "%s: cnnz_writer_finish: %s [%s]", m->name, cnnz_strerror(e),
                 cnnz_error_token(e));
    cnnz_writer_free(wr);
    return e;
}

static int cnnz_enc_rep(void *arg, unsigned rep, double *sec)
{
    struct cnnz_run *c = arg;
    for (size_t i = 0; i < c->w->nm; i++) {
        struct membuf *out = rep == 0 ? &c->file[i] : &c->again;
        out->len = 0;
        double t0 = bench_now();
        int e = encode_model(&c->w->m[i], c->coder, out, c->err, sizeof c->err);
        *sec += bench_now() - t0;
        if (e)
            return rep == 0 ? REP_NA : REP_FAIL;
        if (rep > 0 && (out->len != c->file[i].len || memcmp(out->p, c->file[i].p, out->len))) {
            snprintf(c->err, sizeof c->err, "%s: encoding the same input twice gave different bytes",
                     c->w->m[i].name);
            return REP_FAIL;
        }
    }
    return REP_OK;
}

static void where_text(const cnnz_reader *r, int e, struct cnnz_where *wh, char *buf, size_t n)
{
    if (wh->what)
        cnnz_where_format(r, wh, buf, n);
    else
        snprintf(buf, n, "%s", cnnz_strerror(e));
}

/* Untimed: decode every tensor and compare with what it must be; count the
 * layouts and coders the writer chose; size the scratch buffer. */
static int cnnz_verify(struct cnnz_run *c, struct row *row, uint64_t *stream_bytes)
{
    unsigned by_coder[5] = {0}, by_repr[8] = {0};
    *stream_bytes = 0;
    row->streams = 0;
    row->size = 0;
    for (size_t i = 0; i < c->w->nm; i++) {
        const struct bt_model *m = &c->w->m[i];
        cnnz_reader *r = NULL;
        struct cnnz_where wh = {0};
        struct cnnz_open_options oo = {.where = &wh};
        char msg[300];
        int e = cnnz_reader_open_memory(&r, c->file[i].p, c->file[i].len, &oo);
        if (e) {
            where_text(NULL, e, &wh, msg, sizeof msg);
            snprintf(c->err, sizeof c->err, "%s: cnnz_reader_open_memory: %s", m->name, msg);
            return REP_FAIL;
        }
        if (cnnz_reader_tensor_count(r) != m->n) {
            snprintf(c->err, sizeof c->err, "%s: file has %zu tensors, wrote %zu", m->name,
                     cnnz_reader_tensor_count(r), m->n);
            cnnz_reader_close(r);
            return REP_FAIL;
        }
        for (size_t k = 0; k < m->n; k++) {
            const struct bt_tensor *t = &m->t[k];
            struct cnnz_tensor_info ti;
            if ((e = cnnz_reader_tensor_info(r, k, &ti)) || strcmp(ti.name, t->name) != 0 ||
                ti.decoded_bytes != t->expect_size) {
                snprintf(c->err, sizeof c->err, "%s: tensor %zu ('%s'): wrong entry", m->name, k,
                         t->name);
                cnnz_reader_close(r);
                return REP_FAIL;
            }
            uint64_t need = ti.decoded_bytes;
            for (unsigned s = 0; s < ti.stream_count; s++) {
                const struct cnnz_stream_info *si = &ti.streams[s];
                need = si->decoded_bytes > need ? si->decoded_bytes : need;
                *stream_bytes += si->decoded_bytes;
                if (si->role != CNNZ_ROLE_CODEBOOK) /* the peers' input: the data streams */
                    row->size += si->coded_bytes + si->coder_params_bytes;
                by_coder[si->coder >= 0 && si->coder < 4 ? si->coder : 4]++;
                row->coded += si->coder == c->coder;
                row->streams++;
            }
            by_repr[ti.repr >= 0 && ti.repr < 7 ? ti.repr : 7]++;
            if (need > SIZE_MAX || membuf_reserve(&c->dst, (size_t)need)) {
                snprintf(c->err, sizeof c->err, "out of memory");
                cnnz_reader_close(r);
                return REP_FAIL;
            }
            memset(&wh, 0, sizeof wh);
            if ((e = cnnz_reader_decode(r, k, c->dst.p, c->dst.cap, &wh))) {
                where_text(r, e, &wh, msg, sizeof msg);
                snprintf(c->err, sizeof c->err, "%s: decode: %s", m->name, msg);
                cnnz_reader_close(r);
                return REP_FAIL;
            }
            if (t->expect_size && memcmp(c->dst.p, t->expect, t->expect_size) != 0) {
                snprintf(c->err, sizeof c->err,
                         "%s: tensor '%s': decoded bytes differ from the input", m->name, t->name);
                cnnz_reader_close(r);
                return REP_FAIL;
            }
        }
        cnnz_reader_close(r);
    }
    /* "planes 80, plain 12; raw 40, huffman 300" */
    size_t o = strlen(row->note);
    const char *sep = "";
    for (int k = 0; k < 8; k++) {
        if (!by_repr[k])
            continue;
        const char *n = k < 7 ? cnnz_repr_name(k) : NULL;
        o += (size_t)snprintf(row->note + o, sizeof row->note - o, "%s%s %u", sep, n ? n : "?",
                              by_repr[k]);
        sep = ", ";
        if (o >= sizeof row->note)
            return REP_OK;
    }
    sep = "; streams ";
    for (int k = 0; k < 5; k++) {
        if (!by_coder[k])
            continue;
        const char *n = k < 4 ? cnnz_coder_name(k) : NULL;
        o += (size_t)snprintf(row->note + o, sizeof row->note - o, "%s%s %u", sep, n ? n : "other",
                              by_coder[k]);
        sep = ", ";
        if (o >= sizeof row->note)
            return REP_OK;
    }
    return REP_OK;
}

static int cnnz_dec_rep(void *arg, unsigned rep, double *sec)
{
    struct cnnz_run *c = arg;
    (void)rep;
    for (size_t i = 0; i < c->w->nm; i++) {
        double t0 = bench_now();
        cnnz_reader *r = NULL;
        int e = cnnz_reader_open_memory(&r, c->file[i].p, c->file[i].len, NULL);
        for (size_t k = 0; !e && k < c->w->m[i].n; k++)
            e = cnnz_reader_decode(r, k, c->dst.p, c->dst.cap, NULL);
        cnnz_reader_close(r);
        *sec += bench_now() - t0;
        if (e) {
            snprintf(c->err, sizeof c->err, "%s: decode: %s", c->w->m[i].name, cnnz_strerror(e));
            return REP_FAIL;
        }
    }
    return REP_OK;
}

/* The coders alone: every stream of every tensor, without the rebuild. */
static int cnnz_stream_rep(void *arg, unsigned rep, double *sec)
{
    struct cnnz_run *c = arg;
    (void)rep;
    for (size_t i = 0; i < c->w->nm; i++) {
        double t0 = bench_now();
        cnnz_reader *r = NULL;
        int e = cnnz_reader_open_memory(&r, c->file[i].p, c->file[i].len, NULL);
        for (size_t k = 0; !e && k < c->w->m[i].n; k++) {
            struct cnnz_tensor_info ti;
            e = cnnz_reader_tensor_info(r, k, &ti);
            for (unsigned s = 0; !e && s < ti.stream_count; s++)
                e = cnnz_reader_decode_stream(r, k, s, c->dst.p, c->dst.cap, NULL);
        }
        cnnz_reader_close(r);
        *sec += bench_now() - t0;
        if (e) {
            snprintf(c->err, sizeof c->err, "%s: decode_stream: %s", c->w->m[i].name,
                     cnnz_strerror(e));
            return REP_FAIL;
        }
    }
    return REP_OK;
}

static void run_cnnz(struct bench *b, const struct bt_workload *w, const struct wl_result *res,
                     struct row *row)
{
    struct cnnz_run c = {.w = w, .coder = row->coder};
    c.file = calloc(w->nm ? w->nm : 1, sizeof *c.file);
    struct timing te, td, ts;
    uint64_t stream_bytes = 0;
    int r = c.file ? REP_OK : REP_FAIL;
    if (!c.file)
        snprintf(c.err, sizeof c.err, "out of memory");
    if (r == REP_OK)
        r = measure(b, cnnz_enc_rep, &c, &te);
    if (r == REP_OK)
        r = cnnz_verify(&c, row, &stream_bytes);
    if (r == REP_OK)
        r = measure(b, cnnz_dec_rep, &c, &td);
    if (r == REP_OK)
        r = measure(b, cnnz_stream_rep, &c, &ts);
    if (r == REP_NA) {
        snprintf(row->note, sizeof row->note, "n/a: %.400s", c.err);
    } else if (r != REP_OK) {
        snprintf(row->note, sizeof row->note, "error: %.400s", c.err);
        fail(b, "%s: %s: %s", w->name, row->label, c.err);
    } else {
        row->ok = 1;
        for (size_t i = 0; i < w->nm; i++)
            row->file += c.file[i].len;
        size_t o = strlen(row->note);
        snprintf(row->note + o, sizeof row->note - o, "; file %llu (+%.1f%% container, codebooks)",
                 (unsigned long long)row->file,
                 row->size ? 100.0 * ((double)row->file - (double)row->size) / (double)row->size : 0);
        row->enc = mbps(res->in_bytes, &te);
        row->dec = mbps(res->out_bytes, &td);
        row->stream = mbps(stream_bytes, &ts);
        row->enc_reps = te.reps;
        row->dec_reps = td.reps;
    }
    for (size_t i = 0; c.file && i < w->nm; i++)
        membuf_free(&c.file[i]);
    free(c.file);
    membuf_free(&c.again);
    membuf_free(&c.dst);
}

/* ------------------------------------------------------------ workloads */

struct targets {
    double max_vs_order0; /* 0: none */
    double max_vs_zstd;
};

static const struct {
    int coder;
    const char *name;
} cnnz_coders[] = {
    {CNNZ_CODER_RAW, "raw"},
    {CNNZ_CODER_HUFFMAN, "huffman"},
    {CNNZ_CODER_RANS, "rans"},
    {CNNZ_CODER_CABAC, "cabac"},
    {CNNZ_CODER_AUTO, "auto"},
};
#define NCODERS (sizeof cnnz_coders / sizeof cnnz_coders[0])

/* Per-coder speed targets, checked in every workload: decode against the
 * coder alone (stream MB/s), encode against the whole writer. */
static const struct {
    int coder;
    double dec, enc; /* MB/s; 0: none */
} speed_targets[] = {
    {CNNZ_CODER_HUFFMAN, 1000, 300},
    {CNNZ_CODER_RANS, 1000, 300},
    {CNNZ_CODER_CABAC, 60, 0},
};

static void print_ratio(double num, double den)
{
    if (den > 0)
        printf(" %8.3f", num / den);
    else
        printf(" %8s", "-");
}

static void print_table(const struct bt_workload *wl, const struct wl_result *r)
{
    char o0[96];
    snprintf(o0, sizeof o0, "sum over tensors of n*H0/8, H0 of the %s as bytes", wl->data_what);
    printf("  %-13s %12s %8s %8s %8s %9s %9s %9s %5s  %s\n", "method", "bytes", "/order0",
           "/zstd19", "/xz9e", "enc MB/s", "dec MB/s", "strm MB/s", "reps", "notes");
    printf("  %-13s %12.0f %8.3f %8s %8s %9s %9s %9s %5s  %s\n", "order-0", r->order0, 1.0, "-",
           "-", "-", "-", "-", "-", o0);
    for (unsigned i = 0; i < r->nrows; i++) {
        const struct row *w = &r->rows[i];
        if (!w->ok) {
            printf("  %-13s %12s %8s %8s %8s %9s %9s %9s %5s  %s\n", w->label,
                   strncmp(w->note, "n/a", 3) ? "FAILED" : "n/a", "", "", "",
                   "", "", "", "", w->note);
            continue;
        }
        printf("  %-13s %12llu", w->label, (unsigned long long)w->size);
        print_ratio((double)w->size, r->order0);
        print_ratio((double)w->size, r->zstd && r->zstd->ok ? (double)r->zstd->size : 0);
        print_ratio((double)w->size, r->xz && r->xz->ok ? (double)r->xz->size : 0);
        printf(" %9.1f %9.1f", w->enc, w->dec);
        if (w->stream >= 0)
            printf(" %9.1f", w->stream);
        else
            printf(" %9s", "-");
        printf(" %2u/%-2u  %s\n", w->enc_reps, w->dec_reps, w->note);
    }
}

static void print_target(const char *what, int have, double value, const char *op, double target,
                         const char *why_not)
{
    int met = have && (op[0] == '<' ? value <= target : value >= target);
    char v[32];
    if (have)
        snprintf(v, sizeof v, target < 10 ? "%.3f" : "%.0f", value);
    else
        snprintf(v, sizeof v, "n/a");
    printf("    %-52s %9s %s %-6g %s%s%s\n", what, v, op, target, met ? "MET" : "MISSED",
           !have && why_not ? " - " : "", !have && why_not ? why_not : "");
}

static void print_targets(const struct wl_result *r, const struct targets *tg)
{
    const struct row *c = r->cnnz;
    char what[96];
    printf("  targets (cnnz = %s):\n", c ? c->label : "none");
    if (tg->max_vs_order0 > 0) {
        snprintf(what, sizeof what, "size / order-0 (%s)", c ? c->label : "cnnz");
        print_target(what, c != NULL, c ? (double)c->size / r->order0 : 0, "<=", tg->max_vs_order0,
                     "no cnnz result");
    }
    if (tg->max_vs_zstd > 0) {
        int have = c && r->zstd && r->zstd->ok;
        snprintf(what, sizeof what, "size / zstd -19 size (%s)", c ? c->label : "cnnz");
        print_target(what, have, have ? (double)c->size / (double)r->zstd->size : 0, "<=",
                     tg->max_vs_zstd, "no result");
    }
    for (size_t k = 0; k < sizeof speed_targets / sizeof speed_targets[0]; k++) {
        const struct row *w = NULL;
        for (unsigned i = 0; i < r->nrows; i++)
            if (r->rows[i].coder == speed_targets[k].coder)
                w = &r->rows[i];
        const char *name = cnnz_coder_name(speed_targets[k].coder);
        char why[96];
        snprintf(why, sizeof why, "coder %s", w && w->note[0] ? "n/a (see table)" : "not run");
        if (!name)
            name = speed_targets[k].coder == CNNZ_CODER_HUFFMAN ? "huffman"
                   : speed_targets[k].coder == CNNZ_CODER_RANS  ? "rans"
                                                                : "cabac";
        int have = w && w->ok && w->coded > 0;
        if (w && w->ok && w->coded == 0)
            snprintf(why, sizeof why, "the writer stored no stream with %s", name);
        if (speed_targets[k].dec > 0) {
            snprintf(what, sizeof what, "%s decode MB/s (stream, %u/%u streams)", name,
                     have ? w->coded : 0, have ? w->streams : 0);
            print_target(what, have, have ? w->stream : 0, ">=", speed_targets[k].dec, why);
        }
        if (speed_targets[k].enc > 0) {
            snprintf(what, sizeof what, "%s encode MB/s (writer)", name);
            print_target(what, have, have ? w->enc : 0, ">=", speed_targets[k].enc, why);
        }
    }
}

/* Measure everything for one workload and print its table. The result
 * stays in r for a section's own additions. */
static int run_workload(struct bench *b, const struct bt_workload *w, const struct targets *tg,
                        struct wl_result *r)
{
    memset(r, 0, sizeof *r);
    struct membuf *in = calloc(w->nm ? w->nm : 1, sizeof *in);
    if (!in) {
        fail(b, "%s: out of memory", w->name);
        return 1;
    }
    int err = 0;
    for (size_t i = 0; i < w->nm && !err; i++) {
        const struct bt_model *m = &w->m[i];
        for (size_t k = 0; k < m->n && !err; k++) {
            const struct bt_tensor *t = &m->t[k];
            r->in_bytes += t->size;
            r->out_bytes += t->expect_size;
            r->order0 += order0_bytes(t->data, t->size);
            err = membuf_append(&in[i], t->data, t->size);
        }
        r->tensors += m->n;
    }
    if (err) {
        fail(b, "%s: out of memory", w->name);
        goto out;
    }
    printf("  %zu model files, %zu tensors, %llu bytes of %s to compress "
           "(%llu bytes decoded)\n",
           w->nm, r->tensors, (unsigned long long)r->in_bytes, w->data_what,
           (unsigned long long)r->out_bytes);
    if (w->width > 1) {
        double planes = 0;
        for (size_t i = 0; i < w->nm; i++)
            for (size_t k = 0; k < w->m[i].n; k++)
                planes += order0_planes_bytes(w->m[i].t[k].data, w->m[i].t[k].size, w->width);
        printf("  order-0 over bytes (one histogram per tensor) %.0f; per byte position of the "
               "%u-byte elements %.0f (%.3f x)\n",
               r->order0, w->width, planes, planes / r->order0);
    }
    printf("  bytes: peers = sum over model files of the compressed concatenation of that "
           "file's %s;\n"
           "         cnnz = payload: coded bytes + coder params of every stream that holds that\n"
           "         data (not the codebooks); the whole-file size (names, shapes, codebooks,\n"
           "         directory, checksums, alignment) is in the notes\n",
           w->data_what);
    printf("  enc/dec MB/s: peers on the data compressed; cnnz enc on the data given to the "
           "writer,\n"
           "         dec = decoded tensor bytes / time (open + cnnz_reader_decode of each "
           "tensor),\n"
           "         strm = decoded stream bytes / time (cnnz_reader_decode_stream of each "
           "stream: the coders alone)\n"
           "  single thread; median of reps (enc/dec); each decode checked byte for byte once\n");
    fflush(stdout);

    struct row *zr = new_row(r, "zstd -19", -2), *xr = new_row(r, "xz -9e", -2);
    char note[128];
    snprintf(note, sizeof note, "libzstd %s, level 19", peer_zstd_version());
    run_peer(b, w, in, zr, note, peer_zstd_compress, peer_zstd_decompress);
    snprintf(note, sizeof note, "liblzma %s, preset 9|EXTREME, CRC64", peer_xz_version());
    run_peer(b, w, in, xr, note, peer_xz_compress, peer_xz_decompress);
    r->zstd = zr;
    r->xz = xr;
    for (size_t k = 0; k < NCODERS; k++) {
        char label[32];
        snprintf(label, sizeof label, "cnnz %s", cnnz_coders[k].name);
        struct row *cr = new_row(r, label, cnnz_coders[k].coder);
        run_cnnz(b, w, r, cr);
    }
    /* cnnz auto, or the smallest coder that ran when auto did not. */
    for (unsigned i = 0; i < r->nrows; i++) {
        const struct row *x = &r->rows[i];
        if (x->coder == -2 || !x->ok)
            continue;
        if (x->coder == CNNZ_CODER_AUTO) {
            r->cnnz = x;
            break;
        }
        if (!r->cnnz || x->size < r->cnnz->size)
            r->cnnz = x;
    }
    print_table(w, r);
    print_targets(r, tg);
    if (!r->cnnz)
        fail(b, "%s: no cnnz coder gave a verified result", w->name);
    else if (b->nsummary < MAX_SUMMARY)
        snprintf(b->summary[b->nsummary++], sizeof b->summary[0],
                 "bench %s size_vs_order0=%.3f size_vs_xz=%.3f decode_MBps=%.0f", w->name,
                 (double)r->cnnz->size / r->order0,
                 r->xz->ok ? (double)r->cnnz->size / (double)r->xz->size : 0, r->cnnz->dec);
out:
    for (size_t i = 0; i < w->nm; i++)
        membuf_free(&in[i]);
    free(in);
    return err;
}

/* Load a workload with load, run it, and let extra add to its report. */
static int workload_section(struct bench *b, const char *name, const char *what, unsigned width,
                            int (*load)(const char *, struct bt_workload *),
                            const struct targets *tg,
                            void (*extra)(struct bench *, const struct bt_workload *,
                                          const struct wl_result *))
{
    struct bt_workload w = {.name = name, .data_what = what, .width = width};
    if (load(b->corpus, &w)) {
        corpus_free(&w);
        fail(b, "%s: cannot load the corpus", name);
        return 1;
    }
    struct wl_result *r = malloc(sizeof *r);
    int err = !r || run_workload(b, &w, tg, r);
    if (!err && extra)
        extra(b, &w, r);
    free(r);
    corpus_free(&w);
    return err;
}

/* ------------------------------------------------------------ sections */

static int sec_faceapi_u8(struct bench *b)
{
    printf("face-api (tfjs) uint8-quantized tensors, lossless: affine, the u8 symbols\n");
    const struct targets tg = {.max_vs_order0 = 0.97};
    return workload_section(b, "faceapi-u8", "u8 symbols", 1, corpus_faceapi_u8, &tg, NULL);
}

static int sec_ppocr_f32(struct bench *b)
{
    printf("PP-OCR (ONNX initializers and Constant nodes) float32 tensors, lossless: plain\n");
    const struct targets tg = {.max_vs_zstd = 0.89};
    return workload_section(b, "ppocr-f32", "f32 values", 4, corpus_ppocr_f32, &tg, NULL);
}

/* The ICPR 2020 paper's sHAM, paper-faithful: the tensor as the 2-D matrix
 * [dims[0], elements / dims[0]] in CSC form. Non-zero values (their
 * codebook indices, in column order) Huffman-coded; one row index per
 * non-zero at ceil(log2(rows)) bits; one count per column at
 * ceil(log2(rows + 1)) bits. Each part rounds up to whole bytes per tensor.
 * Codebooks are left out (the order-0 bound has none either). The Huffman
 * part uses cnnz's huffman coder through the writer (coded stream bytes;
 * its code table travels in the stream's params and is not counted) when
 * the library has it, else ideal Huffman code lengths computed here. */
static void sham_paper(struct bench *b, const struct bt_workload *w, const struct wl_result *r)
{
    uint64_t huff_ideal = 0, huff_coder = 0, rowidx = 0, colcnt = 0;
    size_t coder_tensors = 0, tensors = 0;
    char coder_err[300] = "";
    struct membuf nz = {0}, file = {0};
    for (size_t i = 0; i < w->nm; i++) {
        const struct bt_model *m = &w->m[i];
        /* One u8 tensor of the non-zero indices per HAM tensor, for the coder. */
        struct bt_model nzm = {.name = m->name};
        struct bt_tensor *tt = calloc(m->n ? m->n : 1, sizeof *tt);
        size_t *off = calloc(m->n ? m->n : 1, sizeof *off);
        nz.len = 0;
        if (!tt || !off) {
            free(tt);
            free(off);
            fail(b, "%s: out of memory", w->name);
            goto out;
        }
        for (size_t k = 0; k < m->n; k++) {
            const struct bt_tensor *t = &m->t[k];
            uint64_t rows = t->dims[0], cols = rows ? t->elements / rows : 0, freq[256] = {0};
            off[k] = nz.len;
            for (uint64_t col = 0; col < cols; col++)
                for (uint64_t row = 0; row < rows; row++) {
                    uint8_t q = t->data[row * cols + col];
                    if (q && membuf_append(&nz, &q, 1)) {
                        free(tt);
                        free(off);
                        fail(b, "%s: out of memory", w->name);
                        goto out;
                    }
                    freq[q]++;
                }
            uint64_t nnz = t->elements - freq[0];
            freq[0] = 0;
            huff_ideal += (huffman_bits(freq, 256) + 7) / 8;
            rowidx += (nnz * ceil_log2(rows) + 7) / 8;
            colcnt += (cols * ceil_log2(rows + 1) + 7) / 8;
            tensors++;
        }
        for (size_t k = 0; k < m->n; k++) {
            struct bt_tensor *x = &tt[k];
            size_t end = k + 1 < m->n ? off[k + 1] : nz.len;
            x->name = m->t[k].name;
            x->dtype = CNNZ_DT_U8;
            x->repr = CNNZ_REPR_PLAIN;
            x->rank = 1;
            x->dims[0] = x->elements = end - off[k];
            x->data = nz.p + off[k];
            x->size = end - off[k];
        }
        nzm.t = tt;
        nzm.n = m->n;
        file.len = 0;
        int e = coder_err[0] ? 1
                             : encode_model(&nzm, CNNZ_CODER_HUFFMAN, &file, coder_err,
                                            sizeof coder_err);
        cnnz_reader *rd = NULL;
        if (!e && (e = cnnz_reader_open_memory(&rd, file.p, file.len, NULL)))
            snprintf(coder_err, sizeof coder_err, "cnnz_reader_open_memory: %s", cnnz_strerror(e));
        for (size_t k = 0; !e && k < m->n; k++) {
            struct cnnz_tensor_info ti;
            if (cnnz_reader_tensor_info(rd, k, &ti))
                break;
            if (ti.stream_count != 1 || ti.streams[0].coder != CNNZ_CODER_HUFFMAN) {
                /* this tensor's stream stayed raw: count it at its ideal size */
                uint64_t f[256] = {0};
                for (size_t j = 0; j < tt[k].size; j++)
                    f[tt[k].data[j]]++;
                huff_coder += (huffman_bits(f, 256) + 7) / 8;
                continue;
            }
            huff_coder += ti.streams[0].coded_bytes;
            coder_tensors++;
        }
        cnnz_reader_close(rd);
        free(tt);
        free(off);
    }
    int by_coder = !coder_err[0] && coder_tensors > 0;
    uint64_t huff = by_coder ? huff_coder : huff_ideal;
    uint64_t total = huff + rowidx + colcnt;
    printf("  sHAM as in the ICPR 2020 paper: 2-D view [dims[0], elements/dims[0]] in CSC form,\n"
           "  each part rounded up to whole bytes per tensor, codebooks not counted:\n");
    char what[96];
    if (by_coder)
        snprintf(what, sizeof what, "non-zero indices, cnnz huffman coder (%zu/%zu tensors)",
                 coder_tensors, tensors);
    printf("    %-62s %12llu\n", by_coder ? what : "non-zero indices, ideal Huffman code lengths",
           (unsigned long long)huff);
    if (by_coder)
        printf("    %-62s %12llu\n", "(for reference: ideal Huffman code lengths)",
               (unsigned long long)huff_ideal);
    else
        printf("      (cnnz huffman coder not used: %s)\n",
               coder_err[0] ? coder_err : "the writer stored no stream with it");
    printf("    %-62s %12llu\n", "row indices, ceil(log2(rows)) bits each",
           (unsigned long long)rowidx);
    printf("    %-62s %12llu\n", "column counts, ceil(log2(rows+1)) bits each",
           (unsigned long long)colcnt);
    printf("    %-62s %12llu\n", "total", (unsigned long long)total);
    printf("    sHAM / order-0 = %.3f (expected ~2.3)", (double)total / r->order0);
    if (r->cnnz)
        printf(", sHAM / %s = %.3f", r->cnnz->label, (double)total / (double)r->cnnz->size);
    printf("\n");
out:
    membuf_free(&nz);
    membuf_free(&file);
}

static int sec_ppocr_p90q32(struct bench *b)
{
    printf("PP-OCR float tensors of rank >= 2 and >= 1024 elements, pruned 90%% by magnitude\n"
           "(ties: lower element index pruned first), survivors on 32 uniform levels over their\n"
           "[min, max] (the 32-level grid of issue 4, kept as it was for comparison; not convert's\n"
           "UQ); stored as ham, 33-entry f32 codebook (entry 0 = 0.0f) + u8 indices\n");
    const struct targets tg = {.max_vs_order0 = 0.95};
    return workload_section(b, "ppocr-p90q32", "u8 indices", 1, corpus_ppocr_p90q32, &tg, sham_paper);
}

/* ------------------------------------------------------------ quantizers */

/* Issue 5's table: each method at 32 levels after 90% magnitude pruning, on
 * the PP-OCR float tensors of rank >= 2 and >= 1024 weights (what `cnnz
 * convert --prune 0.9 --quant M:32` selects): time of pruning + quantizing
 * (single thread), distortion over all of them (SQNR = 10 log10 of the sum
 * of w^2 over the sum of squared errors), and the size as written by
 * CNNZ_CODER_AUTO vs float32 (whole .cnnz files of those tensors), stored
 * as `cnnz convert` stores them: UQ's grid as affine, the rest as HAM/sHAM. */
static int sec_quant(struct bench *b)
{
    (void)b;
    struct bt_workload w;
    memset(&w, 0, sizeof w);
    if (corpus_ppocr_f32(b->corpus, &w))
        return 1;
    static const struct {
        const char *label;
        int method, init;
        double target;
    } meth[] = {{"uq", CNNZ_QUANT_UQ, 0, 0},
                {"kmeans", CNNZ_QUANT_CWS, CNNZ_KMEANS_LINEAR, 0},
                {"kmeans++", CNNZ_QUANT_CWS, CNNZ_KMEANS_PLUSPLUS, 0},
                {"pws", CNNZ_QUANT_PWS, 0, 0},
                {"ecsq", CNNZ_QUANT_ECSQ, 0, 0.7}};
    int rc = 0;
    printf("PP-OCR float tensors of rank >= 2 and >= 1024 weights; prune 0.9 per tensor, then each\n"
           "method with 32 levels (ecsq: target 0.7 bits/weight, at most 256 levels); time is\n"
           "pruning + quantizing, single thread; bytes are .cnnz files of those tensors (--coder auto)\n");
    printf("  %-9s %10s %10s %8s %9s %9s\n", "method", "weights", "bytes", "ratio", "SQNR dB",
           "time s");
    for (size_t mi = 0; mi < sizeof meth / sizeof meth[0] && !rc; mi++) {
        struct cnnz_quant_options q;
        memset(&q, 0, sizeof q);
        q.method = meth[mi].method;
        q.levels = meth[mi].target > 0 ? 256 : 32;
        q.kmeans_init = meth[mi].init;
        q.target_bits = meth[mi].target;
        double secs = 0, sig = 0, err = 0;
        uint64_t weights = 0, bytes = 0;
        for (size_t i = 0; i < w.nm && !rc; i++) {
            struct membuf file = {0};
            struct cnnz_sink sink = {mem_write, &file};
            cnnz_writer *wr = NULL;
            rc = cnnz_writer_open(&wr, &sink, NULL) != 0;
            for (size_t k = 0; k < w.m[i].n && !rc; k++) {
                const struct bt_tensor *t = &w.m[i].t[k];
                if (t->rank < 2 || t->elements < 1024)
                    continue;
                size_t n = (size_t)t->elements;
                float *wt = malloc(n * 4), *cb = malloc(257 * 4);
                uint8_t *mask = malloc(n), *idx = malloc(n * 2);
                if (!wt || !cb || !mask || !idx) {
                    rc = 1;
                } else {
                    memcpy(wt, t->data, n * 4);
                    uint32_t cbn = 257;
                    struct cnnz_quant_report rep;
                    double t0 = bench_now();
                    int e = cnnz_prune_fraction(wt, n, 0.9, mask, NULL, NULL);
                    if (!e)
                        e = cnnz_quantize(wt, n, mask, &q, cb, &cbn, idx, &rep);
                    secs += bench_now() - t0;
                    if (!e) {
                        int sdt = cnnz_quant_index_dtype(q.levels);
                        for (size_t j = 0; j < n; j++) {
                            unsigned x = sdt == CNNZ_DT_U8 ? idx[j] : (unsigned)(idx[2 * j] | idx[2 * j + 1] << 8);
                            double d = (double)wt[j] - (double)cb[x];
                            sig += (double)wt[j] * wt[j];
                            err += d * d;
                        }
                        struct cnnz_tensor_desc d = {.name = t->name, .dtype = CNNZ_DT_F32,
                                                     .rank = t->rank, .dims = t->dims,
                                                     .repr = CNNZ_REPR_HAM, .symbol_dtype = sdt,
                                                     .coder = CNNZ_CODER_AUTO, .codebook = cb,
                                                     .codebook_size = cbn};
                        e = cnnz_quant_affine(cb, cbn, &rep, idx, n, sdt, &d.scale, &d.offset);
                        if (e == CNNZ_OK) {
                            d.repr = CNNZ_REPR_AFFINE;
                            d.codebook = NULL;
                            d.codebook_size = 0;
                        }
                        if (e == CNNZ_OK || e == CNNZ_E_UNSUPPORTED)
                            e = cnnz_writer_add_tensor(wr, &d, idx, n * cnnz_dtype_size(sdt));
                        weights += n;
                    }
                    if (e) {
                        fprintf(stderr, "bench: quant %s: %s: %s\n", meth[mi].label, t->name,
                                cnnz_error_token(e));
                        rc = 1;
                    }
                }
                free(wt);
                free(cb);
                free(mask);
                free(idx);
            }
            if (!rc)
                rc = cnnz_writer_finish(wr) != 0;
            cnnz_writer_free(wr);
            bytes += file.len;
            membuf_free(&file);
        }
        if (!rc) {
            printf("  %-9s %10llu %10llu %7.1fx %9.2f %9.2f\n", meth[mi].label,
                   (unsigned long long)weights, (unsigned long long)bytes,
                   bytes ? 4.0 * (double)weights / (double)bytes : 0, 10 * log10(sig / err), secs);
            printf("bench quant method=%s levels=%u prune=0.90 ratio=%.1f sqnr_db=%.2f time_s=%.2f\n",
                   meth[mi].label, q.levels, bytes ? 4.0 * (double)weights / (double)bytes : 0,
                   10 * log10(sig / err), secs);
        }
    }
    corpus_free(&w);
    return rc;
}

/* Issue 6: y = W x on the compressed form (matvec.c). */
static int sec_matvec(struct bench *b)
{
    return bench_matvec(b->corpus, b->reps);
}

static int sec_hostile(struct bench *b)
{
    return bench_hostile(b->reps);
}

static const struct section {
    const char *name;
    int (*run)(struct bench *b);
} sections[] = {
    {"faceapi-u8", sec_faceapi_u8},
    {"ppocr-f32", sec_ppocr_f32},
    {"ppocr-p90q32", sec_ppocr_p90q32},
    {"quant", sec_quant},
    {"matvec", sec_matvec},
    {"hostile", sec_hostile},
};

/* ------------------------------------------------------------ main */

static int selected(const char *only, const char *name)
{
    if (!only || !*only)
        return 1;
    size_t n = strlen(name);
    for (const char *p = only; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !strncmp(p, name, n))
            return 1;
        p += l + (e != NULL);
    }
    return 0;
}

static unsigned env_uint(const char *name, unsigned def, unsigned max)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v < 1 || v > max) {
        fprintf(stderr, "bench: %s must be 1..%u; using %u\n", name, max, def);
        return def;
    }
    return (unsigned)v;
}

/* Line one of /sys/devices/system/cpu/cpu0/cache/index<i>/<what>, without
 * its newline; 0 when there is none. */
static int sys_cache(int i, const char *what, char *buf, size_t n)
{
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", i, what);
    FILE *f = fopen(path, "r");
    int ok = f && fgets(buf, (int)n, f);
    if (f)
        fclose(f);
    if (ok)
        buf[strcspn(buf, "\n")] = 0;
    return ok;
}

/* The CPU, the widest SIMD matvec can use and the caches: the matvec
 * ratios depend on them (sgemv on a matrix that fits the last-level cache
 * runs at that cache's speed). */
static void print_host(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256], model[256] = "unknown CPU";
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            line[strcspn(line, "\n")] = 0;
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            break;
        }
    if (f)
        fclose(f);
    printf("host: %s", model);
    const char *simd = "portable";
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    simd = __builtin_cpu_supports("avx512f") ? "avx512f" : __builtin_cpu_supports("avx2") ? "avx2" : simd;
#endif
    printf("; matvec kernels %s", simd);
    /* the caches as the kernel lists them (glibc's sysconf gave a VM's
     * whole-socket L3 for one core's share) */
    for (int i = 0; i < 8; i++) {
        char level[16], size[32];
        if (sys_cache(i, "level", level, sizeof level) && sys_cache(i, "size", size, sizeof size) &&
            level[0] >= '2')
            printf("; L%s %s", level, size);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    struct bench b = {.corpus = argc > 1 ? argv[1] : ".corpus"};
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: bench [CORPUS_DIR]   (env BENCH_REPS, BENCH_SECONDS, BENCH_ONLY)\n");
        return 2;
    }
    b.reps = env_uint("BENCH_REPS", 5, MAX_REPS);
    b.budget = env_uint("BENCH_SECONDS", 8, 3600);
    const char *only = getenv("BENCH_ONLY");
    printf("cnnz bench: libcnnz %s, corpus %s, BENCH_REPS=%u, BENCH_SECONDS=%g\n",
           CNNZ_LIB_VERSION_STRING, b.corpus, b.reps, b.budget);
    print_host();
    double t0 = bench_now();
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (!selected(only, sections[i].name))
            continue;
        double ts = bench_now();
        printf("\n== %s: ", sections[i].name);
        fflush(stdout);
        if (sections[i].run(&b))
            b.failed = 1;
        printf("  (%s: %.1f s)\n", sections[i].name, bench_now() - ts);
        fflush(stdout);
    }
    printf("\n== summary (cnnz auto, or the smallest cnnz coder that ran; %.0f s in all)\n",
           bench_now() - t0);
    for (unsigned i = 0; i < b.nsummary; i++)
        printf("%s\n", b.summary[i]);
    if (b.failed)
        printf("bench: FAILED (see the errors above)\n");
    return b.failed ? 1 : 0;
}
