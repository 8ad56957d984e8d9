/* Test helpers: random data, closeness checks, finite-difference gradient checks,
 * and loading PyTorch reference files. */
#pragma once

#include "svilm-core.h"

#include <glib.h>

G_BEGIN_DECLS

/* A host tensor from the CPU backend; freed by sv_tensor_free(). */
SvTensor *sv_test_tensor (SvDType dtype, int ndim, const int64_t *shape);
#define SV_TEST_TENSOR(...)                                                                        \
  sv_test_tensor (SV_F32, sizeof ((int64_t[]){ __VA_ARGS__ }) / sizeof (int64_t),                  \
                  (int64_t[]){ __VA_ARGS__ })

void sv_test_fill (SvTensor *t, SvRng *rng, float lo, float hi);

/* Fails the test (g_test_fail + message) if any |got - want| > atol + rtol |want|.
 * Returns the max abs error. */
double sv_test_assert_close (const char *what, const float *got, const float *want, size_t n,
                             double rtol, double atol);

/* Loss used for gradient checks: returns a scalar (double) computed from a forward
 * pass, typically sum(out * w) for a fixed random w. */
typedef double (*SvTestLossFn) (gpointer user);

/* Central finite differences of loss w.r.t. param[0..n) (all elements when n <= max_checks,
 * otherwise max_checks evenly spaced ones) compared with analytic[]: fails the test when
 * |fd - an| > atol + rtol * max(|fd|, |an|). */
void sv_test_gradcheck (const char *what, float *param, size_t n, const float *analytic,
                        SvTestLossFn loss, gpointer user, double eps, double rtol, double atol,
                        size_t max_checks);

/* sum(t * w) in double precision */
double sv_test_dot (const SvTensor *t, const SvTensor *w);

/* Expects fn to have failed with an SV_ERROR of `code` and a non-empty message. */
void sv_test_expect_error (GError **error, int code);

/* PyTorch references: returns the safetensors file given to the test program as
 * its first non-option argument (see tests/torch/run-torch-ref.sh), or skips the
 * test when none was given. */
SvSafetensors *sv_test_torch_refs (void);
/* Host tensor copy of a reference entry; fails the test if absent. */
SvTensor *sv_test_ref (SvSafetensors *st, const char *name);
/* Scalar stored as a 1-element tensor. */
float sv_test_ref_scalar (SvSafetensors *st, const char *name);

/* call first in main(): g_test_init + remembers argv[1] for sv_test_torch_refs */
void sv_test_init (int *argc, char ***argv);

G_END_DECLS
