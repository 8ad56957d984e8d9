/* svilm-core: seeded, reproducible random numbers. */
#include "sv-rng.h"

#include <math.h>

static inline uint64_t
rotl (uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

/* splitmix64: seeds xoshiro and serves as the counter-based hash */
static inline uint64_t
splitmix64 (uint64_t *x)
{
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void
sv_rng_seed (SvRng *rng, uint64_t seed)
{
  uint64_t x = seed;
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
}

uint64_t
sv_rng_next (SvRng *rng)
{
  uint64_t *s = rng->s;
  const uint64_t result = rotl (s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

float
sv_rng_uniform (SvRng *rng)
{
  return (float) (sv_rng_next (rng) >> 40) * (1.0f / 16777216.0f);
}

uint32_t
sv_rng_below (SvRng *rng, uint32_t n)
{
  /* Lemire's multiply-shift with rejection */
  uint64_t m = (uint64_t) (uint32_t) (sv_rng_next (rng) >> 32) * n;
  uint32_t l = (uint32_t) m;
  if (l < n) {
    uint32_t t = -n % n;
    while (l < t) {
      m = (uint64_t) (uint32_t) (sv_rng_next (rng) >> 32) * n;
      l = (uint32_t) m;
    }
  }
  return (uint32_t) (m >> 32);
}

float
sv_rng_normal (SvRng *rng)
{
  /* u1 in (0, 1] so the log is finite */
  double u1 = ((double) (sv_rng_next (rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
  double u2 = (double) (sv_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
  return (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
}

void
sv_rng_shuffle (SvRng *rng, uint32_t *items, size_t n)
{
  for (size_t i = n; i > 1; i--) {
    uint32_t j = sv_rng_below (rng, (uint32_t) i);
    uint32_t t = items[i - 1];
    items[i - 1] = items[j];
    items[j] = t;
  }
}

void
sv_rng_fill_trunc_normal (SvRng *rng, float *out, size_t n, float mean, float std)
{
  for (size_t i = 0; i < n; i++) {
    float z;
    do
      z = sv_rng_normal (rng);
    while (z < -2.0f || z > 2.0f);
    out[i] = mean + std * z;
  }
}

void
sv_rng_fill_uniform (SvRng *rng, float *out, size_t n, float lo, float hi)
{
  for (size_t i = 0; i < n; i++)
    out[i] = lo + (hi - lo) * sv_rng_uniform (rng);
}

void
sv_rng_fill_gumbel (uint64_t seed, uint64_t stream, float *out, size_t n)
{
  uint64_t base = seed ^ (stream * 0xD1B54A32D192ED03ull);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) {
    uint64_t x = base + i * 0x9E3779B97F4A7C15ull;
    uint64_t h = splitmix64 (&x);
    /* u in (0, 1): both logs finite */
    double u = ((double) (h >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    out[i] = (float) -log (-log (u));
  }
}
