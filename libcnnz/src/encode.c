/* Choosing layouts and coders (encoder only; spec 6, 7). Every choice is a
 * pure function of the input, so encoding is deterministic: ties go to the
 * candidate tried first (lower representation, then lower coder id). */
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

#include <pthread.h>

#include "encode.h"
#include "format.h"

/* What a coder is told about a stream (struct cnnz__symfmt). */
static void stream_fmt(const struct cnnz_tensor_info *ti, uint8_t role, struct cnnz__symfmt *f)
{
    size_t es = cnnz_dtype_size(ti->dtype);
    f->row = f->group = 0;
    switch (role) {
    case CNNZ_ROLE_SYMBOLS:
        f->width = (unsigned)cnnz_dtype_size(ti->symbol_dtype);
        break;
    case CNNZ_ROLE_HIGH:
        f->width = 2;
        break;
    case CNNZ_ROLE_VALUES:
    case CNNZ_ROLE_CODEBOOK:
        f->width = es <= 2 ? (unsigned)es : 1; /* wider values: as bytes */
        break;
    default: /* plane, runs */
        f->width = 1;
        break;
    }
    /* Streams in element order get the tensor's grid (context models use it). */
    if (ti->repr != CNNZ_REPR_SHAM && role != CNNZ_ROLE_CODEBOOK && ti->rank >= 2 &&
        ti->elements) {
        f->row = ti->dims[ti->rank - 1];
        f->group = ti->elements / ti->dims[0];
    }
}

static void stream_reset(struct cnnz__enc_stream *s)
{
    s->out.len = s->params.len = 0;
    s->coded = NULL;
    s->coded_len = 0;
}

/* Code stream data with coder cd into s. */
static int try_coder(const struct cnnz__alloc *a, const struct cnnz__coder *cd,
                     const struct cnnz__symfmt *f, const uint8_t *data, uint64_t len,
                     struct cnnz__enc_stream *s)
{
    stream_reset(s);
    const uint8_t *coded;
    size_t clen;
    int err = cd->encode(a, f, data ? data : (const uint8_t *)"", (size_t)len, &s->out, &coded,
                         &clen, &s->params);
    if (err)
        return err;
    if (s->params.len > UINT16_MAX || !cnnz__expansion_ok(len, clen))
        return CNNZ_E_UNSUPPORTED; /* spec 5.3.1: then raw, or another coder */
    s->coder = cd->id;
    s->version = cd->version;
    s->align = cnnz__stream_align(cd, clen);
    s->coded = coded;
    s->coded_len = clen;
    return CNNZ_OK;
}

/* File bytes a stream costs: entry, params, coded bytes, expected padding. */
static uint64_t stream_cost(const struct cnnz__enc_stream *s)
{
    return CNNZ__STREAM_ENTRY_MIN + s->params.len + s->coded_len + (s->align - 1u) / 2u;
}

static void swap_streams(struct cnnz__enc_stream *x, struct cnnz__enc_stream *y)
{
    struct cnnz__enc_stream t = *x;
    *x = *y;
    *y = t;
}

/* Encode stream k of e with the given coder, or with the smallest of all. */
static int encode_stream(const struct cnnz__alloc *a, struct cnnz__enc_tensor *e, unsigned k,
                         int coder, struct cnnz__enc_stream *trial)
{
    struct cnnz__enc_stream *s = &e->s[k];
    struct cnnz__symfmt f;
    stream_fmt(&e->ti, e->split.role[k], &f);
    s->role = e->split.role[k];
    s->decoded_len = e->split.len[k];
    const uint8_t *data = e->split.data[k];
    uint64_t len = e->split.len[k];
    int err;
    if (coder != CNNZ_CODER_AUTO) {
        err = try_coder(a, cnnz__coder_get((unsigned)coder), &f, data, len, s);
        if (err == CNNZ_E_UNSUPPORTED && f.width > 1) { /* as bytes */
            f.width = 1;
            err = try_coder(a, cnnz__coder_get((unsigned)coder), &f, data, len, s);
        }
        if (err == CNNZ_E_UNSUPPORTED) /* a stream this coder cannot take stays raw */
            err = try_coder(a, &cnnz__coder_raw, &f, data, len, s);
        return err;
    }
    /* raw first: every other coder must beat it, so no stream grows past
     * its raw size by more than the alignment. */
    if ((err = try_coder(a, &cnnz__coder_raw, &f, data, len, s)))
        return err;
    uint64_t best = stream_cost(s);
    for (unsigned i = 0; i < cnnz__coder_count(); i++) {
        const struct cnnz__coder *cd = cnnz__coder_at(i);
        if (cd == &cnnz__coder_raw)
            continue;
        err = try_coder(a, cd, &f, data, len, trial);
        if (err == CNNZ_E_UNSUPPORTED)
            continue;
        if (err)
            return err;
        uint64_t c = stream_cost(trial);
        if (c < best) {
            best = c;
            swap_streams(s, trial);
        }
    }
    s->role = e->split.role[k]; /* the swaps moved the trial's stale fields in */
    s->decoded_len = e->split.len[k];
    return CNNZ_OK;
}

