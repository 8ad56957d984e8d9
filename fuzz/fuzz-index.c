/* Fuzz target: the retrieval index reader (gst-plugin/svilm-index.h): opening an SQLite
 * file read-only, describing, counting and loading each model's clips, searching them
 * and reading back the clips found.
 *
 * Input: the database file.  Seeds are small indexes written by make-seeds (page size
 * 512).  A loaded matrix must agree with the clip count, searches must return
 * min (k, rows) hits best first with cosines in [-1, 1], and every hit must be a clip
 * that svilm_index_get_clip() finds.
 */
#include "fuzz-common.h"

#include "svilm-index.h"

#include <math.h>
#include <sqlite3.h>
#include <string.h>

#define MAX_MODELS 4

/* the model ids of the file, read with a connection of our own */
static GPtrArray *
model_ids (const char *path)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2 (db, "SELECT model_id FROM models LIMIT " G_STRINGIFY (MAX_MODELS), -1,
                          &st, NULL) == SQLITE_OK) {
    while (sqlite3_step (st) == SQLITE_ROW) {
      const char *id = (const char *) sqlite3_column_text (st, 0);
      if (id)
        g_ptr_array_add (ids, g_strdup (id));
    }
  }
  sqlite3_finalize (st);
  sqlite3_close (db);
  g_ptr_array_add (ids, g_strdup ("no such model"));
  return ids;
}

static void
check_search (SvilmIndex *idx, SvilmIndexMatrix *m, gboolean exact)
{
  guint dim = svilm_index_matrix_get_dim (m);
  gsize rows = svilm_index_matrix_get_rows (m);
  float *q = g_new (float, dim);
  for (guint i = 0; i < dim; i++)
    q[i] = (float) ((int) (i % 7) - 3);
  SvilmIndexHit hits[8];
  guint k = exact ? 8 : 3;
  guint n = svilm_index_matrix_search (m, q, k, exact, hits);
  SV_FUZZ_CHECK (n == MIN (k, rows));
  for (guint i = 0; i < n; i++) {
    SV_FUZZ_CHECK (isfinite (hits[i].score) && fabsf (hits[i].score) <= 1.001f);
    if (i > 0)
      SV_FUZZ_CHECK (hits[i - 1].score >= hits[i].score);
    char *uri = NULL;
    gint64 start = 0, end = 0;
    GError *error = NULL;
    gboolean found = svilm_index_get_clip (idx, hits[i].clip, &uri, &start, &end, &error);
    if (!found) {
      /* the clip was just read: only a read error may hide it */
      SV_FUZZ_CHECK (error != NULL);
      g_debug ("clip %" G_GINT64_FORMAT ": %s", hits[i].clip, error->message);
      g_clear_error (&error);
      continue;
    }
    g_free (uri); /* NULL for a NULL uri column: callers show "unknown" */
  }
  g_free (q);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  sv_fuzz_input (data, size);
  const char *path = sv_fuzz_regular_file (data, size, "index.db");
  GError *error = NULL;
  SvilmIndex *idx = svilm_index_open (path, FALSE, &error);
  if (!idx) {
    SV_FUZZ_CHECK (error != NULL && error->message != NULL);
    g_debug ("refused: %s", error->message);
    g_error_free (error);
    return 0;
  }
  char *desc = svilm_index_describe_models (idx);
  SV_FUZZ_CHECK (desc != NULL);
  g_debug ("opened: %s", desc);
  g_free (desc);
  GPtrArray *ids = model_ids (path);
  for (guint i = 0; i < ids->len; i++) {
    const char *id = g_ptr_array_index (ids, i);
    gint64 n = svilm_index_count_clips (idx, id, &error);
    if (n < 0) {
      SV_FUZZ_CHECK (error != NULL);
      g_clear_error (&error);
    }
    SvilmIndexMatrix *m = svilm_index_load (idx, id, &error);
    if (!m) {
      SV_FUZZ_CHECK (error != NULL && error->message != NULL);
      g_debug ("model %s: %s", id, error->message);
      g_clear_error (&error);
      continue;
    }
    gsize rows = svilm_index_matrix_get_rows (m);
    guint dim = svilm_index_matrix_get_dim (m);
    g_debug ("model %s: %" G_GSIZE_FORMAT " rows of %u", id, rows, dim);
    SV_FUZZ_CHECK (rows > 0 && dim > 0 && dim <= 65536);
    SV_FUZZ_CHECK (n < 0 || (gsize) n == rows);
    check_search (idx, m, TRUE);
    check_search (idx, m, FALSE);
    svilm_index_matrix_free (m);
  }
  g_ptr_array_unref (ids);
  svilm_index_close (idx);
  return 0;
}
