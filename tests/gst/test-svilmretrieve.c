/* svilmretrieve with GstHarness: svilm-match messages and their fields, the
 * threshold and query changed while playing, svilm-scores, JSON lines, the
 * index (one row per clip with its times, URI and model, committed by EOS),
 * svilm-search on that index (scores sorted and equal to the element's, JSON;
 * its errors are in test-search.c), bad and corrupt index files, an empty query, renegotiation, EOS
 * with a partial window, flushing, state cycles and bad model files.
 *
 * The test model is untrained, so scores are arbitrary: matching is checked
 * with threshold -1 (every clip matches) and 1.01 (none).  Its clips are 8
 * frames.
 *
 *   test-svilmretrieve MAKE_TEST_MODEL_PROGRAM SVILM_SEARCH_PROGRAM
 */
#include "svilm-model.h"
#include "svilm-harness.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <sqlite3.h>

static char *model_path, *tmp_dir, *search_program;

#define PTS(i) (gst_util_uint64_scale ((i), GST_SECOND, 30))

/* props: "name=value name=value" (values without spaces) */
static GstElement *
make_element (const char *props)
{
  return svh_element_new ("svilmretrieve", model_path, props);
}

/* pushes frames start..start+n-1 (their pattern jumps every 8 frames, a clip of the test
 * model) and drops what comes out */
