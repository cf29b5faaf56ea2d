"""What the package tests (tests/pkg/*.py) share; not a test itself.

The package tests take what `make dist` built (dist/: the .deb and the two
wheels, a release build whatever SANITIZE says) and use it as a user would:
installed with apt-get, pip into a fresh venv, the real Datasette.  They run
the examples of docs/install.md and compare what each prints with the docs.

An example is a fenced block after a line `<!-- example: NAME -->`:

  console  `$ command` lines run with bash (cwd: the repository, HOME: a
           scratch folder, so `~/...` stays inside the test); `sqlite> `
           lines are the standard input of the command before them; other
           lines are what that command must print (stdout and stderr).  A
           command followed by no such lines must exit with status 0, and
           what it prints is not compared.
  pycon    a doctest, run by the venv's Python.
  json     a file the test writes (Datasette's metadata).

Before running, 127.0.0.1:8080 (the test server in the docs) becomes the
real loopback server, and the commit in "apifetch 0.2.0 (1111d13)" the
build's own.  The version itself is not rewritten: the docs must name the
version in VERSION.
"""
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile

BASE = sys.argv[1]
LOOPBACK = BASE.split("//", 1)[1]            # 127.0.0.1:PORT
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs", "install.md")
with open(os.path.join(ROOT, "VERSION")) as f:
    VERSION = f.read().strip()
DOCS_LOOPBACK = "127.0.0.1:8080"
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    sys.stdout.flush()
    failures += 0 if ok else 1
    return ok


def finish():
    print(f"{failures} failures")
    sys.exit(1 if failures else 0)


def fatal(what):
    """A test that cannot go on: say why and fail."""
    check(False, what)
    finish()


def clean_env(**extra):
    """The environment without the sanitizer runtime that a SANITIZE=1 run
    preloads: the packages hold release builds."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "APIFETCH_CONFIG",
                        "PYTHONPATH", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(extra)
    return env


def build_id():
    """'0.2.0 (abc1234)' or '0.2.0', as api_fetch_version() names the build."""
    with open(os.path.join(ROOT, "build", "id")) as f:
        words = f.read().split()
    return words[0] + (f" ({words[1]})" if len(words) > 1 else "")


def artefact(name):
    path = os.path.join(ROOT, "dist", name)
    if not os.path.exists(path):
        fatal(f"{path} is missing: `make dist` (which `make test` runs first) builds it")
    return path


def deb_file():
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          text=True).stdout.strip()
    return artefact(f"libsqlite3-mod-apifetch_{VERSION}_{arch}.deb")


def wheel_files():
    import sysconfig
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return (artefact(f"apifetch-{VERSION}-py3-none-{plat}.whl"),
            artefact(f"datasette_apifetch-{VERSION}-py3-none-any.whl"))


def examples():
    """{name: (language, text)} of docs/install.md."""
    with open(DOCS) as f:
        docs = f.read()
    found = {}
    for m in re.finditer(r"<!-- example: (\S+) -->\n```(\w+)\n(.*?)```\n", docs, re.S):
        found[m.group(1)] = (m.group(2), m.group(3))
    return found


def localise(text):
    """The docs' text for this run: the real loopback server, this build's
    commit."""
    text = text.replace(DOCS_LOOPBACK, LOOPBACK)
    return re.sub(r"apifetch (\d+\.\d+\.\d+)(?: \([0-9a-f]{7,40}\))?",
                  lambda m: "apifetch " + (build_id() if m.group(1) == VERSION
                                           else m.group(1)), text)


def run_console(name, text, home, env=None, replace=()):
    """Runs a console example; one check per command.  replace: more
    (docs text, this run's text) pairs, applied to commands and output."""
    text = localise(text)
    for a, b in replace:
        text = text.replace(a, b)
    steps = []                      # [command, stdin lines, expected lines]
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append([line[2:], [], []])
        elif not steps:
            fatal(f"docs example {name}: text before the first command: {line!r}")
        elif steps[-1][0].endswith("\\"):
            steps[-1][0] = steps[-1][0][:-1] + line
        elif line.startswith("sqlite> "):
            steps[-1][1].append(line[len("sqlite> "):])
        else:
            steps[-1][2].append(line)
    env = dict(env or clean_env())
    env["HOME"] = home
    for cmd, stdin, expected in steps:
        r = subprocess.run(["bash", "-c", cmd], cwd=ROOT, env=env, timeout=300,
                           input="".join(l + "\n" for l in stdin), text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        short = cmd if len(cmd) < 90 else cmd[:87] + "..."
        if expected:
            got = r.stdout.rstrip("\n").splitlines()
            check(got == expected, f"docs/install.md {name}: $ {short}" +
                  ("" if got == expected else
                   "\n  expected:\n    " + "\n    ".join(expected) +
                   "\n  got:\n    " + "\n    ".join(got)))
        else:
            check(r.returncode == 0, f"docs/install.md {name}: $ {short}" +
                  ("" if r.returncode == 0 else
                   f"\n  exit {r.returncode}:\n    " + r.stdout[-2000:].replace("\n", "\n    ")))


def run_pycon(name, text, python, cwd):
    """Runs a pycon example as a doctest with the given Python."""
    runner = r'''
import doctest, sys
text = sys.stdin.read()
test = doctest.DocTestParser().get_doctest(text, {}, "example", "docs/install.md", 0)
r = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
r.run(test)
print(f"DOCTEST {r.failures} failed of {r.tries}")
'''
    r = subprocess.run([python, "-c", runner], input=localise(text), text=True, cwd=cwd,
                       env=clean_env(), capture_output=True, timeout=120)
    m = re.search(r"DOCTEST (\d+) failed of (\d+)", r.stdout)
    ok = m is not None and m.group(1) == "0" and int(m.group(2)) > 0
    check(ok, f"docs/install.md {name}: the doctest passes with {python}" +
          (f" ({m.group(2)} examples)" if ok else "\n" + (r.stdout + r.stderr)[-3000:]))


def scratch(prefix):
    return tempfile.mkdtemp(prefix=f"apifetch-{prefix}-")


def make_venv(home):
    """The docs' venv (python-install example) inside home."""
    ex = examples()
    run_console("python-install", ex["python-install"][1], home)
    python = os.path.join(home, "apifetch-venv", "bin", "python")
    if not os.path.exists(python):
        fatal(f"no venv at {python}")
    return python


class SystemLock:
    """One package test at a time on this machine may install into the
    system (several worktrees may run the suite at once)."""

    def __enter__(self):
        self.f = open("/tmp/apifetch-system-install.lock", "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
