# deadlined — build, test, install.
#   make                 both programs
#   make check           every test (installs missing Debian packages as root)
#   make check SANITIZE=1  the same under AddressSanitizer and UBSan
#   make check VALGRIND=1  the integration tests' programs under valgrind memcheck
#   make demo            generate demo data and evaluate it
#   make bench           speed figures (not part of check)
#   make soak-ha         the pair's failure tests, SOAK_ROUNDS (100) rounds each
#                        (not part of check; figures in docs/RELIABILITY.md)
#   make fuzz            each fuzz target under libFuzzer for FUZZ_SECONDS (60)
#                        (clang; see tests/fuzz/README.md)
#   make install         PREFIX, DESTDIR, sysconfdir honoured
#   make deb             the Debian package, into build/deb/ (debian/README.Debian)
#   make check-deb       build it, install/upgrade/purge it in a throwaway root
#   make piuparts        the package under piuparts (needs a Debian mirror)

VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/deadlined
sysconfdir ?= /etc
UNITDIR    ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
DESTDIR    ?=

CC         ?= gcc
PKGS       := libcurl libconfig sqlite3 libsystemd jansson libcrypto odbc libpq libmicrohttpd libical
BUILD      := build/$(if $(SANITIZE),sanitize,default)

# Recursively expanded, so pkg-config runs only when a recipe needs it,
# after `make check` has installed any missing packages.
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS    = $(shell pkg-config --libs $(PKGS))
CMOCKA_LIBS = $(shell pkg-config --libs cmocka)

# Bounded snprintf into message buffers truncates on purpose, so gcc's
# guesses about truncation are not errors here.
WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
              -Wmissing-prototypes -Wno-missing-field-initializers -Wno-format-truncation
comma      := ,
SAN_FLAGS  := $(if $(SANITIZE),-fsanitize=address$(comma)undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all)
OPT        := $(if $(SANITIZE),-O1,-O2)
ALL_CFLAGS  = -std=c17 -g $(OPT) $(WARN) $(SAN_FLAGS) -D_GNU_SOURCE \
              -DDEADLINED_VERSION='"$(VERSION)"' -DSYSCONFDIR='"$(sysconfdir)"' \
              -Iinclude $(PKG_CFLAGS) -MMD -MP $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)

