#include "base/unique_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace tutti {
namespace {

constexpr uint32_t kIdMagic = 0x54555449;  // "TUTI"
constexpr uint32_t kIdVersion = 1;

struct EncodedId {
  uint32_t magic;
  uint32_t version;
  WireAddr root;
  uint8_t secret[kSecretBytes];
};
static_assert(sizeof(EncodedId) <= TUTTI_UNIQUE_ID_BYTES, "unique id layout too large");

}  // namespace

void encodeUniqueId(const UniqueIdContents& contents, tuttiUniqueId* id) {
  std::memset(id, 0, sizeof(*id));
  EncodedId encoded{};
  encoded.magic = kIdMagic;
  encoded.version = kIdVersion;
  encoded.root = contents.root;
  std::memcpy(encoded.secret, contents.secret, kSecretBytes);
  std::memcpy(id->internal, &encoded, sizeof(encoded));
}

Status decodeUniqueId(const tuttiUniqueId& id, UniqueIdContents* contents) {
  EncodedId encoded;
  std::memcpy(&encoded, id.internal, sizeof(encoded));
  if (encoded.magic != kIdMagic || encoded.version != kIdVersion) {
    return makeError(tuttiInvalidArgument,
                     "commId was not made by tuttiGetUniqueId of this Tutti version (magic {:#x}, "
                     "version {})",
                     encoded.magic, encoded.version);
  }
  SockAddr check;
  TUTTI_RETURN_IF_ERROR(fromWire(encoded.root, &check).withContext("commId"));
  contents->root = encoded.root;
  std::memcpy(contents->secret, encoded.secret, kSecretBytes);
  return Status::ok();
}

Status randomBytes(uint8_t* out, size_t bytes) {
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = getrandom(out + done, bytes - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return systemError("getrandom", errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

void secretFromString(const std::string& text, uint8_t* secret) {
  // FNV-1a, seeded differently for each 8-byte lane.
  for (size_t lane = 0; lane < kSecretBytes / 8; ++lane) {
    uint64_t hash = 0xcbf29ce484222325ull ^ (lane * 0x9e3779b97f4a7c15ull);
    for (char c : text) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 0x100000001b3ull;
    }
    std::memcpy(secret + lane * 8, &hash, 8);
  }
}

bool secretsEqual(const uint8_t* a, const uint8_t* b) {
  uint8_t diff = 0;
  for (size_t i = 0; i < kSecretBytes; ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace tutti
