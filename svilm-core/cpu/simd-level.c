/* svilm-core CPU kernels: which SIMD version of the vector kernels (cpu/vmath.h) runs. */
#include "vmath.h"

#include <stdlib.h>
#include <string.h>

SvSimdLevel
sv_cpu_simd_level (void)
{
  SvSimdLevel level = SV_SIMD_SSE2;
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
  /* libgcc sets these only where the OS saves the wider registers too (XGETBV) */
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    level = SV_SIMD_AVX2;
  if (level == SV_SIMD_AVX2 && __builtin_cpu_supports ("avx512f") &&
      __builtin_cpu_supports ("avx512vl") && __builtin_cpu_supports ("avx512bw") &&
      __builtin_cpu_supports ("avx512dq"))
    level = SV_SIMD_AVX512;
#endif
  const char *cap = getenv ("SVILM_SIMD");
  if (cap && strcmp (cap, "sse2") == 0)
    level = SV_SIMD_SSE2;
  else if (cap && strcmp (cap, "avx2") == 0 && level > SV_SIMD_AVX2)
    level = SV_SIMD_AVX2;
  return level;
}
