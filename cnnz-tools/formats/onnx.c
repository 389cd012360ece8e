/* ONNX weight reader and writers (onnx.h), on protobuf-c code generated from
 * onnx.proto at build time (onnx.mk). Message and field names below are
 * those of onnx.proto (ModelProto.graph, TensorProto.raw_data, ...). */
/* realpath() is XSI: ask for it on top of the project's POSIX level. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif

#include "onnx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "onnx.pb-c.h"

/* Default budget for decoding: protobuf-c's structures take a few times the
 * wire size at most for real models (raw_data is copied once). */
#define ALLOC_SLACK (UINT64_C(256) << 20)
#define DEFAULT_EXTERNAL (UINT64_C(1) << 40)

/* Points of zero-sized tensors (never dereferenced). */
static const unsigned char empty_data[1];

static char *mut(const char *s)
{
    return (char *)(uintptr_t)s; /* protobuf-c fields are char *; packing only reads */
}

static int str_ok(const char *s)
{
    return fmt_utf8_ok((const unsigned char *)s, strlen(s));
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

/* -------------------------------------------------- counting allocator */

/* Every block carries its size in front, so free can give it back. */
#define BLOCK_HDR (_Alignof(max_align_t) > sizeof(size_t) ? _Alignof(max_align_t) : sizeof(size_t))

struct budget {
    uint64_t left;
    int over; /* an allocation was refused for the limit */
};

static void *budget_alloc(void *opaque, size_t size)
{
    struct budget *b = opaque;
    if (size > SIZE_MAX - BLOCK_HDR || (uint64_t)size + BLOCK_HDR > b->left) {
        b->over = 1;
        return NULL;
    }
    unsigned char *p = malloc(size + BLOCK_HDR);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    b->left -= size + BLOCK_HDR;
    return p + BLOCK_HDR;
}

static void budget_free(void *opaque, void *ptr)
{
    struct budget *b = opaque;
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - BLOCK_HDR;
    size_t size;
    memcpy(&size, p, sizeof size);
    b->left += size + BLOCK_HDR;
    free(p);
}

/* ------------------------------------------------ wire-format pre-pass */

/* protobuf encoding: varint keys (field << 3 | wire type); wire types 0
 * varint, 1 fixed64, 2 length-delimited, 5 fixed32; 3/4 are groups, which
 * onnx.proto does not use. */
static int get_varint(const uint8_t *p, size_t n, size_t *at, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*at >= n)
            return 0;
        uint8_t b = p[(*at)++];
        if (i == 9 && b > 1)
            return 0;
        r |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return 1;
        }
    }
    return 0;
}

static int wire_walk(const uint8_t *p, size_t n, const ProtobufCMessageDescriptor *d,
                     unsigned depth, char *err, size_t err_size)
{
    if (depth > ONNX_MAX_DEPTH)
        return fmt_fail(err, err_size, FMT_E_UNSUPPORTED,
                        "messages nest deeper than %u levels", ONNX_MAX_DEPTH);
    size_t at = 0;
    while (at < n) {
        uint64_t key, v;
        size_t start = at;
        if (!get_varint(p, n, &at, &key))
            return fmt_fail(err, err_size, FMT_E_INVALID, "%s: truncated field key", d->short_name);
        uint64_t field = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (field == 0 || field > 0x1FFFFFFF)
            return fmt_fail(err, err_size, FMT_E_INVALID, "%s: invalid field number %llu",
                            d->short_name, (unsigned long long)field);
        switch (wt) {
        case 0:
            if (!get_varint(p, n, &at, &v))
                return fmt_fail(err, err_size, FMT_E_INVALID, "%s: truncated varint",
                                d->short_name);
            break;
        case 1:
        case 5: {
            size_t w = wt == 1 ? 8 : 4;
            if (n - at < w)
                return fmt_fail(err, err_size, FMT_E_INVALID, "%s: truncated fixed-size field",
                                d->short_name);
            at += w;
            break;
        }
        case 2: {
            if (!get_varint(p, n, &at, &v) || v > n - at)
                return fmt_fail(err, err_size, FMT_E_INVALID,
                                "%s: length of field %llu runs past its message", d->short_name,
                                (unsigned long long)field);
            const ProtobufCFieldDescriptor *fd =
                protobuf_c_message_descriptor_get_field(d, (unsigned)field);
            if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                int rc = wire_walk(p + at, (size_t)v, fd->descriptor, depth + 1, err, err_size);
                if (rc != FMT_OK)
                    return rc;
            } else if (fd && fd->type == PROTOBUF_C_TYPE_STRING && memchr(p + at, 0, (size_t)v)) {
                return fmt_fail(err, err_size, FMT_E_INVALID, "%s.%s: string holds a NUL byte",
                                d->short_name, fd->name);
            }
            at += (size_t)v;
            break;
        }
        default:
            return fmt_fail(err, err_size, FMT_E_INVALID, "%s: wire type %u at byte %zu",
                            d->short_name, wt, start);
        }
    }
    return FMT_OK;
}

/* ------------------------------------------------------------ decoding */

struct impl {
    struct onnx_model pub; /* first */
    struct budget bud;
    ProtobufCAllocator alloc;
    Onnx__ModelProto *proto;
    unsigned char **owned;
    size_t owned_count;
    struct {
        void *p;
        size_t n;
    } *maps; /* external data files, mapped */
    size_t map_count;
};

static int decode_model(const void *buf, size_t size, const struct onnx_options *opts,
                        struct impl *im, char *err, size_t err_size)
{
    uint64_t max = ONNX_MAX_MODEL_BYTES;
    if (opts && opts->max_model_bytes != 0 && opts->max_model_bytes < max)
        max = opts->max_model_bytes;
    if (size > max)
        return fmt_fail(err, err_size, FMT_E_UNSUPPORTED,
                        "%zu bytes: above the model size limit of %llu", size,
                        (unsigned long long)max);
    uint64_t budget = (uint64_t)size * 4 + ALLOC_SLACK;
    if (opts && opts->max_alloc_bytes != 0 && opts->max_alloc_bytes < budget)
        budget = opts->max_alloc_bytes;
    im->bud.left = budget;
    im->alloc.alloc = budget_alloc;
    im->alloc.free = budget_free;
    im->alloc.allocator_data = &im->bud;
    int rc = wire_walk(buf, size, &onnx__model_proto__descriptor, 0, err, err_size);
    if (rc != FMT_OK)
        return rc;
    im->proto = onnx__model_proto__unpack(&im->alloc, size, buf);
    if (!im->proto) {
        if (im->bud.over)
            return fmt_fail(err, err_size, FMT_E_UNSUPPORTED,
                            "decoding needs more memory than the limit of %llu bytes",
                            (unsigned long long)budget);
        return fmt_fail(err, err_size, FMT_E_INVALID, "not a valid ONNX ModelProto");
    }
    if (!im->proto->graph)
        return fmt_fail(err, err_size, FMT_E_INVALID, "model has no graph");
    return FMT_OK;
}

