/* coders.c - encoders of the coded bytes of spec section 7, written from
 * the spec text alone, for vectors whose streams are built by hand: valid
 * ones the library's encoder never makes (the longest Huffman codes, 32
 * rANS lanes, delta frequency tables) and faulty ones that break exactly
 * one rule of a coder section (cf.h). */
#include <stdlib.h>
#include <string.h>

#include "cf.h"

/* ------------------------------------------------------------ bits (7.0) */

void cf_bits_init(struct cf_bits *w, struct cf_buf *out)
{
    w->out = out;
    w->acc = 0;
    w->nacc = 0;
}

void cf_bits_put(struct cf_bits *w, uint64_t v, unsigned n)
{
    while (n) {
        unsigned take = n > 32 ? 32 : n;
        uint64_t part = v & ((UINT64_C(1) << take) - 1);
        w->acc |= part << w->nacc;
        w->nacc += take;
        v >>= take;
        n -= take;
        while (w->nacc >= 8) {
            cf_buf_u8(w->out, (unsigned)(w->acc & 0xFF));
            w->acc >>= 8;
            w->nacc -= 8;
        }
    }
}

void cf_bits_flush(struct cf_bits *w)
{
    if (w->nacc)
        cf_bits_put(w, 0, 8 - w->nacc);
}

static unsigned bitlen(uint64_t x)
{
    unsigned n = 0;
    while (x) {
        n++;
        x >>= 1;
    }
    return n;
}

/* ------------------------------------------------------------ huffman (7.2) */

unsigned cf_huf_lmax(unsigned w)
{
    return w == 1 ? 11 : 18;
}

static unsigned huf_f(unsigned w)
{
    return w == 1 ? 4 : 5;
}

static uint32_t huf_alphabet(unsigned w)
{
    return w == 1 ? 256u : 65536u;
}

void cf_huf_same(struct cf_bits *w)
{
    cf_bits_put(w, 0, 1);
}

void cf_huf_step(struct cf_bits *w, int delta)
{
    unsigned down = delta < 0;
    if (delta == 1 || delta == -1)
        cf_bits_put(w, 1u | down << 2, 3); /* 1 0 d */
    else
        cf_bits_put(w, 7u | down << 4, 5); /* 1 1 1 0 d */
}

void cf_huf_literal(struct cf_bits *w, unsigned w_width, unsigned v)
{
    cf_bits_put(w, 15, 4);
    cf_bits_put(w, v, huf_f(w_width));
}

void cf_huf_gamma(struct cf_bits *w, uint64_t r)
{
    unsigned k = bitlen(r) - 1;
    cf_bits_put(w, UINT64_C(1) << k, k + 1); /* k zeros, then a one */
    cf_bits_put(w, r - (UINT64_C(1) << k), k);
}

void cf_huf_skip(struct cf_bits *w, uint64_t r)
{
    cf_bits_put(w, 3, 3); /* 1 1 0 */
    cf_huf_gamma(w, r);
}

void cf_huf_describe(struct cf_bits *w, unsigned width, const uint8_t *L)
{
    const uint32_t a = huf_alphabet(width);
    const unsigned lmax = cf_huf_lmax(width);
    const uint64_t full = UINT64_C(1) << lmax;
    uint64_t k = 0;
    unsigned prev = lmax;
    uint32_t s = 0;
    while (k < full) {
        if (s >= a)
            cf_die("huffman: the lengths are not a complete code");
        if (!L[s]) {
            uint32_t r = 0;
            while (s + r < a && !L[s + r])
                r++;
            cf_huf_skip(w, r);
            s += r;
            continue;
        }
        int d = (int)L[s] - (int)prev;
        if (d == 0)
            cf_huf_same(w);
        else if (d >= -2 && d <= 2)
            cf_huf_step(w, d);
        else
            cf_huf_literal(w, width, L[s]);
        k += UINT64_C(1) << (lmax - L[s]);
        prev = L[s++];
    }
    if (k != full)
        cf_die("huffman: the lengths oversubscribe the code");
}

