# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""DataRows of a statement over classified tables, rewritten in one compiled pass.

The same work as results.Tracker._rewrite_row, which stays the reference and the path
taken when this module is not built: walk the cells, read the subject keys at the end
into their sets and cut them off, hand the cells that may need masking to Python, and
rebuild the row from slices. Most cells need nothing: a guarded cell always goes to
Python, a free-text cell only when its bytes may hold a number or an e-mail address
(see _may_hold_entity), a computed cell only when the check could find something in it
(freetext.suspect, byte for byte). In Python each of these steps costs a few interpreted
operations per cell, about 4 µs a row of eleven columns; here it is a loop over bytes.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.set cimport PySet_Add, PySet_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.string cimport memcpy

# What rewrite() does with a visible cell, one byte per column (see kinds()).
KEEP, GUARD, SCAN, SCAN_ALWAYS, CHECK = 0, 1, 2, 3, 4
cdef enum:
    # PostgreSQL's most columns in a result (MaxTupleAttributeNumber); a row with more
    # is left to the Python path.
    MAX_COLUMNS = 1664


class Malformed(ValueError):
    """The row is not the DataRow its statement describes: left to the Python path."""


cdef inline int32_t _i32(const unsigned char* p) noexcept nogil:
    return <int32_t>((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16)
                     | (<uint32_t>p[2] << 8) | <uint32_t>p[3])


cdef inline bint _is_address_byte(unsigned char c) noexcept nogil:
    # [A-Za-z0-9._%+-]: what may stand before the @ of an e-mail address
    return ((c >= 48 and c <= 57) or (c >= 65 and c <= 90) or (c >= 97 and c <= 122)
            or c == 46 or c == 95 or c == 37 or c == 43 or c == 45)


