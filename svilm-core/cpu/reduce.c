/* svilm-core CPU kernels: mean over axes, L2 normalisation, cosine similarity
 * (llm.c style). */
#include "sv-cpu-kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* ---- mean over a set of axes ----
 *
 * The shape is first "collapsed": size-1 axes are dropped and neighbouring axes
 * that are both reduced or both kept are merged (tensors are contiguous, so a
 * merged axis has the stride of its inner part).  What remains alternates kept
 * and reduced groups.  Two loop shapes cover every case:
 *  A. the innermost group is kept (e.g. spatial mean of [B,Nt,H,W,D] over H,W):
 *     out rows of `inner` contiguous values are accumulated over the reduced
 *     offsets, in blocks of MEAN_BLOCK columns so that even a single out row is
 *     split over threads;
 *  B. the innermost group is reduced (mean over the last axis, or over all):
 *     each out element sums contiguous runs.
 * Sums are in double, in a fixed order, one writer per output (deterministic). */

#define MEAN_MAX_AXES 32
#define MEAN_BLOCK 256

typedef struct {
  int nk, nr;                 /* kept and reduced collapsed axes */
  int64_t ks[MEAN_MAX_AXES];  /* kept sizes (row-major order of out) */
  int64_t kst[MEAN_MAX_AXES]; /* their strides in inp */
  int64_t rs[MEAN_MAX_AXES];  /* reduced sizes */
  int64_t rst[MEAN_MAX_AXES]; /* their strides in inp */
  int64_t out_n, count;       /* out elements, elements per mean */
  bool inner_kept;            /* loop shape A */
} MeanPlan;

static void
mean_plan (MeanPlan *pl, const int64_t *shape, int ndim, unsigned axes_mask)
{
  int64_t sz[MEAN_MAX_AXES], st[MEAN_MAX_AXES];
  bool red[MEAN_MAX_AXES];
  int m = 0;
  int64_t stride = 1;
  if (ndim > MEAN_MAX_AXES)
    ndim = MEAN_MAX_AXES;
  /* walk from the innermost axis outwards, so strides are known */
  for (int i = ndim - 1; i >= 0; i--) {
    bool r = (axes_mask >> i) & 1u;
    if (shape[i] != 1) {
      if (m > 0 && red[m - 1] == r) {
        sz[m - 1] *= shape[i]; /* outer part joins: stride stays the inner one */
      } else {
        sz[m] = shape[i];
        st[m] = stride;
        red[m] = r;
        m++;
      }
    }
    stride *= shape[i];
  }
  /* the collapsed axes were collected inner-first: emit them outer-first */
  pl->nk = pl->nr = 0;
  pl->out_n = pl->count = 1;
  for (int j = m - 1; j >= 0; j--) {
    if (red[j]) {
      pl->rs[pl->nr] = sz[j];
      pl->rst[pl->nr++] = st[j];
      pl->count *= sz[j];
    } else {
      pl->ks[pl->nk] = sz[j];
      pl->kst[pl->nk++] = st[j];
      pl->out_n *= sz[j];
    }
  }
  pl->inner_kept = m > 0 && !red[0];
  /* a zero-sized axis: count or out_n is 0, and the sizes above stay consistent */
}

/* offset in inp of row-major index idx over axes (sz, st)[0..nd) */
static inline size_t
mean_offset (int64_t idx, int nd, const int64_t *sz, const int64_t *st)
{
  size_t off = 0;
  for (int d = nd - 1; d >= 0; d--) {
    off += (size_t) (idx % sz[d]) * (size_t) st[d];
    idx /= sz[d];
  }
  return off;
}

