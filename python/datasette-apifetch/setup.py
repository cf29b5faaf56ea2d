"""datasette-apifetch: a Datasette plugin that loads apifetch into every
connection with the instance's limits, locked.  Built by `make wheel` at the
top of the repository (APIFETCH_VERSION=... python3 -m build --wheel
--no-isolation on a copy of this folder).

It requires the apifetch package of the same version.  It does not require
datasette itself: a plugin is installed into the environment Datasette runs
in (`datasette install`, or pip in that environment), so Datasette is there
already, whether from PyPI, a distribution or a source checkout.
"""
import os

from setuptools import setup

VERSION = os.environ.get("APIFETCH_VERSION")
if not VERSION:
    raise SystemExit("setup.py: APIFETCH_VERSION is not set; build the wheel with `make wheel` "
                     "at the top of the apifetch repository")

URL = "https://github.com/apifetch/apifetch"

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")) as f:
    long_description = f.read()

setup(
    name="datasette-apifetch",
    version=VERSION,
    description="Datasette plugin: the apifetch SQLite extension on every connection, "
                "safe by default",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="MIT",
    url=URL,
    project_urls={
        "Source": URL,
        "Documentation": URL + "/blob/HEAD/docs/install.md#datasette",
        "Changelog": URL + "/blob/HEAD/CHANGELOG.md",
        "Issues": URL + "/issues",
    },
    packages=["datasette_apifetch"],
    install_requires=[f"apifetch=={VERSION}"],
    entry_points={"datasette": ["apifetch = datasette_apifetch"]},
    python_requires=">=3.7",
    classifiers=[
        "Framework :: Datasette",
        "License :: OSI Approved :: MIT License",
        "Topic :: Database",
    ],
)
