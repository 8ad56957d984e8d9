/* svilm: the retrieval index (see svilm-index.h for the format). */
#include "config.h"

#include "svilm-index-private.h"

#include <cblas.h>
#include <errno.h>
#include <glib/gi18n-lib.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

G_DEFINE_QUARK (svilm - index - error - quark, svilm_index_error)

struct _SvilmIndex {
  sqlite3 *db;
  char *path;
  gboolean writable;
  gint64 model; /* models.id of the clips being written; 0: none yet */
  guint dim;
  sqlite3_stmt *insert, *begin, *commit, *clip;
  gboolean in_txn;
  guint pending, batch;
  gint64 txn_start, batch_us;
  float *swapped; /* big-endian hosts: the embedding in file byte order */
};

/* ---- errors ---------------------------------------------------------------------------- */

typedef enum { DOING_READ, DOING_WRITE, DOING_CREATE } Doing;

/* An SQLite failure on the index as a GError: damaged files say so. */
static void
set_db_error (SvilmIndex *idx, GError **error, int rc, Doing doing)
{
  const char *msg = idx->db ? sqlite3_errmsg (idx->db) : sqlite3_errstr (rc);
  int primary = rc & 0xff;
  if (primary == SQLITE_NOTADB)
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                 _ ("\"%s\" is not an svilm index (%s)."), idx->path, msg);
  else if (primary == SQLITE_CORRUPT)
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                 _ ("The index \"%s\" is damaged (%s)."), idx->path, msg);
  else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_IO,
                 _ ("The index \"%s\" is locked by another program (%s)."), idx->path, msg);
  else if (doing == DOING_CREATE)
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_IO,
                 _ ("Could not create the index \"%s\" (%s)."), idx->path, msg);
  else if (doing == DOING_WRITE)
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_IO,
                 _ ("Could not write to the index \"%s\" (%s)."), idx->path, msg);
  else
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_IO,
                 _ ("Could not read the index \"%s\" (%s)."), idx->path, msg);
}

/* ---- opening --------------------------------------------------------------------------- */

static int
query_int (sqlite3 *db, const char *sql, int *out)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    return rc;
  rc = sqlite3_step (st);
  *out = rc == SQLITE_ROW ? sqlite3_column_int (st, 0) : 0;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    rc = SQLITE_OK;
  sqlite3_finalize (st);
  return rc;
}