void
sv_cpu_mean_forward (float *out, const float *inp, const int64_t *shape, int ndim,
                     unsigned axes_mask)
{
  // inp[shape] -> out[kept axes] = mean over the axes in axes_mask
  MeanPlan pl;
  mean_plan (&pl, shape, ndim, axes_mask);
  if (pl.out_n == 0)
    return;
  if (pl.count == 0) { // mean over an empty axis (rejected one level up): NaN like torch
    for (int64_t o = 0; o < pl.out_n; o++)
      out[o] = NAN;
    return;
  }
  const double inv = 1.0 / (double) pl.count;
  if (pl.inner_kept) {
    int64_t inner = pl.ks[pl.nk - 1], outer = pl.out_n / inner;
    int64_t nblk = (inner + MEAN_BLOCK - 1) / MEAN_BLOCK;
#pragma omp parallel for schedule(static)
    for (int64_t task = 0; task < outer * nblk; task++) {
      int64_t oi = task / nblk, j0 = (task % nblk) * MEAN_BLOCK;
      int nj = (int) (inner - j0 < MEAN_BLOCK ? inner - j0 : MEAN_BLOCK);
      size_t base = mean_offset (oi, pl.nk - 1, pl.ks, pl.kst) + (size_t) j0;
      double acc[MEAN_BLOCK];
      for (int j = 0; j < nj; j++)
        acc[j] = 0.0;
      for (int64_t ri = 0; ri < pl.count; ri++) {
        const float *x = inp + base + mean_offset (ri, pl.nr, pl.rs, pl.rst);
        for (int j = 0; j < nj; j++)
          acc[j] += x[j];
      }
      float *o = out + (size_t) oi * inner + j0;
      for (int j = 0; j < nj; j++)
        o[j] = (float) (acc[j] * inv);
    }
  } else {
    // innermost collapsed axis is reduced (stride 1) or there are no axes left
    int64_t rin = pl.nr ? pl.rs[pl.nr - 1] : 1, router = pl.count / rin;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < pl.out_n; o++) {
      size_t base = mean_offset (o, pl.nk, pl.ks, pl.kst);
      double s = 0.0;
      for (int64_t ro = 0; ro < router; ro++) {
        const float *x = inp + base + mean_offset (ro, pl.nr - 1, pl.rs, pl.rst);
        for (int64_t j = 0; j < rin; j++)
          s += x[j];
      }
      out[o] = (float) (s * inv);
    }
  }
}

void
sv_cpu_mean_backward (float *dinp, const float *dout, const int64_t *shape, int ndim,
                      unsigned axes_mask)
{
  // dinp[i] += dout[kept index of i] / count; every dinp element has one writer
  if (!dinp)
    return;
  MeanPlan pl;
  mean_plan (&pl, shape, ndim, axes_mask);
  if (pl.out_n == 0 || pl.count == 0)
    return;
  const double inv = 1.0 / (double) pl.count;
  if (pl.inner_kept) {
    int64_t inner = pl.ks[pl.nk - 1], outer = pl.out_n / inner;
    int64_t nblk = (inner + MEAN_BLOCK - 1) / MEAN_BLOCK;
#pragma omp parallel for schedule(static)
    for (int64_t task = 0; task < outer * nblk; task++) {
      int64_t oi = task / nblk, j0 = (task % nblk) * MEAN_BLOCK;
      int nj = (int) (inner - j0 < MEAN_BLOCK ? inner - j0 : MEAN_BLOCK);
      size_t base = mean_offset (oi, pl.nk - 1, pl.ks, pl.kst) + (size_t) j0;
      float g[MEAN_BLOCK];
      const float *dy = dout + (size_t) oi * inner + j0;
      for (int j = 0; j < nj; j++)
        g[j] = (float) (dy[j] * inv);
      for (int64_t ri = 0; ri < pl.count; ri++) {
        float *dx = dinp + base + mean_offset (ri, pl.nr, pl.rs, pl.rst);
        for (int j = 0; j < nj; j++)
          dx[j] += g[j];
      }
    }
  } else {
    int64_t rin = pl.nr ? pl.rs[pl.nr - 1] : 1, router = pl.count / rin;
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < pl.out_n; o++) {
      size_t base = mean_offset (o, pl.nk, pl.ks, pl.kst);
      float g = (float) (dout[o] * inv);
      for (int64_t ro = 0; ro < router; ro++) {
        float *dx = dinp + base + mean_offset (ro, pl.nr - 1, pl.rs, pl.rst);
        for (int64_t j = 0; j < rin; j++)
          dx[j] += g;
      }
    }
  }
}

/* ---- L2 normalisation of rows ---- */

void
sv_cpu_l2norm_forward (float *out, float *norm, const float *inp, int N, int C, float eps)
{
  // inp[N,C] -> out[N,C] = inp / max(||inp||, eps), norm[N] = ||inp|| (unclamped).
  // Sum of squares in double (no overflow/underflow for float inputs); rows are
  // independent, so out may alias inp.
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    const float *x = inp + (size_t) n * C;
    float *o = out + (size_t) n * C;
    double ss = 0.0;
    for (int c = 0; c < C; c++)
      ss += (double) x[c] * x[c];
    float nr = (float) sqrt (ss);
    float d = nr >= eps ? nr : eps;
    float s = 1.0f / d;
    for (int c = 0; c < C; c++)
      o[c] = x[c] * s;
    norm[n] = nr;
  }
}