static void
push_frames (GstHarness *h, int w, int ht, guint start, guint n)
{
  for (guint i = start; i < start + n; i++) {
    fail_unless_equals_int (gst_harness_push (h, svh_frame_full ("RGB", w, ht, i, 8, FALSE)),
                            GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
}

static char *
tmp_file (const char *name)
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

GST_START_TEST (test_match_fields)
{
  GstHarness *h = svh_harness_take (make_element ("threshold=-1"));
  g_object_set (h->element, "query", "a red ball; a dog runs ;", NULL);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 16);
  GPtrArray *m = svh_pop_messages (bus, "svilm-match");
  fail_unless_equals_int (m->len, 4); /* 2 clips x 2 queries */
  for (guint i = 0; i < m->len; i++) {
    const GstStructure *s = g_ptr_array_index (m, i);
    guint64 ts, st, rt, dur, clip;
    guint qi;
    double score;
    fail_unless (gst_structure_get_uint64 (s, "timestamp", &ts));
    fail_unless (gst_structure_get_uint64 (s, "stream-time", &st));
    fail_unless (gst_structure_get_uint64 (s, "running-time", &rt));
    fail_unless (gst_structure_get_uint64 (s, "duration", &dur));
    fail_unless (gst_structure_get_uint64 (s, "clip-index", &clip));
    fail_unless (gst_structure_get_uint (s, "query-index", &qi));
    fail_unless (gst_structure_get_double (s, "score", &score));
    fail_unless_equals_uint64 (clip, i / 2);
    fail_unless_equals_uint64 (ts, PTS (8 * (i / 2)));
    fail_unless_equals_uint64 (st, ts);
    fail_unless_equals_uint64 (rt, ts);
    fail_unless_equals_uint64 (dur, PTS (8 * (i / 2) + 8) - ts);
    fail_unless_equals_int (qi, i % 2);
    fail_unless_equals_string (gst_structure_get_string (s, "query"),
                               i % 2 ? "a dog runs" : "a red ball");
    fail_unless (score >= -1.0001 && score <= 1.0001);
  }
  g_ptr_array_unref (m);
  /* post-scores is off by default: nothing else on the bus */
  fail_unless_equals_int (svh_count_messages (bus, "svilm-scores"), 0);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_threshold_high)
{
  GstHarness *h = svh_harness_take (make_element ("threshold=1.01"));
  g_object_set (h->element, "query", "a red ball;a dog runs", NULL);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 24);
  fail_unless_equals_int (svh_count_messages (bus, "svilm-match"), 0);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_change_while_playing)
{
  GstHarness *h = svh_harness_take (make_element ("threshold=1.01"));
  g_object_set (h->element, "query", "a red ball", NULL);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 8);
  fail_unless_equals_int (svh_count_messages (bus, "svilm-match"), 0);

  g_object_set (h->element, "threshold", -1.0, NULL);
  push_frames (h, 64, 48, 8, 8);
  GPtrArray *m = svh_pop_messages (bus, "svilm-match");
  fail_unless_equals_int (m->len, 1);
  fail_unless_equals_string (gst_structure_get_string (g_ptr_array_index (m, 0), "query"),
                             "a red ball");
  g_ptr_array_unref (m);

  g_object_set (h->element, "query", "a dog runs;a cat jumps", NULL);
  push_frames (h, 64, 48, 16, 8);
  m = svh_pop_messages (bus, "svilm-match");
  fail_unless_equals_int (m->len, 2);
  fail_unless_equals_string (gst_structure_get_string (g_ptr_array_index (m, 0), "query"),
                             "a dog runs");
  fail_unless_equals_string (gst_structure_get_string (g_ptr_array_index (m, 1), "query"),
                             "a cat jumps");
  g_ptr_array_unref (m);

  /* no query and no index: nothing to do, passthrough */
  g_object_set (h->element, "query", NULL, NULL);
  fail_unless (gst_base_transform_is_passthrough (GST_BASE_TRANSFORM (h->element)));
  push_frames (h, 64, 48, 24, 8);
  fail_unless_equals_int (svh_count_messages (bus, "svilm-match"), 0);
  /* leaving passthrough happens before the next buffer */
  g_object_set (h->element, "query", "a cat jumps", NULL);
  push_frames (h, 64, 48, 32, 8);
  fail_if (gst_base_transform_is_passthrough (GST_BASE_TRANSFORM (h->element)));
  fail_unless_equals_int (svh_count_messages (bus, "svilm-match"), 1);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_post_scores)
{
  GstHarness *h = svh_harness_take (make_element ("threshold=-1 post-scores=true"));
  g_object_set (h->element, "query", "a red ball;a dog runs", NULL);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 12);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_structure_free);
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    g_ptr_array_add (all, gst_structure_copy (gst_message_get_structure (msg)));
    gst_message_unref (msg);
  }
  /* per clip: the matches, then the scores; the second clip is the partial one at EOS */
  fail_unless_equals_int (all->len, 6);
  for (guint c = 0; c < 2; c++) {
    const GstStructure *s = g_ptr_array_index (all, 3 * c + 2);
    fail_unless (gst_structure_has_name (s, "svilm-scores"));
    gboolean partial;
    fail_unless (gst_structure_get_boolean (s, "partial", &partial));
    fail_unless_equals_int (partial, c == 1);
    const GValue *q = gst_structure_get_value (s, "queries");
    const GValue *sc = gst_structure_get_value (s, "scores");
    fail_unless (GST_VALUE_HOLDS_ARRAY (q) && GST_VALUE_HOLDS_ARRAY (sc));
    fail_unless_equals_int (gst_value_array_get_size (q), 2);
    fail_unless_equals_int (gst_value_array_get_size (sc), 2);
    fail_unless_equals_string (g_value_get_string (gst_value_array_get_value (q, 1)), "a dog runs");
    for (guint i = 0; i < 2; i++) {
      const GstStructure *match = g_ptr_array_index (all, 3 * c + i);
      double a, b = g_value_get_double (gst_value_array_get_value (sc, i));
      fail_unless (gst_structure_has_name (match, "svilm-match"));
      fail_unless (gst_structure_get_double (match, "score", &a));
      fail_unless (a == b);
    }
  }
  g_ptr_array_unref (all);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_json_lines)
{
  char *path = tmp_file ("matches.jsonl");
  GstElement *e = make_element ("threshold=-1");
  g_object_set (e, "query", "a red ball", "location", path, "post-messages", FALSE, NULL);
  GstHarness *h = svh_harness_take (e);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 16);
  fail_unless_equals_int (svh_count_messages (bus, "svilm-match"), 0); /* post-messages=false */
  gst_element_set_state (h->element, GST_STATE_NULL);
  char *text = NULL;
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  char **lines = g_strsplit (g_strstrip (text), "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 2);
  for (guint i = 0; lines[i]; i++) {
    JsonParser *p = json_parser_new ();
    fail_unless (json_parser_load_from_data (p, lines[i], -1, NULL));
    JsonObject *o = json_node_get_object (json_parser_get_root (p));
    fail_unless_equals_string (json_object_get_string_member (o, "type"), "svilm-match");
    fail_unless_equals_string (json_object_get_string_member (o, "query"), "a red ball");
    fail_unless_equals_int (json_object_get_int_member (o, "clip-index"), i);
    fail_unless (json_object_has_member (o, "score"));
    g_object_unref (p);
  }
  g_strfreev (lines);
  g_free (text);
  g_remove (path);
  g_free (path);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* ---- the index ------------------------------------------------------------------------- */

typedef struct {
  gint64 start, end;
  char *uri, *model_id;
  float norm;
} Row;

static GArray *
read_rows (const char *path)
{
  sqlite3 *db = NULL;
  fail_unless_equals_int (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  fail_unless_equals_int (sqlite3_prepare_v2 (db,
                                              "SELECT c.start_ns, c.end_ns, c.uri, m.model_id, "
                                              "m.dim, c.embedding FROM clips c JOIN models m ON "
                                              "c.model = m.id ORDER BY c.id",
                                              -1, &st, NULL),
                          SQLITE_OK);
  GArray *rows = g_array_new (FALSE, TRUE, sizeof (Row));
  while (sqlite3_step (st) == SQLITE_ROW) {
    Row r = { sqlite3_column_int64 (st, 0), sqlite3_column_int64 (st, 1),
              g_strdup ((const char *) sqlite3_column_text (st, 2)),
              g_strdup ((const char *) sqlite3_column_text (st, 3)), 0.0f };
    int dim = sqlite3_column_int (st, 4);
    fail_unless_equals_int (sqlite3_column_bytes (st, 5), dim * 4);
    const float *e = sqlite3_column_blob (st, 5);
    double ss = 0;
    for (int i = 0; i < dim; i++)
      ss += (double) e[i] * e[i];
    r.norm = (float) sqrt (ss);
    g_array_append_val (rows, r);
  }
  sqlite3_finalize (st);
  int version = 0;
  fail_unless_equals_int (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
  fail_unless_equals_int (sqlite3_step (st), SQLITE_ROW);
  version = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);
  fail_unless_equals_int (version, 1);
  sqlite3_close (db);
  return rows;
}

static void
free_rows (GArray *rows)
{
  for (guint i = 0; i < rows->len; i++) {
    g_free (g_array_index (rows, Row, i).uri);
    g_free (g_array_index (rows, Row, i).model_id);
  }
  g_array_unref (rows);
}

static const char *answered_uri;

static gboolean
answer_uri (GstPad *pad, GstObject *parent, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_URI && answered_uri) {
    gst_query_set_uri (query, answered_uri);
    return TRUE;
  }
  return gst_pad_query_default (pad, parent, query);
}

GST_START_TEST (test_index_rows)
{
  char *path = tmp_file ("rows.db");
  GstElement *e = make_element ("");
  g_object_set (e, "index", path, NULL);
  GstHarness *h = svh_harness_take (e);
  fail_if (gst_base_transform_is_passthrough (GST_BASE_TRANSFORM (h->element)));
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 20);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  /* committed by EOS, while the element still plays */
  GArray *rows = read_rows (path);
  fail_unless_equals_int (rows->len, 3); /* two windows and the partial one */
  SvilmModel *model = svilm_model_load (model_path, "cpu", NULL);
  fail_unless (model != NULL);
  const guint bounds[][2] = { { 0, 8 }, { 8, 16 }, { 16, 20 } };
  for (guint i = 0; i < rows->len; i++) {
    Row *r = &g_array_index (rows, Row, i);
    fail_unless_equals_int64 (r->start, (gint64) PTS (bounds[i][0]));
    fail_unless_equals_int64 (r->end, (gint64) PTS (bounds[i][1]));
    fail_unless_equals_string (r->uri, "unknown"); /* the harness does not answer URI queries */
    fail_unless_equals_string (r->model_id, svilm_model_get_id (model));
    fail_unless (fabsf (r->norm - 1.0f) < 1e-4f);
  }
  free_rows (rows);
  g_object_unref (model);
  fail_unless_equals_int (svh_count_messages (bus, "svilm-match"), 0); /* no query */
  gst_harness_teardown (h);

  /* appending: the uri property, and a second run adds rows */
  e = make_element ("");
  g_object_set (e, "index", path, "uri", "file:///videos/given.mp4", NULL);
  h = svh_harness_take (e);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 8);
  gst_harness_teardown (h);
  rows = read_rows (path);
  fail_unless_equals_int (rows->len, 4);
  fail_unless_equals_string (g_array_index (rows, Row, 3).uri, "file:///videos/given.mp4");
  free_rows (rows);
  svh_drop_bus (bus);
  g_free (path);
}
GST_END_TEST;

