#!/usr/bin/python3
"""Produce the pandas reference outputs for the apifetch conformance corpus.

How the files in tests/conformance/pandas/ were produced:

    /usr/bin/python3 tests/conformance/make_expected.py

run from the repository root (any working directory works; paths are relative
to this file) with CPython's /usr/bin/python3 and pandas 1.5.3 (the version
is recorded below and checked at run time; a different version only warns).

For every tests/conformance/cases/NAME.json (a JSON object with keys "doc",
"args", "note"), in sorted order:

    df = pandas.json_normalize(doc, **args)

where args are the case's json_normalize keyword arguments, with sep='_'
added when args does not give sep (pandas' own default separator is '.').
The document is parsed with the standard json module (integers of any size
become Python ints; duplicate object keys are rejected).

tests/conformance/pandas/NAME.json is then
    {"columns": [str(c) for c in df.columns], "rows": [[v, ...], ...]}
with one row per DataFrame row, values in column order, normalised to plain
JSON: NaN/None/pd.NA/NaT -> null; numpy/Python ints -> int; numpy/Python
floats -> float (kept floats, e.g. 1.0; +/-inf -> str); numpy/Python bools ->
bool; lists and dicts kept as JSON values (normalised recursively); anything
else -> str(). If json_normalize raises, the file is instead
    {"error": "<ExceptionType>: <message>"}.
Files are written with json.dumps(obj, ensure_ascii=False, indent=1,
sort_keys=True) plus a trailing newline, UTF-8. One summary line per case
is printed.
"""
import json
import math
import os
import sys

import numpy as np
import pandas as pd

PANDAS_VERSION = "1.5.3"

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
OUT = os.path.join(HERE, "pandas")


def no_dupes(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in %r" % (keys,))
    return dict(pairs)


def norm(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return str(f)
        return f
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {str(k): norm(x) for k, x in v.items()}
    if isinstance(v, str):
        return v
    return str(v)


def expected(doc, args):
    kw = dict(args)
    kw.setdefault("sep", "_")
    try:
        df = pd.json_normalize(doc, **kw)
    except Exception as e:  # recorded as the expected outcome
        return {"error": "%s: %s" % (type(e).__name__, e)}, None
    rows = [[norm(df.iat[i, j]) for j in range(df.shape[1])]
            for i in range(df.shape[0])]
    return {"columns": [str(c) for c in df.columns], "rows": rows}, df


def main():
    if pd.__version__ != PANDAS_VERSION:
        print("warning: pandas %s, references were made with %s"
              % (pd.__version__, PANDAS_VERSION), file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    names = sorted(f[:-5] for f in os.listdir(CASES) if f.endswith(".json"))
    for name in names:
        with open(os.path.join(CASES, name + ".json"), encoding="utf-8") as f:
            case = json.load(f, object_pairs_hook=no_dupes)
        res, df = expected(case["doc"], case.get("args", {}))
        text = json.dumps(res, ensure_ascii=False, indent=1, sort_keys=True,
                          allow_nan=False) + "\n"
        with open(os.path.join(OUT, name + ".json"), "w",
                  encoding="utf-8", newline="\n") as f:
            f.write(text)
        if df is None:
            print("%-32s ERROR %s" % (name, res["error"]))
        else:
            print("%-32s %d rows x %d cols: %s" % (
                name, df.shape[0], df.shape[1], ", ".join(res["columns"])))


if __name__ == "__main__":
    main()
