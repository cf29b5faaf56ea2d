#!/usr/bin/python3
"""The release assets of make dist, the convention of sqlite-vec and sqlean:
dist/apifetch-VERSION-linux-ARCH.tar.gz and dist/SHA256SUMS.

1. The tarball holds one folder, apifetch-VERSION-linux-ARCH/, with exactly
   apifetch.so, README.md, LICENSE and docs/*.md, owned by root (0/0).
2. SHA256SUMS names exactly the files make dist writes: the .deb, the two
   wheels and the tarball.
3. docs/install.md's example release: sha256sum -c SHA256SUMS in dist/;
   the tarball unpacked in the home folder (a scratch folder here); the
   module loaded from there in the sqlite3 shell, and a fetch from the
   loopback server; again by its path, run from /.  Then: it is this build; and a file
   changed by one byte fails sha256sum -c.

    /usr/bin/python3 tests/pkg/release.py BASE_URL      (run by tests/run.py)
"""
import glob
import os
import platform
import shutil
import subprocess
import tarfile

from _pkg import (ROOT, VERSION, artefact, build_id, check, clean_env, deb_file, examples,
                  finish, remove_tree, run_console, scratch, wheel_files)

RELEASE = f"apifetch-{VERSION}-linux-{platform.machine()}"
tarball = artefact(f"{RELEASE}.tar.gz")
sums = artefact("SHA256SUMS")

# 1. What the tarball holds.
with tarfile.open(tarball) as t:
    members = t.getmembers()
files = sorted(m.name for m in members if m.isfile())
want = sorted([f"{RELEASE}/apifetch.so", f"{RELEASE}/README.md", f"{RELEASE}/LICENSE"] +
              [f"{RELEASE}/docs/{os.path.basename(d)}"
               for d in glob.glob(os.path.join(ROOT, "docs", "*.md"))])
check(files == want, f"{os.path.basename(tarball)} holds exactly {want}: {files}")
check(all(m.name == RELEASE or m.name.startswith(RELEASE + "/") for m in members)
      and all(m.uid == 0 and m.gid == 0 for m in members),
      f"in one folder {RELEASE}/, owned by 0/0")

# 2. What SHA256SUMS names.
with open(sums) as f:
    named = [line.split()[1] for line in f if line.strip()]
made = sorted(os.path.basename(p) for p in (deb_file(), *wheel_files(), tarball))
check(named == made, f"SHA256SUMS names exactly what make dist writes, sorted: {named}")

home = scratch("release")
try:
    # 3. The docs' example, HOME a scratch folder.
    run_console("release", examples()["release"][1], home)
    module = os.path.join(home, RELEASE, "apifetch")
    r = subprocess.run(["sqlite3", ":memory:", f".load {module}", "SELECT api_fetch_version();"],
                       cwd="/", env=clean_env(), capture_output=True, text=True, timeout=60)
    got = (r.stdout + r.stderr).strip()
    check(got.startswith(f"apifetch {build_id()}, libcurl "),
          f"the unpacked module is this build: {got}")

    copy = os.path.join(home, "dist")
    os.mkdir(copy)
    for name in named + ["SHA256SUMS"]:
        shutil.copyfile(os.path.join(ROOT, "dist", name), os.path.join(copy, name))
    with open(os.path.join(copy, named[0]), "r+b") as f:
        byte = f.read(1)
        f.seek(0)
        f.write(bytes([byte[0] ^ 1]))
    r = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=copy, capture_output=True,
                       text=True)
    check(r.returncode != 0 and f"{named[0]}: FAILED" in r.stdout,
          f"a file changed by one byte fails sha256sum -c: {r.stdout.splitlines()[:1]}")
finally:
    remove_tree(home)

finish()
