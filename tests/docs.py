#!/usr/bin/python3
"""Every example in the docs runs, and what it prints is what the docs say.

    /usr/bin/python3 tests/docs.py [--update] BASE_URL [FILE ...]   (run by tests/run.py)

Reads README.md, ARCHITECTURE.md and docs/*.md (docs/install.md has its own
runner, tests/pkg, which installs the packages it shows).  Each fenced block:

  ```sql      run by the sqlite3 shell after `.load ./apifetch`; it must run
              without an error and print nothing (a block whose output
              matters is written as a session, below)
  a session   a block with `sqlite> ` lines (continued by `   ...> `), maybe
              after a `$ command` line (default: sqlite3): those lines are the
              command's input, the other lines what it must print, stdout and
              stderr together.  The shell runs with standard input from a
              pipe, so "near line N" is left out of its error messages
              before they are compared.
  ```pycon    a doctest, run by /usr/bin/python3 in the repository
  anything    else must follow a line `<!-- not run: why -->`

The examples use the bundled test server at 127.0.0.1:8080 (`make serve`);
here that is the loopback server the tests started.  A block runs in a fresh
shell, so each example carries its own set-up, in a fresh directory that
links to each file at the top of the repository (./apifetch.so, tests/, ...):
reading, an example sees the repository, as a reader does; the files it
writes (a cache) are named relative to it, are its own, and go when the
block ends.  One result per block, named doc/FILE:LINE.  --update writes
what each session printed into the docs (review the diff).

Then every relative link and #anchor of these pages and docs/install.md
leads somewhere (tests/links.py): one result per page, named links/FILE.
"""
import contextlib
import difflib
import doctest
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

import links

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS_SERVER = "127.0.0.1:8080"
SQLITE = os.environ.get("SQLITE3", "sqlite3")


def doc_files():
    files = [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "ARCHITECTURE.md")]
    ddir = os.path.join(ROOT, "docs")
    files += [os.path.join(ddir, n) for n in sorted(os.listdir(ddir))
              if n.endswith(".md") and n != "install.md"]
    return [f for f in files if os.path.exists(f)]


def blocks(path):
    """(line number, info string, text, note) for each fenced block."""
    with open(path) as f:
        lines = f.read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, info = i + 1, m.group(1)
        note = lines[i - 1].strip() if i > 0 else ""
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        out.append((start, info, "\n".join(lines[i + 1:j]), note))
        i = j + 1
    return out


def normalise(text, server):
    text = text.replace(server, DOCS_SERVER)
    # The shell reads a pipe, not a terminal: its messages name the line.
    text = re.sub(r"(?m)^(Runtime error|Parse error|Error)(?: near line \d+)?:", r"\1:", text)
    text = re.sub(r"(?m)^Error: near line \d+: ", "Error: ", text)
    # libcurl's connect errors say how long the attempt took.
    text = re.sub(r"(port \d+ after) \d+ ms", r"\1 N ms", text)
    return text


MARK = "\x1eapifetch-docs-mark"


@contextlib.contextmanager
def block_dir():
    """A directory of the block's own that reads as the repository."""
    with tempfile.TemporaryDirectory(prefix="apifetch-doc-") as d:
        for name in os.listdir(ROOT):
            os.symlink(os.path.join(ROOT, name), os.path.join(d, name))
        yield d


def render_session(text, server, env, cwd):
    """Run a session block and write it out again as it really went: each
    statement (a `sqlite> ` line and its `   ...> ` lines) followed by what
    it printed.  Equal to the block when the docs are right."""
    cmds = []                           # [command line or None, [groups]]
    for line in text.split("\n"):
        if line.startswith("$ "):
            cmds.append([line, []])
        elif line.startswith("sqlite> "):
            if not cmds:
                cmds.append([None, []])
            cmds[-1][1].append([line])
        elif line.startswith("   ...> ") and cmds and cmds[-1][1]:
            cmds[-1][1][-1].append(line)
    out = []
    for cmd, groups in cmds:
        shell = cmd is None or "sqlite3" in cmd
        script = ""
        for g in groups:
            script += "\n".join(l[8:] for l in g) + "\n"
            if shell:
                script += f".print {MARK}\n"
        argv = ["bash", "-c", cmd[2:].replace(DOCS_SERVER, server)] if cmd else [SQLITE]
        r = subprocess.run(argv, input=script.replace(DOCS_SERVER, server), cwd=cwd, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=120)
        printed = normalise(r.stdout, server) + died(r)
        if cmd:
            out.append(cmd)
        if shell:
            parts = printed.split(MARK + "\n")
            for i, g in enumerate(groups):
                out += g
                if i < len(parts) and parts[i]:
                    out += parts[i].rstrip("\n").split("\n")
            if len(parts) > len(groups) and parts[-1].strip():
                out += parts[-1].rstrip("\n").split("\n")
        else:
            out += [l for g in groups for l in g]
            if printed.strip():
                out += printed.rstrip("\n").split("\n")
    return "\n".join(out)


