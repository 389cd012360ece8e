/* suite_error: error messages and tokens, the dtype/repr/role/coder name
 * tables (spec 5.2, 6, 6.1, 7), the limits defaults (spec 8) and
 * cnnz_where_format on hand-made locations. */
#include <limits.h>
#include <string.h>

#include "tests.h"

struct err_row {
    int value;
    const char *token;
};

static const struct err_row errs[] = {
#define ROW(name, value, msg) {value, "CNNZ_E_" #name},
    CNNZ_ERROR_LIST(ROW)
#undef ROW
};
#define NERRS (sizeof errs / sizeof errs[0])

START_TEST(test_every_error_has_message_and_token)
{
    ck_assert_int_eq((int)NERRS, CNNZ_E__COUNT);
    for (size_t i = 0; i < NERRS; i++) {
        /* values are dense 0..COUNT-1, in list order */
        ck_assert_int_eq(errs[i].value, (int)i);
        const char *msg = cnnz_strerror(errs[i].value);
        ck_assert_ptr_nonnull(msg);
        ck_assert_uint_gt(strlen(msg), 0);
        ck_assert_str_eq(cnnz_error_token(errs[i].value), errs[i].token);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(msg, cnnz_strerror(errs[j].value)) != 0,
                          "errors %d and %d share a message", errs[i].value, errs[j].value);
    }
    ck_assert_str_eq(cnnz_error_token(CNNZ_OK), "CNNZ_E_OK");
    ck_assert_str_eq(cnnz_error_token(CNNZ_E_CHECKSUM), "CNNZ_E_CHECKSUM");
    ck_assert_str_eq(cnnz_error_token(CNNZ_E_FORMAT_LIMIT), "CNNZ_E_FORMAT_LIMIT");
}
END_TEST

START_TEST(test_pinned_values)
{
    /* values are pinned once released (cnnz.h): the conformance manifest
     * and the spec's token list depend on them */
    ck_assert_int_eq(CNNZ_E_ARG, 1);
    ck_assert_int_eq(CNNZ_E_NOMEM, 2);
    ck_assert_int_eq(CNNZ_E_CHECKSUM, 7);
    ck_assert_int_eq(CNNZ_E_LIMIT, 20);
    ck_assert_int_eq(CNNZ_E_FORMAT_LIMIT, 21);
    ck_assert_int_eq(CNNZ_E_INPUT, 25);
}
END_TEST

START_TEST(test_unknown_errors)
{
    static const int bad[] = {-1, -1000, CNNZ_E__COUNT, CNNZ_E__COUNT + 1, 1000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *msg = cnnz_strerror(bad[i]);
        ck_assert_ptr_nonnull(msg);
        ck_assert_uint_gt(strlen(msg), 0);
        ck_assert_str_eq(cnnz_error_token(bad[i]), "CNNZ_E_UNKNOWN");
    }
}
END_TEST

static const struct {
    int id;
    const char *name;
    size_t size;
} dtypes[] = {
    {CNNZ_DT_F32, "f32", 4}, {CNNZ_DT_F16, "f16", 2}, {CNNZ_DT_BF16, "bf16", 2},
    {CNNZ_DT_F64, "f64", 8}, {CNNZ_DT_I8, "i8", 1},   {CNNZ_DT_U8, "u8", 1},
    {CNNZ_DT_I16, "i16", 2}, {CNNZ_DT_U16, "u16", 2}, {CNNZ_DT_I32, "i32", 4},
    {CNNZ_DT_U32, "u32", 4}, {CNNZ_DT_I64, "i64", 8}, {CNNZ_DT_U64, "u64", 8},
    {CNNZ_DT_BOOL, "bool", 1},
};

START_TEST(test_dtype_table)
{
    /* spec 5.2: ids 1..13 */
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
        ck_assert_int_eq(dtypes[i].id, (int)i + 1);
        ck_assert_uint_eq(cnnz_dtype_size(dtypes[i].id), dtypes[i].size);
        ck_assert_ptr_nonnull(cnnz_dtype_name(dtypes[i].id));
        ck_assert_str_eq(cnnz_dtype_name(dtypes[i].id), dtypes[i].name);
        ck_assert_int_eq(cnnz_dtype_from_name(dtypes[i].name), dtypes[i].id);
    }
    static const int bad[] = {0, 14, 15, 255, 256, -1, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_uint_eq(cnnz_dtype_size(bad[i]), 0);
        ck_assert_ptr_null(cnnz_dtype_name(bad[i]));
    }
    static const char *const badn[] = {"", "F32", "float32", "f3", "f32 ", "boolean", "u128"};
    for (size_t i = 0; i < sizeof badn / sizeof badn[0]; i++)
        ck_assert_int_eq(cnnz_dtype_from_name(badn[i]), 0);
}
END_TEST

