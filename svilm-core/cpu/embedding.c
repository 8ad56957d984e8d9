/* svilm-core CPU kernels: embedding lookup and tubelet patchify (llm.c style).
 * Tubelet embedding = patchify (here) + linear (cpu/linear.c). */
#include "sv-cpu-kernels.h"
#include "sv-omp.h"

#include <string.h>

void
sv_cpu_embedding_forward (float *out, const int32_t *ids, const float *table, int N, int V, int C)
{
  // ids[N] in [0,V), table[V,C] -> out[N,C] = table[ids[n], :]
  // (ids are validated one level up; an id outside [0,V) gives a zero row, never a
  // read outside the table)
#pragma omp parallel for schedule(static) if ((size_t) N * C >= SV_CPU_PAR_MIN_ELEMS)
  for (int n = 0; n < N; n++) {
    float *o = out + (size_t) n * C;
    int32_t id = ids[n];
    if (id >= 0 && id < V)
      memcpy (o, table + (size_t) id * C, (size_t) C * sizeof (float));
    else
      memset (o, 0, (size_t) C * sizeof (float));
  }
}

void
sv_cpu_embedding_backward (float *dtable, const float *dout, const int32_t *ids, int N, int V,
                           int C)
{
  // dtable[ids[n], :] += dout[n, :]
  // Several n may share an id, so threads must not race on a row: each thread owns a
  // contiguous range of table rows and walks all n in order, adding only the rows it
  // owns.  Every row therefore sums its contributions in ascending n whatever the
  // thread count (bit-identical results).  Ids outside [0,V) are owned by nobody.
  if (!dtable || N == 0 || V == 0 || C == 0)
    return;
#pragma omp parallel
  {
    int nt = omp_get_num_threads (), t = omp_get_thread_num ();
    int64_t v0 = (int64_t) V * t / nt, v1 = (int64_t) V * (t + 1) / nt;
    for (int n = 0; n < N; n++) {
      int32_t id = ids[n];
      if (id < v0 || id >= v1)
        continue;
      float *d = dtable + (size_t) id * C;
      const float *g = dout + (size_t) n * C;
      for (int c = 0; c < C; c++)
        d[c] += g[c];
    }
  }
}

void
sv_cpu_patchify_forward (float *patches, const float *video, int B, int T, int H, int W, int Cin,
                         int pt, int p)
{
  // video[B,T,H,W,Cin] -> patches[B*Np, pt*p*p*Cin], Np = (T/pt)*(H/p)*(W/p);
  // token n = (t'*(H/p) + y')*(W/p) + x', vector k = ((dt*p + dy)*p + dx)*Cin + c.
  // For fixed (dt, dy) the p*Cin values (dx, c) are contiguous in both layouts.
  int Tp = T / pt, Hp = H / p, Wp = W / p;
  int64_t ntok = (int64_t) B * Tp * Hp * Wp;
  size_t run = (size_t) p * Cin, K = (size_t) pt * p * run;
#pragma omp parallel for schedule(static)
  for (int64_t tok = 0; tok < ntok; tok++) {
    int64_t r = tok;
    int xq = (int) (r % Wp);
    r /= Wp;
    int yq = (int) (r % Hp);
    r /= Hp;
    int tq = (int) (r % Tp);
    int64_t b = r / Tp;
    float *dst = patches + (size_t) tok * K;
    for (int dt = 0; dt < pt; dt++)
      for (int dy = 0; dy < p; dy++) {
        size_t src = ((((size_t) b * T + (size_t) tq * pt + dt) * H + (size_t) yq * p + dy) * W +
                      (size_t) xq * p) *
                     Cin;
        memcpy (dst + ((size_t) dt * p + dy) * run, video + src, run * sizeof (float));
      }
  }
}

void
sv_cpu_patchify_backward (float *dvideo, const float *dpatches, int B, int T, int H, int W, int Cin,
                          int pt, int p)
{
  // dvideo[B,T,H,W,Cin] += unpatchify(dpatches[B*Np, pt*p*p*Cin]).
  // Tubelets do not overlap: every video element receives exactly one value, so
  // tokens can be split over threads without races.
  if (!dvideo)
    return;
  int Tp = T / pt, Hp = H / p, Wp = W / p;
  int64_t ntok = (int64_t) B * Tp * Hp * Wp;
  size_t run = (size_t) p * Cin, K = (size_t) pt * p * run;
#pragma omp parallel for schedule(static)
  for (int64_t tok = 0; tok < ntok; tok++) {
    int64_t r = tok;
    int xq = (int) (r % Wp);
    r /= Wp;
    int yq = (int) (r % Hp);
    r /= Hp;
    int tq = (int) (r % Tp);
    int64_t b = r / Tp;
    const float *src = dpatches + (size_t) tok * K;
    for (int dt = 0; dt < pt; dt++)
      for (int dy = 0; dy < p; dy++) {
        float *dst =
            dvideo + ((((size_t) b * T + (size_t) tq * pt + dt) * H + (size_t) yq * p + dy) * W +
                      (size_t) xq * p) *
                         Cin;
        const float *s = src + ((size_t) dt * p + dy) * run;
        for (size_t i = 0; i < run; i++)
          dst[i] += s[i];
      }
  }
}
