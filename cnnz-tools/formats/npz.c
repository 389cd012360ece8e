/* NumPy .npz (zip of .npy) reader and writer (npz.h). Record layouts and
 * field names follow PKWARE's APPNOTE.TXT, sections 4.3 and 4.5. */
#include "npz.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "npy.h"

/* APPNOTE 4.3.7, 4.3.12, 4.3.14, 4.3.15, 4.3.16: record signatures. */
#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

/* Fixed sizes of those records. */
#define LOCAL_SIZE 30u
#define CENTRAL_SIZE 46u
#define EOCD_SIZE 22u
#define EOCD64_SIZE 56u
#define LOCATOR64_SIZE 20u

/* General purpose bit flags (APPNOTE 4.4.4). */
#define FLAG_ENCRYPTED 0x0001u
#define FLAG_DESCRIPTOR 0x0008u
#define FLAG_STRONG_ENCRYPTION 0x0040u
#define FLAG_UTF8 0x0800u
#define FLAG_CD_ENCRYPTED 0x2000u
/* Flags that must agree between a local header and its central entry. */
#define FLAGS_COMPARED (FLAG_ENCRYPTED | FLAG_DESCRIPTOR | FLAG_STRONG_ENCRYPTION | FLAG_UTF8)

#define METHOD_STORED 0u
#define METHOD_DEFLATED 8u

#define ZIP64_EXTRA_ID 0x0001u
#define MAX16 0xFFFFu
#define MAX32 0xFFFFFFFFu

static const char npy_suffix[] = ".npy";
#define SUFFIX_LEN 4u

