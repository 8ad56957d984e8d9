/* embedding, patchify and tubelet embedding: forward vs naive loops, backward vs
 * finite differences and naive scatters, shape/argument errors, thread-count
 * determinism, and PyTorch references (/torch/ cases). */
#include "sv-test.h"

#include <string.h>

/* ---- embedding ---- */

typedef struct {
  SvTensor *out, *ids, *table, *probe;
} EmbCase;

static double
emb_loss (gpointer user)
{
  EmbCase *c = user;
  GError *error = NULL;
  sv_embedding_forward (c->out, c->ids, c->table, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

/* ids of shape ids_shape[0..nd), table [V, C] */
static void
check_embedding (int nd, const int64_t *ids_shape, int V, int C)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, (uint64_t) (V * 100 + C));
  int64_t oshape[SV_MAX_DIMS];
  memcpy (oshape, ids_shape, sizeof (int64_t) * nd);
  oshape[nd] = C;
  EmbCase c = {
    .out = sv_test_tensor (SV_F32, nd + 1, oshape),
    .ids = sv_test_tensor (SV_I32, nd, ids_shape),
    .table = SV_TEST_TENSOR (V, C),
    .probe = sv_test_tensor (SV_F32, nd + 1, oshape),
  };
  size_t N = c.ids->numel;
  int32_t *ids = sv_tensor_i32 (c.ids);
  for (size_t n = 0; n < N; n++) /* a small V gives repeated ids */
    ids[n] = (int32_t) sv_rng_below (&rng, (uint32_t) V);
  ids[N - 1] = V - 1; /* the last row is used */
  sv_test_fill (c.table, &rng, -1, 1);
  sv_test_fill (c.probe, &rng, -1, 1);

  g_assert_true (sv_embedding_forward (c.out, c.ids, c.table, &error));
  g_assert_no_error (error);
  float *want = g_new (float, N *C);
  const float *tab = sv_tensor_f32 (c.table);
  for (size_t n = 0; n < N; n++)
    for (int k = 0; k < C; k++)
      want[n * C + k] = tab[(size_t) ids[n] * C + k];
  sv_test_assert_close ("embedding forward", sv_tensor_f32 (c.out), want, N * C, 0, 0);
  g_free (want);

  /* backward onto a non-zero dtable: naive scatter in double, then finite differences */
  SvTensor *dt = SV_TEST_TENSOR (V, C);
  sv_test_fill (dt, &rng, -1, 1);
  double *wantd = g_new (double, (size_t) V *C);
  for (size_t i = 0; i < (size_t) V * C; i++)
    wantd[i] = sv_tensor_f32 (dt)[i];
  const float *pr = sv_tensor_f32 (c.probe);
  for (size_t n = 0; n < N; n++)
    for (int k = 0; k < C; k++)
      wantd[(size_t) ids[n] * C + k] += pr[n * C + k];
  g_assert_true (sv_embedding_backward (dt, c.probe, c.ids, &error));
  g_assert_no_error (error);
  float *wantf = g_new (float, (size_t) V *C);
  for (size_t i = 0; i < (size_t) V * C; i++)
    wantf[i] = (float) wantd[i];
  sv_test_assert_close ("embedding dtable (accumulated)", sv_tensor_f32 (dt), wantf, (size_t) V * C,
                        1e-5, 1e-5);

  /* finite differences on a fresh gradient */
  sv_tensor_zero (dt, &error);
  sv_embedding_backward (dt, c.probe, c.ids, &error);
  g_assert_no_error (error);
  sv_test_gradcheck ("embedding dtable", sv_tensor_f32 (c.table), c.table->numel,
                     sv_tensor_f32 (dt), emb_loss, &c, 1e-2, 1e-3, 1e-3, 200);

  /* flattened out [N, C] is accepted and gives the same values */
  emb_loss (&c); /* out holds the last perturbed forward of the gradient check */
  SvTensor *flat = SV_TEST_TENSOR ((int64_t) N, C);
  g_assert_true (sv_embedding_forward (flat, c.ids, c.table, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("embedding flat out", sv_tensor_f32 (flat), sv_tensor_f32 (c.out), N * C, 0,
                        0);

  g_free (wantd);
  g_free (wantf);
  sv_tensor_free (flat);
  sv_tensor_free (dt);
  sv_tensor_free (c.out);
  sv_tensor_free (c.ids);
  sv_tensor_free (c.table);
  sv_tensor_free (c.probe);
}

static void
test_embedding (void)
{
  check_embedding (1, (int64_t[]){ 1 }, 1, 1);
  check_embedding (1, (int64_t[]){ 7 }, 5, 33);
  check_embedding (2, (int64_t[]){ 3, 11 }, 33, 7);
  check_embedding (3, (int64_t[]){ 2, 3, 5 }, 3, 17); /* many repeats */
  check_embedding (2, (int64_t[]){ 4, 32 }, 1000, 48);
}

/* the backward's sums must not depend on the thread count */
static void
test_embedding_deterministic (void)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, 5);
  int N = 4000, V = 37, C = 19;
  SvTensor *ids = sv_test_tensor (SV_I32, 1, (int64_t[]){ N });
  SvTensor *dout = SV_TEST_TENSOR (N, C);
  SvTensor *d1 = SV_TEST_TENSOR (V, C), *d8 = SV_TEST_TENSOR (V, C);
  for (int n = 0; n < N; n++)
    sv_tensor_i32 (ids)[n] = (int32_t) sv_rng_below (&rng, (uint32_t) V);
  sv_test_fill (dout, &rng, -1, 1);
  int saved = sv_get_num_threads ();
  sv_set_num_threads (1);
  sv_embedding_backward (d1, dout, ids, &error);
  sv_set_num_threads (8);
  sv_embedding_backward (d8, dout, ids, &error);
  sv_set_num_threads (saved);
  g_assert_no_error (error);
  g_assert_true (memcmp (sv_tensor_f32 (d1), sv_tensor_f32 (d8), sizeof (float) * V * C) == 0);
  sv_tensor_free (ids);
  sv_tensor_free (dout);
  sv_tensor_free (d1);
  sv_tensor_free (d8);
}

