#!/usr/bin/python3
"""The example scripts (sql/*.sql) through Python's sqlite3, unchanged: they
must not depend on what only the sqlite3 shell has (generate_series, other
shell-only functions), unless the script says so on a line starting with
"-- sqlite3 shell only:", and only then is it left out here.

The shell's own commands in them are read as the shell reads them: .load
loads the extension, .headers and .mode set how rows are printed (box is
printed as list here), .bail is what this runner does anyway (it stops at
the first error); any other dot-command fails the script.  Each script runs
on a fresh connection with the server the scripts name (127.0.0.1:8080,
`make serve`) replaced by the one tests/run.py started; where
tests/examples/NAME.expected exists (what the shell prints, tests/examples.py)
and the script prints in list mode, what it prints here must be the same.

    /usr/bin/python3 tests/py/sql_scripts.py BASE_URL     (run by tests/run.py)
"""
import io
import os
import re
import sqlite3

from _common import BASE, ROOT, check, finish

SHELL_ONLY = "-- sqlite3 shell only:"
SERVER = "http://127.0.0.1:8080"     # where the scripts fetch from, as shipped


def cell(v):
    """A value as the shell prints it in list mode."""
    if v is None:
        return ""
    if isinstance(v, float):
        s = "%.15g" % v
        return s if any(c in s for c in ".eninf") else s + ".0"
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def run_script(text, out):
    """Runs a script statement by statement, printing rows to out.  Raises
    on an error, as the shell reports one, naming the statement."""
    conn = sqlite3.connect(":memory:")
    headers = False
    pending = ""
    try:
        for line in text.splitlines(keepends=True):
            if not pending.strip() and (not line.strip() or line.lstrip().startswith("--")):
                continue                    # between statements: blank or a comment
            if not pending.strip() and line.startswith("."):
                words = line.split()
                if words[0] == ".load":
                    conn.enable_load_extension(True)
                    conn.load_extension(os.path.join(ROOT, words[1]))
                    conn.enable_load_extension(False)
                elif words[0] == ".headers":
                    headers = words[1] == "on"
                elif words[0] == ".mode" and words[1] in ("list", "box"):
                    pass
                elif words[0] == ".bail" and words[1] == "on":
                    pass
                else:
                    raise ValueError(f"the shell command {line.strip()!r} has no meaning here")
                continue
            pending += line
            if not sqlite3.complete_statement(pending):
                continue
            sql, pending = pending, ""
            try:
                cur = conn.execute(sql)
                rows = cur.fetchall()
            except sqlite3.Error as e:
                raise ValueError(f"{e} in: {sql.strip()[:200]}") from e
            if rows and headers:
                print("|".join(d[0] for d in cur.description), file=out)
            for r in rows:
                print("|".join(cell(v) for v in r), file=out)
        if pending.strip():
            raise ValueError(f"incomplete statement at the end: {pending.strip()[:200]}")
    finally:
        conn.close()


exdir = os.path.join(ROOT, "sql")
names = sorted(n for n in os.listdir(exdir) if n.endswith(".sql"))
check(len(names) >= 4, f"found the example scripts: {', '.join(names)}")
for name in names:
    with open(os.path.join(exdir, name)) as f:
        text = f.read()
    marker = [l for l in text.splitlines() if l.startswith(SHELL_ONLY)]
    if marker:
        print(f"--   {name}: left out, {marker[0]}")
        continue
    out = io.StringIO()
    try:
        run_script(text.replace(SERVER, BASE), out)
        err = None
    except Exception as e:          # any failure is this script's result
        err = f"{type(e).__name__}: {e}"
    printed = out.getvalue().replace(BASE, SERVER)
    check(err is None, f"{name} runs in Python's sqlite3" + (f": {err}" if err else ""))
    expected_path = os.path.join(ROOT, "tests", "examples", name[:-4] + ".expected")
    boxed = re.search(r"(?m)^\.mode box", text) is not None     # the shell draws what we cannot
    if err is None and os.path.exists(expected_path) and not boxed:
        with open(expected_path) as f:
            expected = f.read()
        check(printed == expected, f"{name}: prints what the shell prints "
              f"(tests/examples/{name[:-4]}.expected)"
              + ("" if printed == expected else f"\n--- got:\n{printed}--- expected:\n{expected}"))
    if name == "demo.sql" and err is None:
        check(re.search(r"(?m)^posts\|seconds\n100\|", printed) is not None,
              "demo.sql: the 100 posts were fetched")

finish()
