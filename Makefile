# apifetch - a SQLite extension that fetches JSON APIs concurrently.
#
#   make            build ./apifetch.so (load it with .load ./apifetch)
#   make deps       install the Debian packages needed to build, test and bench,
#                   and the npm servers the tests start (under tests/npm)
#   make test       build and run the test suite, on any clone, as root or not
#                   (SANITIZE=1 for ASan+UBSan, VALGRIND=1 for every sqlite3
#                   shell under valgrind memcheck)
#   make test-packages  build the release packages (make dist) and test them
#                   installed as a user installs them: root (CI runs it)
#   make fuzz       libFuzzer runs of the flattener and the argument parsers
#                   (FUZZ_SECONDS each, default 60; needs make check-deps)
#   make fuzz-http  real queries against a hostile HTTP server, FUZZ_HTTP_SEEDS
#                   seeds (default 400, about 30 s) from FUZZ_HTTP_START
#                   (default 1); SANITIZE=1 (after make clean) for ASan+UBSan
#   make demo       run sql/demo.sql against the bundled local server
#   make serve      run that server on 127.0.0.1:8080, where the docs' examples and sql/ fetch
#   make bench      run the benchmarks (not part of the tests)
#   make torture    allocation-failure torture (tests/torture.c): the Nth allocation
#                   of SQLite, cJSON and libcurl fails, transiently or from then on,
#                   for every N of every query (about 12 minutes); TORTURE_SAMPLE=K runs K
#                   seeded N per query and mode instead (CI: K=300, about a minute);
#                   TORTURE_SEED, TORTURE_JOBS (2), TORTURE_ARGS (e.g. -o log -v)
#   make install    install the module where `.load apifetch` finds it without a
#                   path (PREFIX=/usr/local, DESTDIR, LIBDIR); make uninstall
#   make deb        dist/libsqlite3-mod-apifetch_VERSION_ARCH.deb (dpkg-deb)
#   make wheel      dist/ wheels: the Python package apifetch and the Datasette
#                   plugin datasette-apifetch
#   make dist       those, dist/apifetch-VERSION-linux-ARCH.tar.gz (the module,
#                   README.md, LICENSE, docs/) and dist/SHA256SUMS
#   make clean

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wpointer-arith -Wformat=2
LIBS    = -lcurl -lcjson
PYTHON  ?= /usr/bin/python3

# The version comes from VERSION alone; the C code, the Python packages and
# the .deb all take it from there.  In a git checkout of this repository the
# build also names its commit (api_fetch_version()); elsewhere it does not.
VERSION := $(shell cat VERSION)
COMMIT  := $(shell [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ] && \
             git rev-parse --short HEAD 2>/dev/null)
VERSION_FLAGS = -DAPIFETCH_VERSION='"$(VERSION)"' $(if $(COMMIT),-DAPIFETCH_COMMIT='"$(COMMIT)"')
# A new commit or version rebuilds what embeds it: build/id changes only then.
$(shell mkdir -p build && { echo '$(VERSION) $(COMMIT)' | cmp -s - build/id || \
        echo '$(VERSION) $(COMMIT)' > build/id; })

SRC     = src/apifetch.c src/create.c src/columns.c src/conn.c src/vtab.c src/scan.c src/reqlog.c src/source.c src/sandbox.c src/reqobj.c src/engine.c src/options.c src/onstatus.c src/json.c \
          src/flatten.c src/shape.c src/infer.c src/guard.c src/paginate.c src/policy.c src/util.c src/request.c \
          src/sha256.c src/httpcache.c src/knobs.c src/scalar.c src/transfer.c src/cache.c \
          src/cacheflow.c src/cachesql.c src/hostlimit.c src/hoststats.c src/keep.c src/slot.c \
          src/sockets.c src/chunk.c src/formats.c
SRC    += src/oauth.c src/authflow.c src/cachekey.c
HDR     = src/apifetch.h src/engine_int.h src/cache.h src/shape.h src/scan.h

