/* losses (soft-target softmax cross-entropy, MSE): forward vs naive double loops,
 * backward vs finite differences and the closed form, determinism across thread
 * counts, argument errors, and PyTorch references (/torch/ cases). */
#include "sv-test.h"

#include <math.h>
#include <string.h>

/* ---- naive double references ---- */

static double
naive_xent (double *probs, const float *x, const float *t, int N, int C)
{
  double total = 0.0;
  for (int i = 0; i < N; i++) {
    double maxv = -INFINITY, sum = 0.0;
    for (int j = 0; j < C; j++)
      maxv = MAX (maxv, (double) x[i * C + j]);
    for (int j = 0; j < C; j++)
      sum += exp (x[i * C + j] - maxv);
    double lse = maxv + log (sum);
    for (int j = 0; j < C; j++) {
      probs[i * C + j] = exp (x[i * C + j] - lse);
      if (t[i * C + j] != 0.0f) /* 0 * -inf logit contributes nothing */
        total -= (double) t[i * C + j] * (x[i * C + j] - lse);
    }
  }
  return N ? total / N : 0.0;
}

static void
assert_close_d (const char *what, const float *got, const double *want, size_t n, double rtol,
                double atol)
{
  float *w = g_new (float, n + 1);
  for (size_t i = 0; i < n; i++)
    w[i] = (float) want[i];
  sv_test_assert_close (what, got, w, n, rtol, atol);
  g_free (w);
}

typedef struct {
  SvTensor *loss, *probs, *logits, *targets;
  float dloss;
} XentCase;

static double
xent_loss (gpointer user)
{
  XentCase *c = user;
  GError *error = NULL;
  sv_softmax_xent_forward (c->loss, c->probs, c->logits, c->targets, &error);
  g_assert_no_error (error);
  return (double) c->dloss * sv_tensor_f32 (c->loss)[0];
}

typedef enum { TARGET_SOFT, TARGET_DIST, TARGET_ONEHOT } TargetKind;

static void
check_xent (int N, int C, TargetKind kind, float scale)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, (uint64_t) (N * 1000 + C * 10 + kind));
  XentCase c = {
    .loss = SV_TEST_TENSOR (1),
    .probs = SV_TEST_TENSOR (N, C),
    .logits = SV_TEST_TENSOR (N, C),
    .targets = SV_TEST_TENSOR (N, C),
    .dloss = 0.8f,
  };
  sv_test_fill (c.logits, &rng, -scale, scale);
  float *t = sv_tensor_f32 (c.targets);
  int *labels = g_new (int, (size_t) N + 1);
  for (int i = 0; i < N; i++) {
    labels[i] = (int) sv_rng_below (&rng, (uint32_t) C);
    double s = 0.0;
    for (int j = 0; j < C; j++) {
      t[i * C + j] = kind == TARGET_ONEHOT ? (j == labels[i]) : sv_rng_uniform (&rng);
      s += t[i * C + j];
    }
    if (kind == TARGET_DIST)
      for (int j = 0; j < C; j++)
        t[i * C + j] = (float) (t[i * C + j] / s);
  }

  /* forward vs naive */
  sv_softmax_xent_forward (c.loss, c.probs, c.logits, c.targets, &error);
  g_assert_no_error (error);
  double *probs = g_new (double, (size_t) N *C + 1);
  double want = naive_xent (probs, sv_tensor_f32 (c.logits), t, N, C);
  assert_close_d ("xent probs", sv_tensor_f32 (c.probs), probs, (size_t) N * C, 1e-5, 1e-7);
  assert_close_d ("xent loss", sv_tensor_f32 (c.loss), &want, 1, 1e-5, 1e-6);
  if (kind == TARGET_ONEHOT) {
    /* standard cross-entropy: mean of lse_i - x[i, label_i] */
    const float *x = sv_tensor_f32 (c.logits);
    double ce = 0.0;
    for (int i = 0; i < N; i++) {
      double maxv = -INFINITY, sum = 0.0;
      for (int j = 0; j < C; j++)
        maxv = MAX (maxv, (double) x[i * C + j]);
      for (int j = 0; j < C; j++)
        sum += exp (x[i * C + j] - maxv);
      ce += maxv + log (sum) - x[i * C + labels[i]];
    }
    ce /= N;
    assert_close_d ("xent one-hot == cross-entropy", sv_tensor_f32 (c.loss), &ce, 1, 1e-5, 1e-6);
  }

  /* backward onto a non-zero start vs the closed form and finite differences */
  SvTensor *dlogits = SV_TEST_TENSOR (N, C), *dloss = SV_TEST_TENSOR (1);
  sv_tensor_f32 (dloss)[0] = c.dloss;
  float *g = sv_tensor_f32 (dlogits);
  for (int i = 0; i < N * C; i++)
    g[i] = -0.5f;
  sv_softmax_xent_backward (dlogits, dloss, c.probs, c.targets, &error);
  g_assert_no_error (error);
  for (int i = 0; i < N * C; i++)
    g[i] += 0.5f;
  double *wg = g_new (double, (size_t) N *C + 1);
  for (int i = 0; i < N; i++) {
    double ts = 0.0;
    for (int j = 0; j < C; j++)
      ts += t[i * C + j];
    for (int j = 0; j < C; j++)
      wg[i * C + j] = c.dloss * (probs[i * C + j] * ts - t[i * C + j]) / N;
  }
  assert_close_d ("xent dlogits closed form", g, wg, (size_t) N * C, 1e-4, 1e-6);
  /* The loss is a float32 scalar: each evaluation is off by up to half an ulp, so the
   * central difference carries up to |loss| * 2^-24 / eps of rounding noise (large for the
   * unnormalised soft targets, whose loss is ~ C/2 log C); widen atol by twice that. */
  if (N * C <= 300 && scale <= 4) {
    const double eps = 1e-2;
    const double noise = fabs (xent_loss (&c)) * 0x1p-24 / eps;
    sv_test_gradcheck ("xent dlogits", sv_tensor_f32 (c.logits), (size_t) N * C, g, xent_loss, &c,
                       eps, 1e-2, 1e-4 + 2 * noise, 200);
  }

  g_free (wg);
  g_free (probs);
  g_free (labels);
  SvTensor *all[] = { dlogits, dloss, c.loss, c.probs, c.logits, c.targets };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_xent (void)
{
  static const int sizes[][2] = {
    { 1, 1 }, { 1, 7 }, { 7, 33 }, { 33, 7 }, { 5, 2 }, { 64, 1000 }
  };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    for (int k = TARGET_SOFT; k <= TARGET_ONEHOT; k++)
      check_xent (sizes[i][0], sizes[i][1], k, 3.0f);
  /* large logits: the log-sum-exp must not overflow */
  check_xent (7, 33, TARGET_SOFT, 1e4f);
  check_xent (3, 5, TARGET_ONEHOT, 80.0f);
}

