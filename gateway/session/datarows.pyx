# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""DataRows of a statement over classified tables, rewritten in one compiled pass.

The same work as results.Tracker._rewrite_row, which stays the reference and the path
taken when this module is not built, over all the rows that follow each other in what
the server sent (one call for a few hundred rows, not one each): walk the cells, read
the subject keys at the end into their sets and cut them off, mask what it can, hand the
other cells that may need masking to Python, and rebuild the rows into one buffer. A
column mask is applied here (_put_mask, twin of freetext.column_masker); a free-text
cell is looked at only when its bytes may hold a number or an e-mail address (see
_may_hold_entity), and then goes through the pattern masker here (_scan, twin of
freetext.masker) and to Python only when the detector must see it; a guarded cell
always goes to Python, a computed cell only when the check could find something in it
(freetext.suspect, byte for byte). In Python each of these steps costs a few
interpreted operations per cell, about 4 µs a row of eleven columns; here it is a loop
over bytes.

Also plain_reply: the walk over a whole reply whose rows pass untouched (Tracker.settle),
twin of results.plain_reply.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.set cimport PySet_Add, PySet_GET_SIZE
from cpython.unicode cimport Py_UNICODE_ISSPACE, PyUnicode_DecodeUTF8
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memchr, memcmp, memcpy

from gateway.protocol.words cimport read_i32, write_i32

# What rewrite_rows() does with a visible cell, one byte per column (made by
# results.Tracker._compiled).
cdef enum Kind:
    C_KEEP, C_GUARD, C_SCAN, C_SCAN_ALWAYS, C_CHECK, C_MASK
KEEP, GUARD, SCAN, SCAN_ALWAYS, CHECK, MASK = (C_KEEP, C_GUARD, C_SCAN, C_SCAN_ALWAYS, C_CHECK,
                                              C_MASK)
# The column masks a MASK cell may have (freetext.column_masker)
cdef enum MaskCode:
    C_MASK_KEEP, C_MASK_NAME, C_MASK_EMAIL, C_MASK_REDACT
MASK_KEEP, MASK_NAME, MASK_EMAIL, MASK_REDACT = (C_MASK_KEEP, C_MASK_NAME, C_MASK_EMAIL,
                                                 C_MASK_REDACT)
# The digit entities of the free-text pattern masker (freetext.masker)
cdef enum Entity:
    C_ID_CARD, C_BANK_CARD, C_MOBILE
ENTITY_ID_CARD, ENTITY_BANK_CARD, ENTITY_MOBILE = C_ID_CARD, C_BANK_CARD, C_MOBILE
cdef enum:
    # PostgreSQL's most columns in a result (MaxTupleAttributeNumber); a row with more
    # is left to the Python path.
    MAX_COLUMNS = 1664


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


cdef struct Buffer:
    char* data
    Py_ssize_t size, capacity


cdef int _grow(Buffer* out, Py_ssize_t more) except -1:
    cdef Py_ssize_t capacity = out.capacity
    cdef char* grown
    if out.size + more <= capacity:
        return 0
    while out.size + more > capacity:
        capacity = capacity * 2 + 256
    grown = <char*>realloc(out.data, capacity)
    if grown == NULL:
        raise MemoryError()
    out.data, out.capacity = grown, capacity
    return 0


cdef int _put(Buffer* out, const void* source, Py_ssize_t length) except -1:
    _grow(out, length)
    memcpy(out.data + out.size, source, length)
    out.size += length
    return 0