GST_START_TEST (test_index_uri_query)
{
  char *path = tmp_file ("uri.db");
  GstElement *e = make_element ("");
  g_object_set (e, "index", path, NULL);
  GstHarness *h = svh_harness_take (e);
  gst_pad_set_query_function (h->srcpad, answer_uri);
  answered_uri = "file:///videos/first.mp4";
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 8);
  /* a new stream (another source): its URI is asked again */
  answered_uri = "file:///videos/second.mp4";
  fail_unless (gst_harness_push_event (h, gst_event_new_stream_start ("second")));
  push_frames (h, 64, 48, 8, 8);
  gst_harness_teardown (h);
  answered_uri = NULL;
  GArray *rows = read_rows (path);
  fail_unless_equals_int (rows->len, 2);
  fail_unless_equals_string (g_array_index (rows, Row, 0).uri, "file:///videos/first.mp4");
  fail_unless_equals_string (g_array_index (rows, Row, 1).uri, "file:///videos/second.mp4");
  free_rows (rows);
  g_free (path);
}
GST_END_TEST;

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
  fail_unless (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out,
                             err, &status, &error),
               "%s", error ? error->message : "");
  g_ptr_array_unref (argv);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

GST_START_TEST (test_search)
{
  char *path = tmp_file ("search.db");
  GstElement *e = make_element ("threshold=-1");
  g_object_set (e, "index", path, "query", "a red ball", "uri", "file:///videos/a.mp4", NULL);
  GstHarness *h = svh_harness_take (e);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 44);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  /* the element's scores by clip start */
  GPtrArray *m = svh_pop_messages (bus, "svilm-match");
  fail_unless_equals_int (m->len, 6);
  GHashTable *scores = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  for (guint i = 0; i < m->len; i++) {
    guint64 ts;
    double score;
    gst_structure_get_uint64 (g_ptr_array_index (m, i), "stream-time", &ts);
    gst_structure_get_double (g_ptr_array_index (m, i), "score", &score);
    gint64 *k = g_new (gint64, 1);
    *k = (gint64) ts;
    g_hash_table_insert (scores, k, g_memdup2 (&score, sizeof score));
  }
  g_ptr_array_unref (m);
  gst_harness_teardown (h);

  char *out = NULL, *err = NULL;
  const char *args[] = { "--index", path,  "--model", model_path,   "--device", "cpu",
                         "--top",   "100", "--json",  "a red ball", NULL };
  fail_unless_equals_int (run_search (args, &out, &err), 0);
  JsonParser *p = json_parser_new ();
  fail_unless (json_parser_load_from_data (p, out, -1, NULL), "not JSON: %s", out);
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  fail_unless_equals_string (json_object_get_string_member (o, "query"), "a red ball");
  fail_unless_equals_int (json_object_get_int_member (o, "clips"), 6);
  JsonArray *res = json_object_get_array_member (o, "results");
  fail_unless_equals_int (json_array_get_length (res), 6);
  double prev = 2.0;
  for (guint i = 0; i < 6; i++) {
    JsonObject *r = json_array_get_object_element (res, i);
    double score = json_object_get_double_member (r, "score");
    gint64 start = json_object_get_int_member (r, "start");
    gint64 end = json_object_get_int_member (r, "end");
    fail_unless (score <= prev, "not sorted");
    prev = score;
    fail_unless_equals_int (json_object_get_int_member (r, "rank"), i + 1);
    fail_unless_equals_string (json_object_get_string_member (r, "uri"), "file:///videos/a.mp4");
    fail_unless (end > start);
    double *elem = g_hash_table_lookup (scores, &start);
    fail_unless (elem != NULL, "no clip at %" G_GINT64_FORMAT, start);
    fail_unless (fabs (*elem - score) < 1e-5, "%f vs %f", *elem, score);
  }
  g_object_unref (p);
  g_free (out);
  g_free (err);

  /* the table, and --queries: one result set per line of the file */
  char *qfile = tmp_file ("queries.txt");
  fail_unless (g_file_set_contents (qfile, "a dog runs\n\n a red ball \n", -1, NULL));
  const char *args2[] = { "--index", path, "--model",   model_path, "--device", "cpu",
                          "--top",   "2",  "--queries", qfile,      NULL };
  fail_unless_equals_int (run_search (args2, &out, &err), 0);
  fail_unless (strstr (out, "query: a dog runs") && strstr (out, "query: a red ball"), "%s", out);
  fail_unless (strstr (out, "file:///videos/a.mp4") != NULL);
  fail_unless (strstr (err, "query 2:") != NULL, "%s", err);
  g_free (out);
  g_free (err);
  const char *args3[] = { "--index", path,      "--model",   model_path, "--device", "cpu",
                          "--json",  "--quiet", "--queries", qfile,      NULL };
  fail_unless_equals_int (run_search (args3, &out, &err), 0);
  char **lines = g_strsplit (g_strstrip (out), "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 2);
  for (guint i = 0; lines[i]; i++) {
    p = json_parser_new ();
    fail_unless (json_parser_load_from_data (p, lines[i], -1, NULL));
    g_object_unref (p);
  }
  fail_unless_equals_string (err, "");
  g_strfreev (lines);
  g_free (out);
  g_free (err);
  g_remove (qfile);
  g_free (qfile);
  g_hash_table_unref (scores);
  svh_drop_bus (bus);
  g_free (path);
}
GST_END_TEST;

