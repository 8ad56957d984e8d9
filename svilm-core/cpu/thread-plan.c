/* svilm-core CPU kernels: how a kernel made of many independent sgemm tasks uses the
 * threads (cpu/attention.c's comment has the reasoning; cpu/stgraph.c follows it).
 */
#include "sv-cpu-kernels.h"
#include "sv-omp.h"

#include <cblas.h>

/* below this many multiply-adds in all, threads cost more than they save */
#define SV_CPU_PARALLEL_MIN (1 << 16)
/* per-task multiply-adds from which a threaded sgemm pays off */
#define SV_CPU_THREADED_BLAS_MIN (1 << 22)

SvCpuPlan
sv_cpu_plan_begin (int tasks, double task_work, int *saved)
{
  *saved = 0;
  int nt = omp_get_max_threads ();
  if (nt <= 1 || omp_in_parallel () || tasks * task_work < SV_CPU_PARALLEL_MIN)
    return SV_CPU_PLAN_SERIAL;
  if (tasks < nt && task_work >= SV_CPU_THREADED_BLAS_MIN)
    return SV_CPU_PLAN_ROWS;
  if (openblas_get_parallel () == 1) { /* 1 = pthreads, 2 = OpenMP, 0 = sequential */
    int n = openblas_get_num_threads ();
    if (n > 1) {
      openblas_set_num_threads (1);
      *saved = n;
    }
  }
  return SV_CPU_PLAN_TASKS;
}

void
sv_cpu_plan_end (int saved)
{
  if (saved > 0)
    openblas_set_num_threads (saved);
}