/* A tensor source: a TensorProto, or a Constant's value_* attribute. */
enum cand_kind { K_TENSOR, K_FLOAT, K_FLOATS, K_INT, K_INTS, K_UNSUP };

struct cand {
    const char *name;
    int source;
    int kind;
    Onnx__TensorProto *tp;    /* K_TENSOR */
    Onnx__AttributeProto *at; /* value_* */
    const char *unsup;        /* K_UNSUP: why */
};

/* Constant's attributes that hold its value (onnx Operators.md, Constant-13). */
static int is_value_attr(const char *name)
{
    static const char *const names[] = {"value",        "value_float",  "value_floats",
                                        "value_int",    "value_ints",   "value_string",
                                        "value_strings", "sparse_value"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

static int is_constant(const Onnx__NodeProto *nd)
{
    return nd->op_type && strcmp(nd->op_type, "Constant") == 0 &&
           (!nd->domain || nd->domain[0] == '\0' || strcmp(nd->domain, "ai.onnx") == 0);
}

/* Gather what may yield a tensor (see onnx.h for the order). */
static int collect(Onnx__GraphProto *g, struct cand **out, size_t *count, char *err, size_t err_size)
{
    size_t cap = g->n_initializer + g->n_sparse_initializer;
    for (size_t i = 0; i < g->n_node; i++)
        cap += is_constant(g->node[i]);
    struct cand *c = calloc(cap ? cap : 1, sizeof *c);
    if (!c)
        return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < g->n_initializer; i++) {
        c[n].name = g->initializer[i]->name ? g->initializer[i]->name : "";
        c[n].source = ONNX_SRC_INITIALIZER;
        c[n].kind = K_TENSOR;
        c[n].tp = g->initializer[i];
        n++;
    }
    for (size_t i = 0; i < g->n_sparse_initializer; i++) {
        const Onnx__SparseTensorProto *s = g->sparse_initializer[i];
        c[n].name = s->values && s->values->name ? s->values->name : "";
        c[n].source = ONNX_SRC_INITIALIZER;
        c[n].kind = K_UNSUP;
        c[n].unsup = "sparse initializer";
        n++;
    }
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *nd = g->node[i];
        if (!is_constant(nd))
            continue;
        struct cand *x = &c[n++];
        x->source = ONNX_SRC_CONSTANT;
        x->name = nd->n_output > 0 && nd->output[0] ? nd->output[0] : "";
        Onnx__AttributeProto *a = NULL;
        for (size_t k = 0; k < nd->n_attribute; k++) {
            Onnx__AttributeProto *ak = nd->attribute[k];
            if (ak->name && is_value_attr(ak->name)) {
                if (a) {
                    free(c);
                    return fmt_fail(err, err_size, FMT_E_INVALID,
                                    "Constant node '%s' has more than one value attribute",
                                    nd->name ? nd->name : "");
                }
                a = ak;
            }
        }
        if (!a) {
            char q[96];
            fmt_fail(err, err_size, FMT_E_INVALID, "Constant node for '%s' has no value",
                     fmt_quote(q, sizeof q, x->name, strlen(x->name), 64));
            free(c);
            return FMT_E_INVALID;
        }
        x->at = a;
        const char *an = a->name;
        if (strcmp(an, "value") == 0 && a->t) {
            x->kind = K_TENSOR;
            x->tp = a->t;
            if (x->name[0] == '\0' && a->t->name)
                x->name = a->t->name;
        } else if (strcmp(an, "value_float") == 0 && a->has_f) {
            x->kind = K_FLOAT;
        } else if (strcmp(an, "value_floats") == 0) {
            x->kind = K_FLOATS;
        } else if (strcmp(an, "value_int") == 0 && a->has_i) {
            x->kind = K_INT;
        } else if (strcmp(an, "value_ints") == 0) {
            x->kind = K_INTS;
        } else if (strcmp(an, "value_string") == 0 || strcmp(an, "value_strings") == 0 ||
                   strcmp(an, "sparse_value") == 0) {
            x->kind = K_UNSUP;
            x->unsup = an[6] == 's' ? "string constant" : "sparse constant";
        } else {
            char q[96];
            fmt_fail(err, err_size, FMT_E_INVALID,
                     "Constant node for '%s': attribute '%s' without its value",
                     fmt_quote(q, sizeof q, x->name, strlen(x->name), 64), an);
            free(c);
            return FMT_E_INVALID;
        }
    }
    *out = c;
    *count = n;
    return FMT_OK;
}

/* data_type -> cnnz dtype; 0 with *why set when unsupported. */
static int map_type(int32_t dt, const char **why)
{
    static const char *const names[] = {
        [ONNX_DT_STRING] = "STRING",          [ONNX_DT_COMPLEX64] = "COMPLEX64",
        [ONNX_DT_COMPLEX128] = "COMPLEX128",  [17] = "FLOAT8E4M3FN",
        [18] = "FLOAT8E4M3FNUZ",              [19] = "FLOAT8E5M2",
        [20] = "FLOAT8E5M2FNUZ",              [21] = "UINT4",
        [22] = "INT4",                        [23] = "FLOAT4E2M1",
    };
    *why = NULL;
    switch (dt) {
    case ONNX_DT_FLOAT: return CNNZ_DT_F32;
    case ONNX_DT_UINT8: return CNNZ_DT_U8;
    case ONNX_DT_INT8: return CNNZ_DT_I8;
    case ONNX_DT_UINT16: return CNNZ_DT_U16;
    case ONNX_DT_INT16: return CNNZ_DT_I16;
    case ONNX_DT_INT32: return CNNZ_DT_I32;
    case ONNX_DT_INT64: return CNNZ_DT_I64;
    case ONNX_DT_BOOL: return CNNZ_DT_BOOL;
    case ONNX_DT_FLOAT16: return CNNZ_DT_F16;
    case ONNX_DT_DOUBLE: return CNNZ_DT_F64;
    case ONNX_DT_UINT32: return CNNZ_DT_U32;
    case ONNX_DT_UINT64: return CNNZ_DT_U64;
    case ONNX_DT_BFLOAT16: return CNNZ_DT_BF16;
    default: break;
    }
    if (dt > 0 && (size_t)dt < sizeof names / sizeof names[0] && names[dt])
        *why = names[dt];
    else if (dt > 0)
        *why = "";
    return 0;
}