static int
create_schema (sqlite3 *db)
{
  /* page size first (it cannot change once in WAL mode): 15 clips of 256 floats a page */
  sqlite3_exec (db, "PRAGMA page_size = 16384", NULL, NULL, NULL);
  int rc = sqlite3_exec (db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return rc;
  char *sql = g_strdup_printf (
      "BEGIN IMMEDIATE;"
      "CREATE TABLE IF NOT EXISTS models (id INTEGER PRIMARY KEY, model_id TEXT NOT NULL "
      "UNIQUE, dim INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS clips (id INTEGER PRIMARY KEY, model INTEGER NOT NULL "
      "REFERENCES models (id), uri TEXT NOT NULL, start_ns INTEGER, end_ns INTEGER, "
      "embedding BLOB NOT NULL);"
      "PRAGMA application_id = %d;"
      "PRAGMA user_version = %d;"
      "COMMIT;",
      SVILM_INDEX_APPLICATION_ID, SVILM_INDEX_FORMAT_VERSION);
  rc = sqlite3_exec (db, sql, NULL, NULL, NULL);
  g_free (sql);
  if (rc != SQLITE_OK)
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static gboolean
validate (SvilmIndex *idx, GError **error)
{
  int app = 0, version = 0, objects = 0;
  int rc = query_int (idx->db, "PRAGMA application_id", &app);
  if (rc == SQLITE_OK)
    rc = query_int (idx->db, "PRAGMA user_version", &version);
  if (rc == SQLITE_OK)
    rc = query_int (idx->db, "SELECT count(*) FROM sqlite_master", &objects);
  if (rc != SQLITE_OK) {
    set_db_error (idx, error, rc, DOING_READ);
    return FALSE;
  }
  if (app == 0 && version == 0 && objects == 0) {
    if (!idx->writable) {
      g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                   _ ("The index \"%s\" is empty: no clips were written to it."), idx->path);
      return FALSE;
    }
    rc = create_schema (idx->db);
    if (rc != SQLITE_OK) {
      set_db_error (idx, error, rc, DOING_CREATE);
      return FALSE;
    }
    return TRUE;
  }
  if (app != SVILM_INDEX_APPLICATION_ID) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                 _ ("\"%s\" is an SQLite database but not an svilm index."), idx->path);
    return FALSE;
  }
  if (version > SVILM_INDEX_FORMAT_VERSION) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_VERSION,
                 _ ("The index \"%s\" was written by a newer svilm (index format %d; this "
                    "version reads format %d)."),
                 idx->path, version, SVILM_INDEX_FORMAT_VERSION);
    return FALSE;
  }
  if (version < 1) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                 _ ("The index \"%s\" is damaged (no format version)."), idx->path);
    return FALSE;
  }
  /* models and clips must be plain tables: a view in their place can be made to recurse
   * forever (fuzz/findings: recursive-view-hang) */
  int tables = 0;
  rc = query_int (idx->db,
                  "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                  "('models', 'clips')",
                  &tables);
  if (rc != SQLITE_OK) {
    set_db_error (idx, error, rc, DOING_READ);
    return FALSE;
  }
  if (tables != 2) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                 _ ("The index \"%s\" is damaged (its models and clips tables are missing)."),
                 idx->path);
    return FALSE;
  }
  if (idx->writable) {
    rc = sqlite3_exec (idx->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      set_db_error (idx, error, rc, DOING_WRITE);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
prepare (SvilmIndex *idx, const char *sql, sqlite3_stmt **st, GError **error)
{
  int rc = sqlite3_prepare_v3 (idx->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
  if (rc != SQLITE_OK) {
    /* the tables are ours by their ids but not as we made them */
    if ((rc & 0xff) == SQLITE_ERROR)
      g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                   _ ("The index \"%s\" is damaged (%s)."), idx->path, sqlite3_errmsg (idx->db));
    else
      set_db_error (idx, error, rc, DOING_READ);
    return FALSE;
  }
  return TRUE;
}

SvilmIndex *
svilm_index_open (const char *path, gboolean writable, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  if (!*path) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_OPEN, _ ("No index file was given."));
    return NULL;
  }
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_OPEN,
                 _ ("The index \"%s\" is a directory, not a file."), path);
    return NULL;
  }
  if (!writable && !g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_OPEN,
                 _ ("The index \"%s\" does not exist."), path);
    return NULL;
  }
  SvilmIndex *idx = g_new0 (SvilmIndex, 1);
  idx->path = g_strdup (path);
  idx->writable = writable;
  idx->batch = SVILM_INDEX_DEFAULT_BATCH;
  idx->batch_us = SVILM_INDEX_DEFAULT_BATCH_US;
  int flags = writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  int rc = sqlite3_open_v2 (path, &idx->db, flags, NULL);
  if (rc != SQLITE_OK) {
    int sys = idx->db ? sqlite3_system_errno (idx->db) : 0;
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_OPEN,
                 writable ? _ ("Could not create or open the index \"%s\" (%s).")
                          : _ ("Could not open the index \"%s\" (%s)."),
                 path, sys ? g_strerror (sys) : sqlite3_errstr (rc));
    svilm_index_close (idx);
    return NULL;
  }
  sqlite3_extended_result_codes (idx->db, 1);
  /* the file is untrusted: no schema-defined functions or views with side effects, no
   * writes that corrupt it deliberately */
  sqlite3_db_config (idx->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  sqlite3_db_config (idx->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
  sqlite3_busy_timeout (idx->db, 5000);
  if (!validate (idx, error) ||
      !prepare (idx, "SELECT uri, start_ns, end_ns FROM clips WHERE id = ?1", &idx->clip, error) ||
      (writable &&
       (sqlite3_exec (idx->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
        !prepare (idx,
                  "INSERT INTO clips (model, uri, start_ns, end_ns, embedding) "
                  "VALUES (?1, ?2, ?3, ?4, ?5)",
                  &idx->insert, error) ||
        !prepare (idx, "BEGIN IMMEDIATE", &idx->begin, error) ||
        !prepare (idx, "COMMIT", &idx->commit, error)))) {
    if (error && !*error)
      set_db_error (idx, error, sqlite3_errcode (idx->db), writable ? DOING_WRITE : DOING_READ);
    svilm_index_close (idx);
    return NULL;
  }
  return idx;
}

void
svilm_index_close (SvilmIndex *idx)
{
  if (!idx)
    return;
  GError *error = NULL;
  if (idx->in_txn && !svilm_index_commit (idx, &error)) {
    g_warning ("%s", error->message);
    g_clear_error (&error);
  }
  sqlite3_finalize (idx->insert);
  sqlite3_finalize (idx->begin);
  sqlite3_finalize (idx->commit);
  sqlite3_finalize (idx->clip);
  sqlite3_close_v2 (idx->db);
  g_free (idx->swapped);
  g_free (idx->path);
  g_free (idx);
}

const char *
svilm_index_get_path (SvilmIndex *idx)
{
  return idx->path;
}

/* ---- writing --------------------------------------------------------------------------- */

gboolean
svilm_index_set_model (SvilmIndex *idx, const char *model_id, guint dim, GError **error)
{
  g_return_val_if_fail (idx && idx->writable && model_id && dim > 0, FALSE);
  if (!svilm_index_commit (idx, error))
    return FALSE;
  sqlite3_stmt *st = NULL;
  if (!prepare (idx, "INSERT OR IGNORE INTO models (model_id, dim) VALUES (?1, ?2)", &st, error))
    return FALSE;
  sqlite3_bind_text (st, 1, model_id, -1, SQLITE_STATIC);
  sqlite3_bind_int (st, 2, (int) dim);
  int rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE) {
    set_db_error (idx, error, rc, DOING_WRITE);
    return FALSE;
  }
  if (!prepare (idx, "SELECT id, dim FROM models WHERE model_id = ?1", &st, error))
    return FALSE;
  sqlite3_bind_text (st, 1, model_id, -1, SQLITE_STATIC);
  rc = sqlite3_step (st);
  gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : 0;
  int stored = rc == SQLITE_ROW ? sqlite3_column_int (st, 1) : 0;
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW) {
    set_db_error (idx, error, rc, DOING_READ);
    return FALSE;
  }
  if (stored != (int) dim) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_MODEL,
                 _ ("The index \"%s\" holds embeddings of %d values for model %s, not %u."),
                 idx->path, stored, model_id, dim);
    return FALSE;
  }
  idx->model = id;
  idx->dim = dim;
  if (G_BYTE_ORDER != G_LITTLE_ENDIAN) {
    g_free (idx->swapped);
    idx->swapped = g_new (float, dim);
  }
  return TRUE;
}

