/* svilm-core CPU kernels: convolution patches (im2col) and their adjoint.
 * A k x k convolution at stride s = im2col (here) + linear (cpu/linear.c). */
#include "sv-cpu-kernels.h"
#include "sv-omp.h"

#include <string.h>

void
sv_cpu_im2col_forward (float *cols, const float *img, int N, int H, int W, int C, int k, int s,
                       int pad)
{
  // img[N,H,W,C] -> cols[N,Ho,Wo,k*k*C], Ho = (H + 2 pad - k)/s + 1 (Wo likewise);
  // vector index (ky*k + kx)*C + c; taps outside the image read 0 (zero padding).
  // For fixed (ky, kx) the C channels are contiguous in both layouts.
  int Ho = (H + 2 * pad - k) / s + 1, Wo = (W + 2 * pad - k) / s + 1;
  size_t K = (size_t) k * k * C;
  int64_t npos = (int64_t) N * Ho * Wo;
#pragma omp parallel for schedule(static) if ((size_t) npos * K >= SV_CPU_PAR_MIN_ELEMS)
  for (int64_t pos = 0; pos < npos; pos++) {
    int ox = (int) (pos % Wo), oy = (int) ((pos / Wo) % Ho);
    int64_t n = pos / ((int64_t) Wo * Ho);
    float *dst = cols + (size_t) pos * K;
    for (int ky = 0; ky < k; ky++) {
      int y = oy * s - pad + ky;
      for (int kx = 0; kx < k; kx++) {
        int x = ox * s - pad + kx;
        float *d = dst + ((size_t) ky * k + kx) * C;
        if (y < 0 || y >= H || x < 0 || x >= W)
          memset (d, 0, (size_t) C * sizeof (float));
        else
          memcpy (d, img + (((size_t) n * H + y) * W + x) * C, (size_t) C * sizeof (float));
      }
    }
  }
}

void
sv_cpu_im2col_backward (float *dimg, const float *dcols, int N, int H, int W, int C, int k, int s,
                        int pad)
{
  // dimg[n,y,x,c] += sum over the output positions whose window covers (y, x):
  // oy*s - pad + ky = y.  Written as a gather over input pixels, so each dimg
  // element has one writer and sums its taps in a fixed order (ky, kx ascending),
  // the same order as the Vulkan kernel.
  int Ho = (H + 2 * pad - k) / s + 1, Wo = (W + 2 * pad - k) / s + 1;
  size_t K = (size_t) k * k * C;
  int64_t npix = (int64_t) N * H * W;
#pragma omp parallel for schedule(static) if ((size_t) npix * C >= SV_CPU_PAR_MIN_ELEMS)
  for (int64_t pix = 0; pix < npix; pix++) {
    int x = (int) (pix % W), y = (int) ((pix / W) % H);
    int64_t n = pix / ((int64_t) W * H);
    float *d = dimg + (size_t) pix * C;
    for (int ky = 0; ky < k; ky++) {
      int ty = y + pad - ky;
      if (ty < 0 || ty % s || ty / s >= Ho)
        continue;
      for (int kx = 0; kx < k; kx++) {
        int tx = x + pad - kx;
        if (tx < 0 || tx % s || tx / s >= Wo)
          continue;
        const float *g =
            dcols + (((size_t) n * Ho + ty / s) * Wo + tx / s) * K + ((size_t) ky * k + kx) * C;
        for (int c = 0; c < C; c++)
          d[c] += g[c];
      }
    }
  }
}
