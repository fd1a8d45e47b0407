# cython: language_level=3, boundscheck=False, wraparound=False
"""A session's short way, compiled: a repeated batch out, and its plain reply back.

Drivers send the same batch for a prepared statement again and again (Bind, perhaps
Describe, Execute, Sync, only the parameters changing; perhaps a Parse of the same text
first), and the server answers each with the same kind of reply. The Python path already
tracks such a batch at once (Session.client_bytes with Tracker.repeated and replay) and
such a reply at once (Session.server_bytes with Tracker.settle); it stays the reference
and the path of everything else. This does the same in one compiled call per direction,
from the shell's two callbacks, without the layers between:

- Lane.client says True only for a batch that the Python path would take its own short
  way with, as the only thing in flight, and does what that path does (the counters, the
  portal); the shell then forwards the batch as it is. Anything else: False, nothing
  changed, and the shell gives the bytes to the session core.
- The statement in flight is held here, not queued in the tracker. When its reply is the
  plain one, Lane.server finishes it (a Done in tracker.finished, for audit and
  metering) and the shell forwards the reply as it is. When anything else comes first (an
  error, a notice, a reply cut in two, another batch), the statement is put into the
  tracker as Tracker.replay would have put it (materialize) before the Python path sees
  the bytes: the tracker never knows the difference.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport int32_t, uint32_t
from libc.string cimport memchr, memcmp

from gateway.session.datarows import plain_reply

cdef bytes _BIND_COMPLETE = b"2\0\0\0\4"
cdef bytes _PARSE_BIND_COMPLETE = b"1\0\0\0\4" + _BIND_COMPLETE
_NO_SUBJECTS = {}  # shared, never written: a Done holds no subject keys


cdef inline int32_t _i32(const unsigned char* p) noexcept nogil:
    return <int32_t>((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16)
                     | (<uint32_t>p[2] << 8) | <uint32_t>p[3])


cdef class Done:
    """A statement of a repeated batch, finished with a plain reply: what accounting and
    audit read of a results.Run (nothing refused, failed, cut, masked or attributed)."""

    cdef readonly object prepared
    cdef readonly object sql
    cdef readonly object tag
    cdef readonly double started
    cdef readonly Py_ssize_t rows
    sqlstate = None
    misses = 0
    subject_count = 0
    handed_over = 0
    subjects = _NO_SUBJECTS


cdef class Lane:
    """The short way of one session (made by the shell once the session is ready)."""

    cdef object session
    cdef object tracker
    cdef object clock
    cdef object decide
    cdef dict repeats
    cdef dict statements
    cdef dict portals
    cdef object queue
    cdef Py_ssize_t max_message
    cdef object pending  # the Repeat whose batch is in flight, taken the short way
    cdef double started  # when it went

    def __init__(self, session):
        config = session.config
        tracker = session.tracker
        self.session = session
        self.tracker = tracker
        self.clock = config.clock
        self.decide = config.decide
        self.max_message = config.max_message
        self.repeats = tracker._repeats
        self.statements = tracker._statements
        self.portals = tracker._portals
        self.queue = tracker._queue

    def client(self, bytes data):
        """True when data is a batch taken the short way: forward it as it is."""
        if self.pending is not None:  # pipelined: the Python path queues both
            self.materialize()
            return False
        session = self.session
        if session.phase != "ready" or session._inbuf \
                or PyBytes_GET_SIZE(data) > self.max_message:
            return False
        found = self._repeated(data)
        if found is None:
            return False
        prepared = found.prepared
        decision = prepared.decision
        if self.queue or self.tracker.awaited is not None or prepared.tag is not None \
                or prepared.guards or prepared.checks is not None \
                or (decision is not None and decision.subject_columns):
            return False  # not alone, or its rows not plain: Tracker.replay queues it
        sql = found.sql
        if sql is not None and (self.decide is None
                                or self.decide(sql, session.purpose) is not decision):
            return False  # rules or catalog changed since (Session._current)
        self.portals[found.portal] = (prepared, False)
        self.started = self.clock()
        self.pending = found
        session.statements += 1  # its one Execute
        session._syncs_sent += 1
        return True

    def server(self, bytes data):
        """True when data is the whole plain reply to the batch in flight: forward it as
        it is (its statement is in tracker.finished)."""
        cdef Done done
        found = self.pending
        if found is None:
            return False
        session = self.session
        if session.phase != "ready" or session._outbuf:
            self.materialize()
            return False
        prepared = found.prepared
        shape = plain_reply(data, _PARSE_BIND_COMPLETE if found.lead else _BIND_COMPLETE,
                            prepared.described, found.describe)
        if shape is None:
            self.materialize()
            return False
        self.pending = None
        rows, tag_start, tag_end = shape
        done = Done.__new__(Done)
        done.prepared = prepared
        done.sql = prepared.sql
        done.started = self.started
        done.rows = rows
        done.tag = data[tag_start:tag_end]
        self.tracker.finished.append(done)
        session.transaction = data[PyBytes_GET_SIZE(data) - 1:]
        session._syncs_done += 1
        if session._refusals:
            session._forget_refusals()
        return True

    def materialize(self):
        """Queue the statement in flight in the tracker, as the Python path has it."""
        found = self.pending
        if found is not None:
            self.pending = None
            self.tracker.replay(found, self.started)

    cdef object _repeated(self, bytes data):
        """Tracker.repeated, compiled: the Repeat data has the form of, else None."""
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(data), bind, stop
        cdef const unsigned char* nul
        cdef bytes head, tail
        if size < 6 or not self.repeats:
            return None
        if p[0] == 66:  # B: keyed by its portal and statement names
            bind = 0
            nul = <const unsigned char*>memchr(p + 5, 0, size - 5)
            if nul == NULL:
                return None
            nul = <const unsigned char*>memchr(nul + 1, 0, size - (nul + 1 - p))
            if nul == NULL:
                return None
            found = self.repeats.get(data[5:nul + 1 - p])
        elif p[0] == 80:  # P: keyed by the whole Parse
            bind = 1 + <Py_ssize_t>_i32(p + 1)
            if not 0 < bind <= size - 6:
                return None
            found = self.repeats.get(data[:bind])
        else:
            return None
        if found is None:
            return None
        head, tail = found.head, found.tail
        stop = bind + 1 + <Py_ssize_t>_i32(p + bind + 1)
        if stop + PyBytes_GET_SIZE(tail) != size \
                or bind + 5 + PyBytes_GET_SIZE(head) > size \
                or memcmp(p + bind + 5, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head)) != 0 \
                or memcmp(p + stop, PyBytes_AS_STRING(tail), PyBytes_GET_SIZE(tail)) != 0 \
                or self.statements.get(found.statement) is not found.prepared:
            return None
        return found
