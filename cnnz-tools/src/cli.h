/* What the cnnz subcommands share: exit codes, messages, file helpers. */
#ifndef CNNZ_CLI_H
#define CNNZ_CLI_H

#include <stddef.h>
#include <stdint.h>
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
/* Open a .cnnz file for a command; decode: the command decodes tensors, so
 * a tensor or stream beyond half of the machine's memory is refused
 * (CNNZ_E_LIMIT). Returns 0, or prints why (with the place in the file) and
 * returns EXIT_ERR. */
int cli_open(const char *path, int decode, cnnz_reader **r);
/* Map a whole file read-only (or read it, when it cannot be mapped), so
 * inputs larger than memory are paged in as used. Returns 0 or prints and
 * returns EXIT_ERR. Release with cli_unmap_file. */
int cli_map_file(const char *path, unsigned char **data, size_t *size);
void cli_unmap_file(unsigned char *data, size_t size);

/* Atomic output: a temp file beside path, moved into place on commit
 * (outfile.c says what an interruption leaves). */
struct outfile {
    char *path, *tmp;
    FILE *f;
    int force;
    int err;                    /* first write error (errno), 0 if none */
    int listed;                 /* tmp is in the list the signal thread cleans */
    struct outfile *prev, *next;
};
/* Once, first thing in main(), before any thread starts: SIGINT, SIGTERM and
 * SIGHUP then remove the temp files in flight before ending the process, and
 * a write past the file size limit fails (EFBIG) instead of raising SIGXFSZ. */
void outfile_init(void);
/* Refuses an existing path that is a directory or not a regular file, or
 * the same file as one of inputs[0..ninputs), and any existing path unless
 * force. Returns 0 or prints and returns EXIT_ERR. */
int outfile_open(struct outfile *o, const char *path, int force, char *const *inputs, int ninputs);
/* A cnnz_sink write function (opaque: the outfile): 0, or -1 with the
 * reason kept for outfile_reason. */
int outfile_write(void *opaque, const void *buf, size_t n);
/* Why a write failed ("No space left on device"), for messages. */
const char *outfile_reason(const struct outfile *o);
/* fflush + fsync, then link (a file that appeared meanwhile is not
 * clobbered) or, with force, rename; on failure prints why and removes the
 * temp file. Returns 0 or EXIT_ERR. */
int outfile_commit(struct outfile *o);
/* Remove the temp file (after an error). Safe after commit. */
void outfile_abort(struct outfile *o);
/* One .npy file (the header for dtype and dims, then n bytes of data),
 * written atomically with outfile_open's rules; inputs are the files it is
 * made from, which it must not replace (cmd_extract.c). Returns 0 or prints
 * and returns EXIT_ERR. */
int cli_write_npy(const char *path, int force, char *const *inputs, int ninputs, int dtype,
                  unsigned rank, const uint64_t *dims, const void *data, size_t n);

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
int cmd_matvec(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