/* an element that must fail going to PAUSED, with an error on the bus naming `needle` */
static void
expect_start_error (GstElement *e, const char *needle)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (m != NULL);
  GError *error = NULL;
  char *debug = NULL;
  gst_message_parse_error (m, &error, &debug);
  fail_unless (strstr (error->message, needle) != NULL, "%s", error->message);
  g_clear_error (&error);
  g_free (debug);
  gst_message_unref (m);
  gst_element_set_state (e, GST_STATE_NULL);
  svh_drop_bus (bus);
  gst_object_unref (e);
}

GST_START_TEST (test_bad_index)
{
  GstElement *e = make_element ("");
  g_object_set (e, "index", "/nonexistent-svilm-dir/sub/index.db", NULL);
  expect_start_error (e, "/nonexistent-svilm-dir/sub/index.db");

  char *corrupt = tmp_file ("corrupt-element.db");
  GString *junk = g_string_new (NULL);
  for (int i = 0; i < 200; i++)
    g_string_append (junk, "garbage garbage garbage ");
  fail_unless (g_file_set_contents (corrupt, junk->str, -1, NULL));
  e = make_element ("");
  g_object_set (e, "index", corrupt, NULL);
  expect_start_error (e, "not an svilm index");

  e = make_element ("");
  g_object_set (e, "index", tmp_dir, NULL);
  expect_start_error (e, "directory");
  g_remove (corrupt);
  g_free (corrupt);
  g_string_free (junk, TRUE);
}
GST_END_TEST;

