/* svilm-core ops: convolution patches (im2col), shape and argument checks, then the
 * backend.  A k x k convolution at stride s with zero padding is im2col followed by
 * sv_linear_forward with weight [OC, k*k*C]; that is how the video stem uses it.
 *
 * Shapes accepted: images [..., H, W, C] (at least 3 axes; the leading ones are N
 * images), cols [..., Ho, Wo, k*k*C] with the same leading axes,
 * Ho = (H + 2 pad - k) / s + 1 and Wo likewise (integer division: the last rows and
 * columns a stride does not reach are not used, as in torch's conv2d).
 */
#include "sv-error.h"
#include "sv-ops.h"

#define BE(t) ((t)->backend)

typedef struct {
  int64_t N, H, W, C, Ho, Wo, K;
} ConvDims;

static gboolean
conv_dims (const SvTensor *img, const SvTensor *cols, const char *op, const char *img_name,
           const char *cols_name, int k, int s, int pad, ConvDims *d, GError **error)
{
  char a[96], b[96];
  if (k < 1 || s < 1 || pad < 0 || pad >= k) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "%s: kernel %d, stride %d and padding %d are not a convolution (kernel and "
                 "stride must be positive, padding in [0, kernel))",
                 op, k, s, pad);
    return FALSE;
  }
  if (!sv_check_f32 (img, op, img_name, error) || !sv_check_f32 (cols, op, cols_name, error))
    return FALSE;
  if (img->ndim < 3) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: %s has shape %s, expected [..., H, W, C]",
                 op, img_name, sv_tensor_shape_str (img, a, sizeof a));
    return FALSE;
  }
  int nd = img->ndim;
  d->H = img->shape[nd - 3];
  d->W = img->shape[nd - 2];
  d->C = img->shape[nd - 1];
  d->N = 1;
  for (int i = 0; i < nd - 3; i++)
    d->N *= img->shape[i];
  if (d->H + 2 * pad < k || d->W + 2 * pad < k) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s of shape %s is smaller than the %d x %d kernel (padding %d)", op, img_name,
                 sv_tensor_shape_str (img, a, sizeof a), k, k, pad);
    return FALSE;
  }
  d->Ho = (d->H + 2 * pad - k) / s + 1;
  d->Wo = (d->W + 2 * pad - k) / s + 1;
  d->K = (int64_t) k * k * d->C;
  /* one image's elements and one image's columns must fit an int */
  if (d->H * d->W * d->C > G_MAXINT32 || d->Ho * d->Wo * d->K > G_MAXINT32) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE, "%s: %s of shape %s is too large", op, img_name,
                 sv_tensor_shape_str (img, a, sizeof a));
    return FALSE;
  }
  gboolean ok = cols->ndim == nd && cols->shape[nd - 3] == d->Ho && cols->shape[nd - 2] == d->Wo &&
                cols->shape[nd - 1] == d->K;
  for (int i = 0; ok && i < nd - 3; i++)
    ok = cols->shape[i] == img->shape[i];
  if (!ok) {
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: %s has shape %s, expected %s's leading axes and [%" G_GINT64_FORMAT
                 ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "] (%s is %s, kernel %d, stride "
                 "%d, padding %d)",
                 op, cols_name, sv_tensor_shape_str (cols, a, sizeof a), img_name, d->Ho, d->Wo,
                 d->K, img_name, sv_tensor_shape_str (img, b, sizeof b), k, s, pad);
    return FALSE;
  }
  return TRUE;
}

gboolean
sv_im2col_forward (SvTensor *cols, const SvTensor *images, int k, int stride, int pad,
                   GError **error)
{
  const char *op = "im2col";
  ConvDims d;
  if (!conv_dims (images, cols, op, "images", "cols", k, stride, pad, &d, error) ||
      !sv_check_same_backend (op, error, cols, images, NULL))
    return FALSE;
  BE (cols)->klass->im2col_forward (BE (cols), cols, images, (int) d.N, (int) d.H, (int) d.W,
                                    (int) d.C, k, stride, pad);
  return TRUE;
}

gboolean
sv_im2col_backward (SvTensor *dimages, const SvTensor *dcols, int k, int stride, int pad,
                    GError **error)
{
  const char *op = "im2col backward";
  ConvDims d;
  if (!dimages)
    return TRUE;
  if (!conv_dims (dimages, dcols, op, "dimages", "dcols", k, stride, pad, &d, error) ||
      !sv_check_same_backend (op, error, dimages, dcols, NULL))
    return FALSE;
  BE (dimages)->klass->im2col_backward (BE (dimages), dimages, dcols, (int) d.N, (int) d.H,
                                        (int) d.W, (int) d.C, k, stride, pad);
  return TRUE;
}