ifeq ($(SANITIZE),1)
  CFLAGS += -O1 -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
            -DAPIFETCH_DEBUG
endif

# Build: gcc make and the three -dev packages.  Tests: sqlite3 (the shell),
# python3 (runner, loopback server), nginx-light + openssl (TLS, HTTP/2),
# parallel (GNU parallel: the shards of tests/py/shards.py and docs/scale-out.md).
DEB_PKGS = gcc make libsqlite3-dev libcurl4-openssl-dev libcjson-dev sqlite3 python3 \
           nginx-light openssl parallel
DEB_PKGS += nodejs             # oauth2-mock-server (npm-deps)
# Packages and the hosts the tests install them into: dpkg-dev (dpkg-shlibdeps,
# for the .deb's Depends), Debian's Python build tools (the wheels, a venv),
# patchelf (the wheel's module finds the libcjson it carries), sqlite-utils,
# curl (the docs query Datasette with it), and what the
# vendored Datasette (../shared/vendor/README.md) needs to run.
DEB_PKGS += dpkg-dev python3-venv python3-setuptools python3-wheel python3-build patchelf sqlite-utils curl \
           python3-asgiref python3-click python3-click-default-group python3-jinja2 \
           python3-hupper python3-httpx python3-pluggy python3-uvicorn python3-aiofiles \
           python3-janus python3-yaml python3-mergedeep python3-itsdangerous python3-pint \
           python3-multipart
# The npm servers the tests start (tests/py/graphql.py): node and npm from
# Debian where there are none (a node that brings its own npm is kept), the
# packages from the npm registry under tests/npm, pinned, never globally.
NPM_PKGS = json-graphql-server@3.3.2
# CI checks only: valgrind, and clang for libFuzzer.
CHECK_PKGS = valgrind clang
# Benchmarks only: the Python pattern's libraries, curl, and wrk (W3's peer).
BENCH_PKGS = python3-aiohttp python3-pandas python3-tenacity curl wrk

.PHONY: all test test-packages unit demo serve bench deps npm-deps bench-deps check-deps install-pkgs clean \
        install uninstall deb wheel tarball dist torture

all: apifetch.so

build/id:
	@mkdir -p build && echo '$(VERSION) $(COMMIT)' > $@

# Object files, one per source, with their header dependencies (-MMD): a
# change to one file rebuilds that file.  Two sets, because the module is
# built against sqlite3ext.h (-fPIC) and the test programs against the
# SQLite library (-DSQLITE_CORE).  Each set's compiler and flags are kept in
# its flags file, rewritten only when they change (CFLAGS, SANITIZE=1), so a
# change of flags rebuilds the set without a make clean.  Only apifetch.c
# names the commit: a new commit recompiles that one file.
CFLAGS_SO   = $(CFLAGS) $(WARN) -DAPIFETCH_VERSION='"$(VERSION)"' -fPIC -fvisibility=hidden
CFLAGS_CORE = $(CFLAGS) $(WARN) -DAPIFETCH_VERSION='"$(VERSION)"' -DSQLITE_CORE
OBJ_SO      = $(SRC:src/%.c=build/so/%.o)
OBJ_CORE    = $(SRC:src/%.c=build/core/%.o)
# (Not in a dry run, make -n, which must change nothing: tests/py/layers.py
# asks it for the compile command.)
ifeq (,$(findstring n,$(firstword -$(MAKEFLAGS))))
  $(shell mkdir -p build/so build/core)
  ifneq ($(file <build/so/flags),$(CC) $(CFLAGS_SO))
    $(file >build/so/flags,$(CC) $(CFLAGS_SO))
  endif
  ifneq ($(file <build/core/flags),$(CC) $(CFLAGS_CORE))
    $(file >build/core/flags,$(CC) $(CFLAGS_CORE))
  endif
endif
build/so/flags build/core/flags:    # written above; missing only in a dry run
COMMIT_FLAG = $(if $(COMMIT),-DAPIFETCH_COMMIT='"$(COMMIT)"')

