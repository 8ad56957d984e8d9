/* Benchmark: svilm-search's index at 10k, 100k and 1M clips.
 *
 * For each size, writes random unit embeddings into a temporary index (as
 * svilmretrieve does: prepared statements, a transaction per batch), loads it
 * as svilm-search does, and times random queries: the exact float32 scan
 * (cblas_sgemv + top-K heap) and, from SVILM_INDEX_EXACT_ROWS rows on, the int8
 * scan with exact rescoring that svilm-search uses, with its recall against the
 * exact scan.  Prints figures; never fails on speed.
 *
 * On a machine shared with other work, the CPU time per query (all threads) is
 * printed next to the wall times.
 *
 *   bench-search [--sizes 10000,100000,1000000] [--queries 50] [--dim 256] [--top 10]
 */
#include "svilm-index.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static guint64 rng_state = 0x9e3779b97f4a7c15ull;

static double
uniform (void)
{
  /* xorshift64*, deterministic */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return ((rng_state * 0x2545f4914f6cdd1dull) >> 11) * (1.0 / 9007199254740992.0);
}

/* an isotropic random unit vector (normalised Gaussians) */
static void
random_unit (float *x, guint dim)
{
  double ss = 0.0;
  for (guint i = 0; i < dim; i++) {
    double u = MAX (uniform (), 1e-300), v = uniform ();
    x[i] = (float) (sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v));
    ss += (double) x[i] * x[i];
  }
  for (guint i = 0; i < dim; i++)
    x[i] = (float) (x[i] / sqrt (ss));
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* CPU time of the process (all threads), ms */
static double
cpu_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* wall times per query, and the CPU time they took in all (threads summed): on a busy
 * machine the CPU time shows what the wall time would be on an idle one */
static void
report (const char *what, double *ms, guint n, double cpu)
{
  double sum = 0.0;
  for (guint i = 0; i < n; i++)
    sum += ms[i];
  qsort (ms, n, sizeof *ms, cmp_double);
  printf ("  %-28s mean %8.2f ms  median %8.2f ms  min %8.2f ms  max %8.2f ms  (CPU %.2f ms)\n",
          what, sum / n, ms[n / 2], ms[0], ms[n - 1], cpu / n);
}

static void
remove_index (const char *path)
{
  const char *suffix[] = { "", "-wal", "-shm", "-journal" };
  for (guint i = 0; i < G_N_ELEMENTS (suffix); i++) {
    char *p = g_strconcat (path, suffix[i], NULL);
    g_remove (p);
    g_free (p);
  }
}

