/* The hostile section of make bench (issue 8): files that must be refused
 * are refused quickly and in little memory, before anything the size of
 * what they declare is allocated.
 *
 * Groups, each file read into memory first (not timed), then opened with
 * cnnz_reader_open_memory and, if that succeeds, every tensor decoded
 * (into a caller buffer only when it is at most 1 MiB) and the file
 * verified, all through a counting allocator:
 *   must-reject   conformance/invalid/: every file must fail somewhere;
 *   over-limit    conformance/valid/ and uncommon/ under a caller's limit of
 *                 1 KiB per tensor and stream: the files with a larger
 *                 tensor must fail with CNNZ_E_LIMIT at open;
 *   declared-huge the .cnnz files of $BENCH_HOSTILE_DIR (make bench-run writes them with
 *                 cnnz-tools/tests/mkbig.py: 2^45 bytes declared in 232 bytes,
 *                 over the expansion cap; 2^38 bytes in 320 KiB, within it),
 *                 under a caller's limit of 1 GiB: must fail at open.
 * Time is the median of BENCH_REPS attempts per file; memory is the peak
 * of the library's live allocations (the caller's output buffers are not
 * counted). One line per group, then the target:
 *   target hostile: each refused in < 10 ms using < 1 MiB: ... (met)
 * and, from $BENCH_LINEAR_DIR, decode time against output size (linear()). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define HOSTILE_MAX_REPS 101u
#define HOSTILE_OUT_CAP ((uint64_t)1 << 20) /* caller buffers up to 1 MiB */

/* Live and peak bytes of the library's allocations: each block carries its
 * size in front. */
struct counting {
    size_t live, peak;
};

#define HDR 16u /* keeps the caller's alignment (max_align_t) */

static void *c_alloc(void *opaque, size_t n)
{
    struct counting *c = opaque;
    if (n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    c->live += n;
    if (c->live > c->peak)
        c->peak = c->live;
    return p + HDR;
}

static void c_free(void *opaque, void *ptr)
{
    struct counting *c = opaque;
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    c->live -= n;
    free(p);
}

/* One attempt: the first error (0: the file was accepted), at open or not. */
static int attempt(const uint8_t *data, size_t size, const struct cnnz_limits *lim,
                   struct counting *cnt, int *at_open)
{
    struct cnnz_allocator al = {c_alloc, c_free, cnt};
    struct cnnz_open_options o = {.limits = lim, .allocator = &al};
    cnnz_reader *r;
    int e = cnnz_reader_open_memory(&r, data, size, &o);
    *at_open = e != CNNZ_OK;
    if (e)
        return e;
    for (size_t i = 0; i < cnnz_reader_tensor_count(r) && !e; i++) {
        struct cnnz_tensor_info ti;
        if ((e = cnnz_reader_tensor_info(r, i, &ti)))
            break;
        if (ti.decoded_bytes > HOSTILE_OUT_CAP)
            continue;
        void *buf = malloc(ti.decoded_bytes ? (size_t)ti.decoded_bytes : 1);
        if (!buf) {
            e = CNNZ_E_NOMEM;
            break;
        }
        e = cnnz_reader_decode(r, i, buf, (size_t)ti.decoded_bytes, NULL);
        free(buf);
    }
    if (!e)
        e = cnnz_reader_verify(r, NULL);
    cnnz_reader_close(r);
    return e;
}

struct group {
    const char *name;
    unsigned files, refused, accepted_wrongly;
    double worst_s;
    size_t worst_peak;
    char worst_time_file[96], worst_peak_file[96];
};

/* Time and memory of refusing one file; must: it has to be refused (at
 * open when open_only). Counts it in g. */
static int measure(struct group *g, const char *name, const uint8_t *data, size_t size,
                   const struct cnnz_limits *lim, unsigned reps, int must, int want_err,
                   int open_only)
{
    double s[HOSTILE_MAX_REPS];
    unsigned n = reps < HOSTILE_MAX_REPS ? reps : HOSTILE_MAX_REPS;
    struct counting cnt = {0, 0};
    int at_open = 0, e = 0;
    for (unsigned i = 0; i < n; i++) {
        struct counting c1 = {0, 0};
        double t0 = bench_now();
        e = attempt(data, size, lim, &c1, &at_open);
        s[i] = bench_now() - t0;
        if (c1.live) {
            fprintf(stderr, "bench: hostile %s: %zu bytes not freed\n", name, c1.live);
            return 1;
        }
        cnt.peak = c1.peak > cnt.peak ? c1.peak : cnt.peak;
    }
    if (!e && !must)
        return 0; /* a valid file within the limits: not part of the group */
    g->files++;
    if (!e || (want_err && e != want_err) || (open_only && !at_open)) {
        g->accepted_wrongly++;
        fprintf(stderr, "bench: hostile %s: %s, %s (expected a refusal%s%s)\n", name,
                cnnz_error_token(e), at_open ? "at open" : "after open",
                want_err ? " with " : "", want_err ? cnnz_error_token(want_err) : "");
        return 0;
    }
    g->refused++;
    double med = bench_median(s, n);
    if (med > g->worst_s) {
        g->worst_s = med;
        snprintf(g->worst_time_file, sizeof g->worst_time_file, "%s", name);
    }
    if (cnt.peak > g->worst_peak) {
        g->worst_peak = cnt.peak;
        snprintf(g->worst_peak_file, sizeof g->worst_peak_file, "%s", name);
    }
    return 0;
}

/* Every *.cnnz file of dir through measure(). Missing dir: 0 files. */
static int run_dir(struct group *g, const char *dir, const struct cnnz_limits *lim,
                   unsigned reps, int must, int want_err, int open_only)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".cnnz"))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        uint8_t *data;
        size_t size;
        if (read_whole(path, &data, &size)) {
            fprintf(stderr, "bench: hostile: cannot read %s\n", path);
            rc = 1;
            break;
        }
        rc = measure(g, de->d_name, data, size, lim, reps, must, want_err, open_only);
        free(data);
    }
    closedir(d);
    return rc;
}

