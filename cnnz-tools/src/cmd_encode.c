/* cnnz convert (alias encode): models and arrays into one .cnnz file. The
 * input format is recognized by content, not by the file name. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "npy.h"
#include "npz.h"
#include "lossy.h"
#include "onnx.h"
#include "safetensors.h"
#include "tfjs.h"

static const char help[] =
    "usage: cnnz convert IN... -o OUT.cnnz [-f] [--coder NAME] [-j N] [--skip-unsupported]\n"
    "                    [--prune F | --prune-global F | --prune-abs T]\n"
    "                    [--quant METHOD:K] [--rate-lambda L] [--min-weights N]\n"
    "                    [--only REGEX] [--skip REGEX] [--seed N] [--report FILE.json]\n"
    "       (cnnz encode is the same command)\n"
    "\n"
    "Stores every weight tensor of the inputs in OUT.cnnz, lossless, with its\n"
    "name, dtype and shape. Inputs are recognized by content:\n"
    "  ONNX models: initializers and Constant-node tensors; external data is read\n"
    "    only from inside the model's folder\n"
    "  safetensors: every tensor; __metadata__ kept as metadata\n"
    "  NumPy .npz (stored or deflated members) and .npy (named after the file)\n"
    "  TensorFlow.js: a model.json or a *weights_manifest.json with its .bin\n"
    "    shards; quantized weights keep their stored bytes\n"
    "\n"
    "  -o FILE             output file (required); written atomically\n"
    "  -f                  overwrite FILE if it exists\n"
    "  --coder NAME        auto (default): per tensor the smallest layout (plain or\n"
    "                      byte planes; ham or sham) and per stream the smallest\n"
    "                      coder; or one coder for every stream: raw, huffman,\n"
    "                      rans, cabac (a stream it cannot code stays raw)\n"
    "  -j N                encode with N threads (default: all cores)\n"
    "  --prune F           lossy: zero the fraction F (0..1) of smallest |w| of each\n"
    "                      selected tensor\n"
    "  --prune-global F    the same with one threshold for all selected tensors\n"
    "                      together (reads the inputs twice)\n"
    "  --prune-abs T       zero every selected weight with |w| <= T\n"
    "  --quant METHOD:K    lossy: quantize the kept weights of each selected tensor to\n"
    "                      a codebook (pruned weights stay 0; uq is stored as\n"
    "                      affine symbols, the others as HAM/sHAM):\n"
    "                      uq:K (uniform), kmeans:K (k-means weight sharing), pws:K\n"
    "                      (probabilistic weight sharing), ecsq:BITS (entropy-\n"
    "                      constrained, BITS per weight) or ecsq with\n"
    "  --rate-lambda L     ECSQ's rate weight lambda, instead of a BITS target\n"
    "  --min-weights N     select float32 tensors of rank >= 2 with >= N weights\n"
    "                      (default 1024); 1-D tensors (biases, norms) stay lossless\n"
    "  --only REGEX        select only tensors whose name matches (POSIX extended)\n"
    "  --skip REGEX        never select tensors whose name matches\n"
    "  --seed N            seed of k-means++ and PWS (default 0)\n"
    "  --report FILE.json  the per-tensor report (method, levels, sparsity, bits per\n"
    "                      weight, ratio, SQNR, max abs error, relative L2 error)\n"
    "  --skip-unsupported  warn about tensors cnnz cannot hold (dtype string,\n"
    "                      float8, ...) and leave them out, instead of failing\n"
    "  -h, --help          this text\n";

struct enc {
    cnnz_writer *w;
    struct outfile *out;
    int progress;           /* stderr is a terminal: show a running count */
    size_t tensors;
    unsigned long long bytes;
    int coder;
    int skip_unsupported;
    const char *format; /* source.format so far, or "mixed" */
    struct lossy *lossy;
    unsigned long long decoded; /* decoded bytes of every tensor written */
    int collect; /* first pass of global pruning: only gather the selected weights */
};