static gboolean
bench_size (gsize n, guint dim, guint n_queries, guint top, const char *dir)
{
  GError *error = NULL;
  char *path = g_strdup_printf ("%s/bench-%" G_GSIZE_FORMAT ".db", dir, n);
  printf ("%" G_GSIZE_FORMAT " clips x %u floats\n", n, dim);

  /* write */
  gint64 t0 = g_get_monotonic_time ();
  SvilmIndex *idx = svilm_index_open (path, TRUE, &error);
  if (!idx || !svilm_index_set_model (idx, "bench-random", dim, &error))
    goto fail;
  svilm_index_set_batch (idx, 4096, 0);
  float *e = g_new (float, dim);
  for (gsize i = 0; i < n; i++) {
    random_unit (e, dim);
    char uri[64];
    g_snprintf (uri, sizeof uri, "file:///videos/video-%04u.mp4", (guint) (i / 1000));
    gint64 start = (gint64) (i % 1000) * 266666667;
    if (!svilm_index_add (idx, uri, start, start + 266666667, e, &error))
      goto fail;
  }
  g_free (e);
  svilm_index_close (idx);
  idx = NULL;
  gint64 t1 = g_get_monotonic_time ();
  GStatBuf st;
  g_stat (path, &st);
  printf ("  write                        %8.2f s (%.0f clips/s), file %.1f MB\n", (t1 - t0) / 1e6,
          n / ((t1 - t0) / 1e6), st.st_size / 1e6);

  /* load */
  double load_cpu = cpu_ms ();
  t0 = g_get_monotonic_time ();
  idx = svilm_index_open (path, FALSE, &error);
  SvilmIndexMatrix *m = idx ? svilm_index_load (idx, "bench-random", &error) : NULL;
  if (!m)
    goto fail;
  t1 = g_get_monotonic_time ();
  printf ("  load                         %8.2f s (CPU %.2f s)\n", (t1 - t0) / 1e6,
          (cpu_ms () - load_cpu) / 1e3);

  /* query */
  float *q = g_new (float, (gsize) n_queries *dim);
  for (guint i = 0; i < n_queries; i++)
    random_unit (q + (gsize) i * dim, dim);
  SvilmIndexHit *exact = g_new (SvilmIndexHit, (gsize) n_queries * top);
  SvilmIndexHit *fast = g_new (SvilmIndexHit, top);
  double *ms = g_new (double, n_queries);
  guint got = 0;
  double c0 = cpu_ms ();
  for (guint i = 0; i < n_queries; i++) {
    gint64 a = g_get_monotonic_time ();
    got = svilm_index_matrix_search (m, q + (gsize) i * dim, top, TRUE, exact + (gsize) i * top);
    ms[i] = (g_get_monotonic_time () - a) / 1e3;
  }
  report ("query, exact float32 scan", ms, n_queries, cpu_ms () - c0);
  if (n >= SVILM_INDEX_EXACT_ROWS) {
    guint found = 0;
    double max_diff = 0.0, cpu = 0.0;
    for (guint i = 0; i < n_queries; i++) {
      gint64 a = g_get_monotonic_time ();
      c0 = cpu_ms ();
      guint k = svilm_index_matrix_search (m, q + (gsize) i * dim, top, FALSE, fast);
      cpu += cpu_ms () - c0;
      ms[i] = (g_get_monotonic_time () - a) / 1e3;
      const SvilmIndexHit *ex = exact + (gsize) i * top;
      for (guint j = 0; j < k; j++) {
        for (guint l = 0; l < got; l++)
          if (ex[l].clip == fast[j].clip) {
            found++;
            max_diff = MAX (max_diff, fabs (ex[l].score - fast[j].score));
            break;
          }
      }
    }
    report ("query, int8 scan + rescore", ms, n_queries, cpu);
    printf ("  recall@%u of the int8 scan    %.4f (max score difference on common hits %.2g)\n",
            top, (double) found / ((double) n_queries * got), max_diff);
  }
  printf ("  top score (first query)      %.4f\n", exact[0].score);
  g_free (q);
  g_free (exact);
  g_free (fast);
  g_free (ms);
  svilm_index_matrix_free (m);
  svilm_index_close (idx);
  remove_index (path);
  g_free (path);
  return TRUE;

fail:
  fprintf (stderr, "bench-search: %s\n", error->message);
  g_clear_error (&error);
  svilm_index_close (idx);
  remove_index (path);
  g_free (path);
  return FALSE;
}

int
main (int argc, char **argv)
{
  char *sizes = NULL;
  int n_queries = 50, dim = 256, top = 10;
  GOptionEntry entries[] = {
    { "sizes", 's', 0, G_OPTION_ARG_STRING, &sizes, "Index sizes (default 10000,100000,1000000)",
      "N,N,..." },
    { "queries", 'q', 0, G_OPTION_ARG_INT, &n_queries, "Queries per size (default 50)", "Q" },
    { "dim", 'd', 0, G_OPTION_ARG_INT, &dim, "Embedding size (default 256)", "D" },
    { "top", 'k', 0, G_OPTION_ARG_INT, &top, "Clips per query (default 10)", "K" },
    { NULL },
  };
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new ("- benchmark the svilm search index");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || n_queries < 1 || dim < 1 || top < 1) {
    fprintf (stderr, "bench-search: %s\n", error ? error->message : "bad arguments");
    return 2;
  }
  g_option_context_free (ctx);
  char **list = g_strsplit (sizes ? sizes : "10000,100000,1000000", ",", -1);
  char *dir = g_dir_make_tmp ("svilm-bench-search-XXXXXX", &error);
  if (!dir) {
    fprintf (stderr, "bench-search: %s\n", error->message);
    return 1;
  }
  int status = 0;
  for (char **s = list; *s; s++) {
    gsize n = (gsize) g_ascii_strtoull (*s, NULL, 10);
    if (n > 0 && !bench_size (n, (guint) dim, (guint) n_queries, (guint) top, dir))
      status = 1;
    fflush (stdout);
  }
  g_rmdir (dir);
  g_free (dir);
  g_strfreev (list);
  g_free (sizes);
  return status;
}
