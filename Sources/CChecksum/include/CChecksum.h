#ifndef RECSYNC_CCHECKSUM_H
#define RECSYNC_CCHECKSUM_H
#include <stddef.h>
#include <stdint.h>

/* CRC-32C (Castagnoli, the checksum S3 calls CRC32C): continues `crc` (0 to start) over
   `length` bytes. Uses the CPU's CRC32 instruction where there is one (SSE 4.2, ARMv8 CRC),
   a table otherwise; both give the same result. */
uint32_t recsync_crc32c(uint32_t crc, const void *data, size_t length);

/* The same with the table only, whatever the CPU (for tests). */
uint32_t recsync_crc32c_portable(uint32_t crc, const void *data, size_t length);

/* 1 when the hardware instruction is used, 0 for the table (decided once, by recsync_crc32c). */
int recsync_crc32c_hardware(void);

#endif
