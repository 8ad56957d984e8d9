/* The Vulkan backend against the CPU backend: every op forward and backward on
 * the same random inputs (odd sizes 1, 7, 33 and sizes that are not multiples
 * of the GEMM tiles), batching, staging transfers, sticky errors, and device
 * selection (auto never takes lavapipe; no driver or loader gives a clear
 * error).  Runs on the first Vulkan device ("vulkan", lavapipe in CI); skips
 * when there is none.
 *
 * Tolerances: rel 1e-4 / abs 1e-5 for elementwise and row ops; products and
 * reductions over K terms sum in a different order than OpenBLAS / the CPU's
 * double accumulators, so their absolute tolerance grows with sqrt(K) of the
 * magnitudes (see tol_k()).
 *
 * STGT graph attention and the optimiser's device updates are in
 * test-vulkan-train.c; the helpers both files use are declared in test-vulkan.h. */
#include "test-vulkan.h"

#include "sv-model.h"
#include "sv-test-batch.h"

#include "vulkan/sv-backend-vulkan.h"
#include "vulkan/sv-vk-private.h"

#include <math.h>
#include <string.h>

SvBackend *vk; /* "vulkan", NULL when there is no device */
SvBackend *cpu;

Pair
pair_new (SvDType dt, int ndim, const int64_t *shape, SvRng *rng, float lo, float hi)
{
  GError *error = NULL;
  Pair p;
  p.c = sv_tensor_new (cpu, dt, ndim, shape, &error);
  g_assert_no_error (error);
  p.v = sv_tensor_new (vk, dt, ndim, shape, &error);
  g_assert_no_error (error);
  if (rng && dt == SV_F32)
    sv_rng_fill_uniform (rng, sv_tensor_f32 (p.c), p.c->numel, lo, hi);
  sv_tensor_upload (p.v, p.c->data, p.c->numel * 4, &error);
  g_assert_no_error (error);
  return p;
}

void
pair_free (Pair *p)
{
  sv_tensor_free (p->c);
  sv_tensor_free (p->v);
  p->c = p->v = NULL;
}

void
pairs_free (Pair **p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    pair_free (p[i]);
}

double
check (const char *what, const Pair *p, double rtol, double atol)
{
  GError *error = NULL;
  float *got = g_new (float, MAX (p->v->numel, 1));
  sv_tensor_download (p->v, got, p->v->numel * 4, &error);
  g_assert_no_error (error);
  double err = sv_test_assert_close (what, got, sv_tensor_f32 (p->c), p->c->numel, rtol, atol);
  if (g_test_verbose ())
    g_test_message ("%s: max abs error %.3g", what, err);
  g_free (got);
  return err;
}

double
tol_k (int K)
{
  return 1e-5 * MAX (1.0, sqrt ((double) K));
}

gboolean
need_vk (void)
{
  if (!vk) {
    g_test_skip ("no Vulkan device");
    return FALSE;
  }
  return TRUE;
}

/* ---- linear, matmul ---- */

static void
test_linear (void)
{
  static const int sz[][3] = { { 1, 1, 1 }, { 7, 33, 5 }, { 33, 7, 65 }, { 70, 130, 97 } };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (sz); i++)
    for (int with_bias = 0; with_bias < 2; with_bias++) {
      int N = sz[i][0], C = sz[i][1], OC = sz[i][2];
      SvRng rng;
      sv_rng_seed (&rng, 100 + i);
      Pair x = PAIR (&rng, -1, 1, N, C), w = PAIR (&rng, -1, 1, OC, C);
      Pair b = PAIR (&rng, -1, 1, OC), y = ZPAIR (N, OC), dy = PAIR (&rng, -1, 1, N, OC);
      Pair dx = PAIR (&rng, -1, 1, N, C), dw = PAIR (&rng, -1, 1, OC, C);
      Pair db = PAIR (&rng, -1, 1, OC);
      GError *e = NULL;
      g_assert_true (sv_linear_forward (y.c, x.c, w.c, with_bias ? b.c : NULL, &e));
      g_assert_true (sv_linear_forward (y.v, x.v, w.v, with_bias ? b.v : NULL, &e));
      g_assert_true (sv_linear_backward (dx.c, dw.c, db.c, dy.c, x.c, w.c, &e));
      g_assert_true (sv_linear_backward (dx.v, dw.v, db.v, dy.v, x.v, w.v, &e));
      g_assert_no_error (e);
      check ("linear out", &y, 1e-4, tol_k (C));
      check ("linear dinp", &dx, 1e-4, tol_k (OC));
      check ("linear dweight", &dw, 1e-4, tol_k (N));
      check ("linear dbias", &db, 1e-4, tol_k (N));
      FREE_PAIRS (&x, &w, &b, &y, &dy, &dx, &dw, &db);
    }
}

static void
test_matmul (void)
{
  static const int sz[][4] = {
    { 1, 1, 1, 1 }, { 3, 7, 33, 5 }, { 2, 33, 7, 65 }, { 1, 70, 65, 33 }
  };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (sz); i++)
    for (int t = 0; t < 4; t++) {
      int B = sz[i][0], M = sz[i][1], N = sz[i][2], K = sz[i][3];
      gboolean ta = t & 1, tb = (t >> 1) & 1;
      SvRng rng;
      sv_rng_seed (&rng, 200 + i * 4 + t);
      Pair a = ta ? PAIR (&rng, -1, 1, B, K, M) : PAIR (&rng, -1, 1, B, M, K);
      Pair b = tb ? PAIR (&rng, -1, 1, B, N, K) : PAIR (&rng, -1, 1, B, K, N);
      Pair da = ta ? PAIR (&rng, -1, 1, B, K, M) : PAIR (&rng, -1, 1, B, M, K);
      Pair db = tb ? PAIR (&rng, -1, 1, B, N, K) : PAIR (&rng, -1, 1, B, K, N);
      Pair c = PAIR (&rng, -1, 1, B, M, N), dc = PAIR (&rng, -1, 1, B, M, N);
      GError *e = NULL;
      g_assert_true (sv_matmul_forward (c.c, a.c, b.c, ta, tb, 0.5f, &e));
      g_assert_true (sv_matmul_forward (c.v, a.v, b.v, ta, tb, 0.5f, &e));
      g_assert_true (sv_matmul_backward (da.c, db.c, dc.c, a.c, b.c, ta, tb, 0.5f, &e));
      g_assert_true (sv_matmul_backward (da.v, db.v, dc.v, a.v, b.v, ta, tb, 0.5f, &e));
      g_assert_no_error (e);
      check ("matmul c", &c, 1e-4, tol_k (K));
      check ("matmul da", &da, 1e-4, tol_k (N));
      check ("matmul db", &db, 1e-4, tol_k (M));
      FREE_PAIRS (&a, &b, &c, &da, &db, &dc);
    }
}

