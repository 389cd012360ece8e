/* Opening, listing and decoding .cnnz files (spec 3 and 9). */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

#include "coder.h"
#include "repr.h"
#include "reader.h"

const uint8_t cnnz__signature[8] = {0x89, 'C', 'N', 'Z', 0x0D, 0x0A, 0x1A, 0x0A};
const uint8_t cnnz__end_signature[8] = {'C', 'N', 'Z', 'E', 'N', 'D', 0x0D, 0x0A};

void cnnz_limits_default(struct cnnz_limits *l)
{
    if (!l)
        return;
    l->max_tensors = CNNZ_MAX_TENSORS;
    l->max_name_bytes = CNNZ_MAX_NAME_BYTES;
    l->max_rank = CNNZ_MAX_RANK;
    l->max_meta_entries = CNNZ_MAX_META_ENTRIES;
    l->max_directory_bytes = UINT64_C(1) << 30;
    l->max_metadata_bytes = UINT64_C(1) << 30;
    l->max_tensor_bytes = CNNZ_MAX_TENSOR_BYTES;
    l->max_stream_bytes = CNNZ_MAX_TENSOR_BYTES;
}

/* Callers may only tighten: each field is the smaller of theirs and the default. */
static void limits_merge(struct cnnz_limits *out, const struct cnnz_limits *user)
{
    cnnz_limits_default(out);
    if (!user)
        return;
#define TIGHTEN(f) \
    if (user->f < out->f) \
        out->f = user->f
    TIGHTEN(max_tensors);
    TIGHTEN(max_name_bytes);
    TIGHTEN(max_rank);
    TIGHTEN(max_meta_entries);
    TIGHTEN(max_directory_bytes);
    TIGHTEN(max_metadata_bytes);
    TIGHTEN(max_tensor_bytes);
    TIGHTEN(max_stream_bytes);
#undef TIGHTEN
}

