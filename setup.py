"""The build: the pure pipeline (app/build.py lists it) compiled with mypyc when a wheel is built on
a machine with a C compiler; the same modules as plain Python otherwise, and always for an
editable install, so that an edited file is the file that runs. pyproject.toml holds the rest.

    pip install .                           # compiled where it can be, else pure Python
    COLLECTOR_PURE_PYTHON=1 pip install .   # pure Python on purpose
    python setup.py build_ext --inplace     # compiled beside the sources (scripts/build-compiled)
"""

from __future__ import annotations

import os
import runpy
import sys

from setuptools import setup

BUILDS = {"bdist_wheel", "build", "build_ext"}  # not editable_wheel, egg_info or dist_info


def compiled_extensions() -> list:
    if os.environ.get("COLLECTOR_PURE_PYTHON") or not BUILDS & set(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("collector: mypyc not found, building pure Python", file=sys.stderr)
        return []
    here = os.path.dirname(os.path.abspath(__file__))
    modules = runpy.run_path(os.path.join(here, "app", "build.py"))["COMPILED_MODULES"]
    paths = [os.path.join("app", name.split(".", 1)[1] + ".py") for name in modules]
    extensions = mypycify(paths, opt_level="3", group_name="app_compiled")
    for extension in extensions:
        extension.optional = True  # no C compiler: the plain modules are installed instead
    return extensions


setup(ext_modules=compiled_extensions())