/* ---- layernorm, gelu, add, scale ---- */

static void
test_layernorm (void)
{
  static const int sz[][2] = { { 1, 1 }, { 7, 33 }, { 33, 7 }, { 5, 300 } };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (sz); i++)
    for (int with_bias = 0; with_bias < 2; with_bias++) {
      int N = sz[i][0], C = sz[i][1];
      SvRng rng;
      sv_rng_seed (&rng, 300 + i);
      Pair x = PAIR (&rng, -2, 3, N, C), w = PAIR (&rng, 0.5, 1.5, C), b = PAIR (&rng, -1, 1, C);
      Pair y = ZPAIR (N, C), m = ZPAIR (N), r = ZPAIR (N), dy = PAIR (&rng, -1, 1, N, C);
      Pair dx = PAIR (&rng, -1, 1, N, C), dw = PAIR (&rng, -1, 1, C), db = PAIR (&rng, -1, 1, C);
      GError *e = NULL;
      Pair *bias = with_bias ? &b : NULL;
      g_assert_true (
          sv_layernorm_forward (y.c, m.c, r.c, x.c, w.c, bias ? bias->c : NULL, 1e-5f, &e));
      g_assert_true (
          sv_layernorm_forward (y.v, m.v, r.v, x.v, w.v, bias ? bias->v : NULL, 1e-5f, &e));
      g_assert_true (sv_layernorm_backward (dx.c, dw.c, db.c, dy.c, x.c, w.c, m.c, r.c, &e));
      g_assert_true (sv_layernorm_backward (dx.v, dw.v, db.v, dy.v, x.v, w.v, m.v, r.v, &e));
      g_assert_no_error (e);
      /* C == 1: x - mean is rounding noise and rstd = 1/sqrt(eps) amplifies it */
      double at = C == 1 ? 1e-2 : 1e-4;
      check ("layernorm out", &y, 1e-4, at);
      check ("layernorm mean", &m, 1e-4, 1e-5);
      check ("layernorm rstd", &r, 1e-3, 1e-4);
      check ("layernorm dinp", &dx, 1e-3, C == 1 ? 1e-1 : 1e-4);
      check ("layernorm dweight", &dw, 1e-4, C == 1 ? 1e-1 : tol_k (N));
      check ("layernorm dbias", &db, 1e-4, tol_k (N));
      FREE_PAIRS (&x, &w, &b, &y, &m, &r, &dy, &dx, &dw, &db);
    }
}

static void
test_elementwise (void)
{
  static const int sz[][2] = { { 1, 1 }, { 1, 7 }, { 33, 7 }, { 7, 33 }, { 100, 130 } };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (sz); i++) {
    int R = sz[i][0], C = sz[i][1];
    SvRng rng;
    sv_rng_seed (&rng, 400 + i);
    Pair x = PAIR (&rng, -6, 6, R, C), y = ZPAIR (R, C), dy = PAIR (&rng, -1, 1, R, C);
    Pair dx = PAIR (&rng, -1, 1, R, C), b = PAIR (&rng, -1, 1, C), db = PAIR (&rng, -1, 1, C);
    GError *e = NULL;
    /* gelu */
    g_assert_true (sv_gelu_forward (y.c, x.c, &e) && sv_gelu_forward (y.v, x.v, &e));
    g_assert_true (sv_gelu_backward (dx.c, dy.c, x.c, &e) &&
                   sv_gelu_backward (dx.v, dy.v, x.v, &e));
    check ("gelu out", &y, 1e-4, 1e-5);
    check ("gelu dinp", &dx, 1e-4, 1e-5);
    /* add with broadcast, then the backward into (db, dx) */
    g_assert_true (sv_add_forward (y.c, x.c, b.c, &e) && sv_add_forward (y.v, x.v, b.v, &e));
    g_assert_true (sv_add_backward (dx.c, db.c, dy.c, &e) &&
                   sv_add_backward (dx.v, db.v, dy.v, &e));
    check ("add out", &y, 1e-5, 1e-6);
    check ("add da", &dx, 1e-5, 1e-6);
    check ("add db", &db, 1e-4, tol_k (R));
    /* add backward with da == dout (db is summed first) */
    g_assert_true (sv_add_backward (dy.c, db.c, dy.c, &e) &&
                   sv_add_backward (dy.v, db.v, dy.v, &e));
    check ("add da == dout", &dy, 1e-5, 1e-6);
    check ("add db (aliased)", &db, 1e-4, tol_k (R));
    /* scale, in place */
    g_assert_true (sv_scale_forward (x.c, x.c, -0.75f, &e) &&
                   sv_scale_forward (x.v, x.v, -0.75f, &e));
    g_assert_true (sv_scale_backward (dx.c, dy.c, 1.5f, &e) &&
                   sv_scale_backward (dx.v, dy.v, 1.5f, &e));
    g_assert_no_error (e);
    check ("scale out", &x, 1e-6, 1e-7);
    check ("scale dinp", &dx, 1e-5, 1e-6);
    /* gelu in place, as the inference plan runs it (one buffer bound as input and output) */
    g_assert_true (sv_gelu_forward (x.c, x.c, &e) && sv_gelu_forward (x.v, x.v, &e));
    g_assert_no_error (e);
    check ("gelu in place", &x, 1e-4, 1e-5);
    FREE_PAIRS (&x, &y, &dy, &dx, &b, &db);
  }
}