static int add(struct enc *e, const char *path, const char *name, const struct cnnz_tensor_desc *d0,
               const void *data, size_t size)
{
    struct cnnz_tensor_desc d = *d0;
    d.name = name;
    d.name_len = strlen(name);
    d.coder = e->coder;
    uint64_t n = 1;
    for (unsigned i = 0; i < d.rank; i++)
        n *= d.dims[i];
    if (e->collect)
        return lossy_selected(e->lossy, name, &d) ? lossy_collect(e->lossy, path, name, data, size)
                                                   : EXIT_OK;
    e->decoded += n * cnnz_dtype_size(d.dtype);
    if (lossy_selected(e->lossy, name, &d)) {
        e->tensors++;
        e->bytes += size;
        return lossy_add(e->lossy, e->w, e->coder, path, name, &d, data, size);
    }
    int err = cnnz_writer_add_tensor(e->w, &d, data, size);
    e->tensors++;
    e->bytes += size;
    if (e->progress && !err)
        fprintf(stderr, "\rcnnz: %s: %zu tensors, %.1f MB", path, e->tensors, (double)e->bytes / 1e6);
    if (e->progress && err)
        fputc('\n', stderr);
    if (err == CNNZ_E_DUPLICATE)
        cli_error("%s: tensor '%s': another input already has a tensor of that name", path, name);
    else if (err == CNNZ_E_IO) /* the sink, so the output */
        cli_error("%s: cannot write: %s", e->out->path, outfile_reason(e->out));
    else if (err)
        cli_error("%s: tensor '%s': %s [%s]", path, name, cnnz_strerror(err), cnnz_error_token(err));
    return err ? EXIT_ERR : EXIT_OK;
}

static void note_format(struct enc *e, const char *f)
{
    e->format = !e->format || !strcmp(e->format, f) ? f : "mixed";
}

static int encode_npy(struct enc *e, const char *path, const unsigned char *buf, size_t size)
{
    struct npy_array a;
    char err[FMT_ERR_SIZE];
    if (npy_parse(buf, size, &a, err, sizeof err)) {
        cli_error("%s: %s", path, err);
        return EXIT_ERR;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".npy"))
        n -= 4;
    char *name = strndup(base, n);
    if (!name) {
        cli_error("out of memory");
        return EXIT_ERR;
    }
    struct cnnz_tensor_desc d = {.dtype = a.dtype, .rank = a.rank, .dims = a.dims, .repr = CNNZ_REPR_PLAIN};
    int rc = add(e, path, name, &d, a.data, a.data_bytes);
    free(name);
    note_format(e, "npy");
    return rc;
}

/* The parsers' tensor structs share these leading fields. */
#define ADD_PLAIN(e, path, t)                                                                  \
    add((e), (path), (t)->name,                                                                \
        &(struct cnnz_tensor_desc){.dtype = (t)->dtype, .rank = (t)->rank, .dims = (t)->dims,  \
                                   .repr = CNNZ_REPR_PLAIN},                                   \
        (t)->data, (t)->data_bytes)

static void warn_skipped(const struct enc *e, const char *path, const char *name,
                         const char *reason)
{
    if (e->collect)
        return; /* said in the pass that writes */
    fprintf(stderr, "cnnz: warning: %s: tensor '%s' left out: %s\n", path, name, reason);
}

