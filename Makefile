# strata: one binary, built from src/ by plain make.
#   make          release build  -> build/strata
#   make asan     ASan+UBSan     -> build/asan/strata
#   make unit     C unit tests (ASan+UBSan), run them
#   make fuzz     libFuzzer targets for every parser of untrusted input, 20 s each
#   make test     dependencies, sanitizer build, unit + integration tests
#   make coverage gcov build, unit + integration tests over it, line coverage per folder
#   make demo     dependencies, release build, the end-to-end demo
#   make bench    the benchmark (see bench/README.md)
#   make install  binary, systemd units and docs under PREFIX (DESTDIR for staging)

# BUILD: output directory (another one lets two builds run side by side)
BUILD   ?= build
CC      ?= cc
PG_INC  := $(shell pg_config --includedir 2>/dev/null)
PG_SINC := $(shell pg_config --includedir-server 2>/dev/null)
PKGS    := libzstd liblz4 libcrypto json-c libmicrohttpd gnutls libcurl libxml-2.0
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
               -Isrc -I$(PG_INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PG_LIB  := $(shell pg_config --pkglibdir 2>/dev/null)
# PostgreSQL's own CRC-32C (runtime-chosen SSE 4.2 or slicing-by-8) for the
# WAL decoder: from libpgport, which only contributes those objects.
LIBS    := -lpq $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(PG_LIB)/libpgport_shlib.a -lpthread -lm

SRC     := $(shell find src -name '*.c' | sort)
HDR     := $(shell find src -name '*.h')
OBJ     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC))
AOBJ    := $(patsubst src/%.c,$(BUILD)/asan/obj/%.o,$(SRC))
# The web UI (ui/) is compiled into the binary as a generated C file: the
# cluster manager serves it without reading anything from disk.
UI_FILES := $(sort $(wildcard ui/*.html ui/*.css ui/*.js))
OBJ     += $(BUILD)/obj/gen/ui_files.o
AOBJ    += $(BUILD)/asan/obj/gen/ui_files.o
LIBOBJ  := $(filter-out $(BUILD)/obj/main.o,$(OBJ))
ALIBOBJ := $(filter-out $(BUILD)/asan/obj/main.o,$(AOBJ))

OPT     := -O2 -g
SAN     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
           -DSTRATA_CRASH_POINTS

.PHONY: all asan unit unit-bins test coverage demo bench deps clean install fuzz fuzz-build
all: $(BUILD)/strata

$(BUILD)/strata: $(OBJ)
	@echo '  LINK    $@'
	@$(CC) $(OPT) -o $@ $^ $(LIBS)

$(BUILD)/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	@$(CC) $(CFLAGS_BASE) $(OPT) -c -o $@ $<

$(BUILD)/gen/ui_files.c: $(UI_FILES) scripts/embed-ui.sh
	@mkdir -p $(dir $@)
	@echo '  GEN     $@'
	@bash scripts/embed-ui.sh $@ $(UI_FILES)

$(BUILD)/obj/gen/ui_files.o: $(BUILD)/gen/ui_files.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS_BASE) $(OPT) -c -o $@ $<

$(BUILD)/asan/obj/gen/ui_files.o: $(BUILD)/gen/ui_files.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS_BASE) $(SAN) -c -o $@ $<

# PostgreSQL's page checksum is built the way PostgreSQL builds it:
# unrolled and vectorised, it is on the backup's hot path.
$(BUILD)/obj/pg/page_checksum.o $(BUILD)/asan/obj/pg/page_checksum.o: CFLAGS_BASE += -I$(PG_SINC) -funroll-loops -ftree-vectorize

# The WAL decoder (src/wal/) reads PostgreSQL's record layout from the
# server headers, like the page checksum.
WAL_SRC := $(wildcard src/wal/*.c)
$(patsubst src/%.c,$(BUILD)/obj/%.o,$(WAL_SRC)) $(patsubst src/%.c,$(BUILD)/asan/obj/%.o,$(WAL_SRC)): CFLAGS_BASE += -I$(PG_SINC)
# (make fuzz builds with clang, which does not know PostgreSQL's gnu_printf)
$(patsubst src/%.c,$(BUILD)/fuzz/obj/%.o,$(WAL_SRC)): CFLAGS_BASE += -I$(PG_SINC) -Wno-ignored-attributes

asan: $(BUILD)/asan/strata
$(BUILD)/asan/strata: $(AOBJ)
	@echo '  LINK    $@'
	@$(CC) $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/asan/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	@echo '  CC [san] $<'
	@$(CC) $(CFLAGS_BASE) $(SAN) -c -o $@ $<

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/asan/unit/%,$(UNIT_SRC))
$(BUILD)/asan/unit/%: tests/unit/%.c $(ALIBOBJ) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo '  UNIT    $<'
	@$(CC) $(CFLAGS_BASE) $(SAN) -Itests/unit -o $@ $< $(ALIBOBJ) $(LIBS)

unit: $(UNIT_BIN)
	@bash tests/run-unit.sh $(UNIT_BIN)

unit-bins: $(UNIT_BIN)

# make coverage [COV_TESTS="pattern..."]: the binary and the unit tests built
# with gcov instrumentation instead of sanitizers (the "asan" rules with other
# flags, in COV_BUILD), tests/run.sh over them (COV_TESTS: its patterns; empty
# runs every integration test), then line coverage per folder of src/
# (scripts/coverage.sh; docs/coverage.md).
COV_BUILD ?= build/cov
COV_TESTS ?=
coverage:
	@$(MAKE) --no-print-directory BUILD=$(COV_BUILD) SAN='-O0 -g --coverage -fprofile-update=atomic -DSTRATA_CRASH_POINTS' asan unit-bins
	@bash scripts/coverage.sh $(COV_BUILD) $(COV_TESTS)

# libFuzzer targets (tests/fuzz/fuzz_*.c), one per parser of untrusted
# input, built with clang; `make fuzz` builds them and runs each for
# FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus/<target>/).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ := $(patsubst $(BUILD)/obj/%,$(BUILD)/fuzz/obj/%,$(LIBOBJ))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
# clang does not know the gnu_printf format PostgreSQL's headers name
$(BUILD)/fuzz/obj/pg/page_checksum.o: CFLAGS_BASE += -I$(PG_SINC) -funroll-loops -ftree-vectorize -Wno-ignored-attributes
$(BUILD)/fuzz/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(dir $@)
	@echo '  CC [fuzz] $<'
	@$(FUZZ_CC) $(CFLAGS_BASE) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<
$(BUILD)/fuzz/obj/gen/ui_files.o: $(BUILD)/gen/ui_files.c
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(CFLAGS_BASE) $(FUZZ_SAN) -c -o $@ $<
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_OBJ)
	@echo '  FUZZ    $<'
	@$(FUZZ_CC) $(CFLAGS_BASE) $(FUZZ_SAN) -fsanitize=fuzzer -Itests/fuzz -o $@ $< $(FUZZ_OBJ) $(LIBS)
# The objects are kept (not intermediate): a rebuild compiles only what changed.
.SECONDARY: $(FUZZ_OBJ)
fuzz-build: $(FUZZ_BIN)
fuzz: fuzz-build
	@bash tests/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

deps:
	@bash scripts/install-deps.sh

test: deps
	@$(MAKE) -j$$(nproc) --no-print-directory asan $(UNIT_BIN) fuzz-build
	@bash tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh
	@bash scripts/demo-cluster.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@STRATA_BENCH_DEPS=1 bash scripts/install-deps.sh
	@bash bench/run.sh

# make install [PREFIX=/usr/local] [DESTDIR=staging root]: the binary, the
# systemd units (dist/systemd, their paths rewritten to PREFIX) and the docs.
# INSTALL_BIN: the binary to install (default: the release build).
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
UNITDIR     ?= $(PREFIX)/lib/systemd/system
DOCDIR      ?= $(PREFIX)/share/doc/strata
INSTALL_BIN ?= $(BUILD)/strata
UNITS       := $(wildcard dist/systemd/*.service)

install: $(INSTALL_BIN)
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(UNITDIR)' '$(DESTDIR)$(DOCDIR)'
	install -m 755 '$(INSTALL_BIN)' '$(DESTDIR)$(BINDIR)/strata'
	for u in $(UNITS); do \
	  sed -e 's|/usr/local/bin/strata|$(BINDIR)/strata|g' -e 's|/usr/local/share/doc/strata|$(DOCDIR)|g' \
	    "$$u" >'$(DESTDIR)$(UNITDIR)'/"$${u##*/}" && chmod 644 '$(DESTDIR)$(UNITDIR)'/"$${u##*/}" || exit 1; \
	done
	for d in $(wildcard README.md docs/*.md); do install -m 644 "$$d" '$(DESTDIR)$(DOCDIR)/' || exit 1; done

clean:
	rm -rf $(BUILD)