int cnnz__source_read(const struct cnnz__source *s, uint64_t off, void *dst, size_t n)
{
    if (off > s->size || n > s->size - off)
        return CNNZ_E_TRUNCATED;
    if (s->mem) {
        if (n)
            memcpy(dst, s->mem + off, n);
        return CNNZ_OK;
    }
    uint8_t *p = dst;
    while (n) {
        ssize_t k = pread(s->fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k == 0 ? CNNZ_E_TRUNCATED : CNNZ_E_IO;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return CNNZ_OK;
}

int cnnz__check_zero(const cnnz_reader *r, uint64_t off, uint64_t n, struct cnnz_where *w,
                     int64_t tensor)
{
    uint8_t buf[64];
    while (n) {
        size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
        int err = cnnz__source_read(&r->src, off, buf, k);
        if (err)
            return cnnz__fail(w, err, "padding", tensor, -1, (int64_t)off);
        for (size_t i = 0; i < k; i++)
            if (buf[i])
                return cnnz__fail(w, CNNZ_E_RESERVED, "padding", tensor, -1, (int64_t)(off + i));
        off += k;
        n -= k;
    }
    return CNNZ_OK;
}

int cnnz__section_check(const cnnz_reader *r, uint32_t index, struct cnnz_where *w, int64_t tensor)
{
    const struct cnnz__section *s = &r->sections[index];
    uint8_t h[CNNZ__SECTION_HEADER_SIZE];
    int err = cnnz__source_read(&r->src, s->offset, h, sizeof h);
    if (err)
        return cnnz__fail(w, err, "section header", tensor, -1, (int64_t)s->offset);
    if (cnnz__le32(h) != s->tag || cnnz__le32(h + 4) != s->flags || cnnz__le64(h + 8) != s->body_length)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "section header", tensor, -1, (int64_t)s->offset);
    /* Padding up to the next section (or the TDIR), spec 3.2. */
    uint64_t end = s->offset + CNNZ__SECTION_HEADER_SIZE + s->body_length;
    uint64_t next = index + 1 < r->nsections ? r->sections[index + 1].offset : r->tdir_offset;
    return cnnz__check_zero(r, end, next - end, w, tensor);
}

/* A TDAT section before any of its streams is decoded (spec 4, 9.2 steps
 * 1-3): header against the table, the padding between its streams, and its
 * checksum over the whole body. */
int cnnz__tdat_check(const cnnz_reader *r, uint32_t index, struct cnnz_where *w, int64_t tensor)
{
    struct cnnz__section *s = &r->sections[index];
    if (atomic_load_explicit(&s->checked, memory_order_acquire))
        return CNNZ_OK;
    int err = cnnz__section_check(r, index, w, tensor);
    if (err)
        return err;
    const uint64_t body = s->offset + CNNZ__SECTION_HEADER_SIZE;
    const uint64_t end = body + s->body_length - CNNZ__CHECKSUM_SIZE; /* >= body: open checked */
    uint64_t p = body;
    for (uint32_t t = s->first; t < s->first + s->count; t++) {
        const struct cnnz_tensor_info *ti = &r->tensors[t].info;
        for (unsigned k = 0; k < ti->stream_count; k++) {
            if ((err = cnnz__check_zero(r, p, ti->streams[k].offset - p, w, tensor)))
                return err;
            p = ti->streams[k].offset + ti->streams[k].coded_bytes;
        }
    }
    uint8_t sum[CNNZ__CHECKSUM_SIZE];
    if ((err = cnnz__source_read(&r->src, end, sum, sizeof sum)))
        return cnnz__fail(w, err, "section", tensor, -1, (int64_t)end);
    uint64_t h;
    if (r->src.mem) {
        h = XXH64(r->src.mem + body, (size_t)(end - body), 0);
    } else {
        XXH64_state_t st;
        uint8_t buf[16384];
        XXH64_reset(&st, 0);
        for (uint64_t at = body; at < end;) {
            size_t k = end - at < sizeof buf ? (size_t)(end - at) : sizeof buf;
            if ((err = cnnz__source_read(&r->src, at, buf, k)))
                return cnnz__fail(w, err, "section", tensor, -1, (int64_t)at);
            XXH64_update(&st, buf, k);
            at += k;
        }
        h = XXH64_digest(&st);
    }
    if (cnnz__sum_bad(h, cnnz__le64(sum)))
        return cnnz__fail(w, CNNZ_E_CHECKSUM, "section", tensor, -1, (int64_t)end);
    atomic_store_explicit(&s->checked, 1, memory_order_release);
    return CNNZ_OK;
}

/* Spec 3.1 and 3.3, then the TDIR header (spec 9.1 step 3). */
static int parse_frame(cnnz_reader *r, struct cnnz_where *w)
{
    const uint64_t size = r->src.size;
    uint8_t h[CNNZ__HEADER_SIZE];
    size_t probe = size < 8 ? (size_t)size : 8;
    int err = cnnz__source_read(&r->src, 0, h, probe);
    if (err)
        return cnnz__fail(w, err, "header", -1, -1, 0);
    if (memcmp(h, cnnz__signature, probe) != 0)
        return cnnz__fail(w, CNNZ_E_SIGNATURE, "header", -1, -1, 0);
    if (size < CNNZ__MIN_FILE)
        return cnnz__fail(w, CNNZ_E_TRUNCATED, "file", -1, -1, (int64_t)size);
    if ((err = cnnz__source_read(&r->src, 0, h, sizeof h)))
        return cnnz__fail(w, err, "header", -1, -1, 0);
    if (cnnz__sum_bad(XXH64(h, 56, 0), cnnz__le64(h + 56)))
        return cnnz__fail(w, CNNZ_E_CHECKSUM, "header", -1, -1, 56);
    r->major = cnnz__le16(h + 8);
    r->minor = cnnz__le16(h + 10);
    if (r->major != CNNZ_FORMAT_MAJOR)
        return cnnz__fail(w, CNNZ_E_VERSION, "header", -1, -1, 8);
    r->reserved_ok = r->minor > CNNZ_FORMAT_MINOR;
    if (!r->reserved_ok && !cnnz__reserved_zero(h + 12, 44))
        return cnnz__fail(w, CNNZ_E_RESERVED, "header", -1, -1, 12);

    uint64_t toff = size - CNNZ__TRAILER_SIZE;
    uint8_t t[CNNZ__TRAILER_SIZE];
    if ((err = cnnz__source_read(&r->src, toff, t, sizeof t)))
        return cnnz__fail(w, err, "trailer", -1, -1, (int64_t)toff);
    if (memcmp(t + 24, cnnz__end_signature, 8) != 0)
        return cnnz__fail(w, CNNZ_E_TRUNCATED, "trailer", -1, -1, (int64_t)toff + 24);
    if (cnnz__sum_bad(XXH64(t, 16, 0), cnnz__le64(t + 16)))
        return cnnz__fail(w, CNNZ_E_CHECKSUM, "trailer", -1, -1, (int64_t)toff + 16);
    if (!r->reserved_ok && cnnz__le64(t + 8))
        return cnnz__fail(w, CNNZ_E_RESERVED, "trailer", -1, -1, (int64_t)toff + 8);
    r->tdir_offset = cnnz__le64(t);
    if (r->tdir_offset < CNNZ__HEADER_SIZE || r->tdir_offset % CNNZ__SECTION_ALIGN ||
        r->tdir_offset > toff - CNNZ__SECTION_HEADER_SIZE)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "trailer", -1, -1, (int64_t)toff);

    uint8_t s[CNNZ__SECTION_HEADER_SIZE];
    if ((err = cnnz__source_read(&r->src, r->tdir_offset, s, sizeof s)))
        return cnnz__fail(w, err, "directory", -1, -1, (int64_t)r->tdir_offset);
    uint32_t flags = cnnz__le32(s + 4);
    r->tdir_length = cnnz__le64(s + 8);
    uint64_t body = r->tdir_offset + CNNZ__SECTION_HEADER_SIZE, end;
    if (cnnz__le32(s) != CNNZ__TAG_TDIR || cnnz__add64(body, r->tdir_length, &end) ||
        cnnz__align64(end, 8, &end) || end != toff)
        return cnnz__fail(w, CNNZ_E_LAYOUT, "directory", -1, -1, (int64_t)r->tdir_offset);
    if (!(flags & CNNZ__SECTION_FLAG_CRITICAL))
        return cnnz__fail(w, CNNZ_E_SECTION, "directory", -1, -1, (int64_t)r->tdir_offset + 4);
    if (!r->reserved_ok && (flags & ~CNNZ__SECTION_FLAG_CRITICAL))
        return cnnz__fail(w, CNNZ_E_RESERVED, "directory", -1, -1, (int64_t)r->tdir_offset + 4);
    if (r->tdir_length > r->lim.max_directory_bytes || r->tdir_length > SIZE_MAX)
        return cnnz__fail(w, CNNZ_E_LIMIT, "directory", -1, -1, (int64_t)r->tdir_offset);
    if ((err = cnnz__check_zero(r, body + r->tdir_length, toff - body - r->tdir_length, w, -1)))
        return err;
    if (r->src.mem) {
        r->tdir = r->src.mem + body;
    } else {
        r->tdir_copy = cnnz__malloc(&r->a, (size_t)r->tdir_length);
        if (!r->tdir_copy)
            return cnnz__fail(w, CNNZ_E_NOMEM, "directory", -1, -1, -1);
        if ((err = cnnz__source_read(&r->src, body, r->tdir_copy, (size_t)r->tdir_length)))
            return cnnz__fail(w, err, "directory", -1, -1, (int64_t)body);
        r->tdir = r->tdir_copy;
    }
    return CNNZ_OK;
}

