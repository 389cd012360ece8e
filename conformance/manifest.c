/* manifest.c - lines of conformance/manifest.tsv (columns in cf.h and
 * README.md). */
#include <string.h>

#include "cf.h"

void cf_name_escape(const uint8_t *name, size_t n, struct cf_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = name[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-') {
            cf_buf_u8(out, c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            cf_buf_put(out, e, 3);
        }
    }
    cf_buf_u8(out, 0);
    out->n--;
}

void cf_shape_text(unsigned rank, const uint64_t *dims, struct cf_buf *out)
{
    out->n = 0;
    cf_buf_u8(out, '[');
    for (unsigned i = 0; i < rank; i++) {
        char d[24];
        snprintf(d, sizeof d, "%s%llu", i ? "," : "", (unsigned long long)dims[i]);
        cf_buf_str(out, d);
    }
    cf_buf_str(out, "]");
    cf_buf_u8(out, 0);
    out->n--;
}

void cf_manifest_decode(FILE *m, const char *file, const char *tier, const struct cf_expect *t,
                        size_t nt, const char *features, const char *clause)
{
    if (!nt)
        fprintf(m, "%s\t%s\tdecode\t-\t-\t-\t-\t-\t-\t%s\t%s\n", file, tier, features, clause);
    struct cf_buf name = {0}, shape = {0};
    for (size_t i = 0; i < nt; i++) {
        char sha[65];
        cf_sha256_hex(t[i].data, t[i].size, sha);
        cf_name_escape(t[i].name, t[i].name_len, &name);
        cf_shape_text(t[i].rank, t[i].dims, &shape);
        fprintf(m, "%s\t%s\tdecode\t%zu\t%s\t%s\t%s\t%016llx\t%s\t%s\t%s\n", file, tier, i,
                (const char *)name.p, cnnz_dtype_name(t[i].dtype), (const char *)shape.p,
                (unsigned long long)cf_xxh64(t[i].data, t[i].size), sha, features, clause);
    }
    cf_buf_free(&name);
    cf_buf_free(&shape);
}

void cf_manifest_reject(FILE *m, const char *file, const char *tokens, const char *what,
                        const char *clause)
{
    fprintf(m, "%s\tinvalid\t%s\t-\t-\t-\t-\t-\t-\t%s\t%s\n", file, tokens, what, clause);
}
