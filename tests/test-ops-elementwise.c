/* GELU, broadcast add and scale: forward vs naive double loops, backward vs
 * finite differences, in-place use, thread-count independence, shape/argument
 * errors, and PyTorch references (/torch/ cases, tests/torch/ref_elementwise.py). */
#include "sv-test.h"

#include <math.h>
#include <string.h>

static SvTensor *
tensor_like (const SvTensor *t)
{
  return sv_test_tensor (SV_F32, t->ndim, t->shape);
}

static SvTensor *
tensor_of (int ndim, const int64_t *shape)
{
  return sv_test_tensor (SV_F32, ndim, shape);
}

/* fills t with random values and returns a copy of them */
static float *
fill_copy (SvTensor *t, SvRng *rng, float lo, float hi)
{
  sv_test_fill (t, rng, lo, hi);
  return g_memdup2 (sv_tensor_f32 (t), t->numel * 4);
}

static void
subtract (SvTensor *t, const float *start)
{
  for (size_t i = 0; i < t->numel; i++)
    sv_tensor_f32 (t)[i] -= start[i];
}

/* ---- GELU ---- */

static double
naive_gelu (double x)
{
  return 0.5 * x * (1.0 + erf (x / sqrt (2.0)));
}

typedef struct {
  SvTensor *out, *inp, *probe;
} GeluCase;