static int reader_new(cnnz_reader **out, const struct cnnz_open_options *opts)
{
    struct cnnz__alloc a;
    cnnz__alloc_init(&a, opts ? opts->allocator : NULL);
    cnnz_reader *r = cnnz__malloc(&a, sizeof *r);
    if (!r)
        return CNNZ_E_NOMEM;
    memset(r, 0, sizeof *r);
    r->a = a;
    r->src.fd = -1;
    r->meta_section = -1;
    limits_merge(&r->lim, opts ? opts->limits : NULL);
    *out = r;
    return CNNZ_OK;
}

static int reader_finish_open(cnnz_reader **out, cnnz_reader *r, const struct cnnz_open_options *opts)
{
    struct cnnz_where *w = opts ? opts->where : NULL;
    int err = parse_frame(r, w);
    if (!err)
        err = cnnz__directory_parse(r, w);
    if (!err)
        err = cnnz__metadata_parse(r, w);
    if (err) {
        cnnz_reader_close(r);
        *out = NULL;
        return err;
    }
    *out = r;
    return CNNZ_OK;
}

int cnnz_reader_open_memory(cnnz_reader **out, const void *data, size_t size,
                            const struct cnnz_open_options *opts)
{
    if (!out || (!data && size))
        return CNNZ_E_ARG;
    *out = NULL;
    cnnz_reader *r;
    int err = reader_new(&r, opts);
    if (err)
        return cnnz__fail(opts ? opts->where : NULL, err, "reader", -1, -1, -1);
    static const uint8_t empty[1];
    r->src.mem = data ? data : empty;
    r->src.size = size;
    return reader_finish_open(out, r, opts);
}

/* Read a non-seekable descriptor to its end into reader-owned memory. */
static int slurp(cnnz_reader *r, int fd)
{
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = cnnz__malloc(&r->a, cap);
    if (!buf)
        return CNNZ_E_NOMEM;
    for (;;) {
        if (len == cap) {
            if (cap > SIZE_MAX / 2) {
                cnnz__free(&r->a, buf);
                return CNNZ_E_NOMEM;
            }
            uint8_t *nb = cnnz__malloc(&r->a, cap * 2);
            if (!nb) {
                cnnz__free(&r->a, buf);
                return CNNZ_E_NOMEM;
            }
            memcpy(nb, buf, len);
            cnnz__free(&r->a, buf);
            buf = nb;
            cap *= 2;
        }
        ssize_t k = read(fd, buf + len, cap - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            cnnz__free(&r->a, buf);
            return CNNZ_E_IO;
        }
        if (k == 0)
            break;
        len += (size_t)k;
    }
    r->owned = buf;
    r->src.mem = buf;
    r->src.size = len;
    return CNNZ_OK;
}

