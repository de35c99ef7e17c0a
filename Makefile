# tocsin - plain Makefile.  `make` builds ./tocsin; `make test` installs what is
# missing, builds everything under AddressSanitizer + UBSan and runs every test.

CC      ?= cc
PKGS    := libmicrohttpd libcurl sqlite3 jansson libfyaml libical libsodium libcmark-gfm
CFLAGS  ?= -O2 -g
WARN    := -std=c17 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -Wstrict-prototypes -Wmissing-prototypes -Wvla
DEFS    := -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lcmark-gfm-extensions -lpthread -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRCS    := $(filter-out src/main.c,$(wildcard src/*.c))
OBJS    := $(SRCS:src/%.c=build/%.o)
SOBJS   := $(SRCS:src/%.c=build/asan/%.o)
UNIT    := $(wildcard tests/unit/*.c)
PYTEST  := /usr/bin/python3 -m pytest

.PHONY: all deps run test unit e2e bench clean fuzz

all: tocsin

deps:
	@scripts/install-deps

tocsin: $(OBJS) build/main.o
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

build/%.o: src/%.c | build
	$(CC) $(WARN) $(DEFS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

build/asan/%.o: src/%.c | build/asan
	$(CC) $(WARN) $(DEFS) -O1 -g $(SAN) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

build/asan/tocsin: $(SOBJS) build/asan/main.o
	$(CC) -g $(SAN) -o $@ $^ $(PKG_LIBS)

build/asan/unit: $(SOBJS) $(UNIT) | build/asan
	$(CC) $(WARN) $(DEFS) -O1 -g $(SAN) $(PKG_CFLAGS) -Isrc -o $@ $(UNIT) $(SOBJS) \
		$(PKG_LIBS) -lcriterion

build build/asan:
	@mkdir -p $@

run: deps tocsin
	@mkdir -p var
	./tocsin serve -c examples/tocsin.yaml

test: deps
	@$(MAKE) --no-print-directory build/asan/tocsin build/asan/unit tocsin
	@$(MAKE) --no-print-directory unit e2e

unit: build/asan/unit
	ASAN_OPTIONS=detect_leaks=1 build/asan/unit --jobs 2

e2e: build/asan/tocsin
	TOCSIN_BIN=$(CURDIR)/build/asan/tocsin $(PYTEST) -q tests/e2e

bench/oncall: bench/oncall.c $(OBJS)
	$(CC) $(WARN) $(DEFS) $(CFLAGS) $(PKG_CFLAGS) -Isrc -o $@ $< $(OBJS) $(PKG_LIBS)

bench: deps tocsin bench/oncall
	bench/run

clean:
	rm -rf build tocsin bench/oncall

-include $(OBJS:.o=.d) $(SOBJS:.o=.d) build/main.d build/asan/main.d