static unsigned rd16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static char *dup_bytes(const void *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ------------------------------------------------------------------ parse */

/* The parsed archive plus what it owns. pub must stay first. */
struct npz_impl {
    struct npz_file pub;
    unsigned char **owned; /* inflated members */
    size_t owned_count;
};

struct member {
    const unsigned char *name; /* into the central directory; ends in ".npy" */
    size_t name_len;
    size_t index; /* central-directory order */
    unsigned flags, method;
    uint32_t crc;
    uint64_t csize, usize, lho; /* compressed, uncompressed size; local header offset */
    uint64_t data_off, data_end;
    const char *unsup; /* non-NULL: well-formed, but not a member cnnz takes */
};

void npz_free(struct npz_file *f)
{
    if (!f)
        return;
    struct npz_impl *im = (struct npz_impl *)f;
    for (size_t i = 0; i < f->count; i++)
        free((void *)(uintptr_t)f->tensors[i].name);
    for (size_t i = 0; i < f->skipped_count; i++) {
        free((void *)(uintptr_t)f->skipped[i].name);
        free((void *)(uintptr_t)f->skipped[i].reason);
    }
    for (size_t i = 0; i < im->owned_count; i++)
        free(im->owned[i]);
    free(im->owned);
    free(f->tensors);
    free(f->skipped);
    free(im);
}

static const char *qname(char *buf, size_t size, const struct member *m)
{
    return fmt_quote(buf, size, (const char *)m->name, m->name_len, 64);
}

/* Zip64 extended information (APPNOTE 4.5.3): each 64-bit value is present,
 * in this order, only when its 32-bit field is 0xFFFFFFFF (disk: 0xFFFF).
 * want_* point to the values to replace, or NULL when not applicable. */
static int read_zip64_extra(const unsigned char *x, size_t xlen, uint64_t *usize, uint64_t *csize,
                            uint64_t *lho, unsigned disk, int *disk_ok, const struct member *m,
                            char *err, size_t err_size)
{
    char q[96];
    int need = (usize && *usize == MAX32) || (csize && *csize == MAX32) ||
               (lho && *lho == MAX32) || disk == MAX16;
    int seen = 0;
    size_t at = 0;
    while (xlen - at >= 4) {
        unsigned id = rd16(x + at), len = rd16(x + at + 2);
        if (len > xlen - at - 4)
            return fmt_fail(err, err_size, FMT_E_INVALID,
                            "member '%s': extra field 0x%04x runs past its block", qname(q, sizeof q, m),
                            id);
        if (id == ZIP64_EXTRA_ID && need) {
            const unsigned char *d = x + at + 4;
            size_t dl = len, k = 0;
            if (seen)
                return fmt_fail(err, err_size, FMT_E_INVALID, "member '%s': two zip64 extra fields",
                                qname(q, sizeof q, m));
            seen = 1;
            uint64_t *vals[3] = {usize, csize, lho};
            for (int v = 0; v < 3; v++) {
                if (!vals[v] || *vals[v] != MAX32)
                    continue;
                if (dl - k < 8)
                    return fmt_fail(err, err_size, FMT_E_INVALID,
                                    "member '%s': zip64 extra field too short", qname(q, sizeof q, m));
                *vals[v] = rd64(d + k);
                k += 8;
            }
            if (disk == MAX16) {
                if (dl - k < 4)
                    return fmt_fail(err, err_size, FMT_E_INVALID,
                                    "member '%s': zip64 extra field too short", qname(q, sizeof q, m));
                *disk_ok = rd32(d + k) == 0;
            }
        }
        at += 4 + (size_t)len;
    }
    return FMT_OK;
}

static int by_name(const void *a, const void *b)
{
    const struct member *x = *(const struct member *const *)a, *y = *(const struct member *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c != 0)
        return c;
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static int by_lho(const void *a, const void *b)
{
    const struct member *x = *(const struct member *const *)a, *y = *(const struct member *const *)b;
    if (x->lho != y->lho)
        return x->lho < y->lho ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Locate the end records (APPNOTE 4.3.14-4.3.16). */
struct eocd {
    uint64_t entries, cd_size, cd_off, cd_end;
    int zip64;
};

static int find_eocd(const unsigned char *p, size_t size, struct eocd *e, char *err, size_t err_size)
{
    if (size < EOCD_SIZE)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "%zu bytes: too short for a zip end-of-central-directory record", size);
    size_t pos = size - EOCD_SIZE;
    for (;;) {
        if (rd32(p + pos) == SIG_EOCD && rd16(p + pos + 20) == size - EOCD_SIZE - pos)
            break;
        if (pos == 0 || size - EOCD_SIZE - pos >= MAX16)
            return fmt_fail(err, err_size, FMT_E_INVALID,
                            "no zip end-of-central-directory record at the end of the file");
        pos--;
    }
    const unsigned char *r = p + pos;
    unsigned disk = rd16(r + 4), cd_disk = rd16(r + 6);
    uint64_t n_disk = rd16(r + 8), n = rd16(r + 10), cd_size = rd32(r + 12), cd_off = rd32(r + 16);
    memset(e, 0, sizeof *e);
    e->cd_end = pos;

    if (pos >= LOCATOR64_SIZE && rd32(r - LOCATOR64_SIZE) == SIG_LOCATOR64) {
        const unsigned char *l = r - LOCATOR64_SIZE;
        size_t lpos = pos - LOCATOR64_SIZE;
        uint64_t off = rd64(l + 8);
        if (rd32(l + 4) != 0 || rd32(l + 16) > 1)
            return fmt_fail(err, err_size, FMT_E_UNSUPPORTED, "multi-disk zip archives are not supported");
        if (off > lpos || lpos - off < EOCD64_SIZE || rd32(p + off) != SIG_EOCD64)
            return fmt_fail(err, err_size, FMT_E_INVALID,
                            "zip64 locator points to no zip64 end-of-central-directory record");
        const unsigned char *z = p + off;
        uint64_t rec = rd64(z + 4);
        if (rec < EOCD64_SIZE - 12 || rec != lpos - off - 12)
            return fmt_fail(err, err_size, FMT_E_INVALID,
                            "zip64 end-of-central-directory record size %llu does not reach the locator",
                            (unsigned long long)rec);
        if (rd32(z + 16) != 0 || rd32(z + 20) != 0 || rd64(z + 24) != rd64(z + 32))
            return fmt_fail(err, err_size, FMT_E_UNSUPPORTED, "multi-disk zip archives are not supported");
        uint64_t n64 = rd64(z + 32), size64 = rd64(z + 40), off64 = rd64(z + 48);
        /* The 32-bit fields hold the value or, when it does not fit, the sentinel. */
        if ((n != MAX16 && n != n64) || (n_disk != MAX16 && n_disk != n64) ||
            (cd_size != MAX32 && cd_size != size64) || (cd_off != MAX32 && cd_off != off64) ||
            (disk != MAX16 && disk != 0) || (cd_disk != MAX16 && cd_disk != 0))
            return fmt_fail(err, err_size, FMT_E_INVALID,
                            "end-of-central-directory record disagrees with its zip64 record");
        e->zip64 = 1;
        e->entries = n64;
        e->cd_size = size64;
        e->cd_off = off64;
        e->cd_end = off;
        return FMT_OK;
    }
    if (disk != 0 || cd_disk != 0 || n_disk != n)
        return fmt_fail(err, err_size, FMT_E_UNSUPPORTED, "multi-disk zip archives are not supported");
    e->entries = n;
    e->cd_size = cd_size;
    e->cd_off = cd_off;
    return FMT_OK;
}

/* Read central entry at p[*at..cd_end) into *m. */
static int read_central(const unsigned char *p, uint64_t *at, uint64_t cd_end, size_t index,
                        struct member *m, char *err, size_t err_size)
{
    char q[96];
    uint64_t pos = *at;
    if (cd_end - pos < CENTRAL_SIZE || rd32(p + pos) != SIG_CENTRAL)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "central directory entry %zu: missing or truncated", index);
    const unsigned char *c = p + pos;
    unsigned nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
    if (cd_end - pos - CENTRAL_SIZE < (uint64_t)nlen + xlen + clen)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "central directory entry %zu: runs past the central directory", index);
    memset(m, 0, sizeof *m);
    m->index = index;
    m->name = c + CENTRAL_SIZE;
    m->name_len = nlen;
    m->flags = rd16(c + 8);
    m->method = rd16(c + 10);
    m->crc = rd32(c + 16);
    m->csize = rd32(c + 20);
    m->usize = rd32(c + 24);
    m->lho = rd32(c + 42);
    unsigned disk = rd16(c + 34);
    int disk_ok = disk == 0;
    int rc = read_zip64_extra(c + CENTRAL_SIZE + nlen, xlen, &m->usize, &m->csize, &m->lho, disk,
                              &disk_ok, m, err, err_size);
    if (rc != FMT_OK)
        return rc;
    *at = pos + CENTRAL_SIZE + nlen + xlen + clen;

    if (nlen == 0)
        return fmt_fail(err, err_size, FMT_E_INVALID, "central directory entry %zu: empty name",
                        index);
    if (memchr(m->name, 0, nlen))
        return fmt_fail(err, err_size, FMT_E_INVALID, "member '%s': NUL in name",
                        qname(q, sizeof q, m));
    if (!disk_ok)
        return fmt_fail(err, err_size, FMT_E_UNSUPPORTED, "member '%s': on another disk",
                        qname(q, sizeof q, m));
    if (m->flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_CD_ENCRYPTED))
        return fmt_fail(err, err_size, FMT_E_UNSUPPORTED, "member '%s': encrypted",
                        qname(q, sizeof q, m));
    if (m->method != METHOD_STORED && m->method != METHOD_DEFLATED)
        return fmt_fail(err, err_size, FMT_E_UNSUPPORTED,
                        "member '%s': compression method %u (only stored and deflated are supported)",
                        qname(q, sizeof q, m), m->method);
    if (m->flags & FLAG_UTF8) {
        if (!fmt_utf8_ok(m->name, nlen))
            return fmt_fail(err, err_size, FMT_E_INVALID,
                            "member '%s': name flagged UTF-8 is not valid UTF-8",
                            qname(q, sizeof q, m));
    } else {
        for (size_t i = 0; i < nlen; i++)
            if (m->name[i] >= 0x80)
                return fmt_fail(err, err_size, FMT_E_UNSUPPORTED,
                                "member '%s': CP437 (non-UTF-8) names are not supported",
                                qname(q, sizeof q, m));
    }
    if (m->method == METHOD_STORED && m->csize != m->usize)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "member '%s': stored, but compressed size %llu != size %llu",
                        qname(q, sizeof q, m), (unsigned long long)m->csize,
                        (unsigned long long)m->usize);
    if (nlen <= SUFFIX_LEN || memcmp(m->name + nlen - SUFFIX_LEN, npy_suffix, SUFFIX_LEN) != 0)
        m->unsup = "not a .npy member";
    else if (nlen - SUFFIX_LEN > CNNZ_MAX_NAME_BYTES)
        m->unsup = "name too long";
    return FMT_OK;
}

