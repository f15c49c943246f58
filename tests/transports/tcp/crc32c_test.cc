// CRC32C against the known answers of RFC 3720 (iSCSI), appendix B.4, and the usual check value;
// the instruction and table paths agree at every length and alignment, and extending in pieces
// equals one pass.
#include "transports/tcp/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

namespace tutti {
namespace {

uint32_t crc32cExtendPortableFromZero(const void* data, size_t bytes) {
  return crc32cExtendPortable(0, data, bytes);
}

std::vector<uint8_t> bytesOf(std::initializer_list<int> values) {
  return std::vector<uint8_t>(values.begin(), values.end());
}

TEST(Crc32cTest, Rfc3720KnownAnswers) {
  std::vector<uint8_t> zeros(32, 0x00);
  std::vector<uint8_t> ones(32, 0xFF);
  std::vector<uint8_t> ascending(32);
  std::iota(ascending.begin(), ascending.end(), 0);
  std::vector<uint8_t> descending(ascending.rbegin(), ascending.rend());
  // An iSCSI SCSI Read (10) command PDU.
  const std::vector<uint8_t> readPdu =
      bytesOf({0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
               0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
               0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
               0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  const char check[] = "123456789";
  // The RFC prints the CRC's bytes as they go on the wire, lowest first: aa 36 91 8a.
  for (auto crc : {crc32c, crc32cExtendPortableFromZero}) {
    EXPECT_EQ(crc(zeros.data(), zeros.size()), 0x8A9136AAu);
    EXPECT_EQ(crc(ones.data(), ones.size()), 0x62A8AB43u);
    EXPECT_EQ(crc(ascending.data(), ascending.size()), 0x46DD794Eu);
    EXPECT_EQ(crc(descending.data(), descending.size()), 0x113FDB5Cu);
    EXPECT_EQ(crc(readPdu.data(), readPdu.size()), 0xD9963A56u);
    EXPECT_EQ(crc(check, 9), 0xE3069283u);
    EXPECT_EQ(crc(check, 0), 0u);
  }
}

TEST(Crc32cTest, PathsAgreeAtEveryLengthAlignmentAndSplit) {
  std::vector<uint8_t> data(1000);
  uint32_t x = 12345;
  for (uint8_t& b : data) b = static_cast<uint8_t>((x = x * 1103515245u + 12345u) >> 16);
  for (size_t offset = 0; offset < 9; ++offset) {
    for (size_t length = 0; length + offset <= data.size(); length += 37) {
      const uint8_t* p = data.data() + offset;
      const uint32_t whole = crc32c(p, length);
      ASSERT_EQ(whole, crc32cExtendPortable(0, p, length)) << offset << " " << length;
      const size_t split = length / 3;
      ASSERT_EQ(whole, crc32cExtend(crc32cExtend(0, p, split), p + split, length - split));
    }
  }
  std::printf("crc32c: %s\n", crc32cHardware() ? "SSE4.2 instruction" : "table");
}

}  // namespace
}  // namespace tutti