cdef inline Py_ssize_t _chars(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """The characters of UTF-8 text: the bytes that are not continuation bytes."""
    cdef Py_ssize_t i, count = 0
    for i in range(n):
        count += (s[i] & 0xC0) != 0x80
    return count


cdef inline Py_ssize_t _after(const unsigned char* s, Py_ssize_t n, Py_ssize_t chars) \
        noexcept nogil:
    """Where the first `chars` characters of UTF-8 text end."""
    cdef Py_ssize_t i = 0
    while i < n and chars > 0:
        i += 1
        while i < n and (s[i] & 0xC0) == 0x80:
            i += 1
        chars -= 1
    return i


cdef struct Spec:
    # a MASK column's mask (see rewrite_rows)
    int code
    Py_ssize_t first, last, width
    const char* char


cdef int _spec(Spec* spec, tuple mask) except -1:
    cdef bytes char = mask[3] if mask[0] == C_MASK_KEEP else b"*"
    spec.code, spec.first, spec.last = mask[0], mask[1], mask[2]
    spec.char, spec.width = PyBytes_AS_STRING(char), PyBytes_GET_SIZE(char)
    return 0


cdef int _mask_into(Buffer* out, const unsigned char* s, Py_ssize_t n, const Spec* spec) \
        except -1:
    """freetext.column_masker over UTF-8 bytes: the first `head` bytes, `stars` times the
    mask character, the bytes from `tail` on."""
    cdef Py_ssize_t chars, head = 0, tail = n, stars = 3, at
    cdef char* o
    if spec.code == C_MASK_KEEP:
        chars = _chars(s, n)
        if chars <= spec.first + spec.last:
            stars = chars
        else:
            stars = chars - spec.first - spec.last
            head = _after(s, n, spec.first)
            tail = head + _after(s + head, n - head, stars)
    elif spec.code == C_MASK_NAME:
        head = _after(s, n, 1)
        stars = _chars(s, n) - 1
        stars = stars if stars > 1 else 1
    elif spec.code == C_MASK_EMAIL:
        at = 0
        while at < n and s[at] != 64:  # '@' (never inside a multi-byte character)
            at += 1
        if 0 < at < n:
            head, tail = _after(s, n, 1), at
    _grow(out, head + stars * spec.width + n - tail)
    o = out.data + out.size
    memcpy(o, s, head)
    o += head
    for at in range(stars):
        memcpy(o, spec.char, spec.width)
        o += spec.width
    memcpy(o, s + tail, n - tail)
    out.size += head + stars * spec.width + n - tail
    return 0


cdef int _put_mask(Buffer* out, const unsigned char* s, Py_ssize_t n, const Spec* spec) \
        except -1:
    """_mask_into, after the length word of the masked cell."""
    cdef Py_ssize_t word = out.size
    _grow(out, 4)
    out.size += 4
    _mask_into(out, s, n, spec)
    write_i32(out.data + word, out.size - word - 4)
    return 0


cdef struct Patterns:
    # a free-text column's pattern masker (freetext.masker), see _patterns
    int count
    int entity[3]
    Spec mask[3]
    bint email, detector
    Spec email_mask


cdef int _patterns(Patterns* patterns, tuple spec) except -1:
    """spec: (((ENTITY_..., mask) for each digit entity, in the masker's order), the
    e-mail mask or None, whether a text with a residue goes to the detector)."""
    cdef tuple digits = spec[0]
    cdef Py_ssize_t k
    if len(digits) > 3:
        raise ValueError("more digit entities than there are")
    patterns.count = len(digits)
    for k in range(patterns.count):
        patterns.entity[k] = digits[k][0]
        _spec(&patterns.mask[k], digits[k][1])
    patterns.email = spec[1] is not None
    if patterns.email:
        _spec(&patterns.email_mask, spec[1])
    patterns.detector = spec[2]
    return 0


cdef struct Cell:
    # what rewrite_rows needs of a MASK or SCAN column (from its entry in masks)
    bint compiled  # it has one: a SCAN column is then masked here, not in Python
    Spec mask
    Patterns patterns


cdef inline bint _is_digit(unsigned char c) noexcept nogil:
    return c >= 48 and c <= 57


cdef int _entity(const Patterns* patterns, const unsigned char* v, Py_ssize_t n, bint x) \
        noexcept nogil:
    """The first of the masker's digit entities that n digits (then an X when x) make,
    as freetext._DIGIT_ENTITIES tests them; -1 for none."""
    cdef int k
    for k in range(patterns.count):
        if patterns.entity[k] == C_ID_CARD:
            if n + x == 18:
                return k
        elif patterns.entity[k] == C_BANK_CARD:
            if not x and n >= 16 and n <= 19:
                return k
        elif not x and n == 11 and v[0] == 49 and v[1] >= 51 and v[1] <= 57:  # 1[3-9]
            return k
    return -1


cdef int _mask_numbers(Buffer* out, const unsigned char* s, Py_ssize_t n,
                       const Patterns* patterns) except -1:
    """The digit pass of freetext.masker: each run of eleven or more digits (and an X
    after it) masked when it makes one of the entities, else its digits alone when they
    make one, else left."""
    cdef Py_ssize_t i = 0, j, copied = 0
    cdef bint x, masked_x
    cdef int k
    while i < n:
        if not _is_digit(s[i]):
            i += 1
            continue
        j = i
        while j < n and _is_digit(s[j]):
            j += 1
        if j - i < 11:
            i = j
            continue
        x = masked_x = j < n and (s[j] == 88 or s[j] == 120)  # an X or x after the run
        k = _entity(patterns, s + i, j - i, x)
        if k < 0 and x:
            k = _entity(patterns, s + i, j - i, False)
            masked_x = False  # the X stays as it is
        if k >= 0:
            _put(out, s + copied, i - copied)
            _mask_into(out, s + i, j - i + masked_x, &patterns.mask[k])
            copied = j + masked_x
        i = j + x  # the pattern takes the X whether or not it is masked
    _put(out, s + copied, n - copied)
    return 0


cdef inline bint _is_alnum(unsigned char c) noexcept nogil:
    return (c >= 48 and c <= 57) or (c >= 65 and c <= 90) or (c >= 97 and c <= 122)


cdef inline bint _is_letter(unsigned char c) noexcept nogil:
    return (c >= 65 and c <= 90) or (c >= 97 and c <= 122)


cdef int _mask_emails(Buffer* out, const unsigned char* s, Py_ssize_t n,
                      const Spec* mask) except -1:
    """The e-mail pass of freetext.masker, as its regular expression _EMAIL finds them
    (leftmost first, not overlapping): an alphanumeric character, address characters,
    '@', then the domain up to its last dot that two letters or more follow, and those."""
    cdef Py_ssize_t at = 0, copied = 0, floor = 0, first, domain, end, dot
    while at < n:
        if s[at] != 64:  # '@'
            at += 1
            continue
        first = at
        while first > floor and _is_address_byte(s[first - 1]):
            first -= 1
        while first < at and not _is_alnum(s[first]):
            first += 1
        domain = at + 1
        end = domain
        while end < n and (_is_alnum(s[end]) or s[end] == 46 or s[end] == 45):  # [.-]
            end += 1
        dot = end - 3
        while dot > domain and not (s[dot] == 46 and _is_letter(s[dot + 1])
                                    and _is_letter(s[dot + 2])):
            dot -= 1
        if first == at or dot <= domain:
            at += 1
            continue
        end = dot + 1
        while end < n and _is_letter(s[end]):
            end += 1
        _put(out, s + copied, first - copied)
        _mask_into(out, s + first, end - first, mask)
        copied = floor = at = end
    _put(out, s + copied, n - copied)
    return 0


cdef int _scan(Buffer* digits, Buffer* emails, const unsigned char* s, Py_ssize_t n,
               const Patterns* patterns) except -2:
    """A free-text cell through the pattern masker (freetext.masker): 1 with the masked
    text in `emails`, 0 when nothing changed, -1 when the text has a residue that the
    detector must see (the caller hands the cell to the Python masker)."""
    cdef const unsigned char* text = s
    cdef Py_ssize_t length = n
    digits.size = emails.size = 0
    if patterns.count:
        _mask_numbers(digits, s, n, patterns)
        text, length = <const unsigned char*>digits.data, digits.size
    if patterns.email and length and memchr(text, 64, length) != NULL:
        _mask_emails(emails, text, length, &patterns.email_mask)
    else:
        _put(emails, text, length)
    if patterns.detector and _residue(PyUnicode_DecodeUTF8(emails.data, emails.size,
                                                           "surrogateescape")):
        return -1
    return not (emails.size == n and memcmp(emails.data, s, n) == 0)


def scan_text(bytes value, tuple spec):
    """_scan over a whole bytes value (for tests): the masked bytes, or None when the
    detector must see it."""
    cdef Patterns patterns
    cdef Buffer digits, emails
    cdef int done
    _patterns(&patterns, spec)
    digits.data, digits.size, digits.capacity = NULL, 0, 0
    emails.data, emails.size, emails.capacity = NULL, 0, 0
    try:
        _grow(&digits, 1)
        done = _scan(&digits, &emails, <const unsigned char*>PyBytes_AS_STRING(value),
                     PyBytes_GET_SIZE(value), &patterns)
        if done < 0:
            return None
        return PyBytes_FromStringAndSize(emails.data, emails.size) if done else value
    finally:
        free(digits.data)
        free(emails.data)


def column_mask(bytes value, tuple mask):
    """_put_mask over a whole bytes value, without the length word (for tests)."""
    cdef Spec spec
    cdef Buffer out
    _spec(&spec, mask)
    out.data, out.size, out.capacity = NULL, 0, 0
    try:
        _put_mask(&out, <const unsigned char*>PyBytes_AS_STRING(value),
                  PyBytes_GET_SIZE(value), &spec)
        return PyBytes_FromStringAndSize(out.data + 4, out.size - 4)
    finally:
        free(out.data)


def rewrite_rows(bytes data, Py_ssize_t start, bytes kinds, tuple masks, tuple sinks,
                 bint binary_keys, object cell, Py_ssize_t batch, Py_ssize_t most):
    """The whole DataRows from data[start] on, as the client gets them.

    kinds: one byte per visible column (KEEP ... MASK); masks: () or one entry per visible
    column: for a MASK column its (MASK_KEEP ... MASK_REDACT, keep_first, keep_last, mask
    character as UTF-8), for a SCAN column None or its pattern masker (see _patterns),
    which then masks its cells here unless they have a residue for the detector; sinks:
    one set per subject key column after them, each key added to its set; cell(i, value)
    -> the replacement of a GUARD, SCAN or CHECK cell with its length word, or None to
    keep it. Stops before the first message that is not a whole DataRow of len(kinds) +
    len(sinks) cells (left to the caller), after `most` rows, or after a row that fills a
    set to `batch` keys. Returns (rows as sent, end of the last row taken, rows taken, a
    set is full); no row taken: (b"", start, 0, False).
    """
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef const unsigned char* kind = <const unsigned char*>PyBytes_AS_STRING(kinds)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data), keep = PyBytes_GET_SIZE(kinds)
    cdef Py_ssize_t nkeys = len(sinks), pos = start, rows = 0
    cdef Py_ssize_t count, i, at, end, length, row
    cdef Py_ssize_t offsets[MAX_COLUMNS + 1]
    cdef bint full = False, found, changed = nkeys > 0
    cdef object replacement
    cdef Buffer out, digits, emails
    cdef Cell* cells = NULL
    cdef int scanned
    if start < 0 or keep + nkeys > MAX_COLUMNS:
        return b"", start, 0, False
    out.data, out.size, out.capacity = NULL, 0, 0
    digits.data, digits.size, digits.capacity = NULL, 0, 0
    emails.data, emails.size, emails.capacity = NULL, 0, 0
    try:
        if len(masks) < keep and kinds.find(C_MASK) >= 0:
            raise ValueError("a MASK column without its mask")
        if len(masks) >= keep:
            cells = <Cell*>malloc(keep * sizeof(Cell) + 1)
            if cells == NULL:
                raise MemoryError()
            for i in range(keep):
                cells[i].patterns.count, cells[i].compiled = 0, masks[i] is not None
                if kind[i] == C_MASK:
                    _spec(&cells[i].mask, masks[i])
                elif kind[i] == C_SCAN and cells[i].compiled:
                    _patterns(&cells[i].patterns, masks[i])
        _grow(&out, size - start)
        while rows < most and not full and size - pos >= 7 and p[pos] == 68:  # 'D'
            end = pos + 1 + read_i32(p + pos + 1)
            if end > size or end < pos + 7:
                break
            count = (<Py_ssize_t>p[pos + 5] << 8) | p[pos + 6]
            if count != keep + nkeys or not _walk(p, pos + 7, end, count, offsets):
                break
            for i in range(nkeys):
                at = offsets[keep + i]
                length = read_i32(p + at)
                if length >= 0:
                    PySet_Add(sinks[i], _key(p + at + 4, length, binary_keys))
                    if PySet_GET_SIZE(sinks[i]) >= batch:
                        full = True
            row = out.size  # its type byte, length and cell count are set at the end
            _grow(&out, 7)
            out.size += 7
            at = pos + 7  # the next byte of the row not copied yet
            for i in range(keep):
                if kind[i] == C_KEEP:
                    continue
                length = read_i32(p + offsets[i])
                if length < 0:
                    continue  # NULL stays NULL
                if kind[i] == C_MASK:
                    _put(&out, p + at, offsets[i] - at)
                    _put_mask(&out, p + offsets[i] + 4, length, &cells[i].mask)
                else:
                    if kind[i] == C_SCAN:
                        found = _may_hold_entity(p + offsets[i] + 4, length)
                    elif kind[i] == C_CHECK:
                        found = _suspect(p + offsets[i] + 4, length)
                    else:
                        found = True
                    if not found:
                        continue
                    scanned = -1  # -1: the cell goes to Python (see _scan)
                    if kind[i] == C_SCAN and cells != NULL and cells[i].compiled:
                        scanned = _scan(&digits, &emails, p + offsets[i] + 4, length,
                                        &cells[i].patterns)
                        if scanned == 0:
                            continue
                    if scanned > 0:
                        _put(&out, p + at, offsets[i] - at)
                        _grow(&out, 4)
                        write_i32(out.data + out.size, emails.size)
                        out.size += 4
                        _put(&out, emails.data, emails.size)
                    else:
                        replacement = cell(i, data[offsets[i] + 4:offsets[i + 1]])
                        if replacement is None:
                            continue
                        if type(replacement) is not bytes:
                            raise TypeError("a cell replacement must be bytes")
                        _put(&out, p + at, offsets[i] - at)
                        _put(&out, PyBytes_AS_STRING(replacement),
                             PyBytes_GET_SIZE(replacement))
                at = offsets[i + 1]
                changed = True
            _put(&out, p + at, offsets[keep] - at)
            out.data[row] = 68  # 'D'
            write_i32(out.data + row + 1, out.size - row - 1)
            out.data[row + 5], out.data[row + 6] = (keep >> 8) & 0xFF, keep & 0xFF
            rows += 1
            pos = end
        if not changed:  # nothing cut off or masked: the rows as they came
            return data[start:pos], pos, rows, full
        return PyBytes_FromStringAndSize(out.data, out.size), pos, rows, full
    finally:
        free(out.data)
        free(digits.data)
        free(emails.data)
        free(cells)