/* Check the local header of m and find its data (APPNOTE 4.3.7). */
static int read_local(const unsigned char *p, uint64_t cd_off, struct member *m, char *err,
                      size_t err_size)
{
    char q[96];
    if (m->lho > cd_off || cd_off - m->lho < LOCAL_SIZE || rd32(p + m->lho) != SIG_LOCAL)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "member '%s': no local header at offset %llu", qname(q, sizeof q, m),
                        (unsigned long long)m->lho);
    const unsigned char *l = p + m->lho;
    unsigned nlen = rd16(l + 26), xlen = rd16(l + 28);
    uint64_t data_off = m->lho + LOCAL_SIZE + nlen + xlen;
    if (data_off > cd_off)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "member '%s': local header runs into the central directory",
                        qname(q, sizeof q, m));
    if (nlen != m->name_len || memcmp(l + LOCAL_SIZE, m->name, nlen) != 0)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "member '%s': local header names another file", qname(q, sizeof q, m));
    unsigned flags = rd16(l + 6), method = rd16(l + 8);
    if (method != m->method || (flags & FLAGS_COMPARED) != (m->flags & FLAGS_COMPARED))
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "member '%s': local header method or flags differ from the central directory",
                        qname(q, sizeof q, m));
    if (!(m->flags & FLAG_DESCRIPTOR)) {
        uint64_t usize = rd32(l + 22), csize = rd32(l + 18);
        int disk_ok = 1;
        int rc = read_zip64_extra(l + LOCAL_SIZE + nlen, xlen, &usize, &csize, NULL, 0, &disk_ok, m,
                                  err, err_size);
        if (rc != FMT_OK)
            return rc;
        if (rd32(l + 14) != m->crc || usize != m->usize || csize != m->csize)
            return fmt_fail(err, err_size, FMT_E_INVALID,
                            "member '%s': local header CRC or sizes differ from the central directory",
                            qname(q, sizeof q, m));
    }
    if (m->csize > cd_off - data_off)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "member '%s': data runs past the start of the central directory",
                        qname(q, sizeof q, m));
    m->data_off = data_off;
    m->data_end = data_off + m->csize;
    return FMT_OK;
}

