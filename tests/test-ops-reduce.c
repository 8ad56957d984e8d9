/* mean over axes, l2norm and cosine similarity: forward vs naive double loops,
 * backward vs finite differences, shape/argument errors, thread-count
 * determinism, and PyTorch references (/torch/ cases). */
#include "sv-test.h"

#include <math.h>
#include <string.h>

/* ---- mean ---- */

/* kept flat index of inp flat index i */
static size_t
naive_kept_index (size_t i, int ndim, const int64_t *shape, unsigned mask, size_t *count)
{
  size_t k = 0, kstride = 1;
  *count = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    size_t idx = i % (size_t) shape[d];
    i /= (size_t) shape[d];
    if ((mask >> d) & 1u) {
      *count *= (size_t) shape[d];
    } else {
      k += idx * kstride;
      kstride *= (size_t) shape[d];
    }
  }
  return k;
}

static size_t
kept_numel (int ndim, const int64_t *shape, unsigned mask, int *kndim, int64_t *kshape)
{
  size_t n = 1;
  *kndim = 0;
  for (int d = 0; d < ndim; d++)
    if (!((mask >> d) & 1u)) {
      kshape[(*kndim)++] = shape[d];
      n *= (size_t) shape[d];
    }
  return n;
}

typedef struct {
  SvTensor *out, *inp, *probe;
  unsigned mask;
} MeanCase;

