/* The retrieval index (gst-plugin/svilm-index.c) and svilm-search on large
 * indexes: search results against a brute-force double-precision scan (exact
 * scan and int8 scan with rescoring), clips of several models in one file,
 * batched commits seen by a concurrent reader, damaged and foreign files,
 * svilm-search's errors (missing, corrupt and foreign files, another model's
 * index, empty queries, bad usage) and its int8 path end to end with the test
 * model.
 *
 *   test-search [--tap] MAKE_TEST_MODEL_PROGRAM SVILM_SEARCH_PROGRAM
 */
#include "svilm-index.h"
#include "svilm-model.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>

static char *tmp_dir, *model_path, *search_program;
static guint64 rng = 88172645463325252ull;

static double
uniform (void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (rng >> 11) * (1.0 / 9007199254740992.0);
}

static void
random_unit (float *x, guint dim)
{
  double ss = 0;
  for (guint i = 0; i < dim; i++) {
    x[i] = (float) (uniform () * 2.0 - 1.0);
    ss += (double) x[i] * x[i];
  }
  for (guint i = 0; i < dim; i++)
    x[i] = (float) (x[i] / sqrt (ss));
}

static char *
fresh (const char *name)
{
  char *p = g_build_filename (tmp_dir, name, NULL);
  const char *suffix[] = { "", "-wal", "-shm" };
  for (guint i = 0; i < G_N_ELEMENTS (suffix); i++) {
    char *f = g_strconcat (p, suffix[i], NULL);
    g_remove (f);
    g_free (f);
  }
  return p;
}

