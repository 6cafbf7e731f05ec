#!/usr/bin/env bash
# Builds libtessera and its native tests for Linux AArch64 (Graviton, Ampere, NVIDIA Grace) on an x86-64 host and
# runs the tests under QEMU user-mode emulation: the CPU kernels' portable copy, the worker pool and the CUDA kernel
# emulations, as `mvn test` runs them on an AArch64 machine. No CUDA (the cross toolchain has no nvcc).
#   native/cross/check-aarch64.sh [BUILD_DIR]      (default /tmp/tessera-aarch64)
# Needs Debian's g++-aarch64-linux-gnu and qemu-user (installed when missing and running as root).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-/tmp/tessera-aarch64}"
missing=()
command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 || missing+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "check-aarch64: needs ${missing[*]} (Debian packages)" >&2
    exit 2
  fi
fi
cmake -S "$here/.." -B "$build" -DCMAKE_TOOLCHAIN_FILE="$here/aarch64-linux-gnu.cmake" -DTESSERA_CUDA=OFF \
      -DCMAKE_COMPILE_WARNING_AS_ERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
file "$build/lib/libtessera.so" 2>/dev/null || true
# the kernels' timing lines mean nothing under emulation; TESSERA_TEST_QUICK keeps the checks and skips them
TESSERA_TEST_QUICK=1 ctest --test-dir "$build" --output-on-failure
