// The rate at which a block-per-tile weight stream can read HBM on one GPU,
// by three readers of the same bytes: a ring of bulk copies guarded by
// mbarriers (the wgmma_sp kernels' weight path, without the MMAs), the same
// ring with larger copies, and plain 16-byte loads by every thread. A probe
// for bench/RESULTS.md, not part of the product: no kernel here is launched
// by the runtime.
//
//   nvcc -O3 -arch=sm_90a -o stream_probe bench/baselines/stream_probe.cu
//   ./stream_probe [BLOCKS [STREAM_KB [LAYOUT [GROUP]]]]
//
// Each block reads two streams of STREAM_KB (default 288: a decode block's
// 16 k tiles of 18 KB) in k tiles of `chunk` bytes. LAYOUT 0 (default) lays
// them out stream after stream, as the packed weights are (each block reads
// its own region); 1 interleaves the k tiles of GROUP consecutive blocks'
// streams (default 8: the row blocks of one expert), so the blocks of a
// group read one region; 2 interleaves every block's (the order a copy
// kernel reads in). The loads reader reads layout 0. Every time is the median
// of 15 runs, each after a 256 MB write that evicts the L2 (the benchmarks'
// method), by CUDA events; every kernel's checksum must match the host's.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(x)                                                               \
  do {                                                                         \
    cudaError_t e = (x);                                                       \
    if (e != cudaSuccess) {                                                    \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,                  \
                   cudaGetErrorString(e));                                     \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

/// Streams a block reads (a gate and an up unit), consumer warps, threads.
constexpr int kStreams = 2, kConsumerWarps = 8,
              kThreads = 32 * (kConsumerWarps + 4);

__device__ __forceinline__ uint32_t smem(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void waitParity(uint32_t bar, uint32_t parity) {
  asm volatile("{\n .reg .pred p;\n"
               "W: mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
               " @!p bra W;\n}\n" ::"r"(bar),
               "r"(parity)
               : "memory");
}

/// The byte offset of k tile `i` of stream `s` of block `b` (of `blocks`)
/// in `layout` with groups of `group` blocks.
__device__ __forceinline__ size_t chunkAt(int layout, int group, int blocks,
                                          int b, int s, int i, int chunk,
                                          int kTiles) {
  size_t c;
  if (layout == 0)
    c = (static_cast<size_t>(b) * kStreams + s) * kTiles + i;
  else if (layout == 1)
    c = ((static_cast<size_t>(b / group) * kTiles + i) * group + b % group) *
            kStreams +
        s;
  else
    c = (static_cast<size_t>(i) * blocks + b) * kStreams + s;
  return c * chunk;
}

// One block: warps 0-3 the producer (thread 0 issues), warps 4.. consumers
// that wait for each slot, read two words of every 16 bytes of it and
// release the slot (one arrival a warp).
__global__ void __launch_bounds__(kThreads)
    ringKernel(const uint4 *__restrict__ w, int chunk, int stages, int kTiles,
               int layout, int group, unsigned long long *sums) {
  extern __shared__ __align__(128) unsigned char ring[];
  uint64_t *bars = reinterpret_cast<uint64_t *>(
      ring + static_cast<size_t>(stages) * kStreams * chunk);
  int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  if (tid == 0) {
    for (int s = 0; s < stages; ++s) {
      asm volatile(
          "mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem(bars + s)));
      asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(
                       smem(bars + stages + s)),
                   "r"(kConsumerWarps));
    }
    asm volatile("fence.mbarrier_init.release.cluster;");
  }
  __syncthreads();
  const unsigned char *base = reinterpret_cast<const unsigned char *>(w);
  if (warp < 4) {
    if (tid != 0)
      return;
    for (int i = 0; i < kTiles; ++i) {
      int slot = i % stages;
      if (i >= stages)
        waitParity(smem(bars + stages + slot), (i / stages - 1) & 1);
      uint32_t full = smem(bars + slot);
      asm volatile(
          "mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(full),
          "r"(kStreams * chunk)
          : "memory");
      for (int s = 0; s < kStreams; ++s) {
        const unsigned char *src =
            base +
            chunkAt(layout, group, gridDim.x, blockIdx.x, s, i, chunk, kTiles);
        uint32_t dst =
            smem(ring + (static_cast<size_t>(slot) * kStreams + s) * chunk);
        asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::"
                     "complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(dst),
                     "l"(src), "r"(chunk), "r"(full)
                     : "memory");
      }
    }
    return;
  }
  unsigned long long sum = 0;
  int c = tid - 128;
  for (int i = 0; i < kTiles; ++i) {
    int slot = i % stages;
    waitParity(smem(bars + slot), (i / stages) & 1);
    const uint4 *words = reinterpret_cast<const uint4 *>(
        ring + static_cast<size_t>(slot) * kStreams * chunk);
    for (int j = c; j < kStreams * chunk / 16; j += 32 * kConsumerWarps)
      sum += static_cast<unsigned long long>(words[j].x) + words[j].w;
    __syncwarp();
    if (lane == 0)
      asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(
                       smem(bars + stages + slot))
                   : "memory");
  }
  atomicAdd(sums, sum);
}

