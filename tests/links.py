#!/usr/bin/python3
"""Every relative link and #anchor in the docs leads somewhere.

    /usr/bin/python3 tests/links.py [FILE ...]     (tests/docs.py calls check())

Reads README.md, ARCHITECTURE.md and docs/*.md (install.md too).  For each
Markdown link outside code, `[text](target)` or a reference definition
`[label]: target`, whose target has no scheme (http:, mailto: are not
followed: there is no internet here):

  path         the file or folder exists, relative to the page;
  path#anchor  and path is a Markdown page with a heading whose anchor is
               that, by GitHub's rules (slug() below), or an <a id=...>;
  #anchor      the same, on the page itself.

One result per page, named links/FILE, listing each link that leads nowhere
with its line and the anchors the target does have that come closest.
"""
import difflib
import os
import re
import sys
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pages():
    ddir = os.path.join(ROOT, "docs")
    return ([os.path.join(ROOT, "README.md"), os.path.join(ROOT, "ARCHITECTURE.md")]
            + [os.path.join(ddir, n) for n in sorted(os.listdir(ddir)) if n.endswith(".md")])


def prose(path):
    """(line number, line) for the lines outside fenced code blocks, with
    inline code spans blanked (a `[x](y)` in code is no link)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    fence = None
    for n, line in enumerate(lines, 1):
        m = re.match(r"^\s*(`{3,}|~{3,})", line)
        if m:
            if fence is None:
                fence = m.group(1)[0] * len(m.group(1))
            elif m.group(1).startswith(fence):
                fence = None
            continue
        if fence is None:
            yield n, re.sub(r"(`+)(.+?)\1", lambda c: "`" * len(c.group(0)), line)


def heading_text(raw):
    """A heading as GitHub renders it to text: links become their text,
    code spans their content, emphasis and HTML tags go."""
    t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    parts = re.split(r"((`+).+?\2)", t)      # text, code span, its backticks, text, ...
    out = ""
    for i in range(0, len(parts), 3):
        text = re.sub(r"<[^>]+>", "", parts[i])
        out += re.sub(r"\*+|(?<!\w)_+|_+(?!\w)", "", text)
        if i + 1 < len(parts):
            out += parts[i + 1].strip("`")
    return out


def slug(text):
    """GitHub's anchor for a heading's text (github-slugger): lower case,
    every character but letters, digits, '_', '-' and ' ' dropped, each
    space a '-'."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path):
    """The anchors a page has: its headings' slugs (a repeated one gets -1,
    -2, ... as on GitHub) and the ids of <a id=...> / <a name=...>."""
    with open(path, encoding="utf-8") as f:
        raw = f.read().split("\n")
    seen, out = {}, set()
    code = {n for n in range(1, len(raw) + 1)} - {n for n, _ in prose(path)}
    for n, line in enumerate(raw, 1):
        if n in code:
            continue
        m = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        text = m.group(1) if m else None
        if (text is None and n < len(raw) and n + 1 not in code and line.strip()
                and re.match(r"^ {0,3}(=+|-+)\s*$", raw[n])
                and not re.match(r"^\s*([-*+]|\d+\.|\|)\s", line)):
            text = line.strip()                     # a setext heading
        if text is not None:
            s = slug(heading_text(text))
            k = seen.get(s, 0)
            seen[s] = k + 1
            out.add(s if k == 0 else f"{s}-{k}")
        for m in re.finditer(r"<a\s[^>]*(?:id|name)=\"([^\"]+)\"", line):
            out.add(m.group(1))
    return out


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")


def links(path):
    """(line number, target) of each link on the page."""
    for n, line in prose(path):
        for m in LINK.finditer(line):
            yield n, m.group(1)
        m = REFDEF.match(line)
        if m:
            yield n, m.group(1)


def broken(path):
    """What is wrong with each link of the page that leads nowhere."""
    here = os.path.dirname(path)
    out = []
    for n, target in links(path):
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
            continue                                    # http:, https:, mailto:
        file, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(here, urllib.parse.unquote(file))) if file else path
        rel = os.path.relpath(dest, ROOT)
        if not os.path.exists(dest):
            out.append(f"line {n}: ({target}): there is no {rel}")
        elif anchor and not dest.endswith(".md"):
            out.append(f"line {n}: ({target}): {rel} is not a Markdown page, it has no anchors")
        elif anchor:
            have = anchors(dest)
            if urllib.parse.unquote(anchor) not in have:
                near = difflib.get_close_matches(anchor, sorted(have), 3, 0.5)
                out.append(f"line {n}: ({target}): {rel} has no section #{anchor}"
                           + (f" (nearest: {', '.join('#' + a for a in near)})" if near else ""))
    return out


def check(report, files=None):
    for path in files or pages():
        bad = broken(path)
        report(not bad, f"links/{os.path.relpath(path, ROOT)}", "\n".join(bad))


def main(argv):
    counts = [0, 0]

    def report(ok, name, detail=""):
        counts[0 if ok else 1] += 1
        print(("PASS " if ok else "FAIL ") + name)
        if detail and not ok:
            print("  " + detail.replace("\n", "\n  "))
    check(report, [os.path.abspath(a) for a in argv] or None)
    print(f"{counts[0]} passed, {counts[1]} failed")
    return 1 if counts[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