/* ---- softmax, attention ---- */

static void
random_mask (SvTensor *m, SvRng *rng, int N, int C)
{
  float *d = sv_tensor_f32 (m);
  for (size_t i = 0; i < m->numel; i++)
    d[i] = sv_rng_uniform (rng) < 0.7f ? 1.0f : 0.0f;
  for (int j = 0; j < C; j++) /* first row: one entry; last row (N > 2): none */
    d[j] = j == C / 2 ? 1.0f : 0.0f;
  if (N > 2)
    for (int j = 0; j < C; j++)
      d[(size_t) (N - 1) * C + j] = 0.0f;
}

void
upload_host (Pair *p)
{
  GError *e = NULL;
  g_assert_true (sv_tensor_upload (p->v, p->c->data, p->c->numel * 4, &e));
  g_assert_no_error (e);
}

static void
test_softmax (void)
{
  static const int sz[][2] = { { 1, 1 }, { 7, 33 }, { 33, 7 }, { 4, 300 } };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (sz); i++)
    for (int with_mask = 0; with_mask < 2; with_mask++) {
      int N = sz[i][0], C = sz[i][1];
      float temp = with_mask ? 0.5f : 2.0f;
      SvRng rng;
      sv_rng_seed (&rng, 500 + i);
      Pair x = PAIR (&rng, -3, 3, N, C), m = ZPAIR (N, C), y = ZPAIR (N, C);
      Pair dy = PAIR (&rng, -1, 1, N, C), dx = PAIR (&rng, -1, 1, N, C);
      random_mask (m.c, &rng, N, C);
      upload_host (&m);
      GError *e = NULL;
      g_assert_true (sv_softmax_forward (y.c, x.c, with_mask ? m.c : NULL, temp, &e));
      g_assert_true (sv_softmax_forward (y.v, x.v, with_mask ? m.v : NULL, temp, &e));
      g_assert_true (sv_softmax_backward (dx.c, dy.c, y.c, temp, &e));
      g_assert_true (sv_softmax_backward (dx.v, dy.v, y.v, temp, &e));
      g_assert_no_error (e);
      check ("softmax out", &y, 1e-4, 1e-6);
      check ("softmax dinp", &dx, 1e-4, 1e-5);
      FREE_PAIRS (&x, &m, &y, &dy, &dx);
    }
}

static void
test_attention (void)
{
  static const int sz[][5] = {
    { 1, 1, 1, 1, 1 }, { 2, 7, 33, 8, 2 }, { 1, 33, 7, 12, 3 }, { 2, 40, 70, 64, 4 }
  };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (sz); i++)
    for (int with_graph = 0; with_graph < 2; with_graph++) {
      int B = sz[i][0], Nq = sz[i][1], Nk = sz[i][2], C = sz[i][3], H = sz[i][4];
      SvRng rng;
      sv_rng_seed (&rng, 600 + i);
      Pair q = PAIR (&rng, -1, 1, B, Nq, C), k = PAIR (&rng, -1, 1, B, Nk, C);
      Pair v = PAIR (&rng, -1, 1, B, Nk, C), g = PAIR (&rng, 0, 2, B, Nq, Nk);
      Pair o = ZPAIR (B, Nq, C), att = ZPAIR (B, H, Nq, Nk), s = ZPAIR (B, H, Nq, Nk);
      Pair dout = PAIR (&rng, -1, 1, B, Nq, C), dq = PAIR (&rng, -1, 1, B, Nq, C);
      Pair dk = PAIR (&rng, -1, 1, B, Nk, C), dv = PAIR (&rng, -1, 1, B, Nk, C);
      float *gd = sv_tensor_f32 (g.c); /* zeros mask; the first query row sees nothing */
      for (size_t j = 0; j < g.c->numel; j++)
        if (gd[j] < 0.6f || j % ((size_t) Nq * Nk) < (size_t) Nk)
          gd[j] = 0.0f;
      upload_host (&g);
      Pair *graph = with_graph ? &g : NULL;
      GError *e = NULL;
      g_assert_true (
          sv_attention_forward (o.c, att.c, q.c, k.c, v.c, graph ? graph->c : NULL, H, &e));
      g_assert_true (
          sv_attention_forward (o.v, att.v, q.v, k.v, v.v, graph ? graph->v : NULL, H, &e));
      g_assert_true (sv_attention_backward (dq.c, dk.c, dv.c, s.c, dout.c, att.c, q.c, k.c, v.c,
                                            graph ? graph->c : NULL, H, &e));
      g_assert_true (sv_attention_backward (dq.v, dk.v, dv.v, s.v, dout.v, att.v, q.v, k.v, v.v,
                                            graph ? graph->v : NULL, H, &e));
      g_assert_no_error (e);
      check ("attention att", &att, 1e-4, 1e-5);
      check ("attention out", &o, 1e-4, tol_k (Nk));
      check ("attention dq", &dq, 1e-4, tol_k (Nk));
      check ("attention dk", &dk, 1e-4, tol_k (Nq));
      check ("attention dv", &dv, 1e-4, tol_k (Nq));
      FREE_PAIRS (&q, &k, &v, &g, &o, &att, &s, &dout, &dq, &dk, &dv);
    }
}

/* ---- layout, embedding, patchify, im2col ---- */

