#include "base/dynamic_library.h"

#include <dlfcn.h>
#include <fmt/format.h>

namespace tutti::topo {

std::unique_ptr<DynamicLibrary> DynamicLibrary::open(const char* soname, Lifetime lifetime,
                                                     std::string* why) {
  const int flags = RTLD_NOW | RTLD_LOCAL | (lifetime == Lifetime::kKeepLoaded ? RTLD_NODELETE : 0);
  void* handle = dlopen(soname, flags);
  if (handle == nullptr) {
    const char* error = dlerror();
    *why = fmt::format("{} not loaded: {}", soname, error != nullptr ? error : "?");
    return nullptr;
  }
  return std::unique_ptr<DynamicLibrary>(new DynamicLibrary(handle, soname));
}

DynamicLibrary::DynamicLibrary(void* handle, std::string soname)
    : handle_(handle), soname_(std::move(soname)) {}

DynamicLibrary::~DynamicLibrary() { dlclose(handle_); }

void* DynamicLibrary::find(const char* name, const char* version, std::string* why) const {
  void* symbol = version != nullptr ? dlvsym(handle_, name, version) : dlsym(handle_, name);
  if (symbol == nullptr) {
    *why = version != nullptr ? fmt::format("{} lacks {}@{}", soname_, name, version)
                              : fmt::format("{} lacks {}", soname_, name);
  }
  return symbol;
}

}  // namespace tutti::topo
