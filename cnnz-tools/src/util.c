/* Messages and whole-file reads for the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("cnnz: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_lib_error(const char *path, const cnnz_reader *r, const struct cnnz_where *w, int err)
{
    char msg[512];
    if (w && w->err == err)
        cnnz_where_format(r, w, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg, "%s", cnnz_strerror(err));
    if (err == CNNZ_E_IO && errno)
        cli_error("%s: %s (%s) [%s]", path, msg, strerror(errno), cnnz_error_token(err));
    else
        cli_error("%s: %s [%s]", path, msg, cnnz_error_token(err));
    return EXIT_ERR;
}

int cli_read_file(const char *path, unsigned char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: %s", path, strerror(errno));
        return EXIT_ERR;
    }
    size_t cap = 1 << 16, n = 0, k;
    unsigned char *b = malloc(cap);
    while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            unsigned char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    int bad = !b || ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        cli_error("%s: cannot read (%s)", path, b ? "I/O error" : "out of memory");
        return EXIT_ERR;
    }
    *data = b;
    *size = n;
    return EXIT_OK;
}

void cli_name_to_file(const char *name, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    int dots = (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
    for (size_t i = 0; i < len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)name[i];
        int keep = !dots && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                             (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
        if (keep) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
}