/* im2col forward and backward on both backends: images [N, H, W, C], k x k at stride s */
static void
check_im2col (SvRng *rng, int N, int H, int W, int C, int k, int s, int pad)
{
  GError *e = NULL;
  int Ho = (H + 2 * pad - k) / s + 1, Wo = (W + 2 * pad - k) / s + 1, K = k * k * C;
  Pair img = PAIR (rng, -1, 1, N, H, W, C), cols = ZPAIR (N, Ho, Wo, K);
  Pair dcols = PAIR (rng, -1, 1, N, Ho, Wo, K), dimg = PAIR (rng, -1, 1, N, H, W, C);
  g_assert_true (sv_im2col_forward (cols.c, img.c, k, s, pad, &e) &&
                 sv_im2col_forward (cols.v, img.v, k, s, pad, &e));
  g_assert_true (sv_im2col_backward (dimg.c, dcols.c, k, s, pad, &e) &&
                 sv_im2col_backward (dimg.v, dcols.v, k, s, pad, &e));
  g_assert_no_error (e);
  check ("im2col out", &cols, 0, 0);
  check ("im2col dimages", &dimg, 1e-6, 1e-7);
  FREE_PAIRS (&img, &cols, &dcols, &dimg);
}

static void
test_layout (void)
{
  if (!need_vk ())
    return;
  SvRng rng;
  sv_rng_seed (&rng, 700);
  GError *e = NULL;
  /* [2, 7, 33, 3] swapping axes 1, 2 and [7, 33] swapping 0, 1 */
  Pair x = PAIR (&rng, -1, 1, 2, 7, 33, 3), y = ZPAIR (2, 33, 7, 3);
  Pair dy = PAIR (&rng, -1, 1, 2, 33, 7, 3), dx = PAIR (&rng, -1, 1, 2, 7, 33, 3);
  g_assert_true (sv_transpose_forward (y.c, x.c, 1, &e) && sv_transpose_forward (y.v, x.v, 1, &e));
  g_assert_true (sv_transpose_backward (dx.c, dy.c, 1, &e) &&
                 sv_transpose_backward (dx.v, dy.v, 1, &e));
  check ("transpose out", &y, 0, 0);
  check ("transpose dinp", &dx, 1e-6, 1e-7);
  Pair x2 = PAIR (&rng, -1, 1, 7, 33), y2 = ZPAIR (33, 7);
  g_assert_true (sv_transpose_forward (y2.c, x2.c, 0, &e) &&
                 sv_transpose_forward (y2.v, x2.v, 0, &e));
  check ("transpose 2-d", &y2, 0, 0);

  /* embedding with repeated ids */
  int N = 33, V = 7, Cd = 5;
  Pair ids = pair_new (SV_I32, 1, (int64_t[]){ N }, NULL, 0, 0);
  for (int n = 0; n < N; n++)
    sv_tensor_i32 (ids.c)[n] = (n * 5 + n / 3) % V;
  upload_host (&ids);
  Pair table = PAIR (&rng, -1, 1, V, Cd), out = ZPAIR (N, Cd), dout = PAIR (&rng, -1, 1, N, Cd);
  Pair dtable = PAIR (&rng, -1, 1, V, Cd);
  g_assert_true (sv_embedding_forward (out.c, ids.c, table.c, &e) &&
                 sv_embedding_forward (out.v, ids.v, table.v, &e));
  g_assert_true (sv_embedding_backward (dtable.c, dout.c, ids.c, &e) &&
                 sv_embedding_backward (dtable.v, dout.v, ids.v, &e));
  check ("embedding out", &out, 0, 0);
  check ("embedding dtable", &dtable, 1e-5, 1e-6);

  /* patchify: video [2, 4, 6, 9, 3] into 2 x 3 x 3 tubelets */
  Pair video = PAIR (&rng, -1, 1, 2, 4, 6, 9, 3), patches = ZPAIR (2, 12, 54);
  Pair dpatches = PAIR (&rng, -1, 1, 2, 12, 54), dvideo = PAIR (&rng, -1, 1, 2, 4, 6, 9, 3);
  g_assert_true (sv_patchify_forward (patches.c, video.c, 2, 3, &e) &&
                 sv_patchify_forward (patches.v, video.v, 2, 3, &e));
  g_assert_true (sv_patchify_backward (dvideo.c, dpatches.c, 2, 3, &e) &&
                 sv_patchify_backward (dvideo.v, dpatches.v, 2, 3, &e));
  g_assert_no_error (e);
  check ("patchify out", &patches, 0, 0);
  check ("patchify dvideo", &dvideo, 1e-6, 1e-7);

  /* im2col: the video stem's 3 x 3 stride-2 layer (odd sizes: the stride leaves a row and
   * a column), and a stride-1 kernel where every tap overlaps */
  check_im2col (&rng, 6, 9, 7, 4, 3, 2, 1);
  check_im2col (&rng, 1, 6, 5, 2, 3, 1, 1);
  FREE_PAIRS (&x, &y, &dy, &dx, &x2, &y2, &ids, &table, &out, &dout, &dtable, &video, &patches,
              &dpatches, &dvideo);
}

/* ---- reductions: mean, l2norm, cosine similarity ---- */