int cnnz_reader_open_path(cnnz_reader **out, const char *path, const struct cnnz_open_options *opts)
{
    struct cnnz_where *w = opts ? opts->where : NULL;
    if (!out || !path)
        return CNNZ_E_ARG;
    *out = NULL;
    cnnz_reader *r;
    int err = reader_new(&r, opts);
    if (err)
        return cnnz__fail(w, err, "reader", -1, -1, -1);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cnnz_reader_close(r);
        return cnnz__fail(w, CNNZ_E_IO, "file", -1, -1, -1);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        cnnz_reader_close(r);
        return cnnz__fail(w, CNNZ_E_IO, "file", -1, -1, -1);
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            r->map = m;
            r->map_len = (size_t)st.st_size;
            r->src.mem = m;
            r->src.size = (uint64_t)st.st_size;
        }
    }
    if (!r->map && (err = slurp(r, fd))) {
        close(fd);
        cnnz_reader_close(r);
        return cnnz__fail(w, err, "file", -1, -1, -1);
    }
    close(fd); /* a mapping outlives its descriptor */
    return reader_finish_open(out, r, opts);
}

int cnnz_reader_open_file(cnnz_reader **out, FILE *f, const struct cnnz_open_options *opts)
{
    struct cnnz_where *w = opts ? opts->where : NULL;
    if (!out || !f)
        return CNNZ_E_ARG;
    *out = NULL;
    cnnz_reader *r;
    int err = reader_new(&r, opts);
    if (err)
        return cnnz__fail(w, err, "reader", -1, -1, -1);
    int fd = fileno(f);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        cnnz_reader_close(r);
        return cnnz__fail(w, CNNZ_E_IO, "file", -1, -1, -1);
    }
    if (S_ISREG(st.st_mode)) {
        r->src.fd = fd;
        r->src.size = (uint64_t)st.st_size;
    } else if ((err = slurp(r, fd))) {
        cnnz_reader_close(r);
        return cnnz__fail(w, err, "file", -1, -1, -1);
    }
    return reader_finish_open(out, r, opts);
}

void cnnz_reader_close(cnnz_reader *r)
{
    if (!r)
        return;
    struct cnnz__alloc a = r->a;
    if (r->map)
        munmap(r->map, r->map_len);
    cnnz__free(&a, r->owned);
    cnnz__free(&a, r->tdir_copy);
    cnnz__free(&a, r->sections);
    cnnz__free(&a, r->tensors);
    cnnz__free(&a, r->by_name);
    cnnz__free(&a, r->dims);
    cnnz__free(&a, r->streams);
    cnnz__free(&a, r->sparams);
    cnnz__free(&a, r->names);
    cnnz__free(&a, r->meta);
    cnnz__free(&a, r->meta_by_key);
    cnnz__free(&a, r->meta_blob);
    cnnz__free(&a, r);
}

void cnnz_reader_version(const cnnz_reader *r, unsigned *major, unsigned *minor)
{
    if (major)
        *major = r ? r->major : 0;
    if (minor)
        *minor = r ? r->minor : 0;
}

uint64_t cnnz_reader_file_size(const cnnz_reader *r)
{
    return r ? r->src.size : 0;
}

size_t cnnz_reader_tensor_count(const cnnz_reader *r)
{
    return r ? r->ntensors : 0;
}

int cnnz_reader_tensor_info(const cnnz_reader *r, size_t index, struct cnnz_tensor_info *info)
{
    if (!r || !info)
        return CNNZ_E_ARG;
    if (index >= r->ntensors)
        return CNNZ_E_NOTFOUND;
    *info = r->tensors[index].info;
    return CNNZ_OK;
}

