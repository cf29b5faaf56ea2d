#!/usr/bin/python3
"""The layers of src/ hold, as the comment at the top of src/apifetch.h
promises: that comment's table is the single source, and this test reads it.

Each src/*.c is compiled on its own (the Makefile's command for apifetch.so,
with -c), and `nm` says which global symbols each object defines and which
it uses; a file that uses a symbol another file defines calls that file.
Then:

  (a) the file-level call graph has no cycle;
  (b) every edge goes from a file to a file in a row below it in the table
      (files sharing a row, "a.c / b.c", may not call each other);
  (c) every src/*.c is in the table, and every file the table names exists;
  (d) no src/*.c is over 900 lines, and no function over 100 lines
      (a brace-matching scan of the top-level function definitions);
  (e) one scan: scan.c alone drives an engine (a second engine loop, as
      CREATE's sample once had in vtab.c, is a second place for the
      scan's rules to drift), and prints the progress line, from one call;
  (f) the #include "..." lines follow the table too: every src/*.h but
      apifetch.h is in the header list under the table, which gives it a
      row; a file (or header) includes only apifetch.h and headers of its
      own row or of rows below it, and a private header only from the
      files it names.

One symbol is not a call: sqlite3_api, SQLite's table of its own functions,
which SQLITE_EXTENSION_INIT1 defines in apifetch.c and every other file
reads through SQLITE_EXTENSION_INIT3 (sqlite3ext.h).

    /usr/bin/python3 tests/py/layers.py BASE_URL     (run by tests/run.py)
"""
import os
import re
import shlex
import subprocess
import tempfile

from _common import ROOT, check, finish

SRC = os.path.join(ROOT, "src")
HEADER = os.path.join(SRC, "apifetch.h")
MAX_FILE_LINES = 900
MAX_FUNC_LINES = 100
NOT_A_CALL = {"sqlite3_api": "apifetch.c"}     # symbol -> the file that must define it
ONLY_CALLER = {"engine_new": "scan.c", "engine_next": "scan.c",   # symbol -> its one caller
               "conn_scan_report": "scan.c"}


def layer_table():
    """The rows of the table in apifetch.h's first comment, top first: a
    list of lists of file names."""
    with open(HEADER) as f:
        comment = f.read().split("*/", 1)[0]
    part = comment.split("The files, in layers", 1)
    if len(part) != 2:
        return []
    rows = []
    for line in part[1].split("\n"):
        m = re.match(r"^\*\*   (\w+\.c(?: / \w+\.c)*)  ", line)
        if m:
            rows.append(m.group(1).split(" / "))
    return rows


def header_table():
    """The header list under the layer table: {header: (row files, private)},
    from lines "**   name.h  of a.c" or "**   name.h  private to a.c / b.c"."""
    with open(HEADER) as f:
        comment = f.read().split("*/", 1)[0]
    out = {}
    for line in comment.split("\n"):
        m = re.match(r"^\*\*   (\w+\.h) +(of|private to) (\w+\.c(?: / \w+\.c)*)\b", line)
        if m:
            out[m.group(1)] = (m.group(3).split(" / "), m.group(2) == "private to")
    return out


def build_command():
    """The Makefile's command for an object of apifetch.so, as an argument
    list: the source, dependency files and output left out."""
    r = subprocess.run(["make", "-s", "-n", "-B", "build/so/util.o"], cwd=ROOT,
                       capture_output=True, text=True)
    text = r.stdout.replace("\\\n", " ")
    line = next((l for l in text.split("\n") if "-o build/so/util.o" in l), None)
    if line is None:
        raise SystemExit("make -n build/so/util.o printed no build command:\n" + r.stdout + r.stderr)
    argv, skip = [], False
    for a in shlex.split(line):
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a in ("-c", "-MMD", "-MP") or a.endswith(".c"):
            continue
        else:
            argv.append(a)
    return argv