static void
test_embedding_errors (void)
{
  GError *error = NULL;
  SvTensor *ids = sv_test_tensor (SV_I32, 2, (int64_t[]){ 2, 3 });
  SvTensor *table = SV_TEST_TENSOR (5, 4), *out = SV_TEST_TENSOR (2, 3, 4);
  int32_t *id = sv_tensor_i32 (ids);
  for (int i = 0; i < 6; i++)
    id[i] = i % 5;
  g_assert_true (sv_embedding_forward (out, ids, table, &error));
  g_assert_no_error (error);

  /* out of range ids, both ends, forward and backward */
  id[4] = 5;
  g_assert_false (sv_embedding_forward (out, ids, table, &error));
  g_assert_true (error && strstr (error->message, "id 5") && strstr (error->message, "position 4"));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  id[4] = -1;
  g_assert_false (sv_embedding_forward (out, ids, table, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  SvTensor *dtable = SV_TEST_TENSOR (5, 4);
  g_assert_false (sv_embedding_backward (dtable, out, ids, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  id[4] = 4;

  /* float ids */
  SvTensor *fids = SV_TEST_TENSOR (2, 3);
  g_assert_false (sv_embedding_forward (out, fids, table, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  /* table not 2-D, wrong out width, wrong out rows */
  SvTensor *t3 = SV_TEST_TENSOR (5, 4, 1), *out5 = SV_TEST_TENSOR (2, 3, 5);
  SvTensor *out_rows = SV_TEST_TENSOR (3, 2, 4);
  g_assert_false (sv_embedding_forward (out, ids, t3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_embedding_forward (out5, ids, table, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_embedding_forward (out_rows, ids, table, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_embedding_backward (dtable, out5, ids, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_embedding_forward (NULL, ids, table, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);

  SvTensor *all[] = { ids, table, out, dtable, fids, t3, out5, out_rows };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- patchify and tubelet embedding ---- */

/* video index of patch element (b, tok, k) */
static size_t
naive_video_index (int b, int tok, int k, int T, int H, int W, int Cin, int pt, int p)
{
  int Hp = H / p, Wp = W / p;
  int xq = tok % Wp, yq = (tok / Wp) % Hp, tq = tok / (Wp * Hp);
  int c = k % Cin, dx = (k / Cin) % p, dy = (k / (Cin * p)) % p, dt = k / (Cin * p * p);
  int t = tq * pt + dt, y = yq * p + dy, x = xq * p + dx;
  return ((((size_t) b * T + t) * H + y) * W + x) * Cin + c;
}

typedef struct {
  SvTensor *patches, *video, *probe;
  int pt, p;
} PatchCase;

static double
patch_loss (gpointer user)
{
  PatchCase *c = user;
  GError *error = NULL;
  sv_patchify_forward (c->patches, c->video, c->pt, c->p, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->patches, c->probe);
}

static void
check_patchify (int B, int T, int H, int W, int Cin, int pt, int p)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, (uint64_t) (B + T * 10 + H * 100 + W * 1000 + Cin));
  int Np = (T / pt) * (H / p) * (W / p), K = pt * p * p * Cin;
  PatchCase c = {
    .patches = SV_TEST_TENSOR (B, Np, K),
    .video = SV_TEST_TENSOR (B, T, H, W, Cin),
    .probe = SV_TEST_TENSOR (B, Np, K),
    .pt = pt,
    .p = p,
  };
  sv_test_fill (c.video, &rng, -1, 1);
  sv_test_fill (c.probe, &rng, -1, 1);
  g_assert_true (sv_patchify_forward (c.patches, c.video, pt, p, &error));
  g_assert_no_error (error);
  float *want = g_new (float, c.patches->numel);
  const float *v = sv_tensor_f32 (c.video);
  for (int b = 0; b < B; b++)
    for (int tok = 0; tok < Np; tok++)
      for (int k = 0; k < K; k++)
        want[((size_t) b * Np + tok) * K + k] =
            v[naive_video_index (b, tok, k, T, H, W, Cin, pt, p)];
  sv_test_assert_close ("patchify forward", sv_tensor_f32 (c.patches), want, c.patches->numel, 0,
                        0);
  g_free (want);

  /* backward accumulates onto a non-zero start */
  SvTensor *dv = SV_TEST_TENSOR (B, T, H, W, Cin);
  float *dvf = sv_tensor_f32 (dv);
  for (size_t i = 0; i < dv->numel; i++)
    dvf[i] = 0.25f;
  g_assert_true (sv_patchify_backward (dv, c.probe, pt, p, &error));
  g_assert_no_error (error);
  for (size_t i = 0; i < dv->numel; i++)
    dvf[i] -= 0.25f;
  sv_test_gradcheck ("patchify dvideo", sv_tensor_f32 (c.video), c.video->numel, dvf, patch_loss,
                     &c, 1e-2, 1e-3, 1e-3, 300);
  sv_tensor_free (dv);
  sv_tensor_free (c.patches);
  sv_tensor_free (c.video);
  sv_tensor_free (c.probe);
}

static void
test_patchify (void)
{
  check_patchify (1, 1, 1, 1, 1, 1, 1);
  check_patchify (2, 4, 6, 9, 3, 2, 3);
  check_patchify (1, 3, 7, 7, 1, 1, 7);
  check_patchify (3, 2, 4, 8, 5, 2, 4);
  check_patchify (1, 1, 33, 33, 2, 1, 11);
}

typedef struct {
  SvTensor *out, *patches, *video, *w, *b, *probe;
  int pt, p;
} TubeCase;

static double
tube_loss (gpointer user)
{
  TubeCase *c = user;
  GError *error = NULL;
  sv_tubelet_embed_forward (c->out, c->patches, c->video, c->w, c->b, c->pt, c->p, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

static void
check_tubelet (int B, int T, int H, int W, int Cin, int pt, int p, int D, gboolean with_bias)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, (uint64_t) (D * 7 + T + H));
  int Np = (T / pt) * (H / p) * (W / p), K = pt * p * p * Cin;
  TubeCase c = {
    .out = SV_TEST_TENSOR (B, Np, D),
    .patches = SV_TEST_TENSOR (B, Np, K),
    .video = SV_TEST_TENSOR (B, T, H, W, Cin),
    .w = SV_TEST_TENSOR (D, K),
    .b = with_bias ? SV_TEST_TENSOR (D) : NULL,
    .probe = SV_TEST_TENSOR (B, Np, D),
    .pt = pt,
    .p = p,
  };
  sv_test_fill (c.video, &rng, -1, 1);
  sv_test_fill (c.w, &rng, -1, 1);
  if (c.b)
    sv_test_fill (c.b, &rng, -1, 1);
  sv_test_fill (c.probe, &rng, -1, 1);
  g_assert_true (sv_tubelet_embed_forward (c.out, c.patches, c.video, c.w, c.b, pt, p, &error));
  g_assert_no_error (error);

  /* naive: a strided 3-D convolution written directly on the video */
  const float *v = sv_tensor_f32 (c.video), *w = sv_tensor_f32 (c.w), *bias = sv_tensor_f32 (c.b);
  float *want = g_new (float, c.out->numel);
  int Hp = H / p, Wp = W / p;
  for (int b = 0; b < B; b++)
    for (int tok = 0; tok < Np; tok++)
      for (int d = 0; d < D; d++) {
        int xq = tok % Wp, yq = (tok / Wp) % Hp, tq = tok / (Wp * Hp);
        double s = bias ? bias[d] : 0.0;
        for (int dt = 0; dt < pt; dt++)
          for (int dy = 0; dy < p; dy++)
            for (int dx = 0; dx < p; dx++)
              for (int ch = 0; ch < Cin; ch++) {
                size_t vi =
                    ((((size_t) b * T + tq * pt + dt) * H + yq * p + dy) * W + xq * p + dx) * Cin +
                    ch;
                int k = ((dt * p + dy) * p + dx) * Cin + ch;
                s += (double) w[(size_t) d * K + k] * v[vi];
              }
        want[((size_t) b * Np + tok) * D + d] = (float) s;
      }
  sv_test_assert_close ("tubelet forward", sv_tensor_f32 (c.out), want, c.out->numel, 1e-5, 1e-5);
  g_free (want);

  /* backward: non-zero starts (subtracted after), dpatches full of garbage (scratch) */
  SvTensor *dv = SV_TEST_TENSOR (B, T, H, W, Cin), *dw = SV_TEST_TENSOR (D, K);
  SvTensor *db = SV_TEST_TENSOR (D), *dp = SV_TEST_TENSOR (B, Np, K);
  sv_tensor_f32 (dv)[0] = 0.5f;
  sv_tensor_f32 (dw)[0] = -0.5f;
  sv_tensor_f32 (db)[0] = 0.5f;
  sv_test_fill (dp, &rng, 100, 200);
  g_assert_true (sv_tubelet_embed_backward (dv, dw, with_bias ? db : NULL, dp, c.probe, c.patches,
                                            c.w, pt, p, &error));
  g_assert_no_error (error);
  sv_tensor_f32 (dv)[0] -= 0.5f;
  sv_tensor_f32 (dw)[0] += 0.5f;
  sv_tensor_f32 (db)[0] -= 0.5f;
  sv_test_gradcheck ("tubelet dvideo", sv_tensor_f32 (c.video), c.video->numel, sv_tensor_f32 (dv),
                     tube_loss, &c, 1e-2, 1e-3, 1e-3, 200);
  sv_test_gradcheck ("tubelet dweight", sv_tensor_f32 (c.w), c.w->numel, sv_tensor_f32 (dw),
                     tube_loss, &c, 1e-2, 1e-3, 1e-3, 200);
  if (with_bias)
    sv_test_gradcheck ("tubelet dbias", sv_tensor_f32 (c.b), c.b->numel, sv_tensor_f32 (db),
                       tube_loss, &c, 1e-2, 1e-3, 1e-3, 200);

  /* without dvideo no dpatches is needed, and the weight gradient is the same */
  tube_loss (&c); /* restore the patches cache */
  SvTensor *dw2 = SV_TEST_TENSOR (D, K);
  g_assert_true (
      sv_tubelet_embed_backward (NULL, dw2, NULL, NULL, c.probe, c.patches, c.w, pt, p, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("tubelet dweight without dvideo", sv_tensor_f32 (dw2), sv_tensor_f32 (dw),
                        dw->numel, 1e-5, 1e-5);

  SvTensor *all[] = { dv, dw, db, dp, dw2, c.out, c.patches, c.video, c.w, c.b, c.probe };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    if (all[i])
      sv_tensor_free (all[i]);
}

static void
test_tubelet (void)
{
  check_tubelet (1, 1, 1, 1, 1, 1, 1, 1, TRUE);
  check_tubelet (1, 2, 4, 4, 3, 2, 2, 7, TRUE);
  check_tubelet (2, 4, 6, 6, 1, 1, 3, 33, FALSE);
  check_tubelet (2, 4, 8, 12, 3, 2, 4, 17, TRUE);
}

static void
test_patchify_errors (void)
{
  GError *error = NULL;
  SvTensor *video = SV_TEST_TENSOR (2, 4, 6, 6, 3);
  SvTensor *patches = SV_TEST_TENSOR (2, 2 * 2 * 2, 2 * 3 * 3 * 3);
  g_assert_true (sv_patchify_forward (patches, video, 2, 3, &error));
  g_assert_no_error (error);
  SvTensor *flat = SV_TEST_TENSOR (2 * 8, 54);
  g_assert_true (sv_patchify_forward (flat, video, 2, 3, &error));
  g_assert_no_error (error);

  /* T % pt, H % p */
  g_assert_false (sv_patchify_forward (patches, video, 3, 3, &error));
  g_assert_true (error && strstr (error->message, "multiple"));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_patchify_forward (patches, video, 2, 4, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  /* larger than the video */
  g_assert_false (sv_patchify_forward (patches, video, 8, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  /* non-positive sizes */
  g_assert_false (sv_patchify_forward (patches, video, 0, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_patchify_forward (patches, video, 2, -3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  /* video rank, patches shape */
  SvTensor *v4 = SV_TEST_TENSOR (4, 6, 6, 3), *bad = SV_TEST_TENSOR (2, 8, 53);
  g_assert_false (sv_patchify_forward (patches, v4, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_patchify_forward (bad, video, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_patchify_backward (video, bad, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);

  /* tubelet: weight width, bias, out, missing dpatches */
  SvTensor *w = SV_TEST_TENSOR (5, 54), *wbad = SV_TEST_TENSOR (5, 53), *b = SV_TEST_TENSOR (5);
  SvTensor *bbad = SV_TEST_TENSOR (4), *out = SV_TEST_TENSOR (2, 8, 5),
           *obad = SV_TEST_TENSOR (2, 8, 4);
  g_assert_true (sv_tubelet_embed_forward (out, patches, video, w, b, 2, 3, &error));
  g_assert_no_error (error);
  g_assert_false (sv_tubelet_embed_forward (out, patches, video, wbad, b, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_tubelet_embed_forward (out, patches, video, w, bbad, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_tubelet_embed_forward (obad, patches, video, w, b, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_tubelet_embed_forward (out, patches, video, w, b, 4, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  SvTensor *dv = SV_TEST_TENSOR (2, 4, 6, 6, 3), *dw = SV_TEST_TENSOR (5, 54);
  g_assert_false (sv_tubelet_embed_backward (dv, dw, NULL, NULL, out, patches, w, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_tubelet_embed_backward (dv, dw, NULL, bad, out, patches, w, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_tubelet_embed_backward (NULL, dw, NULL, NULL, obad, patches, w, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (
      sv_tubelet_embed_backward (NULL, wbad, NULL, NULL, out, patches, w, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_tubelet_embed_backward (NULL, dw, bbad, NULL, out, patches, w, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  /* dvideo that does not match the patches */
  SvTensor *dv_other = SV_TEST_TENSOR (1, 4, 6, 6, 3), *dp = SV_TEST_TENSOR (2, 8, 54);
  g_assert_false (
      sv_tubelet_embed_backward (dv_other, dw, NULL, dp, out, patches, w, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  /* the failed calls wrote nothing into dw */
  for (size_t i = 0; i < dw->numel; i++)
    g_assert_cmpfloat (sv_tensor_f32 (dw)[i], ==, 0.0f);

  SvTensor *all[] = { video, patches, flat, v4, bad, w,        wbad, b,
                      bbad,  out,     obad, dv, dw,  dv_other, dp };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- PyTorch: tests/torch/ref_embedding.py ---- */

static void
test_torch_embedding (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  GError *error = NULL;

  /* F.embedding */
  SvTensor *ids = sv_test_ref (st, "ids"), *table = sv_test_ref (st, "table");
  SvTensor *y = sv_test_ref (st, "y"), *gy = sv_test_ref (st, "gy");
  SvTensor *gtable = sv_test_ref (st, "gtable");
  SvTensor *out = sv_test_tensor (SV_F32, y->ndim, y->shape);
  SvTensor *dt = sv_test_tensor (SV_F32, table->ndim, table->shape);
  g_assert_true (sv_embedding_forward (out, ids, table, &error));
  g_assert_no_error (error);
  g_assert_true (sv_embedding_backward (dt, gy, ids, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("torch embedding y", sv_tensor_f32 (out), sv_tensor_f32 (y), y->numel, 1e-4,
                        1e-5);
  sv_test_assert_close ("torch embedding gtable", sv_tensor_f32 (dt), sv_tensor_f32 (gtable),
                        gtable->numel, 1e-4, 1e-5);

  /* tubelet embedding vs Conv3d(kernel = stride = (pt, p, p)) */
  int pt = (int) sv_test_ref_scalar (st, "pt"), p = (int) sv_test_ref_scalar (st, "p");
  SvTensor *video = sv_test_ref (st, "video"), *tw = sv_test_ref (st, "tw");
  SvTensor *tb = sv_test_ref (st, "tb"), *ty = sv_test_ref (st, "ty");
  SvTensor *gty = sv_test_ref (st, "gty"), *gvideo = sv_test_ref (st, "gvideo");
  SvTensor *gtw = sv_test_ref (st, "gtw"), *gtb = sv_test_ref (st, "gtb");
  int64_t B = ty->shape[0], Np = ty->shape[1], K = tw->shape[1];
  SvTensor *tout = sv_test_tensor (SV_F32, ty->ndim, ty->shape);
  SvTensor *patches = SV_TEST_TENSOR (B, Np, K), *dpatches = SV_TEST_TENSOR (B, Np, K);
  SvTensor *dvideo = sv_test_tensor (SV_F32, video->ndim, video->shape);
  SvTensor *dtw = sv_test_tensor (SV_F32, tw->ndim, tw->shape);
  SvTensor *dtb = sv_test_tensor (SV_F32, tb->ndim, tb->shape);
  g_assert_true (sv_tubelet_embed_forward (tout, patches, video, tw, tb, pt, p, &error));
  g_assert_no_error (error);
  g_assert_true (
      sv_tubelet_embed_backward (dvideo, dtw, dtb, dpatches, gty, patches, tw, pt, p, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("torch tubelet y", sv_tensor_f32 (tout), sv_tensor_f32 (ty), ty->numel,
                        1e-4, 1e-5);
  sv_test_assert_close ("torch tubelet gvideo", sv_tensor_f32 (dvideo), sv_tensor_f32 (gvideo),
                        gvideo->numel, 1e-4, 1e-5);
  sv_test_assert_close ("torch tubelet gweight", sv_tensor_f32 (dtw), sv_tensor_f32 (gtw),
                        gtw->numel, 1e-4, 1e-5);
  sv_test_assert_close ("torch tubelet gbias", sv_tensor_f32 (dtb), sv_tensor_f32 (gtb), gtb->numel,
                        1e-4, 1e-5);

  SvTensor *all[] = { ids, table,  y,   gy,  gtable, out,     dt,       video,  tw,  tb, ty,
                      gty, gvideo, gtw, gtb, tout,   patches, dpatches, dvideo, dtw, dtb };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/embedding/forward-backward", test_embedding);
  g_test_add_func ("/embedding/deterministic", test_embedding_deterministic);
  g_test_add_func ("/embedding/errors", test_embedding_errors);
  g_test_add_func ("/patchify/forward-backward", test_patchify);
  g_test_add_func ("/patchify/errors", test_patchify_errors);
  g_test_add_func ("/tubelet/forward-backward", test_tubelet);
  g_test_add_func ("/torch/embedding", test_torch_embedding);
  return g_test_run ();
}