/* writes n random unit rows of model_id; returns them (n x dim) */
static float *
write_random (const char *path, const char *model_id, gsize n, guint dim)
{
  GError *error = NULL;
  SvilmIndex *idx = svilm_index_open (path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (svilm_index_set_model (idx, model_id, dim, &error));
  svilm_index_set_batch (idx, 1000, 0);
  float *rows = g_new (float, n *dim);
  for (gsize i = 0; i < n; i++) {
    random_unit (rows + i * dim, dim);
    gint64 start = i % 7 == 0 ? -1 : (gint64) i * 1000;
    g_assert_true (svilm_index_add (idx, "file:///v.mp4", start, start < 0 ? -1 : start + 999,
                                    rows + i * dim, &error));
  }
  svilm_index_close (idx);
  return rows;
}

/* the brute-force ranking (double precision): row indices, best first */
static guint *
brute_force (const float *rows, gsize n, guint dim, const float *q, double *scores)
{
  guint *order = g_new (guint, n);
  for (gsize i = 0; i < n; i++) {
    double s = 0;
    for (guint d = 0; d < dim; d++)
      s += (double) rows[i * dim + d] * q[d];
    scores[i] = s;
    order[i] = (guint) i;
  }
  /* selection of the best 20 is enough for the tests */
  for (guint a = 0; a < MIN (n, 20); a++)
    for (gsize b = a + 1; b < n; b++)
      if (scores[order[b]] > scores[order[a]]) {
        guint t = order[a];
        order[a] = order[b];
        order[b] = t;
      }
  return order;
}

static void
check_search (const char *path, const float *rows, gsize n, guint dim, guint n_queries)
{
  GError *error = NULL;
  SvilmIndex *idx = svilm_index_open (path, FALSE, &error);
  g_assert_no_error (error);
  SvilmIndexMatrix *m = svilm_index_load (idx, "m1", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (svilm_index_matrix_get_rows (m), ==, n);
  g_assert_cmpuint (svilm_index_matrix_get_dim (m), ==, dim);
  double *scores = g_new (double, n);
  float *q = g_new (float, dim);
  SvilmIndexHit hits[10];
  for (guint t = 0; t < n_queries; t++) {
    random_unit (q, dim);
    if (t == 0) /* a query close to a row: it must come first */
      for (guint d = 0; d < dim; d++)
        q[d] = rows[(n / 3) * dim + d] + 0.01f * q[d];
    guint *order = brute_force (rows, n, dim, q, scores);
    for (int exact = 0; exact < 2; exact++) {
      /* unnormalised queries are normalised: scale the query by 3 */
      float *q3 = g_new (float, dim);
      for (guint d = 0; d < dim; d++)
        q3[d] = 3.0f * q[d];
      guint k = svilm_index_matrix_search (m, exact ? q : q3, 10, exact, hits);
      g_free (q3);
      g_assert_cmpuint (k, ==, MIN (n, 10));
      double qn = 0;
      for (guint d = 0; d < dim; d++)
        qn += (double) q[d] * q[d];
      qn = sqrt (qn);
      for (guint j = 0; j < k; j++) {
        /* clip ids are rows + 1 (one model per file here) */
        g_assert_cmpint (hits[j].clip, ==, (gint64) order[j] + 1);
        g_assert_cmpfloat_with_epsilon (hits[j].score, scores[order[j]] / qn, 1e-5);
        if (j > 0)
          g_assert_cmpfloat (hits[j].score, <=, hits[j - 1].score);
      }
      if (t == 0)
        g_assert_cmpint (hits[0].clip, ==, (gint64) (n / 3) + 1);
    }
    g_free (order);
  }
  /* k above the rows, and k = 1 */
  SvilmIndexHit *all = g_new (SvilmIndexHit, n + 5);
  g_assert_cmpuint (svilm_index_matrix_search (m, q, (guint) n + 5, FALSE, all), ==, n);
  g_assert_cmpuint (svilm_index_matrix_search (m, q, 1, FALSE, hits), ==, 1);
  g_assert_cmpint (hits[0].clip, ==, all[0].clip);
  g_free (all);
  /* clip details, NULL times as -1 */
  char *uri = NULL;
  gint64 start, end;
  g_assert_true (svilm_index_get_clip (idx, 1, &uri, &start, &end, &error));
  g_assert_cmpstr (uri, ==, "file:///v.mp4");
  g_assert_cmpint (start, ==, -1);
  g_assert_cmpint (end, ==, -1);
  g_free (uri);
  g_assert_true (svilm_index_get_clip (idx, 3, NULL, &start, &end, &error));
  g_assert_cmpint (start, ==, 2000);
  g_assert_cmpint (end, ==, 2999);
  g_assert_false (svilm_index_get_clip (idx, (gint64) n + 1, NULL, NULL, NULL, &error));
  g_assert_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT);
  g_clear_error (&error);
  g_free (q);
  g_free (scores);
  svilm_index_matrix_free (m);
  svilm_index_close (idx);
}

static void
test_exact (void)
{
  char *path = fresh ("exact.db");
  float *rows = write_random (path, "m1", 1000, 16);
  check_search (path, rows, 1000, 16, 10);
  g_free (rows);
  g_free (path);
}

static void
test_int8 (void)
{
  /* above SVILM_INDEX_EXACT_ROWS: the int8 scan with exact rescoring */
  char *path = fresh ("int8.db");
  gsize n = SVILM_INDEX_EXACT_ROWS + 1234;
  float *rows = write_random (path, "m1", n, 100); /* 100: not a multiple of 32 */
  check_search (path, rows, n, 100, 10);
  g_free (rows);
  g_free (path);
}

static void
test_models (void)
{
  char *path = fresh ("models.db");
  GError *error = NULL;
  g_free (write_random (path, "m1", 50, 16));
  g_free (write_random (path, "m2", 30, 8)); /* appended: another model in the same file */
  SvilmIndex *idx = svilm_index_open (path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (svilm_index_count_clips (idx, "m1", &error), ==, 50);
  g_assert_cmpint (svilm_index_count_clips (idx, "m2", &error), ==, 30);
  SvilmIndexMatrix *m = svilm_index_load (idx, "m2", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (svilm_index_matrix_get_rows (m), ==, 30);
  g_assert_cmpuint (svilm_index_matrix_get_dim (m), ==, 8);
  svilm_index_matrix_free (m);
  g_assert_null (svilm_index_load (idx, "m3", &error));
  g_assert_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_MODEL);
  g_assert_nonnull (strstr (error->message, "m1 (50 clips, dim 16)"));
  g_assert_nonnull (strstr (error->message, "m2 (30 clips, dim 8)"));
  g_clear_error (&error);
  svilm_index_close (idx);
  /* the same model id with another size */
  idx = svilm_index_open (path, TRUE, &error);
  g_assert_false (svilm_index_set_model (idx, "m1", 8, &error));
  g_assert_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_MODEL);
  g_clear_error (&error);
  svilm_index_close (idx);
  g_free (path);
}

static gint64
count_rows (const char *path)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM clips", -1, &st, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  gint64 n = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (db);
  return n;
}