static void
test_xent_shapes (void)
{
  /* [..., C] with several leading axes, and -inf logits with zero targets */
  GError *error = NULL;
  SvTensor *x = SV_TEST_TENSOR (2, 3, 4), *t = SV_TEST_TENSOR (2, 3, 4);
  SvTensor *p = SV_TEST_TENSOR (2, 3, 4), *loss = SV_TEST_TENSOR (1);
  float *xv = sv_tensor_f32 (x), *tv = sv_tensor_f32 (t);
  for (int i = 0; i < 24; i++) {
    xv[i] = (float) (i % 4) - 1.5f;
    tv[i] = (i % 4) == (i / 4) % 4 ? 1.0f : 0.0f;
  }
  xv[3] = -INFINITY; /* row 0, target on column 0 */
  sv_softmax_xent_forward (loss, p, x, t, &error);
  g_assert_no_error (error);
  double probs[24];
  double want = naive_xent (probs, xv, tv, 6, 4);
  g_assert_true (isfinite (sv_tensor_f32 (loss)[0]));
  assert_close_d ("xent 3-D loss", sv_tensor_f32 (loss), &want, 1, 1e-6, 1e-6);
  g_assert_cmpfloat (sv_tensor_f32 (p)[3], ==, 0.0f);
  SvTensor *all[] = { x, t, p, loss };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* Reductions are summed in a fixed order: bit-identical for any thread count. */
static void
test_loss_determinism (void)
{
  GError *error = NULL;
  SvRng rng;
  sv_rng_seed (&rng, 5);
  const int N = 1001, C = 37;
  SvTensor *x = SV_TEST_TENSOR (N, C), *t = SV_TEST_TENSOR (N, C), *p = SV_TEST_TENSOR (N, C);
  SvTensor *loss = SV_TEST_TENSOR (1);
  sv_test_fill (x, &rng, -5, 5);
  sv_test_fill (t, &rng, 0, 1);
  int saved = sv_get_num_threads ();
  float xent[3], mse[3];
  const int threads[3] = { 1, 3, 8 };
  for (int k = 0; k < 3; k++) {
    sv_set_num_threads (threads[k]);
    sv_softmax_xent_forward (loss, p, x, t, &error);
    g_assert_no_error (error);
    xent[k] = sv_tensor_f32 (loss)[0];
    sv_mse_forward (loss, x, t, &error);
    g_assert_no_error (error);
    mse[k] = sv_tensor_f32 (loss)[0];
  }
  sv_set_num_threads (saved);
  for (int k = 1; k < 3; k++) {
    g_assert_cmpuint (memcmp (&xent[0], &xent[k], sizeof (float)), ==, 0);
    g_assert_cmpuint (memcmp (&mse[0], &mse[k], sizeof (float)), ==, 0);
  }
  SvTensor *all[] = { x, t, p, loss };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- mse ---- */

typedef struct {
  SvTensor *loss, *a, *b;
  float dloss;
} MseCase;

static double
mse_loss (gpointer user)
{
  MseCase *c = user;
  GError *error = NULL;
  sv_mse_forward (c->loss, c->a, c->b, &error);
  g_assert_no_error (error);
  return (double) c->dloss * sv_tensor_f32 (c->loss)[0];
}

static void
check_mse (size_t n)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, n + 3);
  MseCase c = {
    .loss = SV_TEST_TENSOR (1),
    .a = SV_TEST_TENSOR ((int64_t) n),
    .b = SV_TEST_TENSOR ((int64_t) n),
    .dloss = -1.3f,
  };
  sv_test_fill (c.a, &rng, -2, 2);
  sv_test_fill (c.b, &rng, -2, 2);
  const float *a = sv_tensor_f32 (c.a), *b = sv_tensor_f32 (c.b);
  sv_mse_forward (c.loss, c.a, c.b, &error);
  g_assert_no_error (error);
  double want = 0.0;
  for (size_t i = 0; i < n; i++)
    want += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
  want /= (double) n;
  assert_close_d ("mse loss", sv_tensor_f32 (c.loss), &want, 1, 1e-5, 1e-7);

  SvTensor *da = SV_TEST_TENSOR ((int64_t) n), *db = SV_TEST_TENSOR ((int64_t) n);
  SvTensor *db_only = SV_TEST_TENSOR ((int64_t) n), *dloss = SV_TEST_TENSOR (1);
  sv_tensor_f32 (dloss)[0] = c.dloss;
  float *ga = sv_tensor_f32 (da), *gb = sv_tensor_f32 (db), *gbo = sv_tensor_f32 (db_only);
  for (size_t i = 0; i < n; i++)
    ga[i] = 1.0f;
  sv_mse_backward (da, db, dloss, c.a, c.b, &error);
  g_assert_no_error (error);
  sv_mse_backward (NULL, db_only, dloss, c.a, c.b, &error);
  g_assert_no_error (error);
  for (size_t i = 0; i < n; i++)
    ga[i] -= 1.0f;
  double *wa = g_new (double, n), *wb = g_new (double, n);
  for (size_t i = 0; i < n; i++) {
    wa[i] = 2.0 * c.dloss * ((double) a[i] - b[i]) / (double) n;
    wb[i] = -wa[i];
  }
  assert_close_d ("mse da closed form", ga, wa, n, 1e-5, 1e-7);
  assert_close_d ("mse db closed form", gb, wb, n, 1e-5, 1e-7);
  sv_test_assert_close ("mse db alone", gbo, gb, n, 0, 0);
  if (n <= 200) {
    sv_test_gradcheck ("mse da", sv_tensor_f32 (c.a), n, ga, mse_loss, &c, 1e-2, 1e-2, 1e-4, 200);
    sv_test_gradcheck ("mse db", sv_tensor_f32 (c.b), n, gb, mse_loss, &c, 1e-2, 1e-2, 1e-4, 200);
  }
  g_free (wa);
  g_free (wb);
  SvTensor *all[] = { da, db, db_only, dloss, c.loss, c.a, c.b };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_mse (void)
{
  const size_t sizes[] = { 1, 7, 33, 63, 64, 65, 100003 };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    check_mse (sizes[i]);
}

static void
test_loss_errors (void)
{
  GError *error = NULL;
  SvTensor *x = SV_TEST_TENSOR (4, 5), *t = SV_TEST_TENSOR (4, 5), *p = SV_TEST_TENSOR (4, 5);
  SvTensor *loss = SV_TEST_TENSOR (1), *loss2 = SV_TEST_TENSOR (2), *t_bad = SV_TEST_TENSOR (5, 4);
  SvTensor *p_bad = SV_TEST_TENSOR (4, 4), *flat = SV_TEST_TENSOR (20);
  SvTensor *ids = sv_test_tensor (SV_I32, 2, (int64_t[]){ 4, 5 });

  g_assert_false (sv_softmax_xent_forward (loss, p, x, t_bad, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_softmax_xent_forward (loss, p, x, flat, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_softmax_xent_forward (loss2, p, x, t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_softmax_xent_forward (loss, p_bad, x, t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_softmax_xent_forward (loss, p, ids, t, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_softmax_xent_forward (NULL, p, x, t, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_softmax_xent_backward (x, loss2, p, t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_softmax_xent_backward (p_bad, loss, p, t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_softmax_xent_backward (x, loss, p_bad, t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_true (sv_softmax_xent_backward (NULL, loss, p, t, &error));
  g_assert_no_error (error);

  g_assert_false (sv_mse_forward (loss, x, t_bad, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_mse_forward (loss2, x, t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_mse_forward (loss, ids, t, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_mse_backward (p_bad, NULL, loss, x, t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_mse_backward (NULL, p_bad, loss, x, t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_mse_backward (p, NULL, loss2, x, t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_mse_backward (p, NULL, loss, x, t_bad, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_true (sv_mse_backward (NULL, NULL, loss, x, t, &error));
  g_assert_no_error (error);

  SvTensor *all[] = { x, t, p, loss, loss2, t_bad, p_bad, flat, ids };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- PyTorch: tests/torch/ref_loss.py ---- */

static void
torch_xent (SvSafetensors *st, const char *suffix, const SvTensor *dloss)
{
  GError *error = NULL;
  char name[64], what[64];
  g_snprintf (name, sizeof name, "x_%s", suffix);
  SvTensor *x = sv_test_ref (st, name);
  g_snprintf (name, sizeof name, "t_%s", suffix);
  SvTensor *t = sv_test_ref (st, name);
  g_snprintf (name, sizeof name, "loss_%s", suffix);
  SvTensor *want_loss = sv_test_ref (st, name);
  g_snprintf (name, sizeof name, "gx_%s", suffix);
  SvTensor *want_g = sv_test_ref (st, name);
  SvTensor *loss = SV_TEST_TENSOR (1), *p = sv_test_tensor (SV_F32, x->ndim, x->shape);
  SvTensor *g = sv_test_tensor (SV_F32, x->ndim, x->shape);
  sv_softmax_xent_forward (loss, p, x, t, &error);
  g_assert_no_error (error);
  sv_softmax_xent_backward (g, dloss, p, t, &error);
  g_assert_no_error (error);
  g_snprintf (what, sizeof what, "torch xent loss (%s)", suffix);
  sv_test_assert_close (what, sv_tensor_f32 (loss), sv_tensor_f32 (want_loss), 1, 1e-4, 1e-5);
  g_snprintf (what, sizeof what, "torch xent grad (%s)", suffix);
  sv_test_assert_close (what, sv_tensor_f32 (g), sv_tensor_f32 (want_g), g->numel, 1e-4, 1e-5);
  SvTensor *all[] = { x, t, want_loss, want_g, loss, p, g };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_torch_loss (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  GError *error = NULL;
  SvTensor *dloss = sv_test_ref (st, "dloss");
  torch_xent (st, "soft", dloss);
  torch_xent (st, "onehot", dloss);
  torch_xent (st, "big", dloss);

  SvTensor *a = sv_test_ref (st, "a"), *b = sv_test_ref (st, "b");
  SvTensor *want_loss = sv_test_ref (st, "loss_mse");
  SvTensor *want_ga = sv_test_ref (st, "ga"), *want_gb = sv_test_ref (st, "gb");
  SvTensor *loss = SV_TEST_TENSOR (1), *ga = sv_test_tensor (SV_F32, a->ndim, a->shape);
  SvTensor *gb = sv_test_tensor (SV_F32, b->ndim, b->shape);
  sv_mse_forward (loss, a, b, &error);
  g_assert_no_error (error);
  sv_mse_backward (ga, gb, dloss, a, b, &error);
  g_assert_no_error (error);
  sv_test_assert_close ("torch mse loss", sv_tensor_f32 (loss), sv_tensor_f32 (want_loss), 1, 1e-4,
                        1e-5);
  sv_test_assert_close ("torch mse ga", sv_tensor_f32 (ga), sv_tensor_f32 (want_ga), ga->numel,
                        1e-4, 1e-5);
  sv_test_assert_close ("torch mse gb", sv_tensor_f32 (gb), sv_tensor_f32 (want_gb), gb->numel,
                        1e-4, 1e-5);
  SvTensor *all[] = { dloss, a, b, want_loss, want_ga, want_gb, loss, ga, gb };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/softmax-xent/forward-backward", test_xent);
  g_test_add_func ("/softmax-xent/shapes", test_xent_shapes);
  g_test_add_func ("/loss/determinism", test_loss_determinism);
  g_test_add_func ("/mse/forward-backward", test_mse);
  g_test_add_func ("/loss/errors", test_loss_errors);
  g_test_add_func ("/torch/loss", test_torch_loss);
  return g_test_run ();
}
