# cython: language_level=3, boundscheck=False, wraparound=False
"""A session's short way, compiled: a statement sent again, and its plain reply back.

Most traffic is the same few statements again and again: drivers send the same batch for
a prepared statement (Bind, perhaps Describe, Execute, Sync, only the parameters changing;
perhaps a Parse of the same text first), simple-protocol clients the same Query with other
literals, and the server answers each with the same kind of reply. The Python path
already takes such a batch (Session.client_bytes with Tracker.repeated and replay), such
a Query (Session._relay with Tracker.query) and such a reply (Session.server_bytes with
Tracker.settle) each at once; it stays the reference and the path of everything else.
This does the same in one compiled call per direction, from the shell's two callbacks,
without the layers between:

- Lane.client says True only for a batch or Query that the Python path would take as
  the only thing in flight with rows that pass untouched, and does what that path does
  (the counters, the portal); the shell then forwards it as it is. A Query it decided
  but cannot take goes to the core with its decision (Session.query_alone): None.
  Anything else: False, nothing changed, and the shell gives the bytes to the core.
- The statement in flight is held here, not queued in the tracker. When its reply is the
  plain one, Lane.server finishes it (a Done in tracker.finished, for audit and
  metering) and the shell forwards the reply as it is. When anything else comes first (an
  error, a notice, a reply cut in two, another batch), the statement is put into the
  tracker as the Python path would have put it (materialize) before that path sees the
  bytes: the tracker never knows the difference.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.string cimport memchr, memcmp

from gateway.protocol.words cimport read_i32

from gateway.protocol.buffer import ENCODING, ERRORS
from gateway.session.datarows import plain_reply
from gateway.session.purpose import mentions_reserved

_NO_SUBJECTS = {}  # shared, never written: a Done holds no subject keys


cdef class Done:
    """A statement the lane took, finished with a plain reply: what accounting and audit
    read of a results.Run (nothing refused, failed, cut, masked or attributed)."""

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
    cdef dict simple
    cdef object queue
    cdef Py_ssize_t max_message
    # the statement in flight, taken the short way: its Prepared (None: nothing in flight),
    # its Repeat (a batch) or its text (a Query), what its reply begins with, whether a
    # RowDescription must come, and when it went
    cdef object prepared
    cdef object repeat
    cdef object sql
    cdef bytes head
    cdef bint describe
    cdef double started

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
        self.simple = tracker._simple
        self.queue = tracker._queue

    def client(self, bytes data):
        """True: forward data as it is; None: the core took it (send what it queued);
        False: give it to the core."""
        if self.prepared is not None:  # pipelined: the Python path queues both
            self.materialize()
            return False
        session = self.session
        if session.phase != "ready" or session._inbuf \
                or PyBytes_GET_SIZE(data) > self.max_message:
            return False
        if PyBytes_GET_SIZE(data) and PyBytes_AS_STRING(data)[0] == b"Q":
            return self._query(session, data)
        found = self._repeated(data)
        if found is None:
            return False
        prepared = found.prepared
        decision = prepared.decision
        if not self._alone_and_plain(prepared, decision):
            return False  # Tracker.replay queues it
        sql = found.sql
        if sql is not None and (self.decide is None
                                or self.decide(sql, session.purpose) is not decision):
            return False  # rules or catalog changed since (Session._current)
        self.portals[found.portal] = (prepared, False)
        self._hold(prepared, found, None, found.reply_head, found.describe)
        session.statements += 1  # its one Execute
        session._syncs_sent += 1
        return True

    def server(self, bytes data):
        """True when data is the whole plain reply to the statement in flight: forward it
        as it is (its statement is in tracker.finished)."""
        cdef Done done
        prepared = self.prepared
        if prepared is None:
            return False
        session = self.session
        if session.phase != "ready" or session._outbuf:
            self.materialize()
            return False
        shape = plain_reply(data, self.head, prepared.described, self.describe)
        if shape is None:
            self.materialize()
            return False
        rows, tag_start, tag_end = shape
        done = Done.__new__(Done)
        done.prepared = prepared
        done.sql = prepared.sql if self.sql is None else self.sql
        done.started = self.started
        done.rows = rows
        done.tag = data[tag_start:tag_end]
        self.prepared = self.repeat = self.sql = None
        self.tracker.finished.append(done)
        session.transaction = data[PyBytes_GET_SIZE(data) - 1:]
        session._syncs_done += 1
        if session._refusals:
            session._forget_refusals()
        return True

    def materialize(self):
        """Queue the statement in flight in the tracker, as the Python path has it."""
        prepared, repeat, sql = self.prepared, self.repeat, self.sql
        if prepared is None:
            return
        self.prepared = self.repeat = self.sql = None
        if repeat is not None:
            self.tracker.replay(repeat, self.started)
        else:
            self.tracker.query(sql, prepared.decision, self.session._row_limit, None,
                               self.started)

    cdef object _query(self, session, bytes data):
        """A Query alone in data (Session._relay and _inspect, Tracker.query)."""
        cdef const char* p = PyBytes_AS_STRING(data)
        cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
        if size < 6 or read_i32(<const unsigned char*>p + 1) != size - 1 \
                or memchr(p + 5, 0, size - 5) != p + size - 1:
            return False  # not one whole Query, its text ending where it does
        sql = data[5:size - 1].decode(ENCODING, ERRORS)
        if self.decide is None or mentions_reserved(sql):
            return False
        decision = self.decide(sql, session.purpose)
        known = self.simple.get(id(decision))
        if not decision.verbatim or known is None or known.decision is not decision \
                or decision.tables or decision.declares or decision.fetches is not None \
                or not self._alone_and_plain(known, decision):
            session.query_alone(data, sql, decision)
            return None
        session._lead = None
        self._hold(known, None, sql, b"", False)
        session._syncs_sent += 1
        session.statements += 1
        return True

    cdef bint _alone_and_plain(self, prepared, decision):
        """Nothing else in flight, and the statement's rows pass untouched (Run.plain)."""
        return not (self.queue or self.tracker.awaited is not None
                    or prepared.tag is not None or prepared.guards
                    or prepared.checks is not None
                    or (decision is not None and decision.subject_columns))

    cdef _hold(self, prepared, repeat, sql, bytes head, bint describe):
        self.started = self.clock()
        self.prepared, self.repeat, self.sql = prepared, repeat, sql
        self.head, self.describe = head, describe

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
            bind = 1 + <Py_ssize_t>read_i32(p + 1)
            if not 0 < bind <= size - 6:
                return None
            found = self.repeats.get(data[:bind])
        else:
            return None
        if found is None:
            return None
        head, tail = found.head, found.tail
        stop = bind + 1 + <Py_ssize_t>read_i32(p + bind + 1)
        if stop + PyBytes_GET_SIZE(tail) != size \
                or bind + 5 + PyBytes_GET_SIZE(head) > size \
                or memcmp(p + bind + 5, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head)) != 0 \
                or memcmp(p + stop, PyBytes_AS_STRING(tail), PyBytes_GET_SIZE(tail)) != 0 \
                or self.statements.get(found.statement) is not found.prepared:
            return None
        return found
