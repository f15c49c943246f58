#include "transports/ucx/ucx_api.h"

#include <memory>
#include <mutex>

#include "base/dynamic_library.h"

namespace tutti {

std::string UcxApi::describe(ucs_status_t status) const {
  if (statusString == nullptr) return fmt::format("status {}", static_cast<int>(status));
  return statusString(status);
}

namespace {

Status loadTable(UcxApi* api, std::unique_ptr<topo::DynamicLibrary>* library) {
  std::string why;
  *library =
      topo::DynamicLibrary::open("libucp.so.0", topo::DynamicLibrary::Lifetime::kKeepLoaded, &why);
  if (*library == nullptr) {
    return makeError(tuttiSystemError,
                     "ucx transport: {} (install UCX: Debian's libucx0, or set LD_LIBRARY_PATH "
                     "to the UCX in use)",
                     why);
  }
  const topo::DynamicLibrary& lib = **library;
  // libucs, which libucp depends on, is searched through libucp's handle.
  const bool all = lib.resolve("ucp_config_read", &api->configRead, &why) &&
                   lib.resolve("ucp_config_release", &api->configRelease, &why) &&
                   lib.resolve("ucp_init_version", &api->initVersion, &why) &&
                   lib.resolve("ucp_cleanup", &api->cleanup, &why) &&
                   lib.resolve("ucp_worker_create", &api->workerCreate, &why) &&
                   lib.resolve("ucp_worker_destroy", &api->workerDestroy, &why) &&
                   lib.resolve("ucp_worker_get_address", &api->workerGetAddress, &why) &&
                   lib.resolve("ucp_worker_release_address", &api->workerReleaseAddress, &why) &&
                   lib.resolve("ucp_worker_progress", &api->workerProgress, &why) &&
                   lib.resolve("ucp_worker_get_efd", &api->workerGetEfd, &why) &&
                   lib.resolve("ucp_worker_arm", &api->workerArm, &why) &&
                   lib.resolve("ucp_ep_create", &api->epCreate, &why) &&
                   lib.resolve("ucp_ep_close_nbx", &api->epCloseNbx, &why) &&
                   lib.resolve("ucp_request_check_status", &api->requestCheckStatus, &why) &&
                   lib.resolve("ucp_request_free", &api->requestFree, &why) &&
                   lib.resolve("ucp_request_cancel", &api->requestCancel, &why) &&
                   lib.resolve("ucp_tag_send_nbx", &api->tagSendNbx, &why) &&
                   lib.resolve("ucp_tag_recv_nbx", &api->tagRecvNbx, &why) &&
                   lib.resolve("ucs_status_string", &api->statusString, &why) &&
                   lib.resolve("ucp_mem_map", &api->memMap, &why) &&
                   lib.resolve("ucp_mem_unmap", &api->memUnmap, &why) &&
                   lib.resolve("ucp_rkey_pack", &api->rkeyPack, &why) &&
                   lib.resolve("ucp_rkey_buffer_release", &api->rkeyBufferRelease, &why) &&
                   lib.resolve("ucp_ep_rkey_unpack", &api->epRkeyUnpack, &why) &&
                   lib.resolve("ucp_rkey_destroy", &api->rkeyDestroy, &why) &&
                   lib.resolve("ucp_put_nbx", &api->putNbx, &why) &&
                   lib.resolve("ucp_ep_flush_nbx", &api->epFlushNbx, &why) &&
                   lib.resolve("ucp_atomic_op_nbx", &api->atomicOpNbx, &why);
  if (!all) {
    return makeError(tuttiSystemError, "ucx transport: {} (UCX 1.10 or newer is needed)", why);
  }
  return Status::ok();
}

}  // namespace

Status loadUcx(const UcxApi** out) {
  static std::once_flag once;
  static UcxApi api;
  static std::unique_ptr<topo::DynamicLibrary> library;
  static Status loaded = Status::ok();
  std::call_once(once, [] { loaded = loadTable(&api, &library); });
  if (!loaded.isOk()) return loaded;
  *out = &api;
  return Status::ok();
}

}  // namespace tutti
