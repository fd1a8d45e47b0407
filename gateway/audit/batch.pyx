# cython: language_level=3, boundscheck=False, wraparound=False
"""The audit writer's work per record, for a whole batch in one compiled pass.

Every statement's record is sealed into the chain (its canonical JSON assembled from
parts encoded once, then its MAC) and encoded as a binary COPY row. In Python that is
a few dozen interpreted steps a record, about 3.5 µs, on the same event loop as the
sessions; here the same steps run as C. Chain.seal_entries and AuditCopy.encode stay
the reference (the tests hold the bytes and the chain's state equal) and the path taken
where this module is not built; anything uncommon (a part not yet encoded, a checkpoint,
a signature) is still done by their own Python helpers, called from here.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.math cimport isfinite
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy, memset

from gateway.protocol.words cimport write_i16, write_i32, write_i64

from gateway.audit.record import CHECKPOINT, SIGNED_KINDS, canonical_json

cdef object _INT = int
cdef object _NONE = type(None)

cdef enum:
    DIGEST = 32  # SHA-256 MACs: the fixed prev_mac and mac fields


cdef inline bint _plain(object value):
    # chain._PLAIN: as dict keys 1 == 1.0 == True, so only ints and None are looked up
    return type(value) is _INT or value is None


cdef str _number(object value):
    # chain._number: duration_ms as the JSON encoder writes it
    if type(value) is float and isfinite(<double>value):
        return repr(value)
    return canonical_json(value)


cdef bytes _payload(object seq, object item, dict parts, object part, str replica,
                    object number, dict kinds):
    # Chain._payload, step for step
    kind, us, who, shape, objects, rows, subjects, decision, reason, duration, sqlstate = item
    counts = (rows, subjects, decision, reason)
    if _plain(rows) and _plain(subjects):
        counts_json = parts.get(counts) or part(counts)
    else:
        counts_json = canonical_json(counts)
        counts_json = counts_json[1:len(counts_json) - 1]  # no negative index here
    return (f"[{replica},{seq},{number},{kinds[kind]},{us},"
            f"{parts.get(who) or part(who)},{parts.get(shape) or part(shape)},"
            f"{parts.get(objects) or part(objects, whole=True)},"
            f"{counts_json},{_number(duration)},"
            f"{parts.get(sqlstate) or part(sqlstate, whole=True)}]").encode()


def seal_entries(chain, list numbered, dict kinds, checkpoint, mac_chain):
    """chain.seal_entries(numbered) (gateway.audit.chain.Chain): the same sealed rows and
    the same chain state after. `kinds` holds each record kind as JSON, `checkpoint(n)`
    makes the entry of a checkpoint after n records, `mac_chain` is the chain's MAC pass.
    Nothing in the chain changes before every seq has been checked."""
    cdef Py_ssize_t n = len(numbered), i
    expected, since = chain.last_seq + 1, chain.since_checkpoint
    parts, part, replica, number = chain._parts, chain._part, chain._replica_json, chain.chain
    items, payloads = [], []
    for seq, item in numbered:
        if seq != expected:
            raise ValueError(f"audit chain: expected seq {expected}, got {seq}")
        if item is None:
            item = checkpoint(since)
        since = 0 if item[0] == CHECKPOINT else since + 1
        items.append(item)
        payloads.append(_payload(seq, item, parts, part, replica, number, kinds))
        expected += 1
    macs, key = mac_chain(chain._key, chain._prev, payloads)
    sealed, prev, replica = [], chain._prev, chain.replica
    sign = None
    for i in range(n):
        item, mac = items[i], macs[i]
        if item[0] in SIGNED_KINDS:
            sign = sign or chain.keys.signing.sign
            signature = sign(payloads[i] + mac)
        else:
            signature = None
        sealed.append((replica, numbered[i][0], number, item, prev, mac, signature))
        prev = mac
    chain._key, chain._prev, chain.last_seq = key, prev, expected - 1
    chain.since_checkpoint = since
    return sealed


cdef struct Out:
    char* data
    Py_ssize_t size
    Py_ssize_t room


cdef char* _room(Out* out, Py_ssize_t more) except NULL:
    """Where the next `more` bytes go (the buffer grows as needed)."""
    cdef Py_ssize_t room
    cdef char* grown
    if out.size + more > out.room:
        room = max(out.room * 2, out.size + more, 65536)
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
