/* cnnz inspect: what a .cnnz file holds, from its header and directory only
 * (nothing is decoded). --json follows cnnz-tools/inspect-schema.md. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lossy.h"

static const char help[] =
    "usage: cnnz inspect IN.cnnz [--json]\n"
    "\n"
    "Lists each tensor's name, dtype, shape, representation, coders, coded bytes,\n"
    "bits per weight and ratio (decoded / coded bytes), then totals, metadata and\n"
    "sections. Reads only the header and directory. --json prints the same as\n"
    "JSON (schema \"cnnz-inspect/1\", see cnnz-tools/inspect-schema.md).\n";

static void shape_text(const struct cnnz_tensor_info *t, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (unsigned i = 0; i < t->rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%llu", i ? "," : "", (unsigned long long)t->dims[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

static double ratio(uint64_t dec, uint64_t coded)
{
    return coded ? (double)dec / (double)coded : 0.0;
}

static json_t *meta_json(const struct cnnz_meta *m)
{
    switch (m->type) {
    case CNNZ_META_STRING:
        return json_stringn(m->value, m->value_len);
    case CNNZ_META_INT:
        return json_integer(m->i);
    case CNNZ_META_FLOAT:
        return json_real(m->f);
    case CNNZ_META_BOOL:
        return json_boolean(m->i);
    default: {
        static const char hex[] = "0123456789abcdef";
        json_t *s;
        char *h = malloc(2 * m->value_len + 1);
        if (!h)
            return json_null();
        for (size_t i = 0; i < m->value_len; i++) {
            h[2 * i] = hex[((const unsigned char *)m->value)[i] >> 4];
            h[2 * i + 1] = hex[((const unsigned char *)m->value)[i] & 15];
        }
        h[2 * m->value_len] = 0;
        s = json_pack("{s:s}", "hex", h);
        free(h);
        return s;
    }
    }
}

static int print_json(const cnnz_reader *r, const char *path)
{
    unsigned ma, mi;
    cnnz_reader_version(r, &ma, &mi);
    json_t *root = json_object(), *ts = json_array(), *md = json_object(), *ss = json_array();
    uint64_t el = 0, dec = 0, coded = 0;
    for (size_t i = 0; i < cnnz_reader_tensor_count(r); i++) {
        struct cnnz_tensor_info t;
        cnnz_reader_tensor_info(r, i, &t);
        json_t *shape = json_array(), *streams = json_array();
        for (unsigned k = 0; k < t.rank; k++)
            json_array_append_new(shape, json_integer((json_int_t)t.dims[k]));
        for (unsigned k = 0; k < t.stream_count; k++) {
            const struct cnnz_stream_info *s = &t.streams[k];
            json_array_append_new(streams, json_pack("{s:s,s:s,s:i,s:I,s:I,s:I}", "role",
                                                     cnnz_role_name(s->role), "coder", cnnz_coder_name(s->coder),
                                                     "coder_version", s->coder_version, "offset", (json_int_t)s->offset,
                                                     "coded_bytes", (json_int_t)s->coded_bytes,
                                                     "decoded_bytes", (json_int_t)s->decoded_bytes));
        }
        json_t *o = json_pack("{s:s%,s:s,s:o,s:I,s:s,s:o,s:I,s:I,s:f,s:f}", "name", t.name, t.name_len,
                              "dtype", cnnz_dtype_name(t.dtype), "shape", shape, "elements",
                              (json_int_t)t.elements, "repr", cnnz_repr_name(t.repr), "streams", streams,
                              "decoded_bytes", (json_int_t)t.decoded_bytes, "coded_bytes",
                              (json_int_t)t.coded_bytes, "bits_per_weight",
                              t.elements ? 8.0 * (double)t.coded_bytes / (double)t.elements : 0.0,
                              "ratio", ratio(t.decoded_bytes, t.coded_bytes));
        if (t.repr == CNNZ_REPR_AFFINE)
            json_object_set_new(o, "affine", json_pack("{s:s,s:f,s:f}", "symbol_dtype",
                                                       cnnz_dtype_name(t.symbol_dtype), "scale", t.scale,
                                                       "offset", t.offset));
        else if (t.repr == CNNZ_REPR_WIDEN)
            json_object_set_new(o, "widen", json_pack("{s:s}", "stored_dtype", cnnz_dtype_name(t.symbol_dtype)));
        else if (t.repr == CNNZ_REPR_HAM)
            json_object_set_new(o, "ham", json_pack("{s:s,s:I}", "symbol_dtype", cnnz_dtype_name(t.symbol_dtype),
                                                    "codebook_size", (json_int_t)t.codebook_size));
        else if (t.repr == CNNZ_REPR_SHAM)
            json_object_set_new(o, "sham", json_pack("{s:s,s:I,s:I,s:I}", "symbol_dtype",
                                                     cnnz_dtype_name(t.symbol_dtype), "codebook_size",
                                                     (json_int_t)t.codebook_size, "block_rows",
                                                     (json_int_t)t.block_rows, "blocks",
                                                     (json_int_t)(t.stream_count - 1) / 2));
        json_array_append_new(ts, o);
        el += t.elements;
        dec += t.decoded_bytes;
        coded += t.coded_bytes;
    }
    for (size_t i = 0; i < cnnz_reader_meta_count(r); i++) {
        struct cnnz_meta m;
        cnnz_reader_meta_get(r, i, &m);
        json_object_set_new(md, m.key, meta_json(&m));
    }
    for (size_t i = 0; i < cnnz_reader_section_count(r); i++) {
        struct cnnz_section_info s;
        cnnz_reader_section_info(r, i, &s);
        json_array_append_new(ss, json_pack("{s:s,s:b,s:b,s:I,s:I}", "tag", s.tag, "critical", s.critical,
                                            "known", s.known, "offset", (json_int_t)s.offset, "body_bytes",
                                            (json_int_t)s.body_bytes));
    }
    uint64_t fsz = cnnz_reader_file_size(r);
    json_object_set_new(root, "schema", json_string("cnnz-inspect/1"));
    json_object_set_new(root, "file", json_string(path));
    json_object_set_new(root, "format_version", json_sprintf("%u.%u", ma, mi));
    json_object_set_new(root, "tensors", ts);
    json_object_set_new(root, "totals", json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "tensors",
                                                  (json_int_t)cnnz_reader_tensor_count(r), "elements", (json_int_t)el,
                                                  "decoded_bytes", (json_int_t)dec, "coded_bytes", (json_int_t)coded,
                                                  "file_bytes", (json_int_t)fsz, "ratio", ratio(dec, fsz)));
    json_object_set_new(root, "metadata", md);
    json_object_set_new(root, "sections", ss);
    int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0 ? EXIT_OK : EXIT_ERR;
    putchar('\n');
    json_decref(root);
    return rc;
}

/* The coders of a tensor's streams, each named once, in stream order. */
static void coders_text(const struct cnnz_tensor_info *t, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned k = 0; k < t->stream_count; k++) {
        int seen = 0;
        for (unsigned j = 0; j < k; j++)
            seen |= t->streams[j].coder == t->streams[k].coder;
        if (seen)
            continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? "+" : "", cnnz_coder_name(t->streams[k].coder));
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
}

