/* cnnz extract: tensors of a .cnnz file as .npy files. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "npy.h"

static const char help[] =
    "usage: cnnz extract IN.cnnz [-o DIR] [--tensor NAME]... [--stored | --levels] [-f]\n"
    "                    [-j N]\n"
    "       cnnz extract --conformance IN.cnnz OUTDIR\n"
    "\n"
    "Writes each tensor (or each NAME) as DIR/FILE.npy (DIR defaults to '.', and is\n"
    "created if missing). FILE is the tensor name with every byte outside\n"
    "[A-Za-z0-9._-] written as %XX (so 'conv1/w' becomes 'conv1%2Fw.npy'), and\n"
    "the names '.' and '..' encoded whole. Tensors come out in their dtype:\n"
    "TensorFlow.js quantized weights as the float32 (or int32) tfjs computes.\n"
    "\n"
    "  --stored       write the values as stored instead of decoded: tfjs uint8/uint16\n"
    "                 symbols and float16 values, byte-identical to the model's shards;\n"
    "                 codebook indices of ham tensors (sham tensors: an error)\n"
    "  --levels       integer levels for accelerators: for ham/sham tensors the\n"
    "                 codebook indices as FILE.npy and the codebook as\n"
    "                 FILE.codebook.npy; for tfjs-quantized (affine) tensors the\n"
    "                 symbols as FILE.npy and [scale, offset] (float64) as\n"
    "                 FILE.affine.npy; other tensors as usual\n"
    "  --tensor NAME  only this tensor (repeatable)\n"
    "  -f             overwrite existing .npy files\n"
    "  -j N           decode N tensors at a time (default: all cores)\n"
    "  --conformance  the decoder contract of conformance/README.md: verify the\n"
    "                 whole file first (spec 9.3; on a fault print it with its\n"
    "                 [CNNZ_E_...] token and exit 1), then write tensor i as\n"
    "                 OUTDIR/i.npy and its name, byte for byte, as OUTDIR/i.name\n";

int cli_write_npy(const char *path, int force, char *const *inputs, int ninputs, int dtype,
                  unsigned rank, const uint64_t *dims, const void *data, size_t n)
{
    unsigned char h[NPY_HEADER_MAX];
    size_t hl;
    char err[FMT_ERR_SIZE];
    if (npy_header(dtype, rank, dims, h, sizeof h, &hl, err, sizeof err)) {
        cli_error("%s: %s", path, err);
        return EXIT_ERR;
    }
    struct outfile o;
    if (outfile_open(&o, path, force, inputs, ninputs))
        return EXIT_ERR;
    if (outfile_write(&o, h, hl) || outfile_write(&o, data, n)) {
        cli_error("%s: cannot write: %s", path, outfile_reason(&o));
        outfile_abort(&o);
        return EXIT_ERR;
    }
    return outfile_commit(&o);
}

/* DIR/FILE.npy for the tensor (suffix e.g. ".codebook"); malloc'd. */
static char *out_path(const char *dir, const struct cnnz_tensor_info *ti, const char *suffix)
{
    char file[3 * CNNZ_MAX_NAME_BYTES + 8];
    cli_name_to_file(ti->name, ti->name_len, file, sizeof file);
    size_t pl = strlen(dir) + strlen(file) + strlen(suffix) + 8;
    char *path = malloc(pl);
    if (path)
        snprintf(path, pl, "%s/%s%s.npy", dir, file, suffix);
    return path;
}

/* --levels: what a tensor's integer form has besides its symbols. */
static int write_side(const cnnz_reader *r, char *in, size_t i, const struct cnnz_tensor_info *ti,
                      const char *dir, int force)
{
    char *path = out_path(dir, ti, ti->repr == CNNZ_REPR_AFFINE ? ".affine" : ".codebook");
    if (!path)
        return EXIT_ERR;
    int rc;
    if (ti->repr == CNNZ_REPR_AFFINE) {
        double so[2] = {ti->scale, ti->offset};
        uint64_t two = 2;
        rc = cli_write_npy(path, force, &in, 1, CNNZ_DT_F64, 1, &two, so, sizeof so);
    } else {
        uint64_t k = ti->codebook_size;
        size_t bytes = (size_t)ti->streams[0].decoded_bytes;
        void *cb = malloc(bytes ? bytes : 1);
        struct cnnz_where w = {0};
        int err = cb ? cnnz_reader_decode_stream(r, i, 0, cb, bytes, &w) : CNNZ_E_NOMEM;
        rc = err ? cli_lib_error(in, r, &w, err)
                 : cli_write_npy(path, force, &in, 1, ti->dtype, 1, &k, cb, bytes);
        free(cb);
    }
    free(path);
    return rc;
}