# Programs by where `make install` (and so the Debian package) puts them;
# each is built from daemon/NAME.c.  A new program is one word here.
SBIN_PROGS := deadlined deadlined-web
BIN_PROGS  := deadlinectl
MAINS      := $(patsubst %,daemon/%.c,$(SBIN_PROGS) $(BIN_PROGS))
LIB_SRCS   := $(filter-out $(MAINS),$(wildcard daemon/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB        := $(BUILD)/libdeadlined.a
PROGS      := $(patsubst %,$(BUILD)/%,$(SBIN_PROGS) $(BIN_PROGS))
# Every unit in systemd/ and every page in man/ is installed.
UNITS      := $(wildcard systemd/*.service systemd/*.socket systemd/*.timer)
MANPAGES   := $(wildcard man/*.[1-8])
TEST_SRCS  := $(wildcard tests/unit/test_*.c)
TESTS      := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS  := $(wildcard tests/tools/*.c)
TOOLS      := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCHES    := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

# Fuzz targets (tests/fuzz/fuzz_NAME.c): `make check` links each with
# replay.c and replays tests/fuzz/corpus/NAME/; `make fuzz` builds them
# with clang and libFuzzer into build/fuzz/ and runs each FUZZ_SECONDS.
FUZZ_TARGETS := conf date duration evaluate csv
FUZZ_REPLAYS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
FUZZ_COMMON  := $(BUILD)/tests/fuzz/fuzzcheck.o
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang-14
# clang has no -Wformat-truncation, and warns of vsnprintf in log.c's vlog,
# which lacks a format attribute, where gcc does not.
FUZZ_WARN    := -Wno-unknown-warning-option -Wno-format-nonliteral
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer

.PHONY: all check unit-tests demo bench fuzz fuzz-build install uninstall clean deps \
	deb check-deb piuparts build-deps soak-ha

all: $(PROGS)
	@for p in $(SBIN_PROGS) $(BIN_PROGS); do ln -sf $(BUILD)/$$p $$p; done

# A plain `make` on a machine without the libraries names the missing Debian
# packages (scripts/deps.sh --check) instead of failing on a missing header.
build-deps:
	@pkg-config --exists $(PKGS) 2>/dev/null || scripts/deps.sh --check build

$(BUILD)/%.o: %.c | build-deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# import-ssd installs conf/schema/ssd-views.sql: compiled in as bytes.
$(BUILD)/daemon/ssd.o: $(BUILD)/gen/ssd_views.inc
$(BUILD)/daemon/ssd.o: ALL_CFLAGS += -I$(BUILD)/gen
$(BUILD)/gen/ssd_views.inc: conf/schema/ssd-views.sql
	@mkdir -p $(dir $@)
	od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g' > $@

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

$(PROGS): $(BUILD)/%: $(BUILD)/daemon/%.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The targets read conf/ of this tree wherever they are run from.
$(BUILD)/tests/fuzz/%.o: ALL_CFLAGS += -DFUZZ_CONF_DIR='"$(CURDIR)/conf"'

$(BUILD)/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o \
		$(FUZZ_COMMON) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

.SECONDARY: $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/fuzz_%.o) $(BUILD)/tests/fuzz/replay.o \
	$(FUZZ_COMMON)

# Only in the fuzz build (BUILD=build/fuzz, CC=clang): libFuzzer's main.
$(BUILD)/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_COMMON) $(LIB)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

# Installs missing Debian packages when root; otherwise names them.
deps:
	@scripts/deps.sh test

# The benchmarks are built (not run) too, so a changed interface cannot
# break `make bench` unnoticed.
unit-tests: $(PROGS) $(TESTS) $(TOOLS) $(FUZZ_REPLAYS) $(BENCHES)

check: deps
	@$(MAKE) --no-print-directory unit-tests
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) VALGRIND=$(VALGRIND) tests/run-tests.sh $(TESTS)

# The short versions of these run in make check (one round each).
SOAK_ROUNDS ?= 100
soak-ha: deps
	@$(MAKE) --no-print-directory unit-tests
	@for t in lease ha_outbox ha_pair; do \
		echo "== soak: test_$$t.sh, $(SOAK_ROUNDS) rounds"; \
		start=$$(date +%s); \
		LEASE_ROUNDS=$(SOAK_ROUNDS) HA_ROUNDS=$(SOAK_ROUNDS) BUILD=$(BUILD) \
			sh tests/integration/test_$$t.sh || exit 1; \
		echo "(test_$$t.sh: $$(( $$(date +%s) - start )) s)"; \
	done

# The demo needs the build set and python3 only (scripts/deps.sh demo).
demo:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory all
	@tools/demo.sh $(BUILD)

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory $(BENCHES) $(PROGS)
	@tests/bench/run.sh $(BUILD)

# clang and libFuzzer come from scripts/deps.sh's fuzz set, not make check's.
# fuzz-build only builds them; tests/fuzz/run.sh runs one target by hand.
fuzz-build:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=$(FUZZ_CC) OPT=-O1 \
		WARN='$(WARN) $(FUZZ_WARN)' SAN_FLAGS='$(FUZZ_SAN)' \
		$(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(sysconfdir)/deadlined/rules \
		$(DESTDIR)$(DATADIR)/schema $(DESTDIR)$(UNITDIR)
	for p in $(SBIN_PROGS); do install -m 0755 $(BUILD)/$$p $(DESTDIR)$(SBINDIR)/ || exit 1; done
	for p in $(BIN_PROGS); do install -m 0755 $(BUILD)/$$p $(DESTDIR)$(BINDIR)/ || exit 1; done
	test -e $(DESTDIR)$(sysconfdir)/deadlined/deadlined.conf || \
		install -m 0644 conf/deadlined.conf $(DESTDIR)$(sysconfdir)/deadlined/deadlined.conf
	for f in conf/rules/*.conf; do [ -e "$$f" ] || continue; \
		test -e $(DESTDIR)$(sysconfdir)/deadlined/rules/$${f##*/} || \
		install -m 0644 $$f $(DESTDIR)$(sysconfdir)/deadlined/rules/; done
	for f in conf/schema/*.sql; do [ -e "$$f" ] || continue; \
		install -m 0644 $$f $(DESTDIR)$(DATADIR)/schema/; done
	for u in $(UNITS); do \
		sed -e 's#@SBINDIR@#$(SBINDIR)#g' -e 's#@BINDIR@#$(BINDIR)#g' $$u \
			> $(DESTDIR)$(UNITDIR)/$${u##*/} && chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/} \
			|| exit 1; done
	for m in $(MANPAGES); do install -d $(DESTDIR)$(MANDIR)/man$${m##*.} && \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit 1; done

uninstall:
	rm -f $(UNITS:systemd/%=$(DESTDIR)$(UNITDIR)/%)
	rm -rf $(DESTDIR)$(DATADIR)
	rm -f $(SBIN_PROGS:%=$(DESTDIR)$(SBINDIR)/%) $(BIN_PROGS:%=$(DESTDIR)$(BINDIR)/%)
	for m in $(MANPAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done

# The Debian package (debian/), built from a copy of the tree's files in
# build/deb/src so that dpkg-buildpackage's ../ outputs land in build/deb/.
deb:
	@scripts/deps.sh deb
	@scripts/deb-build.sh build/deb

# Installs, upgrades and purges it in a throwaway root, never on this machine.
check-deb: deb
	@BUILD=$(BUILD) sh tests/deb/test_deb.sh build/deb

piuparts: deb
	@tests/deb/piuparts.sh build/deb

clean:
	rm -rf build $(SBIN_PROGS) $(BIN_PROGS)

# build/deb holds a whole copy of the tree (make deb): not this build's.
-include $(shell find build -path build/deb -prune -o -name '*.d' -type f -print 2>/dev/null)
