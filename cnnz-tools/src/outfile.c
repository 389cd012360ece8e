/* Atomic outputs: write a temp file in the target folder, fsync, rename.
 * An interrupted run leaves the old file (or nothing), never a partial one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* mkstemp makes 0600 files; an output gets the usual 0666 less the umask. */
static int fix_mode(const char *path)
{
    mode_t m = umask(0);
    umask(m);
    return chmod(path, 0666 & ~m);
}

int outfile_open(struct outfile *o, const char *path, int force, char *const *inputs, int ninputs)
{
    memset(o, 0, sizeof *o);
    struct stat st, si;
    if (stat(path, &st) == 0) {
        for (int i = 0; i < ninputs; i++)
            if (stat(inputs[i], &si) == 0 && si.st_dev == st.st_dev && si.st_ino == st.st_ino) {
                cli_error("%s: output is the same file as input %s; refusing", path, inputs[i]);
                return EXIT_ERR;
            }
        if (!force) {
            cli_error("%s: exists; use -f to overwrite", path);
            return EXIT_ERR;
        }
        if (S_ISDIR(st.st_mode)) {
            cli_error("%s: is a directory", path);
            return EXIT_ERR;
        }
    }
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(path) + 32;
    o->path = strdup(path);
    o->tmp = malloc(n);
    if (!o->path || !o->tmp) {
        free(o->path);
        free(o->tmp);
        cli_error("out of memory");
        return EXIT_ERR;
    }
    snprintf(o->tmp, n, "%.*s.%s.tmp-XXXXXX", (int)dl, path, base);
    int fd = mkstemp(o->tmp);
    if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
        cli_error("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(o->tmp);
        }
        free(o->path);
        free(o->tmp);
        o->path = o->tmp = NULL;
        return EXIT_ERR;
    }
    return EXIT_OK;
}

int outfile_commit(struct outfile *o)
{
    int ok = fflush(o->f) == 0 && fsync(fileno(o->f)) == 0;
    int e = errno;
    ok = (fclose(o->f) == 0) && ok;
    o->f = NULL;
    if (ok && fix_mode(o->tmp) == 0 && rename(o->tmp, o->path) == 0) {
        free(o->tmp);
        free(o->path);
        o->tmp = o->path = NULL;
        return EXIT_OK;
    }
    cli_error("%s: cannot write: %s", o->path, strerror(ok ? errno : e));
    outfile_abort(o);
    return EXIT_ERR;
}

void outfile_abort(struct outfile *o)
{
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
}
