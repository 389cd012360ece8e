/* tfjs.c: manifests and shards built in a temp folder, plus the real corpus. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests.h"
#include "tfjs.h"

static char dir[64];

static void put(const char *name, const void *data, size_t n)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* Parse JSON text as DIR/NAME; returns the status, *m on success. */
static int load(const char *name, const char *json, struct tfjs_model **m, char *err)
{
    char p[256];
    put(name, json, strlen(json));
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return tfjs_parse(json, strlen(json), p, NULL, NULL, m, err, FMT_ERR_SIZE);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/cnnz-tfjs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_quantizations_and_shards)
{
    unsigned char a[2 + 2 * 2 + 2 * 2 + 4 + 4];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (unsigned char)(i + 1);
    put("s1.bin", a, 5); /* a weight spans the two shards */
    put("s2.bin", a + 5, sizeof a - 5);
    const char *json =
        "[{\"paths\":[\"s1.bin\",\"s2.bin\"],\"weights\":["
        "{\"name\":\"q8\",\"shape\":[2],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1.25}},"
        "{\"name\":\"q16\",\"shape\":[2],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint16\",\"scale\":0.1,\"min\":0}},"
        "{\"name\":\"h\",\"shape\":[1,2],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"float16\"}},"
        "{\"name\":\"f\",\"shape\":[],\"dtype\":\"float32\"},"
        "{\"name\":\"qi\",\"shape\":[4],\"dtype\":\"int32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":2,\"min\":-3}}"
        "]}]";
    struct tfjs_model *m;
    char err[FMT_ERR_SIZE];
    ck_assert_msg(load("m-weights_manifest.json", json, &m, err) == FMT_OK, "%s", err);
    ck_assert_uint_eq(m->count, 5);
    ck_assert_int_eq(m->weights[0].repr, CNNZ_REPR_AFFINE);
    ck_assert_int_eq(m->weights[0].symbol_dtype, CNNZ_DT_U8);
    ck_assert(m->weights[0].scale == 0.5 && m->weights[0].offset == -1.25);
    ck_assert_int_eq(m->weights[1].symbol_dtype, CNNZ_DT_U16);
    ck_assert_int_eq(m->weights[2].repr, CNNZ_REPR_WIDEN);
    ck_assert_int_eq(m->weights[3].repr, CNNZ_REPR_PLAIN);
    ck_assert_uint_eq(m->weights[3].rank, 0);
    ck_assert_int_eq(m->weights[4].dtype, CNNZ_DT_I32);
    ck_assert_int_eq(m->weights[4].repr, CNNZ_REPR_AFFINE);
    size_t off = 0;
    for (size_t i = 0; i < m->count; i++) {
        ck_assert_mem_eq(m->weights[i].data, a + off, m->weights[i].data_bytes);
        off += m->weights[i].data_bytes;
    }
    ck_assert_uint_eq(off, sizeof a);
    int named = 0;
    for (size_t i = 0; i < m->meta_count; i++)
        named |= !strcmp(m->meta[i].key, "model.name") && !strcmp(m->meta[i].value, "m");
    ck_assert(named);
    tfjs_free(m);
}
END_TEST

