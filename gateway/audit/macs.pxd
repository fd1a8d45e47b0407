# cython: language_level=3
"""The chain's hashing steps, for the compiled modules that seal records (cimport)."""

cdef enum:
    DIGEST = 32  # SHA-256: a MAC, and every key after the first


cdef void _hmac(const unsigned char* key, size_t key_size, const unsigned char* prev,
                size_t prev_size, const char* payload, size_t size,
                unsigned char* out) noexcept nogil

cdef void _ratchet(const char* prefix, size_t prefix_size, const unsigned char* key,
                   size_t key_size, unsigned char* out) noexcept nogil
