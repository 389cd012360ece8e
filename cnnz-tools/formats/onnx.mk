# onnx.mk - the ONNX protobuf code, generated at build time. GNU make 4.3+.
#
# Include it from the Makefile after BUILD (and CC, ALL_CFLAGS, PKG_CONFIG)
# are set. protoc-c (protobuf-c-compiler) turns onnx.proto, as installed by
# python3-onnx, into $(BUILD)/gen/onnx.pb-c.{c,h}; nothing generated is
# committed. It provides:
#
#   ONNX_GEN_SRC, ONNX_GEN_HDR   the generated files
#   ONNX_GEN_OBJ                 their object, to link with cnnz-tools/formats/onnx.o
#   ONNX_CFLAGS                  for every file that includes onnx.pb-c.h
#   ONNX_LIBS                    for every link that has ONNX_GEN_OBJ in it
#   ONNX_GEN_CFLAGS              flags for the generated .c (default: ALL_CFLAGS;
#                                it builds warning-free under them with gcc 12
#                                and clang 14)
#
# and an order-only prerequisite so onnx.o and test_onnx.o wait for the
# header (-MMD then tracks it as a normal dependency).

# Rules here must not become the default goal of the including Makefile.
onnx_mk_goal := $(.DEFAULT_GOAL)

BUILD      ?= build
PKG_CONFIG ?= pkg-config
PROTOC_C   ?= protoc-c

# Debian's python3-onnx puts onnx.proto here; override for another layout.
ONNX_PROTO_DIR ?= /usr/lib/python3/dist-packages/onnx
ONNX_PROTO     := $(ONNX_PROTO_DIR)/onnx.proto

ONNX_GEN_DIR := $(BUILD)/gen
ONNX_GEN_SRC := $(ONNX_GEN_DIR)/onnx.pb-c.c
ONNX_GEN_HDR := $(ONNX_GEN_DIR)/onnx.pb-c.h
ONNX_GEN_OBJ := $(BUILD)/obj/gen/onnx.pb-c.o

ONNX_CFLAGS := -I$(ONNX_GEN_DIR) $(shell $(PKG_CONFIG) --cflags libprotobuf-c 2>/dev/null)
ONNX_LIBS   := $(shell $(PKG_CONFIG) --libs libprotobuf-c 2>/dev/null || echo '-lprotobuf-c')

ONNX_GEN_CFLAGS ?= $(if $(ALL_CFLAGS),$(ALL_CFLAGS),-std=c11 $(CFLAGS))

# One protoc-c run writes both files (grouped target).
$(ONNX_GEN_SRC) $(ONNX_GEN_HDR) &: $(ONNX_PROTO)
	@if [ ! -f '$(ONNX_PROTO)' ]; then \
	    echo 'error: $(ONNX_PROTO) not found: install python3-onnx (or set ONNX_PROTO_DIR)' >&2; exit 1; fi
	@command -v $(PROTOC_C) >/dev/null 2>&1 || { \
	    echo 'error: $(PROTOC_C) not found: install protobuf-c-compiler' >&2; exit 1; }
	@mkdir -p $(ONNX_GEN_DIR)
	$(Q)$(PROTOC_C) --c_out=$(ONNX_GEN_DIR) -I$(ONNX_PROTO_DIR) $(ONNX_PROTO)

$(ONNX_GEN_OBJ): $(ONNX_GEN_SRC) $(ONNX_GEN_HDR)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ONNX_GEN_CFLAGS) $(ONNX_CFLAGS) -c $< -o $@

# Rebuilt when the project's flags change (its flags stamp, when it has one).
ifdef FLAGS_STAMP
$(ONNX_GEN_OBJ): $(FLAGS_STAMP)
endif

# Users of the generated header wait for it.
$(BUILD)/obj/cnnz-tools/formats/onnx.o $(BUILD)/obj/cnnz-tools/tests/test_onnx.o: | $(ONNX_GEN_HDR)

.DEFAULT_GOAL := $(onnx_mk_goal)