int onnx_data_type(int dtype)
{
    static const int map[] = {
        [CNNZ_DT_F32] = ONNX_DT_FLOAT,    [CNNZ_DT_F16] = ONNX_DT_FLOAT16,
        [CNNZ_DT_BF16] = ONNX_DT_BFLOAT16, [CNNZ_DT_F64] = ONNX_DT_DOUBLE,
        [CNNZ_DT_I8] = ONNX_DT_INT8,      [CNNZ_DT_U8] = ONNX_DT_UINT8,
        [CNNZ_DT_I16] = ONNX_DT_INT16,    [CNNZ_DT_U16] = ONNX_DT_UINT16,
        [CNNZ_DT_I32] = ONNX_DT_INT32,    [CNNZ_DT_U32] = ONNX_DT_UINT32,
        [CNNZ_DT_I64] = ONNX_DT_INT64,    [CNNZ_DT_U64] = ONNX_DT_UINT64,
        [CNNZ_DT_BOOL] = ONNX_DT_BOOL,
    };
    if (dtype <= 0 || (size_t)dtype >= sizeof map / sizeof map[0])
        return 0;
    return map[dtype];
}

/* What a parse is working with. */
struct ctx {
    struct impl *im;
    const struct onnx_options *opts;
    uint64_t ext_left;
    char *base_real; /* realpath of model_dir, once needed */
    char *err;
    size_t err_size;
    char q[96]; /* quoted name of the tensor at hand */
};

static unsigned char *own_alloc(struct ctx *c, uint64_t bytes)
{
    struct impl *im = c->im;
    if (bytes + BLOCK_HDR > im->bud.left || bytes >= SIZE_MAX) {
        im->bud.over = 1;
        return NULL;
    }
    unsigned char *p = malloc(bytes ? (size_t)bytes : 1);
    if (!p)
        return NULL;
    im->bud.left -= bytes + BLOCK_HDR;
    im->owned[im->owned_count++] = p;
    return p;
}

static int own_fail(struct ctx *c, uint64_t bytes)
{
    if (c->im->bud.over)
        return fmt_fail(c->err, c->err_size, FMT_E_UNSUPPORTED,
                        "tensor '%s': %llu bytes go over the memory limit", c->q,
                        (unsigned long long)bytes);
    return fmt_fail(c->err, c->err_size, FMT_E_NOMEM, "tensor '%s': out of memory", c->q);
}

static void put_le(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Typed fields -> packed little-endian bytes (onnx.proto TensorProto). */
static int convert_typed(struct ctx *c, const Onnx__TensorProto *tp, int dtype, uint64_t elements,
                         size_t esize, struct onnx_tensor *t)
{
    int32_t dt = tp->data_type;
    size_t have_f = tp->n_float_data, have_i32 = tp->n_int32_data, have_i64 = tp->n_int64_data;
    size_t have_d = tp->n_double_data, have_u64 = tp->n_uint64_data;
    size_t n; /* entries in the field that dt uses */
    if (dt == ONNX_DT_FLOAT)
        n = have_f, have_f = 0;
    else if (dt == ONNX_DT_DOUBLE)
        n = have_d, have_d = 0;
    else if (dt == ONNX_DT_INT64)
        n = have_i64, have_i64 = 0;
    else if (dt == ONNX_DT_UINT32 || dt == ONNX_DT_UINT64)
        n = have_u64, have_u64 = 0;
    else
        n = have_i32, have_i32 = 0;
    if (have_f || have_i32 || have_i64 || have_d || have_u64 || tp->n_string_data)
        return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                        "tensor '%s': data in a field that data_type %d does not use", c->q, dt);
    if (n != elements)
        return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                        "tensor '%s': %zu data entries, dims give %llu elements", c->q, n,
                        (unsigned long long)elements);
    uint64_t bytes = elements * esize; /* <= n * 8: no overflow */
    if (elements == 0) {
        t->data = empty_data;
        t->data_bytes = 0;
        return FMT_OK;
    }
    unsigned char *o = own_alloc(c, bytes);
    if (!o)
        return own_fail(c, bytes);
    int64_t lo = 0, hi = 0;
    switch (dtype) {
    case CNNZ_DT_U8: lo = 0, hi = 255; break;
    case CNNZ_DT_I8: lo = -128, hi = 127; break;
    case CNNZ_DT_BOOL: lo = 0, hi = 1; break;
    case CNNZ_DT_I16: lo = -32768, hi = 32767; break;
    case CNNZ_DT_U16:
    case CNNZ_DT_F16:
    case CNNZ_DT_BF16: lo = 0, hi = 65535; break;
    case CNNZ_DT_I32: lo = INT32_MIN, hi = INT32_MAX; break;
    default: break;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        switch (dt) {
        case ONNX_DT_FLOAT: {
            uint32_t u;
            memcpy(&u, &tp->float_data[i], 4);
            v = u;
            break;
        }
        case ONNX_DT_DOUBLE:
            memcpy(&v, &tp->double_data[i], 8);
            break;
        case ONNX_DT_INT64:
            v = (uint64_t)tp->int64_data[i];
            break;
        case ONNX_DT_UINT32:
        case ONNX_DT_UINT64:
            v = tp->uint64_data[i];
            if (dt == ONNX_DT_UINT32 && v > UINT32_MAX)
                return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                                "tensor '%s': uint64_data[%zu] = %llu does not fit UINT32", c->q,
                                i, (unsigned long long)v);
            break;
        default: {
            int32_t s = tp->int32_data[i];
            if (s < lo || s > hi)
                return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                                "tensor '%s': int32_data[%zu] = %ld is out of range for %s", c->q,
                                i, (long)s, cnnz_dtype_name(dtype));
            v = (uint64_t)(int64_t)s;
            break;
        }
        }
        put_le(o + i * esize, v, esize);
    }
    t->data = o;
    t->data_bytes = (size_t)bytes;
    return FMT_OK;
}

/* Decimal string -> u64 (digits only). */
static int parse_u64(const char *s, uint64_t *v)
{
    uint64_t r = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || r > (UINT64_MAX - 9) / 10)
            return 0;
        r = r * 10 + (uint64_t)(*s - '0');
    }
    *v = r;
    return 1;
}