/* --conformance: the tensor's name, byte for byte, as DIR/i.name. */
static int write_name(const char *dir, size_t i, char *in, const struct cnnz_tensor_info *ti)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%zu.name", dir, i);
    struct outfile o;
    if (outfile_open(&o, path, 0, &in, 1))
        return EXIT_ERR;
    if (outfile_write(&o, ti->name, ti->name_len)) {
        cli_error("%s: cannot write: %s", path, outfile_reason(&o));
        outfile_abort(&o);
        return EXIT_ERR;
    }
    return outfile_commit(&o);
}

/* conformance: files named by index (i.npy, i.name), which any name fits. */
static int extract_one(const cnnz_reader *r, char *in, size_t i, const char *dir, int stored,
                       int force, int conformance)
{
    struct cnnz_tensor_info ti;
    cnnz_reader_tensor_info(r, i, &ti);
    int dtype = ti.dtype;
    uint64_t bytes = ti.decoded_bytes;
    /* --stored: the values as the source stored them. A plain or planes
     * tensor is its elements; affine and widen keep the source's symbols or
     * half floats in stream 0; ham its indices in stream 1. */
    int sk = -1, levels = stored == 2 && (ti.repr == CNNZ_REPR_HAM || ti.repr == CNNZ_REPR_SHAM);
    if (stored == 2 && ti.repr != CNNZ_REPR_AFFINE)
        stored = 0; /* --levels: only quantized tensors have levels */
    if (levels) {
        dtype = ti.symbol_dtype;
        bytes = ti.elements * cnnz_dtype_size(dtype);
    } else if (stored && (ti.repr == CNNZ_REPR_AFFINE || ti.repr == CNNZ_REPR_WIDEN))
        sk = 0;
    else if (stored && ti.repr == CNNZ_REPR_HAM)
        sk = 1;
    else if (stored && ti.repr == CNNZ_REPR_SHAM) {
        cli_error("%s: tensor '%s' is sparse (sham): it has no dense stored stream", in, ti.name);
        return EXIT_ERR;
    }
    if (sk >= 0) {
        dtype = ti.symbol_dtype;
        bytes = ti.streams[sk].decoded_bytes;
    }
    void *buf = malloc(bytes ? (size_t)bytes : 1);
    if (!buf) {
        cli_error("%s: tensor '%s': out of memory (%llu bytes)", in, ti.name, (unsigned long long)bytes);
        return EXIT_ERR;
    }
    struct cnnz_where w = {0};
    int err = levels    ? cnnz_reader_decode_indices(r, i, buf, (size_t)bytes, &w)
              : sk >= 0 ? cnnz_reader_decode_stream(r, i, (unsigned)sk, buf, (size_t)bytes, &w)
                        : cnnz_reader_decode(r, i, buf, (size_t)bytes, &w);
    int rc;
    if (err) {
        rc = cli_lib_error(in, r, &w, err);
    } else {
        char file[3 * CNNZ_MAX_NAME_BYTES + 8];
        if (conformance)
            snprintf(file, sizeof file, "%zu", i);
        else
            cli_name_to_file(ti.name, ti.name_len, file, sizeof file);
        size_t pl = strlen(dir) + strlen(file) + 8;
        char *path = malloc(pl);
        if (!path) {
            free(buf);
            return EXIT_ERR;
        }
        snprintf(path, pl, "%s/%s.npy", dir, file);
        rc = cli_write_npy(path, force, &in, 1, dtype, ti.rank, ti.dims, buf, (size_t)bytes);
        free(path);
        if (!rc && conformance)
            rc = write_name(dir, i, in, &ti);
        if (!rc && (levels || (stored == 2 && ti.repr == CNNZ_REPR_AFFINE)))
            rc = write_side(r, in, i, &ti, dir, force);
    }
    free(buf);
    return rc;
}