START_TEST(test_rejections)
{
    unsigned char z[8] = {0};
    put("w.bin", z, sizeof z);
    mkdir("/tmp/cnnz-tfjs-outside", 0700);
    static const struct {
        const char *json;
        int status;
        const char *says;
    } cases[] = {
        {"[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[1],\"dtype\":\"float32\"}]}]", FMT_E_INVALID, "shards hold"},
        {"[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[3],\"dtype\":\"float32\"}]}]", FMT_E_INVALID, "past the end"},
        {"[{\"paths\":[\"../w.bin\"],\"weights\":[]}]", FMT_E_INVALID, "leaves the model folder"},
        {"[{\"paths\":[\"/etc/passwd\"],\"weights\":[]}]", FMT_E_INVALID, "absolute"},
        {"[{\"paths\":[\"missing.bin\"],\"weights\":[]}]", FMT_E_IO, "missing.bin"},
        {"[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"s\",\"shape\":[2],\"dtype\":\"string\"}]}]", FMT_E_UNSUPPORTED, "'s'"},
        {"[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"c\",\"shape\":[1],\"dtype\":\"complex64\"}]}]", FMT_E_UNSUPPORTED, "'c'"},
        {"[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"n\",\"shape\":[-1],\"dtype\":\"float32\"}]}]", FMT_E_INVALID, "dimension"},
        {"[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"o\",\"shape\":[4294967296,4294967296,2],\"dtype\":\"float32\"}]}]", FMT_E_INVALID, "overflows"},
        {"[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"b\",\"shape\":[8],\"dtype\":\"bool\"}]}]", FMT_OK, ""},
        {"{\"modelTopology\":{}}", FMT_E_INVALID, "not a tfjs"},
        {"[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"q\",\"shape\":[8],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\"}}]}]", FMT_E_INVALID, "scale"},
        {"[1,2", FMT_E_INVALID, "JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tfjs_model *m = NULL;
        char err[FMT_ERR_SIZE] = "";
        int st = load("x.json", cases[i].json, &m, err);
        ck_assert_msg(st == cases[i].status, "case %zu: status %d (%s)", i, st, err);
        ck_assert_msg(strstr(err, cases[i].says) || st == FMT_OK, "case %zu: message '%s'", i, err);
        tfjs_free(m);
    }
    /* A symlinked shard that points outside the folder. */
    char link[128];
    put("../cnnz-tfjs-outside/o.bin", z, 4);
    snprintf(link, sizeof link, "%s/l.bin", dir);
    ck_assert_int_eq(symlink("/tmp/cnnz-tfjs-outside/o.bin", link), 0);
    struct tfjs_model *m = NULL;
    char err[FMT_ERR_SIZE] = "";
    ck_assert_int_eq(load("y.json", "[{\"paths\":[\"l.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[1],\"dtype\":\"float32\"}]}]", &m, err), FMT_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "outside"));
    ck_assert_int_eq(system("rm -rf /tmp/cnnz-tfjs-outside"), 0);
}
END_TEST

START_TEST(test_real_corpus)
{
    const char *root = getenv("CNNZ_CORPUS_DIR") ? getenv("CNNZ_CORPUS_DIR") : ".corpus";
    char mdir[512];
    snprintf(mdir, sizeof mdir, "%s/node_modules/@vladmandic/face-api/model", root);
    DIR *d = opendir(mdir);
    if (!d) {
        printf("tfjs: corpus not installed at %s (make corpus); skipping the real-model test\n", mdir);
        return;
    }
    struct dirent *e;
    int models = 0;
    size_t weights = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 22 || strcmp(e->d_name + n - 22, "-weights_manifest.json"))
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", mdir, e->d_name);
        FILE *f = fopen(p, "rb");
        ck_assert_ptr_nonnull(f);
        static char buf[1 << 20];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        struct tfjs_model *m;
        char err[FMT_ERR_SIZE];
        ck_assert_msg(tfjs_parse(buf, len, p, NULL, NULL, &m, err, sizeof err) == FMT_OK, "%s: %s", p, err);
        weights += m->count;
        models++;
        tfjs_free(m);
    }
    closedir(d);
    ck_assert_int_eq(models, 7);
    ck_assert_uint_eq(weights, 464); /* 51+49+49+28+117+151+19 in face-api 1.7.15 */
}
END_TEST

Suite *suite_tfjs(void)
{
    Suite *s = suite_create("tfjs");
    TCase *tc = tcase_create("tfjs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_quantizations_and_shards);
    tcase_add_test(tc, test_rejections);
    tcase_add_test(tc, test_real_corpus);
    suite_add_tcase(s, tc);
    return s;
}