static int encode_safetensors(struct enc *e, const char *path, const unsigned char *buf, size_t size)
{
    struct safetensors_options opts = {.skip_unsupported = e->skip_unsupported};
    struct safetensors_file *f;
    char err[FMT_ERR_SIZE];
    if (safetensors_parse(buf, size, &opts, &f, err, sizeof err)) {
        cli_error("%s: %s%s", path, err, e->skip_unsupported ? "" : " (--skip-unsupported leaves such tensors out)");
        return EXIT_ERR;
    }
    int rc = EXIT_OK;
    for (size_t i = 0; i < f->skipped_count; i++)
        warn_skipped(e, path, f->skipped[i].name, f->skipped[i].reason);
    for (size_t i = 0; i < f->count && rc == EXIT_OK; i++)
        rc = ADD_PLAIN(e, path, &f->tensors[i]);
    /* __metadata__ keys are kept as they are, so a file that cnnz exported
     * comes back with its metadata (source.format included) unchanged. */
    for (size_t i = 0; i < f->meta_count && rc == EXIT_OK; i++) {
        int err2 = cnnz_writer_meta_string(e->w, f->meta[i].key, f->meta[i].value);
        if (err2 && err2 != CNNZ_E_DUPLICATE) {
            cli_error("%s: metadata '%s': %s", path, f->meta[i].key, cnnz_strerror(err2));
            rc = EXIT_ERR;
        }
    }
    safetensors_free(f);
    note_format(e, "safetensors");
    return rc;
}

static int encode_npz(struct enc *e, const char *path, const unsigned char *buf, size_t size)
{
    struct npz_options opts = {.skip_unsupported = e->skip_unsupported};
    struct npz_file *f;
    char err[FMT_ERR_SIZE];
    if (npz_parse(buf, size, &opts, &f, err, sizeof err)) {
        cli_error("%s: %s", path, err);
        return EXIT_ERR;
    }
    int rc = EXIT_OK;
    for (size_t i = 0; i < f->skipped_count; i++)
        warn_skipped(e, path, f->skipped[i].name, f->skipped[i].reason);
    for (size_t i = 0; i < f->count && rc == EXIT_OK; i++)
        rc = ADD_PLAIN(e, path, &f->tensors[i]);
    npz_free(f);
    note_format(e, "npz");
    return rc;
}

static int encode_onnx(struct enc *e, const char *path, const unsigned char *buf, size_t size)
{
    char *dir = strdup(path);
    if (!dir)
        return EXIT_ERR;
    char *slash = strrchr(dir, '/');
    if (slash)
        slash == dir ? (void)(dir[1] = 0) : (void)(*slash = 0);
    else
        strcpy(dir, ".");
    struct onnx_options opts = {.skip_unsupported = e->skip_unsupported, .model_dir = dir};
    struct onnx_model *m;
    char err[FMT_ERR_SIZE];
    int st = onnx_parse(buf, size, &opts, &m, err, sizeof err);
    free(dir);
    if (st) {
        cli_error("%s: %s", path, err);
        return EXIT_ERR;
    }
    int rc = EXIT_OK;
    for (size_t i = 0; i < m->skipped_count; i++)
        warn_skipped(e, path, m->skipped[i].name, m->skipped[i].reason);
    for (size_t i = 0; i < m->count && rc == EXIT_OK; i++)
        rc = ADD_PLAIN(e, path, &m->tensors[i]);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t bl = strlen(base);
    char name[512];
    snprintf(name, sizeof name, "%.*s", (int)(bl > 5 && !strcmp(base + bl - 5, ".onnx") ? bl - 5 : bl), base);
    const char *kv[][2] = {{CNNZ_META_MODEL_NAME, name}, {"onnx.producer_name", m->producer_name},
                           {"onnx.producer_version", m->producer_version}, {"onnx.graph_name", m->graph_name}};
    for (size_t i = 0; i < 4 && rc == EXIT_OK; i++)
        if (kv[i][1][0] && cnnz_writer_meta_string(e->w, kv[i][0], kv[i][1]) == CNNZ_E_NAME)
            rc = EXIT_ERR;
    if (rc == EXIT_OK && cnnz_writer_meta_int(e->w, "onnx.ir_version", m->ir_version) == CNNZ_E_NAME)
        rc = EXIT_ERR;
    for (size_t i = 0; i < m->meta_count && rc == EXIT_OK; i++) {
        char key[4200];
        snprintf(key, sizeof key, "onnx.%s", m->meta[i].key);
        (void)cnnz_writer_meta_string(e->w, key, m->meta[i].value);
    }
    onnx_free(m);
    note_format(e, "onnx");
    return rc;
}

