/* cnnz matvec: y = W x (or x^T W) for one tensor, computed on its coded
 * form by cnnz_matvec / cnnz_vecmat, x from a .npy file, y to one. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"

static const char help[] =
    "usage: cnnz matvec IN.cnnz --tensor NAME --input X.npy -o Y.npy [--vecmat]\n"
    "                   [-j N] [--verify] [-f]\n"
    "\n"
    "Multiplies tensor NAME, viewed as a matrix of dims[0] rows and the product of\n"
    "its other dimensions as columns (a convolution kernel [Cout, Cin, kh, kw]: Cout\n"
    "rows of Cin*kh*kw columns in im2col order), by the vector in X.npy, reading the\n"
    "compressed streams directly (ham and sham tensors are never decoded to a dense\n"
    "matrix). Writes y = W x, or with --vecmat y = x^T W, to Y.npy as float32.\n"
    "X.npy holds float32, float16 or float64 values (any shape) with as many elements\n"
    "as the matrix has columns (rows with --vecmat); float64 is rounded to float32.\n"
    "The tensor's dtype must be float32, float16 or bfloat16. The result is the same\n"
    "for every -j; libcnnz's cnnz.h documents the summation order and its accuracy.\n"
    "\n"
    "  --tensor NAME  the tensor (required)\n"
    "  --input X.npy  the vector (required)\n"
    "  -o Y.npy       the output (required); written atomically\n"
    "  --vecmat       y = x^T W instead of y = W x\n"
    "  --verify       also check the tensor's decoded checksum (about a decode's time)\n"
    "  -f             overwrite Y.npy if it exists\n"
    "  -j N           threads (default: all cores)\n";

/* The vector as float32 (converted from f16/f64); malloc'd. */
static float *load_vector(const char *path, uint64_t *n)
{
    unsigned char *data;
    size_t size;
    if (cli_map_file(path, &data, &size))
        return NULL;
    struct npy_array a;
    char err[FMT_ERR_SIZE];
    float *x = NULL;
    if (npy_parse(data, size, &a, err, sizeof err)) {
        cli_error("%s: %s", path, err);
    } else if (a.dtype != CNNZ_DT_F32 && a.dtype != CNNZ_DT_F16 && a.dtype != CNNZ_DT_F64) {
        cli_error("%s: dtype %s; the vector must be float32, float16 or float64", path,
                  cnnz_dtype_name(a.dtype));
    } else if (!(x = malloc(a.elements ? (size_t)a.elements * sizeof *x : 1))) {
        cli_error("%s: out of memory", path);
    } else {
        const unsigned char *p = a.data;
        for (uint64_t i = 0; i < a.elements; i++) {
            if (a.dtype == CNNZ_DT_F32) {
                uint32_t b = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                             (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
                memcpy(&x[i], &b, 4);
            } else if (a.dtype == CNNZ_DT_F16) {
                x[i] = cnnz_f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
            } else {
                uint64_t b = 0;
                for (int k = 7; k >= 0; k--)
                    b = b << 8 | p[8 * i + (unsigned)k];
                double d;
                memcpy(&d, &b, 8);
                x[i] = (float)d;
            }
        }
        *n = a.elements;
    }
    cli_unmap_file(data, size);
    return x;
}

int cmd_matvec(int argc, char **argv)
{
    char *in = NULL;
    const char *name = NULL, *out = NULL, *jobs = NULL;
    char *xpath = NULL;
    int trans = 0, verify = 0, force = 0, rc = EXIT_OK;
    for (int i = 1; i < argc && rc == EXIT_OK; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--tensor") && i + 1 < argc && !name) {
            name = argv[++i];
        } else if (!strcmp(a, "--input") && i + 1 < argc && !xpath) {
            xpath = argv[++i];
        } else if (!strcmp(a, "-o") && i + 1 < argc && !out) {
            out = argv[++i];
        } else if (!strcmp(a, "-j") && i + 1 < argc) {
            jobs = argv[++i];
        } else if (!strcmp(a, "--vecmat")) {
            trans = 1;
        } else if (!strcmp(a, "--verify")) {
            verify = 1;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
            force = 1;
        } else if ((a[0] == '-' && a[1]) || in) {
            rc = EXIT_USAGE;
        } else {
            in = argv[i];
        }
    }
    unsigned threads = 1;
    if (rc || !in || !name || !xpath || !out) {
        fputs(help, stderr);
        return EXIT_USAGE;
    }
    if (cli_threads(jobs, &threads))
        return EXIT_USAGE;
    cnnz_reader *r;
    struct cnnz_where w = {0};
    if (cli_open(in, 1, &r))
        return EXIT_ERR;
    int err;
    size_t index;
    struct cnnz_tensor_info ti;
    uint64_t rows = 0, cols = 0, xn = 0;
    float *x = NULL, *y = NULL;
    if (cnnz_reader_find(r, name, &index)) {
        cli_error("%s: no tensor named '%s'", in, name);
        rc = EXIT_ERR;
    } else {
        cnnz_reader_tensor_info(r, index, &ti);
        if ((err = cnnz_matrix_shape(&ti, &rows, &cols))) {
            cli_error("%s: tensor '%s': %s", in, name, cnnz_strerror(err));
            rc = EXIT_ERR;
        }
    }
    if (!rc && !(x = load_vector(xpath, &xn)))
        rc = EXIT_ERR;
    const uint64_t want = trans ? rows : cols, yn = trans ? cols : rows;
    if (!rc && xn != want) {
        cli_error("%s: %llu elements; tensor '%s' is %llu x %llu, so %s needs %llu", xpath,
                  (unsigned long long)xn, name, (unsigned long long)rows,
                  (unsigned long long)cols, trans ? "--vecmat" : "matvec",
                  (unsigned long long)want);
        rc = EXIT_ERR;
    }
    if (!rc && (yn > SIZE_MAX / sizeof *y || !(y = malloc(yn ? (size_t)yn * sizeof *y : 1)))) {
        cli_error("out of memory");
        rc = EXIT_ERR;
    }
    if (!rc) {
        struct cnnz_matvec_options mo = {.threads = threads, .verify = verify};
        err = trans ? cnnz_vecmat(r, index, x, (size_t)xn, y, (size_t)yn, &mo, &w)
                    : cnnz_matvec(r, index, x, (size_t)xn, y, (size_t)yn, &mo, &w);
        if (err)
            rc = cli_lib_error(in, r, &w, err);
    }
    if (!rc) {
        /* float32 is little-endian in the file, as on every host cnnz runs on */
        char *inputs[2] = {in, xpath}; /* -o must replace neither */
        rc = cli_write_npy(out, force, inputs, 2, CNNZ_DT_F32, 1, &yn, y, (size_t)yn * sizeof *y);
    }
    free(x);
    free(y);
    cnnz_reader_close(r);
    return rc;
}