static uint32_t crc_of(const unsigned char *d, size_t n)
{
    return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), d, n);
}

/* Inflate the raw deflate stream src[0..csize) into a new buffer of exactly
 * usize bytes (APPNOTE 4.4.5 method 8 is RFC 1951 without a zlib wrapper). */
static int inflate_member(const unsigned char *src, const struct member *m, unsigned char **out,
                          char *err, size_t err_size)
{
    char q[96];
    size_t usize = (size_t)m->usize;
    /* One spare byte tells "more data than declared" apart from a full fit. */
    unsigned char *dst = malloc(usize + 1);
    if (!dst)
        return fmt_fail(err, err_size, FMT_E_NOMEM, "member '%s': out of memory for %zu bytes",
                        qname(q, sizeof q, m), usize);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
        free(dst);
        return fmt_fail(err, err_size, FMT_E_NOMEM, "member '%s': inflateInit2 failed",
                        qname(q, sizeof q, m));
    }
    size_t in_left = (size_t)m->csize, out_left = usize + 1;
    const unsigned char *in = src;
    unsigned char *o = dst;
    int ret;
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {
            zs.next_in = (unsigned char *)(uintptr_t)in;
            zs.avail_in = in_left > UINT_MAX ? UINT_MAX : (unsigned)in_left;
            in += zs.avail_in;
            in_left -= zs.avail_in;
        }
        if (zs.avail_out == 0 && out_left > 0) {
            zs.next_out = o;
            zs.avail_out = out_left > UINT_MAX ? UINT_MAX : (unsigned)out_left;
            o += zs.avail_out;
            out_left -= zs.avail_out;
        }
        ret = inflate(&zs, Z_NO_FLUSH);
        if (ret == Z_STREAM_END || ret == Z_NEED_DICT || ret == Z_DATA_ERROR || ret == Z_MEM_ERROR)
            break;
        if (ret == Z_BUF_ERROR && (zs.avail_in == 0 && in_left == 0))
            break; /* input ended before the stream did */
        if (zs.avail_out == 0 && out_left == 0)
            break; /* more output than declared */
    }
    uint64_t produced = zs.total_out;
    uint64_t unread = (uint64_t)zs.avail_in + in_left;
    const char *msg = zs.msg;
    inflateEnd(&zs);
    int rc = FMT_OK;
    if (ret == Z_MEM_ERROR)
        rc = fmt_fail(err, err_size, FMT_E_NOMEM, "member '%s': out of memory in inflate",
                      qname(q, sizeof q, m));
    else if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT)
        rc = fmt_fail(err, err_size, FMT_E_INVALID, "member '%s': corrupt deflate data (%s)",
                      qname(q, sizeof q, m), msg ? msg : "need dictionary");
    else if (ret != Z_STREAM_END && produced <= m->usize)
        rc = fmt_fail(err, err_size, FMT_E_INVALID, "member '%s': deflate data is truncated",
                      qname(q, sizeof q, m));
    else if (produced != m->usize)
        rc = fmt_fail(err, err_size, FMT_E_INVALID,
                      "member '%s': inflates to %s than the declared %llu bytes",
                      qname(q, sizeof q, m), produced > m->usize ? "more" : "fewer",
                      (unsigned long long)m->usize);
    else if (unread != 0)
        rc = fmt_fail(err, err_size, FMT_E_INVALID,
                      "member '%s': %llu bytes after the end of the deflate stream",
                      qname(q, sizeof q, m), (unsigned long long)unread);
    if (rc != FMT_OK) {
        free(dst);
        return rc;
    }
    *out = dst;
    return FMT_OK;
}

