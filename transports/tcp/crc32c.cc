#include "transports/tcp/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define TUTTI_CRC32C_X86 1
#endif

namespace tutti {
namespace {

constexpr uint32_t kReflectedPolynomial = 0x82F63B78u;

// tables[k][b]: the CRC of byte b followed by k zero bytes, for slice-by-8.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

Tables makeTables() {
  Tables tables{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kReflectedPolynomial : 0u);
    tables[0][b] = crc;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (int k = 1; k < 8; ++k) {
      const uint32_t prev = tables[k - 1][b];
      tables[k][b] = (prev >> 8) ^ tables[0][prev & 0xFFu];
    }
  }
  return tables;
}

const Tables& tables() {
  static const Tables t = makeTables();
  return t;
}

#ifdef TUTTI_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t extendHardware(uint32_t crc, const uint8_t* p,
                                                          size_t bytes) {
  uint64_t state = crc;
  for (; bytes >= 8; bytes -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    state = _mm_crc32_u64(state, word);
  }
  uint32_t state32 = static_cast<uint32_t>(state);
  for (; bytes > 0; --bytes, ++p) state32 = _mm_crc32_u8(state32, *p);
  return state32;
}

bool cpuHasSse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

// Both paths work on the state (the CRC before the final xor).
uint32_t extendPortable(uint32_t state, const uint8_t* p, size_t bytes) {
  const Tables& t = tables();
  // Eight bytes at a time needs little-endian loads; big-endian machines go byte by byte.
  constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
  for (; kLittleEndian && bytes >= 8; bytes -= 8, p += 8) {
    uint32_t low;
    uint32_t high;
    std::memcpy(&low, p, 4);
    std::memcpy(&high, p + 4, 4);
    low ^= state;  // the reflected CRC consumes the lowest byte first
    state = t[7][low & 0xFF] ^ t[6][(low >> 8) & 0xFF] ^ t[5][(low >> 16) & 0xFF] ^
            t[4][low >> 24] ^ t[3][high & 0xFF] ^ t[2][(high >> 8) & 0xFF] ^
            t[1][(high >> 16) & 0xFF] ^ t[0][high >> 24];
  }
  for (; bytes > 0; --bytes, ++p) state = (state >> 8) ^ t[0][(state ^ *p) & 0xFF];
  return state;
}

}  // namespace

uint32_t crc32cExtendPortable(uint32_t crc, const void* data, size_t bytes) {
  return ~extendPortable(~crc, static_cast<const uint8_t*>(data), bytes);
}

uint32_t crc32cExtend(uint32_t crc, const void* data, size_t bytes) {
#ifdef TUTTI_CRC32C_X86
  if (cpuHasSse42()) return ~extendHardware(~crc, static_cast<const uint8_t*>(data), bytes);
#endif
  return crc32cExtendPortable(crc, data, bytes);
}

bool crc32cHardware() {
#ifdef TUTTI_CRC32C_X86
  return cpuHasSse42();
#else
  return false;
#endif
}

}  // namespace tutti
