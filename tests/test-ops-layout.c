/* transpose (axis swap): forward vs index arithmetic, backward vs finite
 * differences, argument errors, PyTorch reference. */
#include "sv-test.h"

typedef struct {
  SvTensor *out, *inp, *probe;
  int axis;
} Case;

static double
loss (gpointer user)
{
  Case *c = user;
  GError *error = NULL;
  sv_transpose_forward (c->out, c->inp, c->axis, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->out, c->probe);
}

static void
check (int ndim, const int64_t *shape, int axis)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, 5);
  int64_t oshape[SV_MAX_DIMS];
  for (int i = 0; i < ndim; i++)
    oshape[i] = shape[i];
  oshape[axis] = shape[axis + 1];
  oshape[axis + 1] = shape[axis];
  Case c = { sv_test_tensor (SV_F32, ndim, oshape), sv_test_tensor (SV_F32, ndim, shape),
             sv_test_tensor (SV_F32, ndim, oshape), axis };
  sv_test_fill (c.inp, &rng, -1, 1);
  sv_test_fill (c.probe, &rng, -1, 1);
  sv_transpose_forward (c.out, c.inp, axis, &error);
  g_assert_no_error (error);

  /* naive: walk every input index and compute its output position */
  size_t A = 1, E = 1;
  for (int i = 0; i < axis; i++)
    A *= (size_t) shape[i];
  for (int i = axis + 2; i < ndim; i++)
    E *= (size_t) shape[i];
  size_t R = (size_t) shape[axis], C = (size_t) shape[axis + 1];
  float *want = g_new (float, c.inp->numel + 1);
  const float *x = sv_tensor_f32 (c.inp);
  for (size_t a = 0; a < A; a++)
    for (size_t r = 0; r < R; r++)
      for (size_t col = 0; col < C; col++)
        for (size_t e = 0; e < E; e++)
          want[((a * C + col) * R + r) * E + e] = x[((a * R + r) * C + col) * E + e];
  sv_test_assert_close ("transpose forward", sv_tensor_f32 (c.out), want, c.out->numel, 0, 0);
  g_free (want);

  SvTensor *dinp = sv_test_tensor (SV_F32, ndim, shape);
  sv_tensor_f32 (dinp)[0] = 1.0f; /* accumulates */
  sv_transpose_backward (dinp, c.probe, axis, &error);
  g_assert_no_error (error);
  sv_tensor_f32 (dinp)[0] -= 1.0f;
  sv_test_gradcheck ("transpose dinp", sv_tensor_f32 (c.inp), c.inp->numel, sv_tensor_f32 (dinp),
                     loss, &c, 1e-2, 1e-3, 1e-4, 300);
  sv_tensor_free (dinp);
  sv_tensor_free (c.out);
  sv_tensor_free (c.inp);
  sv_tensor_free (c.probe);
}

static void
test_transpose (void)
{
  check (2, (int64_t[]){ 1, 1 }, 0);
  check (2, (int64_t[]){ 7, 5 }, 0);
  check (3, (int64_t[]){ 3, 7, 33 }, 1);
  check (3, (int64_t[]){ 4, 6, 5 }, 0);
  check (4, (int64_t[]){ 2, 3, 5, 7 }, 1);
  check (5, (int64_t[]){ 2, 3, 4, 5, 2 }, 2);
}

static void
test_transpose_errors (void)
{
  GError *error = NULL;
  SvTensor *a = SV_TEST_TENSOR (3, 4), *b = SV_TEST_TENSOR (3, 4), *c = SV_TEST_TENSOR (4, 3);
  g_assert_false (sv_transpose_forward (b, a, 0, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_transpose_forward (c, a, 1, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_transpose_forward (c, a, -1, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_true (sv_transpose_forward (c, a, 0, &error));
  g_assert_no_error (error);
  sv_tensor_free (a);
  sv_tensor_free (b);
  sv_tensor_free (c);
}

static void
test_torch_transpose (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  GError *error = NULL;
  SvTensor *x = sv_test_ref (st, "x"), *y = sv_test_ref (st, "y"), *gy = sv_test_ref (st, "gy");
  SvTensor *gx = sv_test_ref (st, "gx");
  SvTensor *out = sv_test_tensor (SV_F32, y->ndim, y->shape);
  SvTensor *dx = sv_test_tensor (SV_F32, x->ndim, x->shape);
  sv_transpose_forward (out, x, 1, &error);
  g_assert_no_error (error);
  sv_transpose_backward (dx, gy, 1, &error);
  g_assert_no_error (error);
  sv_test_assert_close ("torch transpose y", sv_tensor_f32 (out), sv_tensor_f32 (y), y->numel, 0,
                        0);
  sv_test_assert_close ("torch transpose gx", sv_tensor_f32 (dx), sv_tensor_f32 (gx), gx->numel, 0,
                        0);
  SvTensor *all[] = { x, y, gy, gx, out, dx };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/transpose/forward-backward", test_transpose);
  g_test_add_func ("/transpose/errors", test_transpose_errors);
  g_test_add_func ("/torch/transpose", test_torch_transpose);
  return g_test_run ();
}
