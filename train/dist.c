/* svilm-train: data-parallel training over MPI processes (see dist.h). */
#include "config.h"
#include "dist.h"

#include "sv-error.h"

#include <stdlib.h>

#ifdef HAVE_MPI
#include <mpi.h>

static gboolean active;
static int rank, size = 1;

/* started by mpirun / srun: Open MPI, PMI and PMIx set one of these */
static gboolean
launched (void)
{
  return g_getenv ("OMPI_COMM_WORLD_SIZE") || g_getenv ("PMI_SIZE") || g_getenv ("PMIX_RANK");
}

void
sv_dist_init (int *argc, char ***argv)
{
  if (active || !launched ())
    return;
  if (MPI_Init (argc, argv) != MPI_SUCCESS) {
    g_printerr ("svilm-train: MPI_Init failed; running as a single process\n");
    return;
  }
  active = TRUE;
  MPI_Comm_rank (MPI_COMM_WORLD, &rank);
  MPI_Comm_size (MPI_COMM_WORLD, &size);
}

void
sv_dist_finalize (void)
{
  if (active)
    MPI_Finalize ();
  active = FALSE;
}

int
sv_dist_rank (void)
{
  return rank;
}

int
sv_dist_size (void)
{
  return size;
}

/* MPI counts are ints: large buffers go in pieces */
#define CHUNK (1 << 28)

static gboolean
sum (void *buf, size_t n, MPI_Datatype type, size_t elem, GError **error)
{
  for (size_t off = 0; active && size > 1 && off < n; off += CHUNK) {
    int count = (int) MIN ((size_t) CHUNK, n - off);
    int rc = MPI_Allreduce (MPI_IN_PLACE, (char *) buf + off * elem, count, type, MPI_SUM,
                            MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) {
      char msg[MPI_MAX_ERROR_STRING];
      int len = 0;
      MPI_Error_string (rc, msg, &len);
      g_set_error (error, SV_ERROR, SV_ERROR_IO, "summing across MPI processes failed: %s", msg);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
sv_dist_sum_floats (float *buf, size_t n, GError **error)
{
  return sum (buf, n, MPI_FLOAT, sizeof (float), error);
}

gboolean
sv_dist_sum_u64 (uint64_t *buf, size_t n, GError **error)
{
  return sum (buf, n, MPI_UINT64_T, sizeof (uint64_t), error);
}

int
sv_dist_max_int (int value)
{
  int out = value;
  if (active && size > 1)
    MPI_Allreduce (&value, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

void
sv_dist_abort (int code)
{
  if (active && size > 1)
    MPI_Abort (MPI_COMM_WORLD, code);
  exit (code);
}

#else /* no MPI: one process */

void
sv_dist_init (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  /* several copies started by mpirun would each train alone into the same directory */
  const char *n = g_getenv ("OMPI_COMM_WORLD_SIZE");
  if (!n)
    n = g_getenv ("PMI_SIZE");
  if (n && atoi (n) > 1) {
    g_printerr ("svilm-train: started as %s MPI processes, but this svilm-train was built "
                "without MPI (install libopenmpi-dev and rebuild)\n",
                n);
    exit (1);
  }
}

void
sv_dist_finalize (void)
{
}

int
sv_dist_rank (void)
{
  return 0;
}

int
sv_dist_size (void)
{
  return 1;
}

gboolean
sv_dist_sum_floats (float *buf, size_t n, GError **error)
{
  (void) buf, (void) n, (void) error;
  return TRUE;
}

gboolean
sv_dist_sum_u64 (uint64_t *buf, size_t n, GError **error)
{
  (void) buf, (void) n, (void) error;
  return TRUE;
}

int
sv_dist_max_int (int value)
{
  return value;
}

void
sv_dist_abort (int code)
{
  exit (code);
}

#endif
