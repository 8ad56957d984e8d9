/* svilm-core: OpenMP when the build has it (meson option `openmp`), else one thread.
 *
 * Without OpenMP the `#pragma omp` loops run serially and these stand-ins answer the
 * calls the kernels make, so that the same code builds for ThreadSanitizer (libgomp is
 * not instrumented: its worker threads make every parallel loop look like a race). */
#pragma once

#ifdef _OPENMP
#include <omp.h>
#else
static inline int
omp_get_max_threads (void)
{
  return 1;
}
static inline int
omp_get_num_threads (void)
{
  return 1;
}
static inline int
omp_get_thread_num (void)
{
  return 0;
}
static inline int
omp_in_parallel (void)
{
  return 0;
}
static inline void
omp_set_num_threads (int n)
{
  (void) n;
}
#endif
