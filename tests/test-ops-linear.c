/* linear and matmul: forward vs naive loops, backward vs finite differences,
 * shape errors, and PyTorch references (/torch/ cases). */
#include "sv-test.h"

/* ---- naive references ---- */

static void
naive_linear (float *out, const float *inp, const float *w, const float *b, int N, int C, int OC)
{
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) {
      double s = b ? b[o] : 0.0;
      for (int c = 0; c < C; c++)
        s += (double) inp[n * C + c] * w[o * C + c];
      out[n * OC + o] = (float) s;
    }
}

typedef struct {
  SvTensor *out, *inp, *w, *b, *probe;
} LinearCase;

static double
linear_loss (gpointer user)
{
  LinearCase *c = user;
  GError *error = NULL;
  sv_linear_forward (c->out, c->inp, c->w, c->b, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

static void
check_linear (int N, int C, int OC, gboolean with_bias)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, (uint64_t) (N * 1000 + C * 10 + OC));
  LinearCase c = {
    .out = SV_TEST_TENSOR (N, OC),
    .inp = SV_TEST_TENSOR (N, C),
    .w = SV_TEST_TENSOR (OC, C),
    .b = with_bias ? SV_TEST_TENSOR (OC) : NULL,
    .probe = SV_TEST_TENSOR (N, OC),
  };
  sv_test_fill (c.inp, &rng, -1, 1);
  sv_test_fill (c.w, &rng, -1, 1);
  if (c.b)
    sv_test_fill (c.b, &rng, -1, 1);
  sv_test_fill (c.probe, &rng, -1, 1);

  /* forward vs naive */
  sv_linear_forward (c.out, c.inp, c.w, c.b, &error);
  g_assert_no_error (error);
  float *want = g_new (float, (size_t) N *OC + 1);
  naive_linear (want, sv_tensor_f32 (c.inp), sv_tensor_f32 (c.w), sv_tensor_f32 (c.b), N, C, OC);
  sv_test_assert_close ("linear forward", sv_tensor_f32 (c.out), want, (size_t) N * OC, 1e-5, 1e-5);
  g_free (want);

  /* backward (accumulating onto a non-zero start) vs finite differences */
  SvTensor *dinp = SV_TEST_TENSOR (N, C), *dw = SV_TEST_TENSOR (OC, C);
  SvTensor *db = SV_TEST_TENSOR (OC);
  sv_tensor_f32 (db)[0] = 0.5f;
  sv_linear_backward (dinp, dw, with_bias ? db : NULL, c.probe, c.inp, c.w, &error);
  g_assert_no_error (error);
  sv_tensor_f32 (db)[0] -= 0.5f;
  sv_test_gradcheck ("linear dinp", sv_tensor_f32 (c.inp), c.inp->numel, sv_tensor_f32 (dinp),
                     linear_loss, &c, 1e-2, 1e-3, 1e-3, 200);
  sv_test_gradcheck ("linear dweight", sv_tensor_f32 (c.w), c.w->numel, sv_tensor_f32 (dw),
                     linear_loss, &c, 1e-2, 1e-3, 1e-3, 200);
  if (with_bias)
    sv_test_gradcheck ("linear dbias", sv_tensor_f32 (c.b), c.b->numel, sv_tensor_f32 (db),
                       linear_loss, &c, 1e-2, 1e-3, 1e-3, 200);

  sv_tensor_free (dinp);
  sv_tensor_free (dw);
  sv_tensor_free (db);
  sv_tensor_free (c.out);
  sv_tensor_free (c.inp);
  sv_tensor_free (c.w);
  sv_tensor_free (c.b);
  sv_tensor_free (c.probe);
}

static void
test_linear (void)
{
  check_linear (1, 1, 1, TRUE);
  check_linear (7, 5, 3, TRUE);
  check_linear (33, 17, 9, FALSE);
  check_linear (64, 48, 96, TRUE);
}

