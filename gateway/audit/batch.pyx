# cython: language_level=3, boundscheck=False, wraparound=False
"""The audit writer's work per record, for a whole batch in one compiled pass.

Every statement's record is sealed into the chain (its canonical JSON assembled from
parts encoded once, its MAC, the key ratcheted) and encoded as a binary COPY row. In
Python that is a few dozen interpreted steps and objects a record, about 3.5 µs, on the
same event loop as the sessions. Here the JSON is written as UTF-8 into one buffer and
hashed there with gateway.audit.macs' steps; only the MAC becomes an object.
Chain.python_seal_entries and AuditCopy.python_encode stay the reference (the tests hold
the bytes and the chain's state equal) and the path taken where this module is not
built; anything uncommon (a part not yet encoded, a checkpoint, a signature) is still
done by their own Python helpers, called from here.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.mem cimport PyMem_Free
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.math cimport isfinite
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy, memset, strlen

from gateway.audit.macs cimport DIGEST, _hmac, _ratchet
from gateway.protocol.words cimport write_i16, write_i32, write_i64

from gateway.audit.record import CHECKPOINT, SIGNED_KINDS, canonical_json


cdef extern from "Python.h":
    # what repr() of a float calls
    char* PyOS_double_to_string(double value, char format_code, int precision, int flags,
                                int* type) except NULL
    int Py_DTSF_ADD_DOT_0

cdef object _INT = int


cdef inline bint _plain(object value):
    # chain._PLAIN: as dict keys 1 == 1.0 == True, so only ints and None are looked up
    return type(value) is _INT or value is None


cdef struct Out:
    char* data
    Py_ssize_t size
    Py_ssize_t room


cdef char* _room(Out* out, Py_ssize_t more) except NULL:
    """Where the next `more` bytes go (the buffer grows as needed)."""
    cdef Py_ssize_t room
    cdef char* grown
    if out.size + more > out.room:
        room = max(out.room * 2, out.size + more, 4096)
        grown = <char*>realloc(out.data, room)
        if grown is NULL:
            raise MemoryError()
        out.data, out.room = grown, room
    out.size += more
    return out.data + out.size - more


cdef int _put(Out* out, object value) except -1:
    cdef Py_ssize_t size = PyBytes_GET_SIZE(<bytes?>value)
    memcpy(_room(out, size), PyBytes_AS_STRING(value), size)
    return 0


cdef int _text(Out* out, str value, char after) except -1:
    # a part's UTF-8 (kept in the str object once made), then a separator
    cdef Py_ssize_t size
    cdef const char* utf8 = PyUnicode_AsUTF8AndSize(value, &size)
    cdef char* at = _room(out, size + 1)
    memcpy(at, utf8, size)
    at[size] = after
    return 0


cdef int _integer(Out* out, object value, char after) except -1:
    # f"{value}": an int's digits, anything else as format() writes it
    cdef char digits[24]
    cdef int overflow = 0, start = 23
    cdef long long number
    cdef unsigned long long rest
    if type(value) is _INT:
        number = PyLong_AsLongLongAndOverflow(value, &overflow)
        if not overflow:
            digits[23] = after
            rest = <unsigned long long>(-number if number < 0 else number)
            while True:
                start -= 1
                digits[start] = <char>(48 + rest % 10)  # an ASCII digit
                rest //= 10
                if rest == 0:
                    break
            if number < 0:
                start -= 1
                digits[start] = 45  # "-"
            memcpy(_room(out, 24 - start), digits + start, 24 - start)
            return 0
    return _text(out, format(value, ""), after)


cdef int _number(Out* out, object value, char after) except -1:
    # chain._number: duration_ms as the JSON encoder writes it (repr of a finite float)
    cdef char* text
    cdef Py_ssize_t size
    if type(value) is float and isfinite(<double>value):
        text = PyOS_double_to_string(<double>value, b"r", 0, Py_DTSF_ADD_DOT_0, NULL)
        try:
            size = strlen(text)
            memcpy(_room(out, size), text, size)
        finally:
            PyMem_Free(text)
        _room(out, 1)[0] = after
        return 0
    return _text(out, canonical_json(value), after)


cdef int _payload(Out* out, object seq, object item, dict parts, object part, str replica,
                  object number, dict kinds) except -1:
    # Chain._payload, step for step, as UTF-8 into out
    kind, us, who, shape, objects, rows, subjects, decision, reason, duration, sqlstate = item
    counts = (rows, subjects, decision, reason)
    if _plain(rows) and _plain(subjects):
        counts_json = parts.get(counts) or part(counts)
    else:
        counts_json = canonical_json(counts)
        counts_json = counts_json[1:len(counts_json) - 1]  # no negative index here
    out.size = 0
    _room(out, 1)[0] = b"["
    _text(out, replica, b",")
    _integer(out, seq, b",")
    _integer(out, number, b",")
    _text(out, kinds[kind], b",")
    _integer(out, us, b",")
    _text(out, parts.get(who) or part(who), b",")
    _text(out, parts.get(shape) or part(shape), b",")
    _text(out, parts.get(objects) or part(objects, whole=True), b",")
    _text(out, counts_json, b",")
    _number(out, duration, b",")
    _text(out, parts.get(sqlstate) or part(sqlstate, whole=True), b"]")
    return 0


def seal_entries(chain, list numbered, dict kinds, checkpoint, bytes ratchet_prefix not None):
    """chain.seal_entries(numbered) (gateway.audit.chain.Chain): the same sealed rows and
    the same chain state after. `kinds` holds each record kind as JSON, `checkpoint(n)`
    makes the entry of a checkpoint after n records; each key is the last one hashed
    after `ratchet_prefix`. Nothing in the chain changes before every seq has been
    checked."""
    cdef Out payload
    cdef unsigned char mac[DIGEST]
    cdef unsigned char key[DIGEST]
    cdef const unsigned char* current
    cdef Py_ssize_t current_size
    first, prev = chain._key, chain._prev
    if type(first) is not bytes or type(prev) is not bytes:
        raise TypeError("the chain's key and last MAC must be bytes")
    current, current_size = <const unsigned char*>PyBytes_AS_STRING(first), len(first)
    expected, since = chain.last_seq + 1, chain.since_checkpoint
    parts, part, replica, number = chain._parts, chain._part, chain._replica_json, chain.chain
    name, sealed, sign = chain.replica, [], None
    payload.data, payload.size, payload.room = NULL, 0, 0
    try:
        for seq, item in numbered:
            if seq != expected:
                raise ValueError(f"audit chain: expected seq {expected}, got {seq}")
            if item is None:
                item = checkpoint(since)
            since = 0 if item[0] == CHECKPOINT else since + 1
            _payload(&payload, seq, item, parts, part, replica, number, kinds)
            _hmac(current, current_size, <const unsigned char*>PyBytes_AS_STRING(prev),
                  PyBytes_GET_SIZE(prev), payload.data, payload.size, mac)
            _ratchet(PyBytes_AS_STRING(ratchet_prefix), PyBytes_GET_SIZE(ratchet_prefix),
                     current, current_size, key)
            current, current_size = key, DIGEST
            mac_bytes = PyBytes_FromStringAndSize(<char*>mac, DIGEST)
            if item[0] in SIGNED_KINDS:
                sign = sign or chain.keys.signing.sign
                signature = sign(PyBytes_FromStringAndSize(payload.data, payload.size)
                                 + mac_bytes)
            else:
                signature = None
            sealed.append((name, seq, number, item, prev, mac_bytes, signature))
            prev = mac_bytes
            expected += 1
    finally:
        free(payload.data)
    if sealed:
        chain._key = PyBytes_FromStringAndSize(<char*>key, DIGEST)
    chain._prev, chain.last_seq, chain.since_checkpoint = prev, expected - 1, since
    return sealed


cdef int64_t _int8(object value) except? -1:
    # struct's "q" takes only integers (Cython would cut a float's fraction): anything
    # but an int goes to the Python way (TypeError), which packs or refuses it itself
    if type(value) is not _INT:
        raise TypeError("an int is required")
    return value


cdef int _mac(char* at, object value) except -1:
    # struct's "32s": cut or padded with zeros to 32 bytes, behind its length word
    cdef Py_ssize_t size = min(PyBytes_GET_SIZE(<bytes?>value), DIGEST)
    write_i32(at, DIGEST)
    memset(at + 4, 0, DIGEST)
    memcpy(at + 4, PyBytes_AS_STRING(value), size)
    return 0


def copy_rows(copy, list sealed, int fields, int64_t epoch):
    """The rows of copy.encode(sealed) (binary.AuditCopy), without the stream's header
    and trailer: `fields` columns each, ts counted from `epoch` (µs). OverflowError or
    TypeError for a value the struct module would not pack either."""
    cdef Out out
    cdef char* at
    cdef double duration
    cdef uint64_t bits
    texts, objects, counts_of = copy._texts, copy._objects, copy._counts
    out.data, out.size, out.room = NULL, 0, 0
    try:
        for replica, seq, chain, item, prev, mac, signature in sealed:
            (kind, us, who, shape, objects_text, rows, subjects, decision, reason,
             duration_ms, sqlstate) = item
            head, counts = (replica, kind), (rows, subjects, decision, reason, sqlstate)
            at = _room(&out, 2 + 3 * 12 + 2 * (4 + DIGEST))
            write_i16(at, fields)
            write_i32(at + 2, 8)
            write_i64(at + 6, _int8(seq))
            write_i32(at + 14, 8)
            write_i64(at + 18, _int8(chain))
            write_i32(at + 26, 8)
            write_i64(at + 30, _int8(us) - epoch)
            _mac(at + 38, prev)
            _mac(at + 74, mac)
            _put(&out, texts.get(head) or copy._texts_of(head))
            _put(&out, texts.get(who) or copy._texts_of(who))
            _put(&out, texts.get(shape) or copy._texts_of(shape))
            _put(&out, objects.get(objects_text) or copy._objects_of(objects_text))
            _put(&out, counts_of.get(counts) or copy._counts_of(counts))
            if duration_ms is None:
                write_i32(_room(&out, 4), -1)
            else:
                duration = duration_ms
                memcpy(&bits, &duration, 8)
                at = _room(&out, 12)
                write_i32(at, 8)
                write_i64(at + 4, <int64_t>bits)
            if signature is None:
                write_i32(_room(&out, 4), -1)
            else:
                write_i32(_room(&out, 4), PyBytes_GET_SIZE(<bytes?>signature))
                _put(&out, signature)
        return PyBytes_FromStringAndSize(out.data, out.size)
    finally:
        free(out.data)
