/* cnnz: the command-line tool. Subcommands live in cmd_*.c; this file only
 * dispatches and prints the top-level help and version. */
#include <errno.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} commands[] = {
    {"convert", cmd_encode, "store ONNX, safetensors, .npz, .npy or TensorFlow.js weights as .cnnz"},
    {"encode", cmd_encode, "the same as convert"},
    {"extract", cmd_extract, "write the tensors of a .cnnz file as .npy files"},
    {"export", cmd_export, "write a .cnnz file back as .safetensors or .npz"},
    {"inspect", cmd_inspect, "list tensors, representations, sizes and metadata"},
    {"verify", cmd_verify, "check every checksum and structural rule of a .cnnz file"},
    {"matvec", cmd_matvec, "multiply a tensor by a vector from a .npy file, on its compressed form"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: cnnz COMMAND [OPTIONS] ...\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
    fprintf(f, "\n'cnnz COMMAND --help' describes a command. Exit status: 0 success, 1 error, 2 usage.\n");
}

/* Output that never reached stdout (a full disk, /dev/full) is an error,
 * not a success. */
static int stdout_done(int rc)
{
    int bad = ferror(stdout), e = 0;
    errno = 0;
    if (fflush(stdout) != 0) {
        bad = 1;
        e = errno;
    }
    if (!bad)
        return rc;
    cli_error("cannot write to standard output%s%s", e ? ": " : "", e ? strerror(e) : "");
    return rc ? rc : EXIT_ERR;
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("cnnz %s (libcnnz %s, .cnnz format %d.%d)\n", CNNZ_LIB_VERSION_STRING,
               CNNZ_LIB_VERSION_STRING, CNNZ_FORMAT_MAJOR, CNNZ_FORMAT_MINOR);
        return EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    cli_error("unknown command '%s' (see 'cnnz --help')", argv[1]);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    outfile_init();
    return stdout_done(run(argc, argv));
}
