# apifetch - a SQLite extension that fetches JSON APIs concurrently.
#
#   make            build ./apifetch.so (load it with .load ./apifetch)
#   make deps       install the Debian packages needed to build, test and bench
#   make test       build and run the whole test suite (SANITIZE=1 for ASan+UBSan,
#                   VALGRIND=1 for every sqlite3 shell under valgrind memcheck)
#   make fuzz       libFuzzer runs of the flattener and the argument parsers
#                   (FUZZ_SECONDS each, default 60; needs make check-deps)
#   make fuzz-http  real queries against a hostile HTTP server, FUZZ_HTTP_SEEDS
#                   seeds (default 400, about 30 s) from FUZZ_HTTP_START
#                   (default 1); SANITIZE=1 (after make clean) for ASan+UBSan
#   make demo       run sql/demo.sql against the bundled local server
#   make bench      run the benchmarks (not part of the tests)
#   make clean

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wpointer-arith -Wformat=2
LIBS    = -lcurl -lcjson
PYTHON  ?= /usr/bin/python3

SRC     = src/apifetch.c src/vtab.c src/engine.c src/options.c src/json.c \
          src/flatten.c src/infer.c src/guard.c src/paginate.c src/policy.c
HDR     = src/apifetch.h

ifeq ($(SANITIZE),1)
  CFLAGS += -O1 -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

# Build: gcc make and the three -dev packages.  Tests: sqlite3 (the shell),
# python3 (runner, loopback server), nginx-light + openssl (TLS, HTTP/2).
DEB_PKGS = gcc make libsqlite3-dev libcurl4-openssl-dev libcjson-dev sqlite3 python3 \
           nginx-light openssl
# CI checks only: valgrind, and clang for libFuzzer.
CHECK_PKGS = valgrind clang
# Benchmarks only: the Python pattern's libraries and curl.
BENCH_PKGS = python3-aiohttp python3-pandas python3-tenacity curl

.PHONY: all test unit demo bench deps bench-deps check-deps install-pkgs clean

all: apifetch.so

apifetch.so: $(SRC) $(HDR)
	$(CC) $(CFLAGS) $(WARN) -fPIC -shared -fvisibility=hidden -o $@ $(SRC) $(LIBS)

# The pure parts (JSON scanner, policy, options) linked against the real
# SQLite library, for tests/unit.c.
tests/unit: tests/unit.c $(SRC) $(HDR)
	$(CC) $(CFLAGS) $(WARN) -DSQLITE_CORE -Isrc -o $@ tests/unit.c $(SRC) $(LIBS) -lsqlite3

unit: tests/unit
	./tests/unit

test: apifetch.so tests/unit
	$(PYTHON) tests/run.py $(if $(filter 1,$(SANITIZE)),--sanitize) $(if $(filter 1,$(VALGRIND)),--valgrind)

demo: apifetch.so
	$(PYTHON) tests/run.py --demo

bench: bench-deps apifetch.so
	$(PYTHON) tests/bench.py

deps:
	@$(MAKE) -s install-pkgs PKGS="$(DEB_PKGS)"

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
	rm -f apifetch.so tests/unit

# Fuzzing (clang with libFuzzer): `make fuzz [FUZZ_SECONDS=60]` builds
# tests/fuzz_flatten (response body -> records -> schema -> rows) and
# tests/fuzz_args (options, url_list, url_query rows) with ASan and UBSan,
# and runs each for FUZZ_SECONDS seconds from a seed corpus
# (tests/fuzz_seeds.py) in a fresh directory under /tmp, which keeps the
# corpus, the logs and any crash input.  Fails if either fuzzer finds anything.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined
FUZZ_SRC     = $(filter-out src/apifetch.c,$(SRC))
FUZZ_FLAGS_flatten = -max_len=65536
FUZZ_FLAGS_args    = -max_len=16384

.PHONY: fuzz clean-fuzz

tests/fuzz_flatten tests/fuzz_args: tests/%: tests/%.c tests/fuzz.h $(FUZZ_SRC) $(HDR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -DSQLITE_CORE -Isrc -o $@ $< $(FUZZ_SRC) $(LIBS) -lsqlite3

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
