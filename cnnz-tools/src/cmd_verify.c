/* cnnz verify: every checksum and structural rule (spec 9.3). */
#include <string.h>

#include "cli.h"

static const char usage[] = "usage: cnnz verify IN.cnnz [-j N]\n";

int cmd_verify(int argc, char **argv)
{
    const char *in = NULL, *jobs = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s\nChecks every checksum, padding byte and layout rule and decodes every\n"
                   "tensor (with N threads; default: all cores). Prints 'OK' and exits 0, or\n"
                   "prints the first fault in file order and exits 1.\n",
                   usage);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "-j") && i + 1 < argc) {
            jobs = argv[++i];
        } else if ((argv[i][0] == '-' && argv[i][1]) || in) {
            fputs(usage, stderr);
            return EXIT_USAGE;
        } else {
            in = argv[i];
        }
    }
    unsigned threads;
    if (!in) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (cli_threads(jobs, &threads))
        return EXIT_USAGE;
    cnnz_reader *r;
    struct cnnz_where w = {0};
    if (cli_open(in, 1, &r))
        return EXIT_ERR;
    int err = cnnz_reader_verify_mt(r, threads, &w);
    int rc = EXIT_OK;
    if (err) {
        rc = cli_lib_error(in, r, &w, err);
    } else {
        unsigned ma, mi;
        cnnz_reader_version(r, &ma, &mi);
        printf("OK: %s: format %u.%u, %zu tensors, %llu bytes\n", in, ma, mi,
               cnnz_reader_tensor_count(r), (unsigned long long)cnnz_reader_file_size(r));
    }
    cnnz_reader_close(r);
    return rc;
}
