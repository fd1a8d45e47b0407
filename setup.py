"""The compiled hot paths, built when a C compiler is there; without it the gateway does
the same work in Python (gateway/compiled.py names each Python twin): the DataRow path
and the walk over a whole plain reply (gateway/session/datarows.pyx), a session's short
way for repeated batches (gateway/session/lane.pyx), the ledger's
text[] fields (gateway/audit/arrays.pyx), the audit writer's sealing and COPY rows
(gateway/audit/batch.pyx), the literal shape of a statement
(gateway/policy/literals.pyx) and the audit chain's MACs (gateway/audit/macs.pyx, with
OpenSSL's headers)."""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """A failed compile is a warning, not a failed install: the extension is optional."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no headers
            print(f"warning: compiled paths not built ({exc}); using Python",
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
    extensions = cythonize([
        Extension("gateway.session.datarows", ["gateway/session/datarows.pyx"]),
        Extension("gateway.session.lane", ["gateway/session/lane.pyx"]),
        Extension("gateway.audit.arrays", ["gateway/audit/arrays.pyx"]),
        Extension("gateway.policy.literals", ["gateway/policy/literals.pyx"]),
        # OpenSSL's SHA-256, as hashlib uses it; without its headers: the Python twin
        Extension("gateway.audit.macs", ["gateway/audit/macs.pyx"], libraries=["crypto"],
                  define_macros=[("OPENSSL_API_COMPAT", "0x10100000L")]),
        # seals with the MAC steps of gateway.audit.macs (cimport), so only where it is built
        Extension("gateway.audit.batch", ["gateway/audit/batch.pyx"]),
    ], compiler_directives={"language_level": 3})

setup(ext_modules=extensions, cmdclass={"build_ext": OptionalBuildExt})
