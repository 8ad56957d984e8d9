/* svilm-core CPU kernels: layout changes (axis swaps). */
#include "sv-cpu-kernels.h"

#include <string.h>

void
sv_cpu_transpose_forward (float *out, const float *inp, int A, int R, int C, int E)
{
  // out[a,c,r,:] = inp[a,r,c,:], blocks of E contiguous floats
#pragma omp parallel for collapse(2)                                                               \
    schedule(static) if ((size_t) A * R * C * E >= SV_CPU_PAR_MIN_ELEMS)
  for (int a = 0; a < A; a++)
    for (int c = 0; c < C; c++)
      for (int r = 0; r < R; r++)
        memcpy (out + (((size_t) a * C + c) * R + r) * E, inp + (((size_t) a * R + r) * C + c) * E,
                (size_t) E * sizeof (float));
}

void
sv_cpu_transpose_backward (float *dinp, const float *dout, int A, int R, int C, int E)
{
  // dinp[a,r,c,:] += dout[a,c,r,:]; each dinp element has exactly one writer
#pragma omp parallel for collapse(2) schedule(static)
  for (int a = 0; a < A; a++)
    for (int r = 0; r < R; r++)
      for (int c = 0; c < C; c++) {
        float *d = dinp + (((size_t) a * R + r) * C + c) * E;
        const float *g = dout + (((size_t) a * C + c) * R + r) * E;
        for (int e = 0; e < E; e++)
          d[e] += g[e];
      }
}
