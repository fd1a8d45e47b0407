# cython: language_level=3, boundscheck=False, wraparound=False
"""fastpath.literal_shape compiled: one pass over the text instead of six substring
searches and two regular-expression substitutions (about 0.9 µs a statement in Python,
on every simple-protocol statement, whose texts differ in their literals and so miss
the decision cache by text). fastpath.literal_shape stays the reference and the path
taken when this module is not built; the two are compared on generated texts."""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdlib cimport free, malloc


cdef inline bint _word(unsigned char c) noexcept nogil:
    # \w with re.ASCII
    return ((c >= 48 and c <= 57) or (c >= 65 and c <= 90) or (c >= 97 and c <= 122)
            or c == 95)


cdef inline bint _digit(unsigned char c) noexcept nogil:
    return c >= 48 and c <= 57


def literal_shape(str sql, Py_ssize_t longest):
    """sql with '...' strings blanked to '?' and numbers (digit runs between non-word
    characters) to ?, or None when it is longer than longest, not ASCII, or holds what
    may not be shaped (see fastpath._UNSHAPED)."""
    if len(sql) > longest or not sql.isascii():
        return None
    cdef bytes raw = sql.encode("ascii")
    cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(raw)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw), i = 0, j, k, o = 0
    cdef unsigned char c
    for i in range(n):  # what may not be shaped, anywhere (strings included)
        c = s[i]
        if c == 34 or c == 36 or c == 92 or c == 63:  # " $ \ ?
            return None
        if i + 1 < n and ((c == 45 and s[i + 1] == 45) or (c == 47 and s[i + 1] == 42)):
            return None  # -- or /*
    # a number shrinks to ?, a string to '?' except the empty one: '' grows to '?', so
    # the shape is at most half as long again as the text
    cdef char* out = <char*>malloc(n + n // 2 + 1)
    if out == NULL:
        raise MemoryError()
    try:
        i = 0
        while i < n:
            c = s[i]
            if c == 39:  # ': a string up to the next quote, if there is one
                j = i + 1
                while j < n and s[j] != 39:
                    j += 1
                if j < n:
                    out[o] = 39
                    out[o + 1] = 63
                    out[o + 2] = 39
                    o += 3
                    i = j + 1
                    continue
            elif _digit(c) and (i == 0 or not _word(s[i - 1])):
                j = i
                while j < n and _digit(s[j]):
                    j += 1
                if j == n or not _word(s[j]):
                    out[o] = 63
                    o += 1
                else:
                    for k in range(i, j):
                        out[o] = s[k]
                        o += 1
                i = j
                continue
            out[o] = c
            o += 1
            i += 1
        return PyUnicode_DecodeASCII(out, o, NULL)
    finally:
        free(out)