build/so/%.o: src/%.c build/so/flags
	$(CC) $(CFLAGS_SO) -MMD -MP -c -o $@ $<
build/core/%.o: src/%.c build/core/flags
	$(CC) $(CFLAGS_CORE) -MMD -MP -c -o $@ $<
build/so/apifetch.o: src/apifetch.c build/so/flags build/id
	$(CC) $(CFLAGS_SO) $(COMMIT_FLAG) -MMD -MP -c -o $@ $<
build/core/apifetch.o: src/apifetch.c build/core/flags build/id
	$(CC) $(CFLAGS_CORE) $(COMMIT_FLAG) -MMD -MP -c -o $@ $<
-include $(OBJ_SO:.o=.d) $(OBJ_CORE:.o=.d)

# The SONAME is the name `.load apifetch` asks the dynamic loader for: it lets
# ldconfig find an installed module by that name (see install).
apifetch.so: $(OBJ_SO)
	$(CC) $(CFLAGS) -shared -Wl,-soname,apifetch.so -o $@ $(OBJ_SO) $(LIBS)

# The pure parts (JSON scanner, policy, options) linked against the real
# SQLite library, for tests/unit.c.
tests/unit: tests/unit.c $(OBJ_CORE)
	$(CC) $(CFLAGS_CORE) -Isrc -o $@ tests/unit.c $(OBJ_CORE) $(LIBS) -lsqlite3

# The flatten micro-benchmark of make bench, from the same objects: make
# test builds it too, so a source list that drifts fails CI, not a bench.
tests/bench_flatten: tests/bench_flatten.c $(OBJ_CORE)
	$(CC) $(CFLAGS_CORE) -Isrc -o $@ tests/bench_flatten.c $(OBJ_CORE) $(LIBS) -lsqlite3 -lm -pthread

# make bench's libcurl floor peers (tests/bench_libcurl.c): libcurl only, no
# code of ours; make test builds it too, so that it keeps compiling.
tests/bench_libcurl: tests/bench_libcurl.c
	$(CC) $(CFLAGS_CORE) -o $@ tests/bench_libcurl.c -lcurl

unit: tests/unit
	./tests/unit

# Allocation-failure torture: the sources compiled in, like tests/unit.
tests/torture: tests/torture.c $(OBJ_CORE)
	$(CC) $(CFLAGS_CORE) -Isrc -o $@ tests/torture.c $(OBJ_CORE) $(LIBS) -lsqlite3

TORTURE_SAMPLE ?=
TORTURE_SEED   ?= 1
TORTURE_JOBS   ?= 2
TORTURE_ARGS   ?=
torture: tests/torture
	./tests/torture -j $(TORTURE_JOBS) $(if $(TORTURE_SAMPLE),-s $(TORTURE_SAMPLE) -S $(TORTURE_SEED)) $(TORTURE_ARGS)

test: apifetch.so tests/unit tests/bench_flatten tests/bench_libcurl
	$(PYTHON) tests/run.py $(if $(filter 1,$(SANITIZE)),--sanitize) $(if $(filter 1,$(VALGRIND)),--valgrind)

# The release packages installed as a user installs them (apt-get, a venv,
# the real Datasette): into the system, so as root.  CI runs it.
test-packages: dist
	$(PYTHON) tests/run.py --sections pkg

demo: apifetch.so
	$(PYTHON) tests/run.py --demo

serve:
	$(PYTHON) tests/loopback.py --port 8080

bench: bench-deps apifetch.so tests/bench_libcurl
	$(PYTHON) tests/bench.py

deps:
	@$(MAKE) -s install-pkgs PKGS="$(DEB_PKGS)"
	@$(MAKE) -s npm-deps

