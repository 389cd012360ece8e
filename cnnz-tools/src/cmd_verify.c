/* cnnz verify: every checksum and structural rule (spec 9.3). */
#include <string.h>

#include "cli.h"

int cmd_verify(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        puts("usage: cnnz verify IN.cnnz\n\nChecks every checksum, padding byte and layout rule and decodes every\n"
             "tensor. Prints 'OK' and exits 0, or prints the first fault and exits 1.");
        return EXIT_OK;
    }
    if (argc != 2 || (argv[1][0] == '-' && argv[1][1])) {
        fputs("usage: cnnz verify IN.cnnz\n", stderr);
        return EXIT_USAGE;
    }
    cnnz_reader *r;
    struct cnnz_where w = {0};
    struct cnnz_open_options opts = {.where = &w};
    int err = cnnz_reader_open_path(&r, argv[1], &opts);
    if (err)
        return cli_lib_error(argv[1], NULL, &w, err);
    err = cnnz_reader_verify(r, &w);
    int rc = EXIT_OK;
    if (err) {
        rc = cli_lib_error(argv[1], r, &w, err);
    } else {
        unsigned ma, mi;
        cnnz_reader_version(r, &ma, &mi);
        printf("OK: %s: format %u.%u, %zu tensors, %llu bytes\n", argv[1], ma, mi,
               cnnz_reader_tensor_count(r), (unsigned long long)cnnz_reader_file_size(r));
    }
    cnnz_reader_close(r);
    return rc;
}