void
svilm_index_set_batch (SvilmIndex *idx, guint clips, gint64 max_us)
{
  idx->batch = MAX (clips, 1);
  idx->batch_us = max_us;
}

gboolean
svilm_index_add (SvilmIndex *idx, const char *uri, gint64 start_ns, gint64 end_ns,
                 const float *embedding, GError **error)
{
  g_return_val_if_fail (idx && idx->insert && idx->model && embedding, FALSE);
  int rc;
  if (!idx->in_txn) {
    rc = sqlite3_step (idx->begin);
    sqlite3_reset (idx->begin);
    if (rc != SQLITE_DONE) {
      set_db_error (idx, error, rc, DOING_WRITE);
      return FALSE;
    }
    idx->in_txn = TRUE;
    idx->pending = 0;
    idx->txn_start = g_get_monotonic_time ();
  }
  const void *blob = embedding;
  if (idx->swapped) {
    for (guint i = 0; i < idx->dim; i++) {
      guint32 v;
      memcpy (&v, embedding + i, 4);
      v = GUINT32_TO_LE (v);
      memcpy (idx->swapped + i, &v, 4);
    }
    blob = idx->swapped;
  }
  sqlite3_stmt *st = idx->insert;
  sqlite3_bind_int64 (st, 1, idx->model);
  sqlite3_bind_text (st, 2, uri && *uri ? uri : "unknown", -1, SQLITE_STATIC);
  if (start_ns >= 0)
    sqlite3_bind_int64 (st, 3, start_ns);
  else
    sqlite3_bind_null (st, 3);
  if (end_ns >= 0)
    sqlite3_bind_int64 (st, 4, end_ns);
  else
    sqlite3_bind_null (st, 4);
  sqlite3_bind_blob (st, 5, blob, (int) (idx->dim * sizeof (float)), SQLITE_STATIC);
  rc = sqlite3_step (st);
  sqlite3_reset (st);
  sqlite3_clear_bindings (st);
  if (rc != SQLITE_DONE) {
    set_db_error (idx, error, rc, DOING_WRITE);
    return FALSE;
  }
  idx->pending++;
  if (idx->pending >= idx->batch ||
      (idx->batch_us > 0 && g_get_monotonic_time () - idx->txn_start >= idx->batch_us))
    return svilm_index_commit (idx, error);
  return TRUE;
}