/* external_data: read the tensor's bytes from a file in the model folder. */
static int read_external(struct ctx *c, const Onnx__TensorProto *tp, uint64_t bytes,
                         struct onnx_tensor *t)
{
    const char *loc = NULL, *soff = NULL, *slen = NULL;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        const char *k = e->key ? e->key : "", *v = e->value ? e->value : "";
        const char **slot = strcmp(k, "location") == 0 ? &loc
                            : strcmp(k, "offset") == 0 ? &soff
                            : strcmp(k, "length") == 0 ? &slen
                                                        : NULL;
        if (!slot)
            continue; /* "checksum" and others are not needed */
        if (*slot)
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                            "tensor '%s': external_data key '%s' given twice", c->q, k);
        *slot = v;
    }
    char ql[96];
    if (!loc || !*loc)
        return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                        "tensor '%s': external data without a location", c->q);
    const char *qloc = fmt_quote(ql, sizeof ql, loc, strlen(loc), 64);
    if (!c->opts || !c->opts->model_dir)
        return fmt_fail(c->err, c->err_size, FMT_E_UNSUPPORTED,
                        "tensor '%s': external data '%s' needs the model's folder", c->q, qloc);
    uint64_t off = 0, len = 0;
    if ((soff && !parse_u64(soff, &off)) || (slen && !parse_u64(slen, &len)))
        return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                        "tensor '%s': external data offset or length is not a decimal number",
                        c->q);
    /* The location must stay inside the model folder, by name and after
     * symlinks are resolved. */
    if (loc[0] == '/')
        return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                        "tensor '%s': external data location '%s' is absolute", c->q, qloc);
    for (const char *s = loc; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                            "tensor '%s': external data location '%s' has a '..' component", c->q,
                            qloc);
        s += n + (e != NULL);
    }
    if (!c->base_real) {
        c->base_real = realpath(c->opts->model_dir, NULL);
        if (!c->base_real)
            return fmt_fail(c->err, c->err_size, FMT_E_IO, "model folder: %s", strerror(errno));
    }
    size_t dl = strlen(c->opts->model_dir), ll = strlen(loc);
    char *path = malloc(dl + ll + 2);
    if (!path)
        return fmt_fail(c->err, c->err_size, FMT_E_NOMEM, "out of memory");
    memcpy(path, c->opts->model_dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, loc, ll + 1);
    char *real = realpath(path, NULL);
    int saved = errno;
    free(path);
    if (!real)
        return fmt_fail(c->err, c->err_size, FMT_E_IO, "tensor '%s': external data '%s': %s",
                        c->q, qloc, strerror(saved));
    size_t bl = strlen(c->base_real);
    while (bl > 0 && c->base_real[bl - 1] == '/')
        bl--;
    int inside = strncmp(real, c->base_real, bl) == 0 && real[bl] == '/' && real[bl + 1] != '\0';
    int rc = FMT_OK;
    int fd = -1;
    if (!inside) {
        rc = fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                      "tensor '%s': external data '%s' resolves outside the model folder", c->q,
                      qloc);
        goto out;
    }
    /* O_NONBLOCK: opening a FIFO must not hang; it is then refused below. */
    fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = fmt_fail(c->err, c->err_size, FMT_E_IO, "tensor '%s': external data '%s': %s", c->q,
                      qloc, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                      "tensor '%s': external data '%s' is not a regular file", c->q, qloc);
        goto out;
    }
    uint64_t fsize = (uint64_t)st.st_size;
    if (off > fsize || (slen && len > fsize - off)) {
        rc = fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                      "tensor '%s': external data range (offset %llu) is outside '%s' (%llu bytes)",
                      c->q, (unsigned long long)off, qloc, (unsigned long long)fsize);
        goto out;
    }
    if (!slen)
        len = fsize - off;
    if (len != bytes) {
        rc = fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                      "tensor '%s': external data holds %llu bytes, dims and data_type need %llu",
                      c->q, (unsigned long long)len, (unsigned long long)bytes);
        goto out;
    }
    if (len > c->ext_left) {
        rc = fmt_fail(c->err, c->err_size, FMT_E_UNSUPPORTED,
                      "tensor '%s': external data goes over the limit on bytes read", c->q);
        goto out;
    }
    c->ext_left -= len;
    if (len == 0) {
        t->data = empty_data;
        t->data_bytes = 0;
        goto out;
    }
    if (len >= SIZE_MAX || off > (uint64_t)INT64_MAX - len) {
        rc = fmt_fail(c->err, c->err_size, FMT_E_UNSUPPORTED, "tensor '%s': too large", c->q);
        goto out;
    }
    /* Mapped, not read: weights larger than memory are paged in as the
     * writer consumes them (an ONNX model past 2 GB keeps them here). */
    long page = sysconf(_SC_PAGESIZE);
    uint64_t base = off - off % (uint64_t)(page > 0 ? page : 4096);
    size_t maplen = (size_t)(off - base + len);
    void *map = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, (off_t)base);
    if (map == MAP_FAILED) {
        rc = fmt_fail(c->err, c->err_size, FMT_E_IO, "tensor '%s': mapping '%s': %s", c->q, qloc,
                      strerror(errno));
        goto out;
    }
    c->im->maps[c->im->map_count].p = map;
    c->im->maps[c->im->map_count++].n = maplen;
    const unsigned char *o = (const unsigned char *)map + (off - base);
    t->data = o;
    t->data_bytes = (size_t)len;
out:
    if (fd >= 0)
        close(fd);
    free(real);
    return rc;
}