/* XXH64 of the decoded tensor, rebuilt from the split streams exactly as a
 * reader rebuilds it (so the writer cannot disagree with the reader). */
static int decoded_hash(struct cnnz__enc_tensor *e)
{
    const struct cnnz_tensor_info *ti = &e->ti;
    struct cnnz__streams ss = {e->split.data, e->split.len};
    if (ti->repr == CNNZ_REPR_PLAIN && ti->dtype != CNNZ_DT_BOOL) { /* the stream is the tensor */
        e->decoded_xxh64 = XXH64(e->split.data[0] ? e->split.data[0] : (const uint8_t *)"",
                                 (size_t)ti->decoded_bytes, 0);
        return CNNZ_OK;
    }
    uint64_t chunk[4096];
    size_t es = cnnz_dtype_size(ti->dtype), per = sizeof chunk / es;
    struct cnnz__cursor cur = {0};
    XXH64_state_t st;
    XXH64_reset(&st, 0);
    for (uint64_t first = 0; first < ti->elements; first += per) {
        size_t n = ti->elements - first < per ? (size_t)(ti->elements - first) : per;
        int err = e->rep->rebuild(ti, &ss, &cur, first, n, (uint8_t *)chunk);
        if (err) /* data no decoder could rebuild (an index past the codebook...) */
            return err == CNNZ_E_CORRUPT ? CNNZ_E_INPUT : err;
        XXH64_update(&st, chunk, n * es);
    }
    e->decoded_xxh64 = XXH64_digest(&st);
    return CNNZ_OK;
}

static void enc_clear(const struct cnnz__alloc *a, struct cnnz__enc_tensor *e)
{
    cnnz__split_free(a, &e->split);
    for (unsigned k = 0; k < 255; k++) {
        cnnz__buf_free(&e->s[k].out);
        cnnz__buf_free(&e->s[k].params);
    }
}

void cnnz__enc_free(const struct cnnz__alloc *a, struct cnnz__enc_tensor *e)
{
    if (!e)
        return;
    enc_clear(a, e);
    cnnz__free(a, e);
}

static struct cnnz__enc_tensor *enc_new(const struct cnnz__alloc *a)
{
    struct cnnz__enc_tensor *e = cnnz__malloc(a, sizeof *e);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    for (unsigned k = 0; k < 255; k++)
        e->s[k].out.a = e->s[k].params.a = a;
    return e;
}

/* sHAM blocks: about 64 Ki elements each, at most 32, so a matrix-vector
 * product or a decode can run one block per thread. */
static uint64_t sham_block_rows(const struct cnnz_tensor_info *ti)
{
    uint64_t rows = ti->rank ? ti->dims[0] : 1;
    if (!ti->elements)
        return 1;
    uint64_t blocks = ti->elements / 65536;
    if (blocks > 32)
        blocks = 32;
    if (blocks > rows)
        blocks = rows;
    if (blocks < 1)
        blocks = 1;
    return rows / blocks + (rows % blocks != 0);
}

/* Below this many bytes a tensor is coded on the caller's thread. The
 * fuzzing build (CNNZ_FUZZING) threads from 1 KiB, so that a fuzzer's small
 * tensors reach the pool (the bytes are the same either way). */
#ifdef CNNZ_FUZZING
#define ENC_MIN_MT_BYTES 1024u
#else
#define ENC_MIN_MT_BYTES 65536u
#endif

/* The work of one tensor: every (layout, stream) pair, coded by a pool of
 * threads that take the next pair in order. Results do not depend on the
 * thread count: each pair's result is a function of its input only. */
struct jobs {
    const struct cnnz__alloc *a;
    int coder;
    struct cnnz__enc_tensor **cand;
    unsigned ncand;
    int err[2];
    pthread_mutex_t lock;
    unsigned next_c, next_k;
};

static int take(struct jobs *j, unsigned *c, unsigned *k)
{
    int got = 0;
    pthread_mutex_lock(&j->lock);
    while (j->next_c < j->ncand) {
        if (j->next_k < j->cand[j->next_c]->n && !j->err[j->next_c]) {
            *c = j->next_c;
            *k = j->next_k++;
            got = 1;
            break;
        }
        j->next_c++;
        j->next_k = 0;
    }
    pthread_mutex_unlock(&j->lock);
    return got;
}

