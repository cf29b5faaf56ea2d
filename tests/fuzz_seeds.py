#!/usr/bin/python3
"""Seed corpora for the libFuzzer targets (used by `make fuzz`).

    tests/fuzz_seeds.py flatten DIR   # tests/fuzz_flatten.c's input layout
    tests/fuzz_seeds.py args DIR      # tests/fuzz_args.c's input layout

flatten: one seed per tests/conformance/cases/*.json: 4 knob bytes made from
the case's args where the harness can express them (see the layout comment
in tests/fuzz_flatten.c), then the case's "doc" as JSON; plus a variant with
other type rules, and a few with a columns declaration before a NUL.
"""
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Must match azKey and azSep in tests/fuzz_flatten.c.
KEYS = ["data", "items", "a", "groups", "id", "info", "name", "tags"]
SEPS = {"_": 0, ".": 1, "__": 2}
TS_UTC, TS_KEEP, TS_EPOCH = 0, 1, 2
NUMSTR_NEVER, NUMSTR_EXACT, NUMSTR_DECIMAL = 0, 1, 2


def knobs(args, ts=TS_UTC, numstr=NUMSTR_EXACT, declared=False):
    path = args.get("record_path") or []
    if isinstance(path, str):
        path = [path]
    if len(path) > 2 or any(k not in KEYS for k in path):
        path = []
    meta = args.get("meta") or []
    if isinstance(meta, str):
        meta = [meta]
    m = meta[0] if meta else []
    if isinstance(m, str):
        m = [m]
    if not path or len(m) > 3 or any(k not in KEYS for k in m):
        m = []
    level = args.get("max_level", -1)
    level = level if 0 <= level <= 2 else -1
    idx = [KEYS.index(k) for k in path] + [0, 0]
    midx = [KEYS.index(k) for k in m] + [0, 0, 0]
    k0 = len(path) | SEPS.get(args.get("sep", "_"), 0) << 2 | (level + 1) << 4 | ts << 6
    k1 = numstr | len(m) << 2 | (0x10 if args.get("record_prefix") else 0) | midx[2] << 5
    k2 = idx[0] | idx[1] << 3 | (0x40 if declared else 0)
    k3 = midx[0] | midx[1] << 3
    return bytes([k0, k1, k2, k3])


def flatten(out):
    n = 0
    for f in sorted(glob.glob(os.path.join(HERE, "conformance", "cases", "*.json"))):
        with open(f, encoding="utf-8") as fh:
            case = json.load(fh)
        doc = json.dumps(case["doc"], ensure_ascii=False).encode()
        name = os.path.basename(f)[:-5]
        for suffix, k in (("", knobs(case["args"])),
                          ("-epoch-decimal", knobs(case["args"], TS_EPOCH, NUMSTR_DECIMAL)),
                          ("-keep-never", knobs(case["args"], TS_KEEP, NUMSTR_NEVER))):
            with open(os.path.join(out, f"{name}{suffix}"), "wb") as fh:
                fh.write(k + doc)
            n += 1
    declared = [
        (b'id INTEGER, name TEXT, created TIMESTAMP, raw JSON, x ANY, y',
         b'[{"id": 1, "name": "a\\u00e9", "created": "2024-01-02T03:04:05.123+02:00",'
         b' "raw": {"k": [1, 2]}, "x": 1.5, "y": null, "z": 9}, {"id": "7", "name": 3}]'),
        (b'"full ""name""" TEXT, n REAL, b BOOLEAN, t TIMESTAMP',
         b'[{"full \\"name\\"": "x", "n": "2.50", "b": true, "t": "1999-12-31 23:59:59Z"}]'),
        (b'a INT, a_2 INT', b'{"a": 1, "A": 2, "a_2": 3}'),
    ]
    for i, (cols, body) in enumerate(declared):
        for ts in (TS_UTC, TS_KEEP, TS_EPOCH):
            with open(os.path.join(out, f"declared-{i}-{ts}"), "wb") as fh:
                fh.write(knobs({}, ts, NUMSTR_EXACT, True) + cols + b"\0" + body)
            n += 1
    return n


SEP = b"\xff\xff"
ARGS_SEEDS = [
    b'{"timeout_ms": 5000, "headers": {"X-A": "1", "Accept": ""}, "record_path": "data.items",'
    b' "on_error": "skip"}' + SEP +
    b'["http://127.0.0.1:8080/a", {"url": "https://x.example/b", "method": "post",'
    b' "headers": {"x-a": "2", "Content-Type": "text/x"}, "body": {"q": 1}}]' + SEP +
    b'{"url": "http://h.example/", "method": "PUT", "body": "x\\u00e9"}',
    b'{"record_path": ["a", "b"], "rate": 2.5, "retry_unsafe": true, "user_agent": "ua",'
    b' "max_bytes": 1024, "retry_base_ms": 10, "retry_max_ms": 5}' + SEP +
    b'# comment\nhttp://a.example/1\n\n  https://b.example/2  \r\n' + SEP +
    b'  http://127.0.0.1/x\n',
    b'{"per_host": 2, "max_redirects": 0, "deadline_ms": 1, "ca_file": "/x"}' + SEP +
    b'["ftp://x", "http://ok/"]' + SEP + b'{"url": 1}',
    b'["http://a/", {"url": "http://b/", "method": "GET", "headers": {"X": "y\\r\\nZ: 1"}}]',
    b'http://example.com/path?q=1#f',
    b'{"burst": 3, "max_attempts": 100, "connect_timeout_ms": 1, "retry_after_max_ms": 0,'
    b' "headers": {"Bad Name": "v"}}',
    b'{"record_path": "a..b"}' + SEP + b'[]' + SEP + b'{"url": "http://x/", "body": null}',
]


def args(out):
    for i, s in enumerate(ARGS_SEEDS):
        with open(os.path.join(out, f"seed-{i}"), "wb") as fh:
            fh.write(s)
    return len(ARGS_SEEDS)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("flatten", "args"):
        sys.exit("usage: fuzz_seeds.py flatten|args DIR")
    os.makedirs(sys.argv[2], exist_ok=True)
    n = (flatten if sys.argv[1] == "flatten" else args)(sys.argv[2])
    print(f"fuzz_seeds: {n} {sys.argv[1]} seeds in {sys.argv[2]}")


if __name__ == "__main__":
    main()