/* Shape and dtype of a candidate; *why set (and FMT_OK) when unsupported. */
static int cand_shape(struct ctx *c, const struct cand *x, struct onnx_tensor *t, const char **why,
                      char *whybuf, size_t whysize)
{
    *why = NULL;
    t->name = x->name;
    t->name_len = strlen(x->name);
    t->source = x->source;
    fmt_quote(c->q, sizeof c->q, x->name, t->name_len, 64);
    if (t->name_len == 0)
        return fmt_fail(c->err, c->err_size, FMT_E_INVALID, "a %s has no name",
                        x->source == ONNX_SRC_INITIALIZER ? "graph initializer" : "Constant node");
    if (!fmt_utf8_ok((const unsigned char *)x->name, t->name_len))
        return fmt_fail(c->err, c->err_size, FMT_E_INVALID, "tensor '%s': name is not UTF-8",
                        c->q);
    if (x->kind == K_UNSUP) {
        *why = x->unsup;
        return FMT_OK;
    }
    if (t->name_len > CNNZ_MAX_NAME_BYTES) {
        *why = "name too long";
        return FMT_OK;
    }
    switch (x->kind) {
    case K_FLOAT:
    case K_INT:
        t->dtype = x->kind == K_FLOAT ? CNNZ_DT_F32 : CNNZ_DT_I64;
        t->rank = 0;
        t->elements = 1;
        return FMT_OK;
    case K_FLOATS:
    case K_INTS:
        t->dtype = x->kind == K_FLOATS ? CNNZ_DT_F32 : CNNZ_DT_I64;
        t->rank = 1;
        t->dims[0] = x->kind == K_FLOATS ? x->at->n_floats : x->at->n_ints;
        t->elements = t->dims[0];
        return FMT_OK;
    default:
        break;
    }
    const Onnx__TensorProto *tp = x->tp;
    uint64_t elements = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID, "tensor '%s': dims[%zu] = %lld",
                            c->q, i, (long long)tp->dims[i]);
        if (fmt_mul_u64(elements, (uint64_t)tp->dims[i], &elements))
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                            "tensor '%s': element count overflows 64 bits", c->q);
        if (i < CNNZ_MAX_RANK)
            t->dims[i] = (uint64_t)tp->dims[i];
    }
    t->elements = elements;
    t->rank = tp->n_dims > CNNZ_MAX_RANK ? CNNZ_MAX_RANK : (unsigned)tp->n_dims;
    const char *tn;
    t->dtype = map_type(tp->data_type, &tn);
    if (t->dtype == 0) {
        if (!tn)
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                            "tensor '%s': data_type %d is undefined", c->q, (int)tp->data_type);
        snprintf(whybuf, whysize, "data type %s%s%d", tn, *tn ? " = " : "", (int)tp->data_type);
        *why = whybuf;
        return FMT_OK;
    }
    uint64_t bytes;
    if (fmt_mul_u64(elements, cnnz_dtype_size(t->dtype), &bytes))
        return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                        "tensor '%s': byte size overflows 64 bits", c->q);
    if (tp->n_dims > CNNZ_MAX_RANK) {
        snprintf(whybuf, whysize, "rank %zu above %u", tp->n_dims, CNNZ_MAX_RANK);
        *why = whybuf;
    } else if (tp->segment) {
        *why = "segmented tensor";
    }
    return FMT_OK;
}

/* The data of a supported candidate whose shape is in t. */
static int cand_data(struct ctx *c, const struct cand *x, struct onnx_tensor *t)
{
    size_t esize = cnnz_dtype_size(t->dtype);
    uint64_t bytes = t->elements * esize; /* checked by cand_shape */
    if (x->kind != K_TENSOR) {
        const Onnx__AttributeProto *a = x->at;
        unsigned char *o = own_alloc(c, bytes);
        if (!o)
            return own_fail(c, bytes);
        for (uint64_t i = 0; i < t->elements; i++) {
            uint64_t v;
            if (x->kind == K_FLOAT || x->kind == K_FLOATS) {
                uint32_t u;
                memcpy(&u, x->kind == K_FLOAT ? &a->f : &a->floats[i], 4);
                v = u;
            } else {
                v = (uint64_t)(x->kind == K_INT ? a->i : a->ints[i]);
            }
            put_le(o + i * esize, v, esize);
        }
        t->data = o;
        t->data_bytes = (size_t)bytes;
        return FMT_OK;
    }
    const Onnx__TensorProto *tp = x->tp;
    int rc;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        if (tp->has_raw_data || tp->n_float_data || tp->n_int32_data || tp->n_int64_data ||
            tp->n_double_data || tp->n_uint64_data || tp->n_string_data)
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                            "tensor '%s': external data and inline data", c->q);
        rc = read_external(c, tp, bytes, t);
        if (rc != FMT_OK)
            return rc;
        t->external = 1;
    } else if (tp->has_raw_data) {
        if (tp->n_float_data || tp->n_int32_data || tp->n_int64_data || tp->n_double_data ||
            tp->n_uint64_data || tp->n_string_data)
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                            "tensor '%s': both raw_data and typed data", c->q);
        if (tp->raw_data.len != bytes)
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                            "tensor '%s': raw_data holds %zu bytes, dims and data_type need %llu",
                            c->q, tp->raw_data.len, (unsigned long long)bytes);
        t->data = bytes ? tp->raw_data.data : empty_data;
        t->data_bytes = (size_t)bytes;
    } else {
        rc = convert_typed(c, tp, t->dtype, t->elements, esize, t);
        if (rc != FMT_OK)
            return rc;
    }
    if (t->dtype == CNNZ_DT_BOOL)
        for (size_t i = 0; i < t->data_bytes; i++)
            if (t->data[i] > 1)
                return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                                "tensor '%s': bool element %zu is %u, not 0 or 1", c->q, i,
                                t->data[i]);
    return FMT_OK;
}

static int by_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* No two tensors (skipped ones included) may share a name. */
static int check_unique(struct ctx *c, const char **names, size_t n)
{
    qsort(names, n, sizeof *names, by_cstr);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(names[i - 1], names[i]) == 0 && names[i][0] != '\0') {
            char q[96];
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID, "duplicate tensor name '%s'",
                            fmt_quote(q, sizeof q, names[i], strlen(names[i]), 64));
        }
    }
    return FMT_OK;
}

void onnx_free(struct onnx_model *m)
{
    if (!m)
        return;
    struct impl *im = (struct impl *)m;
    for (size_t i = 0; i < m->count; i++)
        free((void *)(uintptr_t)m->tensors[i].name);
    for (size_t i = 0; i < m->skipped_count; i++) {
        free((void *)(uintptr_t)m->skipped[i].name);
        free((void *)(uintptr_t)m->skipped[i].reason);
    }
    for (size_t i = 0; i < m->opset_count; i++)
        free((void *)(uintptr_t)m->opsets[i].domain);
    for (size_t i = 0; i < m->meta_count; i++) {
        free((void *)(uintptr_t)m->meta[i].key);
        free((void *)(uintptr_t)m->meta[i].value);
    }
    free((void *)(uintptr_t)m->producer_name);
    free((void *)(uintptr_t)m->producer_version);
    free((void *)(uintptr_t)m->domain);
    free((void *)(uintptr_t)m->graph_name);
    free(m->tensors);
    free(m->skipped);
    free(m->opsets);
    free(m->meta);
    for (size_t i = 0; i < im->owned_count; i++)
        free(im->owned[i]);
    free(im->owned);
    for (size_t i = 0; i < im->map_count; i++)
        munmap(im->maps[i].p, im->maps[i].n);
    free(im->maps);
    if (im->proto)
        onnx__model_proto__free_unpacked(im->proto, &im->alloc);
    free(im);
}

