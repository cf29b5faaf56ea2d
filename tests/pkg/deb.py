#!/usr/bin/python3
"""The Debian package and make install, as a user installs them (root):

1. dist/libsqlite3-mod-apifetch_VERSION_ARCH.deb says what it is (version
   from VERSION, Depends on libcurl4, libcjson1, libsqlite3-0).
   It ships docs/*.md, which the installed README links to.
2. docs/install.md's examples: apt-get install ./...deb; `.load apifetch`
   in the sqlite3 shell from another directory and a fetch from the loopback
   server; the same module by name from Python's sqlite3; by its installed
   path, libsqlite3_mod_apifetch.so, from both (as Datasette and
   better-sqlite3 take it); sqlite-utils --load-extension apifetch; apt-get
   remove, after which `.load apifetch` fails again and the files are gone.
3. make install (PREFIX=/usr/local), `.load apifetch` from / without a
   path, make uninstall.

    /usr/bin/python3 tests/pkg/deb.py BASE_URL      (run by tests/run.py)
"""
import glob
import os
import re
import subprocess

from _pkg import (LOOPBACK, ROOT, VERSION, SystemLock, check, clean_env, deb_file, examples,
                  fatal, finish, remove_tree, run_console, scratch)

PACKAGE = "libsqlite3-mod-apifetch"
MULTIARCH = subprocess.run(["gcc", "-print-multiarch"], capture_output=True,
                           text=True).stdout.strip()
DEB_FILES = [f"/usr/lib/{MULTIARCH}/libsqlite3_mod_apifetch.so", f"/usr/lib/{MULTIARCH}/apifetch.so"]
DOCDIR = f"/usr/share/doc/{PACKAGE}"
LOCAL_FILES = ["/usr/local/lib/libsqlite3_mod_apifetch.so", "/usr/local/lib/apifetch.so"]


def installed(package):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True,
                       text=True)
    return "install ok installed" in r.stdout


def load_by_name():
    """`.load apifetch` from / in the sqlite3 shell: its output."""
    r = subprocess.run(["sqlite3", ":memory:", ".load apifetch", "SELECT api_fetch_version();"],
                       cwd="/", env=clean_env(), capture_output=True, text=True, timeout=60)
    return (r.stdout + r.stderr).strip()


if os.geteuid() != 0:
    fatal("the package tests install into the system and must run as root "
          "(as the README's `make deps test`)")
deb = deb_file()
ex = examples()

# 1. What the package says about itself.
fields = {}
for line in subprocess.run(["dpkg-deb", "-f", deb], capture_output=True, text=True).stdout.splitlines():
    if ":" in line and not line.startswith(" "):
        k, v = line.split(":", 1)
        fields[k] = v.strip()
check(fields.get("Package") == PACKAGE and fields.get("Version") == VERSION,
      f"{os.path.basename(deb)}: Package {fields.get('Package')}, Version {fields.get('Version')}")
depends = fields.get("Depends", "")
check(all(d in depends for d in ("libcurl4", "libcjson1", "libsqlite3-0")),
      f"Depends: {depends}")
listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True).stdout
check(all("." + f in listing for f in DEB_FILES) and "/usr/share/doc/" + PACKAGE + "/copyright" in listing,
      f"ships the module, its link apifetch.so and a copyright file")
docs = sorted(f"{DOCDIR}/docs/{os.path.basename(f)}" for f in glob.glob(os.path.join(ROOT, "docs", "*.md")))
missing = [d for d in docs if "." + d not in listing]
check(docs and not missing, f"ships docs/*.md in {DOCDIR}/docs/: missing {missing}")
with open(os.path.join(ROOT, "README.md")) as f:
    links = sorted(set(re.findall(r"\]\((docs/[^)#]+)", f.read())))
check(links and all(f".{DOCDIR}/{l}" in listing for l in links),
      f"every docs/ page the README links to is installed beside it: {links}")

