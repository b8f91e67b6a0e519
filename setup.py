"""Build the compiled core `cymangum._core`, unless CYMANGUM_NO_EXTENSIONS=1 asks for a pure wheel."""

import os

from setuptools import Extension, setup

if os.environ.get("CYMANGUM_NO_EXTENSIONS", "") not in ("", "0"):
    ext_modules = []
else:
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [Extension("cymangum._core", ["src/cymangum/_core.pyx"])],
        compiler_directives={"language_level": "3", "embedsignature": True},
    )

setup(ext_modules=ext_modules)