static void report(const struct group *g)
{
    printf("hostile group=%s files=%u refused=%u not_refused=%u worst_ms=%.4f (%s) "
           "worst_peak_kib=%.1f (%s)\n",
           g->name, g->files, g->refused, g->accepted_wrongly, g->worst_s * 1e3,
           g->worst_time_file[0] ? g->worst_time_file : "-", (double)g->worst_peak / 1024,
           g->worst_peak_file[0] ? g->worst_peak_file : "-");
}

/* Decode time against size: the files of dir (make bench-run writes 2^20,
 * 2^22 and 2^24 zero bytes in about a kilobyte each, the expansion a
 * hostile file would use) decoded whole; ns per output byte should not
 * grow with the size. 0, or non-zero on an error. */
static int linear(const char *dir, unsigned reps)
{
    static const char *const names[] = {"linear-20.cnnz", "linear-22.cnnz", "linear-24.cnnz"};
    double lo = 0, hi = 0;
    unsigned ran = 0;
    for (unsigned k = 0; k < sizeof names / sizeof names[0]; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        uint8_t *data;
        size_t size;
        if (read_whole(path, &data, &size))
            continue;
        cnnz_reader *r;
        struct cnnz_tensor_info ti;
        uint8_t *out = NULL;
        int e = cnnz_reader_open_memory(&r, data, size, NULL);
        if (!e && !(e = cnnz_reader_tensor_info(r, 0, &ti)) &&
            !(out = malloc(ti.decoded_bytes ? (size_t)ti.decoded_bytes : 1)))
            e = CNNZ_E_NOMEM;
        double s[HOSTILE_MAX_REPS];
        unsigned n = reps < HOSTILE_MAX_REPS ? reps : HOSTILE_MAX_REPS;
        for (unsigned i = 0; i < n && !e; i++) {
            double t0 = bench_now();
            e = cnnz_reader_decode(r, 0, out, (size_t)ti.decoded_bytes, NULL);
            s[i] = bench_now() - t0;
        }
        free(out);
        if (!e || r)
            cnnz_reader_close(r);
        free(data);
        if (e) {
            fprintf(stderr, "bench: hostile %s: %s\n", path, cnnz_error_token(e));
            return 1;
        }
        double t = bench_median(s, n), ns = t * 1e9 / (double)ti.decoded_bytes;
        printf("hostile linear file=%s in=%zu out=%llu ms=%.3f ns_per_out_byte=%.4f\n", names[k],
               size, (unsigned long long)ti.decoded_bytes, t * 1e3, ns);
        lo = ran ? (ns < lo ? ns : lo) : ns;
        hi = ran ? (ns > hi ? ns : hi) : ns;
        ran++;
    }
    if (ran > 1)
        printf("target hostile: decode time linear in the output: ns per byte from 2^20 to 2^24 "
               "bytes within %.2fx (%s)\n",
               hi / lo, hi / lo < 2 ? "met" : "MISSED");
    return 0;
}

int bench_hostile(unsigned reps)
{
    printf("files that must be refused: open, decode every tensor, verify, through a counting\n"
           "allocator; time = median of %u attempts per file, memory = peak of the library's\n"
           "live allocations\n",
           reps);
    struct cnnz_limits def, small, gib;
    cnnz_limits_default(&def);
    small = def;
    small.max_tensor_bytes = small.max_stream_bytes = 1024;
    gib = def;
    gib.max_tensor_bytes = gib.max_stream_bytes = (uint64_t)1 << 30;
    struct group gs[3] = {{.name = "must-reject"}, {.name = "over-limit"},
                          {.name = "declared-huge"}};
    int rc = run_dir(&gs[0], "conformance/invalid", &def, reps, 1, 0, 0);
    if (!rc)
        rc = run_dir(&gs[1], "conformance/valid", &small, reps, 0, CNNZ_E_LIMIT, 1);
    if (!rc)
        rc = run_dir(&gs[1], "conformance/uncommon", &small, reps, 0, CNNZ_E_LIMIT, 1);
    const char *hd = getenv("BENCH_HOSTILE_DIR");
    if (!rc && hd && *hd)
        rc = run_dir(&gs[2], hd, &gib, reps, 1, 0, 1);
    if (rc)
        return rc;
    double worst_s = 0;
    size_t worst_peak = 0;
    unsigned bad = 0, files = 0;
    for (unsigned i = 0; i < 3; i++) {
        if (!gs[i].files) {
            printf("hostile group=%s: no files (%s)\n", gs[i].name,
                   i < 2 ? "run from the source tree, which has conformance/"
                         : "BENCH_HOSTILE_DIR unset: make bench sets it");
            continue;
        }
        report(&gs[i]);
        files += gs[i].files;
        bad += gs[i].accepted_wrongly;
        worst_s = gs[i].worst_s > worst_s ? gs[i].worst_s : worst_s;
        worst_peak = gs[i].worst_peak > worst_peak ? gs[i].worst_peak : worst_peak;
    }
    const int met = !bad && files && worst_s < 0.010 && worst_peak < ((size_t)1 << 20);
    printf("target hostile: each of %u files refused in < 10 ms using < 1 MiB: %u not refused, "
           "worst %.4f ms, %.1f KiB (%s)\n",
           files, bad, worst_s * 1e3, (double)worst_peak / 1024, met ? "met" : "MISSED");
    const char *ld = getenv("BENCH_LINEAR_DIR");
    if (ld && *ld && linear(ld, reps))
        return 1;
    return bad != 0;
}
