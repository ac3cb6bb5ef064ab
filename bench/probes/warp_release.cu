// Does compute-sanitizer racecheck follow a slot release made by one lane
// after __syncwarp? (bench/pending.sh step 6; bench/RESULTS.md §S49.)
//
// A producer warp refills a 128-byte shared-memory slot four times by bulk
// copies under a full/empty mbarrier pair, as the wgmma_sp ring does; a
// consumer warp reads the slot, then releases it either from every thread
// (argument 0: the default kernel's release, 32 arrivals) or by lane 0 after
// __syncwarp (argument 1: the cluster kernels' release, one arrival). Both
// orders are correct under the PTX memory model (bar.warp.sync orders the
// lanes' loads before lane 0's arrival). If racecheck reports hazards with 1
// and none with 0, the hazards S49 saw in the cluster kernels come from
// racecheck not following the warp barrier (ptxas compiles it to a NOP).
// The sums are checked, so a wrong slot content fails either way.
// Build: nvcc -arch=sm_90a -o warp_release warp_release.cu
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {
constexpr int kUses = 4, kInts = 32;

__device__ void waitParity(unsigned bar, int parity) {
  asm volatile("{\n.reg .pred p;\nwait:\n"
               "mbarrier.try_wait.parity.shared.b64 p, [%0], %1;\n"
               "@!p bra wait;\n}" ::"r"(bar),
               "r"(parity));
}

__device__ void arrive(unsigned bar) {
  asm volatile("mbarrier.arrive.shared.b64 _, [%0];" ::"r"(bar));
}

__global__ void ring(const int *src, int *out, int warpRelease) {
  __shared__ alignas(128) int slot[kInts];
  __shared__ alignas(8) uint64_t bars[2];
  int tid = threadIdx.x, lane = tid & 31;
  unsigned full = __cvta_generic_to_shared(&bars[0]), empty = full + 8;
  unsigned dst = __cvta_generic_to_shared(slot);
  if (tid == 0) {
    asm volatile("mbarrier.init.shared.b64 [%0], 1;" ::"r"(full));
    asm volatile("mbarrier.init.shared.b64 [%0], %1;" ::"r"(empty),
                 "r"(warpRelease ? 1 : 32));
  }
  __syncthreads();
  int sum = 0;
  for (int use = 0; use < kUses; ++use) {
    if (tid < 32) {
      if (use > 0)
        waitParity(empty, (use - 1) & 1);
      if (tid == 0) {
        asm volatile(
            "mbarrier.arrive.expect_tx.shared.b64 _, [%0], %1;" ::"r"(full),
            "r"(kInts * 4));
        asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::"
                     "complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(dst),
                     "l"(src + kInts * use), "r"(kInts * 4), "r"(full)
                     : "memory");
      }
    } else {
      waitParity(full, use & 1);
      sum += slot[lane];
      if (warpRelease) {
        __syncwarp();
        if (lane == 0)
          arrive(empty);
      } else {
        arrive(empty);
      }
    }
  }
  if (tid >= 32)
    out[lane] = sum;
}
} // namespace

#define CHECK(x)                                                               \
  do {                                                                         \
    cudaError_t e = (x);                                                       \
    if (e != cudaSuccess) {                                                    \
      std::fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e));             \
      return 1;                                                                \
    }                                                                          \
  } while (0)

int main(int argc, char **argv) {
  if (argc != 2 || (argv[1][0] != '0' && argv[1][0] != '1') || argv[1][1]) {
    std::fprintf(stderr, "usage: warp_release 0|1\n");
    return 2;
  }
  int warpRelease = argv[1][0] - '0';
  int host[kUses * kInts], expect[kInts] = {};
  for (int i = 0; i < kUses * kInts; ++i) {
    host[i] = 1000 * (i / kInts) + 7 * i + 3;
    expect[i % kInts] += host[i];
  }
  int *src = nullptr, *out = nullptr, got[kInts];
  CHECK(cudaMalloc(&src, sizeof(host)));
  CHECK(cudaMalloc(&out, sizeof(got)));
  CHECK(cudaMemcpy(src, host, sizeof(host), cudaMemcpyHostToDevice));
  CHECK(cudaMemset(out, 0xff, sizeof(got)));
  ring<<<1, 64>>>(src, out, warpRelease);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  CHECK(cudaMemcpy(got, out, sizeof(got), cudaMemcpyDeviceToHost));
  for (int i = 0; i < kInts; ++i)
    if (got[i] != expect[i]) {
      std::fprintf(stderr, "lane %d: %d, expected %d\n", i, got[i], expect[i]);
      return 1;
    }
  std::printf("warp_release %d: sums ok\n", warpRelease);
  return 0;
}