static void
test_mean (void)
{
  static const struct {
    int ndim;
    int64_t shape[4];
    unsigned axes;
  } cases[] = {
    { 2, { 7, 33 }, 2 },      { 2, { 7, 33 }, 1 },      { 2, { 33, 7 }, 3 },
    { 4, { 2, 3, 5, 7 }, 6 }, { 4, { 2, 3, 5, 7 }, 9 }, { 3, { 3, 1, 130 }, 5 },
    { 3, { 1, 1, 1 }, 7 },    { 3, { 4, 100, 7 }, 2 },
  };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    int64_t oshape[4];
    int ond = 0;
    for (int d = 0; d < cases[i].ndim; d++)
      if (!((cases[i].axes >> d) & 1))
        oshape[ond++] = cases[i].shape[d];
    SvRng rng;
    sv_rng_seed (&rng, 800 + i);
    Pair x = pair_new (SV_F32, cases[i].ndim, cases[i].shape, &rng, -1, 2);
    Pair dx = pair_new (SV_F32, cases[i].ndim, cases[i].shape, &rng, -1, 1);
    Pair y = pair_new (SV_F32, ond, oshape, NULL, 0, 0);
    Pair dy = pair_new (SV_F32, ond, oshape, &rng, -1, 1);
    GError *e = NULL;
    g_assert_true (sv_mean_forward (y.c, x.c, cases[i].axes, &e));
    g_assert_true (sv_mean_forward (y.v, x.v, cases[i].axes, &e));
    g_assert_true (sv_mean_backward (dx.c, dy.c, cases[i].axes, &e));
    g_assert_true (sv_mean_backward (dx.v, dy.v, cases[i].axes, &e));
    g_assert_no_error (e);
    check ("mean out", &y, 1e-4, 1e-5);
    check ("mean dinp", &dx, 1e-5, 1e-6);
    pair_free (&x);
    pair_free (&dx);
    pair_free (&y);
    pair_free (&dy);
  }
}

static void
test_l2norm_cosine (void)
{
  static const int sz[][4] = { { 1, 1, 1, 1 }, { 2, 7, 33, 5 }, { 1, 33, 7, 130 } };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (sz); i++) {
    int B = sz[i][0], Na = sz[i][1], Nb = sz[i][2], C = sz[i][3];
    const float eps = 1e-6f;
    SvRng rng;
    sv_rng_seed (&rng, 900 + i);
    Pair a = PAIR (&rng, -1, 1, B, Na, C), b = PAIR (&rng, -1, 1, B, Nb, C);
    memset (sv_tensor_f32 (a.c), 0, (size_t) C * 4); /* a zero row: norm < eps */
    upload_host (&a);
    Pair y = ZPAIR (B, Na, C), n = ZPAIR (B * Na), dy = PAIR (&rng, -1, 1, B, Na, C);
    Pair dx = PAIR (&rng, -1, 1, B, Na, C);
    GError *e = NULL;
    g_assert_true (sv_l2norm_forward (y.c, n.c, a.c, eps, &e) &&
                   sv_l2norm_forward (y.v, n.v, a.v, eps, &e));
    g_assert_true (sv_l2norm_backward (dx.c, dy.c, y.c, n.c, eps, &e) &&
                   sv_l2norm_backward (dx.v, dy.v, y.v, n.v, eps, &e));
    check ("l2norm out", &y, 1e-4, 1e-6);
    check ("l2norm norm", &n, 1e-5, 1e-6);
    /* the zero row's gradient is dout / eps (huge): compare relatively */
    check ("l2norm dinp", &dx, 1e-4, 1e-4);

    Pair sim = ZPAIR (B, Na, Nb), an = ZPAIR (B, Na, C), bn = ZPAIR (B, Nb, C);
    Pair anorm = ZPAIR (B * Na), bnorm = ZPAIR (B * Nb), dsim = PAIR (&rng, -1, 1, B, Na, Nb);
    Pair scratch = ZPAIR (B * (Na + Nb) * C), da = PAIR (&rng, -1, 1, B, Na, C);
    Pair db = PAIR (&rng, -1, 1, B, Nb, C);
    g_assert_true (sv_cosine_sim_forward (sim.c, an.c, bn.c, anorm.c, bnorm.c, a.c, b.c, eps, &e));
    g_assert_true (sv_cosine_sim_forward (sim.v, an.v, bn.v, anorm.v, bnorm.v, a.v, b.v, eps, &e));
    g_assert_true (sv_cosine_sim_backward (da.c, db.c, scratch.c, dsim.c, an.c, bn.c, anorm.c,
                                           bnorm.c, eps, &e));
    g_assert_true (sv_cosine_sim_backward (da.v, db.v, scratch.v, dsim.v, an.v, bn.v, anorm.v,
                                           bnorm.v, eps, &e));
    g_assert_no_error (e);
    check ("cosine sim", &sim, 1e-4, tol_k (C));
    check ("cosine da", &da, 1e-4, 1e-4); /* includes the zero row's dout / eps */
    check ("cosine db", &db, 1e-4, tol_k (Na));
    FREE_PAIRS (&a, &b, &y, &n, &dy, &dx, &sim, &an, &bn, &anorm, &bnorm, &dsim, &scratch, &da,
                &db);
  }
}

/* ---- assignment, losses ---- */

static void
test_assign (void)
{
  static const int sz[][3] = { { 1, 1, 1 }, { 2, 7, 33 }, { 1, 33, 7 } };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (sz); i++)
    for (int mode = 0; mode < 3; mode++) { /* soft; soft + noise; hard + noise */
      int B = sz[i][0], M = sz[i][1], N = sz[i][2];
      SvRng rng;
      sv_rng_seed (&rng, 1000 + i);
      Pair lg = PAIR (&rng, -2, 2, B, M, N), nz = PAIR (&rng, -1, 1, B, M, N);
      Pair out = ZPAIR (B, M, N), y = ZPAIR (B, M, N), den = ZPAIR (B, M);
      Pair dout = PAIR (&rng, -1, 1, B, M, N), dlg = PAIR (&rng, -1, 1, B, M, N), sc = ZPAIR (B, M);
      Pair *noise = mode ? &nz : NULL;
      gboolean hard = mode == 2;
      GError *e = NULL;
      g_assert_true (
          sv_assign_forward (out.c, y.c, den.c, lg.c, noise ? noise->c : NULL, 0.7f, hard, &e));
      g_assert_true (
          sv_assign_forward (out.v, y.v, den.v, lg.v, noise ? noise->v : NULL, 0.7f, hard, &e));
      g_assert_true (sv_assign_backward (dlg.c, sc.c, dout.c, out.c, y.c, den.c, 0.7f, &e));
      g_assert_true (sv_assign_backward (dlg.v, sc.v, dout.v, out.v, y.v, den.v, 0.7f, &e));
      g_assert_no_error (e);
      check ("assign out", &out, 1e-4, 1e-6);
      check ("assign y", &y, 1e-4, 1e-6);
      check ("assign denom", &den, 1e-4, 1e-5);
      check ("assign dlogits", &dlg, 1e-4, 1e-5);
      FREE_PAIRS (&lg, &nz, &out, &y, &den, &dout, &dlg, &sc);
    }
}