def died(r):
    """A line no page shows if the command was killed by a signal (a crash
    after the right output is a failure); "" otherwise.  Exit statuses are
    the page's business: a session that shows an error ends with 1."""
    return f"\n[killed by signal {-r.returncode}]\n" if r.returncode < 0 else ""


def run_sql(text, server, env, cwd):
    script = ".load ./apifetch\n" + text.replace(DOCS_SERVER, server) + "\n"
    r = subprocess.run([SQLITE, "-batch", ":memory:"], input=script, cwd=cwd, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    return normalise(r.stdout, server) + died(r)


def run_pycon(text, server, path, line):
    test = doctest.DocTestParser().get_doctest(text.replace(DOCS_SERVER, server), {},
                                               f"{path}:{line}", path, line)
    out = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        runner.run(test, out=out.append)
    finally:
        os.chdir(cwd)
    return "".join(out)


def check_file(path, server, env, report):
    rel = os.path.relpath(path, ROOT)
    for line, info, text, note in blocks(path):
        name = f"doc/{rel}:{line}"
        session = re.search(r"(?m)^(sqlite> |\$ )", text) is not None
        if note.startswith("<!-- not run:"):
            continue
        if info == "sql" and not session:
            with block_dir() as cwd:
                out = run_sql(text, server, env, cwd)
            report(out == "", name, "an ```sql block must run without error and print nothing "
                   "(show output as a sqlite> session); it printed:\n" + out)
        elif session and info in ("", "console", "text", "sql"):
            with block_dir() as cwd:
                act = render_session(text, server, env, cwd)
            exp = text.rstrip("\n")
            if UPDATE and exp != act:
                updates.append((path, text, act))
            diff = "\n".join(difflib.unified_diff(exp.split("\n"), act.split("\n"),
                                                 "docs", "actual", lineterm=""))
            report(exp == act, name, diff)
        elif info == "pycon":
            out = run_pycon(text, server, rel, line)
            report(out == "", name, out)
        else:
            report(False, name, f"a ```{info} block that is not run: run it (sql, a sqlite> "
                   "session, pycon) or say why not with <!-- not run: why --> above it")


UPDATE = False
updates = []


def apply_updates():
    """--update: write what the sessions really printed into the docs (read
    the diff before committing it)."""
    for path, old, new in updates:
        with open(path) as f:
            doc = f.read()
        with open(path, "w") as f:
            f.write(doc.replace("\n" + old + "\n```", "\n" + new + "\n```", 1))


def main(argv, report=None, env=None):
    global UPDATE
    UPDATE = "--update" in argv
    argv = [a for a in argv if a != "--update"]
    base = argv[0]
    server = base.split("//", 1)[1]
    files = [os.path.abspath(a) for a in argv[1:]] or doc_files()
    env = dict(os.environ if env is None else env)   # run.py's: the sanitizer preload
    own = report is None
    counts = {"passed": 0, "failed": 0}
    if own:
        def report(ok, name, detail=""):
            counts["passed" if ok else "failed"] += 1
            print(("PASS " if ok else "FAIL ") + name)
            if not ok and detail:
                print("  " + detail.rstrip().replace("\n", "\n  "))
    # Some examples show the server's state (/flaky's attempts, /stats), and
    # `make serve` keeps it between runs: start from the state a fresh
    # server has, or a second --update would write the wrong output.
    with urllib.request.urlopen(base.rstrip("/") + "/stats/reset", timeout=10) as r:
        r.read()
    for path in files:
        check_file(path, server, env, report)
    # Every relative link and #anchor leads somewhere (tests/links.py),
    # docs/install.md's too.
    links.check(report, [os.path.abspath(a) for a in argv[1:]] or None)
    apply_updates()
    if own:
        print(f"{counts['passed']} passed, {counts['failed']} failed")
        if UPDATE and updates:
            print(f"--update: {len(updates)} example(s) rewritten with what they printed; "
                  "read the diff (git diff)")
        return 1 if counts["failed"] > len(updates) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
