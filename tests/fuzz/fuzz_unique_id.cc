// The 128 bytes of a tuttiUniqueId, as a launcher or a user passes them around: decoding takes
// only what encodeUniqueId made and turns everything else into tuttiInvalidArgument; what it
// accepts is an address fromWire reads and re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "base/unique_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutti;
  tuttiUniqueId id{};
  std::memcpy(id.internal, data, size < sizeof(id.internal) ? size : sizeof(id.internal));
  UniqueIdContents contents;
  Status status = decodeUniqueId(id, &contents);
  if (!status.isOk()) {
    if (status.code() != tuttiInvalidArgument) std::abort();
    return 0;
  }
  SockAddr root;
  if (fromWire(contents.root, &root).isOk()) (void)root.toString();
  tuttiUniqueId again{};
  encodeUniqueId(contents, &again);
  UniqueIdContents back;
  if (!decodeUniqueId(again, &back).isOk() ||
      std::memcmp(back.secret, contents.secret, kSecretBytes) != 0 ||
      std::memcmp(&back.root, &contents.root, sizeof(WireAddr)) != 0) {
    std::abort();
  }
  return 0;
}
