/* cnnz encode: .npy files and TensorFlow.js models into one .cnnz file. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"
#include "tfjs.h"

static const char help[] =
    "usage: cnnz encode IN... -o OUT.cnnz [-f] [--coder NAME]\n"
    "\n"
    "Stores every input tensor in OUT.cnnz, lossless. Inputs are recognized by\n"
    "content: NumPy .npy files (the tensor is named after the file, without\n"
    "'.npy') and TensorFlow.js models (a model.json or a *weights_manifest.json\n"
    "with its .bin shards beside it; quantized weights keep their stored bytes).\n"
    "\n"
    "  -o FILE        output file (required); written atomically\n"
    "  -f             overwrite FILE if it exists\n"
    "  --coder NAME   coder for every stream (default and only one so far: raw)\n"
    "  -h, --help     this text\n";

struct enc {
    cnnz_writer *w;
    int coder;
    const char *format; /* source.format so far, or "mixed" */
};

static int add(struct enc *e, const char *path, const char *name, const struct cnnz_tensor_desc *d0,
               const void *data, size_t size)
{
    struct cnnz_tensor_desc d = *d0;
    d.name = name;
    d.name_len = strlen(name);
    d.coder = e->coder;
    int err = cnnz_writer_add_tensor(e->w, &d, data, size);
    if (err == CNNZ_E_DUPLICATE)
        cli_error("%s: tensor '%s': another input already has a tensor of that name", path, name);
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

int cmd_encode(int argc, char **argv)
{
    const char *out = NULL, *coder = "raw";
    int force = 0, nin = 0;
    char **in = calloc((size_t)argc + 1, sizeof *in);
    if (!in)
        return EXIT_ERR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            free(in);
            return EXIT_OK;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--coder")) && i + 1 < argc) {
            *(a[1] == 'o' ? &out : &coder) = argv[++i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
            force = 1;
        } else if (a[0] == '-' && a[1]) {
            cli_error("encode: unknown or incomplete option '%s'", a);
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
    struct enc e = {.coder = cnnz_coder_from_name(coder)};
    if (e.coder < 0) {
        cli_error("encode: unknown coder '%s'", coder);
        free(in);
        return EXIT_USAGE;
    }
    struct outfile o;
    if (outfile_open(&o, out, force, in, nin)) {
        free(in);
        return EXIT_ERR;
    }
    int rc = cnnz_writer_open_file(&e.w, o.f, NULL) ? EXIT_ERR : EXIT_OK;
    if (rc)
        cli_error("%s: cannot start writing", out);
    for (int i = 0; i < nin && rc == EXIT_OK; i++) {
        unsigned char *buf;
        size_t size;
        if ((rc = cli_read_file(in[i], &buf, &size)))
            break;
        size_t k = 0;
        if (size >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
            k = 3; /* UTF-8 byte-order mark */
        while (k < size && (buf[k] == ' ' || buf[k] == '\n' || buf[k] == '\r' || buf[k] == '\t'))
            k++;
        if (size >= 6 && !memcmp(buf, "\x93NUMPY", 6))
            rc = encode_npy(&e, in[i], buf, size);
        else if (k < size && (buf[k] == '{' || buf[k] == '['))
            rc = encode_tfjs(&e, in[i], buf, size);
        else {
            cli_error("%s: unrecognized input format (expected .npy or a TensorFlow.js JSON)", in[i]);
            rc = EXIT_ERR;
        }
        free(buf);
    }
    if (rc == EXIT_OK) {
        char prod[64];
        snprintf(prod, sizeof prod, "cnnz %s", CNNZ_LIB_VERSION_STRING);
        if (cnnz_writer_meta_string(e.w, CNNZ_META_PRODUCER, prod) ||
            cnnz_writer_meta_string(e.w, CNNZ_META_SOURCE_FORMAT, e.format ? e.format : "npy") ||
            cnnz_writer_finish(e.w)) {
            cli_error("%s: write failed", out);
            rc = EXIT_ERR;
        }
    }
    cnnz_writer_free(e.w);
    rc = rc ? (outfile_abort(&o), rc) : outfile_commit(&o);
    free(in);
    return rc;
}
