// The emulated device runtime on its own: pointer classification, allocation errors, stream order
// and asynchrony, synchronize's timeout, destroy without waiting, flag waits, the reduction kernel
// on a stream, and the pinned pool.
#include "device/emulated/emulated_runtime.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "base/fd_passing.h"
#include "device/pinned_pool.h"
#include "exec/reduce.h"

namespace tutti::device {
namespace {

TEST(EmulatedRuntimeTest, ClassifiesDevicePinnedAndHostPointers) {
  auto runtime = makeEmulatedRuntime(4);
  ASSERT_TRUE(runtime->setDevice(2).isOk());
  void* device = nullptr;
  ASSERT_TRUE(runtime->allocDevice(&device, 1000).isOk());
  void* pinned = nullptr;
  ASSERT_TRUE(runtime->allocPinned(&pinned, 100).isOk());
  std::vector<char> host(64);
  PointerInfo info;
  ASSERT_TRUE(runtime->classify(static_cast<char*>(device) + 999, &info).isOk());
  EXPECT_EQ(info.kind, MemoryKind::kDevice);
  EXPECT_EQ(info.device, 2);
  ASSERT_TRUE(runtime->classify(static_cast<char*>(device) + 1000 + 4096, &info).isOk());
  EXPECT_NE(info.kind, MemoryKind::kDevice);  // past the allocation
  ASSERT_TRUE(runtime->classify(pinned, &info).isOk());
  EXPECT_EQ(info.kind, MemoryKind::kPinned);
  ASSERT_TRUE(runtime->classify(host.data(), &info).isOk());
  EXPECT_EQ(info.kind, MemoryKind::kHost);
  EXPECT_EQ(info.device, -1);
  // Freeing what is not the start of an allocation of that kind is an error, not a crash.
  EXPECT_EQ(runtime->freeDevice(static_cast<char*>(device) + 8).code(), tuttiInvalidArgument);
  EXPECT_EQ(runtime->freeDevice(pinned).code(), tuttiInvalidArgument);
  EXPECT_EQ(runtime->freeDevice(host.data()).code(), tuttiInvalidArgument);
  EXPECT_TRUE(runtime->freeDevice(device).isOk());
  EXPECT_EQ(runtime->freeDevice(device).code(), tuttiInvalidArgument);  // twice
  EXPECT_TRUE(runtime->freePinned(pinned).isOk());
  ASSERT_TRUE(runtime->classify(device, &info).isOk());
  EXPECT_EQ(info.kind, MemoryKind::kHost);
  EXPECT_EQ(runtime->setDevice(4).code(), tuttiInvalidArgument);
  EXPECT_EQ(runtime->setDevice(-1).code(), tuttiInvalidArgument);
}

TEST(EmulatedRuntimeTest, CurrentDeviceIsPerThreadAndRemembersWhetherItWasSet) {
  auto runtime = makeEmulatedRuntime(8);
  int device = -1;
  bool wasSet = true;
  std::thread([&] {
    ASSERT_TRUE(runtime->currentDevice(&device, &wasSet).isOk());
    EXPECT_EQ(device, 0);
    EXPECT_FALSE(wasSet);
    ASSERT_TRUE(runtime->setDevice(5).isOk());
    ASSERT_TRUE(runtime->currentDevice(&device, &wasSet).isOk());
    EXPECT_EQ(device, 5);
    EXPECT_TRUE(wasSet);
  }).join();
  std::thread([&] {
    ASSERT_TRUE(runtime->currentDevice(&device, &wasSet).isOk());
    EXPECT_EQ(device, 0);  // another thread's choice does not leak
  }).join();
}

struct Step {
  std::vector<int>* order;
  int id;
};
void recordStep(void* arg) {
  auto* step = static_cast<Step*>(arg);
  usleep(2000);  // a task that takes time: later ones must still wait for it
  step->order->push_back(step->id);
}

TEST(EmulatedRuntimeTest, StreamRunsWorkInOrderAndAsynchronously) {
  auto runtime = makeEmulatedRuntime(1);
  Stream stream = nullptr;
  ASSERT_TRUE(runtime->streamCreate(&stream).isOk());
  EXPECT_TRUE(runtime->isStream(stream));
  EXPECT_FALSE(runtime->isStream(reinterpret_cast<Stream>(0x10)));
  std::vector<int> order;
  std::vector<Step> steps;
  for (int i = 0; i < 20; ++i) steps.push_back(Step{&order, i});
  for (Step& step : steps)
    ASSERT_TRUE(runtime->launchHostFunction(stream, recordStep, &step).isOk());
  // 20 x 2 ms queued: not done at once, and synchronize with a short timeout says so.
  EXPECT_EQ(runtime->streamSynchronize(stream, 1).code(), tuttiTimeout);
  ASSERT_TRUE(runtime->streamSynchronize(stream, 10000).isOk());
  ASSERT_EQ(order.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[i], i);
  ASSERT_TRUE(runtime->streamDestroy(stream).isOk());
  EXPECT_FALSE(runtime->isStream(stream));
  EXPECT_EQ(runtime->streamDestroy(stream).code(), tuttiInvalidArgument);
  EXPECT_EQ(runtime->streamSynchronize(stream, 0).code(), tuttiInvalidArgument);
}

TEST(EmulatedRuntimeTest, DestroyDoesNotWaitButTheWorkStillRuns) {
  auto runtime = makeEmulatedRuntime(1);
  Stream stream = nullptr;
  ASSERT_TRUE(runtime->streamCreate(&stream).isOk());
  std::vector<int> order;
  Step step{&order, 7};
  std::atomic<bool> released{false};
  uint64_t flag = 0;
  ASSERT_TRUE(runtime->waitFlag(stream, &flag, 1).isOk());
  ASSERT_TRUE(runtime->launchHostFunction(stream, recordStep, &step).isOk());
  ASSERT_TRUE(runtime->streamDestroy(stream).isOk());  // returns while the flag holds the stream
  EXPECT_TRUE(order.empty());
  std::thread raiser([&] {
    __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
    released = true;
  });
  raiser.join();
  for (int i = 0; i < 2000 && order.empty(); ++i) usleep(1000);
  ASSERT_EQ(order.size(), 1u);
  EXPECT_EQ(order[0], 7);
}

TEST(EmulatedRuntimeTest, FlagWaitHoldsOnlyItsStream) {
  auto runtime = makeEmulatedRuntime(1);
  Stream held = nullptr;
  Stream free = nullptr;
  ASSERT_TRUE(runtime->streamCreate(&held).isOk());
  ASSERT_TRUE(runtime->streamCreate(&free).isOk());
  uint64_t flag = 0;
  std::vector<int> heldOrder, freeOrder;
  Step heldStep{&heldOrder, 1}, freeStep{&freeOrder, 2};
  ASSERT_TRUE(runtime->waitFlag(held, &flag, 3).isOk());
  ASSERT_TRUE(runtime->launchHostFunction(held, recordStep, &heldStep).isOk());
  ASSERT_TRUE(runtime->launchHostFunction(free, recordStep, &freeStep).isOk());
  ASSERT_TRUE(runtime->streamSynchronize(free, 10000).isOk());
  EXPECT_EQ(freeOrder.size(), 1u);
  __atomic_store_n(&flag, 2, __ATOMIC_RELEASE);  // below the value: still held
  EXPECT_EQ(runtime->streamSynchronize(held, 50).code(), tuttiTimeout);
  EXPECT_TRUE(heldOrder.empty());
  __atomic_store_n(&flag, 3, __ATOMIC_RELEASE);
  ASSERT_TRUE(runtime->streamSynchronize(held, 10000).isOk());
  EXPECT_EQ(heldOrder.size(), 1u);
  ASSERT_TRUE(runtime->streamDestroy(held).isOk());
  ASSERT_TRUE(runtime->streamDestroy(free).isOk());
}

TEST(EmulatedRuntimeTest, CopiesAndReductionOnTheDefaultStream) {
  auto runtime = makeEmulatedRuntime(2);
  EXPECT_EQ(runtime->setDevice(2).code(), tuttiInvalidArgument);
  ASSERT_TRUE(runtime->setDevice(1).isOk());  // the default stream of device 1
  const size_t count = 100003;
  std::vector<int32_t> a(count), b(count), expected(count), result(count, -1);
  for (size_t i = 0; i < count; ++i) {
    a[i] = static_cast<int32_t>(i * 2654435761u);
    b[i] = static_cast<int32_t>(i * 40503u + 7);
  }
  reduceArrays(expected.data(), a.data(), b.data(), count, tuttiInt32, tuttiSum, 0);
  void* da = nullptr;
  void* db = nullptr;
  ASSERT_TRUE(runtime->allocDevice(&da, count * 4).isOk());
  ASSERT_TRUE(runtime->allocDevice(&db, count * 4).isOk());
  ASSERT_TRUE(runtime->copyAsync(da, a.data(), count * 4, nullptr).isOk());
  ASSERT_TRUE(runtime->copyAsync(db, b.data(), count * 4, nullptr).isOk());
  ReduceLaunch launch;
  launch.dst = da;
  launch.a = da;
  launch.b = db;
  launch.count = count;
  launch.type = tuttiInt32;
  launch.op = tuttiSum;
  ASSERT_TRUE(runtime->launchReduce(launch, nullptr).isOk());
  ASSERT_TRUE(runtime->copyAsync(result.data(), da, count * 4, nullptr).isOk());
  ASSERT_TRUE(runtime->streamSynchronize(nullptr, 10000).isOk());
  EXPECT_EQ(result, expected);
  EXPECT_TRUE(runtime->freeDevice(da).isOk());
  EXPECT_TRUE(runtime->freeDevice(db).isOk());
}

TEST(EmulatedRuntimeTest, PinnedPoolReusesBuffersAndNeverSharesFlags) {
  auto runtime = makeEmulatedRuntime(1);
  PinnedPool pool(runtime.get());
  void* first = nullptr;
  ASSERT_TRUE(pool.take(5000, &first).isOk());  // an 8 KiB buffer
  PointerInfo info;
  ASSERT_TRUE(runtime->classify(first, &info).isOk());
  EXPECT_EQ(info.kind, MemoryKind::kPinned);
  memset(first, 1, 8192);  // the whole rounded capacity is usable
  void* second = nullptr;
  ASSERT_TRUE(pool.take(5000, &second).isOk());
  EXPECT_NE(first, second);  // the first is still taken
  pool.give(first);
  void* again = nullptr;
  ASSERT_TRUE(pool.take(8192, &again).isOk());
  EXPECT_EQ(again, first);  // same capacity class: reused
  std::vector<uint64_t*> flags(1000);
  for (auto& flag : flags) {
    ASSERT_TRUE(pool.takeFlag(&flag).isOk());
    EXPECT_EQ(*flag, 0u);
  }
  std::sort(flags.begin(), flags.end());
  EXPECT_EQ(std::adjacent_find(flags.begin(), flags.end()), flags.end());
}

// Device memory exported by one process and mapped by another through the descriptor it sent:
// both see each other's writes, the importer classifies it as the exporter's device, and the
// offset of an interior pointer survives.
TEST(EmulatedRuntimeTest, ExportedMemoryMapsInAnotherProcess) {
  int sockets[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // the exporter
    close(sockets[0]);
    auto runtime = makeEmulatedRuntime(4);
    int code = 0;
    void* memory = nullptr;
    ExportedMemory exported;
    if (!runtime->setDevice(3).isOk() || !runtime->allocDevice(&memory, 1 << 20).isOk()) _exit(2);
    for (int i = 0; i < 2048; ++i) static_cast<int*>(memory)[i] = i * 3;
    if (!runtime->exportMemory(static_cast<char*>(memory) + 4096, &exported).isOk()) _exit(3);
    if (exported.offset != 4096 || exported.bytes != (1u << 20) || exported.device != 3) _exit(4);
    if (!sendDescriptor(sockets[1], exported.fd).isOk()) _exit(5);
    close(exported.fd);
    char done = 0;
    if (read(sockets[1], &done, 1) != 1) _exit(6);  // the importer wrote its answer
    if (static_cast<int*>(memory)[1024 + 5] != -5) code = 7;
    _exit(code);
  }
  close(sockets[1]);
  auto runtime = makeEmulatedRuntime(4);
  ExportedMemory exported;
  ASSERT_TRUE(receiveDescriptor(sockets[0], &exported.fd).isOk());
  exported.bytes = 1 << 20;
  exported.offset = 4096;
  exported.device = 3;
  void* mapped = nullptr;
  ASSERT_TRUE(runtime->importMemory(exported, &mapped).isOk());
  close(exported.fd);
  PointerInfo info;
  ASSERT_TRUE(runtime->classify(mapped, &info).isOk());
  EXPECT_EQ(info.kind, MemoryKind::kDevice);
  EXPECT_EQ(info.device, 3);
  // The interior pointer: element 1024 of the exporter's buffer.
  EXPECT_EQ(static_cast<int*>(mapped)[0], 1024 * 3);
  EXPECT_EQ(static_cast<int*>(mapped)[-1], 1023 * 3);
  static_cast<int*>(mapped)[5] = -5;
  EXPECT_EQ(runtime->freeDevice(mapped).code(), tuttiInvalidArgument);  // not ours to free
  ASSERT_EQ(write(sockets[0], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exporter exit " << status;
  EXPECT_TRUE(runtime->closeImported(mapped).isOk());
  EXPECT_EQ(runtime->closeImported(mapped).code(), tuttiInvalidArgument);
  ExportedMemory bogus;
  EXPECT_EQ(runtime->importMemory(bogus, &mapped).code(), tuttiInvalidArgument);
  std::vector<char> host(16);
  EXPECT_EQ(runtime->exportMemory(host.data(), &bogus).code(), tuttiInvalidArgument);
  close(sockets[0]);
}

}  // namespace
}  // namespace tutti::device
