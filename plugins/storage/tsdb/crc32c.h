/* plugins/storage/tsdb/crc32c.h — CRC-32C (Castagnoli), the checksum of every tsdb
 * format (index sections, chunks, WAL fragments, tombstones). */
#ifndef TSDB_CRC32C_H
#define TSDB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over p[0..n). Start with 0; the result is the finished checksum
 * (the pre- and post-inversion are done inside, so calls chain). */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

#endif
