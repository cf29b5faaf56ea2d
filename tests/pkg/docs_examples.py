#!/usr/bin/python3
"""Every example of docs/install.md is run by a package test: each fenced
block carries an `<!-- example: NAME -->` line, and NAME is used by one of
tests/pkg/*.py (which run it and compare its output, see _pkg.py).  A block
added without a test, or a test's example renamed in the docs, fails here.

    /usr/bin/python3 tests/pkg/docs_examples.py BASE_URL      (run by tests/run.py)
"""
import os
import re

from _pkg import DOCS, check, examples, finish

with open(DOCS) as f:
    docs = f.read()
blocks = re.findall(r"(?m)^```\w+\n", docs)
named = examples()
check(len(blocks) == len(named), f"docs/install.md: {len(blocks)} code blocks, "
      f"{len(named)} of them named examples")

here = os.path.dirname(os.path.abspath(__file__))
sources = ""
for name in sorted(os.listdir(here)):
    if name.endswith(".py") and name != os.path.basename(__file__):
        with open(os.path.join(here, name)) as f:
            sources += f.read()
for name in named:
    check(f'"{name}"' in sources, f"example {name} is run by a test in tests/pkg")

finish()