static void
test_batches (void)
{
  char *path = fresh ("batch.db");
  GError *error = NULL;
  SvilmIndex *idx = svilm_index_open (path, TRUE, &error);
  g_assert_true (svilm_index_set_model (idx, "m1", 4, &error));
  svilm_index_set_batch (idx, 3, 0);
  float e[4] = { 1, 0, 0, 0 };
  for (int i = 0; i < 2; i++)
    g_assert_true (svilm_index_add (idx, NULL, i, i + 1, e, &error));
  g_assert_cmpint (count_rows (path), ==, 0); /* a reader meanwhile: not committed yet */
  g_assert_true (svilm_index_add (idx, NULL, 2, 3, e, &error));
  g_assert_cmpint (count_rows (path), ==, 3); /* the batch is full */
  g_assert_true (svilm_index_add (idx, NULL, 3, 4, e, &error));
  g_assert_true (svilm_index_commit (idx, &error));
  g_assert_cmpint (count_rows (path), ==, 4);
  /* a time limit: every clip commits when the limit is tiny */
  svilm_index_set_batch (idx, 1000, 1);
  g_usleep (10);
  g_assert_true (svilm_index_add (idx, NULL, 4, 5, e, &error));
  g_usleep (10);
  g_assert_true (svilm_index_add (idx, NULL, 5, 6, e, &error));
  g_assert_cmpint (count_rows (path), >=, 5);
  svilm_index_close (idx);
  g_assert_cmpint (count_rows (path), ==, 6);
  idx = svilm_index_open (path, FALSE, &error);
  char *uri = NULL;
  g_assert_true (svilm_index_get_clip (idx, 1, &uri, NULL, NULL, &error));
  g_assert_cmpstr (uri, ==, "unknown");
  g_free (uri);
  svilm_index_close (idx);
  g_free (path);
}

static void
expect_open_error (const char *path, gboolean writable, int code, const char *needle)
{
  GError *error = NULL;
  SvilmIndex *idx = svilm_index_open (path, writable, &error);
  g_assert_null (idx);
  g_assert_error (error, SVILM_INDEX_ERROR, code);
  if (!strstr (error->message, needle))
    g_error ("\"%s\" lacks \"%s\"", error->message, needle);
  g_clear_error (&error);
}