cdef bint _walk(const unsigned char* p, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t count,
                Py_ssize_t* offsets) noexcept nogil:
    """Where each of count cells starts from pos on (then where the last ends): False when
    they do not fill data[pos:end] exactly."""
    cdef Py_ssize_t i
    cdef int32_t length
    for i in range(count):
        if end - pos < 4:
            return False
        offsets[i] = pos
        length = read_i32(p + pos)
        pos += 4 + (length if length > 0 else 0)
        if pos > end:
            return False
    offsets[count] = end
    return pos == end


cdef inline bint _digit(Py_UCS4 c) noexcept nogil:
    return (c >= 48 and c <= 57) or (c >= 0xFF10 and c <= 0xFF19)  # ASCII or full-width


cdef inline bint _separator(Py_UCS4 c) noexcept:
    # what freetext._RESIDUE lets stand between digits: \s, - － — . · / ( ) （ ）
    return (Py_UNICODE_ISSPACE(c) or c == 45 or c == 0xFF0D or c == 0x2014 or c == 46
            or c == 0xB7 or c == 47 or c == 40 or c == 41 or c == 0xFF08 or c == 0xFF09)


def residue(str text):
    """_residue, for Python (freetext.text_masker)."""
    return _residue(text)


cdef bint _residue(str text) except -1:
    """freetext._residue in one pass over the text: an '@' after a character that is not
    '*' or a space, or a group of digits (ASCII or full-width, separators between them)
    with seven digits or more that is not one plain ASCII run under eleven. True wherever
    the regular expression there finds a residue (and for an '@' right after a skipped
    run of digits, which it passes over)."""
    cdef Py_ssize_t i = 0, n = len(text), digits, first, last
    cdef Py_UCS4 c
    cdef bint plain
    while i < n:
        c = text[i]
        if c == 64:  # '@'
            if i > 0 and text[i - 1] != 42 and not Py_UNICODE_ISSPACE(text[i - 1]):
                return True
            i += 1
            continue
        if not _digit(c):
            i += 1
            continue
        first, digits, plain = i, 0, True
        while i < n:
            c = text[i]
            if _digit(c):
                digits += 1
                last = i
                if c > 57:
                    plain = False
            elif not _separator(c):
                break
            i += 1
        if digits >= 7 and (last - first + 1 >= 11 or not plain
                            or last - first + 1 != digits):
            return True
        i = last + 1
    return False


