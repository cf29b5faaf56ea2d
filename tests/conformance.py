#!/usr/bin/python3
"""Conformance of the wide face with pandas.json_normalize(doc, sep='_').

Run by tests/run.py (or alone: tests/conformance.py BASE_URL [--update]).

For every tests/conformance/cases/NAME.json ({"doc", "args", "note",
optional "differences"}) the loopback server serves "doc" at /case?name=NAME
and one sqlite3 shell runs, per case,

    CREATE VIRTUAL TABLE temp.tNAME USING api_fetch(url_list='["<url>"]', <args>);
    SELECT name, type FROM pragma_table_info('tNAME');   -- .mode json
    SELECT * FROM tNAME;

where args are the case's json_normalize arguments written as table
arguments (record_path and meta as JSON text).  Two checks per case:

1. Regression: the output (column names, declared types, values with their
   SQLite types, or the CREATE error) equals tests/conformance/apifetch/
   NAME.json exactly.  --update rewrites those files (review the diff).
2. Pandas: tests/conformance/pandas/NAME.json (made by make_expected.py with
   pandas 1.5.3) agrees: the same column names in the same order and, row
   by row, equal values, where a number agrees with an equal number of
   either type (pandas' 10.0 with our 10, but not 9007199254740992.0 with
   our 9007199254740993), true/false with 1/0, and a list or object with
   our JSON text of it.  A case that does not agree must list why under
   "differences" (kinds from DIFFERENCES, each documented in README.md); a
   case that lists a difference but agrees fails too, so the list stays
   true.

Prints PASS/FAIL lines through the caller's report() and returns the
numbers (agree, deliberate difference).
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conformance")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DIFFERENCES = {
    "exact-integers": "integers stay exact; pandas goes through float64",
    "big-integers": "integers beyond 64 bits are TEXT digit for digit",
    "timestamps": "RFC 3339 timestamps with an offset are normalised to UTC",
    "numeric-strings": "strings that print back exactly become numbers",
    "name-collisions": "a second value for one name gets name_2 instead of "
                       "overwriting the first; SQLite names ignore case",
    "leading-separator": "keys starting with sep keep it (pandas strips one)",
    "scalar-records": "scalar records go in a column named value (pandas: 0)",
    "no-columns": "a sample with no keys at all is a CREATE error",
    "pandas-error": "pandas raises; apifetch gives rows, error rows or NULLs",
}


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def table_args(name, args, base):
    out = [f"url_list={sql_str(json.dumps([f'{base}/case?name={name}']))}"]
    for k, v in args.items():
        if k in ("record_path", "meta"):
            out.append(f"{k}={sql_str(json.dumps(v))}")
        elif isinstance(v, str):
            out.append(f"{k}={sql_str(v)}")
        else:
            out.append(f"{k}={v}")
    return ", ".join(out)


def run_cases(base, env, sqlite, names):
    lines = [".load ./apifetch", ".mode json"]
    for name in names:
        with open(os.path.join(HERE, "cases", name + ".json"), encoding="utf-8") as f:
            case = json.load(f)
        t = f"t{name}"
        lines += [f".print @@CASE {name}",
                  f"CREATE VIRTUAL TABLE temp.{t} USING api_fetch("
                  f"{table_args(name, case['args'], base)});",
                  ".print @@COLUMNS",
                  f"SELECT name, type FROM pragma_table_info('{t}');",
                  ".print @@ROWS",
                  f"SELECT * FROM temp.{t};",
                  f"DROP TABLE IF EXISTS temp.{t};"]
    r = subprocess.run([sqlite, "-batch", ":memory:"], input="\n".join(lines) + "\n",
                       cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=300)
    return r.returncode, parse(r.stdout, base)


def parse(out, base):
    """{name: {"columns": [[name, type]...], "rows": [[...]...]} or {"error"}}"""
    res, cur, part, buf = {}, None, None, []

    def flush():
        if cur is None:
            return
        text = "".join(buf).strip()
        if part == "create":
            if text:
                text = re.sub(r"^(\w+ error) near line \d+:", r"\1:", text)
                res[cur] = {"error": text.replace(base, "$BASE")}
        elif cur in res and "error" in res[cur]:
            pass
        elif part == "columns":
            res[cur] = {"columns": [[c["name"], c["type"]] for c in json.loads(text or "[]")],
                        "rows": []}
        elif part == "rows":
            rows = json.loads(text or "[]", object_pairs_hook=lambda kv: [v for _, v in kv])
            res[cur]["rows"] = rows

    for line in out.splitlines(keepends=True):
        if line.startswith("@@CASE "):
            flush()
            cur, part, buf = line.split()[1], "create", []
        elif line.startswith("@@COLUMNS"):
            flush()
            part, buf = "columns", []
        elif line.startswith("@@ROWS"):
            flush()
            part, buf = "rows", []
        else:
            buf.append(line)
    flush()
    return res


def same_value(p, o):
    """Does pandas' value p agree with apifetch's value o?"""
    if p is None or o is None:
        return p is None and o is None
    if isinstance(p, bool):
        return type(o) is int and o == int(p)
    if isinstance(p, int):
        return type(o) is int and o == p
    if isinstance(p, float):
        return type(o) in (int, float) and o == p
    if isinstance(p, (list, dict)):
        if not isinstance(o, str):
            return False
        try:
            return json.loads(o) == p
        except ValueError:
            return False
    return isinstance(o, str) and o == p


def agrees(pd_out, ours):
    if "error" in pd_out or "error" in ours:
        return False
    if [c for c, _ in ours["columns"]] != pd_out["columns"]:
        return False
    if len(ours["rows"]) != len(pd_out["rows"]):
        return False
    return all(len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
               for a, b in zip(pd_out["rows"], ours["rows"]))


def run(base, env, sqlite, report, update=False):
    names = sorted(n[:-5] for n in os.listdir(os.path.join(HERE, "cases")) if n.endswith(".json"))
    code, res = run_cases(base, env, sqlite, names)
    n_agree = n_diff = 0
    os.makedirs(os.path.join(HERE, "apifetch"), exist_ok=True)
    for name in names:
        with open(os.path.join(HERE, "cases", name + ".json"), encoding="utf-8") as f:
            case = json.load(f)
        with open(os.path.join(HERE, "pandas", name + ".json"), encoding="utf-8") as f:
            pd_out = json.load(f)
        ours = res.get(name, {"error": "no output"})
        text = json.dumps(ours, ensure_ascii=False, indent=1) + "\n"
        exp_path = os.path.join(HERE, "apifetch", name + ".json")
        if update:
            with open(exp_path, "w", encoding="utf-8") as f:
                f.write(text)
        expected = open(exp_path, encoding="utf-8").read() if os.path.exists(exp_path) else None
        declared = case.get("differences", {})
        unknown = [k for k in declared if k not in DIFFERENCES]
        ok_pd = agrees(pd_out, ours)
        problems = []
        if expected != text:
            problems.append(f"output differs from {os.path.relpath(exp_path, ROOT)}:\n"
                            f"  got {json.dumps(ours, ensure_ascii=False)}")
        if unknown:
            problems.append(f"unknown difference kinds {unknown}")
        if ok_pd and declared:
            problems.append("agrees with pandas but declares differences " + ", ".join(declared))
        if not ok_pd and not declared:
            problems.append("differs from pandas and declares no difference:\n"
                            f"  pandas   {json.dumps(pd_out, ensure_ascii=False)}\n"
                            f"  apifetch {json.dumps(ours, ensure_ascii=False)}")
        if ok_pd:
            n_agree += 1
        else:
            n_diff += 1
        tag = "agrees" if ok_pd else "differs: " + ", ".join(declared)
        report(not problems, f"conformance/{name} ({tag})", "\n".join(problems))
    if code not in (0, 1):
        report(False, "conformance", f"sqlite3 exited with {code}")
    print(f"conformance: {len(names)} cases, {n_agree} agree with pandas, "
          f"{n_diff} deliberate differences")
    return n_agree, n_diff


if __name__ == "__main__":
    def _report(ok, name, detail=""):
        print(("PASS " if ok else "FAIL ") + name)
        if detail and not ok:
            print("  " + detail.replace("\n", "\n  "))
    run(sys.argv[1], dict(os.environ), os.environ.get("SQLITE3", "sqlite3"), _report,
        update="--update" in sys.argv)
