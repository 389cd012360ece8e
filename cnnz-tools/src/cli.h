/* What the cnnz subcommands share: exit codes, messages, file helpers. */
#ifndef CNNZ_CLI_H
#define CNNZ_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "cnnz.h"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2 };

/* "cnnz: " + message to stderr. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void cli_error(const char *fmt, ...);
/* Report a library failure on path with its location. Returns EXIT_ERR. */
int cli_lib_error(const char *path, const cnnz_reader *r, const struct cnnz_where *w, int err);
/* Map a whole file read-only (or read it, when it cannot be mapped), so
 * inputs larger than memory are paged in as used. Returns 0 or prints and
 * returns EXIT_ERR. Release with cli_unmap_file. */
int cli_map_file(const char *path, unsigned char **data, size_t *size);
void cli_unmap_file(unsigned char *data, size_t size);

/* Atomic output: a temp file beside path, renamed over it on commit. */
struct outfile {
    char *path, *tmp;
    FILE *f;
};
/* Refuses an existing path unless force, and any path that is the same file
 * as one of inputs[0..ninputs). Returns 0 or prints and returns EXIT_ERR. */
int outfile_open(struct outfile *o, const char *path, int force, char *const *inputs, int ninputs);
/* fflush + fsync + rename; on failure the temp file is removed. */
int outfile_commit(struct outfile *o);
/* Remove the temp file (after an error). Safe after commit. */
void outfile_abort(struct outfile *o);

/* Tensor name -> file name: bytes outside [A-Za-z0-9._-] become %XX, and
 * "." / ".." are encoded whole, so every name maps to one safe file name. */
void cli_name_to_file(const char *name, size_t len, char *out, size_t cap);

/* -j N: N in 1..256, or all online cores when arg is NULL. Returns 0, or
 * prints and returns EXIT_USAGE. */
int cli_threads(const char *arg, unsigned *threads);

int cmd_encode(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
