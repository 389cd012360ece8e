/* Messages and whole-file reads for the subcommands. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
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

int cli_open(const char *path, int decode, cnnz_reader **r)
{
    /* A few bytes can declare a tensor of any size (a stream of one repeated
     * symbol): the commands that decode hold a whole tensor in memory, so
     * they refuse one beyond half of this machine's memory (CNNZ_E_LIMIT)
     * rather than let a small file make them allocate and fill it. */
    struct cnnz_limits lim;
    cnnz_limits_default(&lim);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (decode && pages > 0 && page > 0) {
        uint64_t half = (uint64_t)pages / 2 * (uint64_t)page;
        lim.max_tensor_bytes = half < lim.max_tensor_bytes ? half : lim.max_tensor_bytes;
        lim.max_stream_bytes = half < lim.max_stream_bytes ? half : lim.max_stream_bytes;
    }
    struct cnnz_where w = {0};
    struct cnnz_open_options o = {.limits = &lim, .where = &w};
    int err = cnnz_reader_open_path(r, path, &o);
    return err ? cli_lib_error(path, NULL, &w, err) : EXIT_OK;
}

/* Inputs that were read rather than mapped, so cli_unmap_file knows which is which. */
static unsigned char *read_bufs[64];
static size_t nread_bufs;

int cli_map_file(const char *path, unsigned char **data, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        cli_error("%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return EXIT_ERR;
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (m == MAP_FAILED) {
            cli_error("%s: cannot map: %s", path, strerror(errno));
            return EXIT_ERR;
        }
        *data = m;
        *size = (size_t)st.st_size;
        return EXIT_OK;
    }
    /* Pipes and empty files: read. */
    size_t cap = 1 << 16, n = 0;
    ssize_t k;
    unsigned char *b = malloc(cap);
    while (b && (k = read(fd, b + n, cap - n)) != 0) {
        if (k < 0) {
            if (errno == EINTR)
                continue;
            free(b);
            b = NULL;
            break;
        }
        n += (size_t)k;
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
    close(fd);
    if (!b || nread_bufs == sizeof read_bufs / sizeof read_bufs[0]) {
        free(b);
        cli_error("%s: cannot read", path);
        return EXIT_ERR;
    }
    read_bufs[nread_bufs++] = b;
    *data = b;
    *size = n;
    return EXIT_OK;
}

void cli_unmap_file(unsigned char *data, size_t size)
{
    for (size_t i = 0; i < nread_bufs; i++)
        if (read_bufs[i] == data) {
            free(data);
            read_bufs[i] = read_bufs[--nread_bufs];
            return;
        }
    if (data)
        munmap(data, size);
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

int cli_threads(const char *arg, unsigned *threads)
{
    if (!arg) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        *threads = n < 1 ? 1u : n > 256 ? 256u : (unsigned)n;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < 1 || v > 256) {
        cli_error("-j: '%s' is not a thread count (1 to 256)", arg);
        return EXIT_USAGE;
    }
    *threads = (unsigned)v;
    return 0;
}