/* ModelProto fields and metadata_props into the result. */
static int read_model_info(struct ctx *c, const Onnx__ModelProto *mp)
{
    struct onnx_model *m = &c->im->pub;
    const char *strs[4] = {mp->producer_name ? mp->producer_name : "",
                           mp->producer_version ? mp->producer_version : "",
                           mp->domain ? mp->domain : "",
                           mp->graph->name ? mp->graph->name : ""};
    for (int i = 0; i < 4; i++)
        if (!str_ok(strs[i]))
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                            "model producer, domain or graph name is not UTF-8");
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    m->model_version = mp->has_model_version ? mp->model_version : 0;
    m->producer_name = dup_str(strs[0]);
    m->producer_version = dup_str(strs[1]);
    m->domain = dup_str(strs[2]);
    m->graph_name = dup_str(strs[3]);
    m->opsets = calloc(mp->n_opset_import ? mp->n_opset_import : 1, sizeof *m->opsets);
    m->meta = calloc(mp->n_metadata_props ? mp->n_metadata_props : 1, sizeof *m->meta);
    if (!m->producer_name || !m->producer_version || !m->domain || !m->graph_name || !m->opsets ||
        !m->meta)
        return fmt_fail(c->err, c->err_size, FMT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        const char *d = o->domain ? o->domain : "";
        if (!str_ok(d))
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID, "opset domain is not UTF-8");
        m->opsets[i].domain = dup_str(d);
        m->opsets[i].version = o->has_version ? o->version : 0;
        m->opset_count++;
        if (!m->opsets[i].domain)
            return fmt_fail(c->err, c->err_size, FMT_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < mp->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = mp->metadata_props[i];
        const char *k = e->key ? e->key : "", *v = e->value ? e->value : "";
        if (!str_ok(k) || !str_ok(v))
            return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                            "metadata_props entry %zu is not UTF-8", i);
        m->meta[i].key = dup_str(k);
        m->meta[i].value = dup_str(v);
        m->meta_count++;
        if (!m->meta[i].key || !m->meta[i].value)
            return fmt_fail(c->err, c->err_size, FMT_E_NOMEM, "out of memory");
    }
    return FMT_OK;
}

static int parse_into(const void *buf, size_t size, const struct onnx_options *opts,
                      struct ctx *c)
{
    struct impl *im = c->im;
    struct onnx_model *m = &im->pub;
    int rc = decode_model(buf, size, opts, im, c->err, c->err_size);
    if (rc != FMT_OK)
        return rc;
    rc = read_model_info(c, im->proto);
    if (rc != FMT_OK)
        return rc;
    struct cand *cs = NULL;
    size_t n = 0;
    const char **names = NULL;
    rc = collect(im->proto->graph, &cs, &n, c->err, c->err_size);
    if (rc != FMT_OK)
        return rc;
    m->tensors = calloc(n ? n : 1, sizeof *m->tensors);
    m->skipped = calloc(n ? n : 1, sizeof *m->skipped);
    im->owned = calloc(n ? n : 1, sizeof *im->owned);
    im->maps = calloc(n ? n : 1, sizeof *im->maps);
    names = calloc(n ? n : 1, sizeof *names);
    if (!m->tensors || !m->skipped || !im->owned || !im->maps || !names) {
        rc = fmt_fail(c->err, c->err_size, FMT_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        names[i] = cs[i].name;
    rc = check_unique(c, names, n);
    if (rc != FMT_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct onnx_tensor *t = &m->tensors[m->count];
        const char *why;
        char whybuf[64];
        memset(t, 0, sizeof *t);
        rc = cand_shape(c, &cs[i], t, &why, whybuf, sizeof whybuf);
        if (rc != FMT_OK)
            goto out;
        if (why) {
            if (!(opts && opts->skip_unsupported)) {
                rc = fmt_fail(c->err, c->err_size, FMT_E_UNSUPPORTED, "tensor '%s': unsupported %s",
                              c->q, why);
                goto out;
            }
            struct onnx_skipped *s = &m->skipped[m->skipped_count];
            s->name = dup_str(cs[i].name);
            s->reason = dup_str(why);
            m->skipped_count++;
            if (!s->name || !s->reason) {
                rc = fmt_fail(c->err, c->err_size, FMT_E_NOMEM, "out of memory");
                goto out;
            }
            continue;
        }
        rc = cand_data(c, &cs[i], t);
        if (rc != FMT_OK)
            goto out;
        t->name = dup_str(cs[i].name);
        if (!t->name) {
            rc = fmt_fail(c->err, c->err_size, FMT_E_NOMEM, "out of memory");
            goto out;
        }
        m->count++;
    }
out:
    free(names);
    free(cs);
    return rc;
}

int onnx_parse(const void *buf, size_t size, const struct onnx_options *opts,
               struct onnx_model **out, char *err, size_t err_size)
{
    *out = NULL;
    struct impl *im = calloc(1, sizeof *im);
    if (!im)
        return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.im = im;
    c.opts = opts;
    c.ext_left = opts && opts->max_external_bytes ? opts->max_external_bytes : DEFAULT_EXTERNAL;
    c.err = err;
    c.err_size = err_size;
    int rc = parse_into(buf, size, opts, &c);
    free(c.base_real);
    if (rc != FMT_OK) {
        onnx_free(&im->pub);
        return rc;
    }
    *out = &im->pub;
    return FMT_OK;
}

/* -------------------------------------------------------------- writing */

struct sink {
    ProtobufCBuffer base; /* first: protobuf-c calls append with &base */
    onnx_write_fn write;
    void *opaque;
    int failed;
};

static void sink_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    struct sink *s = (struct sink *)b;
    if (!s->failed && len > 0 && s->write(s->opaque, data, len) != 0)
        s->failed = 1;
}

static int pack_out(const Onnx__ModelProto *m, onnx_write_fn write, void *opaque, char *err,
                    size_t err_size)
{
    size_t n = protobuf_c_message_get_packed_size(&m->base);
    if (n > ONNX_MAX_MODEL_BYTES)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "the model would take %zu bytes, above protobuf's 2 GiB limit", n);
    struct sink s;
    s.base.append = sink_append;
    s.write = write;
    s.opaque = opaque;
    s.failed = 0;
    protobuf_c_message_pack_to_buffer(&m->base, &s.base);
    if (s.failed)
        return fmt_fail(err, err_size, FMT_E_IO, "write failed");
    return FMT_OK;
}