static double
gelu_loss (gpointer user)
{
  GeluCase *c = user;
  GError *error = NULL;
  sv_gelu_forward (c->out, c->inp, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

static void
check_gelu (int ndim, const int64_t *shape)
{
  SvRng rng;
  GError *error = NULL;
  GeluCase c = { tensor_of (ndim, shape), tensor_of (ndim, shape), tensor_of (ndim, shape) };
  size_t n = c.inp->numel;
  sv_rng_seed (&rng, n);
  sv_test_fill (c.inp, &rng, -6, 6);
  sv_test_fill (c.probe, &rng, -1, 1);
  g_assert_true (sv_gelu_forward (c.out, c.inp, &error));
  g_assert_no_error (error);
  float *want = g_new (float, n + 1);
  for (size_t i = 0; i < n; i++)
    want[i] = (float) naive_gelu (sv_tensor_f32 (c.inp)[i]);
  /* erf's absolute error (under 5e-7, vmath.h) reaches the output as 0.5 |x| times it:
   * 1.5e-6 for |x| <= 6, which the atol allows where the values are tiny (x << 0) */
  sv_test_assert_close ("gelu forward", sv_tensor_f32 (c.out), want, n, 1e-5, 1.5e-6);

  /* in place: out is the input */
  SvTensor *inplace = tensor_like (c.inp);
  memcpy (sv_tensor_f32 (inplace), sv_tensor_f32 (c.inp), n * 4);
  g_assert_true (sv_gelu_forward (inplace, inplace, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("gelu in place", sv_tensor_f32 (inplace), sv_tensor_f32 (c.out), n, 0, 0);

  /* backward accumulates onto a non-zero gradient */
  SvTensor *dinp = tensor_like (c.inp);
  float *start = fill_copy (dinp, &rng, -1, 1);
  g_assert_true (sv_gelu_backward (dinp, c.probe, c.inp, &error));
  g_assert_no_error (error);
  subtract (dinp, start);
  sv_test_gradcheck ("gelu dinp", sv_tensor_f32 (c.inp), n, sv_tensor_f32 (dinp), gelu_loss, &c,
                     1e-2, 1e-3, 1e-3, 300);
  /* NULL gradient: nothing to do */
  g_assert_true (sv_gelu_backward (NULL, c.probe, c.inp, &error));
  g_assert_no_error (error);

  g_free (want);
  g_free (start);
  SvTensor *all[] = { c.out, c.inp, c.probe, inplace, dinp };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_gelu (void)
{
  check_gelu (1, (int64_t[]){ 1 });
  check_gelu (1, (int64_t[]){ 7 });
  check_gelu (2, (int64_t[]){ 33, 3 });
  check_gelu (3, (int64_t[]){ 2, 5, 9 });
  check_gelu (2, (int64_t[]){ 50, 401 }); /* large enough for the parallel path */
}

/* special values: gelu(0) = 0, gelu'(0) = 1/2, far tails */
static void
test_gelu_values (void)
{
  GError *error = NULL;
  float xs[] = { 0.0f, 1.0f, -1.0f, 12.0f, -12.0f, 40.0f, -40.0f };
  int n = G_N_ELEMENTS (xs);
  SvTensor *x = SV_TEST_TENSOR (n), *y = SV_TEST_TENSOR (n), *dy = SV_TEST_TENSOR (n);
  SvTensor *dx = SV_TEST_TENSOR (n);
  memcpy (sv_tensor_f32 (x), xs, sizeof xs);
  for (int i = 0; i < n; i++)
    sv_tensor_f32 (dy)[i] = 1.0f;
  g_assert_true (sv_gelu_forward (y, x, &error));
  g_assert_true (sv_gelu_backward (dx, dy, x, &error));
  g_assert_no_error (error);
  const float *yv = sv_tensor_f32 (y), *dv = sv_tensor_f32 (dx);
  g_assert_cmpfloat (yv[0], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (dv[0], 0.5, 1e-7);
  g_assert_cmpfloat_with_epsilon (yv[1], 0.8413447460685429, 1e-6);
  g_assert_cmpfloat_with_epsilon (yv[2], -0.15865525393145707, 1e-7);
  g_assert_cmpfloat (yv[3], ==, 12.0f);
  g_assert_cmpfloat (fabsf (yv[4]), <, 1e-30f);
  g_assert_cmpfloat (yv[5], ==, 40.0f);
  g_assert_cmpfloat (yv[6], ==, 0.0f);
  g_assert_cmpfloat (dv[5], ==, 1.0f);
  g_assert_cmpfloat (dv[6], ==, 0.0f);
  for (int i = 0; i < n; i++)
    g_assert_true (isfinite (yv[i]) && isfinite (dv[i]));
  SvTensor *all[] = { x, y, dy, dx };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- add with broadcast ---- */

typedef struct {
  SvTensor *out, *a, *b, *probe;
} AddCase;

static double
add_loss (gpointer user)
{
  AddCase *c = user;
  GError *error = NULL;
  sv_add_forward (c->out, c->a, c->b, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

/* a has shape ashape[0..andim), b the last bndim of those axes */
static void
check_add (int andim, const int64_t *ashape, int bndim)
{
  SvRng rng;
  GError *error = NULL;
  AddCase c = {
    .out = tensor_of (andim, ashape),
    .a = tensor_of (andim, ashape),
    .b = tensor_of (bndim, ashape + andim - bndim),
    .probe = tensor_of (andim, ashape),
  };
  size_t n = c.a->numel, inner = c.b->numel, outer = inner ? n / inner : 0;
  sv_rng_seed (&rng, n * 31 + inner);
  sv_test_fill (c.a, &rng, -1, 1);
  sv_test_fill (c.b, &rng, -1, 1);
  sv_test_fill (c.probe, &rng, -1, 1);

  g_assert_true (sv_add_forward (c.out, c.a, c.b, &error));
  g_assert_no_error (error);
  float *want = g_new (float, n + 1);
  const float *a = sv_tensor_f32 (c.a), *b = sv_tensor_f32 (c.b);
  for (size_t o = 0; o < outer; o++)
    for (size_t i = 0; i < inner; i++)
      want[o * inner + i] = a[o * inner + i] + b[i];
  sv_test_assert_close ("add forward", sv_tensor_f32 (c.out), want, n, 0, 0);

  /* in-place residual add: out is a */
  SvTensor *acc = tensor_like (c.a);
  memcpy (sv_tensor_f32 (acc), a, n * 4);
  g_assert_true (sv_add_forward (acc, acc, c.b, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("add in place (out == a)", sv_tensor_f32 (acc), want, n, 0, 0);
  if (outer == 1) { /* no broadcast: out may also be b */
    SvTensor *bb = tensor_like (c.b);
    memcpy (sv_tensor_f32 (bb), b, inner * 4);
    g_assert_true (sv_add_forward (bb, c.a, bb, &error));
    g_assert_no_error (error);
    sv_test_assert_close ("add in place (out == b)", sv_tensor_f32 (bb), want, n, 0, 0);
    sv_tensor_free (bb);
  }

  /* backward accumulates onto non-zero gradients */
  SvTensor *da = tensor_like (c.a), *db = tensor_like (c.b);
  float *start_a = fill_copy (da, &rng, -1, 1), *start_b = fill_copy (db, &rng, -1, 1);
  g_assert_true (sv_add_backward (da, db, c.probe, &error));
  g_assert_no_error (error);
  subtract (da, start_a);
  subtract (db, start_b);
  sv_test_gradcheck ("add da", sv_tensor_f32 (c.a), n, sv_tensor_f32 (da), add_loss, &c, 1e-2, 1e-3,
                     1e-3, 200);
  sv_test_gradcheck ("add db", sv_tensor_f32 (c.b), inner, sv_tensor_f32 (db), add_loss, &c, 1e-2,
                     1e-3, 1e-3, 200);
  /* one gradient at a time gives the same values */
  SvTensor *da2 = tensor_like (c.a), *db2 = tensor_like (c.b);
  g_assert_true (sv_add_backward (da2, NULL, c.probe, &error));
  g_assert_true (sv_add_backward (NULL, db2, c.probe, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("add da alone", sv_tensor_f32 (da2), sv_tensor_f32 (c.probe), n, 0, 0);
  sv_test_assert_close ("add db alone", sv_tensor_f32 (db2), sv_tensor_f32 (db), inner, 1e-5, 1e-5);
  /* da may be dout itself (db is summed first) */
  SvTensor *g = tensor_like (c.a), *db3 = tensor_like (c.b);
  memcpy (sv_tensor_f32 (g), sv_tensor_f32 (c.probe), n * 4);
  g_assert_true (sv_add_backward (g, db3, g, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("add db with da == dout", sv_tensor_f32 (db3), sv_tensor_f32 (db2), inner,
                        0, 0);

  g_free (want);
  g_free (start_a);
  g_free (start_b);
  SvTensor *all[] = { c.out, c.a, c.b, c.probe, acc, da, db, da2, db2, g, db3 };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_add (void)
{
  int64_t s1[] = { 1 }, s7[] = { 7 }, s33[] = { 33, 7 }, s3[] = { 2, 3, 5 }, s4[] = { 3, 1, 4, 5 };
  int64_t big[] = { 16, 50, 40 };
  check_add (1, s1, 1);
  check_add (1, s7, 1);
  check_add (1, s7, 0); /* b is a 0-d scalar */
  check_add (2, s33, 2);
  check_add (2, s33, 1);
  check_add (3, s3, 3); /* residual add */
  check_add (3, s3, 2); /* position embedding [N, C] onto [B, N, C] */
  check_add (3, s3, 1); /* bias [C] */
  check_add (4, s4, 3);
  check_add (3, big, 2); /* parallel paths */
  check_add (3, big, 1);
}

/* db reduces over the outer axis: the result must not depend on the thread count */
static void
test_add_deterministic (void)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, 5);
  SvTensor *dout = SV_TEST_TENSOR (257, 3, 97);
  sv_test_fill (dout, &rng, -1, 1);
  int saved = sv_get_num_threads ();
  SvTensor *db[2];
  for (int r = 0; r < 2; r++) {
    sv_set_num_threads (r == 0 ? 1 : 3);
    db[r] = SV_TEST_TENSOR (3, 97);
    g_assert_true (sv_add_backward (NULL, db[r], dout, &error));
    g_assert_no_error (error);
  }
  sv_set_num_threads (saved);
  g_assert_true (memcmp (sv_tensor_f32 (db[0]), sv_tensor_f32 (db[1]), 3 * 97 * 4) == 0);
  sv_tensor_free (dout);
  sv_tensor_free (db[0]);
  sv_tensor_free (db[1]);
}

/* ---- scale ---- */

typedef struct {
  SvTensor *out, *inp, *probe;
  float alpha;
} ScaleCase;

static double
scale_loss (gpointer user)
{
  ScaleCase *c = user;
  GError *error = NULL;
  sv_scale_forward (c->out, c->inp, c->alpha, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

static void
check_scale (int ndim, const int64_t *shape, float alpha)
{
  SvRng rng;
  GError *error = NULL;
  ScaleCase c = { tensor_of (ndim, shape), tensor_of (ndim, shape), tensor_of (ndim, shape),
                  alpha };
  size_t n = c.inp->numel;
  sv_rng_seed (&rng, n + 3);
  sv_test_fill (c.inp, &rng, -2, 2);
  sv_test_fill (c.probe, &rng, -1, 1);
  g_assert_true (sv_scale_forward (c.out, c.inp, alpha, &error));
  g_assert_no_error (error);
  float *want = g_new (float, n + 1);
  for (size_t i = 0; i < n; i++)
    want[i] = (float) ((double) alpha * sv_tensor_f32 (c.inp)[i]);
  sv_test_assert_close ("scale forward", sv_tensor_f32 (c.out), want, n, 0, 0);

  SvTensor *inplace = tensor_like (c.inp);
  memcpy (sv_tensor_f32 (inplace), sv_tensor_f32 (c.inp), n * 4);
  g_assert_true (sv_scale_forward (inplace, inplace, alpha, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("scale in place", sv_tensor_f32 (inplace), want, n, 0, 0);

  SvTensor *dinp = tensor_like (c.inp);
  float *start = fill_copy (dinp, &rng, -1, 1);
  g_assert_true (sv_scale_backward (dinp, c.probe, alpha, &error));
  g_assert_no_error (error);
  subtract (dinp, start);
  sv_test_gradcheck ("scale dinp", sv_tensor_f32 (c.inp), n, sv_tensor_f32 (dinp), scale_loss, &c,
                     1e-2, 1e-3, 1e-3, 200);
  g_assert_true (sv_scale_backward (NULL, c.probe, alpha, &error));
  g_assert_no_error (error);

  g_free (want);
  g_free (start);
  SvTensor *all[] = { c.out, c.inp, c.probe, inplace, dinp };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_scale (void)
{
  check_scale (1, (int64_t[]){ 1 }, 2.5f);
  check_scale (1, (int64_t[]){ 7 }, -0.75f);
  check_scale (2, (int64_t[]){ 33, 5 }, 0.125f);
  check_scale (3, (int64_t[]){ 4, 100, 50 }, -3.0f);
  check_scale (1, (int64_t[]){ 9 }, 0.0f);
}

/* ---- errors ---- */

static void
test_elementwise_errors (void)
{
  GError *error = NULL;
  SvTensor *a = SV_TEST_TENSOR (2, 3, 4), *out = SV_TEST_TENSOR (2, 3, 4);
  SvTensor *flat = SV_TEST_TENSOR (24), *b34 = SV_TEST_TENSOR (3, 4), *b3 = SV_TEST_TENSOR (3);
  SvTensor *b24 = SV_TEST_TENSOR (2, 4), *b5d = SV_TEST_TENSOR (1, 2, 3, 4);
  SvTensor *ids = sv_test_tensor (SV_I32, 3, (int64_t[]){ 2, 3, 4 });

  /* gelu */
  g_assert_false (sv_gelu_forward (flat, a, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_gelu_forward (out, ids, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_gelu_forward (NULL, a, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_gelu_backward (out, flat, a, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_gelu_backward (flat, out, a, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_gelu_backward (ids, out, a, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);

  /* add: b must be the trailing axes of a */
  g_assert_false (sv_add_forward (out, a, b3, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_add_forward (out, a, b24, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_add_forward (out, a, b5d, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_add_forward (out, a, flat, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_add_forward (flat, a, b34, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_add_forward (out, a, ids, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_add_forward (out, NULL, b34, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_add_backward (out, b3, a, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_add_backward (flat, b34, a, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_add_backward (out, b34, ids, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_true (sv_add_backward (NULL, NULL, a, &error));
  g_assert_no_error (error);

  /* add: out partially overlapping a, or overlapping a broadcast b */
  SvTensor *rows = SV_TEST_TENSOR (5, 4), *v0, *v1, *vb;
  SvTensor view0, view1, viewb, viewb2;
  g_assert_true (sv_tensor_slice0 (&view0, rows, 0, 4, &error));
  g_assert_true (sv_tensor_slice0 (&view1, rows, 1, 4, &error));
  g_assert_true (sv_tensor_slice0 (&viewb, rows, 0, 1, &error));
  g_assert_true (sv_tensor_reshape (&viewb2, &viewb, 1, (int64_t[]){ 4 }, &error));
  g_assert_no_error (error);
  v0 = &view0;
  v1 = &view1;
  vb = &viewb2;
  g_assert_false (sv_add_forward (v1, v0, b3 /* unused */, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE); /* shape first: [3] is not trailing of [4,4] */
  SvTensor *b4 = SV_TEST_TENSOR (4), *a44 = SV_TEST_TENSOR (4, 4);
  g_assert_false (sv_add_forward (v1, v0, b4, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_add_forward (v0, a44, vb, &error)); /* out [rows 0..4) contains b = row 0 */
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_true (sv_add_forward (v0, v0, b4, &error)); /* exactly the same view: fine */
  g_assert_no_error (error);

  /* scale */
  g_assert_false (sv_scale_forward (out, a, INFINITY, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_scale_forward (out, a, NAN, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_scale_forward (flat, a, 2.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_scale_forward (v1, v0, 2.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_scale_backward (flat, a, 2.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_scale_backward (out, a, NAN, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_scale_backward (out, ids, 2.0f, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);

  SvTensor *all[] = { a, out, flat, b34, b3, b24, b5d, ids, rows, b4, a44 };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- PyTorch: tests/torch/ref_elementwise.py ---- */

static void
test_torch_elementwise (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  GError *error = NULL;

  /* gelu */
  SvTensor *gx = sv_test_ref (st, "gelu_x"), *gy_ref = sv_test_ref (st, "gelu_y");
  SvTensor *ggy = sv_test_ref (st, "gelu_gy"), *ggx = sv_test_ref (st, "gelu_gx");
  SvTensor *y = tensor_like (gy_ref), *dx = tensor_like (gx);
  g_assert_true (sv_gelu_forward (y, gx, &error));
  g_assert_true (sv_gelu_backward (dx, ggy, gx, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("torch gelu y", sv_tensor_f32 (y), sv_tensor_f32 (gy_ref), y->numel, 1e-4,
                        1e-5);
  sv_test_assert_close ("torch gelu gx", sv_tensor_f32 (dx), sv_tensor_f32 (ggx), dx->numel, 1e-4,
                        1e-5);
  SvTensor *gelu_all[] = { gx, gy_ref, ggy, ggx, y, dx };
  for (guint i = 0; i < G_N_ELEMENTS (gelu_all); i++)
    sv_tensor_free (gelu_all[i]);

  /* add: same shape, [N, C] onto [B, N, C], [C] onto [B, N, C] */
  const char *cases[] = { "same", "pos", "bias" };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++) {
    char name[64];
#define REF(base)                                                                                  \
  (g_snprintf (name, sizeof name, "add_%s_%s", cases[k], base), sv_test_ref (st, name))
    SvTensor *a = REF ("a"), *b = REF ("b"), *o = REF ("out"), *go = REF ("gout");
    SvTensor *ga = REF ("ga"), *gb = REF ("gb");
#undef REF
    SvTensor *out = tensor_like (o), *da = tensor_like (a), *db = tensor_like (b);
    g_assert_true (sv_add_forward (out, a, b, &error));
    g_assert_true (sv_add_backward (da, db, go, &error));
    g_assert_no_error (error);
    g_test_message ("add case %s", cases[k]);
    sv_test_assert_close ("torch add out", sv_tensor_f32 (out), sv_tensor_f32 (o), o->numel, 1e-4,
                          1e-5);
    sv_test_assert_close ("torch add ga", sv_tensor_f32 (da), sv_tensor_f32 (ga), ga->numel, 1e-4,
                          1e-5);
    sv_test_assert_close ("torch add gb", sv_tensor_f32 (db), sv_tensor_f32 (gb), gb->numel, 1e-4,
                          1e-5);
    /* in place, as the residual stream uses it */
    g_assert_true (sv_add_forward (a, a, b, &error));
    g_assert_no_error (error);
    sv_test_assert_close ("torch add in place", sv_tensor_f32 (a), sv_tensor_f32 (o), o->numel,
                          1e-4, 1e-5);
    SvTensor *add_all[] = { a, b, o, go, ga, gb, out, da, db };
    for (guint i = 0; i < G_N_ELEMENTS (add_all); i++)
      sv_tensor_free (add_all[i]);
  }

  /* scale */
  SvTensor *sx = sv_test_ref (st, "scale_x"), *sy = sv_test_ref (st, "scale_y");
  SvTensor *sgy = sv_test_ref (st, "scale_gy"), *sgx = sv_test_ref (st, "scale_gx");
  float alpha = sv_test_ref_scalar (st, "scale_alpha");
  SvTensor *so = tensor_like (sy), *sdx = tensor_like (sx);
  g_assert_true (sv_scale_forward (so, sx, alpha, &error));
  g_assert_true (sv_scale_backward (sdx, sgy, alpha, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("torch scale y", sv_tensor_f32 (so), sv_tensor_f32 (sy), sy->numel, 1e-4,
                        1e-5);
  sv_test_assert_close ("torch scale gx", sv_tensor_f32 (sdx), sv_tensor_f32 (sgx), sgx->numel,
                        1e-4, 1e-5);
  SvTensor *scale_all[] = { sx, sy, sgy, sgx, so, sdx };
  for (guint i = 0; i < G_N_ELEMENTS (scale_all); i++)
    sv_tensor_free (scale_all[i]);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/gelu/forward-backward", test_gelu);
  g_test_add_func ("/gelu/values", test_gelu_values);
  g_test_add_func ("/add/forward-backward", test_add);
  g_test_add_func ("/add/deterministic", test_add_deterministic);
  g_test_add_func ("/scale/forward-backward", test_scale);
  g_test_add_func ("/elementwise/errors", test_elementwise_errors);
  g_test_add_func ("/torch/elementwise", test_torch_elementwise);
  return g_test_run ();
}
