// TCP frames as a peer (or anything on the wire) sends them: whatever bytes arrive, receives
// either complete or fail with an error, never crash, overrun a buffer or wait forever.
//
// Input: byte 0 picks checksums (bit 0), the socket count (bit 1: 2 sockets, else 1) and the
// receive count (bits 2-3: 1..4); the next two bytes per receive give its size (little endian,
// up to 64 KiB - 1); the rest is the wire, dealt to the sockets in turn in 61-byte pieces, after
// which the sending ends are shut, so the receiver sees the end of the stream.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "transports/tcp/tcp_connection.h"

namespace {

constexpr size_t kPiece = 61;  // a prime, so pieces never line up with frame headers by chance
constexpr size_t kMaxWire = 96 * 1024;  // below the smallest AF_UNIX socket buffer summed

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tutti;
  if (size < 1) return 0;
  const bool checksum = (data[0] & 1) != 0;
  const int nsocks = (data[0] & 2) != 0 ? 2 : 1;
  const int nrecvs = 1 + ((data[0] >> 2) & 3);
  size_t at = 1;
  if (size < at + 2 * static_cast<size_t>(nrecvs)) return 0;
  std::vector<std::vector<char>> buffers;
  for (int r = 0; r < nrecvs; ++r, at += 2) {
    buffers.emplace_back(static_cast<size_t>(data[at]) | static_cast<size_t>(data[at + 1]) << 8);
  }
  if (size - at > kMaxWire) return 0;

  std::vector<Fd> readers;
  std::vector<int> writers;
  for (int s = 0; s < nsocks; ++s) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0) std::abort();
    readers.emplace_back(fds[0]);
    writers.push_back(fds[1]);
  }
  for (size_t piece = 0; at < size; ++piece) {
    const size_t n = std::min(kPiece, size - at);
    // The buffers hold kMaxWire; a short write would only shorten the stream, still an input.
    if (write(writers[piece % writers.size()], data + at, n) < 0) break;
    at += n;
  }
  for (int fd : writers) shutdown(fd, SHUT_WR);

  {
    TcpConnection connection(1, std::move(readers), 1024, checksum,
                             std::make_shared<MemoryDomain>());
    std::vector<TransferRequest> requests(buffers.size());
    Status status = Status::ok();
    for (size_t r = 0; r < buffers.size() && status.isOk(); ++r) {
      const Registration* registration = nullptr;
      status = connection.memoryDomain().registerMemory(
          Memory{buffers[r].data(), buffers[r].size(), MemoryKind::kHost, -1}, &registration);
      if (status.isOk()) {
        status = connection.postRecv(Slice{registration, 0, buffers[r].size()}, &requests[r]);
      }
    }
    // Every byte is already in the socket buffers, followed by the end of the stream, so each
    // progress call either moves bytes, completes the receives or fails; 10,000 rounds without
    // either is a receiver that waits for bytes that cannot come.
    bool finished = false;
    for (int round = 0; round < 10000 && status.isOk() && !finished; ++round) {
      bool progressed = false;
      status = connection.progress(&progressed);
      finished = true;
      for (const TransferRequest& request : requests) finished = finished && request.done;
    }
    if (status.isOk() && !finished) std::abort();
    if (!status.isOk() && status.code() != tuttiRemoteError && status.code() != tuttiSystemError &&
        status.code() != tuttiInternalError) {
      std::abort();
    }
    connection.shutdown();
  }
  for (int fd : writers) close(fd);
  return 0;
}