// The same bytes by 16-byte loads of every thread, four in flight.
__global__ void __launch_bounds__(kThreads)
    loadKernel(const uint4 *__restrict__ w, size_t blockWords,
               unsigned long long *sums) {
  const uint4 *p = w + blockIdx.x * blockWords;
  unsigned long long sum = 0;
  size_t j = threadIdx.x;
  for (; j + 3 * kThreads < blockWords; j += 4 * kThreads) {
    uint4 a = p[j], b = p[j + kThreads], c = p[j + 2 * kThreads],
          d = p[j + 3 * kThreads];
    sum += static_cast<unsigned long long>(a.x) + a.w + b.x + b.w + c.x + c.w +
           d.x + d.w;
  }
  for (; j < blockWords; j += kThreads)
    sum += static_cast<unsigned long long>(p[j].x) + p[j].w;
  atomicAdd(sums, sum);
}

int main(int argc, char **argv) {
  int blocks = argc > 1 ? std::atoi(argv[1]) : 512;
  size_t streamKB = argc > 2 ? std::atoi(argv[2]) : 288;
  int layout = argc > 3 ? std::atoi(argv[3]) : 0;
  int group = argc > 4 ? std::atoi(argv[4]) : 8;
  // Every ring's copies (up to 32 KB) must divide a stream.
  if (blocks < 1 || blocks > 65536 || streamKB < 32 || streamKB > 65536 ||
      streamKB % 32 != 0 || layout < 0 || layout > 2 || group < 1 ||
      blocks % group != 0) {
    std::fprintf(stderr,
                 "usage: stream_probe [BLOCKS (1-65536) [STREAM_KB (a multiple "
                 "of 32 up to 65536) [LAYOUT (0-2) [GROUP (dividing "
                 "BLOCKS)]]]]\n");
    return 2;
  }
  size_t bytes = static_cast<size_t>(blocks) * kStreams * streamKB * 1024;
  if (bytes > (size_t{16} << 30)) {
    std::fprintf(stderr, "%zu bytes of streams: at most 16 GiB\n", bytes);
    return 2;
  }
  int sms = 0;
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  std::vector<uint32_t> host(bytes / 4);
  uint32_t x = 12345;
  for (auto &v : host)
    v = (x = x * 1664525u + 1013904223u) >> 8;
  unsigned long long expect = 0;
  for (size_t i = 0; i < host.size(); i += 4)
    expect += static_cast<unsigned long long>(host[i]) + host[i + 3];
  uint4 *w;
  unsigned long long *sums;
  void *scratch;
  CHECK(cudaMalloc(&w, bytes));
  CHECK(cudaMalloc(&sums, sizeof(unsigned long long)));
  CHECK(cudaMalloc(&scratch, 256 << 20));
  CHECK(cudaMemcpy(w, host.data(), bytes, cudaMemcpyHostToDevice));
  cudaEvent_t t0, t1;
  CHECK(cudaEventCreate(&t0));
  CHECK(cudaEventCreate(&t1));
  std::printf("%d SMs, %d blocks of %d streams of %zu KB: %.1f MB, layout %d "
              "(group %d)\n",
              sms, blocks, kStreams, streamKB, bytes / 1e6, layout, group);
  auto time = [&](const char *name, auto launch) {
    std::vector<float> ms;
    for (int r = 0; r < 15; ++r) {
      CHECK(cudaMemsetAsync(scratch, r, 256 << 20));
      CHECK(cudaMemsetAsync(sums, 0, sizeof(unsigned long long)));
      CHECK(cudaEventRecord(t0));
      launch();
      CHECK(cudaGetLastError());
      CHECK(cudaEventRecord(t1));
      CHECK(cudaEventSynchronize(t1));
      float m;
      CHECK(cudaEventElapsedTime(&m, t0, t1));
      ms.push_back(m);
      unsigned long long got;
      CHECK(cudaMemcpy(&got, sums, sizeof got, cudaMemcpyDeviceToHost));
      if (got != expect) {
        std::printf("%-40s checksum mismatch\n", name);
        std::exit(1);
      }
    }
    std::sort(ms.begin(), ms.end());
    float med = ms[ms.size() / 2];
    std::printf("%-40s %8.1f us %7.0f GB/s\n", name, med * 1e3,
                bytes / (med * 1e-3) / 1e9);
  };
  struct Ring {
    const char *name;
    int chunk, stages;
  } rings[] = {{"ring 8 KB copies, 5 slots", 8192, 5},
               {"ring 8 KB copies, 3 slots", 8192, 3},
               {"ring 8 KB copies, 6 slots", 8192, 6},
               {"ring 16 KB copies, 3 slots", 16384, 3},
               {"ring 32 KB copies, 2 slots", 32768, 2},
               {"ring 4 KB copies, 10 slots", 4096, 10}};
  for (const Ring &r : rings) {
    int kTiles = static_cast<int>(streamKB * 1024 / r.chunk);
    size_t shmem =
        static_cast<size_t>(r.stages) * kStreams * r.chunk + 16 * r.stages;
    CHECK(cudaFuncSetAttribute(ringKernel,
                               cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(shmem)));
    int perSM = 0;
    CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSM, ringKernel,
                                                        kThreads, shmem));
    char name[96];
    std::snprintf(name, sizeof name, "%s (%d/SM)", r.name, perSM);
    time(name, [&] {
      ringKernel<<<blocks, kThreads, shmem>>>(w, r.chunk, r.stages, kTiles,
                                              layout, group, sums);
    });
  }
  if (layout == 0)
    time("16-byte loads, 4 in flight a thread", [&] {
      loadKernel<<<blocks, kThreads>>>(w, bytes / 16 / blocks, sums);
    });
  std::printf("done\n");
  return 0;
}