/* Check a tensor given to a writer; *elements out. */
static int check_wtensor(const struct onnx_tensor *t, size_t idx, char *err, size_t err_size)
{
    char q[96];
    if (!t->name)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor %zu: no name", idx);
    size_t nl = t->name_len ? t->name_len : strlen(t->name);
    const char *qn = fmt_quote(q, sizeof q, t->name, nl, 64);
    if (nl == 0)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor %zu: empty name", idx);
    if (!fmt_utf8_ok((const unsigned char *)t->name, nl) || t->name[nl] != '\0')
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "tensor '%s': name is not NUL-terminated UTF-8 without NUL", qn);
    if (onnx_data_type(t->dtype) == 0)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': unknown dtype %d", qn,
                        t->dtype);
    if (t->rank > CNNZ_MAX_RANK)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': rank %u above %u", qn,
                        t->rank, CNNZ_MAX_RANK);
    uint64_t elements = 1, bytes;
    for (unsigned i = 0; i < t->rank; i++)
        if (t->dims[i] > (uint64_t)INT64_MAX || fmt_mul_u64(elements, t->dims[i], &elements))
            return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': dims overflow", qn);
    if (fmt_mul_u64(elements, cnnz_dtype_size(t->dtype), &bytes) || bytes != t->data_bytes)
        return fmt_fail(err, err_size, FMT_E_INVALID,
                        "tensor '%s': %zu data bytes, dims and dtype need %llu", qn, t->data_bytes,
                        (unsigned long long)bytes);
    if (t->data_bytes != 0 && t->data == NULL)
        return fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s': no data", qn);
    if (t->dtype == CNNZ_DT_BOOL)
        for (size_t k = 0; k < t->data_bytes; k++)
            if (t->data[k] > 1)
                return fmt_fail(err, err_size, FMT_E_INVALID,
                                "tensor '%s': bool element %zu is not 0 or 1", qn, k);
    return FMT_OK;
}

static int check_names_unique(const struct onnx_tensor *t, size_t count, char *err,
                              size_t err_size)
{
    const char **names = malloc((count ? count : 1) * sizeof *names);
    if (!names)
        return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        names[i] = t[i].name;
    qsort(names, count, sizeof *names, by_cstr);
    int rc = FMT_OK;
    for (size_t i = 1; i < count && rc == FMT_OK; i++) {
        if (strcmp(names[i - 1], names[i]) == 0) {
            char q[96];
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "duplicate tensor name '%s'",
                          fmt_quote(q, sizeof q, names[i], strlen(names[i]), 64));
        }
    }
    free(names);
    return rc;
}

/* Set tp's data to t's as raw_data (borrowed), dropping other data. */
static void set_raw(Onnx__TensorProto *tp, const struct onnx_tensor *t)
{
    tp->has_raw_data = 1;
    tp->raw_data.len = t->data_bytes;
    tp->raw_data.data = (uint8_t *)(uintptr_t)t->data;
    tp->n_float_data = tp->n_int32_data = tp->n_int64_data = 0;
    tp->n_double_data = tp->n_uint64_data = tp->n_string_data = 0;
    tp->n_external_data = 0;
    tp->has_data_location = 0;
    tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
}

