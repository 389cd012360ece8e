/* cnnz export: a .cnnz file back to a standard .safetensors or .npz file.
 * Tensors come out in the dtype their source declares (tfjs-quantized weights
 * as the float32/int32 the tfjs runtime computes); lossless ones bit-exact. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npz.h"
#include "safetensors.h"

static const char help[] =
    "usage: cnnz export IN.cnnz -o OUT.safetensors|OUT.npz [-f]\n"
    "\n"
    "Decodes every tensor and writes them as one safetensors file (string\n"
    "metadata of the .cnnz file goes to __metadata__) or one uncompressed .npz\n"
    "(one NAME.npy member per tensor), chosen by the output's extension. Files\n"
    "that safetensors, numpy.load and PyTorch read. bf16 goes to .npz as '<u2'.\n"
    "\n"
    "  -o FILE   output (required); written atomically\n"
    "  -f        overwrite FILE if it exists\n";

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int cmd_export(int argc, char **argv)
{
    char *in = NULL;
    const char *out = NULL;
    int force = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force")) {
            force = 1;
        } else if ((argv[i][0] == '-' && argv[i][1]) || in) {
            fputs(help, stderr);
            return EXIT_USAGE;
        } else {
            in = argv[i];
        }
    }
    int st_out = out && ends_with(out, ".safetensors"), npz_out = out && ends_with(out, ".npz");
    if (!in || !out || (!st_out && !npz_out)) {
        if (out && !st_out && !npz_out)
            cli_error("export: the output must end in .safetensors or .npz");
        else
            fputs(help, stderr);
        return EXIT_USAGE;
    }
    cnnz_reader *r;
    struct cnnz_where w = {0};
    if (cli_open(in, 1, &r))
        return EXIT_ERR;
    int err;
    size_t n = cnnz_reader_tensor_count(r), nm = 0;
    /* One array per writer: each takes its own tensor struct. */
    struct safetensors_tensor *t = calloc(n ? n : 1, sizeof *t);
    struct npz_tensor *z = calloc(n ? n : 1, sizeof *z);
    struct safetensors_meta *meta = calloc(cnnz_reader_meta_count(r) + 1, sizeof *meta);
    void **bufs = calloc(n ? n : 1, sizeof *bufs);
    int rc = t && z && meta && bufs ? EXIT_OK : EXIT_ERR;
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        struct cnnz_tensor_info ti;
        cnnz_reader_tensor_info(r, i, &ti);
        /* Stored tensors are used in place from the mapped file, so exporting
         * a model needs memory only for the ones that must be decoded. */
        const void *data;
        err = cnnz_reader_view(r, i, &data, &w);
        if (err == CNNZ_E_UNSUPPORTED) {
            bufs[i] = malloc(ti.decoded_bytes ? (size_t)ti.decoded_bytes : 1);
            if (!bufs[i]) {
                cli_error("%s: tensor '%s': out of memory", in, ti.name);
                rc = EXIT_ERR;
                break;
            }
            err = cnnz_reader_decode(r, i, bufs[i], (size_t)ti.decoded_bytes, &w);
            data = bufs[i];
        }
        if (err) {
            rc = cli_lib_error(in, r, &w, err);
            break;
        }
        t[i] = (struct safetensors_tensor){.name = ti.name, .name_len = ti.name_len, .dtype = ti.dtype,
                                           .rank = ti.rank, .elements = ti.elements, .data = data,
                                           .data_bytes = (size_t)ti.decoded_bytes};
        memcpy(t[i].dims, ti.dims, ti.rank * sizeof *ti.dims);
        z[i] = (struct npz_tensor){.name = ti.name, .name_len = ti.name_len, .dtype = ti.dtype,
                                   .rank = ti.rank, .elements = ti.elements, .data = data,
                                   .data_bytes = (size_t)ti.decoded_bytes};
        memcpy(z[i].dims, ti.dims, ti.rank * sizeof *ti.dims);
    }
    for (size_t i = 0; i < cnnz_reader_meta_count(r) && rc == EXIT_OK; i++) {
        struct cnnz_meta m;
        cnnz_reader_meta_get(r, i, &m);
        if (m.type == CNNZ_META_STRING)
            meta[nm++] = (struct safetensors_meta){m.key, m.value};
    }
    struct outfile o;
    if (rc == EXIT_OK && (rc = outfile_open(&o, out, force, &in, 1)) == EXIT_OK) {
        char e[FMT_ERR_SIZE];
        int st = st_out ? safetensors_write(t, n, meta, nm, outfile_write, &o, e, sizeof e)
                        : npz_write(z, n, NULL, outfile_write, &o, e, sizeof e);
        if (st) {
            if (st == FMT_E_IO)
                cli_error("%s: cannot write: %s", out, outfile_reason(&o));
            else
                cli_error("%s: %s", out, e);
            outfile_abort(&o);
            rc = EXIT_ERR;
        } else {
            rc = outfile_commit(&o);
        }
    }
    for (size_t i = 0; bufs && i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(t);
    free(z);
    free(meta);
    cnnz_reader_close(r);
    return rc;
}
