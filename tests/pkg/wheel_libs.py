#!/usr/bin/python3
"""The apifetch wheel on a Linux without libcjson1: it carries its own.

libcjson1 is rarely installed outside Debian, so the wheel carries the
library, as auditwheel repairs a wheel: apifetch.libs/libcjson-HASH.so.1
(renamed, and its SONAME with it, so that it cannot be mistaken for another
libcjson a process has loaded), the module's DT_NEEDED naming it and its
RUNPATH $ORIGIN/../apifetch.libs.  libcurl and libc are not carried: any
Linux with curl has them.

1. The wheel: what apifetch.libs holds, the module's NEEDED and RUNPATH.
2. A machine view without the system's libcjson: `unshare -rm` and an empty
   file bind-mounted over /usr/lib/<multiarch>/libcjson.so.1*.  There,
   libcjson.so.1 cannot be loaded, the module without the bundled copy
   (build/release/apifetch.so, as in the .deb and the tarball) fails to
   load, and the wheel's module, pip-installed in a venv, loads and fetches
   from the loopback server.

    /usr/bin/python3 tests/pkg/wheel_libs.py BASE_URL      (run by tests/run.py)
"""
import glob
import json
import os
import re
import subprocess
import zipfile

from _pkg import (LOOPBACK, ROOT, check, clean_env, fatal, finish, remove_tree, scratch,
                  wheel_files)

MULTIARCH = subprocess.run(["gcc", "-print-multiarch"], capture_output=True,
                           text=True).stdout.strip()
SYSTEM_LIBS = {"libc.so.6", "libcurl.so.4"}     # on any Linux that has curl


def dynamic(path):
    """(NEEDED list, RUNPATH) of an ELF file, from readelf -d."""
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    runpath = re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[([^\]]+)\]", out)
    return needed, runpath


wheel, _ = wheel_files()
home = scratch("wheel-libs")
try:
    # 1. The wheel's contents.
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        z.extractall(os.path.join(home, "unpacked"))
    libs = sorted(n for n in names if n.startswith("apifetch.libs/") and ".so" in n)
    check(len(libs) == 1 and re.fullmatch(r"apifetch\.libs/libcjson-[0-9a-f]{8}\.so\.1", libs[0]),
          f"{os.path.basename(wheel)} carries libcjson, renamed as auditwheel does: {libs}")
    check(not any(re.search(r"lib(curl|sqlite3|c)[.-]", n) for n in libs),
          "it does not carry libcurl, libsqlite3 or libc")
    check(any(n.startswith("apifetch.libs/") and n.endswith(".copyright") for n in names),
          "it carries the copyright (licence) of what it carries")
    module = os.path.join(home, "unpacked", "apifetch", "apifetch.so")
    needed, runpath = dynamic(module)
    bundled = [os.path.basename(l) for l in libs]
    check(set(needed) == SYSTEM_LIBS | set(bundled),
          f"the module needs the system's {sorted(SYSTEM_LIBS)} and what the wheel carries: {needed}")
    check(runpath == ["$ORIGIN/../apifetch.libs"], f"the module's RUNPATH: {runpath}")
    for lib in libs:
        n, _ = dynamic(os.path.join(home, "unpacked", lib))
        soname = subprocess.run(["readelf", "-d", os.path.join(home, "unpacked", lib)],
                                capture_output=True, text=True).stdout
        check(f"[{os.path.basename(lib)}]" in soname and set(n) <= SYSTEM_LIBS,
              f"{lib}: its SONAME is its new name, it needs only {sorted(SYSTEM_LIBS)}: {n}")

    # 2. A venv with the wheel, and a machine view without libcjson.
    venv = os.path.join(home, "venv")
    r = subprocess.run(f"/usr/bin/python3 -m venv {venv} && {venv}/bin/pip install -q "
                       f"--no-index {wheel}", shell=True, env=clean_env(HOME=home),
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        fatal(f"pip install {os.path.basename(wheel)} into a venv: {r.stdout}{r.stderr}")
    system = sorted({os.path.realpath(p) for p in
                     glob.glob(f"/usr/lib/{MULTIARCH}/libcjson.so.1*")})
    if not system:
        fatal(f"no /usr/lib/{MULTIARCH}/libcjson.so.1* to hide: is libcjson1 installed?")
    hide = " && ".join(f"mount --bind /dev/null {p}" for p in system)
    # SQLite reports only its last try (the name with ".so" added), so the
    # dynamic loader's own reason comes from ctypes.
    load = ("import ctypes, sqlite3, sys\n"
            "c = sqlite3.connect(':memory:')\n"
            "c.enable_load_extension(True)\n"
            "try:\n"
            "    c.load_extension(sys.argv[1])\n"
            "    print('loaded')\n"
            "except sqlite3.Error:\n"
            "    try:\n"
            "        ctypes.CDLL(sys.argv[1])\n"
            "        print('sqlite3 failed, ctypes loaded it')\n"
            "    except OSError as e:\n"
            "        print(e)\n")
    probe = ("import ctypes, json, sqlite3, sys\n"
             "import apifetch\n"
             "out = {'path': apifetch.loadable_path()}\n"
             "try:\n"
             "    ctypes.CDLL('libcjson.so.1')\n"
             "    out['system'] = 'loaded'\n"
             "except OSError as e:\n"
             "    out['system'] = str(e)\n"
             "c = sqlite3.connect(':memory:')\n"
             "apifetch.load(c)\n"
             "out['version'] = c.execute('SELECT api_fetch_version()').fetchone()[0]\n"
             "out['rows'] = c.execute('SELECT count(*) FROM api_fetch(?)',\n"
             "    (json.dumps([f'http://{sys.argv[1]}/array?n=4']),)).fetchone()[0]\n"
             "print(json.dumps(out))\n")
    script = (f"{hide} && "
              f"/usr/bin/python3 -c \"$LOAD\" {ROOT}/build/release/apifetch.so && "
              f"{venv}/bin/python -c \"$PROBE\" {LOOPBACK}")
    r = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=home, timeout=120,
                       env=clean_env(HOME=home, LOAD=load, PROBE=probe),
                       capture_output=True, text=True)
    lines = r.stdout.splitlines()
    if r.returncode != 0 or len(lines) != 2:
        fatal(f"unshare -rm (exit {r.returncode}): {r.stdout[-1500:]}{r.stderr[-1500:]}")
    check("libcjson.so.1" in lines[0] and "loaded" not in lines[0],
          f"hidden: the module without the bundled copy does not load: {lines[0]}")
    try:
        out = json.loads(lines[1])
    except ValueError:
        fatal(f"the wheel's module in the venv: {lines[1]}")
    check("libcjson.so.1" in out["system"] and "loaded" != out["system"],
          f"hidden: the system's libcjson.so.1 cannot be loaded: {out['system']}")
    check(out["path"].startswith(venv), f"the wheel's module is the venv's: {out['path']}")
    check(", cJSON 1." in out["version"] and out["rows"] == 4,
          f"the wheel's module loads with its own libcjson and fetches: {out['version']}, "
          f"{out['rows']} rows")
finally:
    remove_tree(home)

finish()
