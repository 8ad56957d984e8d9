/* svilm-train: data-parallel training over MPI processes (Open MPI).
 *
 * `mpirun -np N svilm-train pretrain ...` runs N processes; each decodes its own share of
 * every step's micro-batches, the gradients are summed across processes before the
 * optimiser step (every process then makes the same update), and process 0 alone writes
 * checkpoints, metrics and the model.  Without MPI at build time, or when the program was
 * not started by mpirun, everything here is a single process of rank 0.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* MPI_Init when started by an MPI launcher (and built with MPI); call once, early */
void sv_dist_init (int *argc, char ***argv);
void sv_dist_finalize (void);
int sv_dist_rank (void);
int sv_dist_size (void);
/* element-wise sums over all processes, in place */
gboolean sv_dist_sum_floats (float *buf, size_t n, GError **error);
gboolean sv_dist_sum_u64 (uint64_t *buf, size_t n, GError **error);
/* the largest of every process's value */
int sv_dist_max_int (int value);
/* stops every process (after this one printed why) */
G_NORETURN void sv_dist_abort (int code);

G_END_DECLS
