/* svilm fuzz targets: shared helpers (fuzz-common.h). */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static gboolean verbose;
static const char *criticals_dir;
static const uint8_t *cur_data;
static size_t cur_size;

/* a critical in SVILM_FUZZ_CRITICALS mode: save the first input of each message */
static void
note_critical (const GLogField *fields, gsize n_fields)
{
  static GHashTable *seen;
  const char *msg = "";
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
      msg = fields[i].value;
  if (!seen)
    seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (g_hash_table_contains (seen, msg))
    return;
  g_hash_table_add (seen, g_strdup (msg));
  char *name = g_strdup_printf ("critical-%08x", g_str_hash (msg));
  char *path = g_build_filename (criticals_dir, name, NULL);
  g_file_set_contents (path, cur_data ? (const char *) cur_data : "", (gssize) cur_size, NULL);
  fprintf (stderr, "svilm-fuzz: CRITICAL %s (input saved to %s)\n", msg, path);
  g_free (path);
  g_free (name);
}

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  gboolean fatal = (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) != 0;
  if (fatal && criticals_dir && !(level & G_LOG_LEVEL_ERROR)) {
    note_critical (fields, n_fields);
    return G_LOG_WRITER_HANDLED;
  }
  if (verbose || fatal)
    g_log_writer_standard_streams (level, fields, n_fields, user_data);
  if (fatal) {
    fprintf (stderr, "svilm-fuzz: a critical or error message was logged (see above)\n");
    abort ();
  }
  return G_LOG_WRITER_HANDLED;
}

void
sv_fuzz_fail (const char *file, int line, const char *what)
{
  fprintf (stderr, "svilm-fuzz: %s:%d: check failed: %s\n", file, line, what);
  abort ();
}

static char *tmp_dir;
static int data_fd = -1;
static char *data_path; /* opens data_fd */

static void
cleanup (void)
{
  if (!tmp_dir)
    return;
  GDir *d = g_dir_open (tmp_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    char *p = g_build_filename (tmp_dir, name, NULL);
    g_unlink (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (tmp_dir);
  g_clear_pointer (&tmp_dir, g_free);
}

static void
init_once (void)
{
  static gboolean done;
  if (done)
    return;
  done = TRUE;
  verbose = g_getenv ("SVILM_FUZZ_VERBOSE") != NULL;
  criticals_dir = g_getenv ("SVILM_FUZZ_CRITICALS");
  if (criticals_dir && !*criticals_dir)
    criticals_dir = NULL;
  g_log_set_writer_func (log_writer, NULL, NULL);
  if (!criticals_dir)
    g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);

  GError *error = NULL;
  tmp_dir = g_dir_make_tmp ("svilm-fuzz-XXXXXX", &error);
  if (!tmp_dir) {
    fprintf (stderr, "svilm-fuzz: %s\n", error->message);
    abort ();
  }
  atexit (cleanup);
#ifdef MFD_CLOEXEC
  data_fd = memfd_create ("svilm-fuzz-input", MFD_CLOEXEC);
  if (data_fd >= 0)
    data_path = g_strdup_printf ("/proc/self/fd/%d", data_fd);
  if (data_path && !g_file_test (data_path, G_FILE_TEST_EXISTS)) { /* no /proc */
    close (data_fd);
    data_fd = -1;
    g_clear_pointer (&data_path, g_free);
  }
#endif
  if (data_fd < 0) {
    data_path = g_build_filename (tmp_dir, "input-data", NULL);
    data_fd = open (data_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (data_fd < 0) {
      fprintf (stderr, "svilm-fuzz: cannot create %s: %s\n", data_path, g_strerror (errno));
      abort ();
    }
  }
}

void
sv_fuzz_input (const uint8_t *data, size_t size)
{
  init_once ();
  cur_data = data;
  cur_size = size;
}

const char *
sv_fuzz_file (const uint8_t *data, size_t size, const char *suffix)
{
  static GHashTable *links; /* suffix -> path of a link to data_path */
  init_once ();
  if (ftruncate (data_fd, 0) != 0)
    sv_fuzz_fail (__FILE__, __LINE__, "ftruncate");
  size_t done = 0;
  while (data && done < size) {
    ssize_t n = pwrite (data_fd, data + done, size - done, (off_t) done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      sv_fuzz_fail (__FILE__, __LINE__, "pwrite");
    done += (size_t) n;
  }
  if (!suffix || !*suffix)
    return data_path;
  if (!links)
    links = g_hash_table_new (g_str_hash, g_str_equal);
  const char *path = g_hash_table_lookup (links, suffix);
  if (!path) {
    char *name = g_strconcat ("input", suffix, NULL);
    char *p = g_build_filename (tmp_dir, name, NULL);
    g_free (name);
    if (symlink (data_path, p) != 0)
      sv_fuzz_fail (__FILE__, __LINE__, "symlink");
    g_hash_table_insert (links, g_strdup (suffix), p);
    path = p;
  }
  return path;
}

const char *
sv_fuzz_regular_file (const uint8_t *data, size_t size, const char *name)
{
  static char *path;
  init_once ();
  g_free (path);
  path = g_build_filename (tmp_dir, name, NULL);
  const char *extra[] = { "-wal", "-shm", "-journal" };
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++) {
    char *p = g_strconcat (path, extra[i], NULL);
    g_unlink (p);
    g_free (p);
  }
  GError *error = NULL;
  if (!g_file_set_contents (path, data ? (const char *) data : "", (gssize) size, &error))
    sv_fuzz_fail (__FILE__, __LINE__, error->message);
  return path;
}

char *
sv_fuzz_string (const uint8_t *data, size_t size)
{
  if (size == 0)
    return g_strdup ("");
  const uint8_t *nul = memchr (data, 0, size);
  return g_strndup ((const char *) data, nul ? (size_t) (nul - data) : size);
}