GST_START_TEST (test_empty_query)
{
  GstHarness *h = svh_harness_take (make_element ("threshold=-1"));
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  g_object_set (h->element, "query", " ; ;", NULL);
  fail_unless (gst_base_transform_is_passthrough (GST_BASE_TRANSFORM (h->element)));
  push_frames (h, 64, 48, 0, 16);
  fail_unless_equals_int (svh_count_messages (bus, "svilm-match"), 0);
  gst_harness_teardown (h);
  svh_drop_bus (bus);

  /* an index and an empty query: clips are written, a warning says the query is empty */
  char *path = tmp_file ("empty-query.db");
  GstElement *e = make_element ("threshold=-1");
  g_object_set (e, "index", path, "query", " ; ", NULL);
  bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  h = svh_harness_take (e);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 8);
  GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (m != NULL);
  GError *error = NULL;
  gst_message_parse_warning (m, &error, NULL);
  fail_unless (strstr (error->message, "no text") != NULL, "%s", error->message);
  g_clear_error (&error);
  gst_message_unref (m);
  fail_unless_equals_int (svh_count_messages (bus, "svilm-match"), 0);
  gst_harness_teardown (h);
  GArray *rows = read_rows (path);
  fail_unless_equals_int (rows->len, 1);
  free_rows (rows);
  svh_drop_bus (bus);
  g_free (path);
}
GST_END_TEST;