def plain_reply(bytes data, bytes head, described, bint describe):
    """results.plain_reply, compiled: (DataRows, tag start, tag end) when data is one
    whole reply of head, a RowDescription of body `described` (required when describe),
    DataRows, CommandComplete and ReadyForQuery; else None."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data), pos = PyBytes_GET_SIZE(head)
    cdef Py_ssize_t rows = 0, length, end, known
    if size < pos or memcmp(p, PyBytes_AS_STRING(head), pos) != 0:
        return None
    if size - pos >= 1 and p[pos] == 84:  # T
        if described is None or size - pos < 5:
            return None
        known = PyBytes_GET_SIZE(<bytes?>described)
        if read_i32(p + pos + 1) != known + 4 or size - pos - 5 < known \
                or memcmp(p + pos + 5, PyBytes_AS_STRING(described), known) != 0:
            return None
        pos += 5 + known
    elif describe:
        return None
    while size - pos >= 5 and p[pos] == 68:  # D
        length = read_i32(p + pos + 1)
        if length < 4:
            return None
        pos += 1 + length
        rows += 1
    if size - pos < 5 or p[pos] != 67:  # C
        return None
    length = read_i32(p + pos + 1)
    end = pos + 1 + length
    if length < 4 or end + 6 != size or memcmp(p + end, b"Z\0\0\0\5", 5) != 0:
        return None
    return rows, pos + 5, end
