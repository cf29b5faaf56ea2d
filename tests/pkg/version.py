#!/usr/bin/python3
"""The version comes from the file VERSION, the commit from git:

1. The release build's api_fetch_version() is "apifetch VERSION (COMMIT),
   libcurl X, cJSON Y", COMMIT being `git rev-parse --short HEAD` of this
   checkout (when the tests run in one).
2. Built outside a git checkout (a copy of the sources), it names no commit.
3. The .deb, both wheels and the docs name VERSION (the first two by their
   file names, checked in _pkg; the CHANGELOG has an entry for it).

    /usr/bin/python3 tests/pkg/version.py BASE_URL      (run by tests/run.py)
"""
import os
import re
import shutil
import subprocess

from _pkg import ROOT, VERSION, check, clean_env, deb_file, finish, remove_tree, scratch, wheel_files


def version_of(module):
    r = subprocess.run(["sqlite3", ":memory:", f".load {module}", "SELECT api_fetch_version();"],
                       env=clean_env(), capture_output=True, text=True, timeout=60)
    return (r.stdout + r.stderr).strip()


check(re.fullmatch(r"\d+\.\d+\.\d+", VERSION) is not None, f"VERSION is {VERSION}")
top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=ROOT, capture_output=True,
                     text=True).stdout.strip()
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                        text=True).stdout.strip() if top == ROOT else ""
release = version_of(os.path.join(ROOT, "build", "release", "apifetch"))
want = f"apifetch {VERSION}" + (f" ({commit})" if commit else "") + ", libcurl "
check(release.startswith(want) and ", cJSON " in release,
      f"release build: {release} (git: {commit or 'not a git checkout'})")

copy = scratch("version")
try:
    for name in ("Makefile", "VERSION", "src"):
        src = os.path.join(ROOT, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(copy, name))
    r = subprocess.run(["make", "-s", "apifetch.so"], cwd=copy, env=clean_env(GIT_CEILING_DIRECTORIES=os.path.dirname(copy)),
                       capture_output=True, text=True, timeout=300)
    plain = version_of(os.path.join(copy, "apifetch")) if r.returncode == 0 else r.stderr[-500:]
    check(plain.startswith(f"apifetch {VERSION}, libcurl "),
          f"built outside a git checkout, no commit: {plain}")
finally:
    remove_tree(copy)

deb_file()
wheel_files()
with open(os.path.join(ROOT, "CHANGELOG.md")) as f:
    check(f"\n## {VERSION}\n" in f.read(), f"CHANGELOG.md has an entry for {VERSION}")

finish()