void cf_huf_codes(unsigned width, const uint8_t *L, uint32_t *code)
{
    const uint32_t a = huf_alphabet(width);
    uint32_t count[20] = {0}, next[20] = {0};
    for (uint32_t s = 0; s < a; s++)
        count[L[s]]++;
    count[0] = 0;
    uint32_t c = 0;
    for (unsigned l = 1; l <= cf_huf_lmax(width); l++) {
        c = (c + count[l - 1]) * 2;
        next[l] = c;
    }
    for (uint32_t s = 0; s < a; s++)
        code[s] = L[s] ? next[L[s]]++ : 0;
}

void cf_huf_bitstream(struct cf_buf *out, const uint8_t *L, const uint32_t *code,
                      const uint32_t *sym, size_t n)
{
    struct cf_bits w;
    cf_bits_init(&w, out);
    for (size_t i = 0; i < n; i++) {
        unsigned l = L[sym[i]];
        if (!l)
            cf_die("huffman: symbol %u has no code", (unsigned)sym[i]);
        for (unsigned b = l; b-- > 0;)
            cf_bits_put(&w, (code[sym[i]] >> b) & 1, 1); /* most significant bit first */
    }
    cf_bits_flush(&w);
}

/* The bitstreams of a block (7.2.5). */
static void huf_streams(struct cf_buf *out, unsigned width, const uint8_t *L, const uint32_t *sym,
                        size_t count)
{
    uint32_t *code = cf_alloc(huf_alphabet(width) * sizeof *code);
    cf_huf_codes(width, L, code);
    if (count < 1024) {
        cf_huf_bitstream(out, L, code, sym, count);
    } else {
        size_t q = (count + 3) / 4;
        struct cf_buf part[4] = {{0}};
        for (size_t k = 0; k < 4; k++)
            cf_huf_bitstream(&part[k], L, code, sym + k * q, k < 3 ? q : count - 3 * q);
        for (size_t k = 0; k < 3; k++)
            cf_buf_varint(out, part[k].n);
        for (size_t k = 0; k < 4; k++) {
            cf_buf_put(out, part[k].p, part[k].n);
            cf_buf_free(&part[k]);
        }
    }
    free(code);
}

void cf_huf_block_run(struct cf_buf *out, unsigned width, uint32_t sym, uint64_t count)
{
    cf_buf_varint(out, (count - 1) * 4 + 0);
    cf_buf_u8(out, sym & 0xFF);
    if (width == 2)
        cf_buf_u8(out, sym >> 8);
}

void cf_huf_block_code(struct cf_buf *out, unsigned width, const uint8_t *L, const uint32_t *sym,
                       size_t count)
{
    cf_buf_varint(out, (uint64_t)(count - 1) * 4 + 1);
    struct cf_bits w;
    cf_bits_init(&w, out);
    cf_huf_describe(&w, width, L);
    cf_bits_flush(&w);
    huf_streams(out, width, L, sym, count);
}

void cf_huf_block_repeat(struct cf_buf *out, unsigned width, const uint8_t *L,
                         const uint32_t *sym, size_t count)
{
    cf_buf_varint(out, (uint64_t)(count - 1) * 4 + 2);
    huf_streams(out, width, L, sym, count);
}

/* ------------------------------------------------------------ rans (7.3) */

void cf_eg(struct cf_bits *w, unsigned k, uint64_t v)
{
    uint64_t u = v + (UINT64_C(1) << k);
    unsigned m = bitlen(u) - 1;
    cf_bits_put(w, UINT64_C(1) << (m - k), m - k + 1); /* m - k zeros, a one */
    cf_bits_put(w, u - (UINT64_C(1) << m), m);
}

