# apifetch - a SQLite extension that fetches JSON APIs concurrently.
#
#   make            build ./apifetch.so (load it with .load ./apifetch)
#   make deps       install the Debian packages needed to build, test and bench
#   make test       build and run the whole test suite (SANITIZE=1 for ASan+UBSan)
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
          src/flatten.c src/infer.c src/guard.c src/policy.c
HDR     = src/apifetch.h

ifeq ($(SANITIZE),1)
  CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

# Build: gcc make and the three -dev packages.  Tests: sqlite3 (the shell),
# python3 (runner, loopback server), nginx-light + openssl (TLS, HTTP/2).
DEB_PKGS = gcc make libsqlite3-dev libcurl4-openssl-dev libcjson-dev sqlite3 python3 \
           nginx-light openssl
# Benchmarks only: the Python pattern's libraries and curl.
BENCH_PKGS = python3-aiohttp python3-pandas python3-tenacity curl

.PHONY: all test unit demo bench deps bench-deps install-pkgs clean

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
	$(PYTHON) tests/run.py $(if $(filter 1,$(SANITIZE)),--sanitize)

demo: apifetch.so
	$(PYTHON) tests/run.py --demo

bench: bench-deps apifetch.so
	$(PYTHON) tests/bench.py

deps:
	@$(MAKE) -s install-pkgs PKGS="$(DEB_PKGS)"

bench-deps:
	@$(MAKE) -s install-pkgs PKGS="$(BENCH_PKGS)"

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
