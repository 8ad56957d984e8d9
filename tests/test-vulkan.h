/* The Vulkan tests (tests/test-vulkan*.c, one program): helpers shared by the
 * files, defined in test-vulkan.c, and the test groups of the other files. */
#pragma once

#include "sv-test.h"

G_BEGIN_DECLS

extern SvBackend *vk; /* "vulkan", NULL when there is no device */
extern SvBackend *cpu;

/* the same tensor on both backends */
typedef struct {
  SvTensor *c, *v;
} Pair;

/* values uniform in [lo, hi) when rng (F32), zeros otherwise; the same on both */
Pair pair_new (SvDType dt, int ndim, const int64_t *shape, SvRng *rng, float lo, float hi);
void pair_free (Pair *p);
void pairs_free (Pair **p, size_t n);
/* the CPU tensor's host values uploaded into the Vulkan one */
void upload_host (Pair *p);
/* the Vulkan tensor downloaded and compared with the CPU one; the max abs error */
double check (const char *what, const Pair *p, double rtol, double atol);
/* absolute tolerance of a sum of K products of magnitude ~1 */
double tol_k (int K);
/* FALSE (and the test skipped) without a Vulkan device */
gboolean need_vk (void);

#define NDIMS(...) (int) (sizeof ((int64_t[]){ __VA_ARGS__ }) / sizeof (int64_t))
/* random in [lo, hi) */
#define PAIR(rng, lo, hi, ...)                                                                     \
  pair_new (SV_F32, NDIMS (__VA_ARGS__), (int64_t[]){ __VA_ARGS__ }, rng, lo, hi)
#define ZPAIR(...) PAIR (NULL, 0, 0, __VA_ARGS__)
#define FREE_PAIRS(...)                                                                            \
  pairs_free ((Pair *[]){ __VA_ARGS__ }, sizeof ((Pair *[]){ __VA_ARGS__ }) / sizeof (Pair *))

/* test-vulkan-train.c: STGT graph attention, the optimiser on the device */
void test_vulkan_add_train (void);

G_END_DECLS