static void
test_linear_shape_errors (void)
{
  GError *error = NULL;
  SvTensor *inp = SV_TEST_TENSOR (4, 3), *w = SV_TEST_TENSOR (5, 2), *out = SV_TEST_TENSOR (4, 5);
  g_assert_false (sv_linear_forward (out, inp, w, NULL, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  SvTensor *w2 = SV_TEST_TENSOR (5, 3), *bad_out = SV_TEST_TENSOR (4, 4), *b = SV_TEST_TENSOR (4);
  g_assert_false (sv_linear_forward (bad_out, inp, w2, NULL, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_linear_forward (out, inp, w2, b, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  SvTensor *ids = sv_test_tensor (SV_I32, 2, (int64_t[]){ 4, 3 });
  g_assert_false (sv_linear_forward (out, ids, w2, NULL, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  sv_tensor_free (ids);
  sv_tensor_free (inp);
  sv_tensor_free (w);
  sv_tensor_free (w2);
  sv_tensor_free (out);
  sv_tensor_free (bad_out);
  sv_tensor_free (b);
}

/* ---- matmul ---- */

typedef struct {
  SvTensor *c, *a, *b, *probe;
  gboolean ta, tb;
  float alpha;
} MatmulCase;

static double
matmul_loss (gpointer user)
{
  MatmulCase *m = user;
  GError *error = NULL;
  sv_matmul_forward (m->c, m->a, m->b, m->ta, m->tb, m->alpha, &error);
  g_assert_no_error (error);
  return sv_test_dot (m->c, m->probe);
}

static void
check_matmul (int batch, int M, int N, int K, gboolean ta, gboolean tb)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, 77);
  MatmulCase m = {
    .c = SV_TEST_TENSOR (batch, M, N),
    .a = ta ? SV_TEST_TENSOR (batch, K, M) : SV_TEST_TENSOR (batch, M, K),
    .b = tb ? SV_TEST_TENSOR (batch, N, K) : SV_TEST_TENSOR (batch, K, N),
    .probe = SV_TEST_TENSOR (batch, M, N),
    .ta = ta,
    .tb = tb,
    .alpha = 0.75f,
  };
  sv_test_fill (m.a, &rng, -1, 1);
  sv_test_fill (m.b, &rng, -1, 1);
  sv_test_fill (m.probe, &rng, -1, 1);
  sv_matmul_forward (m.c, m.a, m.b, ta, tb, m.alpha, &error);
  g_assert_no_error (error);

  const float *a = sv_tensor_f32 (m.a), *b = sv_tensor_f32 (m.b);
  float *want = g_new (float, (size_t) batch *M *N);
  for (int i = 0; i < batch; i++)
    for (int r = 0; r < M; r++)
      for (int col = 0; col < N; col++) {
        double s = 0;
        for (int k = 0; k < K; k++) {
          float av = ta ? a[(size_t) i * K * M + k * M + r] : a[(size_t) i * M * K + r * K + k];
          float bv = tb ? b[(size_t) i * N * K + col * K + k] : b[(size_t) i * K * N + k * N + col];
          s += (double) av * bv;
        }
        want[(size_t) i * M * N + r * N + col] = (float) (m.alpha * s);
      }
  sv_test_assert_close ("matmul forward", sv_tensor_f32 (m.c), want, m.c->numel, 1e-5, 1e-5);
  g_free (want);

  SvTensor *da = SV_TEST_TENSOR (m.a->numel), *db = SV_TEST_TENSOR (m.b->numel);
  SvTensor da_v, db_v;
  sv_tensor_reshape (&da_v, da, m.a->ndim, m.a->shape, &error);
  sv_tensor_reshape (&db_v, db, m.b->ndim, m.b->shape, &error);
  g_assert_no_error (error);
  sv_matmul_backward (&da_v, &db_v, m.probe, m.a, m.b, ta, tb, m.alpha, &error);
  g_assert_no_error (error);
  sv_test_gradcheck ("matmul da", sv_tensor_f32 (m.a), m.a->numel, sv_tensor_f32 (da), matmul_loss,
                     &m, 1e-2, 1e-3, 1e-3, 200);
  sv_test_gradcheck ("matmul db", sv_tensor_f32 (m.b), m.b->numel, sv_tensor_f32 (db), matmul_loss,
                     &m, 1e-2, 1e-3, 1e-3, 200);
  sv_tensor_free (da);
  sv_tensor_free (db);
  sv_tensor_free (m.a);
  sv_tensor_free (m.b);
  sv_tensor_free (m.c);
  sv_tensor_free (m.probe);
}

static void
test_matmul (void)
{
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      check_matmul (1, 1, 1, 1, ta, tb);
      check_matmul (3, 7, 5, 4, ta, tb);
      check_matmul (2, 33, 9, 17, ta, tb);
    }
}

/* ---- PyTorch: tests/torch/ref_linear.py ---- */

static void
test_torch_linear (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  GError *error = NULL;
  SvTensor *x = sv_test_ref (st, "x"), *w = sv_test_ref (st, "w"), *b = sv_test_ref (st, "b");
  SvTensor *y = sv_test_ref (st, "y"), *gy = sv_test_ref (st, "gy");
  SvTensor *gx = sv_test_ref (st, "gx"), *gw = sv_test_ref (st, "gw"), *gb = sv_test_ref (st, "gb");
  SvTensor *out = sv_test_tensor (SV_F32, y->ndim, y->shape);
  SvTensor *dx = sv_test_tensor (SV_F32, x->ndim, x->shape);
  SvTensor *dw = sv_test_tensor (SV_F32, w->ndim, w->shape);
  SvTensor *db = sv_test_tensor (SV_F32, b->ndim, b->shape);
  sv_linear_forward (out, x, w, b, &error);
  g_assert_no_error (error);
  sv_linear_backward (dx, dw, db, gy, x, w, &error);
  g_assert_no_error (error);
  sv_test_assert_close ("torch linear y", sv_tensor_f32 (out), sv_tensor_f32 (y), y->numel, 1e-4,
                        1e-5);
  sv_test_assert_close ("torch linear gx", sv_tensor_f32 (dx), sv_tensor_f32 (gx), gx->numel, 1e-4,
                        1e-5);
  sv_test_assert_close ("torch linear gw", sv_tensor_f32 (dw), sv_tensor_f32 (gw), gw->numel, 1e-4,
                        1e-5);
  sv_test_assert_close ("torch linear gb", sv_tensor_f32 (db), sv_tensor_f32 (gb), gb->numel, 1e-4,
                        1e-5);

  /* batched matmul with a transposed b, as attention uses it */
  SvTensor *ma = sv_test_ref (st, "ma"), *mb = sv_test_ref (st, "mb"), *mc = sv_test_ref (st, "mc");
  SvTensor *gmc = sv_test_ref (st, "gmc"), *gma = sv_test_ref (st, "gma"),
           *gmb = sv_test_ref (st, "gmb");
  float alpha = sv_test_ref_scalar (st, "alpha");
  SvTensor *c = sv_test_tensor (SV_F32, mc->ndim, mc->shape);
  SvTensor *da = sv_test_tensor (SV_F32, ma->ndim, ma->shape);
  SvTensor *dbm = sv_test_tensor (SV_F32, mb->ndim, mb->shape);
  sv_matmul_forward (c, ma, mb, FALSE, TRUE, alpha, &error);
  g_assert_no_error (error);
  sv_matmul_backward (da, dbm, gmc, ma, mb, FALSE, TRUE, alpha, &error);
  g_assert_no_error (error);
  sv_test_assert_close ("torch matmul c", sv_tensor_f32 (c), sv_tensor_f32 (mc), mc->numel, 1e-4,
                        1e-5);
  sv_test_assert_close ("torch matmul ga", sv_tensor_f32 (da), sv_tensor_f32 (gma), gma->numel,
                        1e-4, 1e-5);
  sv_test_assert_close ("torch matmul gb", sv_tensor_f32 (dbm), sv_tensor_f32 (gmb), gmb->numel,
                        1e-4, 1e-5);

  SvTensor *all[] = { x,  w,  b,  y,  gy,  gx,  gw,  gb, out, dx, dw,
                      db, ma, mb, mc, gmc, gma, gmb, c,  da,  dbm };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/linear/forward-backward", test_linear);
  g_test_add_func ("/linear/shape-errors", test_linear_shape_errors);
  g_test_add_func ("/matmul/forward-backward", test_matmul);
  g_test_add_func ("/torch/linear", test_torch_linear);
  return g_test_run ();
}
