/* cnnz extract: tensors of a .cnnz file as .npy files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "npy.h"

static const char help[] =
    "usage: cnnz extract IN.cnnz [-o DIR] [--tensor NAME]... [--stored] [-f]\n"
    "\n"
    "Writes each tensor (or each NAME) as DIR/FILE.npy (DIR defaults to '.', and is\n"
    "created if missing). FILE is the tensor name with every byte outside\n"
    "[A-Za-z0-9._-] written as %XX (so 'conv1/w' becomes 'conv1%2Fw.npy'), and\n"
    "the names '.' and '..' encoded whole. Tensors come out in their dtype:\n"
    "TensorFlow.js quantized weights as the float32 (or int32) tfjs computes.\n"
    "\n"
    "  --stored       write the stored stream instead (tfjs uint8/uint16 symbols,\n"
    "                 float16 values), byte-identical to the model's shards\n"
    "  --tensor NAME  only this tensor (repeatable)\n"
    "  -f             overwrite existing .npy files\n";

static int write_npy(const char *path, int force, char *input, int dtype, unsigned rank,
                     const uint64_t *dims, const void *data, size_t n)
{
    unsigned char h[NPY_HEADER_MAX];
    size_t hl;
    char err[FMT_ERR_SIZE];
    if (npy_header(dtype, rank, dims, h, sizeof h, &hl, err, sizeof err)) {
        cli_error("%s: %s", path, err);
        return EXIT_ERR;
    }
    struct outfile o;
    if (outfile_open(&o, path, force, &input, 1))
        return EXIT_ERR;
    if (fwrite(h, 1, hl, o.f) != hl || (n && fwrite(data, 1, n, o.f) != n)) {
        cli_error("%s: write failed: %s", path, strerror(errno));
        outfile_abort(&o);
        return EXIT_ERR;
    }
    return outfile_commit(&o);
}

static int extract_one(const cnnz_reader *r, char *in, size_t i, const char *dir, int stored,
                       int force)
{
    struct cnnz_tensor_info ti;
    cnnz_reader_tensor_info(r, i, &ti);
    int dtype = ti.dtype;
    uint64_t bytes = ti.decoded_bytes;
    if (stored) {
        if (ti.stream_count != 1) {
            cli_error("%s: tensor '%s' has %u streams; --stored needs one", in, ti.name, ti.stream_count);
            return EXIT_ERR;
        }
        if (ti.symbol_dtype)
            dtype = ti.symbol_dtype;
        bytes = ti.streams[0].decoded_bytes;
    }
    void *buf = malloc(bytes ? (size_t)bytes : 1);
    if (!buf) {
        cli_error("%s: tensor '%s': out of memory (%llu bytes)", in, ti.name, (unsigned long long)bytes);
        return EXIT_ERR;
    }
    struct cnnz_where w = {0};
    int err = stored ? cnnz_reader_decode_stream(r, i, 0, buf, (size_t)bytes, &w)
                     : cnnz_reader_decode(r, i, buf, (size_t)bytes, &w);
    int rc;
    if (err) {
        rc = cli_lib_error(in, r, &w, err);
    } else {
        char file[3 * CNNZ_MAX_NAME_BYTES + 8];
        cli_name_to_file(ti.name, ti.name_len, file, sizeof file);
        size_t pl = strlen(dir) + strlen(file) + 8;
        char *path = malloc(pl);
        if (!path) {
            free(buf);
            return EXIT_ERR;
        }
        snprintf(path, pl, "%s/%s.npy", dir, file);
        rc = write_npy(path, force, in, dtype, ti.rank, ti.dims, buf, (size_t)bytes);
        free(path);
    }
    free(buf);
    return rc;
}

int cmd_extract(int argc, char **argv)
{
    char *in = NULL;
    const char *dir = ".";
    int stored = 0, force = 0, nsel = 0;
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
        } else if (!strcmp(a, "--stored")) {
            stored = 1;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
            force = 1;
        } else if ((a[0] == '-' && a[1]) || in) {
            rc = EXIT_USAGE;
        } else {
            in = argv[i];
        }
    }
    if (rc || !in) {
        fputs(help, stderr);
        free(sel);
        return EXIT_USAGE;
    }
    cnnz_reader *r;
    struct cnnz_where w = {0};
    struct cnnz_open_options opts = {.where = &w};
    int err = cnnz_reader_open_path(&r, in, &opts);
    if (err) {
        free(sel);
        return cli_lib_error(in, NULL, &w, err);
    }
    struct stat st;
    if (stat(dir, &st) != 0 && mkdir(dir, 0777) != 0) {
        cli_error("%s: cannot create directory: %s", dir, strerror(errno));
        rc = EXIT_ERR;
    }
    for (int k = 0; k < nsel && rc == EXIT_OK; k++) {
        size_t idx;
        if (cnnz_reader_find(r, sel[k], &idx)) {
            cli_error("%s: no tensor named '%s'", in, sel[k]);
            rc = EXIT_ERR;
        } else {
            rc = extract_one(r, in, idx, dir, stored, force);
        }
    }
    for (size_t i = 0; nsel == 0 && i < cnnz_reader_tensor_count(r) && rc == EXIT_OK; i++)
        rc = extract_one(r, in, i, dir, stored, force);
    cnnz_reader_close(r);
    free(sel);
    return rc;
}
