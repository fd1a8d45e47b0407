"""The compiled DataRow path (gateway/session/datarows.pyx), built when a C compiler is
there; without it the gateway runs the same work in Python (results.Tracker)."""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """A failed compile is a warning, not a failed install: the extension is optional."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no headers
            print(f"warning: compiled DataRow path not built ({exc}); using Python",
                  file=sys.stderr)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"warning: {ext.name} not built ({exc}); using Python", file=sys.stderr)


try:
    from Cython.Build import cythonize
except ImportError:  # built from an sdist without Cython: nothing compiled
    extensions = []
else:
    extensions = cythonize([Extension("gateway.session.datarows",
                                      ["gateway/session/datarows.pyx"])],
                           compiler_directives={"language_level": 3})

setup(ext_modules=extensions, cmdclass={"build_ext": OptionalBuildExt})