/* Tensors decoded by a pool of threads (the reader is thread-safe); the
 * first failure stops the others taking new work. */
struct pool {
    const cnnz_reader *r;
    char *in;
    const char *dir;
    int stored, force, conformance;
    const size_t *idx;
    size_t n, next;
    int rc;
    pthread_mutex_t lock;
};

static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t k = p->next++;
        int stop = p->rc != EXIT_OK || k >= p->n;
        pthread_mutex_unlock(&p->lock);
        if (stop)
            return NULL;
        int rc = extract_one(p->r, p->in, p->idx[k], p->dir, p->stored, p->force, p->conformance);
        if (rc) {
            pthread_mutex_lock(&p->lock);
            if (p->rc == EXIT_OK)
                p->rc = rc;
            pthread_mutex_unlock(&p->lock);
        }
    }
}

static int extract_all(struct pool *p, unsigned threads)
{
    if (pthread_mutex_init(&p->lock, NULL))
        return EXIT_ERR;
    pthread_t tid[256];
    unsigned started = 0;
    if (threads > p->n)
        threads = (unsigned)p->n;
    for (; started + 1 < threads; started++)
        if (pthread_create(&tid[started], NULL, pool_worker, p))
            break;
    pool_worker(p);
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&p->lock);
    return p->rc;
}

int cmd_extract(int argc, char **argv)
{
    const char *jobs = NULL;
    char *in = NULL;
    const char *dir = ".";
    int stored = 0, force = 0, nsel = 0, conformance = 0;
    const char **sel = calloc((size_t)argc + 1, sizeof *sel);
    if (!sel)
        return EXIT_ERR;
    int rc = EXIT_OK;
    for (int i = 1; i < argc && rc == EXIT_OK; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            free(sel);
            return EXIT_OK;
        } else if (!strcmp(a, "-o") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(a, "--tensor") && i + 1 < argc) {
            sel[nsel++] = argv[++i];
        } else if (!strcmp(a, "-j") && i + 1 < argc) {
            jobs = argv[++i];
        } else if (!strcmp(a, "--stored") || !strcmp(a, "--levels")) {
            if (stored) /* one of them, once */
                rc = EXIT_USAGE;
            stored = a[2] == 's' ? 1 : 2;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--conformance")) {
            conformance = 1;
        } else if (conformance && in && !strcmp(dir, ".") && !(a[0] == '-' && a[1])) {
            dir = a; /* --conformance IN.cnnz OUTDIR */
        } else if ((a[0] == '-' && a[1]) || in) {
            rc = EXIT_USAGE;
        } else {
            in = argv[i];
        }
    }
    if (conformance && (stored || nsel))
        rc = EXIT_USAGE;
    if (rc || !in) {
        fputs(help, stderr);
        free(sel);
        return EXIT_USAGE;
    }
    cnnz_reader *r;
    struct cnnz_where w = {0};
    int err;
    if (cli_open(in, 1, &r)) {
        free(sel);
        return EXIT_ERR;
    }
    if (conformance && (err = cnnz_reader_verify(r, &w)) != 0) {
        rc = cli_lib_error(in, r, &w, err);
        cnnz_reader_close(r);
        free(sel);
        return rc;
    }
    struct stat st;
    if (stat(dir, &st) != 0 && mkdir(dir, 0777) != 0) {
        cli_error("%s: cannot create directory: %s", dir, strerror(errno));
        rc = EXIT_ERR;
    }
    unsigned threads = 1;
    if (rc == EXIT_OK && cli_threads(jobs, &threads))
        rc = EXIT_USAGE;
    size_t n = nsel ? (size_t)nsel : cnnz_reader_tensor_count(r);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        rc = EXIT_ERR;
    for (size_t k = 0; k < n && rc == EXIT_OK; k++) {
        idx[k] = k;
        if (nsel && cnnz_reader_find(r, sel[k], &idx[k])) {
            cli_error("%s: no tensor named '%s'", in, sel[k]);
            rc = EXIT_ERR;
        }
    }
    if (rc == EXIT_OK) {
        struct pool p = {.r = r, .in = in, .dir = dir, .stored = stored, .force = force,
                         .conformance = conformance, .idx = idx, .n = n};
        rc = extract_all(&p, threads);
    }
    free(idx);
    cnnz_reader_close(r);
    free(sel);
    return rc;
}
