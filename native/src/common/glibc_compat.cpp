// What keeps libtessera loadable on glibc 2.34 (Ubuntu 22.04, RHEL 9, Amazon Linux 2023) when it is built on a newer
// one (Debian 12: 2.36). The static libstdc++ of GCC 12 built against glibc 2.36 calls arc4random (new in 2.36) from
// std::random_device, which its string and exception objects drag in although Tessera never makes a random_device:
// linked against libc's, libtessera would ask for GLIBC_2.36 and refuse to load elsewhere ("version `GLIBC_2.36'
// not found"). This local definition (hidden: the version script exports tsr_* only) takes that reference instead.
// The other newer symbol, _dl_find_object (2.35), came from the static libgcc's unwinder: libtessera links libgcc_s
// (on every glibc system) instead. ctest exports_c_api_only checks the glibc versions libtessera asks for.
#include <cstdint>  // (first: defines __GLIBC__ through features.h)
#include <cstdlib>

#if defined(__linux__) && defined(__GLIBC__)
#include <sys/random.h>

extern "C" __attribute__((visibility("hidden"))) uint32_t arc4random(void) noexcept {
  uint32_t v = 0;
  // getrandom (glibc 2.25): blocks only until the kernel's pool is first initialised, as arc4random does
  if (getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) std::abort();
  return v;
}
#endif