static int encode_tfjs(struct enc *e, const char *path, const unsigned char *buf, size_t size)
{
    struct tfjs_model *m;
    char err[FMT_ERR_SIZE];
    if (tfjs_parse(buf, size, path, NULL, NULL, &m, err, sizeof err)) {
        cli_error("%s: %s", path, err);
        return EXIT_ERR;
    }
    int rc = EXIT_OK;
    for (size_t i = 0; i < m->count && rc == EXIT_OK; i++) {
        const struct tfjs_weight *t = &m->weights[i];
        struct cnnz_tensor_desc d = {.dtype = t->dtype, .rank = t->rank, .dims = t->dims,
                                     .repr = t->repr, .symbol_dtype = t->symbol_dtype,
                                     .scale = t->scale, .offset = t->offset};
        rc = add(e, path, t->name, &d, t->data, t->data_bytes);
    }
    /* The first model's metadata wins when several are merged. */
    for (size_t i = 0; i < m->meta_count && rc == EXIT_OK; i++) {
        int err2 = cnnz_writer_meta_string(e->w, m->meta[i].key, m->meta[i].value);
        if (err2 && err2 != CNNZ_E_DUPLICATE) {
            cli_error("%s: metadata '%s': %s", path, m->meta[i].key, cnnz_strerror(err2));
            rc = EXIT_ERR;
        }
    }
    tfjs_free(m);
    note_format(e, "tfjs");
    return rc;
}

