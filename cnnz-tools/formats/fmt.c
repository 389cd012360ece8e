/* Shared helpers of the input-format parsers (fmt.h). */
#include "fmt.h"

#include <stdarg.h>
#include <stdio.h>

int fmt_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return 1;
    *out = a * b;
    return 0;
}

int fmt_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b > UINT64_MAX - a)
        return 1;
    *out = a + b;
    return 0;
}

int fmt_fail(char *err, size_t size, int status, const char *fmt, ...)
{
    if (err && size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *fmt_quote(char *buf, size_t size, const char *s, size_t len, size_t max)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    if (size == 0)
        return buf;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == max || n + 5 >= size) {
            if (n + 4 < size) {
                buf[n++] = '.';
                buf[n++] = '.';
                buf[n++] = '.';
            }
            break;
        }
        if (c >= 0x20 && c != 0x7F && c != '\\') {
            buf[n++] = (char)c;
        } else {
            buf[n++] = '\\';
            buf[n++] = 'x';
            buf[n++] = hex[c >> 4];
            buf[n++] = hex[c & 15];
        }
    }
    buf[n] = '\0';
    return buf;
}
