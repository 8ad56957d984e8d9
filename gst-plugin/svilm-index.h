/* svilm: the retrieval index, clip embeddings in an SQLite database.
 *
 * Written by the svilmretrieve element (index=PATH), read by svilm-search.
 *
 * Format (PRAGMA application_id = 0x53564c4d "SVLM", PRAGMA user_version = 1,
 * WAL journal, so a search can read while a pipeline writes):
 *
 *   CREATE TABLE models (
 *     id INTEGER PRIMARY KEY,
 *     model_id TEXT NOT NULL UNIQUE,  -- svilm_model_get_id (): a hash of the weights
 *     dim INTEGER NOT NULL);          -- embedding size
 *   CREATE TABLE clips (
 *     id INTEGER PRIMARY KEY,
 *     model INTEGER NOT NULL REFERENCES models (id),
 *     uri TEXT NOT NULL,              -- the source's URI, "unknown" if there was none
 *     start_ns INTEGER,               -- stream time of the clip's first frame, ns (NULL: unknown)
 *     end_ns INTEGER,                 -- stream time where the clip's last frame ends, ns
 *     embedding BLOB NOT NULL);       -- dim float32, little-endian, unit length
 *
 * Embeddings of two models are not comparable, so every clip names the model
 * that embedded it and a search only ever reads the clips of the model it
 * encodes its text with.  One file may thus hold clips of several models
 * (re-indexing after a model upgrade keeps the old rows); searching with a
 * model that embedded no clip of the file is an error that lists the models the
 * file holds.
 *
 * Searching: svilm_index_load() reads one model's embeddings once into a
 * contiguous matrix; svilm_index_matrix_search() then scores a text embedding
 * against every row.  Small indexes are scanned exactly (cblas_sgemv); from
 * SVILM_INDEX_EXACT_ROWS rows on, the scan runs on an int8 copy of the matrix
 * (a quarter of the memory traffic) keeping the best max (8 K, 256) candidates,
 * which are then rescored exactly in float32: the scores returned are always
 * exact cosines.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SVILM_INDEX_APPLICATION_ID 0x53564c4d
#define SVILM_INDEX_FORMAT_VERSION 1
/* clips a write transaction holds at most, and for how long (a live stream's clips
 * become visible to readers at least this often) */
#define SVILM_INDEX_DEFAULT_BATCH 256
#define SVILM_INDEX_DEFAULT_BATCH_US (G_USEC_PER_SEC)
/* from this many rows on, searches pre-select with the int8 copy */
#define SVILM_INDEX_EXACT_ROWS 32768

#define SVILM_INDEX_ERROR (svilm_index_error_quark ())
GQuark svilm_index_error_quark (void);

typedef enum {
  SVILM_INDEX_ERROR_OPEN,    /* missing file, unwritable directory */
  SVILM_INDEX_ERROR_FORMAT,  /* not an svilm index, or damaged */
  SVILM_INDEX_ERROR_VERSION, /* written by a newer svilm */
  SVILM_INDEX_ERROR_MODEL,   /* no clips of the model asked for, or its size differs */
  SVILM_INDEX_ERROR_IO,      /* a read or write failed */
} SvilmIndexError;

typedef struct _SvilmIndex SvilmIndex;

/* Opens (writable: creates if needed) and validates an index file. */
SvilmIndex *svilm_index_open (const char *path, gboolean writable, GError **error);
/* Commits what is pending and closes. */
void svilm_index_close (SvilmIndex *index);
const char *svilm_index_get_path (SvilmIndex *index);

/* Writing: the model whose clips follow (registered in the file if new). */
gboolean svilm_index_set_model (SvilmIndex *index, const char *model_id, guint dim, GError **error);
/* A transaction covers at most `clips` clips and `max_us` microseconds (0: no limit). */
void svilm_index_set_batch (SvilmIndex *index, guint clips, gint64 max_us);
/* start_ns/end_ns < 0: unknown.  embedding: dim floats. */
gboolean svilm_index_add (SvilmIndex *index, const char *uri, gint64 start_ns, gint64 end_ns,
                          const float *embedding, GError **error);
gboolean svilm_index_commit (SvilmIndex *index, GError **error);

/* The models of the file, as "ID (N clips, dim D), ..." for messages; "none" if empty. */
char *svilm_index_describe_models (SvilmIndex *index);
/* Clips of a model (0 if the model is not in the file). */
gint64 svilm_index_count_clips (SvilmIndex *index, const char *model_id, GError **error);

/* A clip's source and time range; *uri (transfer full). */
gboolean svilm_index_get_clip (SvilmIndex *index, gint64 clip, char **uri, gint64 *start_ns,
                               gint64 *end_ns, GError **error);

/* One model's embeddings in memory. */
typedef struct _SvilmIndexMatrix SvilmIndexMatrix;

typedef struct {
  gint64 clip; /* the clip's id (clips.id) */
  float score; /* cosine with the query */
} SvilmIndexHit;

SvilmIndexMatrix *svilm_index_load (SvilmIndex *index, const char *model_id, GError **error);
void svilm_index_matrix_free (SvilmIndexMatrix *m);
gsize svilm_index_matrix_get_rows (SvilmIndexMatrix *m);
guint svilm_index_matrix_get_dim (SvilmIndexMatrix *m);

/* The best min (k, rows) clips for a query of dim floats (normalised here),
 * best first (ties: lower clip id first); returns how many were written to hits.
 * exact forces the float32 scan on large matrices.  Not reentrant on one matrix
 * (it owns the scratch space): one search at a time per matrix. */
guint svilm_index_matrix_search (SvilmIndexMatrix *m, const float *query, guint k, gboolean exact,
                                 SvilmIndexHit *hits);

G_END_DECLS