static void
test_bad_files (void)
{
  char *missing = fresh ("missing.db");
  expect_open_error (missing, FALSE, SVILM_INDEX_ERROR_OPEN, "does not exist");
  expect_open_error ("/nonexistent-svilm/x/index.db", TRUE, SVILM_INDEX_ERROR_OPEN,
                     "/nonexistent-svilm/x/index.db");
  expect_open_error (tmp_dir, TRUE, SVILM_INDEX_ERROR_OPEN, "directory");
  expect_open_error ("", TRUE, SVILM_INDEX_ERROR_OPEN, "No index");

  char *junk = fresh ("junk.db");
  char *text = g_strnfill (8192, 'x');
  g_assert_true (g_file_set_contents (junk, text, -1, NULL));
  expect_open_error (junk, FALSE, SVILM_INDEX_ERROR_FORMAT, "not an svilm index");
  expect_open_error (junk, TRUE, SVILM_INDEX_ERROR_FORMAT, "not an svilm index");
  g_assert_true (g_file_set_contents (junk, "", 0, NULL));
  expect_open_error (junk, FALSE, SVILM_INDEX_ERROR_FORMAT, "empty");

  char *other = fresh ("other.db");
  sqlite3 *db = NULL;
  sqlite3_open (other, &db);
  sqlite3_exec (db, "CREATE TABLE t (x)", NULL, NULL, NULL);
  sqlite3_close (db);
  expect_open_error (other, TRUE, SVILM_INDEX_ERROR_FORMAT, "not an svilm index");

  /* a newer format */
  char *newer = fresh ("newer.db");
  g_free (write_random (newer, "m1", 3, 4));
  sqlite3_open (newer, &db);
  sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL);
  sqlite3_close (db);
  expect_open_error (newer, FALSE, SVILM_INDEX_ERROR_VERSION, "newer svilm");

  /* a damaged row: found when loading */
  char *damaged = fresh ("damaged.db");
  g_free (write_random (damaged, "m1", 3, 4));
  sqlite3_open (damaged, &db);
  sqlite3_exec (db, "UPDATE clips SET embedding = x'0000' WHERE id = 2", NULL, NULL, NULL);
  sqlite3_close (db);
  GError *error = NULL;
  SvilmIndex *idx = svilm_index_open (damaged, FALSE, &error);
  g_assert_no_error (error);
  g_assert_null (svilm_index_load (idx, "m1", &error));
  g_assert_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "damaged"));
  g_clear_error (&error);
  svilm_index_close (idx);

  /* a truncated file: SQLite notices the damage on reading */
  char *cut = fresh ("cut.db");
  g_free (write_random (cut, "m1", 2000, 64));
  char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (cut, &data, &len, NULL));
  g_assert_true (g_file_set_contents (cut, data, (gssize) (len / 3), NULL));
  idx = svilm_index_open (cut, FALSE, &error);
  SvilmIndexMatrix *m = idx ? svilm_index_load (idx, "m1", &error) : NULL;
  g_assert_null (m);
  g_assert_error (error, SVILM_INDEX_ERROR, SVILM_INDEX_ERROR_FORMAT);
  g_clear_error (&error);
  svilm_index_close (idx);
  g_free (data);

  g_free (text);
  g_free (cut);
  g_free (damaged);
  g_free (newer);
  g_free (other);
  g_free (junk);
  g_free (missing);
}

/* runs svilm-search; returns its exit status, stdout and stderr */
static int
run_search (const char *const *args, char **out, char **err)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, search_program);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  int status = -1;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out,
                               err, &status, &error));
  g_ptr_array_unref (argv);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
expect_cli_error (const char *const *args, int code, const char *needle)
{
  char *out = NULL, *err = NULL;
  g_assert_cmpint (run_search (args, &out, &err), ==, code);
  if (needle && !strstr (err, needle))
    g_error ("svilm-search said \"%s\", without \"%s\"", err, needle);
  g_assert_cmpstr (out, ==, "");
  g_free (out);
  g_free (err);
}

/* svilm-search's errors: clear messages, exit status 1 (errors) or 2 (usage) */
static void
test_cli_errors (void)
{
  char *missing = fresh ("cli-missing.db");
  char *junk = fresh ("cli-junk.db");
  char *text = g_strnfill (8192, 'x');
  g_assert_true (g_file_set_contents (junk, text, -1, NULL));
  char *other = fresh ("cli-other.db");
  g_free (write_random (other, "another-model", 5, 16));
  const char *m = model_path;

  expect_cli_error ((const char *[]){ "--index", missing, "--model", m, "a dog", NULL }, 1,
                    "does not exist");
  expect_cli_error ((const char *[]){ "--index", junk, "--model", m, "a dog", NULL }, 1,
                    "not an svilm index");
  expect_cli_error ((const char *[]){ "--index", other, "--model", m, "a dog", NULL }, 1,
                    "another-model (5 clips, dim 16)");
  expect_cli_error ((const char *[]){ "--index", junk, "--model", m, "  ", NULL }, 2,
                    "query text is empty");
  expect_cli_error ((const char *[]){ "--index", junk, "--model", m, "", NULL }, 2,
                    "query text is empty");
  expect_cli_error ((const char *[]){ "--index", junk, "--model", m, NULL }, 2, "no query");
  expect_cli_error ((const char *[]){ "--model", m, "a dog", NULL }, 2, "no index");
  expect_cli_error ((const char *[]){ "--index", junk, "--top", "0", "a dog", NULL }, 2, "--top");
  expect_cli_error ((const char *[]){ "--index", junk, "--queries", missing, NULL }, 2,
                    "could not read the queries");
  char *bad_model = fresh ("cli-bad.safetensors");
  g_assert_true (g_file_set_contents (bad_model, "not a model", -1, NULL));
  g_free (write_random (other, "m1", 1, 16));
  expect_cli_error ((const char *[]){ "--index", other, "--model", bad_model, "a dog", NULL }, 1,
                    "cli-bad.safetensors");
  g_free (bad_model);
  g_free (text);
  g_free (other);
  g_free (junk);
  g_free (missing);
}