static void
test_losses (void)
{
  static const int sz[][2] = { { 1, 1 }, { 7, 33 }, { 33, 7 }, { 300, 130 } };
  if (!need_vk ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (sz); i++) {
    int N = sz[i][0], C = sz[i][1];
    SvRng rng;
    sv_rng_seed (&rng, 1100 + i);
    Pair lg = PAIR (&rng, -3, 3, N, C), t = PAIR (&rng, 0, 1, N, C), p = ZPAIR (N, C);
    float *td = sv_tensor_f32 (t.c);
    for (size_t j = 0; j < t.c->numel; j++)
      td[j] = td[j] < 0.5f ? 0.0f : td[j]; /* sparse soft targets */
    upload_host (&t);
    Pair loss = ZPAIR (1), dloss = PAIR (&rng, 0.5, 2, 1), dlg = PAIR (&rng, -1, 1, N, C);
    Pair b = PAIR (&rng, -1, 1, N, C), da = PAIR (&rng, -1, 1, N, C), db = PAIR (&rng, -1, 1, N, C);
    GError *e = NULL;
    g_assert_true (sv_softmax_xent_forward (loss.c, p.c, lg.c, t.c, &e) &&
                   sv_softmax_xent_forward (loss.v, p.v, lg.v, t.v, &e));
    g_assert_true (sv_softmax_xent_backward (dlg.c, dloss.c, p.c, t.c, &e) &&
                   sv_softmax_xent_backward (dlg.v, dloss.v, p.v, t.v, &e));
    check ("xent loss", &loss, 1e-5, 1e-6);
    check ("xent probs", &p, 1e-4, 1e-6);
    check ("xent dlogits", &dlg, 1e-4, 1e-6);
    g_assert_true (sv_mse_forward (loss.c, lg.c, b.c, &e) &&
                   sv_mse_forward (loss.v, lg.v, b.v, &e));
    g_assert_true (sv_mse_backward (da.c, db.c, dloss.c, lg.c, b.c, &e) &&
                   sv_mse_backward (da.v, db.v, dloss.v, lg.v, b.v, &e));
    g_assert_no_error (e);
    check ("mse loss", &loss, 1e-5, 1e-6);
    check ("mse da", &da, 1e-5, 1e-6);
    check ("mse db", &db, 1e-5, 1e-6);
    FREE_PAIRS (&lg, &t, &p, &loss, &dloss, &dlg, &b, &da, &db);
  }
}

/* ---- a whole model: pre-training forward and backward ---- */

static void
check_model (SvAttentionKind attention)
{
  SvModelConfig c; /* small, with everything: 2 grouping blocks, 2 heads, padding */
  g_assert_true (sv_model_config_preset (&c, "tiny", NULL));
  c.frames = 8;
  c.height = 16;
  c.width = 24;
  c.tubelet_t = 2;
  c.patch = 8;
  c.v_width = 32;
  c.v_depth = 2;
  c.v_heads = 2;
  c.v_mlp = 64;
  c.n_groups = 4;
  memset (c.group_after, 0, sizeof c.group_after);
  c.group_after[0] = c.group_after[1] = TRUE;
  c.vocab = 40;
  c.max_len = 8;
  c.t_width = 24;
  c.t_depth = 2;
  c.t_heads = 2;
  c.t_mlp = 48;
  c.embed_dim = 16;
  c.n_nouns = 2;
  c.tau_temporal = 1.0f;
  c.attention = attention; /* stgraph: 4 slices of 2 x 3 tokens */
  c.groups_in_layers = attention == SV_ATTENTION_FULL;
  /* full: with a two-layer convolutional stem (the stgraph run covers the patch embedding) */
  c.n_stem = attention == SV_ATTENTION_FULL ? 2 : 0;
  c.stem[0] = 4;
  c.stem[1] = 6;
  GError *e = NULL;
  SvModel *mc = sv_model_new (&c, cpu, 11, &e);
  g_assert_no_error (e);
  SvModel *mv = sv_model_new (&c, vk, 11, &e);
  g_assert_no_error (e);
  int B = 3, Q = attention == SV_ATTENTION_FULL ? 2 : 0; /* full: with negative captions */
  SvTestBatch b;
  sv_test_batch_make_negatives (&b, &c, B, sv_model_n_group_blocks (mc), Q, 12);
  /* with grounding within a video, and with the negatives held apart */
  SvLossWeights w = { 1.0f, 1.0f, 1.0f, 0.0f, 1.0f, Q > 0 ? 1.0f : 0.0f };
  SvTrainPass *pc = sv_train_pass_new_negatives (mc, B, Q, &e),
              *pv = sv_train_pass_new_negatives (mv, B, Q, &e);
  g_assert_no_error (e);
  g_assert_true (sv_var_set_zero_grad (mc->params, &e) && sv_var_set_zero_grad (mv->params, &e));
  g_assert_true (sv_train_pass_forward (pc, &b.batch, &w, &e));
  g_assert_true (sv_train_pass_forward (pv, &b.batch, &w, &e));
  g_assert_true (sv_train_pass_backward (pc, &w, &e) && sv_train_pass_backward (pv, &w, &e));
  g_assert_no_error (e);
  float lc[6] = { pc->loss_temporal, pc->loss_grounding, pc->loss_contrast,
                  pc->loss_within,   pc->loss_separate,  pc->loss };
  float lv[6] = { pv->loss_temporal, pv->loss_grounding, pv->loss_contrast,
                  pv->loss_within,   pv->loss_separate,  pv->loss };
  g_test_message ("%s: losses CPU: %.7f %.7f %.7f %.7f  Vulkan: %.7f %.7f %.7f %.7f",
                  attention == SV_ATTENTION_STGRAPH ? "stgraph" : "full", lc[0], lc[1], lc[2],
                  lc[3], lv[0], lv[1], lv[2], lv[3]);
  g_assert_cmpfloat (lc[3], >, 0.1); /* the within term is on */
  if (Q > 0)
    g_assert_cmpfloat (lc[4], >, 1e-4); /* the separation term is on */
  sv_test_assert_close ("model losses", lv, lc, 6, 1e-4, 1e-5);
  /* every parameter gradient; gradients pass through two encoders and four
   * losses, so the float summation order differences add up: 1e-3 relative, and 1e-4 of
   * the tensor's largest gradient where a sum cancels (as the PyTorch comparison allows;
   * the loss-side gradients agree to 1e-6 of their scale) */
  g_assert_cmpuint (sv_var_set_len (mc->params), ==, sv_var_set_len (mv->params));
  double worst = 0.0;
  for (guint i = 0; i < sv_var_set_len (mc->params); i++) {
    SvVar *vc = sv_var_set_get (mc->params, i), *vv = sv_var_set_get (mv->params, i);
    Pair p = { &vc->d, &vv->d };
    char *what = g_strdup_printf ("gradient of %s", sv_var_set_name (mc->params, i));
    const float *g = sv_tensor_f32 (&vc->d);
    double scale = 0.0;
    for (size_t j = 0; j < vc->d.numel; j++)
      scale = MAX (scale, fabs (g[j]));
    worst = MAX (worst, check (what, &p, 1e-3, 1e-5 + 1e-4 * scale));
    g_free (what);
  }
  g_test_message ("parameter gradients: max abs error %.3g", worst);
  sv_train_pass_free (pc);
  sv_train_pass_free (pv);
  sv_test_batch_free (&b);
  sv_model_free (mc);
  sv_model_free (mv);
}