/* The cnnz.quant table that `convert --quant` keeps (lossy.h): shown with
 * tensor names in place of indices. Lines that do not parse are shown as
 * they are. */
static void print_quant_table(const cnnz_reader *r, const char *text)
{
    printf("  %s (quantization report):\n", LOSSY_TABLE_KEY);
    printf("    %-40s %-6s %6s %9s %9s %10s %8s\n", "tensor", "method", "levels", "sparsity",
           "SQNR dB", "max err", "rel L2");
    const char *line = strchr(text, '\n'); /* after the header */
    while (line && *++line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[256], method[32];
        unsigned long long index;
        unsigned levels;
        double sp, sq, me, rl;
        struct cnnz_tensor_info t;
        if (len < sizeof buf) {
            memcpy(buf, line, len);
            buf[len] = '\0';
        }
        if (len < sizeof buf &&
            sscanf(buf, "%llu\t%31s\t%u\t%lf\t%lf\t%lf\t%lf", &index, method, &levels, &sp, &sq,
                   &me, &rl) == 7 &&
            cnnz_reader_tensor_info(r, (size_t)index, &t) == CNNZ_OK)
            printf("    %-40s %-6s %6u %8.1f%% %9.2f %10.4g %8.4f\n", t.name, method, levels,
                   100 * sp, sq, me, rl);
        else
            printf("    %.*s\n", (int)len, line);
        line = end;
    }
}