static double
mean_loss (gpointer user)
{
  MeanCase *c = user;
  GError *error = NULL;
  sv_mean_forward (c->out, c->inp, c->mask, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

static void
check_mean (int ndim, const int64_t *shape, unsigned mask, gboolean gradcheck)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, 1000 + mask);
  int kndim;
  int64_t kshape[SV_MAX_DIMS];
  size_t out_n = kept_numel (ndim, shape, mask, &kndim, kshape);
  MeanCase c = {
    .out = sv_test_tensor (SV_F32, kndim, kshape),
    .inp = sv_test_tensor (SV_F32, ndim, shape),
    .probe = sv_test_tensor (SV_F32, kndim, kshape),
    .mask = mask,
  };
  sv_test_fill (c.inp, &rng, -1, 1);
  sv_test_fill (c.probe, &rng, -1, 1);
  g_assert_true (sv_mean_forward (c.out, c.inp, mask, &error));
  g_assert_no_error (error);

  size_t n = c.inp->numel, count = 1;
  double *acc = g_new0 (double, out_n);
  const float *x = sv_tensor_f32 (c.inp);
  for (size_t i = 0; i < n; i++)
    acc[naive_kept_index (i, ndim, shape, mask, &count)] += x[i];
  float *want = g_new (float, out_n);
  for (size_t o = 0; o < out_n; o++)
    want[o] = (float) (acc[o] / (double) count);
  char what[128];
  g_snprintf (what, sizeof what, "mean forward (rank %d, mask 0x%x)", ndim, mask);
  sv_test_assert_close (what, sv_tensor_f32 (c.out), want, out_n, 1e-5, 1e-6);

  /* keepdim and flattened out forms give the same values */
  int64_t kd[SV_MAX_DIMS];
  for (int d = 0; d < ndim; d++)
    kd[d] = ((mask >> d) & 1u) ? 1 : shape[d];
  SvTensor *okd = sv_test_tensor (SV_F32, ndim, kd);
  SvTensor *oflat = SV_TEST_TENSOR ((int64_t) out_n);
  g_assert_true (sv_mean_forward (okd, c.inp, mask, &error));
  g_assert_no_error (error);
  g_assert_true (sv_mean_forward (oflat, c.inp, mask, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("mean keepdim out", sv_tensor_f32 (okd), sv_tensor_f32 (c.out), out_n, 0,
                        0);
  sv_test_assert_close ("mean flat out", sv_tensor_f32 (oflat), sv_tensor_f32 (c.out), out_n, 0, 0);

  /* backward onto a non-zero start: dinp[i] = start + probe[k(i)] / count */
  SvTensor *dinp = sv_test_tensor (SV_F32, ndim, shape);
  sv_test_fill (dinp, &rng, -1, 1);
  float *wd = g_new (float, n);
  const float *pr = sv_tensor_f32 (c.probe);
  for (size_t i = 0; i < n; i++) {
    size_t k = naive_kept_index (i, ndim, shape, mask, &count);
    wd[i] = (float) (sv_tensor_f32 (dinp)[i] + (double) pr[k] / (double) count);
  }
  g_assert_true (sv_mean_backward (dinp, c.probe, mask, &error));
  g_assert_no_error (error);
  g_snprintf (what, sizeof what, "mean backward (rank %d, mask 0x%x)", ndim, mask);
  sv_test_assert_close (what, sv_tensor_f32 (dinp), wd, n, 1e-5, 1e-6);
  if (gradcheck) {
    sv_tensor_zero (dinp, &error);
    sv_mean_backward (dinp, c.probe, mask, &error);
    g_assert_no_error (error);
    sv_test_gradcheck (what, sv_tensor_f32 (c.inp), n, sv_tensor_f32 (dinp), mean_loss, &c, 1e-2,
                       1e-3, 1e-4, 200);
  }

  g_free (acc);
  g_free (want);
  g_free (wd);
  SvTensor *all[] = { c.out, c.inp, c.probe, okd, oflat, dinp };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_mean (void)
{
  /* the model's uses: spatial mean of [B, Nt, H', W', D], mean over tokens */
  check_mean (5, (int64_t[]){ 2, 3, 4, 5, 6 }, 0x0c, TRUE);
  check_mean (3, (int64_t[]){ 2, 7, 33 }, 0x2, TRUE);
  /* every mask of a few shapes, with size-1 axes and odd sizes */
  const int64_t shapes[][5] = { { 2, 1, 3, 7, 2 }, { 1, 7, 1, 1, 3 }, { 3, 2, 2, 5, 1 } };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (unsigned mask = 0; mask < 32; mask++)
      check_mean (5, shapes[s], mask, mask % 7 == 0);
  for (unsigned mask = 0; mask < 8; mask++)
    check_mean (3, (int64_t[]){ 7, 33, 1 }, mask, FALSE);
  for (unsigned mask = 0; mask < 4; mask++)
    check_mean (2, (int64_t[]){ 33, 7 }, mask, mask == 3);
  check_mean (1, (int64_t[]){ 1 }, 0x1, TRUE);
  check_mean (1, (int64_t[]){ 33 }, 0x1, TRUE);
  check_mean (1, (int64_t[]){ 33 }, 0x0, TRUE);
  check_mean (0, NULL, 0x0, TRUE); /* a scalar: copy */
  /* wide rows (more than one column block), and long reductions */
  check_mean (3, (int64_t[]){ 3, 5, 600 }, 0x2, FALSE);
  check_mean (2, (int64_t[]){ 1, 1000 }, 0x1, FALSE);
  check_mean (2, (int64_t[]){ 1000, 3 }, 0x1, FALSE);
  check_mean (2, (int64_t[]){ 3, 1000 }, 0x2, FALSE);
  check_mean (4, (int64_t[]){ 2, 50, 3, 70 }, 0xa, FALSE);
}

static void
test_mean_deterministic (void)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, 9);
  SvTensor *x = SV_TEST_TENSOR (4, 8, 14, 14, 300);
  SvTensor *o1 = SV_TEST_TENSOR (4, 8, 300), *o8 = SV_TEST_TENSOR (4, 8, 300);
  SvTensor *s1 = SV_TEST_TENSOR (1), *s8 = SV_TEST_TENSOR (1);
  sv_test_fill (x, &rng, -1, 1);
  int saved = sv_get_num_threads ();
  sv_set_num_threads (1);
  sv_mean_forward (o1, x, 0x0c, &error);
  sv_mean_forward (s1, x, 0x1f, &error);
  sv_set_num_threads (8);
  sv_mean_forward (o8, x, 0x0c, &error);
  sv_mean_forward (s8, x, 0x1f, &error);
  sv_set_num_threads (saved);
  g_assert_no_error (error);
  g_assert_true (memcmp (sv_tensor_f32 (o1), sv_tensor_f32 (o8), o1->numel * 4) == 0);
  g_assert_true (memcmp (sv_tensor_f32 (s1), sv_tensor_f32 (s8), 4) == 0);
  sv_tensor_free (x);
  sv_tensor_free (o1);
  sv_tensor_free (o8);
  sv_tensor_free (s1);
  sv_tensor_free (s8);
}

static void
test_mean_errors (void)
{
  GError *error = NULL;
  SvTensor *x = SV_TEST_TENSOR (2, 3, 4);
  SvTensor *o = SV_TEST_TENSOR (2, 4), *o_t = SV_TEST_TENSOR (4, 2), *o_n = SV_TEST_TENSOR (2, 3);
  SvTensor *o_3 = SV_TEST_TENSOR (2, 2, 2), *o_kd = SV_TEST_TENSOR (2, 1, 4);
  g_assert_true (sv_mean_forward (o, x, 0x2, &error));
  g_assert_true (sv_mean_forward (o_kd, x, 0x2, &error));
  g_assert_no_error (error);
  /* an axis beyond the rank */
  g_assert_false (sv_mean_forward (o, x, 0x2 | 0x8, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_mean_forward (o, x, 0x80000000u, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  /* right element count, wrong shape; wrong element count */
  g_assert_false (sv_mean_forward (o_t, x, 0x2, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_mean_forward (o_3, x, 0x2, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_mean_forward (o_n, x, 0x2, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_mean_backward (x, o_t, 0x2, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  /* the mean of an empty axis */
  SvTensor *e = SV_TEST_TENSOR (2, 0, 4);
  g_assert_false (sv_mean_forward (o, e, 0x2, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  /* an empty kept axis is fine (nothing to do) */
  SvTensor *e_o = SV_TEST_TENSOR (2, 0);
  g_assert_true (sv_mean_forward (e_o, e, 0x4, &error));
  g_assert_no_error (error);
  /* dtype */
  SvTensor *ids = sv_test_tensor (SV_I32, 3, (int64_t[]){ 2, 3, 4 });
  g_assert_false (sv_mean_forward (o, ids, 0x2, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  SvTensor *all[] = { x, o, o_t, o_n, o_3, o_kd, e, e_o, ids };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- l2norm ---- */

/* rows listed in `tiny` are scaled so that their norm is below eps (clamped regime) */
static void
make_rows (SvTensor *x, SvRng *rng, float eps, int every)
{
  sv_test_fill (x, rng, -1, 1);
  int64_t C = sv_tensor_last (x), N = sv_tensor_rows (x);
  float *p = sv_tensor_f32 (x);
  for (int64_t n = 0; n < N; n++) {
    double ss = 0;
    for (int64_t c = 0; c < C; c++)
      ss += (double) p[n * C + c] * p[n * C + c];
    double nr = sqrt (ss);
    /* keep every row well away from the threshold: finite differences must not cross it */
    double target = (every && n % every == 1) ? 0.4 * eps : MAX (nr, 3.0 * eps);
    for (int64_t c = 0; c < C; c++)
      p[n * C + c] = (float) (p[n * C + c] * (target / MAX (nr, 1e-30)));
  }
}

static void
naive_l2norm (float *out, const float *x, int64_t N, int64_t C, double eps)
{
  for (int64_t n = 0; n < N; n++) {
    double ss = 0;
    for (int64_t c = 0; c < C; c++)
      ss += (double) x[n * C + c] * x[n * C + c];
    double d = MAX (sqrt (ss), eps);
    for (int64_t c = 0; c < C; c++)
      out[n * C + c] = (float) (x[n * C + c] / d);
  }
}

typedef struct {
  SvTensor *out, *norm, *inp, *probe;
  float eps;
} L2Case;

static double
l2_loss (gpointer user)
{
  L2Case *c = user;
  GError *error = NULL;
  sv_l2norm_forward (c->out, c->norm, c->inp, c->eps, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

static void
check_l2norm (int ndim, const int64_t *shape, float eps, int tiny_every)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, 31 + (uint64_t) shape[ndim - 1]);
  L2Case c = {
    .out = sv_test_tensor (SV_F32, ndim, shape),
    .inp = sv_test_tensor (SV_F32, ndim, shape),
    .probe = sv_test_tensor (SV_F32, ndim, shape),
    .eps = eps,
  };
  int64_t C = sv_tensor_last (c.inp), N = sv_tensor_rows (c.inp);
  c.norm = SV_TEST_TENSOR (N);
  make_rows (c.inp, &rng, eps, tiny_every);
  sv_test_fill (c.probe, &rng, -1, 1);
  g_assert_true (sv_l2norm_forward (c.out, c.norm, c.inp, eps, &error));
  g_assert_no_error (error);
  float *want = g_new (float, c.inp->numel);
  naive_l2norm (want, sv_tensor_f32 (c.inp), N, C, eps);
  sv_test_assert_close ("l2norm forward", sv_tensor_f32 (c.out), want, c.inp->numel, 1e-5, 1e-6);
  g_free (want);

  SvTensor *dinp = sv_test_tensor (SV_F32, ndim, shape);
  sv_tensor_f32 (dinp)[0] = 0.5f;
  g_assert_true (sv_l2norm_backward (dinp, c.probe, c.out, c.norm, eps, &error));
  g_assert_no_error (error);
  sv_tensor_f32 (dinp)[0] -= 0.5f;
  /* nonlinear: the step is small next to the row norms (>= 3 eps, or 0.4 eps for
   * clamped rows, which are linear) and never crosses the eps threshold */
  sv_test_gradcheck ("l2norm dinp", sv_tensor_f32 (c.inp), c.inp->numel, sv_tensor_f32 (dinp),
                     l2_loss, &c, 2e-2 * eps, 2e-3, 2e-3, 400);
  sv_tensor_free (dinp);
  sv_tensor_free (c.out);
  sv_tensor_free (c.norm);
  sv_tensor_free (c.inp);
  sv_tensor_free (c.probe);
}

static void
test_l2norm (void)
{
  check_l2norm (2, (int64_t[]){ 1, 1 }, 1e-1f, 0);
  check_l2norm (2, (int64_t[]){ 2, 1 }, 1e-1f, 2); /* one clamped 1-element row */
  check_l2norm (2, (int64_t[]){ 7, 1 }, 0.5f, 3);  /* C = 1: y = sign(x) or x/eps */
  check_l2norm (2, (int64_t[]){ 7, 33 }, 0.5f, 3); /* both regimes */
  check_l2norm (3, (int64_t[]){ 3, 11, 7 }, 1e-1f, 4);
  check_l2norm (1, (int64_t[]){ 33 }, 1e-1f, 0);
  check_l2norm (2, (int64_t[]){ 33, 256 }, 1.0f, 2);
}

static void
test_l2norm_errors (void)
{
  GError *error = NULL;
  SvTensor *x = SV_TEST_TENSOR (3, 4), *o = SV_TEST_TENSOR (3, 4), *n = SV_TEST_TENSOR (3);
  SvTensor *o_bad = SV_TEST_TENSOR (4, 3), *n_bad = SV_TEST_TENSOR (4);
  g_assert_true (sv_l2norm_forward (o, n, x, 1e-6f, &error));
  g_assert_no_error (error);
  g_assert_false (sv_l2norm_forward (o, n, x, 0.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_l2norm_forward (o, n, x, -1.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_l2norm_forward (o, n, x, NAN, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_l2norm_forward (o_bad, n, x, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_l2norm_forward (o, n_bad, x, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_l2norm_forward (o, NULL, x, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_l2norm_backward (x, o_bad, o, n, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_l2norm_backward (o_bad, x, o, n, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_l2norm_backward (x, o, o, n_bad, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_true (sv_l2norm_backward (NULL, o, o, n, 1e-6f, &error));
  g_assert_no_error (error);
  SvTensor *all[] = { x, o, n, o_bad, n_bad };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- cosine similarity ---- */

typedef struct {
  SvTensor *sim, *an, *bn, *anorm, *bnorm, *a, *b, *probe;
  float eps;
} CosCase;

static double
cos_loss (gpointer user)
{
  CosCase *c = user;
  GError *error = NULL;
  sv_cosine_sim_forward (c->sim, c->an, c->bn, c->anorm, c->bnorm, c->a, c->b, c->eps, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->sim, c->probe);
}

/* batch 0 means 2-D operands (batch 1) */
static void
check_cosine (int batch, int Na, int Nb, int C, float eps)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, (uint64_t) (batch * 1000 + Na * 100 + Nb * 10 + C));
  int nb = batch ? batch : 1;
  CosCase c = { .eps = eps };
  if (batch) {
    c.a = SV_TEST_TENSOR (batch, Na, C);
    c.b = SV_TEST_TENSOR (batch, Nb, C);
    c.sim = SV_TEST_TENSOR (batch, Na, Nb);
    c.probe = SV_TEST_TENSOR (batch, Na, Nb);
  } else {
    c.a = SV_TEST_TENSOR (Na, C);
    c.b = SV_TEST_TENSOR (Nb, C);
    c.sim = SV_TEST_TENSOR (Na, Nb);
    c.probe = SV_TEST_TENSOR (Na, Nb);
  }
  c.an = sv_test_tensor (SV_F32, c.a->ndim, c.a->shape);
  c.bn = sv_test_tensor (SV_F32, c.b->ndim, c.b->shape);
  c.anorm = SV_TEST_TENSOR (nb * Na);
  c.bnorm = SV_TEST_TENSOR (nb * Nb);
  make_rows (c.a, &rng, eps, 3); /* every third row of a is in the clamped regime */
  make_rows (c.b, &rng, eps, 0);
  sv_test_fill (c.probe, &rng, -1, 1);
  g_assert_true (
      sv_cosine_sim_forward (c.sim, c.an, c.bn, c.anorm, c.bnorm, c.a, c.b, eps, &error));
  g_assert_no_error (error);

  float *an = g_new (float, c.a->numel), *bn = g_new (float, c.b->numel);
  naive_l2norm (an, sv_tensor_f32 (c.a), (int64_t) nb * Na, C, eps);
  naive_l2norm (bn, sv_tensor_f32 (c.b), (int64_t) nb * Nb, C, eps);
  float *want = g_new (float, c.sim->numel);
  for (int i = 0; i < nb; i++)
    for (int r = 0; r < Na; r++)
      for (int s = 0; s < Nb; s++) {
        double acc = 0;
        for (int k = 0; k < C; k++)
          acc += (double) an[((size_t) i * Na + r) * C + k] * bn[((size_t) i * Nb + s) * C + k];
        want[((size_t) i * Na + r) * Nb + s] = (float) acc;
      }
  sv_test_assert_close ("cosine sim forward", sv_tensor_f32 (c.sim), want, c.sim->numel, 1e-5,
                        1e-5);
  sv_test_assert_close ("cosine sim an", sv_tensor_f32 (c.an), an, c.a->numel, 1e-5, 1e-6);
  g_free (an);
  g_free (bn);
  g_free (want);

  /* backward: non-zero starts, scratch full of garbage (a bit larger than needed) */
  SvTensor *da = sv_test_tensor (SV_F32, c.a->ndim, c.a->shape);
  SvTensor *db = sv_test_tensor (SV_F32, c.b->ndim, c.b->shape);
  SvTensor *scratch = SV_TEST_TENSOR ((int64_t) nb * (Na + Nb) * C + 3);
  sv_test_fill (scratch, &rng, 50, 100);
  sv_tensor_f32 (da)[0] = 0.5f;
  sv_tensor_f32 (db)[0] = -0.5f;
  g_assert_true (
      sv_cosine_sim_backward (da, db, scratch, c.probe, c.an, c.bn, c.anorm, c.bnorm, eps, &error));
  g_assert_no_error (error);
  sv_tensor_f32 (da)[0] -= 0.5f;
  sv_tensor_f32 (db)[0] += 0.5f;
  sv_test_gradcheck ("cosine sim da", sv_tensor_f32 (c.a), c.a->numel, sv_tensor_f32 (da), cos_loss,
                     &c, 2e-2 * eps, 2e-3, 2e-3, 300);
  sv_test_gradcheck ("cosine sim db", sv_tensor_f32 (c.b), c.b->numel, sv_tensor_f32 (db), cos_loss,
                     &c, 2e-2 * eps, 2e-3, 2e-3, 300);

  /* only db: same values (scratch again dirty) */
  cos_loss (&c);
  SvTensor *db2 = sv_test_tensor (SV_F32, c.b->ndim, c.b->shape);
  sv_test_fill (scratch, &rng, 50, 100);
  g_assert_true (sv_cosine_sim_backward (NULL, db2, scratch, c.probe, c.an, c.bn, c.anorm, c.bnorm,
                                         eps, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("cosine sim db alone", sv_tensor_f32 (db2), sv_tensor_f32 (db), c.b->numel,
                        1e-5, 1e-6);

  SvTensor *all[] = {
    c.sim, c.an, c.bn, c.anorm, c.bnorm, c.a, c.b, c.probe, da, db, db2, scratch
  };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_cosine (void)
{
  check_cosine (0, 1, 1, 1, 0.1f);
  check_cosine (0, 1, 1, 7, 0.1f);
  check_cosine (0, 7, 5, 33, 0.1f);
  check_cosine (1, 1, 7, 5, 0.1f);
  check_cosine (3, 1, 1, 7, 0.1f);
  check_cosine (3, 7, 1, 5, 0.5f);
  check_cosine (2, 33, 7, 16, 0.1f);
  check_cosine (4, 8, 33, 24, 1e-2f);
}

static void
test_cosine_errors (void)
{
  GError *error = NULL;
  SvTensor *a = SV_TEST_TENSOR (2, 3, 4), *b = SV_TEST_TENSOR (2, 5, 4);
  SvTensor *an = SV_TEST_TENSOR (2, 3, 4), *bn = SV_TEST_TENSOR (2, 5, 4);
  SvTensor *anorm = SV_TEST_TENSOR (6), *bnorm = SV_TEST_TENSOR (10);
  SvTensor *sim = SV_TEST_TENSOR (2, 3, 5);
  g_assert_true (sv_cosine_sim_forward (sim, an, bn, anorm, bnorm, a, b, 1e-6f, &error));
  g_assert_no_error (error);
  SvTensor *b_batch = SV_TEST_TENSOR (3, 5, 4), *b_c = SV_TEST_TENSOR (2, 5, 3);
  SvTensor *a4 = SV_TEST_TENSOR (1, 2, 3, 4), *sim_t = SV_TEST_TENSOR (2, 5, 3);
  SvTensor *scratch = SV_TEST_TENSOR (2 * 8 * 4), *small = SV_TEST_TENSOR (2 * 8 * 4 - 1);
  SvTensor *da = SV_TEST_TENSOR (2, 3, 4), *da_bad = SV_TEST_TENSOR (2, 3, 5);
  g_assert_false (sv_cosine_sim_forward (sim, an, bn, anorm, bnorm, a, b_batch, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_cosine_sim_forward (sim, an, bn, anorm, bnorm, a, b_c, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_cosine_sim_forward (sim, an, bn, anorm, bnorm, a4, b, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_cosine_sim_forward (sim_t, an, bn, anorm, bnorm, a, b, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_cosine_sim_forward (sim, an, bn, bnorm, bnorm, a, b, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_cosine_sim_forward (sim, bn, bn, anorm, bnorm, a, b, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_cosine_sim_forward (sim, an, bn, anorm, bnorm, a, b, 0.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_true (
      sv_cosine_sim_backward (da, NULL, scratch, sim, an, bn, anorm, bnorm, 1e-6f, &error));
  g_assert_no_error (error);
  g_assert_false (
      sv_cosine_sim_backward (da, NULL, small, sim, an, bn, anorm, bnorm, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (
      sv_cosine_sim_backward (da, NULL, NULL, sim, an, bn, anorm, bnorm, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (
      sv_cosine_sim_backward (da_bad, NULL, scratch, sim, an, bn, anorm, bnorm, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (
      sv_cosine_sim_backward (da, NULL, scratch, sim_t, an, bn, anorm, bnorm, 1e-6f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  SvTensor *all[] = { a,   b,  an,    bn,      anorm, bnorm, sim,   b_batch,
                      b_c, a4, sim_t, scratch, small, da,    da_bad };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- PyTorch: tests/torch/ref_reduce.py ---- */

static void
torch_mean_case (SvSafetensors *st, const char *x_name, const char *y_name, const char *gy_name,
                 const char *gx_name, unsigned mask)
{
  GError *error = NULL;
  SvTensor *x = sv_test_ref (st, x_name), *y = sv_test_ref (st, y_name);
  SvTensor *gy = sv_test_ref (st, gy_name), *gx = sv_test_ref (st, gx_name);
  SvTensor *out = sv_test_tensor (SV_F32, y->ndim, y->shape);
  SvTensor *dx = sv_test_tensor (SV_F32, x->ndim, x->shape);
  g_assert_true (sv_mean_forward (out, x, mask, &error));
  g_assert_no_error (error);
  g_assert_true (sv_mean_backward (dx, gy, mask, &error));
  g_assert_no_error (error);
  sv_test_assert_close (y_name, sv_tensor_f32 (out), sv_tensor_f32 (y), y->numel, 1e-4, 1e-5);
  sv_test_assert_close (gx_name, sv_tensor_f32 (dx), sv_tensor_f32 (gx), gx->numel, 1e-4, 1e-5);
  SvTensor *all[] = { x, y, gy, gx, out, dx };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_torch_reduce (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  GError *error = NULL;

  /* the masks match the dims in ref_reduce.py */
  torch_mean_case (st, "mx", "my", "gmy", "gmx", 0x0c); /* dim=(2, 3) */
  torch_mean_case (st, "tx", "ty", "gty", "gtx", 0x02); /* dim=1 */
  torch_mean_case (st, "sx", "sy", "gsy", "gsx", 0x03); /* all, kept as [1] */

  /* l2norm, with rows in both regimes */
  float leps = sv_test_ref_scalar (st, "leps");
  SvTensor *lx = sv_test_ref (st, "lx"), *ly = sv_test_ref (st, "ly");
  SvTensor *gly = sv_test_ref (st, "gly"), *glx = sv_test_ref (st, "glx");
  SvTensor *lo = sv_test_tensor (SV_F32, ly->ndim, ly->shape);
  SvTensor *ln = SV_TEST_TENSOR (sv_tensor_rows (lx));
  SvTensor *ldx = sv_test_tensor (SV_F32, lx->ndim, lx->shape);
  g_assert_true (sv_l2norm_forward (lo, ln, lx, leps, &error));
  g_assert_no_error (error);
  g_assert_true (sv_l2norm_backward (ldx, gly, lo, ln, leps, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("torch l2norm y", sv_tensor_f32 (lo), sv_tensor_f32 (ly), ly->numel, 1e-4,
                        1e-5);
  /* clamped rows (norm < eps) have gradients gy / eps: large, but rtol covers them */
  sv_test_assert_close ("torch l2norm gx", sv_tensor_f32 (ldx), sv_tensor_f32 (glx), glx->numel,
                        1e-4, 1e-5);

  /* cosine similarity matrices */
  float ceps = sv_test_ref_scalar (st, "ceps");
  SvTensor *ca = sv_test_ref (st, "ca"), *cb = sv_test_ref (st, "cb");
  SvTensor *csim = sv_test_ref (st, "csim"), *gcsim = sv_test_ref (st, "gcsim");
  SvTensor *gca = sv_test_ref (st, "gca"), *gcb = sv_test_ref (st, "gcb");
  int64_t batch = ca->shape[0], Na = ca->shape[1], Nb = cb->shape[1], C = ca->shape[2];
  SvTensor *sim = sv_test_tensor (SV_F32, csim->ndim, csim->shape);
  SvTensor *an = sv_test_tensor (SV_F32, ca->ndim, ca->shape);
  SvTensor *bn = sv_test_tensor (SV_F32, cb->ndim, cb->shape);
  SvTensor *anorm = SV_TEST_TENSOR (batch * Na), *bnorm = SV_TEST_TENSOR (batch * Nb);
  SvTensor *scratch = SV_TEST_TENSOR (batch * (Na + Nb) * C);
  SvTensor *da = sv_test_tensor (SV_F32, ca->ndim, ca->shape);
  SvTensor *db = sv_test_tensor (SV_F32, cb->ndim, cb->shape);
  g_assert_true (sv_cosine_sim_forward (sim, an, bn, anorm, bnorm, ca, cb, ceps, &error));
  g_assert_no_error (error);
  g_assert_true (
      sv_cosine_sim_backward (da, db, scratch, gcsim, an, bn, anorm, bnorm, ceps, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("torch cosine sim", sv_tensor_f32 (sim), sv_tensor_f32 (csim), csim->numel,
                        1e-4, 1e-5);
  sv_test_assert_close ("torch cosine ga", sv_tensor_f32 (da), sv_tensor_f32 (gca), gca->numel,
                        1e-4, 1e-5);
  sv_test_assert_close ("torch cosine gb", sv_tensor_f32 (db), sv_tensor_f32 (gcb), gcb->numel,
                        1e-4, 1e-5);

  SvTensor *all[] = { lx,  ly,  gly, glx, lo, ln,    ldx,   ca,      cb, csim, gcsim,
                      gca, gcb, sim, an,  bn, anorm, bnorm, scratch, da, db };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/mean/forward-backward", test_mean);
  g_test_add_func ("/mean/deterministic", test_mean_deterministic);
  g_test_add_func ("/mean/errors", test_mean_errors);
  g_test_add_func ("/l2norm/forward-backward", test_l2norm);
  g_test_add_func ("/l2norm/errors", test_l2norm_errors);
  g_test_add_func ("/cosine-sim/forward-backward", test_cosine);
  g_test_add_func ("/cosine-sim/errors", test_cosine_errors);
  g_test_add_func ("/torch/reduce", test_torch_reduce);
  return g_test_run ();
}