static void *worker(void *arg)
{
    struct jobs *j = arg;
    struct cnnz__enc_stream trial;
    memset(&trial, 0, sizeof trial);
    trial.out.a = trial.params.a = j->a;
    unsigned c, k;
    while (take(j, &c, &k)) {
        int err = encode_stream(j->a, j->cand[c], k, j->coder, &trial);
        if (err) {
            pthread_mutex_lock(&j->lock);
            if (!j->err[c])
                j->err[c] = err;
            pthread_mutex_unlock(&j->lock);
        }
    }
    cnnz__buf_free(&trial.out);
    cnnz__buf_free(&trial.params);
    return NULL;
}

static void run_jobs(struct jobs *j, unsigned threads, uint64_t bytes)
{
    unsigned tasks = 0;
    for (unsigned c = 0; c < j->ncand; c++)
        tasks += j->cand[c]->n;
    /* Threads pay off only with several streams of some size. */
    if (threads > tasks)
        threads = tasks;
    if (bytes < ENC_MIN_MT_BYTES)
        threads = 1;
    pthread_t tid[64];
    unsigned started = 0;
    for (; threads > 1 && started < threads - 1 && started < 64; started++)
        if (pthread_create(&tid[started], NULL, worker, j))
            break;
    worker(j); /* the caller's thread works too (and alone when none started) */
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
}

int cnnz__encode_tensor(const struct cnnz__alloc *a, const struct cnnz_tensor_info *ti, int coder,
                        const uint8_t *data, size_t size, const uint8_t *codebook,
                        unsigned threads, struct cnnz__enc_tensor **out)
{
    *out = NULL;
    /* Candidate layouts, the caller's first. */
    int cand_repr[2] = {ti->repr, -1};
    size_t es = cnnz_dtype_size(ti->dtype);
    if (coder == CNNZ_CODER_AUTO) {
        if (ti->repr == CNNZ_REPR_PLAIN && (es == 4 || es == 8))
            cand_repr[1] = CNNZ_REPR_PLANES;
        if (ti->repr == CNNZ_REPR_HAM && codebook && cnnz__codebook_first_zero(ti, codebook) < ti->codebook_size)
            cand_repr[1] = CNNZ_REPR_SHAM;
    }
    struct cnnz__enc_tensor *cand[2] = {NULL, NULL};
    unsigned ncand = 0;
    int err = CNNZ_OK;
    uint64_t bytes = 0;
    for (unsigned c = 0; c < 2 && cand_repr[c] >= 0; c++) {
        struct cnnz__enc_tensor *e = enc_new(a);
        if (!e) {
            err = CNNZ_E_NOMEM;
            break;
        }
        cand[ncand++] = e;
        e->ti = *ti;
        e->ti.repr = cand_repr[c];
        e->rep = cnnz__repr_get((unsigned)cand_repr[c]);
        if (cand_repr[c] == CNNZ_REPR_SHAM && !e->ti.block_rows)
            e->ti.block_rows = sham_block_rows(&e->ti);
        if (!(err = e->rep->check(&e->ti))) {
            e->ti.stream_count = e->rep->count(&e->ti);
            err = e->rep->split(a, &e->ti, data, size, codebook, &e->split);
        }
        if (!err)
            err = decoded_hash(e);
        e->n = e->split.n;
        for (unsigned k = 0; k < e->n; k++)
            bytes += e->split.len[k];
        if (err && c > 0) { /* an alternative that cannot take the input is skipped */
            cnnz__enc_free(a, e);
            ncand--;
            err = CNNZ_OK;
        }
        if (err)
            break;
    }
    struct jobs j = {.a = a, .coder = coder, .cand = cand, .ncand = ncand};
    if (!err && pthread_mutex_init(&j.lock, NULL))
        err = CNNZ_E_NOMEM;
    if (!err) {
        run_jobs(&j, threads ? threads : 1, bytes);
        pthread_mutex_destroy(&j.lock);
        err = j.err[0];
    }
    struct cnnz__enc_tensor *best = NULL;
    for (unsigned c = 0; c < ncand && !err; c++) {
        if (j.err[c]) /* only an alternative can fail here */
            continue;
        cand[c]->cost = 0;
        for (unsigned k = 0; k < cand[c]->n; k++)
            cand[c]->cost += stream_cost(&cand[c]->s[k]);
        if (!best || cand[c]->cost < best->cost)
            best = cand[c];
    }
    for (unsigned c = 0; c < ncand; c++)
        if (cand[c] != best || err)
            cnnz__enc_free(a, cand[c]);
    if (err)
        return err;
    *out = best;
    return CNNZ_OK;
}