int cnnz_reader_find(const cnnz_reader *r, const char *name, size_t *index)
{
    if (!r || !name || !index)
        return CNNZ_E_ARG;
    size_t len = strlen(name), lo = 0, hi = r->ntensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct cnnz_tensor_info *ti = &r->tensors[r->by_name[mid]].info;
        size_t m = ti->name_len < len ? ti->name_len : len;
        int c = memcmp(ti->name, name, m);
        if (c == 0)
            c = ti->name_len < len ? -1 : ti->name_len > len;
        if (c == 0) {
            *index = r->by_name[mid];
            return CNNZ_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return CNNZ_E_NOTFOUND;
}

size_t cnnz_reader_section_count(const cnnz_reader *r)
{
    return r ? r->nsections : 0;
}

int cnnz_reader_section_info(const cnnz_reader *r, size_t index, struct cnnz_section_info *info)
{
    if (!r || !info)
        return CNNZ_E_ARG;
    if (index >= r->nsections)
        return CNNZ_E_NOTFOUND;
    const struct cnnz__section *s = &r->sections[index];
    for (int i = 0; i < 4; i++) {
        char ch = (char)(s->tag >> (8 * i));
        info->tag[i] = ch >= 0x20 && ch < 0x7F ? ch : '?';
    }
    info->tag[4] = '\0';
    info->critical = (int)(s->flags & CNNZ__SECTION_FLAG_CRITICAL);
    info->known = s->tag == CNNZ__TAG_TDAT || s->tag == CNNZ__TAG_META;
    info->offset = s->offset;
    info->body_bytes = s->body_length;
    info->first_tensor = s->first;
    info->tensor_count = s->count;
    return CNNZ_OK;
}

/* ------------------------------------------------------------ decoding */

/* The decoded bytes of every stream of a tensor (spec 9.2 steps 1-3). Views
 * into the file where possible; otherwise buffers freed by streams_release. */
struct decoded {
    const uint8_t *data[256];
    uint64_t len[256];
    uint8_t *owned[256];
    struct cnnz__streams view; /* what rebuild takes */
};

static void streams_release(const cnnz_reader *r, struct decoded *d, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        cnnz__free(&r->a, d->owned[k]);
        d->owned[k] = NULL;
    }
}

/* The coded bytes of stream k of a tensor: in the file image, or read into
 * buf (coded_bytes of room) when the reader reads with pread. */
static int stream_bytes(const cnnz_reader *r, size_t index, unsigned k, uint8_t *buf,
                        const uint8_t **coded, struct cnnz_where *w)
{
    const struct cnnz_stream_info *s = &r->tensors[index].info.streams[k];
    if (r->src.mem) {
        *coded = r->src.mem + s->offset;
        return CNNZ_OK;
    }
    int err = cnnz__source_read(&r->src, s->offset, buf, (size_t)s->coded_bytes);
    if (err)
        return cnnz__fail(w, err, "stream", (int64_t)index, (int32_t)k, (int64_t)s->offset);
    *coded = buf;
    return CNNZ_OK;
}

static int streams_decode(const cnnz_reader *r, size_t index, unsigned only,
                          struct decoded *d, struct cnnz_where *w)
{
    const struct cnnz__tensor *tn = &r->tensors[index];
    const struct cnnz_tensor_info *ti = &tn->info;
    int64_t t = (int64_t)index;
    memset(d->owned, 0, sizeof d->owned);
    d->view.data = d->data;
    d->view.len = d->len;
    for (unsigned k = 0; k < ti->stream_count; k++) {
        d->data[k] = NULL;
        d->len[k] = ti->streams[k].decoded_bytes;
    }
    int err = cnnz__tdat_check(r, tn->section, w, t); /* once per section and reader */
    if (err)
        return err;
    for (unsigned k = 0; k < ti->stream_count; k++) {
        if (only < ti->stream_count && k != only)
            continue;
        const struct cnnz_stream_info *s = &ti->streams[k];
        const struct cnnz__coder *cd = cnnz__coder_get((unsigned)s->coder);
        const uint8_t *coded;
        uint8_t *coded_buf = NULL;
        if (!r->src.mem && !(coded_buf = cnnz__malloc(&r->a, (size_t)s->coded_bytes)))
            return cnnz__fail(w, CNNZ_E_NOMEM, "stream", t, (int32_t)k, -1);
        if ((err = stream_bytes(r, index, k, coded_buf, &coded, w))) {
            cnnz__free(&r->a, coded_buf);
            return err;
        }
        if (cd->identity) {
            d->data[k] = coded;
            d->owned[k] = coded_buf;
            continue;
        }
        uint8_t *out = cnnz__malloc(&r->a, (size_t)s->decoded_bytes);
        if (!out) {
            cnnz__free(&r->a, coded_buf);
            return cnnz__fail(w, CNNZ_E_NOMEM, "stream", t, (int32_t)k, -1);
        }
        err = cd->decode(&r->a, (unsigned)s->coder_version, r->sparams[ti->streams - r->streams + k].params,
                         r->sparams[ti->streams - r->streams + k].len, coded,
                         (size_t)s->coded_bytes, out, (size_t)s->decoded_bytes);
        cnnz__free(&r->a, coded_buf);
        d->data[k] = out;
        d->owned[k] = out;
        if (err)
            return cnnz__fail(w, err, "stream", t, (int32_t)k, (int64_t)s->offset);
    }
    return CNNZ_OK;
}

