#include "CChecksum.h"

#include <pthread.h>
#include <string.h>

/* Reflected polynomial of CRC-32C. */
#define POLY 0x82f63b78u

/* Slicing-by-8 tables, built once (pthread_once) before the first use. */
static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ POLY : crc >> 1;
        table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = table[0][crc & 0xff] ^ (crc >> 8);
            table[k][n] = crc;
        }
    }
}

static uint32_t crc32c_table(uint32_t crc, const unsigned char *p, size_t n) {
    pthread_once(&table_once, build_table);
    while (n && ((uintptr_t)p & 7)) {
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        n--;
    }
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        word ^= crc;
        crc = table[7][word & 0xff] ^ table[6][(word >> 8) & 0xff] ^ table[5][(word >> 16) & 0xff] ^
              table[4][(word >> 24) & 0xff] ^ table[3][(word >> 32) & 0xff] ^ table[2][(word >> 40) & 0xff] ^
              table[1][(word >> 48) & 0xff] ^ table[0][word >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

/* The CRC instruction has a latency of three cycles and a throughput of one per cycle, so
   the hardware path runs three streams over adjacent blocks of STREAM_BLOCK bytes and joins
   them: for the raw register (no inversion), crc(A || B) = zeros(crc(A), |B|) ^ crc0(B), where
   zeros() appends |B| zero bytes, a linear map kept as four byte tables. */
#define STREAM_BLOCK 8192
static uint32_t shift_table[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

static void build_shift_table(void) {
    pthread_once(&table_once, build_table);
    uint32_t basis[32];
    for (int bit = 0; bit < 32; bit++) {
        uint32_t reg = 1u << bit;
        for (int k = 0; k < STREAM_BLOCK; k++) reg = table[0][reg & 0xff] ^ (reg >> 8);
        basis[bit] = reg;
    }
    for (int byte = 0; byte < 4; byte++) {
        for (uint32_t value = 0; value < 256; value++) {
            uint32_t out = 0;
            for (int k = 0; k < 8; k++)
                if (value & (1u << k)) out ^= basis[8 * byte + k];
            shift_table[byte][value] = out;
        }
    }
}

static inline uint32_t shift_block(uint32_t reg) {
    return shift_table[0][reg & 0xff] ^ shift_table[1][(reg >> 8) & 0xff] ^
           shift_table[2][(reg >> 16) & 0xff] ^ shift_table[3][reg >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    if (n >= 3 * STREAM_BLOCK) {
        pthread_once(&shift_once, build_shift_table);
        while (n >= 3 * STREAM_BLOCK) {
            uint64_t c1 = 0, c2 = 0;
            const unsigned char *p1 = p + STREAM_BLOCK, *p2 = p + 2 * STREAM_BLOCK;
            for (size_t i = 0; i < STREAM_BLOCK; i += 8) {
                uint64_t w0, w1, w2;
                memcpy(&w0, p + i, 8);
                memcpy(&w1, p1 + i, 8);
                memcpy(&w2, p2 + i, 8);
                c = _mm_crc32_u64(c, w0);
                c1 = _mm_crc32_u64(c1, w1);
                c2 = _mm_crc32_u64(c2, w2);
            }
            c = shift_block(shift_block((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
            p += 3 * STREAM_BLOCK;
            n -= 3 * STREAM_BLOCK;
        }
    }
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        n -= 8;
    }
    while (n--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return (uint32_t)c;
}

int recsync_crc32c_hardware(void) {
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t n) {
    while (n && ((uintptr_t)p & 7)) {
        crc = __crc32cb(crc, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc = __crc32cd(crc, word);
        p += 8;
        n -= 8;
    }
    while (n--) crc = __crc32cb(crc, *p++);
    return crc;
}

int recsync_crc32c_hardware(void) { return 1; }
#else
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t n) { return crc32c_table(crc, p, n); }

int recsync_crc32c_hardware(void) { return 0; }
#endif

uint32_t recsync_crc32c(uint32_t crc, const void *data, size_t length) {
    static int hardware = -1;
    int use = __atomic_load_n(&hardware, __ATOMIC_RELAXED);
    if (use < 0) {
        use = recsync_crc32c_hardware();
        __atomic_store_n(&hardware, use, __ATOMIC_RELAXED);
    }
    const unsigned char *p = data;
    crc = ~crc;
    crc = use ? crc32c_hw(crc, p, length) : crc32c_table(crc, p, length);
    return ~crc;
}

uint32_t recsync_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    return ~crc32c_table(~crc, data, length);
}