static int add_skipped(struct npz_file *f, const struct member *m, const char *reason)
{
    struct npz_skipped *s = &f->skipped[f->skipped_count];
    size_t stem = m->name_len;
    if (!m->unsup)
        stem -= SUFFIX_LEN; /* a .npy member: report its key */
    s->name = dup_bytes(m->name, stem);
    s->reason = dup_bytes(reason, strlen(reason));
    f->skipped_count++;
    return s->name && s->reason ? FMT_OK : FMT_E_NOMEM;
}

static int load_members(const unsigned char *p, struct member *ms, size_t n,
                        const struct npz_options *opts, struct npz_impl *im, char *err,
                        size_t err_size)
{
    struct npz_file *f = &im->pub;
    uint64_t budget = NPZ_DEFAULT_MAX_INFLATED;
    if (opts && opts->max_inflated != 0 && opts->max_inflated < budget)
        budget = opts->max_inflated;
    int skip = opts && opts->skip_unsupported;
    for (size_t i = 0; i < n; i++) {
        struct member *m = &ms[i];
        char q[96];
        if (m->unsup) {
            if (!skip)
                return fmt_fail(err, err_size, FMT_E_UNSUPPORTED, "member '%s': %s",
                                qname(q, sizeof q, m), m->unsup);
            if (add_skipped(f, m, m->unsup) != FMT_OK)
                return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
            continue;
        }
        const unsigned char *bytes = p + m->data_off;
        unsigned char *owned = NULL;
        if (m->method == METHOD_DEFLATED) {
            if (m->usize > budget || m->usize >= SIZE_MAX)
                return fmt_fail(err, err_size, FMT_E_UNSUPPORTED,
                                "member '%s': inflating %llu bytes goes over the limit (%llu left)",
                                qname(q, sizeof q, m), (unsigned long long)m->usize,
                                (unsigned long long)budget);
            budget -= m->usize;
            int rc = inflate_member(bytes, m, &owned, err, err_size);
            if (rc != FMT_OK)
                return rc;
            im->owned[im->owned_count++] = owned;
            bytes = owned;
        }
        if (crc_of(bytes, (size_t)m->usize) != m->crc)
            return fmt_fail(err, err_size, FMT_E_INVALID, "member '%s': CRC-32 mismatch",
                            qname(q, sizeof q, m));
        struct npy_array a;
        char nerr[FMT_ERR_SIZE];
        int rc = npy_parse(bytes, (size_t)m->usize, &a, nerr, sizeof nerr);
        if (rc == FMT_E_UNSUPPORTED && skip) {
            if (owned) {
                free(owned);
                im->owned[--im->owned_count] = NULL;
            }
            if (add_skipped(f, m, nerr) != FMT_OK)
                return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
            continue;
        }
        if (rc != FMT_OK)
            return fmt_fail(err, err_size, rc, "member '%s': %s", qname(q, sizeof q, m), nerr);
        struct npz_tensor *t = &f->tensors[f->count];
        t->name_len = m->name_len - SUFFIX_LEN;
        t->name = dup_bytes(m->name, t->name_len);
        if (!t->name)
            return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
        f->count++;
        t->dtype = a.dtype;
        t->rank = a.rank;
        memcpy(t->dims, a.dims, sizeof t->dims);
        t->elements = a.elements;
        t->data = a.data;
        t->data_bytes = a.data_bytes;
        t->compressed = m->method == METHOD_DEFLATED;
    }
    return FMT_OK;
}