# The npm servers the tests run, never installed globally: json-graphql-server
# (tests/py/graphql.py) into tests/npm, and oauth2-mock-server
# (tests/py/oauth2_mock.py) as its lock file pins it into
# tests/oauth2_mock/node_modules.  npm as Debian packages it, unless Node.js
# came with its own.
.PHONY: npm-deps
npm-deps:
	@command -v npm >/dev/null || $(MAKE) -s install-pkgs PKGS="nodejs npm"
	npm install --prefix tests/npm --no-audit --no-fund --save-exact $(NPM_PKGS)
	cd tests/oauth2_mock && npm ci --no-audit --no-fund --loglevel=error

bench-deps:
	@$(MAKE) -s install-pkgs PKGS="$(BENCH_PKGS)"

check-deps:
	@$(MAKE) -s install-pkgs PKGS="$(CHECK_PKGS)"

install-pkgs:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "all dependencies present"; fi

clean:
	rm -rf apifetch.so tests/unit tests/torture tests/bench_flatten tests/bench_libcurl build dist

# ---------------------------------------------------------------------------
# Installing and packaging.
#
# `.load apifetch` (no path) makes SQLite ask the dynamic loader for
# "apifetch.so".  The loader finds a bare name only in its own directories
# (/usr/lib/<multiarch>, /lib, /usr/lib) or through ldconfig's cache, and
# ldconfig caches only files named lib*.  So the module is installed as
# LIBDIR/libsqlite3_mod_apifetch.so, with its SONAME, apifetch.so, as a link
# beside it; ldconfig then records it under that name, and `.load apifetch`
# works from any directory for any LIBDIR that ld.so.conf lists
# (/usr/local/lib, the default, does).
PREFIX  ?= /usr/local
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
LIBDIR  ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/$(MULTIARCH),$(PREFIX)/lib)
DOCDIR  ?= $(PREFIX)/share/doc/apifetch
# What is installed is the release build (below), as in the packages, not
# ./apifetch.so, which may be a SANITIZE=1 build.
MODULE  ?= build/release/apifetch.so
MODNAME  = libsqlite3_mod_apifetch.so

install: $(MODULE)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR)
	install -m 0644 $(MODULE) $(DESTDIR)$(LIBDIR)/$(MODNAME)
	ln -sf $(MODNAME) $(DESTDIR)$(LIBDIR)/apifetch.so
	install -m 0644 README.md LICENSE CHANGELOG.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(DOCDIR)/docs
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	@if [ -z "$(DESTDIR)" ]; then \
	  ldconfig; \
	  if (cd / && echo 'SELECT api_fetch_version();' | sqlite3 -cmd '.load apifetch' :memory:); then \
	    echo "installed: .load apifetch works from any directory"; \
	  else \
	    echo "installed, but the dynamic loader does not find apifetch.so by name: $(LIBDIR) is not"; \
	    echo "in /etc/ld.so.conf(.d); load it by path: .load $(LIBDIR)/apifetch"; \
	  fi; \
	fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/apifetch.so $(DESTDIR)$(LIBDIR)/$(MODNAME)
	rm -rf $(DESTDIR)$(DOCDIR)
	@if [ -z "$(DESTDIR)" ]; then ldconfig; fi

# What the packages ship is a release build, whatever SANITIZE says: Debian's
# hardening flags, stripped.
RELEASE_CFLAGS  ?= -O2 -DNDEBUG -fstack-protector-strong -D_FORTIFY_SOURCE=2
RELEASE_LDFLAGS ?= -Wl,-z,relro -Wl,-z,now
build/release/apifetch.so: $(SRC) $(HDR) build/id
	@mkdir -p build/release
	$(CC) $(RELEASE_CFLAGS) $(WARN) $(VERSION_FLAGS) -fPIC -shared -fvisibility=hidden \
	  -Wl,-soname,apifetch.so $(RELEASE_LDFLAGS) -o $@ $(SRC) $(LIBS)
	strip --strip-unneeded $@

dist: deb wheel tarball dist/SHA256SUMS

