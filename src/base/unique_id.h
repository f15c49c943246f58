// The contents of a tuttiUniqueId: where the root listens and the secret every rank presents.
#pragma once

#include <cstdint>
#include <string>

#include "base/socket.h"
#include "base/status.h"
#include "tutti/tutti.h"

namespace tutti {

constexpr size_t kSecretBytes = 32;

struct UniqueIdContents {
  WireAddr root{};
  uint8_t secret[kSecretBytes] = {0};
};

void encodeUniqueId(const UniqueIdContents& contents, tuttiUniqueId* id);
// tuttiInvalidArgument when the bytes were not made by encodeUniqueId (of this version).
Status decodeUniqueId(const tuttiUniqueId& id, UniqueIdContents* contents);

// Fills with bytes from the kernel's random source.
Status randomBytes(uint8_t* out, size_t bytes);
// The secret of a communicator created from TUTTI_COMM_ID: every rank derives it from the same
// string, so it guards against stray connections from other jobs, not against attackers.
void secretFromString(const std::string& text, uint8_t* secret);

// Constant-time comparison of two secrets.
bool secretsEqual(const uint8_t* a, const uint8_t* b);

}  // namespace tutti
