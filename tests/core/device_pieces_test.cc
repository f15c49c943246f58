#include <gtest/gtest.h>

#include "core/device_collective.h"

namespace tutti {
namespace {

// The pieces cover [0, count) in order, without gaps or overlap, none empty.
void expectCover(const std::vector<PieceRange>& pieces, size_t count) {
  size_t next = 0;
  for (const PieceRange& piece : pieces) {
    EXPECT_EQ(piece.first, next);
    EXPECT_GT(piece.count, 0u);
    next = piece.first + piece.count;
  }
  EXPECT_EQ(next, count);
}

TEST(DevicePiecesTest, ChunkBytesOfEachBlockPerPiece) {
  // 1 MiB pieces of floats: 262144 elements; 600000 elements is two whole pieces and the rest.
  const auto pieces = devicePieces(600000, 4, 1 << 20);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].count, 262144u);
  EXPECT_EQ(pieces[2].count, 600000u - 2 * 262144u);
  expectCover(pieces, 600000);
}

TEST(DevicePiecesTest, SmallCallIsOnePiece) {
  for (size_t count : {size_t{1}, size_t{7}, size_t{262144}}) {
    const auto pieces = devicePieces(count, 4, 1 << 20);
    ASSERT_EQ(pieces.size(), 1u) << count;
    EXPECT_EQ(pieces[0].count, count);
  }
  EXPECT_TRUE(devicePieces(0, 4, 1 << 20).empty());
}

TEST(DevicePiecesTest, AtMostMaxPiecesAndAtLeastOneElement) {
  // Chunks smaller than an element still move one element; a call of more elements than the
  // limit allows gets larger pieces.
  auto pieces = devicePieces(10, 8, 3);
  EXPECT_EQ(pieces.size(), 10u);
  expectCover(pieces, 10);
  pieces = devicePieces(65, 2, 24);  // 12 elements a piece
  EXPECT_EQ(pieces.size(), 6u);
  expectCover(pieces, 65);
  for (size_t count : {size_t{4099}, size_t{1} << 30}) {
    pieces = devicePieces(count, 2, 24);
    EXPECT_LE(pieces.size(), kMaxDevicePieces) << count;
    EXPECT_GE(pieces.size(), kMaxDevicePieces / 2) << count;
    expectCover(pieces, count);
  }
}

}  // namespace
}  // namespace tutti
