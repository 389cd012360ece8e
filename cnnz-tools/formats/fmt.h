/*
 * fmt.h - what the input-format parsers of cnnz-tools share: result codes,
 * overflow-checked size arithmetic and error-message helpers.
 *
 * The parsers (npy.h, tfjs.h) take bytes and give tensors or an error. They
 * never print: a failure returns a non-zero FMT_E_* and leaves a one-line
 * message (without the file name, which the caller prefixes) in the caller's
 * buffer. They are safe on any input: every length, shape and offset read
 * from a file is checked before use, so they can be fuzzed directly.
 */
#ifndef CNNZ_TOOLS_FMT_H
#define CNNZ_TOOLS_FMT_H

#include <stddef.h>
#include <stdint.h>

enum fmt_status {
    FMT_OK = 0,
    FMT_E_INVALID = 1,     /* the input is malformed */
    FMT_E_UNSUPPORTED = 2, /* well-formed, but a feature cnnz cannot take */
    FMT_E_NOMEM = 3,       /* out of memory */
    FMT_E_IO = 4,          /* a file could not be opened or read */
    FMT_E_CALLBACK = 5     /* the caller's callback failed (its message is kept) */
};

/* A buffer of this size holds any message the parsers produce. */
#define FMT_ERR_SIZE 1024

/* a * b into *out; returns 0, or 1 when the product overflows 64 bits. */
int fmt_mul_u64(uint64_t a, uint64_t b, uint64_t *out);
/* a + b into *out; returns 0, or 1 on overflow. */
int fmt_add_u64(uint64_t a, uint64_t b, uint64_t *out);

/* snprintf into err (when err != NULL and size > 0) and return status. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int fmt_fail(char *err, size_t size, int status, const char *fmt, ...);

/* Copy at most max bytes of s into buf as printable text for a message:
 * control bytes, DEL and backslash become \xNN (other bytes, so UTF-8,
 * pass), and a longer string ends in "...". Returns buf. */
const char *fmt_quote(char *buf, size_t size, const char *s, size_t len, size_t max);

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates,
 * <= U+10FFFF) without NUL bytes; else 0. */
int fmt_utf8_ok(const unsigned char *s, size_t n);

#endif /* CNNZ_TOOLS_FMT_H */