int onnx_write_weights(const struct onnx_tensor *tensors, size_t count,
                       const struct onnx_meta *meta, size_t meta_count, onnx_write_fn write,
                       void *opaque, char *err, size_t err_size)
{
    if (count > CNNZ_MAX_TENSORS)
        return fmt_fail(err, err_size, FMT_E_INVALID, "%zu tensors: too many", count);
    if (meta_count > 0 && !meta)
        return fmt_fail(err, err_size, FMT_E_INVALID, "metadata count without entries");
    int rc;
    for (size_t i = 0; i < count; i++)
        if ((rc = check_wtensor(&tensors[i], i, err, err_size)) != FMT_OK)
            return rc;
    if ((rc = check_names_unique(tensors, count, err, err_size)) != FMT_OK)
        return rc;
    for (size_t i = 0; i < meta_count; i++)
        if (!meta[i].key || !meta[i].value || !str_ok(meta[i].key) || !str_ok(meta[i].value))
            return fmt_fail(err, err_size, FMT_E_INVALID, "metadata entry %zu is not UTF-8", i);

    size_t n1 = count ? count : 1;
    Onnx__TensorProto *tps = calloc(n1, sizeof *tps);
    Onnx__TensorProto **tpp = calloc(n1, sizeof *tpp);
    Onnx__ValueInfoProto *vis = calloc(n1, sizeof *vis);
    Onnx__ValueInfoProto **vip = calloc(n1, sizeof *vip);
    Onnx__TypeProto *tys = calloc(n1, sizeof *tys);
    Onnx__TypeProto__Tensor *tts = calloc(n1, sizeof *tts);
    Onnx__TensorShapeProto *shs = calloc(n1, sizeof *shs);
    Onnx__TensorShapeProto__Dimension *dms = calloc(n1 * CNNZ_MAX_RANK, sizeof *dms);
    Onnx__TensorShapeProto__Dimension **dmp = calloc(n1 * CNNZ_MAX_RANK, sizeof *dmp);
    int64_t *dims = calloc(n1 * CNNZ_MAX_RANK, sizeof *dims);
    size_t nm = meta_count ? meta_count : 1;
    Onnx__StringStringEntryProto *mps = calloc(nm, sizeof *mps);
    Onnx__StringStringEntryProto **mpp = calloc(nm, sizeof *mpp);
    if (!tps || !tpp || !vis || !vip || !tys || !tts || !shs || !dms || !dmp || !dims || !mps ||
        !mpp) {
        rc = fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        const struct onnx_tensor *t = &tensors[i];
        int64_t *d = dims + i * CNNZ_MAX_RANK;
        onnx__tensor_proto__init(&tps[i]);
        tps[i].name = mut(t->name);
        tps[i].has_data_type = 1;
        tps[i].data_type = onnx_data_type(t->dtype);
        tps[i].n_dims = t->rank;
        tps[i].dims = d;
        set_raw(&tps[i], t);
        tpp[i] = &tps[i];

        onnx__tensor_shape_proto__init(&shs[i]);
        shs[i].n_dim = t->rank;
        shs[i].dim = dmp + i * CNNZ_MAX_RANK;
        for (unsigned k = 0; k < t->rank; k++) {
            Onnx__TensorShapeProto__Dimension *dm = &dms[i * CNNZ_MAX_RANK + k];
            d[k] = (int64_t)t->dims[k];
            onnx__tensor_shape_proto__dimension__init(dm);
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dm->dim_value = d[k];
            shs[i].dim[k] = dm;
        }
        onnx__type_proto__tensor__init(&tts[i]);
        tts[i].has_elem_type = 1;
        tts[i].elem_type = tps[i].data_type;
        tts[i].shape = &shs[i];
        onnx__type_proto__init(&tys[i]);
        tys[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        tys[i].tensor_type = &tts[i];
        onnx__value_info_proto__init(&vis[i]);
        vis[i].name = mut(t->name);
        vis[i].type = &tys[i];
        vip[i] = &vis[i];
    }
    for (size_t i = 0; i < meta_count; i++) {
        onnx__string_string_entry_proto__init(&mps[i]);
        mps[i].key = mut(meta[i].key);
        mps[i].value = mut(meta[i].value);
        mpp[i] = &mps[i];
    }
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsetp = &opset;
    onnx__operator_set_id_proto__init(&opset);
    opset.domain = mut("");
    opset.has_version = 1;
    opset.version = 13;
    Onnx__GraphProto g;
    onnx__graph_proto__init(&g);
    g.name = mut("cnnz");
    g.n_initializer = count;
    g.initializer = tpp;
    g.n_output = count;
    g.output = vip;
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 7;
    m.n_opset_import = 1;
    m.opset_import = &opsetp;
    m.producer_name = mut("cnnz");
    m.producer_version = mut(CNNZ_LIB_VERSION_STRING);
    m.graph = &g;
    m.n_metadata_props = meta_count;
    m.metadata_props = mpp;
    rc = pack_out(&m, write, opaque, err, err_size);
out:
    free(tps);
    free(tpp);
    free(vis);
    free(vip);
    free(tys);
    free(tts);
    free(shs);
    free(dms);
    free(dmp);
    free(dims);
    free(mps);
    free(mpp);
    return rc;
}

/* A replaced TensorProto or AttributeProto and its original contents. */
struct saved {
    Onnx__TensorProto *tp;
    Onnx__TensorProto tp_orig;
    Onnx__AttributeProto *at;
    Onnx__AttributeProto at_orig;
    void *tmp; /* converted value_floats / value_ints */
};

static int by_cand_name(const void *a, const void *b)
{
    return strcmp(((const struct cand *)a)->name, ((const struct cand *)b)->name);
}

static int replace_one(struct ctx *c, struct cand *x, const struct onnx_tensor *t,
                       struct saved *s)
{
    struct onnx_tensor want;
    const char *why;
    char whybuf[64];
    memset(&want, 0, sizeof want);
    int rc = cand_shape(c, x, &want, &why, whybuf, sizeof whybuf);
    if (rc != FMT_OK)
        return rc;
    if (why)
        return fmt_fail(c->err, c->err_size, FMT_E_UNSUPPORTED,
                        "tensor '%s': cannot replace an unsupported %s", c->q, why);
    if (want.dtype != t->dtype || want.rank != t->rank ||
        memcmp(want.dims, t->dims, t->rank * sizeof t->dims[0]) != 0)
        return fmt_fail(c->err, c->err_size, FMT_E_INVALID,
                        "tensor '%s': dtype or dims differ from the model's", c->q);
    memset(s, 0, sizeof *s);
    if (x->kind == K_TENSOR) {
        s->tp = x->tp;
        s->tp_orig = *x->tp;
        set_raw(x->tp, t);
        return FMT_OK;
    }
    Onnx__AttributeProto *a = x->at;
    s->at = a;
    s->at_orig = *a;
    size_t n = (size_t)t->elements;
    if (x->kind == K_FLOAT) {
        memcpy(&a->f, t->data, 4);
    } else if (x->kind == K_INT) {
        memcpy(&a->i, t->data, 8);
    } else if (n > 0) {
        s->tmp = malloc(n * (x->kind == K_FLOATS ? sizeof(float) : sizeof(int64_t)));
        if (!s->tmp)
            return fmt_fail(c->err, c->err_size, FMT_E_NOMEM, "out of memory");
        memcpy(s->tmp, t->data, t->data_bytes); /* host is little-endian, as cnnz assumes */
        if (x->kind == K_FLOATS)
            a->floats = s->tmp;
        else
            a->ints = s->tmp;
    }
    return FMT_OK;
}

int onnx_write_replaced(const void *buf, size_t size, const struct onnx_options *opts,
                        const struct onnx_tensor *tensors, size_t count, onnx_write_fn write,
                        void *opaque, char *err, size_t err_size)
{
    int rc;
    for (size_t i = 0; i < count; i++)
        if ((rc = check_wtensor(&tensors[i], i, err, err_size)) != FMT_OK)
            return rc;
    if ((rc = check_names_unique(tensors, count, err, err_size)) != FMT_OK)
        return rc;
    struct impl *im = calloc(1, sizeof *im);
    if (!im)
        return fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.im = im;
    c.opts = opts;
    c.err = err;
    c.err_size = err_size;
    struct cand *cs = NULL;
    size_t n = 0, done = 0;
    struct saved *sv = calloc(count ? count : 1, sizeof *sv);
    if (!sv) {
        rc = fmt_fail(err, err_size, FMT_E_NOMEM, "out of memory");
        goto out;
    }
    rc = decode_model(buf, size, opts, im, err, err_size);
    if (rc != FMT_OK)
        goto out;
    rc = collect(im->proto->graph, &cs, &n, err, err_size);
    if (rc != FMT_OK)
        goto out;
    qsort(cs, n, sizeof *cs, by_cand_name);
    for (size_t i = 1; i < n; i++) {
        if (cs[i].name[0] && strcmp(cs[i - 1].name, cs[i].name) == 0) {
            char q[96];
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "duplicate tensor name '%s' in the model",
                          fmt_quote(q, sizeof q, cs[i].name, strlen(cs[i].name), 64));
            goto out;
        }
    }
    for (size_t i = 0; i < count; i++) {
        struct cand key;
        key.name = tensors[i].name;
        struct cand *x = bsearch(&key, cs, n, sizeof *cs, by_cand_name);
        if (!x) {
            char q[96];
            rc = fmt_fail(err, err_size, FMT_E_INVALID, "tensor '%s' is not in the model",
                          fmt_quote(q, sizeof q, key.name, strlen(key.name), 64));
            goto out;
        }
        rc = replace_one(&c, x, &tensors[i], &sv[done]);
        if (rc != FMT_OK)
            goto out;
        done++;
    }
    rc = pack_out(im->proto, write, opaque, err, err_size);
out:
    /* Put the decoded model back as it was, so it frees what it owns. */
    while (done > 0) {
        struct saved *s = &sv[--done];
        if (s->tp)
            *s->tp = s->tp_orig;
        if (s->at)
            *s->at = s->at_orig;
        free(s->tmp);
    }
    free(sv);
    free(cs);
    onnx_free(&im->pub);
    return rc;
}
