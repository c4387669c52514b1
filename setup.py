"""The build: the pure pipeline (app/build.py lists it) compiled with mypyc when a wheel is built on
a machine with a C compiler; the same modules as plain Python otherwise, and always for an
editable install, so that an edited file is the file that runs. pyproject.toml holds the rest.

    pip install .                           # compiled where it can be, else pure Python
    COLLECTOR_PURE_PYTHON=1 pip install .   # pure Python on purpose
    python setup.py build_ext --inplace     # compiled beside the sources (scripts/build-compiled)
"""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))

BUILDS = {"bdist_wheel", "build", "build_ext"}  # not editable_wheel, egg_info or dist_info


def compiled_module_names() -> tuple:
    return runpy.run_path(os.path.join(HERE, "app", "build.py"))["COMPILED_MODULES"]


def source_path(module: str) -> str:
    return os.path.join("app", module.split(".", 1)[1] + ".py")


class BuildRecordingSources(build_ext):
    """Writes, beside the compiled modules, the hash of each source they were compiled from: at
    start-up app/build.py compares it with the source beside it, so an edit made since is reported
    as a stale build (file times cannot tell: an install sets them all to the moment it unpacks)."""

    def run(self) -> None:
        super().run()
        built = [ext for ext in self.extensions if ext.name.startswith("app.")]
        if not built or not all(os.path.exists(self.get_ext_fullpath(ext.name)) for ext in built):
            return  # no C compiler: the optional extensions were skipped, nothing to record
        sources = {}
        for name in compiled_module_names():
            with open(os.path.join(HERE, source_path(name)), "rb") as source:
                sources[name] = hashlib.sha256(source.read()).hexdigest()
        record = os.path.join(os.path.dirname(self.get_ext_fullpath(built[0].name)), "compiled_sources.json")
        with open(record, "w") as out:
            json.dump(sources, out, indent=1, sort_keys=True)


def compiled_extensions() -> list:
    if os.environ.get("COLLECTOR_PURE_PYTHON") or not BUILDS & set(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("collector: mypyc not found, building pure Python", file=sys.stderr)
        return []
    paths = [source_path(name) for name in compiled_module_names()]
    extensions = mypycify(paths, opt_level="3", group_name="app_compiled")
    for extension in extensions:
        extension.optional = True  # no C compiler: the plain modules are installed instead
    return extensions


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": BuildRecordingSources})
