/* Atomic outputs: write a temp file in the target folder, fsync, then move it
 * into place. An interrupted run leaves the old file (or nothing), never a
 * partial one, and never touches an input:
 *  - a write error (disk full, file size limit, I/O error) removes the temp
 *    file and says why;
 *  - SIGINT, SIGTERM, SIGHUP: outfile_init() blocks them in every thread and
 *    one thread waits for them; it removes every temp file in flight, then
 *    lets the signal end the process as it would have;
 *  - SIGKILL, a crash, a power cut: a temp file .NAME.tmp-XXXXXX may stay
 *    beside the output; the output itself is complete or absent.
 * Without -f the temp file is hard-linked to the output name, which fails if
 * a file appeared there while we wrote (so nothing is clobbered); with -f it
 * is renamed over it. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* The outputs being written. The lock is held while a temp file is made,
 * moved into place or removed, and by the signal thread from cleanup on, so
 * no temp file escapes it. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct outfile *live;
static sigset_t fatal; /* what the signal thread waits for */

static void *signal_thread(void *arg)
{
    (void)arg;
    int sig = 0;
    while (sigwait(&fatal, &sig) != 0)
        ;
    pthread_mutex_lock(&live_lock); /* kept: nothing is made or moved after this */
    for (struct outfile *o = live; o; o = o->next)
        unlink(o->tmp);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(sig); /* ends the process, with the status the signal gives */
    _exit(128 + sig);
}

void outfile_init(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    sigset_t block;
    sigemptyset(&fatal);
    sigemptyset(&block);
    /* A write past `ulimit -f` then fails with EFBIG, handled as any write
     * error, instead of SIGXFSZ killing the process mid-file. */
    sigaddset(&block, SIGXFSZ);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue; /* ignored by whoever started us (nohup, a background job): leave it */
        sigaddset(&fatal, sigs[i]);
        sigaddset(&block, sigs[i]);
    }
    /* Before any other thread exists, so every thread inherits the mask. */
    if (pthread_sigmask(SIG_BLOCK, &block, NULL) != 0)
        return;
    pthread_t t;
    if (pthread_create(&t, NULL, signal_thread, NULL) != 0) {
        pthread_sigmask(SIG_UNBLOCK, &fatal, NULL); /* no cleanup, but still interruptible */
        return;
    }
    pthread_detach(t);
}

/* Callers hold live_lock. */
static void unlist(struct outfile *o)
{
    if (!o->listed)
        return;
    if (o->prev)
        o->prev->next = o->next;
    else
        live = o->next;
    if (o->next)
        o->next->prev = o->prev;
    o->prev = o->next = NULL;
    o->listed = 0;
}

static void note_errno(struct outfile *o)
{
    if (!o->err)
        o->err = errno ? errno : EIO;
}

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
    o->force = force;
    struct stat st, si;
    if (stat(path, &st) == 0) {
        for (int i = 0; i < ninputs; i++)
            if (stat(inputs[i], &si) == 0 && si.st_dev == st.st_dev && si.st_ino == st.st_ino) {
                cli_error("%s: output is the same file as input %s; refusing", path, inputs[i]);
                return EXIT_ERR;
            }
        if (S_ISDIR(st.st_mode)) {
            cli_error("%s: is a directory", path);
            return EXIT_ERR;
        }
        /* Renaming over a device or a FIFO would replace it with a file. */
        if (!S_ISREG(st.st_mode)) {
            cli_error("%s: exists and is not a regular file; refusing", path);
            return EXIT_ERR;
        }
        if (!force) {
            cli_error("%s: exists; use -f to overwrite", path);
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
        o->path = o->tmp = NULL;
        cli_error("out of memory");
        return EXIT_ERR;
    }
    snprintf(o->tmp, n, "%.*s.%s.tmp-XXXXXX", (int)dl, path, base);
    pthread_mutex_lock(&live_lock);
    int fd = mkstemp(o->tmp);
    int e = errno;
    if (fd >= 0) {
        o->next = live;
        if (live)
            live->prev = o;
        live = o;
        o->listed = 1;
    }
    pthread_mutex_unlock(&live_lock);
    if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
        if (fd >= 0) {
            e = errno;
            close(fd);
        }
        cli_error("%s: cannot create a temporary file beside it: %s", path, strerror(e));
        outfile_abort(o);
        return EXIT_ERR;
    }
    return EXIT_OK;
}

int outfile_write(void *opaque, const void *buf, size_t n)
{
    struct outfile *o = opaque;
    errno = 0;
    if (n && fwrite(buf, 1, n, o->f) != n) {
        note_errno(o);
        return -1;
    }
    return 0;
}

const char *outfile_reason(const struct outfile *o)
{
    return o->err ? strerror(o->err) : "write failed";
}

/* Link (no -f) or rename the temp file to the output name; 0 or an errno. */
static int place(const struct outfile *o)
{
    if (!o->force) {
        if (link(o->tmp, o->path) == 0) {
            unlink(o->tmp);
            return 0;
        }
        if (errno == EEXIST)
            return EEXIST;
        /* No hard links on this file system: the check at open stands. */
        struct stat st;
        if (lstat(o->path, &st) == 0)
            return EEXIST;
    }
    return rename(o->tmp, o->path) == 0 ? 0 : errno;
}

int outfile_commit(struct outfile *o)
{
    errno = 0;
    if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0)
        note_errno(o);
    if (fclose(o->f) != 0)
        note_errno(o);
    o->f = NULL;
    if (!o->err && fix_mode(o->tmp) != 0)
        note_errno(o);
    int placed = EIO;
    if (!o->err) {
        pthread_mutex_lock(&live_lock);
        placed = place(o);
        if (placed == 0)
            unlist(o);
        pthread_mutex_unlock(&live_lock);
    }
    if (!o->err && placed == 0) {
        free(o->tmp);
        free(o->path);
        o->tmp = o->path = NULL;
        return EXIT_OK;
    }
    if (!o->err && placed == EEXIST)
        cli_error("%s: appeared while cnnz was writing it; use -f to overwrite", o->path);
    else
        cli_error("%s: cannot write: %s", o->path, strerror(o->err ? o->err : placed));
    outfile_abort(o);
    return EXIT_ERR;
}

void outfile_abort(struct outfile *o)
{
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    pthread_mutex_lock(&live_lock);
    if (o->listed)
        unlink(o->tmp);
    unlist(o);
    pthread_mutex_unlock(&live_lock);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
}