static void
test_model (void)
{
  if (need_vk ())
    check_model (SV_ATTENTION_FULL);
}

static void
test_model_stgraph (void)
{
  if (need_vk ())
    check_model (SV_ATTENTION_STGRAPH);
}

/* ---- batching, transfers, errors ---- */

static void
test_batching (void)
{
  if (!need_vk ())
    return;
  SvVk *v = SV_VK (vk);
  GError *e = NULL;
  float a[64], b[64], got[64];
  for (int i = 0; i < 64; i++) {
    a[i] = (float) i;
    b[i] = (float) (100 - i);
  }
  g_assert_true (sv_backend_finish (vk, &e));
  SvTensor *t = sv_tensor_new (vk, SV_F32, 1, (int64_t[]){ 64 }, &e);
  SvTensor *o1 = sv_tensor_new (vk, SV_F32, 1, (int64_t[]){ 64 }, &e);
  SvTensor *o2 = sv_tensor_new (vk, SV_F32, 1, (int64_t[]){ 64 }, &e);
  g_assert_no_error (e);
  guint64 submits = v->n_submits;
  /* upload, op, upload again into the same tensor (in order), op, a chain of ops */
  g_assert_true (sv_tensor_upload (t, a, sizeof a, &e));
  g_assert_true (sv_scale_forward (o1, t, 2.0f, &e));
  g_assert_true (sv_tensor_upload (t, b, sizeof b, &e));
  g_assert_true (sv_scale_forward (o2, t, 3.0f, &e));
  for (int i = 0; i < 20; i++)
    g_assert_true (sv_scale_backward (o2, t, 1.0f, &e)); /* o2 += t, 20 times */
  /* a tensor freed while commands use it lives until they have run */
  SvTensor *tmp = sv_tensor_new (vk, SV_F32, 1, (int64_t[]){ 64 }, &e);
  g_assert_true (sv_scale_forward (tmp, t, 1.0f, &e));
  g_assert_true (sv_scale_backward (o1, tmp, 0.0f, &e));
  sv_tensor_free (tmp);
  g_assert_cmpuint (v->n_submits, ==, submits); /* nothing ran yet */
  g_assert_true (sv_tensor_download (o1, got, sizeof got, &e));
  g_assert_cmpuint (v->n_submits, ==, submits + 1); /* one submit for all of it */
  for (int i = 0; i < 64; i++)
    g_assert_cmpfloat (got[i], ==, 2.0f * a[i]);
  g_assert_true (sv_tensor_download (o2, got, sizeof got, &e));
  g_assert_no_error (e);
  for (int i = 0; i < 64; i++)
    g_assert_cmpfloat (got[i], ==, 23.0f * b[i]);
  sv_tensor_free (t);
  sv_tensor_free (o1);
  sv_tensor_free (o2);
}