void
sv_cpu_l2norm_backward (float *dinp, const float *dout, const float *out, const float *norm, int N,
                        int C, float eps)
{
  // y = x / max(n, eps), n = ||x||.  Like torch's clamp_min, the norm is "active"
  // when n >= eps:
  //   n >= eps: dx += (dy - y (y . dy)) / n
  //   n <  eps: dx += dy / eps   (the denominator is the constant eps)
  if (!dinp)
    return;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    const float *y = out + (size_t) n * C, *dy = dout + (size_t) n * C;
    float *dx = dinp + (size_t) n * C;
    float nr = norm[n];
    if (nr >= eps) {
      double dot = 0.0;
      for (int c = 0; c < C; c++)
        dot += (double) y[c] * dy[c];
      float s = 1.0f / nr, fd = (float) dot;
      for (int c = 0; c < C; c++)
        dx[c] += (dy[c] - y[c] * fd) * s;
    } else {
      float s = 1.0f / eps;
      for (int c = 0; c < C; c++)
        dx[c] += dy[c] * s;
    }
  }
}

/* ---- cosine similarity matrices ---- */

void
sv_cpu_cosine_sim_forward (float *sim, float *an, float *bn, float *anorm, float *bnorm,
                           const float *a, const float *b, int batch, int Na, int Nb, int C,
                           float eps)
{
  // an = l2norm(a[batch,Na,C]), bn = l2norm(b[batch,Nb,C]);
  // sim[i] = an[i] @ bn[i]^T  ([Na,C] @ [C,Nb] = [Na,Nb])
  sv_cpu_l2norm_forward (an, anorm, a, batch * Na, C, eps);
  sv_cpu_l2norm_forward (bn, bnorm, b, batch * Nb, C, eps);
  if (Na == 0 || Nb == 0 || batch == 0)
    return;
  if (C == 0) {
    memset (sim, 0, (size_t) batch * Na * Nb * sizeof (float));
    return;
  }
  for (int i = 0; i < batch; i++)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, Na, Nb, C, 1.0f, an + (size_t) i * Na * C,
                 C, bn + (size_t) i * Nb * C, C, 0.0f, sim + (size_t) i * Na * Nb, Nb);
}

void
sv_cpu_cosine_sim_backward (float *da, float *db, float *scratch, const float *dsim,
                            const float *an, const float *bn, const float *anorm,
                            const float *bnorm, int batch, int Na, int Nb, int C, float eps)
{
  // scratch = [ dan[batch,Na,C] | dbn[batch,Nb,C] ] (contents on entry ignored)
  // dan[i] = dsim[i] @ bn[i]    ([Na,Nb] @ [Nb,C])
  // dbn[i] = dsim[i]^T @ an[i]  ([Nb,Na] @ [Na,C])
  // then da += l2norm_backward(dan), db += l2norm_backward(dbn)
  float *dan = scratch, *dbn = scratch + (size_t) batch * Na * C;
  bool gemm = Na > 0 && Nb > 0 && C > 0;
  if (da) {
    memset (dan, 0, (size_t) batch * Na * C * sizeof (float));
    for (int i = 0; gemm && i < batch; i++)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, Na, C, Nb, 1.0f,
                   dsim + (size_t) i * Na * Nb, Nb, bn + (size_t) i * Nb * C, C, 0.0f,
                   dan + (size_t) i * Na * C, C);
    sv_cpu_l2norm_backward (da, dan, an, anorm, batch * Na, C, eps);
  }
  if (db) {
    memset (dbn, 0, (size_t) batch * Nb * C * sizeof (float));
    for (int i = 0; gemm && i < batch; i++)
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, Nb, C, Na, 1.0f,
                   dsim + (size_t) i * Na * Nb, Nb, an + (size_t) i * Na * C, C, 0.0f,
                   dbn + (size_t) i * Nb * C, C);
    sv_cpu_l2norm_backward (db, dbn, bn, bnorm, batch * Nb, C, eps);
  }
}