/* svilm-search's int8 path with a text query, against the brute force */
static void
test_cli_large (void)
{
  GError *error = NULL;
  SvilmModel *model = svilm_model_load (model_path, "cpu", &error);
  g_assert_no_error (error);
  char *path = fresh ("cli.db");
  guint dim = svilm_model_get_embed_dim (model);
  gsize n = SVILM_INDEX_EXACT_ROWS + 100;
  float *rows = write_random (path, svilm_model_get_id (model), n, dim);
  gsize qd = 0;
  float *q = svilm_model_encode_text (model, "a red ball rolls", &qd, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (qd, ==, dim);
  double *scores = g_new (double, n);
  guint *order = brute_force (rows, n, dim, q, scores);

  const char *argv[] = { search_program, "--index", path, "--model", model_path,         "--device",
                         "cpu",          "--top",   "5",  "--json",  "a red ball rolls", NULL };
  char *out = NULL, *err = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_test_message ("%s", err);
  JsonParser *p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, out, -1, &error));
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  g_assert_cmpint (json_object_get_int_member (o, "clips"), ==, (gint64) n);
  JsonArray *res = json_object_get_array_member (o, "results");
  g_assert_cmpuint (json_array_get_length (res), ==, 5);
  for (guint j = 0; j < 5; j++) {
    JsonObject *r = json_array_get_object_element (res, j);
    g_assert_cmpint (json_object_get_int_member (r, "clip"), ==, (gint64) order[j] + 1);
    g_assert_cmpfloat_with_epsilon (json_object_get_double_member (r, "score"), scores[order[j]],
                                    1e-5);
    if (order[j] % 7 == 0)
      g_assert_true (json_node_is_null (json_object_get_member (r, "start")));
    else
      g_assert_cmpint (json_object_get_int_member (r, "start"), ==, (gint64) order[j] * 1000);
  }
  g_object_unref (p);
  g_free (out);
  g_free (err);
  g_free (order);
  g_free (scores);
  g_free (q);
  g_free (rows);
  g_free (path);
  g_object_unref (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 3) {
    g_printerr ("usage: %s MAKE_TEST_MODEL SVILM_SEARCH\n", argv[0]);
    return 2;
  }
  search_program = argv[2];
  tmp_dir = g_dir_make_tmp ("svilm-search-XXXXXX", NULL);
  model_path = g_build_filename (tmp_dir, "model.safetensors", NULL);
  const char *cmd[] = { argv[1], model_path, "--small", NULL };
  int status = 0;
  if (!g_spawn_sync (NULL, (char **) cmd, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                     NULL) ||
      !g_spawn_check_wait_status (status, NULL)) {
    g_printerr ("could not make the test model\n");
    return 1;
  }
  g_test_add_func ("/search/exact", test_exact);
  g_test_add_func ("/search/int8", test_int8);
  g_test_add_func ("/search/models", test_models);
  g_test_add_func ("/search/batches", test_batches);
  g_test_add_func ("/search/bad-files", test_bad_files);
  g_test_add_func ("/search/cli-errors", test_cli_errors);
  g_test_add_func ("/search/cli-large", test_cli_large);
  int rc = g_test_run ();
  GDir *d = g_dir_open (tmp_dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    char *f = g_build_filename (tmp_dir, name, NULL);
    g_remove (f);
    g_free (f);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (tmp_dir);
  g_free (model_path);
  g_free (tmp_dir);
  return rc;
}
