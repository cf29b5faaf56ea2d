"""The Python package apifetch: the apifetch SQLite extension as a wheel.

Built by `make wheel` at the top of the repository, which compiles the module
(build/release/apifetch.so), copies the libraries it needs that a usual Linux
lacks (libcjson) beside it as auditwheel does (build/wheel/: the module with
its RUNPATH set, and apifetch.libs/), and runs

    APIFETCH_SO=... APIFETCH_LIBS=... APIFETCH_VERSION=... \
        python3 -m build --wheel --no-isolation

on a copy of this folder.  The wheel holds that module and apifetch.libs/;
the module links the system's libcurl (libcurl.so.4, on any Linux that has
curl) and libc.  It is tagged for the platform it was built on
(py3-none-linux_x86_64), not manylinux: that libcurl and glibc are the
system's, not ones manylinux's policy names.
"""
import os
import shutil

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from wheel.bdist_wheel import bdist_wheel


def required_env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"setup.py: {name} is not set; build the wheel with `make wheel` "
                         "at the top of the apifetch repository")
    return value


VERSION = required_env("APIFETCH_VERSION")
MODULE = required_env("APIFETCH_SO")
LIBS = required_env("APIFETCH_LIBS")
URL = "https://github.com/apifetch/apifetch"


class BuildWithModule(build_py):
    """Puts the compiled module, the libraries it carries and the version
    into the package; apifetch.libs/ goes beside the package, where the
    module's RUNPATH ($ORIGIN/../apifetch.libs) looks."""

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "apifetch")
        shutil.copyfile(MODULE, os.path.join(target, "apifetch.so"))
        libs = os.path.join(self.build_lib, "apifetch.libs")
        shutil.rmtree(libs, ignore_errors=True)
        shutil.copytree(LIBS, libs)
        with open(os.path.join(target, "_version.py"), "w") as f:
            f.write(f'__version__ = "{VERSION}"\n')


class WithCompiledModule(Distribution):
    """Not pure Python: it holds a compiled module (so the package goes to
    platlib and the wheel is tagged for this platform)."""

    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    """Tagged for this platform, but for any Python 3: the module uses no
    CPython API, every Python's sqlite3 loads it."""

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")) as f:
    long_description = f.read()

setup(
    name="apifetch",
    version=VERSION,
    description="The apifetch SQLite extension: fetch JSON from many REST URLs at once, "
                "as rows (links the system's libcurl)",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="MIT",
    url=URL,
    project_urls={
        "Source": URL,
        "Documentation": URL + "/tree/HEAD/docs",
        "Changelog": URL + "/blob/HEAD/CHANGELOG.md",
        "Issues": URL + "/issues",
    },
    packages=["apifetch"],
    python_requires=">=3.7",
    distclass=WithCompiledModule,
    cmdclass={"build_py": BuildWithModule, "bdist_wheel": PlatformWheel},
    zip_safe=False,
    classifiers=[
        "License :: OSI Approved :: MIT License",
        "Operating System :: POSIX :: Linux",
        "Programming Language :: C",
        "Programming Language :: SQL",
        "Topic :: Database",
    ],
)