gboolean
svilm_index_commit (SvilmIndex *idx, GError **error)
{
  if (!idx->in_txn)
    return TRUE;
  int rc = sqlite3_step (idx->commit);
  sqlite3_reset (idx->commit);
  if (rc != SQLITE_DONE) {
    set_db_error (idx, error, rc, DOING_WRITE);
    sqlite3_exec (idx->db, "ROLLBACK", NULL, NULL, NULL);
    idx->in_txn = FALSE;
    return FALSE;
  }
  idx->in_txn = FALSE;
  idx->pending = 0;
  return TRUE;
}

/* ---- reading --------------------------------------------------------------------------- */

char *
svilm_index_describe_models (SvilmIndex *idx)
{
  sqlite3_stmt *st = NULL;
  GString *s = g_string_new (NULL);
  if (sqlite3_prepare_v2 (idx->db,
                          "SELECT m.model_id, m.dim, (SELECT count(*) FROM clips c WHERE "
                          "c.model = m.id) FROM models m ORDER BY m.id",
                          -1, &st, NULL) == SQLITE_OK) {
    while (sqlite3_step (st) == SQLITE_ROW) {
      const char *id = (const char *) sqlite3_column_text (st, 0);
      g_string_append_printf (s, "%s%s (%" G_GINT64_FORMAT " clips, dim %d)", s->len ? ", " : "",
                              id ? id : "?", (gint64) sqlite3_column_int64 (st, 2),
                              sqlite3_column_int (st, 1));
    }
  }
  sqlite3_finalize (st);
  if (!s->len)
    g_string_append (s, "none");
  return g_string_free (s, FALSE);
}

gint64
svilm_index_count_clips (SvilmIndex *idx, const char *model_id, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (!prepare (idx,
                "SELECT count(*) FROM clips WHERE model = (SELECT id FROM models WHERE "
                "model_id = ?1)",
                &st, error))
    return -1;
  sqlite3_bind_text (st, 1, model_id, -1, SQLITE_STATIC);
  int rc = sqlite3_step (st);
  gint64 n = rc == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : -1;
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW)
    set_db_error (idx, error, rc, DOING_READ);
  return n;
}

gboolean
svilm_index_get_clip (SvilmIndex *idx, gint64 clip, char **uri, gint64 *start_ns, gint64 *end_ns,
                      GError **error)
{
  sqlite3_stmt *st = idx->clip;
  sqlite3_bind_int64 (st, 1, clip);
  int rc = sqlite3_step (st);
  if (rc == SQLITE_ROW) {
    if (uri)
      *uri = g_strdup ((const char *) sqlite3_column_text (st, 0));
    if (start_ns)
      *start_ns = sqlite3_column_type (st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64 (st, 1);
    if (end_ns)
      *end_ns = sqlite3_column_type (st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64 (st, 2);
  } else if (rc == SQLITE_DONE) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                 _ ("The index \"%s\" has no clip %" G_GINT64_FORMAT "."), idx->path, clip);
  } else {
    set_db_error (idx, error, rc, DOING_READ);
  }
  sqlite3_reset (st);
  return rc == SQLITE_ROW;
}

/* ---- the matrix ------------------------------------------------------------------------ */