cdef bint _suspect(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """freetext.suspect: a run of eleven ASCII digits, or an @ after an address byte."""
    cdef Py_ssize_t i, run = 0
    cdef unsigned char c
    for i in range(n):
        c = s[i]
        if c >= 48 and c <= 57:
            run += 1
            if run >= 11:
                return True
        else:
            run = 0
            if c == 64 and i > 0 and _is_address_byte(s[i - 1]):
                return True
    return False


cdef bint _may_hold_entity(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """False only when the free-text masker of number and e-mail entities must hand the
    UTF-8 text back unchanged: no '@', no full-width digit, and either fewer than seven
    ASCII digits in all or one run of seven to ten of them and no other digit. Its
    patterns need a run of eleven digits or an '@'; its residue check (which sends a
    text to the detector) needs seven digits, and passes over one plain run under
    eleven (gateway/session/freetext.py)."""
    cdef Py_ssize_t i, digits = 0, runs = 0
    cdef unsigned char c
    cdef bint in_run = False
    for i in range(n):
        c = s[i]
        if c >= 48 and c <= 57:
            digits += 1
            if not in_run:
                runs += 1
                in_run = True
            continue
        in_run = False
        if c == 64:
            return True
        if c == 0xEF and i + 2 < n and s[i + 1] == 0xBC and s[i + 2] >= 0x90 \
                and s[i + 2] <= 0x99:
            return True  # a full-width digit, U+FF10..U+FF19
    if digits < 7:
        return False
    return not (runs == 1 and digits <= 10)


cdef object _key(const unsigned char* s, Py_ssize_t n, bint binary):
    """results._subject: a binary integer key as its decimal text, else the UTF-8 text."""
    cdef int64_t value
    cdef Py_ssize_t i
    if binary and (n == 2 or n == 4 or n == 8):
        value = -1 if s[0] & 0x80 else 0
        for i in range(n):
            value = (value << 8) | s[i]
        return str(value)
    return PyUnicode_DecodeUTF8(<const char*>s, n, "replace")


def may_hold_entity(bytes value):
    """_may_hold_entity over a whole bytes value (for tests)."""
    return _may_hold_entity(<const unsigned char*>PyBytes_AS_STRING(value),
                            PyBytes_GET_SIZE(value))


def rewrite(bytes data, Py_ssize_t start, Py_ssize_t end, bytes kinds, tuple sinks,
            bint binary_keys, object cell, Py_ssize_t batch):
    """The DataRow at data[start:end] as the client gets it, or None when it goes as is.

    kinds: one byte per visible column (KEEP ... CHECK); sinks: one set per subject key
    column after them, each key added to its set; cell(i, value) -> the replacement of a
    cell with its length word, or None to keep it. Returns (row, full): full when a set
    holds batch keys or more. Raises Malformed, before any key is added, when the row is
    not made of len(kinds) + len(sinks) whole cells.
    """
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef const unsigned char* kind = <const unsigned char*>PyBytes_AS_STRING(kinds)
    cdef Py_ssize_t keep = PyBytes_GET_SIZE(kinds), nkeys = len(sinks)
    cdef Py_ssize_t count, i, pos, length, body, at, replaced = 0
    cdef Py_ssize_t offsets[MAX_COLUMNS + 1]
    cdef int32_t word
    cdef bint full = False, found
    cdef list replacements = None
    cdef object replacement
    cdef char* out
    if start < 0 or end > PyBytes_GET_SIZE(data) or end - start < 7:
        raise Malformed("short row")
    count = (<Py_ssize_t>p[start + 5] << 8) | p[start + 6]
    if count != keep + nkeys or count > MAX_COLUMNS:
        raise Malformed("column count")
    pos = start + 7
    for i in range(count):
        if end - pos < 4:
            raise Malformed("cut cell")
        offsets[i] = pos
        word = _i32(p + pos)
        pos += 4 + (word if word > 0 else 0)
        if pos > end:
            raise Malformed("cut cell")
    if pos != end:
        raise Malformed("bytes after the cells")
    offsets[count] = end
    for i in range(nkeys):
        at = offsets[keep + i]
        length = _i32(p + at)
        if length >= 0:
            PySet_Add(sinks[i], _key(p + at + 4, length, binary_keys))
            if PySet_GET_SIZE(sinks[i]) >= batch:
                full = True
    for i in range(keep):
        if kind[i] == KEEP:
            continue
        at = offsets[i]
        length = _i32(p + at)
        if length < 0:
            continue  # NULL stays NULL
        if kind[i] == SCAN:
            found = _may_hold_entity(p + at + 4, length)
        elif kind[i] == CHECK:
            found = _suspect(p + at + 4, length)
        else:
            found = True
        if not found:
            continue
        replacement = cell(i, data[at + 4:offsets[i + 1]])
        if replacement is None:
            continue
        if type(replacement) is not bytes:
            raise TypeError("a cell replacement must be bytes")
        if replacements is None:
            replacements = []
        replacements.append((i, replacement))
        replaced += PyBytes_GET_SIZE(replacement) - (offsets[i + 1] - at)
    if nkeys == 0 and replacements is None:
        return None, full
    body = offsets[keep] - (start + 7) + replaced
    row = PyBytes_FromStringAndSize(NULL, 7 + body)
    out = PyBytes_AS_STRING(row)
    out[0] = 68  # 'D'
    word = <int32_t>(body + 6)
    out[1] = (word >> 24) & 0xFF
    out[2] = (word >> 16) & 0xFF
    out[3] = (word >> 8) & 0xFF
    out[4] = word & 0xFF
    out[5] = (keep >> 8) & 0xFF
    out[6] = keep & 0xFF
    at = start + 7  # the next byte of the row not copied yet
    pos = 7
    if replacements is not None:
        for i, replacement in replacements:
            length = offsets[i] - at
            memcpy(out + pos, p + at, length)
            pos += length
            length = PyBytes_GET_SIZE(replacement)
            memcpy(out + pos, PyBytes_AS_STRING(replacement), length)
            pos += length
            at = offsets[i + 1]
    memcpy(out + pos, p + at, offsets[keep] - at)
    return row, full