def symbols(objdir, files, cc):
    """{file: (defined, undefined)} from nm, global symbols only."""
    procs = {}
    for name in files:
        obj = os.path.join(objdir, name[:-2] + ".o")
        procs[name] = (obj, subprocess.Popen(cc + ["-c", os.path.join(SRC, name), "-o", obj],
                                             cwd=ROOT, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True))
    out = {}
    for name, (obj, p) in procs.items():
        msg = p.communicate()[0]
        if p.returncode:
            raise SystemExit(f"compiling {name} failed:\n{msg}")
        nm = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
        defined, undefined = set(), set()
        for line in nm.split("\n"):
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRCGSVW":
                defined.add(f[2])
            elif len(f) == 2 and f[0] == "U":
                undefined.add(f[1])
        out[name] = (defined, undefined)
    return out


def find_cycle(graph):
    """A cycle of the graph {file: {file: symbols}} as a list of files, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, {})):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            c = visit(n)
            if c:
                return c
    return None


def code_only(text):
    """The text with comments, string and character literals and preprocessor
    lines blanked out (newlines kept, so line numbers still hold)."""
    out, i, n, bol = [], 0, len(text), True
    while i < n:
        c = text[i]
        if bol and c == "#":                       # a directive, with its continuations
            while i < n and not (text[i] == "\n" and text[i - 1] != "\\"):
                out.append("\n" if text[i] == "\n" else " ")
                i += 1
            continue
        if c in " \t":
            out.append(c)
            i += 1
            continue
        bol = c == "\n"
        if text.startswith("/*", i):
            j = text.index("*/", i + 2) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """(name, first line, lines) of each top-level function definition: a
    '{' at depth 0 whose declaration ends with ')'; it runs from the line of
    the name to the line of the matching '}'."""
    with open(path) as f:
        code = code_only(f.read())
    found, depth, decl_start, current = [], 0, 0, None
    for i, c in enumerate(code):
        if c == "{":
            if depth == 0:
                decl, current = code[decl_start:i].rstrip(), None
                if decl.endswith(")"):
                    # The name: the identifier before the last parenthesised group.
                    k, p = len(decl) - 1, 0
                    while k > 0:
                        p += {")": 1, "(": -1}.get(decl[k], 0)
                        if p == 0:
                            break
                        k -= 1
                    m = re.search(r"(\w+)\s*$", decl[:k])
                    if m:
                        current = (m.group(1), code.count("\n", 0, decl_start + m.start(1)) + 1)
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                if current:
                    found.append((*current, code.count("\n", 0, i) + 2 - current[1]))
                decl_start, current = i + 1, None
        elif c == ";" and depth == 0:
            decl_start = i + 1
    return found


rows = layer_table()
row_of = {name: r for r, row in enumerate(rows) for name in row}
check(len(rows) >= 10 and len(row_of) == sum(len(r) for r in rows),
      f"apifetch.h's layer table parses: {len(rows)} rows, each file once")

# ARCHITECTURE.md's copy of the table, for readers, names the same files in
# the same order (it once missed the three cache files).
with open(os.path.join(ROOT, "ARCHITECTURE.md")) as f:
    arch = f.read().split("## The files", 1)[-1].split("\n## ", 1)[0]
copy = re.findall(r"^\| `(\w+\.c)` \|", arch, re.M)
flat = [name for row in rows for name in row]
check(copy == flat, f"ARCHITECTURE.md's file table is the header's, in order "
      f"(only there: {sorted(set(copy) - set(flat))}, only in the header: "
      f"{sorted(set(flat) - set(copy))})")

# (c) the table and src/ name the same files.
on_disk = sorted(n for n in os.listdir(SRC) if n.endswith(".c"))
check(not set(on_disk) - set(row_of),
      f"every src/*.c is in the layer table (missing: {sorted(set(on_disk) - set(row_of))})")
check(not set(row_of) - set(on_disk),
      f"every file of the layer table exists (not in src/: {sorted(set(row_of) - set(on_disk))})")

# The graph, from the objects.
cc = build_command()
with tempfile.TemporaryDirectory(prefix="apifetch-layers-") as objdir:
    syms = symbols(objdir, on_disk, cc)
definer = {s: name for name, (defined, _) in syms.items() for s in defined}
for s, where in NOT_A_CALL.items():
    check(definer.get(s) == where, f"{s} is defined in {where} (found: {definer.get(s)})")
graph = {}
for name, (_, undefined) in syms.items():
    for s in undefined:
        if s in definer and definer[s] != name and s not in NOT_A_CALL:
            graph.setdefault(name, {}).setdefault(definer[s], set()).add(s)
edges = sorted((a, b) for a in graph for b in graph[a])
# The scan itself works: the entry point is seen registering the module.
check(("apifetch.c", "vtab.c") in edges and len(edges) >= 20,
      f"the objects' symbols give the call graph ({len(edges)} edges between files)")
print("info edges: " + "; ".join(f"{a} -> {b}" for a, b in edges))

# (a) no cycle.
cycle = find_cycle(graph)
check(cycle is None, "no files call each other in a loop" +
      (f": {' -> '.join(cycle)}" if cycle else ""))

# (b) every edge points down the table.
up = [(a, b, sorted(graph[a][b])) for a, b in edges
      if a in row_of and b in row_of and row_of[b] <= row_of[a]]
check(not up, "every call goes to a file in a row below the caller's" +
      "".join(f"\n       {a} -> {b} ({', '.join(s)}): "
              f"{'same row' if row_of[a] == row_of[b] else 'upward'}" for a, b, s in up))
unused = [n for n in on_disk if n != "apifetch.c" and not any(n in graph[a] for a in graph)]
print("info called by no other file (unit-tested, or waiting to be used): " +
      (", ".join(unused) or "none"))

# (e) one scan.
for s, where in ONLY_CALLER.items():
    users = sorted(n for n, (_, undefined) in syms.items() if s in undefined)
    check(users == [where], f"{s} is called from {where} alone (called from: {users})")
if os.path.exists(os.path.join(SRC, "scan.c")):
    with open(os.path.join(SRC, "scan.c")) as f:
        calls = len(re.findall(r"\bconn_scan_report\s*\(", code_only(f.read())))
    check(calls == 1, f"scan.c prints the progress line from one place ({calls} calls)")

# (f) includes.  A header's row is the lowest of the files it names.
headers = header_table()
h_on_disk = sorted(n for n in os.listdir(SRC) if n.endswith(".h") and n != "apifetch.h")
check(sorted(headers) == h_on_disk and all(f in row_of for fs, _ in headers.values() for f in fs),
      f"the header list under the table names every src/*.h and files of the table "
      f"(listed: {sorted(headers)}, in src/: {h_on_disk})")
row_of_h = {h: max(row_of.get(f, 0) for f in fs) for h, (fs, _) in headers.items()}
bad = []
for name in on_disk + h_on_disk:
    with open(os.path.join(SRC, name)) as f:
        for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read(), re.M):
            if inc == "apifetch.h":
                continue
            me = row_of.get(name, row_of_h.get(name))
            if inc not in headers:
                bad.append(f"{name} includes {inc}, which the header list does not name")
            elif headers[inc][1] and name not in headers[inc][0] and name != inc:
                private_ok = name in headers and set(headers[name][0]) <= set(headers[inc][0])
                if not private_ok:
                    bad.append(f"{name} includes {inc}, private to {' / '.join(headers[inc][0])}")
            elif me is None or me > row_of_h[inc]:
                bad.append(f"{name} includes {inc}, a header of a row above its own")
check(not bad, "every #include \"...\" is of apifetch.h, a header of the file's row or "
      "one below, or a private header of its own" + "".join(f"\n       {b}" for b in bad))

# (d) sizes.
lengths, funcs = {}, []
for name in on_disk:
    path = os.path.join(SRC, name)
    with open(path) as f:
        lengths[name] = f.read().count("\n")
    funcs += [(n, name, line, length) for n, line, length in functions(path)]
big = {n: k for n, k in lengths.items() if k > MAX_FILE_LINES}
check(not big, f"no src/*.c over {MAX_FILE_LINES} lines (over: {big})")
check(len(funcs) > 100, f"the scan found the function definitions ({len(funcs)})")
longest = sorted(funcs, key=lambda f: -f[3])
long = [f for f in longest if f[3] > MAX_FUNC_LINES]
check(not long, f"no function over {MAX_FUNC_LINES} lines" +
      "".join(f"\n       {n} ({name}:{line}): {k} lines" for n, name, line, k in long))
print("info longest functions: " +
      ", ".join(f"{n} ({name}:{line}) {k}" for n, name, line, k in longest[:5]))
print("info largest files: " + ", ".join(f"{n} {k}" for n, k in
                                         sorted(lengths.items(), key=lambda x: -x[1])[:5]))
finish()
