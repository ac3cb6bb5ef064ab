// A deliberately naive expert matmul over the SS format (one thread per
// output), written independently of the C++ packer, to exercise the runtime
// end to end on a GPU (ssmm-gpu-test). Regenerate kernels.ptx with:
//   nvcc -arch=sm_80 -ptx kernels.cu -o kernels.ptx
// Shapes are baked in and must match manifest.json.

#define MEMREF(T, n) T *n##_alloc, T *n, long long n##_off, long long n##_size, long long n##_stride

__device__ float bf(unsigned u) { return __uint_as_float(u << 16); }

extern "C" __global__ void naive_ssmm(MEMREF(const unsigned, vals), MEMREF(const unsigned, meta),
                                      MEMREF(const unsigned char, ridx),
                                      MEMREF(const unsigned short, x), MEMREF(const int, tokens),
                                      MEMREF(const int, offsets), MEMREF(float, y), int P, int E) {
  const int R = 64, K = 256, M = 2, N = 1, V = 64, Rk = R * N / M, KS = K / 32, S = K / V;
  int r = threadIdx.x;
  int p = blockIdx.x * blockDim.y + threadIdx.y;
  if (p >= P || r >= R)
    return;
  int e = 0;
  while (p >= offsets[e + 1] && e + 1 < E)
    ++e;
  const unsigned *ve = vals + e * (Rk * K / 4);
  const unsigned *me = meta + e * (Rk * K / 32);
  const unsigned char *re = ridx + e * (S * Rk);
  const unsigned short *xr = x + (long long)tokens[p] * K;
  int g = r / M, j = r % M;
  float acc = 0.f;
  for (int s = 0; s < S; ++s)
    for (int jj = 0; jj < N; ++jj) {
      int kr = g * N + jj;
      if (re[s * Rk + kr] != j)
        continue;
      int tr = kr / 16, rr = kr % 16;
      for (int ch = s * V / 4; ch < (s + 1) * V / 4; ++ch) {
        int col = 2 * ch, ks = col / 16, cc = col % 16;
        int lane = (rr % 8) * 4 + (cc % 8) / 2, i = (rr / 8) | ((cc / 8) << 1);
        unsigned w = ve[((tr * KS + ks) * 32 + lane) * 4 + i];
        unsigned mw = me[(tr * KS + ks) * 16 + 2 * (rr % 8) + (ch % 8) / 4];
        unsigned nib = (mw >> (16 * (rr / 8) + 4 * (ch % 4))) & 15u;
        acc += bf(w & 0xffffu) * bf(xr[4 * ch + (nib & 3u)]) +
               bf(w >> 16) * bf(xr[4 * ch + (nib >> 2)]);
      }
    }
  y[(long long)p * R + r] = acc;
}