static void
test_sticky_error (void)
{
  if (!need_vk ())
    return;
  SvVk *v = SV_VK (vk);
  uint32_t range = v->props.limits.maxStorageBufferRange;
  if (range >= (1u << 30)) {
    g_test_skip ("maxStorageBufferRange too large to exceed cheaply");
    return;
  }
  GError *e = NULL;
  int64_t n = range / 4 + 64;
  SvTensor *big = sv_tensor_new (vk, SV_F32, 1, &n, &e);
  g_assert_no_error (e);
  g_assert_true (sv_scale_forward (big, big, 2.0f, &e)); /* accepted; fails on the device */
  g_assert_false (sv_backend_finish (vk, &e));
  g_assert_error (e, SV_ERROR, SV_ERROR_BACKEND);
  g_assert_nonnull (strstr (e->message, "storage buffer binding"));
  g_clear_error (&e);
  g_assert_true (sv_backend_finish (vk, &e)); /* reported once */
  sv_tensor_free (big);
  /* and the backend keeps working */
  Pair x = PAIR (NULL, 0, 0, 7), y = ZPAIR (7);
  g_assert_true (sv_gelu_forward (y.v, x.v, &e) && sv_gelu_forward (y.c, x.c, &e));
  g_assert_no_error (e);
  check ("after an error", &y, 0, 0);
  pair_free (&x);
  pair_free (&y);
}

static void
test_staging (void)
{
  /* device memory that the host cannot map: everything through staging copies */
  if (!need_vk ())
    return;
  GError *e = NULL;
  g_setenv ("SVILM_VULKAN_STAGING", "1", TRUE);
  SvBackend *st = sv_backend_open ("vulkan", &e);
  g_unsetenv ("SVILM_VULKAN_STAGING");
  g_assert_no_error (e);
  g_assert_false (SV_VK (st)->device_mappable);
  SvBackend *saved = vk;
  vk = st;
  test_linear ();
  test_batching ();
  vk = saved;
  sv_backend_unref (st);
}

/* ---- device selection ---- */

static void
test_select (void)
{
  GError *e = NULL;
  SvBackend *be = sv_backend_open ("vulkan:99", &e);
  g_assert_null (be);
  g_assert_error (e, SV_ERROR, SV_ERROR_BACKEND);
  g_test_message ("vulkan:99: %s", e->message);
  g_clear_error (&e);
  /* auto: a real GPU or the CPU backend, never a CPU Vulkan driver */
  be = sv_backend_open ("auto", &e);
  g_assert_no_error (e);
  g_assert_nonnull (be);
  g_test_message ("auto: %s", be->device_name);
  if (be != sv_backend_cpu ()) {
    g_assert_cmpstr (be->klass->name, ==, "vulkan");
    g_assert_cmpint (SV_VK (be)->props.deviceType, !=, VK_PHYSICAL_DEVICE_TYPE_CPU);
  }
  sv_backend_unref (be);
  /* auto's choice among the Vulkan devices (asked even where "auto" skips the loader
   * because the machine has no GPU device node): never a CPU driver such as lavapipe */
  be = sv_backend_vulkan_open (-1, FALSE, &e);
  if (be) {
    g_test_message ("auto's Vulkan choice: %s", be->device_name);
    g_assert_cmpint (SV_VK (be)->props.deviceType, !=, VK_PHYSICAL_DEVICE_TYPE_CPU);
    sv_backend_unref (be);
  } else {
    g_test_message ("auto's Vulkan choice: none (%s)", e->message);
    g_assert_error (e, SV_ERROR, SV_ERROR_BACKEND);
    g_clear_error (&e);
  }
}

static void
subprocess_without (const char *var, const char *value, const char *expect)
{
  if (g_test_subprocess ()) {
    GError *e = NULL;
    g_setenv (var, value, TRUE);
    SvBackend *be = sv_backend_open ("vulkan", &e);
    g_assert_null (be);
    g_assert_error (e, SV_ERROR, SV_ERROR_BACKEND);
    g_printerr ("vulkan: %s\n", e->message);
    g_assert_nonnull (strstr (e->message, expect));
    g_clear_error (&e);
    be = sv_backend_open ("auto", &e);
    g_assert_no_error (e);
    g_assert_true (be == sv_backend_cpu ());
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*vulkan:*");
}

static void
test_no_icd (void)
{
  subprocess_without ("VK_ICD_FILENAMES", "/nonexistent/svilm-no-icd.json", "driver");
}

static void
test_no_loader (void)
{
  subprocess_without ("SVILM_VULKAN_LOADER", "/nonexistent/libvulkan.so.1", "loader");
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_unsetenv ("SVILM_DEVICE"); /* it would override the devices asked for here */
  cpu = sv_backend_cpu ();
  if (!g_test_subprocess ()) {
    GError *e = NULL;
    vk = sv_backend_open ("vulkan", &e);
    if (vk)
      g_test_message ("testing on %s", vk->device_name);
    else
      g_test_message ("no Vulkan device, the op tests skip: %s", e->message);
    g_clear_error (&e);
  }
  g_test_add_func ("/vulkan/select", test_select);
  g_test_add_func ("/vulkan/select/no-icd", test_no_icd);
  g_test_add_func ("/vulkan/select/no-loader", test_no_loader);
  g_test_add_func ("/vulkan/linear", test_linear);
  g_test_add_func ("/vulkan/matmul", test_matmul);
  g_test_add_func ("/vulkan/layernorm", test_layernorm);
  g_test_add_func ("/vulkan/elementwise", test_elementwise);
  g_test_add_func ("/vulkan/softmax", test_softmax);
  g_test_add_func ("/vulkan/attention", test_attention);
  g_test_add_func ("/vulkan/layout", test_layout);
  g_test_add_func ("/vulkan/mean", test_mean);
  g_test_add_func ("/vulkan/l2norm-cosine", test_l2norm_cosine);
  g_test_add_func ("/vulkan/assign", test_assign);
  g_test_add_func ("/vulkan/losses", test_losses);
  g_test_add_func ("/vulkan/model", test_model);
  g_test_add_func ("/vulkan/model/stgraph", test_model_stgraph);
  test_vulkan_add_train ();
  g_test_add_func ("/vulkan/batching", test_batching);
  g_test_add_func ("/vulkan/sticky-error", test_sticky_error);
  g_test_add_func ("/vulkan/staging", test_staging);
  int ret = g_test_run ();
  sv_backend_unref (vk);
  return ret;
}