static int parse_archive(const unsigned char *p, size_t size, const struct npz_options *opts,
                         struct npz_impl *im, char *err, size_t err_size)
{
    struct eocd e;
    int rc = find_eocd(p, size, &e, err, err_size);
    if (rc != FMT_OK)
        return rc;
    im->pub.zip64 = e.zip64;
    if (e.cd_off > e.cd_end || e.cd_end - e.cd_off != e.cd_size)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "central directory (offset %llu, %llu bytes) does not end where the end record begins (%llu)",
                        (unsigned long long)e.cd_off, (unsigned long long)e.cd_size,
                        (unsigned long long)e.cd_end);
    size_t max_members = CNNZ_MAX_TENSORS;
    if (opts && opts->max_members != 0 && opts->max_members < max_members)
        max_members = opts->max_members;
    if (e.entries > e.cd_size / CENTRAL_SIZE)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "%llu entries cannot fit in a central directory of %llu bytes",
                        (unsigned long long)e.entries, (unsigned long long)e.cd_size);
    if (e.entries > max_members)
        return fmt_fail(err, err_size, FMT_E_UNSUPPORTED,
                        "%llu members: more than the limit of %zu", (unsigned long long)e.entries,
                        max_members);
    size_t n = (size_t)e.entries;
    struct member *ms = calloc(n ? n : 1, sizeof *ms);
    struct member **sorted = calloc(n ? n : 1, sizeof *sorted);
    im->pub.tensors = calloc(n ? n : 1, sizeof *im->pub.tensors);
    im->pub.skipped = calloc(n ? n : 1, sizeof *im->pub.skipped);
    im->owned = calloc(n ? n : 1, sizeof *im->owned);
    if (!ms || !sorted || !im->pub.tensors || !im->pub.skipped || !im->owned) {
        rc = fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
        goto out;
    }
    uint64_t at = e.cd_off;
    for (size_t i = 0; i < n; i++) {
        rc = read_central(p, &at, e.cd_end, i, &ms[i], err, err_size);
        if (rc != FMT_OK)
            goto out;
        sorted[i] = &ms[i];
    }
    if (at != e.cd_end) {
        rc = fmt_fail(err, err_size, FMT_E_INVALID,
                      "%llu bytes after the last central directory entry",
                      (unsigned long long)(e.cd_end - at));
        goto out;
    }
    qsort(sorted, n, sizeof *sorted, by_name);
    for (size_t i = 1; i < n; i++) {
        if (by_name(&sorted[i - 1], &sorted[i]) == 0) {
            char q[96];
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "duplicate member '%s'",
                          qname(q, sizeof q, sorted[i]));
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rc = read_local(p, e.cd_off, &ms[i], err, err_size);
        if (rc != FMT_OK)
            goto out;
    }
    qsort(sorted, n, sizeof *sorted, by_lho);
    for (size_t i = 1; i < n; i++) {
        if (sorted[i - 1]->data_end > sorted[i]->lho) {
            char q[96], q2[96];
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "members '%s' and '%s' overlap",
                          qname(q, sizeof q, sorted[i - 1]), qname(q2, sizeof q2, sorted[i]));
            goto out;
        }
    }
    rc = load_members(p, ms, n, opts, im, err, err_size);
out:
    free(ms);
    free(sorted);
    return rc;
}

int npz_parse(const void *buf, size_t size, const struct npz_options *opts,
              struct npz_file **out, char *err, size_t err_size)
{
    *out = NULL;
    struct npz_impl *im = calloc(1, sizeof *im);
    if (!im)
        return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
    int rc = parse_archive(buf, size, opts, im, err, err_size);
    if (rc != FMT_OK) {
        npz_free(&im->pub);
        return rc;
    }
    *out = &im->pub;
    return FMT_OK;
}

/* ------------------------------------------------------------------ write */

/* What the writer knows of each member before writing. */
struct wmember {
    size_t name_len; /* of the tensor name (the member name adds ".npy") */
    size_t hdr_len;  /* of the .npy header */
    uint64_t size;   /* hdr_len + data_bytes (stored: compressed == uncompressed) */
    uint64_t lho;
    uint32_t crc;
    int zip64_local;
    int z_size, z_off; /* central entry needs zip64 sizes / offset */
};

struct out {
    npz_write_fn write;
    void *opaque;
    int failed;
    uint64_t pos;
};

static void put(struct out *o, const void *b, size_t n)
{
    if (o->failed || n == 0)
        return;
    if (o->write(o->opaque, b, n) != 0)
        o->failed = 1;
    o->pos += n;
}

static void le16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* MS-DOS date of 1980-01-01, time 00:00 (APPNOTE 4.4.6): fixed, for
 * deterministic output. */
#define DOS_DATE 0x0021u
#define DOS_TIME 0x0000u
#define VERSION_20 20u
#define VERSION_45 45u /* zip64 */
#define MADE_BY_UNIX (3u << 8)
#define UNIX_FILE_0644 (0100644u << 16)

static size_t tensor_name_len(const struct npz_tensor *t)
{
    return t->name_len ? t->name_len : strlen(t->name);
}

static int by_tname(const void *a, const void *b)
{
    const struct npz_tensor *x = *(const struct npz_tensor *const *)a;
    const struct npz_tensor *y = *(const struct npz_tensor *const *)b;
    size_t lx = tensor_name_len(x), ly = tensor_name_len(y);
    int c = memcmp(x->name, y->name, lx < ly ? lx : ly);
    if (c != 0)
        return c;
    return lx < ly ? -1 : lx > ly;
}