# The Debian package libsqlite3-mod-apifetch, like Debian's own
# libsqlite3-mod-* packages: `apt-get install ./dist/libsqlite3-mod-apifetch_*.deb`.
# Its /usr/share/doc/libsqlite3-mod-apifetch holds README.md.gz, compressed
# as Debian's policy asks, and docs/*.md as they are: the README's links name
# docs/*.md, and so do the docs' links to each other.
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_NAME  = libsqlite3-mod-apifetch
LIBDIR_DEB = /usr/lib/$(MULTIARCH)
DEB_FILE  = dist/$(DEB_NAME)_$(VERSION)_$(DEB_ARCH).deb
deb: $(DEB_FILE)
$(DEB_FILE): build/release/apifetch.so packaging/deb/control.in packaging/deb/triggers \
             LICENSE CHANGELOG.md README.md $(wildcard docs/*.md)
	rm -rf build/deb
	$(MAKE) -s install PREFIX=/usr \
	  DOCDIR=/usr/share/doc/$(DEB_NAME) DESTDIR=$(CURDIR)/build/deb/debian/$(DEB_NAME)
	cd build/deb/debian/$(DEB_NAME)/usr/share/doc/$(DEB_NAME) && \
	  mv LICENSE copyright && gzip -9n CHANGELOG.md && mv CHANGELOG.md.gz changelog.gz && \
	  gzip -9n README.md
	mkdir -p build/deb/debian/$(DEB_NAME)/DEBIAN
	cp packaging/deb/triggers build/deb/debian/$(DEB_NAME)/DEBIAN/
	printf 'Source: apifetch\n\nPackage: $(DEB_NAME)\nArchitecture: any\n' > build/deb/debian/control
	cd build/deb && dpkg-shlibdeps -O -e$(CURDIR)/build/deb/debian/$(DEB_NAME)$(LIBDIR_DEB)/$(MODNAME) \
	  | sed -n 's/^shlibs:Depends=//p' > shlibs
	test -s build/deb/shlibs
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' \
	    -e "s/@DEPENDS@/$$(cat build/deb/shlibs)/" \
	    -e "s/@SQLITE@/$$(sed -n 's/^#define SQLITE_VERSION  *\"\([0-9]*\.[0-9]*\)\..*/\1/p' /usr/include/sqlite3.h)/" \
	    -e "s/@SIZE@/$$(du -sk --exclude=DEBIAN build/deb/debian/$(DEB_NAME) | cut -f1)/" \
	    packaging/deb/control.in > build/deb/debian/$(DEB_NAME)/DEBIAN/control
	@mkdir -p dist
	dpkg-deb --root-owner-group -Zxz --build build/deb/debian/$(DEB_NAME) $@

# Fuzzing (clang with libFuzzer): `make fuzz [FUZZ_SECONDS=60]` builds
# tests/fuzz_flatten (response body -> records -> schema -> rows) and
# tests/fuzz_args (options, url_list, url_query rows) with ASan and UBSan,
# and runs each for FUZZ_SECONDS seconds from a seed corpus
# (tests/fuzz_seeds.py) in a fresh directory under /tmp, which keeps the
# corpus, the logs and any crash input.  Fails if either fuzzer finds anything.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined -DAPIFETCH_DEBUG
FUZZ_SRC     = $(filter-out src/apifetch.c,$(SRC))
FUZZ_FLAGS_flatten = -max_len=65536
FUZZ_FLAGS_args    = -max_len=16384

.PHONY: fuzz clean-fuzz

tests/fuzz_flatten tests/fuzz_args: tests/%: tests/%.c tests/fuzz.h $(FUZZ_SRC) $(HDR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) $(VERSION_FLAGS) -DSQLITE_CORE -Isrc -o $@ $< $(FUZZ_SRC) $(LIBS) -lsqlite3

fuzz: check-deps tests/fuzz_flatten tests/fuzz_args
	@d=$$(mktemp -d /tmp/apifetch-fuzz.XXXXXX) || exit 1; rc=0; \
	for t in flatten args; do \
	  mkdir -p $$d/$$t && $(PYTHON) tests/fuzz_seeds.py $$t $$d/$$t || exit 1; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s, log $$d/$$t.log"; \
	  UBSAN_OPTIONS=print_stacktrace=1 ./tests/fuzz_$$t $$d/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=25 -print_final_stats=1 \
	    $(FUZZ_FLAGS_$$t) -artifact_prefix=$$d/$$t- >$$d/$$t.log 2>&1; \
	  r=$$?; \
	  if [ $$r -ne 0 ] || ls $$d/$$t-* >/dev/null 2>&1; then \
	    rc=1; echo "fuzz_$$t: FAILED (exit $$r); artifacts: $$(ls $$d/$$t-* 2>/dev/null)"; \
	    grep -v '^#\|^INFO\|^\s*$$' $$d/$$t.log | head -n 80; \
	  else \
	    grep -E '^#[0-9]+' $$d/$$t.log | tail -n 1; grep '^stat::' $$d/$$t.log; \
	  fi; \
	done; \
	echo "fuzz: corpus, logs and artifacts in $$d"; exit $$rc

clean: clean-fuzz
clean-fuzz:
	rm -f tests/fuzz_flatten tests/fuzz_args

# The Python package apifetch (the module above in a platform wheel) and the
# Datasette plugin datasette-apifetch, built with Debian's setuptools, wheel
# and build, from copies under build/ so that python/ stays clean.
#
# The wheel carries the libraries its module needs that a usual Linux lacks
# (WHEEL_LIBS: libcjson1 is rarely installed outside Debian), the way
# auditwheel repairs a wheel: each copied into apifetch.libs/ under a name
# with its hash (its SONAME too, so that a process which has loaded another
# libcjson.so.1 does not take that one for ours), the module's DT_NEEDED
# renamed to match and its RUNPATH $ORIGIN/../apifetch.libs, with the
# copyright file of the Debian package it came from.  libcurl and libc are
# not carried: any Linux with curl has them (tests/pkg/wheel_libs.py checks
# that the module needs nothing else).
WHEEL_LIBS   = libcjson.so.1
build/wheel/apifetch.so: build/release/apifetch.so
	rm -rf build/wheel && mkdir -p build/wheel/apifetch.libs
	cp build/release/apifetch.so $@.tmp
	set -e; for lib in $(WHEEL_LIBS); do \
	  path=$$(ldd build/release/apifetch.so | awk -v lib=$$lib '$$1 == lib { print $$3 }'); \
	  test -f "$$path" || { echo "make wheel: ldd finds no $$lib for the module"; exit 1; }; \
	  path=$$(readlink -f $$path); \
	  name=$${lib%%.so*}-$$(sha256sum $$path | cut -c1-8).so$${lib#*.so}; \
	  cp $$path build/wheel/apifetch.libs/$$name; \
	  patchelf --set-soname $$name build/wheel/apifetch.libs/$$name; \
	  patchelf --replace-needed $$lib $$name $@.tmp; \
	  pkg=$$(dpkg-query -S $$path | cut -d: -f1); \
	  cp /usr/share/doc/$$pkg/copyright build/wheel/apifetch.libs/$$pkg.copyright; \
	done
	patchelf --set-rpath '$$ORIGIN/../apifetch.libs' $@.tmp
	mv $@.tmp $@

PY_PLATFORM := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_platform().replace("-", "_").replace(".", "_"))' 2>/dev/null)
WHEEL_FILES  = dist/apifetch-$(VERSION)-py3-none-$(PY_PLATFORM).whl \
               dist/datasette_apifetch-$(VERSION)-py3-none-any.whl
PY_SRC       = $(shell find python -type f -not -path '*/__pycache__/*' 2>/dev/null)
wheel: $(WHEEL_FILES)
$(WHEEL_FILES) &: build/wheel/apifetch.so $(PY_SRC) LICENSE
	rm -rf build/python && mkdir -p build/python dist
	cp -r python/apifetch python/datasette-apifetch build/python/
	for p in apifetch datasette-apifetch; do \
	  cp LICENSE build/python/$$p/ && \
	  APIFETCH_VERSION=$(VERSION) APIFETCH_SO=$(CURDIR)/build/wheel/apifetch.so \
	    APIFETCH_LIBS=$(CURDIR)/build/wheel/apifetch.libs \
	    $(PYTHON) -m build --wheel --no-isolation --outdir dist build/python/$$p >build/python/$$p.log 2>&1 \
	  || { cat build/python/$$p.log; exit 1; }; \
	done
	@ls $(WHEEL_FILES)

# Release assets, as sqlite-vec and sqlean publish theirs: the module alone
# in a tarball, to unpack anywhere and load by its path (it links the
# system's libcurl and libcjson, as the .deb's does), and SHA256SUMS of every
# file make dist writes.  The tarball's file names, owners and times do not
# depend on who built it when: those of the last commit (else of VERSION).
RELEASE       = apifetch-$(VERSION)-linux-$(shell uname -m)
TARBALL       = dist/$(RELEASE).tar.gz
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || stat -c %Y VERSION)
tarball: $(TARBALL)
$(TARBALL): build/release/apifetch.so README.md LICENSE $(wildcard docs/*.md)
	rm -rf build/tarball && mkdir -p build/tarball/$(RELEASE)/docs dist
	cp build/release/apifetch.so README.md LICENSE build/tarball/$(RELEASE)/
	cp docs/*.md build/tarball/$(RELEASE)/docs/
	tar -C build/tarball --sort=name --owner=0 --group=0 --numeric-owner \
	  --mtime=@$(SOURCE_DATE_EPOCH) -cf - $(RELEASE) | gzip -9n > $@.tmp
	mv $@.tmp $@

dist/SHA256SUMS: $(DEB_FILE) $(WHEEL_FILES) $(TARBALL)
	cd dist && sha256sum $(sort $(notdir $^)) > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS

# Hostile-server fuzzing: `make fuzz-http [FUZZ_HTTP_SEEDS=400]
# [FUZZ_HTTP_START=1] [FUZZ_HTTP_JOBS=3] [SANITIZE=1]` starts
# tests/fuzz_http.py (a loopback server that answers each /f/<seed>/...
# with a valid JSON response broken by the seed's mutation operators:
# status lines, headers, chunking, lengths, bodies, content codings,
# redirects, Link headers, Retry-After, drips and early closes) and runs
# tests/fuzz_http_run.py: the seeds in batches of 8, each batch one real
# query in the sqlite3 shell (both faces, with and without each paginate
# kind, short timeouts, concurrency > 1).  It checks that nothing crashes
# or hangs past the bound the options give, and that every url_index and
# every page the server was asked for is a row.  Same seeds, same
# responses: a failure prints a one-line reproduction, and its files are
# kept in a fresh /tmp/apifetch-fuzz-http.* directory.  Counts of URLs,
# responses and requests are printed; exits non-zero on any failure that
# tests/fuzz_http_known.txt does not list.  400 seeds take 30 to 60 s on
# 2 cores.  With SANITIZE=1 the extension is built with ASan+UBSan and the
# shell runs with their runtime preloaded; run make clean first, as
# apifetch.so is not rebuilt on a change of flags.
FUZZ_HTTP_SEEDS ?= 400
FUZZ_HTTP_START ?= 1
FUZZ_HTTP_JOBS  ?= 3

.PHONY: fuzz-http

fuzz-http: apifetch.so
	$(PYTHON) tests/fuzz_http_run.py --start $(FUZZ_HTTP_START) --seeds $(FUZZ_HTTP_SEEDS) \
	  --jobs $(FUZZ_HTTP_JOBS) $(if $(filter 1,$(SANITIZE)),--sanitize)
