# strata: one binary, built from src/ by plain make.
#   make          release build  -> build/strata
#   make asan     ASan+UBSan     -> build/asan/strata
#   make unit     C unit tests (ASan+UBSan), run them
#   make test     dependencies, sanitizer build, unit + integration tests
#   make demo     dependencies, release build, the end-to-end demo
#   make bench    the benchmark (see bench/README.md)
#   make install  binary, systemd units and docs under PREFIX (DESTDIR for staging)

# BUILD: output directory (another one lets two builds run side by side)
BUILD   ?= build
CC      ?= cc
PG_INC  := $(shell pg_config --includedir 2>/dev/null)
PG_SINC := $(shell pg_config --includedir-server 2>/dev/null)
PKGS    := libzstd liblz4 libcrypto json-c libmicrohttpd libcurl
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
               -Isrc -I$(PG_INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS    := -lpq $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

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
SAN     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

.PHONY: all asan unit test demo bench deps clean install
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
$(BUILD)/asan/unit/%: tests/unit/%.c $(ALIBOBJ) tests/unit/unit.h
	@mkdir -p $(dir $@)
	@echo '  UNIT    $<'
	@$(CC) $(CFLAGS_BASE) $(SAN) -Itests/unit -o $@ $< $(ALIBOBJ) $(LIBS)

unit: $(UNIT_BIN)
	@bash tests/run-unit.sh $(UNIT_BIN)

deps:
	@bash scripts/install-deps.sh

test: deps
	@$(MAKE) --no-print-directory asan $(UNIT_BIN)
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
