/* svilm fuzz targets without libFuzzer: replays inputs once (the 'fuzz' test suite).
 *
 *   fuzz-TARGET [FILE | DIRECTORY]...
 *
 * feeds every file given, and every regular file of every directory given (in name
 * order, not recursing), to LLVMFuzzerTestOneInput().  Exits 0 when all of them ran;
 * a bug shows as a crash, a sanitizer report or an abort from a check.
 */
#include "fuzz-common.h"

#include <stdio.h>
#include <stdlib.h>

static int
cmp_str (const void *a, const void *b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static gboolean
run_file (const char *path)
{
  char *data = NULL;
  gsize len = 0;
  GError *error = NULL;
  if (!g_file_get_contents (path, &data, &len, &error)) {
    fprintf (stderr, "%s\n", error->message);
    g_error_free (error);
    return FALSE;
  }
  if (g_getenv ("SVILM_FUZZ_VERBOSE"))
    fprintf (stderr, "running %s (%" G_GSIZE_FORMAT " bytes)\n", path, len);
  /* a copy of exactly len bytes, so that ASan sees reads past the end */
  uint8_t *copy = g_memdup2 (data, len);
  LLVMFuzzerTestOneInput (copy, len);
  g_free (copy);
  g_free (data);
  return TRUE;
}

int
main (int argc, char **argv)
{
  sv_fuzz_input (NULL, 0);
  guint n = 0;
  gboolean ok = TRUE;
  for (int i = 1; i < argc; i++) {
    if (!g_file_test (argv[i], G_FILE_TEST_IS_DIR)) {
      ok &= run_file (argv[i]);
      n++;
      continue;
    }
    GError *error = NULL;
    GDir *d = g_dir_open (argv[i], 0, &error);
    if (!d) {
      fprintf (stderr, "%s\n", error->message);
      g_error_free (error);
      ok = FALSE;
      continue;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
    const char *name;
    while ((name = g_dir_read_name (d))) {
      char *p = g_build_filename (argv[i], name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (names, p);
      else
        g_free (p);
    }
    g_dir_close (d);
    qsort (names->pdata, names->len, sizeof (gpointer), cmp_str);
    for (guint k = 0; k < names->len; k++)
      ok &= run_file (g_ptr_array_index (names, k));
    n += names->len;
    g_ptr_array_unref (names);
  }
  printf ("%s: %u inputs replayed\n", argc > 0 ? argv[0] : "fuzz", n);
  if (n == 0) {
    fprintf (stderr, "no input given\n");
    return 1;
  }
  return ok ? 0 : 1;
}
