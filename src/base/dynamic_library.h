// A shared library loaded at run time with dlopen and never linked: what the NVML, CUDA driver
// and verbs probes share. Its absence is normal (a CPU-only host), so opening and resolving say
// why they failed instead of failing loudly.
#pragma once

#include <memory>
#include <string>

namespace tutti::topo {

class DynamicLibrary {
 public:
  // kKeepLoaded (RTLD_NODELETE): for libraries that keep process-wide state once used (the CUDA
  // driver after cuInit, libibverbs with its providers), which are not made to be unloaded;
  // closing then only drops the reference, as NCCL never unloads them either.
  enum class Lifetime { kUnloadOnClose, kKeepLoaded };

  // nullptr, with *why = "<soname> not loaded: <dlerror>", when it does not load.
  static std::unique_ptr<DynamicLibrary> open(const char* soname, Lifetime lifetime,
                                              std::string* why);
  ~DynamicLibrary();
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;

  // Resolves `name` (at symbol version `version` when given: dlvsym) into *function. False,
  // with *why = "<soname> lacks <name>[@<version>]" and *function null, when it is not there.
  template <typename Function>
  bool resolve(const char* name, Function* function, std::string* why,
               const char* version = nullptr) const {
    void* symbol = find(name, version, why);
    *function = reinterpret_cast<Function>(symbol);
    return symbol != nullptr;
  }

 private:
  DynamicLibrary(void* handle, std::string soname);
  void* find(const char* name, const char* version, std::string* why) const;

  void* handle_;
  std::string soname_;
};

}  // namespace tutti::topo
