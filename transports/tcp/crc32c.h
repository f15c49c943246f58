// CRC32C (Castagnoli: polynomial 0x1EDC6F41, reflected 0x82F63B78, initial value and final xor
// 0xFFFFFFFF), the checksum of iSCSI (RFC 3720, section 12.1 and appendix B.4) and of SCTP, that
// TUTTI_CHECKSUM=1 adds to TCP frames. The SSE4.2 crc32 instruction computes it where the CPU has
// one (checked at run time); elsewhere a slice-by-8 table does.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tutti {

// Extends the checksum crc of earlier bytes by data[0, bytes): crc32c(b, n) ==
// crc32cExtend(crc32cExtend(0, b, k), b + k, n - k). Start with 0.
uint32_t crc32cExtend(uint32_t crc, const void* data, size_t bytes);

inline uint32_t crc32c(const void* data, size_t bytes) { return crc32cExtend(0, data, bytes); }

// The portable (table) path alone, for tests that compare both paths.
uint32_t crc32cExtendPortable(uint32_t crc, const void* data, size_t bytes);

// True when crc32cExtend uses the CPU's instruction.
bool crc32cHardware();

}  // namespace tutti