SvilmIndexMatrix *
svilm_index_load (SvilmIndex *idx, const char *model_id, GError **error)
{
  g_return_val_if_fail (idx && model_id, NULL);
  sqlite3_stmt *st = NULL;
  if (!prepare (idx, "SELECT id, dim FROM models WHERE model_id = ?1", &st, error))
    return NULL;
  sqlite3_bind_text (st, 1, model_id, -1, SQLITE_STATIC);
  int rc = sqlite3_step (st);
  gint64 model = rc == SQLITE_ROW ? sqlite3_column_int64 (st, 0) : 0;
  int dim = rc == SQLITE_ROW ? sqlite3_column_int (st, 1) : 0;
  /* a damaged row whose id is not an integer would read as 0 and select other clips */
  gboolean bad_id = rc == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_INTEGER;
  sqlite3_finalize (st);
  if (bad_id) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                 _ ("The index \"%s\" is damaged (model %s has no row id)."), idx->path, model_id);
    return NULL;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    set_db_error (idx, error, rc, DOING_READ);
    return NULL;
  }
  if (rc == SQLITE_DONE || dim <= 0 || dim > 65536) {
    char *models = svilm_index_describe_models (idx);
    if (rc == SQLITE_DONE)
      g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_MODEL,
                   _ ("The index \"%s\" has no clips embedded by model %s (it holds: %s). Search "
                      "with the model that wrote the index, or index the videos again with "
                      "this one."),
                   idx->path, model_id, models);
    else
      g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                   _ ("The index \"%s\" is damaged (embedding size %d)."), idx->path, dim);
    g_free (models);
    return NULL;
  }
  if (!prepare (idx, "SELECT id, embedding FROM clips WHERE model = ?1", &st, error))
    return NULL;
  sqlite3_bind_int64 (st, 1, model);

  SvilmIndexMatrix *m = g_new0 (SvilmIndexMatrix, 1);
  m->dim = (guint) dim;
  m->stride = (m->dim + 31) / 32 * 32;
  gsize cap = 0, row_bytes = m->dim * sizeof (float);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW) {
    if (m->rows == cap) {
      /* doubling: glibc grows big blocks with mremap, without copying */
      cap = cap ? cap * 2 : 1024;
      m->f = g_realloc_n (m->f, cap, row_bytes);
      m->ids = g_realloc_n (m->ids, cap, sizeof (gint64));
      m->q8 = g_realloc_n (m->q8, cap, m->stride);
      m->q8scale = g_realloc_n (m->q8scale, cap, sizeof (float));
    }
    const void *blob = sqlite3_column_blob (st, 1);
    int bytes = sqlite3_column_bytes (st, 1);
    gint64 id = sqlite3_column_int64 (st, 0);
    if (bytes != (int) row_bytes || !blob) {
      g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT,
                   _ ("The index \"%s\" is damaged (clip %" G_GINT64_FORMAT " has an embedding "
                      "of %d bytes, not %" G_GSIZE_FORMAT ")."),
                   idx->path, id, bytes, row_bytes);
      sqlite3_finalize (st);
      svilm_index_matrix_free (m);
      return NULL;
    }
    /* each row while it is in cache: copy, unit length, int8 copy */
    float *dst = m->f + m->rows * m->dim;
    memcpy (dst, blob, row_bytes);
    if (G_BYTE_ORDER != G_LITTLE_ENDIAN) {
      guint32 *u = (guint32 *) dst;
      for (guint i = 0; i < m->dim; i++)
        u[i] = GUINT32_FROM_LE (u[i]);
    }
    sv_index_normalize (dst, m->dim);
    m->q8scale[m->rows] =
        sv_index_quantize (dst, m->dim, m->stride, 127, 128, m->q8 + m->rows * m->stride);
    m->ids[m->rows++] = id;
  }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE) {
    set_db_error (idx, error, rc, DOING_READ);
    svilm_index_matrix_free (m);
    return NULL;
  }
  if (m->rows == 0 || m->rows > G_MAXINT) {
    g_set_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_MODEL,
                 m->rows ? _ ("The index \"%s\" has too many clips of model %s.")
                         : _ ("The index \"%s\" holds no clips of model %s."),
                 idx->path, model_id);
    svilm_index_matrix_free (m);
    return NULL;
  }
  m->f = g_realloc_n (m->f, m->rows, row_bytes);
  m->ids = g_realloc_n (m->ids, m->rows, sizeof (gint64));
  if (m->rows < SVILM_INDEX_EXACT_ROWS) {
    /* small: the exact scan is as fast */
    g_clear_pointer (&m->q8, g_free);
    g_clear_pointer (&m->q8scale, g_free);
  } else {
    m->q8 = g_realloc_n (m->q8, m->rows, m->stride);
    m->q8scale = g_realloc_n (m->q8scale, m->rows, sizeof (float));
  }
  m->scores = g_new (float, m->rows);
  m->qn = g_new (float, m->dim);
  m->qq = g_new0 (gint8, m->stride);
  return m;
}