int cnnz__coded_open(const cnnz_reader *r, size_t index, struct cnnz__coded *c,
                     struct cnnz_where *w)
{
    const struct cnnz__tensor *tn = &r->tensors[index];
    const struct cnnz_tensor_info *ti = &tn->info;
    c->owned = NULL;
    int err = cnnz__tdat_check(r, tn->section, w, (int64_t)index);
    if (err)
        return err;
    if (!r->src.mem) { /* the tensor's streams, back to back in one buffer */
        uint64_t total = 0;
        for (unsigned k = 0; k < ti->stream_count; k++)
            total += ti->streams[k].coded_bytes; /* within the file: no overflow */
        if (total > SIZE_MAX || !(c->owned = cnnz__malloc(&r->a, (size_t)total)))
            return cnnz__fail(w, CNNZ_E_NOMEM, "tensor", (int64_t)index, -1, -1);
    }
    uint8_t *buf = c->owned;
    for (unsigned k = 0; k < ti->stream_count; k++) {
        const struct cnnz__stream_params *sp = &r->sparams[ti->streams - r->streams + k];
        if ((err = stream_bytes(r, index, k, buf, &c->src[k], w))) {
            cnnz__coded_close(r, c);
            return err;
        }
        if (buf)
            buf += ti->streams[k].coded_bytes;
        c->params[k] = sp->params;
        c->params_len[k] = sp->len;
        c->coder[k] = cnnz__coder_get((unsigned)ti->streams[k].coder);
    }
    return CNNZ_OK;
}

void cnnz__coded_close(const cnnz_reader *r, struct cnnz__coded *c)
{
    cnnz__free(&r->a, c->owned);
    c->owned = NULL;
}

int cnnz_reader_decode(const cnnz_reader *r, size_t index, void *dst, size_t dst_size,
                       struct cnnz_where *w)
{
    if (!r || (!dst && dst_size))
        return cnnz__fail(w, CNNZ_E_ARG, "argument", -1, -1, -1);
    if (index >= r->ntensors)
        return cnnz__fail(w, CNNZ_E_NOTFOUND, "argument", -1, -1, -1);
    const struct cnnz_tensor_info *ti = &r->tensors[index].info;
    if (dst_size < ti->decoded_bytes)
        return cnnz__fail(w, CNNZ_E_BUFFER, "argument", (int64_t)index, -1, -1);
    struct decoded d;
    int err = streams_decode(r, index, UINT32_MAX, &d, w);
    if (!err) {
        err = cnnz__repr_get((unsigned)ti->repr)->rebuild(ti, &d.view, NULL, 0, (size_t)ti->elements,
                                                          dst);
        if (err)
            cnnz__fail(w, err, "tensor", (int64_t)index, -1, -1);
    }
    streams_release(r, &d, ti->stream_count);
    if (!err && cnnz__sum_bad(XXH64(dst, (size_t)ti->decoded_bytes, 0), ti->decoded_xxh64))
        err = cnnz__fail(w, CNNZ_E_CHECKSUM, "tensor", (int64_t)index, -1, -1);
    return err;
}

int cnnz_reader_view(const cnnz_reader *r, size_t index, const void **data, struct cnnz_where *w)
{
    if (!r || !data)
        return cnnz__fail(w, CNNZ_E_ARG, "argument", -1, -1, -1);
    if (index >= r->ntensors)
        return cnnz__fail(w, CNNZ_E_NOTFOUND, "argument", -1, -1, -1);
    const struct cnnz_tensor_info *ti = &r->tensors[index].info;
    if (!r->src.mem || ti->repr != CNNZ_REPR_PLAIN ||
        !cnnz__coder_get((unsigned)ti->streams[0].coder)->identity)
        return cnnz__fail(w, CNNZ_E_UNSUPPORTED, "tensor", (int64_t)index, -1, -1);
    struct decoded d;
    int err = streams_decode(r, index, UINT32_MAX, &d, w);
    for (uint64_t i = 0; !err && ti->dtype == CNNZ_DT_BOOL && i < ti->elements; i++)
        if (d.data[0][i] > 1) /* spec 6.2, as the plain rebuild checks */
            err = cnnz__fail(w, CNNZ_E_CORRUPT, "tensor", (int64_t)index, -1, -1);
    streams_release(r, &d, ti->stream_count);
    if (!err && cnnz__sum_bad(XXH64(d.data[0], (size_t)ti->decoded_bytes, 0), ti->decoded_xxh64))
        err = cnnz__fail(w, CNNZ_E_CHECKSUM, "tensor", (int64_t)index, -1, -1);
    if (!err)
        *data = d.data[0];
    return err;
}