GST_START_TEST (test_renegotiation)
{
  GstHarness *h = svh_harness_take (make_element ("threshold=-1"));
  g_object_set (h->element, "query", "a red ball", NULL);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 12);
  svh_set_caps (h, "RGB", 80, 60); /* a new size starts a new window */
  push_frames (h, 80, 60, 12, 8);
  svh_set_caps (h, "RGB", 32, 32);
  push_frames (h, 32, 32, 20, 8);
  GPtrArray *m = svh_pop_messages (bus, "svilm-match");
  fail_unless_equals_int (m->len, 3);
  guint64 ts;
  fail_unless (gst_structure_get_uint64 (g_ptr_array_index (m, 1), "timestamp", &ts));
  fail_unless_equals_uint64 (ts, PTS (12));
  g_ptr_array_unref (m);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_flush)
{
  GstHarness *h = svh_harness_take (make_element ("threshold=-1"));
  g_object_set (h->element, "query", "a red ball", NULL);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 5);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  push_frames (h, 64, 48, 100, 8);
  GPtrArray *m = svh_pop_messages (bus, "svilm-match");
  fail_unless_equals_int (m->len, 1);
  guint64 ts, clip;
  gst_structure_get_uint64 (g_ptr_array_index (m, 0), "timestamp", &ts);
  gst_structure_get_uint64 (g_ptr_array_index (m, 0), "clip-index", &clip);
  fail_unless_equals_uint64 (ts, PTS (100)); /* the frames before the flush are gone */
  g_ptr_array_unref (m);
  svh_drop_bus (bus);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_state_cycles)
{
  char *path = tmp_file ("cycles.db");
  GstElement *e = make_element ("threshold=-1");
  g_object_set (e, "index", path, "query", "a red ball;a dog", NULL);
  for (int i = 0; i < 50; i++) {
    fail_unless (gst_element_set_state (e, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    fail_unless (gst_element_set_state (e, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  }
  /* still works after the cycles, and the index took no stray rows */
  GstHarness *h = svh_harness_take (e);
  GstBus *bus = svh_watch (h);
  svh_set_caps (h, "RGB", 64, 48);
  push_frames (h, 64, 48, 0, 8);
  fail_unless_equals_int (svh_count_messages (bus, "svilm-match"), 2);
  gst_harness_teardown (h);
  GArray *rows = read_rows (path);
  fail_unless_equals_int (rows->len, 1);
  free_rows (rows);
  svh_drop_bus (bus);
  g_free (path);
}
GST_END_TEST;

GST_START_TEST (test_bad_model)
{
  GstElement *e = make_element ("");
  g_object_set (e, "model", "/nonexistent/model.safetensors", "query", "a dog", NULL);
  expect_start_error (e, "/nonexistent/model.safetensors");

  char *bad = tmp_file ("bad.safetensors");
  fail_unless (g_file_set_contents (bad, "not a model at all, just some bytes", -1, NULL));
  e = make_element ("");
  g_object_set (e, "model", bad, "query", "a dog", NULL);
  expect_start_error (e, "bad.safetensors");
  g_remove (bad);
  g_free (bad);
}
GST_END_TEST;

static Suite *
svilmretrieve_suite (void)
{
  Suite *s = suite_create ("svilmretrieve");
  TCase *tc = tcase_create ("general");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_match_fields);
  tcase_add_test (tc, test_threshold_high);
  tcase_add_test (tc, test_change_while_playing);
  tcase_add_test (tc, test_post_scores);
  tcase_add_test (tc, test_json_lines);
  tcase_add_test (tc, test_index_rows);
  tcase_add_test (tc, test_index_uri_query);
  tcase_add_test (tc, test_search);
  tcase_add_test (tc, test_bad_index);
  tcase_add_test (tc, test_empty_query);
  tcase_add_test (tc, test_renegotiation);
  tcase_add_test (tc, test_flush);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_bad_model);
  return s;
}

int
main (int argc, char **argv)
{
  gst_check_init (&argc, &argv);
  if (argc < 3) {
    g_printerr ("usage: %s MAKE_TEST_MODEL SVILM_SEARCH\n", argv[0]);
    return 2;
  }
  search_program = argv[2];
  tmp_dir = g_dir_make_tmp ("svilm-retrieve-XXXXXX", NULL);
  model_path = svh_make_test_model (argv[1], tmp_dir, "model.safetensors", "--small");
  if (!model_path)
    return 1;
  int failed = gst_check_run_suite (svilmretrieve_suite (), "svilmretrieve", __FILE__);
  /* whatever the tests left */
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
  return failed;
}
