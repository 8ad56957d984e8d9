/* svilm-core: seeded, reproducible random numbers.
 *
 * xoshiro256** for sequential draws (init, data order, cut-and-paste), with a
 * state that can be saved in checkpoints and restored for exact resumption.
 * Counter-based draws (sv_rng_fill_*) take a stream id so that parallel
 * producers (Gumbel noise over many tokens) give the same numbers whatever the
 * thread count.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
  uint64_t s[4];
} SvRng;

void sv_rng_seed (SvRng *rng, uint64_t seed);
uint64_t sv_rng_next (SvRng *rng);
/* uniform in [0, 1) with 24 random bits */
float sv_rng_uniform (SvRng *rng);
/* uniform integer in [0, n), n > 0, without modulo bias */
uint32_t sv_rng_below (SvRng *rng, uint32_t n);
/* standard normal (Box-Muller) */
float sv_rng_normal (SvRng *rng);
void sv_rng_shuffle (SvRng *rng, uint32_t *items, size_t n);

/* Fill n values with N(mean, std^2), truncated to [-2 std, 2 std] like timm's trunc_normal_. */
void sv_rng_fill_trunc_normal (SvRng *rng, float *out, size_t n, float mean, float std);
void sv_rng_fill_uniform (SvRng *rng, float *out, size_t n, float lo, float hi);
/* Gumbel(0, 1) noise, -log(-log(u)); counter-based on (seed, stream, index) so the
 * values do not depend on the number of threads.  Advances nothing. */
void sv_rng_fill_gumbel (uint64_t seed, uint64_t stream, float *out, size_t n);

G_END_DECLS
