// cuSPARSELt 2:4 (cached, searched plans) and cuBLAS dense bf16 GEMM timings as a shared library with a C ABI,
// for bench/kernel_bench.py and bench/bench.py (loaded with ctypes). Same method as cslt_bench.cu: hashed random
// fill, C[m,n] = A[m,k] (2:4 along k for cuSPARSELt) * B[k,n], all row-major, f32 accumulate; each timed run
// after a 256 MB write (cold L2: an MoE layer reads each expert's weights once), CUDA events, median of runs.
//
// Every CUDA / cuBLAS / cuSPARSELt status is checked: on failure a function returns a negative value and
// cslt_last_error() says which call failed and why. Not thread-safe (one caller at a time).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <tuple>
#include <vector>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cusparseLt.h>

namespace {

char g_err[1024] = "";

int fail(int line, const char *call, const char *lib, int code, const char *what) {
  std::snprintf(g_err, sizeof g_err, "cslt_lib.cu:%d: %s failed: %s status %d%s%s", line, call, lib, code,
                what && *what ? ": " : "", what ? what : "");
  return -1;
}

#define CUDA_CK(x)                                                                                                  \
  do {                                                                                                              \
    cudaError_t e_ = (x);                                                                                           \
    if (e_ != cudaSuccess) return fail(__LINE__, #x, "CUDA", (int)e_, cudaGetErrorString(e_));                      \
  } while (0)
#define CUBLAS_CK(x)                                                                                                \
  do {                                                                                                              \
    cublasStatus_t e_ = (x);                                                                                        \
    if (e_ != CUBLAS_STATUS_SUCCESS) return fail(__LINE__, #x, "cuBLAS", (int)e_, cublasGetStatusString(e_));       \
  } while (0)
#define CSLT_CK(x)                                                                                                  \
  do {                                                                                                              \
    cusparseStatus_t e_ = (x);                                                                                      \
    if (e_ != CUSPARSE_STATUS_SUCCESS) return fail(__LINE__, #x, "cuSPARSELt", (int)e_, "");                        \
  } while (0)
#define CK(x)                                                                                                       \
  do {                                                                                                              \
    if ((x) != 0) return -1;                                                                                        \
  } while (0)

__global__ void fill(__nv_bfloat16 *p, size_t n, unsigned seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    unsigned h = (unsigned)i * 2654435761u ^ seed; h ^= h >> 13; h *= 0x5bd1e995u; h ^= h >> 15;
    p[i] = __float2bfloat16(((h & 0xffff) / 65536.0f - 0.5f));
  }
}

const size_t kScratch = 256u << 20;
const float kAlpha = 1, kBeta = 0;

struct State {
  bool ready = false;
  cudaStream_t st = nullptr;
  cublasHandle_t cb = nullptr;
  cusparseLtHandle_t h;
  void *scratch = nullptr;
  cudaEvent_t a = nullptr, b = nullptr;
} S;

// A device allocation freed on scope exit (or by reset).
struct DevBuf {
  void *p = nullptr;
  size_t bytes = 0;
  DevBuf() = default;
  DevBuf(const DevBuf &) = delete;
  DevBuf &operator=(const DevBuf &) = delete;
  ~DevBuf() { reset(); }
  void reset() { if (p) cudaFree(p); p = nullptr; bytes = 0; }
  int alloc(size_t n) {
    reset();
    CUDA_CK(cudaMalloc(&p, n ? n : 1));
    bytes = n;
    return 0;
  }
  __nv_bfloat16 *bf() const { return (__nv_bfloat16 *)p; }
};

int fill_bf16(void *p, size_t n, unsigned seed) {
  fill<<<1024, 256, 0, S.st>>>((__nv_bfloat16 *)p, n, seed);
  CUDA_CK(cudaGetLastError());
  return 0;
}

// Median of `reps` event-timed runs of f (returns 0 or a negative error), each after a 256 MB write; 3 warm-ups.
template <typename F> double median_us(F f, int reps) {
  if (reps <= 0) return fail(__LINE__, "median_us", "argument", reps, "reps must be > 0");
  for (int i = 0; i < 3; ++i) CK(f());
  std::vector<float> t;
  for (int r = 0; r < reps; ++r) {
    CUDA_CK(cudaMemsetAsync(S.scratch, r & 0xff, kScratch, S.st));
    CUDA_CK(cudaEventRecord(S.a, S.st));
    CK(f());
    CUDA_CK(cudaEventRecord(S.b, S.st));
    CUDA_CK(cudaEventSynchronize(S.b));
    float ms;
    CUDA_CK(cudaEventElapsedTime(&ms, S.a, S.b));
    t.push_back(ms * 1e3f);
  }
  std::sort(t.begin(), t.end());
  size_t h = t.size() / 2;
  return t.size() % 2 ? t[h] : 0.5 * (t[h - 1] + t[h]);
}

// A searched cuSPARSELt plan for C[m,n] = A[m,k] (2:4) * B[k,n], with its workspace.
struct Plan {
  int m = 0, k = 0, n = 0;
  cusparseLtMatDescriptor_t dA, dB, dC;
  cusparseLtMatmulDescriptor_t mm;
  cusparseLtMatmulAlgSelection_t sel;
  cusparseLtMatmulPlan_t plan;
  bool has_desc = false, has_sel = false, has_plan = false;
  DevBuf ws;
  ~Plan() {
    if (has_plan) cusparseLtMatmulPlanDestroy(&plan);
    if (has_sel) cusparseLtMatmulAlgSelectionDestroy(&sel);
    if (has_desc) { cusparseLtMatDescriptorDestroy(&dA); cusparseLtMatDescriptorDestroy(&dB); cusparseLtMatDescriptorDestroy(&dC); }
  }
  int init(int m_, int k_, int n_) {
    m = m_; k = k_; n = n_;
    CSLT_CK(cusparseLtStructuredDescriptorInit(&S.h, &dA, m, k, k, 16, CUDA_R_16BF, CUSPARSE_ORDER_ROW,
                                               CUSPARSELT_SPARSITY_50_PERCENT));
    CSLT_CK(cusparseLtDenseDescriptorInit(&S.h, &dB, k, n, n, 16, CUDA_R_16BF, CUSPARSE_ORDER_ROW));
    CSLT_CK(cusparseLtDenseDescriptorInit(&S.h, &dC, m, n, n, 16, CUDA_R_16BF, CUSPARSE_ORDER_ROW));
    has_desc = true;
    CSLT_CK(cusparseLtMatmulDescriptorInit(&S.h, &mm, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                           CUSPARSE_OPERATION_NON_TRANSPOSE, &dA, &dB, &dC, &dC,
                                           CUSPARSE_COMPUTE_32F));
    CSLT_CK(cusparseLtMatmulAlgSelectionInit(&S.h, &sel, &mm, CUSPARSELT_MATMUL_ALG_DEFAULT));
    has_sel = true;
    CSLT_CK(cusparseLtMatmulPlanInit(&S.h, &plan, &mm, &sel));
    has_plan = true;
    size_t wsz;
    CSLT_CK(cusparseLtMatmulGetWorkspace(&S.h, &plan, &wsz));
    CK(ws.alloc(wsz));
    return 0;
  }
  // Picks the fastest algorithm on these operands, then grows the workspace: the search may pick a split-K
  // algorithm that needs more than the default did.
  int search(const void *A, const void *B, void *C) {
    CSLT_CK(cusparseLtMatmulSearch(&S.h, &plan, &kAlpha, A, B, &kBeta, C, C, ws.p, &S.st, 1));
    size_t wsz;
    CSLT_CK(cusparseLtMatmulGetWorkspace(&S.h, &plan, &wsz));
    if (wsz > ws.bytes) CK(ws.alloc(wsz));
    return 0;
  }
  int run(const void *A, const void *B, void *C) {
    CSLT_CK(cusparseLtMatmul(&S.h, &plan, &kAlpha, A, B, &kBeta, C, C, ws.p, &S.st, 1));
    return 0;
  }
};

using Key = std::tuple<int, int, int>;

// cslt_gemm_us: one plan per (m,k,n) with its own compressed A and operands (as in cslt_bench.cu).
struct Gemm {
  Plan p;
  DevBuf Ac, B, C;
  double relerr = NAN;
};
// Never destroyed at exit (the CUDA runtime may be gone by then): cslt_shutdown frees their contents.
std::map<Key, std::unique_ptr<Gemm>> &g_gemm = *new std::map<Key, std::unique_ptr<Gemm>>;
double g_last_relerr = NAN;

int cublas_run(int m, int k, int n, const void *A, const void *B, void *C) {
  CUBLAS_CK(cublasGemmEx(S.cb, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &kAlpha, B, CUDA_R_16BF, n, A, CUDA_R_16BF, k,
                         &kBeta, C, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  return 0;
}

int make_gemm(int m, int k, int n, std::unique_ptr<Gemm> &out) {
  auto g = std::make_unique<Gemm>();
  CK(g->p.init(m, k, n));
  DevBuf A, C2;
  CK(A.alloc((size_t)m * k * 2)); CK(g->B.alloc((size_t)k * n * 2)); CK(g->C.alloc((size_t)m * n * 2));
  CK(C2.alloc((size_t)m * n * 2));
  CK(fill_bf16(A.p, (size_t)m * k, 1)); CK(fill_bf16(g->B.p, (size_t)k * n, 2));
  CSLT_CK(cusparseLtSpMMAPrune(&S.h, &g->p.mm, A.p, A.p, CUSPARSELT_PRUNE_SPMMA_TILE, S.st));
  size_t csz, cbsz;
  CSLT_CK(cusparseLtSpMMACompressedSize(&S.h, &g->p.plan, &csz, &cbsz));
  DevBuf cbuf;
  CK(g->Ac.alloc(csz)); CK(cbuf.alloc(cbsz));
  CSLT_CK(cusparseLtSpMMACompress(&S.h, &g->p.plan, A.p, g->Ac.p, cbuf.p, S.st));
  CK(g->p.search(g->Ac.p, g->B.p, g->C.p));
  // Same answer? cuSPARSELt into C, cuBLAS on the pruned A into C2; relative difference (every 7th element).
  CK(g->p.run(g->Ac.p, g->B.p, g->C.p));
  CK(cublas_run(m, k, n, A.p, g->B.p, C2.p));
  CUDA_CK(cudaStreamSynchronize(S.st));
  std::vector<__nv_bfloat16> h1((size_t)m * n), h2((size_t)m * n);
  CUDA_CK(cudaMemcpy(h1.data(), C2.p, h1.size() * 2, cudaMemcpyDeviceToHost));
  CUDA_CK(cudaMemcpy(h2.data(), g->C.p, h2.size() * 2, cudaMemcpyDeviceToHost));
  double num = 0, den = 0;
  for (size_t i = 0; i < h1.size(); i += 7) {
    double x = __bfloat162float(h1[i]), y = __bfloat162float(h2[i]);
    num += (x - y) * (x - y); den += x * x;
  }
  g->relerr = std::sqrt(num / den);
  out = std::move(g);
  return 0;
}

// cslt_layer_us: per-expert compressed weights of one (H, I, E), and plans per (m, k, padded n).
struct Layer {
  int H = 0, I = 0, E = 0;
  cusparseLtMatDescriptor_t d13, d2;  // W13_e [2I, H], W2_e [H, I], 2:4 along the rows' k
  bool has_desc = false;
  std::vector<std::unique_ptr<DevBuf>> w13, w2;  // distinct memory per expert
  std::map<Key, std::unique_ptr<Plan>> plans;
  DevBuf X, G, Hid, Out;  // activations: per expert, a [k, n_e] block at column offset sum of previous n_e
  size_t cap = 0;         // columns the activation buffers hold
  ~Layer() {
    plans.clear();
    if (has_desc) { cusparseLtMatDescriptorDestroy(&d13); cusparseLtMatDescriptorDestroy(&d2); }
  }
};
std::unique_ptr<Layer> &g_layer = *new std::unique_ptr<Layer>;

int compress_experts(cusparseLtMatDescriptor_t *d, int rows, int cols, int E, unsigned seed0,
                     std::vector<std::unique_ptr<DevBuf>> &out) {
  size_t csz, cbsz;
  CSLT_CK(cusparseLtSpMMACompressedSize2(&S.h, d, &csz, &cbsz));
  DevBuf dense, cbuf;
  CK(dense.alloc((size_t)rows * cols * 2)); CK(cbuf.alloc(cbsz));
  for (int e = 0; e < E; ++e) {
    CK(fill_bf16(dense.p, (size_t)rows * cols, seed0 + 2 * e));
    CSLT_CK(cusparseLtSpMMAPrune2(&S.h, d, 1, CUSPARSE_OPERATION_NON_TRANSPOSE, dense.p, dense.p,
                                  CUSPARSELT_PRUNE_SPMMA_TILE, S.st));
    out.push_back(std::make_unique<DevBuf>());
    CK(out.back()->alloc(csz));
    CSLT_CK(cusparseLtSpMMACompress2(&S.h, d, 1, CUSPARSE_OPERATION_NON_TRANSPOSE, dense.p, out.back()->p,
                                     cbuf.p, S.st));
  }
  CUDA_CK(cudaStreamSynchronize(S.st));  // dense and cbuf are freed on return
  return 0;
}

int make_layer(int H, int I, int E) {
  g_layer.reset();  // frees the previous shape's weights, plans and activations first
  auto L = std::make_unique<Layer>();
  L->H = H; L->I = I; L->E = E;
  CSLT_CK(cusparseLtStructuredDescriptorInit(&S.h, &L->d13, 2 * I, H, H, 16, CUDA_R_16BF, CUSPARSE_ORDER_ROW,
                                             CUSPARSELT_SPARSITY_50_PERCENT));
  CSLT_CK(cusparseLtStructuredDescriptorInit(&S.h, &L->d2, H, I, I, 16, CUDA_R_16BF, CUSPARSE_ORDER_ROW,
                                             CUSPARSELT_SPARSITY_50_PERCENT));
  L->has_desc = true;
  CK(compress_experts(&L->d13, 2 * I, H, E, 101, L->w13));
  CK(compress_experts(&L->d2, H, I, E, 102, L->w2));
  g_layer = std::move(L);
  return 0;
}

int layer_plan(Layer &L, int m, int k, int n, const void *A, const void *B, void *C, Plan **out) {
  Key key{m, k, n};
  auto it = L.plans.find(key);
  if (it == L.plans.end()) {
    auto p = std::make_unique<Plan>();
    CK(p->init(m, k, n));
    CK(p->search(A, B, C));
    it = L.plans.emplace(key, std::move(p)).first;
  }
  *out = it->second.get();
  return 0;
}

int grow(DevBuf &b, size_t elems, unsigned seed) {
  CK(b.alloc(elems * 2));
  return fill_bf16(b.p, elems, seed);
}

}  // namespace

extern "C" {

const char *cslt_last_error(void) { return g_err; }

void cslt_shutdown(void);

int cslt_init(void) {
  if (S.ready) return 0;
  g_err[0] = 0;
  int rc = [] {
    CUDA_CK(cudaStreamCreate(&S.st));
    CUDA_CK(cudaMalloc(&S.scratch, kScratch));
    CUDA_CK(cudaEventCreate(&S.a));
    CUDA_CK(cudaEventCreate(&S.b));
    CUBLAS_CK(cublasCreate(&S.cb));
    CUBLAS_CK(cublasSetStream(S.cb, S.st));
    CSLT_CK(cusparseLtInit(&S.h));
    return 0;
  }();
  S.ready = rc == 0;
  if (rc) {
    // Free what was made (cuSPARSELt's handle is the last step, so it exists only on success).
    if (S.cb) cublasDestroy(S.cb);
    if (S.a) cudaEventDestroy(S.a);
    if (S.b) cudaEventDestroy(S.b);
    if (S.scratch) cudaFree(S.scratch);
    if (S.st) cudaStreamDestroy(S.st);
    S = State();
  }
  return rc;
}

// Frees the cached plans, compressed weights and operands (keeps the handles).
void cslt_clear(void) {
  if (S.st) cudaStreamSynchronize(S.st);
  g_gemm.clear();
  g_layer.reset();
}

void cslt_shutdown(void) {
  if (!S.ready) return;
  cslt_clear();
  cusparseLtDestroy(&S.h);
  cublasDestroy(S.cb);
  cudaEventDestroy(S.a);
  cudaEventDestroy(S.b);
  cudaFree(S.scratch);
  cudaStreamDestroy(S.st);
  S = State();
}

// Relative difference of the last cslt_gemm_us plan's result from cuBLAS on the same pruned A (every 7th element).
double cslt_last_relerr(void) { return g_last_relerr; }

// cuBLAS dense bf16 C[m,n] = A[m,k] B[k,n] (row-major), median of `reps` cold-L2 runs, microseconds.
double cublas_gemm_us(int m, int k, int n, int reps) {
  if (!S.ready) return fail(__LINE__, "cublas_gemm_us", "state", 0, "call cslt_init first");
  if (m <= 0 || k <= 0 || n <= 0) return fail(__LINE__, "cublas_gemm_us", "argument", 0, "m, k, n must be > 0");
  DevBuf A, B, C;
  CK(A.alloc((size_t)m * k * 2)); CK(B.alloc((size_t)k * n * 2)); CK(C.alloc((size_t)m * n * 2));
  CK(fill_bf16(A.p, (size_t)m * k, 1)); CK(fill_bf16(B.p, (size_t)k * n, 2));
  double t = median_us([&] { return cublas_run(m, k, n, A.p, B.p, C.p); }, reps);
  if (t >= 0) CUDA_CK(cudaStreamSynchronize(S.st));  // before the buffers are freed
  return t;
}

// cuSPARSELt 2:4 bf16 C[m,n] = A[m,k] B[k,n], plan pruned, compressed and searched on the first call for
// (m,k,n) and reused afterwards; median of `reps` cold-L2 runs, microseconds.
double cslt_gemm_us(int m, int k, int n, int reps) {
  if (!S.ready) return fail(__LINE__, "cslt_gemm_us", "state", 0, "call cslt_init first");
  if (m <= 0 || k <= 0 || n <= 0) return fail(__LINE__, "cslt_gemm_us", "argument", 0, "m, k, n must be > 0");
  Key key{m, k, n};
  auto it = g_gemm.find(key);
  if (it == g_gemm.end()) {
    std::unique_ptr<Gemm> g;
    CK(make_gemm(m, k, n, g));
    it = g_gemm.emplace(key, std::move(g)).first;
  }
  Gemm &g = *it->second;
  g_last_relerr = g.relerr;
  return median_us([&] { return g.p.run(g.Ac.p, g.B.p, g.C.p); }, reps);
}

// The GEMMs of one MoE FFN layer as a per-expert cuSPARSELt 2:4 loop: for each expert e with counts[e] > 0,
// gate/up G_e[2I, n_e] = W13_e[2I, H] X_e[H, n_e], then down Out_e[H, n_e] = W2_e[H, I] Hid_e[I, n_e].
// This is a lower bound for a cuSPARSELt layer: only its GEMMs are timed (no router, gather, SiLU-and-multiply
// or weighted combine). n_e is padded up to a multiple of 16 (cuSPARSELt's alignment for the dense operands).
// Each expert has its own compressed weights (distinct memory, so a cold-L2 run reads all the experts' weights);
// they are made once per (H, I, E), plans once per (m, k, padded n); a new (H, I, E) frees the previous ones.
// Timed: one 256 MB write, then the whole loop between two events; median of `reps` runs, microseconds.
double cslt_layer_us(int H, int I, int E, const int *counts, int reps) {
  if (!S.ready) return fail(__LINE__, "cslt_layer_us", "state", 0, "call cslt_init first");
  if (H <= 0 || I <= 0 || E <= 0 || !counts)
    return fail(__LINE__, "cslt_layer_us", "argument", 0, "H, I, E must be > 0 and counts non-null");
  if (!g_layer || g_layer->H != H || g_layer->I != I || g_layer->E != E) CK(make_layer(H, I, E));
  Layer &L = *g_layer;
  std::vector<int> pad(E), off(E + 1, 0);
  for (int e = 0; e < E; ++e) {
    if (counts[e] < 0) return fail(__LINE__, "cslt_layer_us", "argument", counts[e], "negative token count");
    pad[e] = (counts[e] + 15) / 16 * 16;
    off[e + 1] = off[e] + pad[e];
  }
  size_t cols = off[E];
  if (cols == 0) return 0.0;
  if (cols > L.cap) {
    CK(grow(L.X, (size_t)H * cols, 3)); CK(grow(L.G, (size_t)2 * I * cols, 4));
    CK(grow(L.Hid, (size_t)I * cols, 5)); CK(grow(L.Out, (size_t)H * cols, 6));
    L.cap = cols;
  }
  struct Step { Plan *p; const void *A, *B; void *C; };
  std::vector<Step> steps;
  for (int e = 0; e < E; ++e) {
    if (!pad[e]) continue;
    int n = pad[e];
    const void *X = L.X.bf() + (size_t)H * off[e], *Hd = L.Hid.bf() + (size_t)I * off[e];
    void *G = L.G.bf() + (size_t)2 * I * off[e], *O = L.Out.bf() + (size_t)H * off[e];
    Plan *p13, *p2;
    CK(layer_plan(L, 2 * I, H, n, L.w13[e]->p, X, G, &p13));
    CK(layer_plan(L, H, I, n, L.w2[e]->p, Hd, O, &p2));
    steps.push_back({p13, L.w13[e]->p, X, G});
    steps.push_back({p2, L.w2[e]->p, Hd, O});
  }
  return median_us([&] {
    for (auto &s : steps) CK(s.p->run(s.A, s.B, s.C));
    return 0;
  }, reps);
}

}  // extern "C"
