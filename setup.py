"""The build: the pure pipeline compiled with mypyc when a wheel is built on a machine with a C
compiler; the very same modules as plain Python otherwise (and always for an editable install,
so that an edited file is the file that runs). pyproject.toml holds everything else.

COLLECTOR_PURE_PYTHON=1 skips compilation on purpose.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

# Plain Python over plain data, type-checked strictly: what mypyc compiles (docs/compiled.md).
COMPILED_MODULES = [
    "app/clock.py",
    "app/ids.py",
    "app/record.py",
    "app/failures.py",
    "app/request.py",
    "app/privacy.py",
    "app/protocol.py",
    "app/identity.py",
    "app/enrich.py",
    "app/badrows.py",
    "app/formats.py",
    "app/redirect.py",
    "app/pipeline.py",
]
BUILDS = {"bdist_wheel", "build", "build_ext"}  # not editable_wheel, egg_info or dist_info


def compiled_extensions() -> list:
    if os.environ.get("COLLECTOR_PURE_PYTHON") or not BUILDS & set(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("collector: mypyc not found, building pure Python", file=sys.stderr)
        return []
    extensions = mypycify(COMPILED_MODULES, opt_level="3", group_name="app_compiled")
    for extension in extensions:
        extension.optional = True  # no C compiler: the plain modules are installed instead
    return extensions


setup(ext_modules=compiled_extensions())