with SystemLock():
    if installed(PACKAGE) or any(os.path.lexists(f) for f in LOCAL_FILES):
        fatal(f"{PACKAGE} or /usr/local/lib/apifetch.so is already installed on this machine; "
              "the test installs and removes its own build: remove it first "
              "(apt-get remove libsqlite3-mod-apifetch; make uninstall)")
    home = scratch("deb")
    try:
        # 2. The package: install, use from three hosts, remove.
        check("not found" in load_by_name() or "cannot open" in load_by_name(),
              f"before: .load apifetch fails ({load_by_name().splitlines()[0]})")
        run_console("build", ex["build"][1], home)
        run_console("deb-install", ex["deb-install"][1], home)
        check(installed(PACKAGE) and all(os.path.lexists(f) for f in DEB_FILES),
              f"installed: {', '.join(DEB_FILES)}")
        run_console("shell", ex["shell"][1], home)
        py = subprocess.run(
            ["/usr/bin/python3", "-c",
             "import json, sqlite3, sys\n"
             "c = sqlite3.connect(':memory:')\n"
             "c.enable_load_extension(True)\n"
             "c.load_extension('apifetch')\n"
             "print(c.execute('SELECT count(*) FROM api_fetch(?)',\n"
             "                (json.dumps([f'http://{sys.argv[1]}/array?n=4']),)).fetchone()[0])",
             LOOPBACK], cwd="/", env=clean_env(), capture_output=True, text=True, timeout=60)
        check(py.stdout.strip() == "4", "Python's sqlite3 loads it by name, load_extension('apifetch'): "
              + (py.stdout + py.stderr).strip()[-300:])
        # By its path, under the file name the package gives it: no
        # sqlite3_sqlitemodapifetch_init, so the module's sqlite3_extension_init.
        query = f"SELECT count(*) FROM api_fetch('[\"http://{LOOPBACK}/array?n=2\"]');"
        r = subprocess.run(["sqlite3", ":memory:", f".load {DEB_FILES[0]}", query], cwd="/",
                           env=clean_env(), capture_output=True, text=True, timeout=60)
        check((r.stdout + r.stderr).strip() == "2",
              f"sqlite3 shell: .load {DEB_FILES[0]}: {(r.stdout + r.stderr).strip()[-300:]}")
        py = subprocess.run(
            ["/usr/bin/python3", "-c",
             "import sqlite3, sys\n"
             "c = sqlite3.connect(':memory:')\n"
             "c.enable_load_extension(True)\n"
             "c.load_extension(sys.argv[1])\n"
             "print(c.execute(sys.argv[2]).fetchone()[0])", DEB_FILES[0], query],
            cwd="/", env=clean_env(), capture_output=True, text=True, timeout=60)
        check(py.stdout.strip() == "2", f"Python's sqlite3: load_extension({DEB_FILES[0]!r}): "
              + (py.stdout + py.stderr).strip()[-300:])
        run_console("sqlite-utils", ex["sqlite-utils"][1], home)
        run_console("deb-remove", ex["deb-remove"][1], home)
        check(not installed(PACKAGE) and not any(os.path.lexists(f) for f in DEB_FILES),
              "removed: the files are gone")
        after = load_by_name()
        check("cannot open shared object file" in after, f"after removal .load apifetch fails: {after}")

        # 3. make install / make uninstall under /usr/local.
        run_console("shell-make-install", ex["shell-make-install"][1], home)
        check(not any(os.path.lexists(f) for f in LOCAL_FILES),
              "make uninstall removed /usr/local/lib/libsqlite3_mod_apifetch.so and its link")
    finally:
        # Whatever failed above, leave the machine as it was.
        if installed(PACKAGE):
            subprocess.run(["apt-get", "remove", "-y", "-qq", PACKAGE], env=clean_env(),
                           capture_output=True)
        if any(os.path.lexists(f) for f in LOCAL_FILES):
            subprocess.run(["make", "-s", "uninstall"], cwd=ROOT, env=clean_env(),
                           capture_output=True)
        remove_tree(home)

finish()