int cnnz_reader_decode_stream(const cnnz_reader *r, size_t index, unsigned stream, void *dst,
                              size_t dst_size, struct cnnz_where *w)
{
    if (!r || (!dst && dst_size))
        return cnnz__fail(w, CNNZ_E_ARG, "argument", -1, -1, -1);
    if (index >= r->ntensors || stream >= r->tensors[index].info.stream_count)
        return cnnz__fail(w, CNNZ_E_NOTFOUND, "argument", -1, -1, -1);
    const struct cnnz_stream_info *s = &r->tensors[index].info.streams[stream];
    if (dst_size < s->decoded_bytes)
        return cnnz__fail(w, CNNZ_E_BUFFER, "argument", (int64_t)index, (int32_t)stream, -1);
    struct decoded d;
    int err = streams_decode(r, index, stream, &d, w);
    if (!err && s->decoded_bytes)
        memcpy(dst, d.data[stream], (size_t)s->decoded_bytes);
    streams_release(r, &d, r->tensors[index].info.stream_count);
    return err;
}

int cnnz_reader_decode_indices(const cnnz_reader *r, size_t index, void *dst, size_t dst_size,
                               struct cnnz_where *w)
{
    if (!r || (!dst && dst_size))
        return cnnz__fail(w, CNNZ_E_ARG, "argument", -1, -1, -1);
    if (index >= r->ntensors)
        return cnnz__fail(w, CNNZ_E_NOTFOUND, "argument", -1, -1, -1);
    const struct cnnz_tensor_info *ti = &r->tensors[index].info;
    const int64_t t = (int64_t)index;
    if (ti->repr != CNNZ_REPR_HAM && ti->repr != CNNZ_REPR_SHAM)
        return cnnz__fail(w, CNNZ_E_UNSUPPORTED, "tensor", t, -1, -1);
    const size_t ss = cnnz_dtype_size(ti->symbol_dtype), es = cnnz_dtype_size(ti->dtype);
    const size_t n = (size_t)ti->elements; /* elements * es <= SIZE_MAX, checked at open */
    if (dst_size / ss < n)
        return cnnz__fail(w, CNNZ_E_BUFFER, "argument", t, -1, -1);
    struct decoded d;
    int err = streams_decode(r, index, UINT32_MAX, &d, w);
    uint8_t *out = dst;
    if (!err && ti->repr == CNNZ_REPR_HAM) {
        if (n)
            memcpy(out, d.data[1], n * ss);
    } else if (!err) {
        /* the first all-zero entry stands for the unstored elements */
        uint32_t z = cnnz__codebook_first_zero(ti, d.data[0]);
        if (z == ti->codebook_size)
            err = cnnz__fail(w, CNNZ_E_UNSUPPORTED, "tensor", t, -1, -1);
        for (size_t i = 0; !err && i < n; i++) {
            if (ss == 1)
                out[i] = (uint8_t)z;
            else
                cnnz__put16(out + 2 * i, (uint16_t)z);
        }
        if (!err && (err = cnnz__sham_indices(ti, &d.view, out)))
            cnnz__fail(w, err, "tensor", t, -1, -1);
    }
    /* The decoded checksum, over codebook[index] rebuilt in chunks. */
    XXH64_state_t st;
    XXH64_reset(&st, 0);
    uint64_t chunk[4096];
    const size_t per = sizeof chunk / es;
    for (size_t first = 0; !err && first < n; first += per) {
        size_t k = n - first < per ? n - first : per;
        for (size_t i = 0; i < k && !err; i++) {
            unsigned q = ss == 1 ? out[first + i] : cnnz__le16(out + 2 * (first + i));
            if (q >= ti->codebook_size ||
                (ti->dtype == CNNZ_DT_BOOL && d.data[0][q] > 1)) /* as the rebuild rejects */
                err = cnnz__fail(w, CNNZ_E_CORRUPT, "tensor", t, -1, -1);
            else
                memcpy((uint8_t *)chunk + i * es, d.data[0] + (size_t)q * es, es);
        }
        if (!err)
            XXH64_update(&st, chunk, k * es);
    }
    streams_release(r, &d, ti->stream_count);
    if (!err && cnnz__sum_bad(XXH64_digest(&st), ti->decoded_xxh64))
        err = cnnz__fail(w, CNNZ_E_CHECKSUM, "tensor", t, -1, -1);
    return err;
}

/* Verify one tensor without a tensor-sized output buffer: rebuild in chunks
 * and hash them as they come. */
