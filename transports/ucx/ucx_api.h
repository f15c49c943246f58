// UCX's UCP API, loaded at run time: libtutti compiles against UCX's headers (libucx-dev) but
// never links libucp, so a library built with the ucx transport still loads and runs its other
// transports on machines without UCX, as the CUDA driver and libibverbs are loaded (NCCL loads
// its network plugins the same way). The table holds exactly the calls the transport makes.
#pragma once

#include <ucp/api/ucp.h>

#include <string>

#include "base/status.h"

namespace tutti {

struct UcxApi {
  decltype(&::ucp_config_read) configRead = nullptr;
  decltype(&::ucp_config_release) configRelease = nullptr;
  decltype(&::ucp_init_version) initVersion = nullptr;
  decltype(&::ucp_cleanup) cleanup = nullptr;
  decltype(&::ucp_worker_create) workerCreate = nullptr;
  decltype(&::ucp_worker_destroy) workerDestroy = nullptr;
  decltype(&::ucp_worker_get_address) workerGetAddress = nullptr;
  decltype(&::ucp_worker_release_address) workerReleaseAddress = nullptr;
  decltype(&::ucp_worker_progress) workerProgress = nullptr;
  decltype(&::ucp_worker_get_efd) workerGetEfd = nullptr;
  decltype(&::ucp_worker_arm) workerArm = nullptr;
  decltype(&::ucp_ep_create) epCreate = nullptr;
  decltype(&::ucp_ep_close_nbx) epCloseNbx = nullptr;
  decltype(&::ucp_request_check_status) requestCheckStatus = nullptr;
  decltype(&::ucp_request_free) requestFree = nullptr;
  decltype(&::ucp_request_cancel) requestCancel = nullptr;
  decltype(&::ucp_tag_send_nbx) tagSendNbx = nullptr;
  decltype(&::ucp_tag_recv_nbx) tagRecvNbx = nullptr;
  decltype(&::ucs_status_string) statusString = nullptr;
  // One-sided puts (ucx_memory.h, UcxConnection::putWithSignal).
  decltype(&::ucp_mem_map) memMap = nullptr;
  decltype(&::ucp_mem_unmap) memUnmap = nullptr;
  decltype(&::ucp_rkey_pack) rkeyPack = nullptr;
  decltype(&::ucp_rkey_buffer_release) rkeyBufferRelease = nullptr;
  decltype(&::ucp_ep_rkey_unpack) epRkeyUnpack = nullptr;
  decltype(&::ucp_rkey_destroy) rkeyDestroy = nullptr;
  decltype(&::ucp_put_nbx) putNbx = nullptr;
  decltype(&::ucp_ep_flush_nbx) epFlushNbx = nullptr;
  decltype(&::ucp_atomic_op_nbx) atomicOpNbx = nullptr;

  // "Connection reset by remote peer", or "status <n>" before the table is loaded.
  std::string describe(ucs_status_t status) const;
};

// The process's table, loaded from libucp.so.0 at the first call and kept (UCX keeps
// process-wide state once initialised). tuttiSystemError saying what is missing when UCX is not
// installed or lacks a call.
Status loadUcx(const UcxApi** out);

}  // namespace tutti
