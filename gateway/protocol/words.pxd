# cython: language_level=3
"""The wire format's big-endian words, for the compiled modules (cimport)."""

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t


cdef inline int32_t read_i32(const unsigned char* p) noexcept nogil:
    return <int32_t>((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16)
                     | (<uint32_t>p[2] << 8) | <uint32_t>p[3])


cdef inline void write_i16(char* out, Py_ssize_t value) noexcept nogil:
    out[0], out[1] = (value >> 8) & 0xFF, value & 0xFF


cdef inline void write_i32(char* out, Py_ssize_t value) noexcept nogil:
    out[0], out[1] = (value >> 24) & 0xFF, (value >> 16) & 0xFF
    out[2], out[3] = (value >> 8) & 0xFF, value & 0xFF


cdef inline void write_i64(char* out, int64_t value) noexcept nogil:
    cdef uint64_t bits = <uint64_t>value
    cdef int i
    for i in range(8):
        out[i] = (bits >> (56 - 8 * i)) & 0xFF
