/* Error messages, stable tokens, and failure locations. */
#include <stdio.h>

#include "common.h"

const char *cnnz_strerror(int err)
{
    switch (err) {
#define CNNZ_X_MSG(name, value, msg) \
    case value:                      \
        return msg;
        CNNZ_ERROR_LIST(CNNZ_X_MSG)
#undef CNNZ_X_MSG
    default:
        return "unknown error";
    }
}

const char *cnnz_error_token(int err)
{
    switch (err) {
#define CNNZ_X_TOK(name, value, msg) \
    case value:                      \
        return "CNNZ_E_" #name;
        CNNZ_ERROR_LIST(CNNZ_X_TOK)
#undef CNNZ_X_TOK
    default:
        return "CNNZ_E_UNKNOWN";
    }
}

int cnnz__fail(struct cnnz_where *w, int err, const char *what, int64_t tensor, int32_t stream,
               int64_t offset)
{
    if (w) {
        w->err = err;
        w->what = what ? what : "file";
        w->tensor = tensor;
        w->stream = stream;
        w->offset = offset;
    }
    return err;
}

void cnnz_where_format(const cnnz_reader *r, const struct cnnz_where *w, char *buf, size_t size)
{
    if (!buf || size == 0)
        return;
    if (!w) {
        buf[0] = '\0';
        return;
    }
    size_t n = 0;
    int k;
#define APPEND(...)                                                   \
    do {                                                              \
        k = snprintf(buf + n, size - n, __VA_ARGS__);                 \
        if (k < 0 || (size_t)k >= size - n)                           \
            return; /* truncated: snprintf already NUL-terminated */ \
        n += (size_t)k;                                               \
    } while (0)
    if (w->tensor >= 0) {
        struct cnnz_tensor_info ti;
        if (r && cnnz_reader_tensor_info(r, (size_t)w->tensor, &ti) == CNNZ_OK)
            APPEND("tensor '%s'", ti.name);
        else
            APPEND("tensor %lld", (long long)w->tensor);
        if (w->stream >= 0) {
            const char *role = NULL;
            if (r && cnnz_reader_tensor_info(r, (size_t)w->tensor, &ti) == CNNZ_OK &&
                (unsigned)w->stream < ti.stream_count)
                role = cnnz_role_name(ti.streams[w->stream].role);
            if (role)
                APPEND(", stream %d ('%s')", (int)w->stream, role);
            else
                APPEND(", stream %d", (int)w->stream);
        }
        APPEND(": ");
    } else if (w->what) {
        APPEND("%s: ", w->what);
    }
    APPEND("%s", cnnz_strerror(w->err));
    if (w->offset >= 0)
        APPEND(" at offset %lld", (long long)w->offset);
#undef APPEND
}
