// A TCP connection to one peer: several non-blocking sockets (TUTTI_NSOCKS_PERPEER), messages
// striped across them in parts of at least TUTTI_MIN_STRIPE_BYTES. Each part carries an 8-byte
// header (message sequence number, part length) so that a sender and receiver that disagree are
// caught, not silently corrupted. Both ends derive the same striping and sockets from the sizes
// of the messages in order, so no negotiation travels with the data. The frames queued on a
// socket leave in one system call where the socket takes them (up to kFramesPerSend), the
// receives posted on a socket are filled by one system call likewise, and a message below
// kSpreadBytes goes on the socket of the next larger one, so that small messages posted
// together (a call's descriptor and its first data) share a segment and a read. With checksums
// (TUTTI_CHECKSUM=1) a part, a frame, is followed by the CRC32C of its payload, which the
// receiver computes as the bytes arrive and compares: a difference is tuttiSystemError naming the
// peer, the frame and both checksums.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/socket.h"
#include "transports/transport.h"

namespace tutti {

class TcpConnection : public Connection {
 public:
  // domain: the transport's (host memory: registration records the range).
  // checksum: both ends must agree (the transport checks at setup).
  // links: what each socket runs over ("tnet1 10.0.1.1->10.0.1.2"), named in its errors so that
  // a failure says which rail failed; empty: not named.
  TcpConnection(int peer, std::vector<Fd> sockets, size_t minStripeBytes, bool checksum,
                std::shared_ptr<MemoryDomain> domain, std::vector<std::string> links = {});

  int peer() const override { return peer_; }
  MemoryDomain& memoryDomain() override { return *domain_; }
  Status postSend(const Slice& data, TransferRequest* request) override;
  Status postRecv(const Slice& data, TransferRequest* request) override;
  Status queueSend(const Slice& data, TransferRequest* request) override;
  Status progress(bool* progressed) override;
  bool busy() const override;
  bool armWait(std::vector<WaitSource>* sources) override;
  // "socket 1 over tnet1 10.0.1.1->10.0.1.2: 2 part(s) to send (262144 bytes left), 1 part(s)
  // to receive (131080 bytes left); idle: socket 0 over tnet0 10.0.0.1->10.0.0.2".
  std::string describePending() const override;
  void shutdown() override;

  // How a message of `bytes` is cut: parts and the socket of part 0 (exposed for tests).
  static int partCount(size_t bytes, int nsocks, size_t minStripeBytes);
  static constexpr size_t kFramesPerSend = 16;
  static constexpr size_t kSpreadBytes = 4096;
  // Bytes a read takes beyond the frames posted, kept for the receives posted next.
  static constexpr size_t kReadAheadBytes = 4096;

 private:
  struct PartHeader {
    uint32_t seq;
    uint32_t bytes;
  };
  struct Part {
    TransferRequest* request;
    char* data;
    size_t bytes;
    int index;             // of the message's parts
    int parts;             // the message's part count
    size_t done = 0;       // header + payload + checksum bytes moved
    PartHeader header;     // send: the header to send; recv: the header expected
    PartHeader wire;       // recv: the header as it arrives
    uint32_t crc = 0;      // send: of the payload; recv: of the payload bytes received so far
    uint32_t wireCrc = 0;  // recv: the checksum as it arrives
  };
  struct Socket {
    Fd fd;
    std::deque<Part> sends;
    std::deque<Part> recvs;
    std::unique_ptr<char[]> ahead;  // kReadAheadBytes, allocated at the first read
    size_t aheadBegin = 0;          // bytes read ahead and not yet handed to a frame
    size_t aheadEnd = 0;
    std::string link;  // the rail it runs over, for errors ("" when not named)
  };

  // "rank 3", or "rank 3 over <link>" when the socket's rail is named.
  std::string where(const Socket& socket) const;

  int remainingIovec(Part& part, PartHeader* header, uint32_t* crc, struct iovec* iov) const;
  size_t frameBytes(const Part& part) const;
  Status verify(const Part& part) const;
  void enqueue(bool isSend, char* data, size_t bytes, uint32_t seq, TransferRequest* request);
  Status progressSends(Socket& socket, bool* progressed);
  Status progressRecvs(Socket& socket, bool* progressed);
  Status creditRecvs(Socket& socket, size_t moved, bool* drained);

  int peer_;
  std::shared_ptr<MemoryDomain> domain_;
  std::vector<Socket> sockets_;
  size_t minStripeBytes_;
  size_t checksumBytes_;  // after each frame's payload: 4 with TUTTI_CHECKSUM=1, else 0
  uint32_t sendSeq_ = 0;
  uint32_t recvSeq_ = 0;
  uint32_t sendRotation_ = 0;  // messages of at least kSpreadBytes sent: picks the next socket
  uint32_t recvRotation_ = 0;
  // The first error progress() met: a frame that failed its check is left half credited, so the
  // connection can only fail from then on (the same error each time).
  Status failure_ = Status::ok();
};

}  // namespace tutti
