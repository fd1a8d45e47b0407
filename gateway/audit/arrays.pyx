# cython: language_level=3, boundscheck=False, wraparound=False
"""text[] fields of the exposure ledger in one compiled pass.

A statement of many customers hands its subject keys over 10,000 at a time, each batch
one text[] field of a binary COPY; encoded in Python that is a few interpreted steps
per key. The same bytes as binary.text_array, which stays the reference and the path
where this module is not built.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.string cimport memcpy

from gateway.protocol.words cimport write_i32

cdef enum:
    TEXT_OID = 25
    HEAD = 24  # the field's length word, then ndim, has NULLs, element type, count, lower bound


def text_array(list values):
    """The text[] field (its length word first) of a non-empty list of str; TypeError
    for anything else in it (None included: the caller's Python path takes those)."""
    cdef Py_ssize_t n = len(values), total = HEAD, size, i
    cdef const char* utf8
    cdef char* out
    if n == 0:
        raise TypeError("an empty array has a form of its own")
    for value in values:
        if type(value) is not str:
            raise TypeError("text elements only")
        PyUnicode_AsUTF8AndSize(value, &size)
        total += 4 + size
    field = PyBytes_FromStringAndSize(NULL, total)
    out = PyBytes_AS_STRING(field)
    write_i32(out, total - 4)
    write_i32(out + 4, 1)
    write_i32(out + 8, 0)
    write_i32(out + 12, TEXT_OID)
    write_i32(out + 16, n)
    write_i32(out + 20, 1)
    out += HEAD
    for i in range(n):
        utf8 = PyUnicode_AsUTF8AndSize(values[i], &size)
        write_i32(out, size)
        memcpy(out + 4, utf8, size)
        out += 4 + size
    return field