static int plan_member(const struct npz_tensor *t, size_t idx, struct wmember *w, char *err,
                       size_t err_size)
{
    char q[96];
    if (!t->name)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor %zu: no name", idx);
    size_t nl = tensor_name_len(t);
    const char *qn = fmt_quote(q, sizeof q, t->name, nl, 64);
    if (nl == 0)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor %zu: empty name", idx);
    if (nl > MAX16 - SUFFIX_LEN)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': name longer than %u bytes", qn,
                        MAX16 - SUFFIX_LEN);
    if (!fmt_utf8_ok((const unsigned char *)t->name, nl))
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "tensor '%s': name is not UTF-8 or holds a NUL", qn);
    if (t->rank > CNNZ_MAX_RANK || cnnz_dtype_size(t->dtype) == 0)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': unknown dtype or rank above %u",
                        qn, CNNZ_MAX_RANK);
    uint64_t elements = 1, bytes;
    for (unsigned i = 0; i < t->rank; i++)
        if (fmt_mul_u64(elements, t->dims[i], &elements))
            return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': dims overflow", qn);
    if (fmt_mul_u64(elements, cnnz_dtype_size(t->dtype), &bytes) || bytes != t->data_bytes)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "tensor '%s': %zu data bytes, dims and dtype need %llu", qn, t->data_bytes,
                        (unsigned long long)bytes);
    if (t->data_bytes != 0 && t->data == NULL)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': no data", qn);
    unsigned char hdr[NPY_HEADER_MAX];
    char nerr[FMT_ERR_SIZE];
    int rc = npy_header(t->dtype, t->rank, t->dims, hdr, sizeof hdr, &w->hdr_len, nerr, sizeof nerr);
    if (rc != FMT_OK)
        return fmt_fail(err, err_size, rc, "tensor '%s': %s", qn, nerr);
    w->name_len = nl;
    if (fmt_add_u64(w->hdr_len, t->data_bytes, &w->size))
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': too large", qn);
    /* crc32_z() returns 0 for a NULL buffer, so empty data is not passed. */
    uLong crc = crc32_z(crc32_z(0L, Z_NULL, 0), hdr, w->hdr_len);
    if (t->data_bytes != 0)
        crc = crc32_z(crc, t->data, t->data_bytes);
    w->crc = (uint32_t)crc;
    return FMT_OK;
}

/* The member name NAME.npy into o. */
static void put_name(struct out *o, const struct npz_tensor *t, size_t nl)
{
    put(o, t->name, nl);
    put(o, npy_suffix, SUFFIX_LEN);
}

static unsigned name_flags(const struct npz_tensor *t, size_t nl)
{
    for (size_t i = 0; i < nl; i++)
        if ((unsigned char)t->name[i] >= 0x80)
            return FLAG_UTF8;
    return 0;
}

