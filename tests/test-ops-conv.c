/* im2col: forward vs a naive convolution, backward vs finite differences, shape and
 * argument errors, thread-count determinism, and PyTorch's conv2d (/torch/ case). */
#include "sv-test.h"

#include <string.h>

typedef struct {
  SvTensor *cols, *img, *probe;
  int k, s, pad;
} ConvCase;

static double
conv_loss (gpointer user)
{
  ConvCase *c = user;
  GError *error = NULL;
  sv_im2col_forward (c->cols, c->img, c->k, c->s, c->pad, &error);
  g_assert_no_error (error);
  return sv_test_dot (c->cols, c->probe);
}

/* images [N, H, W, C] (or [B, T, H, W, C] with B*T = N when five_d) */
static void
check_im2col (int N, int H, int W, int C, int k, int s, int pad, gboolean five_d)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, (uint64_t) (N + H * 10 + W * 100 + C * 1000 + k + s + pad));
  int Ho = (H + 2 * pad - k) / s + 1, Wo = (W + 2 * pad - k) / s + 1, K = k * k * C;
  ConvCase c = { .k = k, .s = s, .pad = pad };
  if (five_d) {
    c.img = SV_TEST_TENSOR (2, N / 2, H, W, C);
    c.cols = SV_TEST_TENSOR (2, N / 2, Ho, Wo, K);
    c.probe = SV_TEST_TENSOR (2, N / 2, Ho, Wo, K);
  } else {
    c.img = SV_TEST_TENSOR (N, H, W, C);
    c.cols = SV_TEST_TENSOR (N, Ho, Wo, K);
    c.probe = SV_TEST_TENSOR (N, Ho, Wo, K);
  }
  sv_test_fill (c.img, &rng, -1, 1);
  sv_test_fill (c.probe, &rng, -1, 1);
  sv_test_fill (c.cols, &rng, 100, 200); /* every element must be written */
  g_assert_true (sv_im2col_forward (c.cols, c.img, k, s, pad, &error));
  g_assert_no_error (error);

  /* naive: the tap (ky, kx) of output (oy, ox) reads (oy*s - pad + ky, ox*s - pad + kx) */
  const float *im = sv_tensor_f32 (c.img);
  float *want = g_new (float, c.cols->numel);
  for (int n = 0; n < N; n++)
    for (int oy = 0; oy < Ho; oy++)
      for (int ox = 0; ox < Wo; ox++)
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++)
            for (int ch = 0; ch < C; ch++) {
              int y = oy * s - pad + ky, x = ox * s - pad + kx;
              float v = y < 0 || y >= H || x < 0 || x >= W
                            ? 0.0f
                            : im[(((size_t) n * H + y) * W + x) * C + ch];
              want[(((size_t) n * Ho + oy) * Wo + ox) * K + (ky * k + kx) * C + ch] = v;
            }
  sv_test_assert_close ("im2col forward", sv_tensor_f32 (c.cols), want, c.cols->numel, 0, 0);
  g_free (want);

  /* backward accumulates onto a non-zero start */
  SvTensor *dimg = sv_test_tensor (SV_F32, c.img->ndim, c.img->shape);
  float *d = sv_tensor_f32 (dimg);
  for (size_t i = 0; i < dimg->numel; i++)
    d[i] = 0.25f;
  g_assert_true (sv_im2col_backward (dimg, c.probe, k, s, pad, &error));
  g_assert_no_error (error);
  for (size_t i = 0; i < dimg->numel; i++)
    d[i] -= 0.25f;
  sv_test_gradcheck ("im2col dimages", sv_tensor_f32 (c.img), c.img->numel, d, conv_loss, &c, 1e-2,
                     1e-3, 1e-3, 300);
  sv_tensor_free (dimg);
  sv_tensor_free (c.cols);
  sv_tensor_free (c.img);
  sv_tensor_free (c.probe);
}

static void
test_im2col (void)
{
  check_im2col (1, 1, 1, 1, 1, 1, 0, FALSE);   /* a 1x1 convolution is the identity */
  check_im2col (2, 8, 8, 3, 3, 2, 1, FALSE);   /* the stem's layer */
  check_im2col (4, 9, 7, 2, 3, 2, 1, TRUE);    /* odd sizes: the stride leaves a column */
  check_im2col (1, 6, 5, 5, 3, 1, 1, FALSE);   /* stride 1, every tap overlaps */
  check_im2col (2, 11, 11, 1, 5, 3, 2, FALSE); /* bigger kernel than stride, wide padding */
  check_im2col (1, 4, 4, 2, 2, 2, 0, FALSE);   /* kernel = stride: patches, no overlap */
  check_im2col (1, 3, 3, 1, 3, 1, 2, FALSE);   /* padding wider than half the kernel */
}

