# cython: language_level=3, boundscheck=False, wraparound=False
"""The MAC chain's hashing for a batch of records in one compiled pass.

Each record costs an HMAC-SHA256 and a ratchet step (three SHA-256 computations of a
few hundred bytes). In Python that is a dozen interpreted steps and objects a record,
about 2.5 µs, most of it not hashing; here the hashing is OpenSSL's SHA-256, called
directly. The same MACs and keys as chain.mac_chain, which stays the reference and the
path taken where this module is not built.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy, memset

cdef extern from "openssl/sha.h":
    ctypedef struct SHA256_CTX:
        pass
    int SHA256_Init(SHA256_CTX* c) nogil
    int SHA256_Update(SHA256_CTX* c, const void* data, size_t n) nogil
    int SHA256_Final(unsigned char* md, SHA256_CTX* c) nogil
    unsigned char* SHA256(const unsigned char* d, size_t n, unsigned char* md) nogil

cdef enum:
    BLOCK = 64  # SHA-256's block: HMAC pads its key to it


cdef void _hmac(const unsigned char* key, size_t key_size, const unsigned char* prev,
                size_t prev_size, const char* payload, size_t size,
                unsigned char* out) noexcept nogil:
    # RFC 2104: H((K ^ opad) || H((K ^ ipad) || message)), K padded (or hashed) to a block
    cdef unsigned char block[BLOCK]
    cdef unsigned char pad[BLOCK]
    cdef unsigned char inner[DIGEST]
    cdef SHA256_CTX ctx
    cdef int i
    memset(block, 0, BLOCK)
    if key_size > BLOCK:
        SHA256(key, key_size, block)
    else:
        memcpy(block, key, key_size)
    for i in range(BLOCK):
        pad[i] = block[i] ^ 0x36
    SHA256_Init(&ctx)
    SHA256_Update(&ctx, pad, BLOCK)
    SHA256_Update(&ctx, prev, prev_size)
    SHA256_Update(&ctx, payload, size)
    SHA256_Final(inner, &ctx)
    for i in range(BLOCK):
        pad[i] = block[i] ^ 0x5C
    SHA256_Init(&ctx)
    SHA256_Update(&ctx, pad, BLOCK)
    SHA256_Update(&ctx, inner, DIGEST)
    SHA256_Final(out, &ctx)


cdef void _ratchet(const char* prefix, size_t prefix_size, const unsigned char* key,
                   size_t key_size, unsigned char* out) noexcept nogil:
    # the next record's key: SHA-256(prefix || key)
    cdef SHA256_CTX ctx
    SHA256_Init(&ctx)
    SHA256_Update(&ctx, prefix, prefix_size)
    SHA256_Update(&ctx, key, key_size)
    SHA256_Final(out, &ctx)


def mac_chain(bytes key not None, bytes prev not None, list payloads not None,
              bytes ratchet_prefix not None):
    """(MACs, next key) for payloads sealed in order from key and the MAC before them:
    mac_i = HMAC-SHA256(k_i, mac_{i-1} || payload_i), k_{i+1} = SHA-256(ratchet_prefix ||
    k_i). Payloads must be bytes (TypeError otherwise)."""
    cdef unsigned char mac[DIGEST]
    cdef unsigned char following[DIGEST]
    cdef size_t prefix = PyBytes_GET_SIZE(ratchet_prefix)
    cdef bytes payload
    macs = []
    for item in payloads:
        if type(item) is not bytes:
            raise TypeError("payloads must be bytes")
        payload = <bytes>item
        _hmac(<const unsigned char*>PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key),
              <const unsigned char*>PyBytes_AS_STRING(prev), PyBytes_GET_SIZE(prev),
              PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload), mac)
        _ratchet(PyBytes_AS_STRING(ratchet_prefix), prefix,
                 <const unsigned char*>PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key),
                 following)
        key = PyBytes_FromStringAndSize(<char*>following, DIGEST)
        prev = PyBytes_FromStringAndSize(<char*>mac, DIGEST)
        macs.append(prev)
    return macs, key