int npz_write(const struct npz_tensor *tensors, size_t count, const struct npz_write_options *wopts,
              npz_write_fn write, void *opaque, char *err, size_t err_size)
{
    int force = wopts && wopts->force_zip64;
    if (count > CNNZ_MAX_TENSORS)
        return fmt_fail(err, err_size, FMT_E_INVALID, "%zu tensors: too many", count);
    struct wmember *ws = calloc(count ? count : 1, sizeof *ws);
    const struct npz_tensor **sorted = calloc(count ? count : 1, sizeof *sorted);
    int rc = FMT_OK;
    if (!ws || !sorted) {
        rc = fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
        goto out;
    }
    /* Plan: validate, CRC, sizes and offsets (APPNOTE 4.3.7 local headers
     * with a zip64 extra of both sizes when a size needs 64 bits). */
    uint64_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        struct wmember *w = &ws[i];
        rc = plan_member(&tensors[i], i, w, err, err_size);
        if (rc != FMT_OK)
            goto out;
        sorted[i] = &tensors[i];
        w->lho = pos;
        w->zip64_local = force || w->size >= MAX32;
        w->z_size = w->zip64_local;
        w->z_off = force || w->lho >= MAX32;
        uint64_t hdr = LOCAL_SIZE + w->name_len + SUFFIX_LEN + (w->zip64_local ? 20u : 0u);
        if (fmt_add_u64(pos, hdr, &pos) || fmt_add_u64(pos, w->size, &pos)) {
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "archive too large");
            goto out;
        }
    }
    qsort(sorted, count, sizeof *sorted, by_tname);
    for (size_t i = 1; i < count; i++) {
        if (by_tname(&sorted[i - 1], &sorted[i]) == 0) {
            char q[96];
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "duplicate tensor name '%s'",
                          fmt_quote(q, sizeof q, sorted[i]->name, tensor_name_len(sorted[i]), 64));
            goto out;
        }
    }

    struct out o = {write, opaque, 0, 0};
    unsigned char b[64];
    for (size_t i = 0; i < count; i++) {
        const struct npz_tensor *t = &tensors[i];
        const struct wmember *w = &ws[i];
        le32(b, SIG_LOCAL);
        le16(b + 4, w->zip64_local ? VERSION_45 : VERSION_20);
        le16(b + 6, name_flags(t, w->name_len));
        le16(b + 8, METHOD_STORED);
        le16(b + 10, DOS_TIME);
        le16(b + 12, DOS_DATE);
        le32(b + 14, w->crc);
        le32(b + 18, w->zip64_local ? MAX32 : (uint32_t)w->size);
        le32(b + 22, w->zip64_local ? MAX32 : (uint32_t)w->size);
        le16(b + 26, (unsigned)(w->name_len + SUFFIX_LEN));
        le16(b + 28, w->zip64_local ? 20u : 0u);
        put(&o, b, LOCAL_SIZE);
        put_name(&o, t, w->name_len);
        if (w->zip64_local) {
            le16(b, ZIP64_EXTRA_ID);
            le16(b + 2, 16);
            le64(b + 4, w->size);
            le64(b + 12, w->size);
            put(&o, b, 20);
        }
        unsigned char hdr[NPY_HEADER_MAX];
        size_t hl;
        char nerr[FMT_ERR_SIZE];
        if (npy_header(t->dtype, t->rank, t->dims, hdr, sizeof hdr, &hl, nerr, sizeof nerr) != FMT_OK ||
            hl != w->hdr_len) {
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "npy header changed between passes");
            goto out;
        }
        put(&o, hdr, hl);
        put(&o, t->data, t->data_bytes);
    }
    uint64_t cd_off = o.pos;
    for (size_t i = 0; i < count; i++) {
        const struct npz_tensor *t = &tensors[i];
        const struct wmember *w = &ws[i];
        unsigned xlen = (w->z_size || w->z_off) ? 4u + (w->z_size ? 16u : 0u) + (w->z_off ? 8u : 0u) : 0u;
        int z = w->z_size || w->z_off;
        le32(b, SIG_CENTRAL);
        le16(b + 4, MADE_BY_UNIX | (z ? VERSION_45 : VERSION_20));
        le16(b + 6, z ? VERSION_45 : VERSION_20);
        le16(b + 8, name_flags(t, w->name_len));
        le16(b + 10, METHOD_STORED);
        le16(b + 12, DOS_TIME);
        le16(b + 14, DOS_DATE);
        le32(b + 16, w->crc);
        le32(b + 20, w->z_size ? MAX32 : (uint32_t)w->size);
        le32(b + 24, w->z_size ? MAX32 : (uint32_t)w->size);
        le16(b + 28, (unsigned)(w->name_len + SUFFIX_LEN));
        le16(b + 30, xlen);
        le16(b + 32, 0);  /* comment */
        le16(b + 34, 0);  /* disk number start */
        le16(b + 36, 0);  /* internal attributes */
        le32(b + 38, UNIX_FILE_0644);
        le32(b + 42, w->z_off ? MAX32 : (uint32_t)w->lho);
        put(&o, b, CENTRAL_SIZE);
        put_name(&o, t, w->name_len);
        if (z) {
            size_t k = 4;
            le16(b, ZIP64_EXTRA_ID);
            le16(b + 2, xlen - 4);
            if (w->z_size) {
                le64(b + k, w->size);
                le64(b + k + 8, w->size);
                k += 16;
            }
            if (w->z_off) {
                le64(b + k, w->lho);
                k += 8;
            }
            put(&o, b, k);
        }
    }
    uint64_t cd_size = o.pos - cd_off;
    int z64 = force || count >= MAX16 || cd_size >= MAX32 || cd_off >= MAX32;
    if (z64) {
        uint64_t rec_off = o.pos;
        le32(b, SIG_EOCD64);
        le64(b + 4, EOCD64_SIZE - 12);
        le16(b + 12, MADE_BY_UNIX | VERSION_45);
        le16(b + 14, VERSION_45);
        le32(b + 16, 0);
        le32(b + 20, 0);
        le64(b + 24, count);
        le64(b + 32, count);
        le64(b + 40, cd_size);
        le64(b + 48, cd_off);
        put(&o, b, EOCD64_SIZE);
        le32(b, SIG_LOCATOR64);
        le32(b + 4, 0);
        le64(b + 8, rec_off);
        le32(b + 16, 1);
        put(&o, b, LOCATOR64_SIZE);
    }
    unsigned n16 = count >= MAX16 ? MAX16 : (unsigned)count;
    le32(b, SIG_EOCD);
    le16(b + 4, 0);
    le16(b + 6, 0);
    le16(b + 8, n16);
    le16(b + 10, n16);
    le32(b + 12, cd_size >= MAX32 ? MAX32 : (uint32_t)cd_size);
    le32(b + 16, cd_off >= MAX32 ? MAX32 : (uint32_t)cd_off);
    le16(b + 20, 0);
    put(&o, b, EOCD_SIZE);
    if (o.failed)
        rc = fmt_fail(err, err_size, FMT_E_IO, "write failed");
out:
    free(ws);
    free(sorted);
    return rc;
}