START_TEST(test_repr_role_coder_tables)
{
    ck_assert_str_eq(cnnz_repr_name(CNNZ_REPR_PLAIN), "plain");
    ck_assert_str_eq(cnnz_repr_name(CNNZ_REPR_AFFINE), "affine");
    ck_assert_str_eq(cnnz_repr_name(CNNZ_REPR_WIDEN), "widen");
    ck_assert_str_eq(cnnz_repr_name(CNNZ_REPR_PLANES), "planes");
    ck_assert_str_eq(cnnz_repr_name(CNNZ_REPR_HAM), "ham");
    ck_assert_str_eq(cnnz_repr_name(CNNZ_REPR_SHAM), "sham");
    ck_assert_ptr_null(cnnz_repr_name(6));
    ck_assert_ptr_null(cnnz_repr_name(-1));
    ck_assert_ptr_null(cnnz_repr_name(255));
    ck_assert_ptr_null(cnnz_repr_name(INT_MAX));

    ck_assert_str_eq(cnnz_role_name(CNNZ_ROLE_VALUES), "values");
    ck_assert_str_eq(cnnz_role_name(CNNZ_ROLE_SYMBOLS), "symbols");
    ck_assert_str_eq(cnnz_role_name(CNNZ_ROLE_HIGH), "high");
    ck_assert_str_eq(cnnz_role_name(CNNZ_ROLE_PLANE), "plane");
    ck_assert_str_eq(cnnz_role_name(CNNZ_ROLE_CODEBOOK), "codebook");
    ck_assert_str_eq(cnnz_role_name(CNNZ_ROLE_RUNS), "runs");
    /* unknown roles: must not crash; NULL like the other tables */
    ck_assert_ptr_null(cnnz_role_name(6));
    ck_assert_ptr_null(cnnz_role_name(-1));
    ck_assert_ptr_null(cnnz_role_name(INT_MIN));

    ck_assert_str_eq(cnnz_coder_name(CNNZ_CODER_RAW), "raw");
    ck_assert_int_eq(cnnz_coder_from_name("raw"), CNNZ_CODER_RAW);
    ck_assert_int_eq(cnnz_coder_from_name("RAW"), -1);
    ck_assert_int_eq(cnnz_coder_from_name(""), -1);
    ck_assert_int_eq(cnnz_coder_from_name("huffman?"), -1);
    ck_assert_ptr_null(cnnz_coder_name(-1));
    ck_assert_ptr_null(cnnz_coder_name(INT_MAX));
    /* every registered coder's name maps back to its id */
    int n = 0;
    for (int c = 0; c < 256; c++) {
        const char *name = cnnz_coder_name(c);
        if (!name)
            continue;
        n++;
        ck_assert_uint_gt(strlen(name), 0);
        ck_assert_int_eq(cnnz_coder_from_name(name), c);
    }
    ck_assert_int_ge(n, 1);
    ck_assert_ptr_null(cnnz_coder_name(256));
}
END_TEST

START_TEST(test_limits_default)
{
    struct cnnz_limits l;
    memset(&l, 0xEE, sizeof l);
    cnnz_limits_default(&l);
    ck_assert_uint_eq(l.max_tensors, CNNZ_MAX_TENSORS);
    ck_assert_uint_eq(l.max_name_bytes, CNNZ_MAX_NAME_BYTES);
    ck_assert_uint_eq(l.max_rank, CNNZ_MAX_RANK);
    ck_assert_uint_eq(l.max_meta_entries, CNNZ_MAX_META_ENTRIES);
    ck_assert_uint_eq(l.max_directory_bytes, UINT64_C(1) << 30);
    ck_assert_uint_eq(l.max_metadata_bytes, UINT64_C(1) << 30);
    ck_assert_uint_eq(l.max_tensor_bytes, CNNZ_MAX_TENSOR_BYTES);
    ck_assert_uint_gt(l.max_stream_bytes, 0);
    ck_assert_uint_le(l.max_stream_bytes, CNNZ_MAX_TENSOR_BYTES);
    /* spec 8 */
    ck_assert_uint_eq(CNNZ_MAX_NAME_BYTES, 4096);
    ck_assert_uint_eq(CNNZ_MAX_RANK, 32);
    ck_assert_uint_eq(CNNZ_MAX_TENSORS, 1u << 24);
    ck_assert_uint_eq(CNNZ_MAX_META_ENTRIES, 65535);
}
END_TEST

START_TEST(test_where_format_plain)
{
    char buf[256];
    struct cnnz_where w = {CNNZ_E_CHECKSUM, -1, -1, 56, "header"};
    cnnz_where_format(NULL, &w, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, cnnz_strerror(CNNZ_E_CHECKSUM)));
    ck_assert_ptr_nonnull(strstr(buf, "56"));
    ck_assert_ptr_nonnull(strstr(buf, "header"));
    /* tensor index without a reader: the index is shown */
    struct cnnz_where w2 = {CNNZ_E_CORRUPT, 7, 0, 4096, "stream"};
    cnnz_where_format(NULL, &w2, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "7"));
    ck_assert_ptr_nonnull(strstr(buf, "4096"));
    /* truncation keeps the NUL; size 0 writes nothing */
    for (size_t n = 1; n < 40; n++) {
        memset(buf, 'x', sizeof buf);
        cnnz_where_format(NULL, &w2, buf, n);
        ck_assert_uint_lt(strlen(buf), n);
        ck_assert_int_eq(buf[n], 'x');
    }
    buf[0] = 'x';
    cnnz_where_format(NULL, &w2, buf, 0);
    ck_assert_int_eq(buf[0], 'x');
}
END_TEST

Suite *suite_error(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("tables");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_every_error_has_message_and_token);
    tcase_add_test(tc, test_pinned_values);
    tcase_add_test(tc, test_unknown_errors);
    tcase_add_test(tc, test_dtype_table);
    tcase_add_test(tc, test_repr_role_coder_tables);
    tcase_add_test(tc, test_limits_default);
    tcase_add_test(tc, test_where_format_plain);
    suite_add_tcase(s, tc);
    return s;
}