/* Every tensor of every input, through add(). */
static int read_inputs(struct enc *e, char **in, int nin)
{
    int rc = EXIT_OK;
    for (int i = 0; i < nin && rc == EXIT_OK; i++) {
        unsigned char *buf;
        size_t size;
        if ((rc = cli_map_file(in[i], &buf, &size)))
            break;
        size_t k = 0;
        if (size >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
            k = 3; /* UTF-8 byte-order mark */
        while (k < size && (buf[k] == ' ' || buf[k] == '\n' || buf[k] == '\r' || buf[k] == '\t'))
            k++;
        uint64_t hl = 0;
        for (int b = 7; size >= 9 && b >= 0; b--)
            hl = (hl << 8) | buf[b];
        if (size >= 6 && !memcmp(buf, "\x93NUMPY", 6))
            rc = encode_npy(e, in[i], buf, size);
        else if (size >= 4 && !memcmp(buf, "PK", 2) && (buf[2] == 3 || buf[2] == 5))
            rc = encode_npz(e, in[i], buf, size);
        else if (size >= 9 && hl <= size - 8 && buf[8] == '{')
            rc = encode_safetensors(e, in[i], buf, size);
        else if (k < size && (buf[k] == '{' || buf[k] == '['))
            rc = encode_tfjs(e, in[i], buf, size);
        else if (size > 0 && (buf[0] & 7) <= 5 && (buf[0] >> 3) >= 1 && (buf[0] >> 3) <= 20)
            rc = encode_onnx(e, in[i], buf, size); /* a protobuf field tag of ModelProto */
        else {
            cli_error("%s: unrecognized input format (expected ONNX, safetensors, .npz, .npy or "
                      "a TensorFlow.js JSON)", in[i]);
            rc = EXIT_ERR;
        }
        cli_unmap_file(buf, size);
    }
    return rc;
}

static int encode_run(int argc, char **argv, struct lossy *lossy)
{
    const char *out = NULL, *coder = "auto", *jobs = NULL;
    int force = 0, nin = 0, skip = 0, lo;
    char **in = calloc((size_t)argc + 1, sizeof *in);
    if (!in)
        return EXIT_ERR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            free(in);
            return EXIT_OK;
        } else if ((lo = lossy_option(lossy, argc, argv, &i)) != 0) {
            if (lo < 0) {
                free(in);
                return EXIT_USAGE;
            }
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--coder") || !strcmp(a, "-j")) &&
                   i + 1 < argc) {
            *(a[1] == 'o' ? &out : a[1] == 'j' ? &jobs : &coder) = argv[++i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--skip-unsupported")) {
            skip = 1;
        } else if (a[0] == '-' && a[1]) {
            cli_error("convert: unknown or incomplete option '%s'", a);
            free(in);
            return EXIT_USAGE;
        } else {
            in[nin++] = argv[i];
        }
    }
    if (!out || nin == 0) {
        fputs(help, stderr);
        free(in);
        return EXIT_USAGE;
    }
    struct enc e = {.coder = strcmp(coder, "auto") ? cnnz_coder_from_name(coder) : CNNZ_CODER_AUTO,
                    .skip_unsupported = skip, .progress = isatty(2)};
    if (e.coder == -1 && strcmp(coder, "auto")) {
        cli_error("convert: unknown coder '%s' (auto, raw, huffman, rans, cabac)", coder);
        free(in);
        return EXIT_USAGE;
    }
    unsigned threads;
    int lrc;
    if (cli_threads(jobs, &threads) || (lrc = lossy_start(lossy))) {
        free(in);
        return EXIT_USAGE;
    }
    e.lossy = lossy;
    if (lossy->report_path && !strcmp(lossy->report_path, out)) {
        cli_error("convert: --report %s: the report cannot be the output file", out);
        free(in);
        return EXIT_USAGE;
    }
    struct outfile o;
    if (outfile_open(&o, out, force, in, nin)) {
        free(in);
        return EXIT_ERR;
    }
    e.out = &o;
    struct cnnz_writer_options wo = {.threads = threads};
    struct cnnz_sink sink = {outfile_write, &o};
    int rc = cnnz_writer_open(&e.w, &sink, &wo) ? EXIT_ERR : EXIT_OK;
    if (rc)
        cli_error("%s: cannot start writing", out);
    if (rc == EXIT_OK && lossy_two_pass(lossy)) {
        /* global pruning needs every selected weight before the first write */
        e.collect = 1;
        rc = read_inputs(&e, in, nin);
        e.collect = 0;
        e.format = NULL;
        if (rc == EXIT_OK)
            rc = lossy_global(lossy, out);
    }
    if (rc == EXIT_OK)
        rc = read_inputs(&e, in, nin);
    if (rc == EXIT_OK)
        rc = lossy_meta(lossy, e.w, out);
    if (rc == EXIT_OK) {
        char prod[64];
        snprintf(prod, sizeof prod, "cnnz %s", CNNZ_LIB_VERSION_STRING);
        /* An input's own producer/source.format (a re-imported export) wins. */
        int e1 = cnnz_writer_meta_string(e.w, CNNZ_META_PRODUCER, prod);
        int e2 = cnnz_writer_meta_string(e.w, CNNZ_META_SOURCE_FORMAT, e.format ? e.format : "npy");
        if ((e1 && e1 != CNNZ_E_DUPLICATE) || (e2 && e2 != CNNZ_E_DUPLICATE) || cnnz_writer_finish(e.w)) {
            cli_error("%s: cannot write: %s", out, outfile_reason(&o));
            rc = EXIT_ERR;
        }
    }
    if (e.progress && e.tensors)
        fputc('\n', stderr);
    cnnz_writer_free(e.w);
    long fsize = ftell(o.f);
    rc = lossy_finish(lossy, rc, e.decoded, fsize > 0 ? (unsigned long long)fsize : 0, force, in,
                      nin);
    rc = rc ? (outfile_abort(&o), rc) : outfile_commit(&o);
    free(in);
    return rc;
}

int cmd_encode(int argc, char **argv)
{
    struct lossy lossy = {.min_weights = 1024, .rate_lambda = NAN};
    int rc = encode_run(argc, argv, &lossy);
    lossy_free(&lossy);
    return rc;
}