static int verify_tensor(const cnnz_reader *r, size_t index, struct cnnz_where *w)
{
    const struct cnnz_tensor_info *ti = &r->tensors[index].info;
    const struct cnnz__repr *rep = cnnz__repr_get((unsigned)ti->repr);
    struct decoded d;
    int err = streams_decode(r, index, UINT32_MAX, &d, w);
    if (err) {
        streams_release(r, &d, ti->stream_count);
        return err;
    }
    uint64_t chunk[8192];
    size_t es = cnnz_dtype_size(ti->dtype), per = sizeof chunk / es;
    struct cnnz__cursor cur = {0};
    XXH64_state_t st;
    XXH64_reset(&st, 0);
    for (uint64_t first = 0; first < ti->elements && !err; first += per) {
        size_t n = ti->elements - first < per ? (size_t)(ti->elements - first) : per;
        err = rep->rebuild(ti, &d.view, &cur, first, n, (uint8_t *)chunk);
        if (err)
            cnnz__fail(w, err, "tensor", (int64_t)index, -1, -1);
        else
            XXH64_update(&st, chunk, n * es);
    }
    streams_release(r, &d, ti->stream_count);
    if (!err && cnnz__sum_bad(XXH64_digest(&st), ti->decoded_xxh64))
        err = cnnz__fail(w, CNNZ_E_CHECKSUM, "tensor", (int64_t)index, -1, -1);
    return err;
}

/* A TDAT section once, then each tensor of its run. */
static int verify_section(const cnnz_reader *r, uint32_t index, struct cnnz_where *w)
{
    const struct cnnz__section *s = &r->sections[index];
    int err = cnnz__tdat_check(r, index, w, (int64_t)s->first);
    for (uint32_t t = s->first; !err && t < s->first + s->count; t++)
        err = verify_tensor(r, t, w);
    return err;
}

int cnnz_reader_verify(const cnnz_reader *r, struct cnnz_where *w)
{
    if (!r)
        return cnnz__fail(w, CNNZ_E_ARG, "argument", -1, -1, -1);
    /* File order, so the first fault reported is the first in the file. */
    for (uint32_t i = 0; i < r->nsections; i++) {
        const struct cnnz__section *s = &r->sections[i];
        int err = s->tag == CNNZ__TAG_TDAT ? verify_section(r, i, w)
                                           : cnnz__section_check(r, i, w, -1);
        if (err)
            return err;
    }
    return CNNZ_OK;
}

/* Parallel verify: threads take TDAT sections in file order; the results are
 * then read in file order, so the fault reported is the one verify reports. */
struct vjobs {
    const cnnz_reader *r;
    int *err;
    struct cnnz_where *where;
    pthread_mutex_t lock;
    uint32_t next;
};

static void *verify_worker(void *arg)
{
    struct vjobs *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        uint32_t i = j->next;
        while (i < j->r->nsections && j->r->sections[i].tag != CNNZ__TAG_TDAT)
            i++;
        j->next = i + 1;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->r->nsections)
            return NULL;
        j->err[i] = verify_section(j->r, i, &j->where[i]);
    }
}

int cnnz_reader_verify_mt(const cnnz_reader *r, unsigned threads, struct cnnz_where *w)
{
    if (!r)
        return cnnz__fail(w, CNNZ_E_ARG, "argument", -1, -1, -1);
    if (threads <= 1 || r->nsections < 2)
        return cnnz_reader_verify(r, w);
    struct vjobs j = {.r = r};
    j.err = cnnz__malloc_array(&r->a, r->nsections, sizeof *j.err);
    j.where = cnnz__malloc_array(&r->a, r->nsections, sizeof *j.where);
    int err = CNNZ_OK;
    if (!j.err || !j.where || pthread_mutex_init(&j.lock, NULL)) {
        err = cnnz__fail(w, CNNZ_E_NOMEM, "verify", -1, -1, -1);
    } else {
        memset(j.err, 0, r->nsections * sizeof *j.err);
        pthread_t tid[64];
        unsigned started = 0;
        for (; started + 1 < threads && started < 64; started++)
            if (pthread_create(&tid[started], NULL, verify_worker, &j))
                break;
        verify_worker(&j);
        for (unsigned t = 0; t < started; t++)
            pthread_join(tid[t], NULL);
        pthread_mutex_destroy(&j.lock);
        for (uint32_t i = 0; i < r->nsections && !err; i++) {
            const struct cnnz__section *s = &r->sections[i];
            if (s->tag == CNNZ__TAG_TDAT) {
                if ((err = j.err[i]) && w)
                    *w = j.where[i];
            } else {
                err = cnnz__section_check(r, i, w, -1);
            }
        }
    }
    cnnz__free(&r->a, j.err);
    cnnz__free(&r->a, j.where);
    return err;
}