/* the same result with one thread as with several (the gather has one writer per pixel) */
static void
test_im2col_deterministic (void)
{
  SvRng rng;
  GError *error = NULL;
  sv_rng_seed (&rng, 5);
  SvTensor *img = SV_TEST_TENSOR (16, 32, 32, 8), *cols = SV_TEST_TENSOR (16, 16, 16, 72);
  SvTensor *d1 = SV_TEST_TENSOR (16, 32, 32, 8), *d2 = SV_TEST_TENSOR (16, 32, 32, 8);
  sv_test_fill (img, &rng, -1, 1);
  sv_test_fill (cols, &rng, -1, 1);
  int saved = sv_get_num_threads ();
  sv_set_num_threads (1);
  g_assert_true (sv_im2col_backward (d1, cols, 3, 2, 1, &error));
  sv_set_num_threads (8);
  g_assert_true (sv_im2col_backward (d2, cols, 3, 2, 1, &error));
  sv_set_num_threads (saved);
  g_assert_no_error (error);
  g_assert_cmpmem (sv_tensor_f32 (d1), d1->numel * sizeof (float), sv_tensor_f32 (d2),
                   d2->numel * sizeof (float));
  SvTensor *all[] = { img, cols, d1, d2 };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

static void
test_im2col_errors (void)
{
  GError *error = NULL;
  SvTensor *img = SV_TEST_TENSOR (2, 8, 8, 3), *cols = SV_TEST_TENSOR (2, 4, 4, 27);
  g_assert_true (sv_im2col_forward (cols, img, 3, 2, 1, &error));
  g_assert_no_error (error);
  /* not a convolution */
  const int bad_args[][3] = { { 0, 2, 0 }, { 3, 0, 1 }, { 3, 2, -1 }, { 3, 2, 3 } };
  for (guint i = 0; i < G_N_ELEMENTS (bad_args); i++) {
    g_assert_false (
        sv_im2col_forward (cols, img, bad_args[i][0], bad_args[i][1], bad_args[i][2], &error));
    sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  }
  /* cols of the wrong size: no padding gives 3 x 3 positions, not 4 x 4 */
  g_assert_false (sv_im2col_forward (cols, img, 3, 2, 0, &error));
  g_assert_true (error && strstr (error->message, "[3, 3, 27]"));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  /* leading axes differ, rank too small, image smaller than the kernel */
  SvTensor *cols1 = SV_TEST_TENSOR (1, 4, 4, 27), *flat = SV_TEST_TENSOR (8, 3);
  SvTensor *tiny = SV_TEST_TENSOR (1, 2, 2, 3), *tcols = SV_TEST_TENSOR (1, 1, 1, 75);
  g_assert_false (sv_im2col_forward (cols1, img, 3, 2, 1, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_im2col_forward (cols, flat, 3, 2, 1, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_im2col_forward (tcols, tiny, 5, 1, 1, &error));
  g_assert_true (error && strstr (error->message, "smaller"));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  /* the backward checks the same, and a failed call writes nothing */
  SvTensor *dimg = SV_TEST_TENSOR (2, 8, 8, 3);
  g_assert_false (sv_im2col_backward (dimg, cols1, 3, 2, 1, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_im2col_backward (dimg, cols, 3, 2, 3, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  for (size_t i = 0; i < dimg->numel; i++)
    g_assert_cmpfloat (sv_tensor_f32 (dimg)[i], ==, 0.0f);
  g_assert_true (sv_im2col_backward (NULL, cols, 3, 2, 1, &error)); /* no gradient wanted */
  g_assert_no_error (error);
  SvTensor *all[] = { img, cols, cols1, flat, tiny, tcols, dimg };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
}

/* ---- PyTorch: tests/torch/ref_conv.py ---- */

static void
test_torch_conv (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  GError *error = NULL;
  int k = (int) sv_test_ref_scalar (st, "k"), s = (int) sv_test_ref_scalar (st, "s");
  int pad = (int) sv_test_ref_scalar (st, "pad");
  SvTensor *images = sv_test_ref (st, "images"), *cw = sv_test_ref (st, "cw");
  SvTensor *cb = sv_test_ref (st, "cb"), *y = sv_test_ref (st, "y"), *gy = sv_test_ref (st, "gy");
  SvTensor *gimages = sv_test_ref (st, "gimages"), *gcw = sv_test_ref (st, "gcw");
  SvTensor *gcb = sv_test_ref (st, "gcb");
  int64_t N = y->shape[0], Ho = y->shape[1], Wo = y->shape[2], K = cw->shape[1];
  SvTensor *cols = SV_TEST_TENSOR (N, Ho, Wo, K), *dcols = SV_TEST_TENSOR (N, Ho, Wo, K);
  SvTensor *out = sv_test_tensor (SV_F32, y->ndim, y->shape);
  SvTensor *dimages = sv_test_tensor (SV_F32, images->ndim, images->shape);
  SvTensor *dcw = sv_test_tensor (SV_F32, cw->ndim, cw->shape);
  SvTensor *dcb = sv_test_tensor (SV_F32, cb->ndim, cb->shape);
  g_assert_true (sv_im2col_forward (cols, images, k, s, pad, &error) &&
                 sv_linear_forward (out, cols, cw, cb, &error) &&
                 sv_linear_backward (dcols, dcw, dcb, gy, cols, cw, &error) &&
                 sv_im2col_backward (dimages, dcols, k, s, pad, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("torch conv y", sv_tensor_f32 (out), sv_tensor_f32 (y), y->numel, 1e-4,
                        1e-5);
  sv_test_assert_close ("torch conv gimages", sv_tensor_f32 (dimages), sv_tensor_f32 (gimages),
                        gimages->numel, 1e-4, 1e-5);
  sv_test_assert_close ("torch conv gweight", sv_tensor_f32 (dcw), sv_tensor_f32 (gcw), gcw->numel,
                        1e-4, 1e-5);
  sv_test_assert_close ("torch conv gbias", sv_tensor_f32 (dcb), sv_tensor_f32 (gcb), gcb->numel,
                        1e-4, 1e-5);
  SvTensor *all[] = {
    images, cw, cb, y, gy, gimages, gcw, gcb, cols, dcols, out, dimages, dcw, dcb
  };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
  sv_safetensors_close (st);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/im2col/forward-backward", test_im2col);
  g_test_add_func ("/im2col/deterministic", test_im2col_deterministic);
  g_test_add_func ("/im2col/errors", test_im2col_errors);
  g_test_add_func ("/torch/conv", test_torch_conv);
  return g_test_run ();
}