static void print_text(const cnnz_reader *r, const char *path)
{
    unsigned ma, mi;
    cnnz_reader_version(r, &ma, &mi);
    printf("%s: .cnnz format %u.%u, %zu tensors, %llu bytes\n\n", path, ma, mi,
           cnnz_reader_tensor_count(r), (unsigned long long)cnnz_reader_file_size(r));
    printf("%-40s %-5s %-18s %-12s %-14s %12s %7s %7s\n", "tensor", "dtype", "shape", "repr", "coders",
           "coded bytes", "bits/w", "ratio");
    uint64_t el = 0, dec = 0, coded = 0;
    for (size_t i = 0; i < cnnz_reader_tensor_count(r); i++) {
        struct cnnz_tensor_info t;
        cnnz_reader_tensor_info(r, i, &t);
        char shape[256], repr[48], coders[64];
        shape_text(&t, shape, sizeof shape);
        coders_text(&t, coders, sizeof coders);
        if (t.repr == CNNZ_REPR_AFFINE || t.repr == CNNZ_REPR_WIDEN)
            snprintf(repr, sizeof repr, "%s:%s", cnnz_repr_name(t.repr), cnnz_dtype_name(t.symbol_dtype));
        else if (t.repr == CNNZ_REPR_HAM || t.repr == CNNZ_REPR_SHAM)
            snprintf(repr, sizeof repr, "%s:%u", cnnz_repr_name(t.repr), (unsigned)t.codebook_size);
        else
            snprintf(repr, sizeof repr, "%s", cnnz_repr_name(t.repr));
        printf("%-40s %-5s %-18s %-12s %-14s %12llu %7.2f %7.2f\n", t.name, cnnz_dtype_name(t.dtype), shape,
               repr, coders, (unsigned long long)t.coded_bytes,
               t.elements ? 8.0 * (double)t.coded_bytes / (double)t.elements : 0.0,
               ratio(t.decoded_bytes, t.coded_bytes));
        el += t.elements;
        dec += t.decoded_bytes;
        coded += t.coded_bytes;
    }
    printf("\ntotal: %zu tensors, %llu elements, %llu decoded bytes, %llu coded bytes, file %llu bytes, "
           "ratio %.3f (decoded / file)\n",
           cnnz_reader_tensor_count(r), (unsigned long long)el, (unsigned long long)dec,
           (unsigned long long)coded, (unsigned long long)cnnz_reader_file_size(r),
           ratio(dec, cnnz_reader_file_size(r)));
    if (cnnz_reader_meta_count(r))
        printf("\nmetadata:\n");
    for (size_t i = 0; i < cnnz_reader_meta_count(r); i++) {
        struct cnnz_meta m;
        cnnz_reader_meta_get(r, i, &m);
        if (m.type == CNNZ_META_STRING && !strcmp(m.key, LOSSY_TABLE_KEY))
            print_quant_table(r, (const char *)m.value);
        else if (m.type == CNNZ_META_STRING)
            printf("  %s = %s\n", m.key, (const char *)m.value);
        else if (m.type == CNNZ_META_INT || m.type == CNNZ_META_BOOL)
            printf("  %s = %lld\n", m.key, (long long)m.i);
        else if (m.type == CNNZ_META_FLOAT)
            printf("  %s = %.17g\n", m.key, m.f);
        else
            printf("  %s = (%zu bytes)\n", m.key, m.value_len);
    }
}

int cmd_inspect(int argc, char **argv)
{
    const char *in = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if ((argv[i][0] == '-' && argv[i][1]) || in) {
            fputs(help, stderr);
            return EXIT_USAGE;
        } else {
            in = argv[i];
        }
    }
    if (!in) {
        fputs(help, stderr);
        return EXIT_USAGE;
    }
    cnnz_reader *r;
    if (cli_open(in, 0, &r))
        return EXIT_ERR;
    int rc = EXIT_OK;
    if (json)
        rc = print_json(r, in);
    else
        print_text(r, in);
    cnnz_reader_close(r);
    return rc;
}