void cf_rans_table_bits(struct cf_buf *out, const struct cf_rans_table *t)
{
    const uint32_t a = t->width == 1 ? 256u : 65536u;
    struct cf_bits w;
    cf_bits_init(&w, out);
    cf_bits_put(&w, t->set_k, 3);
    uint32_t runs = 0;
    for (uint32_t s = 0; s < a; s++)
        runs += t->freq[s] && (s == 0 || !t->freq[s - 1]);
    cf_eg(&w, 0, runs - 1);
    uint32_t next = 0;
    for (uint32_t s = 0; s < a;) {
        if (!t->freq[s]) {
            s++;
            continue;
        }
        uint32_t len = 0;
        while (s + len < a && t->freq[s + len])
            len++;
        cf_eg(&w, t->set_k, s - next);
        cf_eg(&w, t->set_k, len - 1);
        next = s + len + 1;
        s += len;
    }
    cf_bits_put(&w, t->freq_mode, 1);
    cf_bits_put(&w, t->freq_k, 4);
    int64_t prev = 0;
    for (uint32_t s = 0; s < a; s++) {
        if (!t->freq[s])
            continue;
        int64_t f = t->freq[s], d = f - prev;
        uint64_t code = t->freq_mode == 0 ? (uint64_t)(f - 1)
                        : d >= 0          ? (uint64_t)(2 * d)
                                          : (uint64_t)(-2 * d - 1);
        cf_eg(&w, t->freq_k, code);
        prev = f;
    }
    cf_bits_flush(&w);
}

void cf_rans_encode(struct cf_buf *out, const struct cf_rans_table *t, const uint32_t *sym,
                    size_t n)
{
    const uint32_t a = t->width == 1 ? 256u : 65536u;
    const unsigned lanes = 1u << t->lanes_log2;
    const uint64_t m = UINT64_C(1) << t->scale_bits;
    uint32_t *cum = cf_alloc(a * sizeof *cum);
    uint64_t sum = 0;
    for (uint32_t s = 0; s < a; s++) {
        cum[s] = (uint32_t)sum;
        sum += t->freq[s];
    }
    if (sum != m)
        cf_die("rans: frequencies sum to %llu, not %llu", (unsigned long long)sum,
               (unsigned long long)m);
    uint64_t x[32];
    for (unsigned j = 0; j < lanes; j++)
        x[j] = 65536;
    uint16_t *words = cf_alloc((n + 1) * sizeof *words * 2);
    size_t nw = 0;
    for (size_t i = n; i-- > 0;) {
        unsigned j = (unsigned)(i % lanes);
        uint64_t fs = t->freq[sym[i]];
        if (!fs)
            cf_die("rans: symbol %u has no frequency", (unsigned)sym[i]);
        if (x[j] >= fs << (32 - t->scale_bits)) {
            words[nw++] = (uint16_t)(x[j] & 0xFFFF);
            x[j] >>= 16;
        }
        x[j] = (x[j] / fs) * m + x[j] % fs + cum[sym[i]];
    }
    cf_rans_table_bits(out, t);
    for (unsigned j = 0; j < lanes; j++)
        cf_buf_u32(out, (uint32_t)x[j]);
    while (nw)
        cf_buf_u16(out, words[--nw]);
    free(words);
    free(cum);
}

/* ------------------------------------------------------------ cabac (7.4) */

void cf_cabac_bins(struct cf_buf *out, const uint8_t *bins, const uint16_t *p, size_t n)
{
    uint64_t r = (UINT64_C(1) << 56) - 1, lo = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bound = (r >> 16) * p[i];
        if (bins[i]) {
            lo += bound;
            r -= bound;
        } else {
            r = bound;
        }
        if (r < (UINT64_C(1) << 24))
            cf_die("cabac: %zu bins need a renormalization", n);
    }
    for (int b = 6; b >= 0; b--)
        cf_buf_u8(out, (unsigned)(lo >> (8 * b)) & 0xFF); /* big-endian, 7.4.3 */
}

uint64_t cf_cabac_zero_bins_to_renorm(void)
{
    uint64_t r = (UINT64_C(1) << 56) - 1, bins = 0;
    uint32_t p = 32768, k = 0;
    while (r >= (UINT64_C(1) << 24)) {
        r = (r >> 16) * p;
        unsigned s = bitlen(k + 1);
        if (s > 7)
            s = 7;
        p += (65535 - p) >> s; /* 7.4.2 with b = 0 */
        k = k < 63 ? k + 1 : 63;
        bins++;
    }
    return bins;
}
