/* svilm-search: text-to-video search in an index written by svilmretrieve.
 *
 *   svilm-search --index videos.db [--model MODEL] [--top K] [--json] [--exact]
 *                [--queries FILE] [--quiet] "a dog runs on a beach" ...
 *
 * Loads the index's embeddings of the model once into memory (the load time
 * goes to stderr), then answers each query (the texts given, then one per
 * line of --queries FILE) with its best clips, best first: rank, score (the
 * cosine in the joint space), start, end and the source URI, as a table or
 * with --json as one JSON object per query and line:
 *
 *   {"query": "...", "model-id": "...", "clips": N, "text-ms": 3.1, "search-ms": 9.8,
 *    "results": [{"rank": 1, "clip": 42, "uri": "file:///...", "start": 3000000000,
 *                 "end": 3266666666, "score": 0.41}, ...]}
 *
 * (times in ns, null when unknown).  Per-query times go to stderr, and a summary
 * when there are several queries.  Exit status: 0, 1 on errors, 2 on bad usage.
 */
#include "config.h"

#include "sv-backend.h"

#include "svilm-index.h"
#include "svilm-model.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

static char *opt_index, *opt_model, *opt_device, *opt_queries;
static int opt_top = 10;
static gboolean opt_json, opt_exact, opt_quiet;
static char **opt_texts;

static GOptionEntry entries[] = {
  { "index", 'i', 0, G_OPTION_ARG_FILENAME, &opt_index, N_ ("The index to search"), N_ ("PATH") },
  { "model", 'm', 0, G_OPTION_ARG_FILENAME, &opt_model,
    N_ ("The model that wrote the index (default: $SVILM_MODEL, else the bundled model)"),
    N_ ("MODEL") },
  { "device", 'd', 0, G_OPTION_ARG_STRING, &opt_device,
    N_ ("Where to encode the text: auto, cpu, vulkan, vulkan:N (default auto)"), N_ ("DEVICE") },
  { "top", 'k', 0, G_OPTION_ARG_INT, &opt_top, N_ ("How many clips to print (default 10)"),
    N_ ("K") },
  { "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, N_ ("Print one JSON object per query"), NULL },
  { "queries", 'f', 0, G_OPTION_ARG_FILENAME, &opt_queries,
    N_ ("Also answer the queries in FILE, one per line (\"-\": standard input)"), N_ ("FILE") },
  { "exact", 0, 0, G_OPTION_ARG_NONE, &opt_exact,
    N_ ("Scan the float32 embeddings even for large indexes (slower)"), NULL },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, N_ ("Print no timings"), NULL },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_texts, NULL, N_ ("TEXT...") },
  { NULL },
};

static char *
default_model (void)
{
  const char *env = g_getenv ("SVILM_MODEL");
  if (env && *env)
    return g_strdup (env);
  char *p = g_build_filename (SVILM_MODELS_DIR, "default.safetensors", NULL);
  if (!g_file_test (p, G_FILE_TEST_EXISTS)) {
    g_free (p);
    p = g_build_filename (SVILM_SOURCE_DIR, "models", "default.safetensors", NULL);
  }
  return p;
}

static void
format_time (gint64 ns, char *buf, gsize size)
{
  if (ns < 0) {
    g_strlcpy (buf, "-", size);
    return;
  }
  gint64 ms = ns / 1000000;
  g_snprintf (buf, size, "%" G_GINT64_FORMAT ":%02d:%02d.%03d", ms / 3600000,
              (int) (ms / 60000 % 60), (int) (ms / 1000 % 60), (int) (ms % 1000));
}

/* the queries: positional texts then the file's lines; FALSE (after a message) on errors */
static gboolean
collect_queries (GPtrArray *queries)
{
  for (char **t = opt_texts; t && *t; t++) {
    char *q = g_strstrip (g_strdup (*t));
    if (!*q) {
      g_printerr (_ ("svilm-search: the query text is empty.\n"));
      g_free (q);
      return FALSE;
    }
    g_ptr_array_add (queries, q);
  }
  if (opt_queries) {
    char *data = NULL;
    GError *error = NULL;
    gboolean ok;
    if (g_str_equal (opt_queries, "-")) {
      GString *s = g_string_new (NULL);
      char buf[4096];
      size_t n;
      while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
        g_string_append_len (s, buf, (gssize) n);
      data = g_string_free (s, FALSE);
      ok = TRUE;
    } else {
      ok = g_file_get_contents (opt_queries, &data, NULL, &error);
    }
    if (!ok) {
      g_printerr (_ ("svilm-search: could not read the queries: %s\n"), error->message);
      g_clear_error (&error);
      return FALSE;
    }
    char **lines = g_strsplit (data, "\n", -1);
    guint before = queries->len;
    for (char **l = lines; *l; l++) {
      char *q = g_strstrip (*l);
      if (*q)
        g_ptr_array_add (queries, g_strdup (q));
    }
    g_strfreev (lines);
    g_free (data);
    if (queries->len == before) {
      g_printerr (_ ("svilm-search: \"%s\" holds no queries.\n"), opt_queries);
      return FALSE;
    }
  }
  if (queries->len == 0) {
    g_printerr (_ ("svilm-search: no query given (a TEXT argument or --queries FILE).\n"));
    return FALSE;
  }
  return TRUE;
}

static void
print_json (const char *query, const char *model_id, gsize clips, double text_ms, double search_ms,
            SvilmIndex *index, const SvilmIndexHit *hits, guint n)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "query");
  json_builder_add_string_value (b, query);
  json_builder_set_member_name (b, "model-id");
  json_builder_add_string_value (b, model_id);
  json_builder_set_member_name (b, "clips");
  json_builder_add_int_value (b, (gint64) clips);
  json_builder_set_member_name (b, "text-ms");
  json_builder_add_double_value (b, text_ms);
  json_builder_set_member_name (b, "search-ms");
  json_builder_add_double_value (b, search_ms);
  json_builder_set_member_name (b, "results");
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++) {
    char *uri = NULL;
    gint64 start = -1, end = -1;
    svilm_index_get_clip (index, hits[i].clip, &uri, &start, &end, NULL);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "rank");
    json_builder_add_int_value (b, i + 1);
    json_builder_set_member_name (b, "clip");
    json_builder_add_int_value (b, hits[i].clip);
    json_builder_set_member_name (b, "uri");
    json_builder_add_string_value (b, uri ? uri : "unknown");
    json_builder_set_member_name (b, "start");
    if (start >= 0)
      json_builder_add_int_value (b, start);
    else
      json_builder_add_null_value (b);
    json_builder_set_member_name (b, "end");
    if (end >= 0)
      json_builder_add_int_value (b, end);
    else
      json_builder_add_null_value (b);
    json_builder_set_member_name (b, "score");
    json_builder_add_double_value (b, hits[i].score);
    json_builder_end_object (b);
    g_free (uri);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  char *line = json_generator_to_data (gen, NULL);
  printf ("%s\n", line);
  g_free (line);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
}

static void
print_table (const char *query, SvilmIndex *index, const SvilmIndexHit *hits, guint n)
{
  printf ("query: %s\n%-5s %-8s %-14s %-14s %s\n", query, "rank", "score", "start", "end", "uri");
  for (guint i = 0; i < n; i++) {
    char *uri = NULL, start_s[32], end_s[32];
    gint64 start = -1, end = -1;
    svilm_index_get_clip (index, hits[i].clip, &uri, &start, &end, NULL);
    format_time (start, start_s, sizeof start_s);
    format_time (end, end_s, sizeof end_s);
    printf ("%-5u %-8.4f %-14s %-14s %s\n", i + 1, hits[i].score, start_s, end_s,
            uri ? uri : "unknown");
    g_free (uri);
  }
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
summary (const char *what, double *ms, guint n)
{
  double sum = 0.0;
  for (guint i = 0; i < n; i++)
    sum += ms[i];
  qsort (ms, n, sizeof *ms, cmp_double);
  g_printerr (_ ("svilm-search: %s per query: mean %.2f ms, median %.2f ms, min %.2f ms, max "
                 "%.2f ms\n"),
              what, sum / n, ms[n / 2], ms[0], ms[n - 1]);
}

int
main (int argc, char **argv)
{
  sv_prefer_passive_threads (argv);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new (_ ("TEXT... - search an svilm index for clips"));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  g_option_context_set_description (
      ctx, _ ("Ranks the clips that svilmretrieve wrote to an index (index=PATH) by how well "
              "they match each text, and prints the best with their source and time range."));
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("svilm-search: %s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (!opt_index) {
    g_printerr (_ ("svilm-search: no index given (--index PATH).\n"));
    return 2;
  }
  if (opt_top < 1) {
    g_printerr (_ ("svilm-search: --top must be at least 1.\n"));
    return 2;
  }
  GPtrArray *queries = g_ptr_array_new_with_free_func (g_free);
  if (!collect_queries (queries))
    return 2;

  int status = 1;
  SvilmModel *model = NULL;
  SvilmIndexMatrix *matrix = NULL;
  SvilmIndexHit *hits = NULL;
  char *model_path = opt_model ? g_strdup (opt_model) : default_model ();
  SvilmIndex *index = svilm_index_open (opt_index, FALSE, &error);
  if (!index)
    goto fail;
  gint64 t0 = g_get_monotonic_time ();
  model = svilm_model_load (model_path, opt_device ? opt_device : "auto", &error);
  if (!model)
    goto fail;
  if (!svilm_model_has_tokenizer (model)) {
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 _ ("The model %s has no tokenizer, so it cannot encode text."), model_path);
    goto fail;
  }
  gint64 t1 = g_get_monotonic_time ();
  const char *model_id = svilm_model_get_id (model);
  matrix = svilm_index_load (index, model_id, &error);
  if (!matrix)
    goto fail;
  gint64 t2 = g_get_monotonic_time ();
  gsize rows = svilm_index_matrix_get_rows (matrix);
  guint dim = svilm_index_matrix_get_dim (matrix);
  if (!opt_quiet)
    g_printerr (_ ("svilm-search: model %s loaded in %.1f ms; %" G_GSIZE_FORMAT
                   " clips (dim %u) loaded in %.1f ms\n"),
                model_id, (t1 - t0) / 1e3, rows, dim, (t2 - t1) / 1e3);

  hits = g_new (SvilmIndexHit, opt_top);
  double *text_ms = g_new (double, queries->len), *search_ms = g_new (double, queries->len);
  for (guint q = 0; q < queries->len; q++) {
    const char *text = g_ptr_array_index (queries, q);
    gint64 a = g_get_monotonic_time ();
    gsize n_emb = 0;
    gfloat *emb = svilm_model_encode_text (model, text, &n_emb, &error);
    if (!emb)
      goto fail_query;
    if (n_emb != dim) {
      g_free (emb);
      g_set_error (
          &error, G_IO_ERROR, G_IO_ERROR_FAILED,
          _ ("The model's text embedding has %" G_GSIZE_FORMAT " values but the index's %u."),
          n_emb, dim);
      goto fail_query;
    }
    gint64 b = g_get_monotonic_time ();
    guint n = svilm_index_matrix_search (matrix, emb, (guint) opt_top, opt_exact, hits);
    gint64 c = g_get_monotonic_time ();
    g_free (emb);
    text_ms[q] = (b - a) / 1e3;
    search_ms[q] = (c - b) / 1e3;
    if (opt_json)
      print_json (text, model_id, rows, text_ms[q], search_ms[q], index, hits, n);
    else
      print_table (text, index, hits, n);
    if (!opt_json && q + 1 < queries->len)
      printf ("\n");
    fflush (stdout);
    if (!opt_quiet)
      g_printerr (_ ("svilm-search: query %u: text %.2f ms, search %.2f ms\n"), q + 1, text_ms[q],
                  search_ms[q]);
  }
  if (!opt_quiet && queries->len > 1) {
    summary (_ ("text encoding"), text_ms, queries->len);
    summary (_ ("search"), search_ms, queries->len);
  }
  status = 0;
fail_query:
  g_free (text_ms);
  g_free (search_ms);
fail:
  if (error) {
    g_printerr ("svilm-search: %s\n", error->message);
    g_clear_error (&error);
  }
  g_free (hits);
  svilm_index_matrix_free (matrix);
  g_clear_object (&model);
  svilm_index_close (index);
  g_free (model_path);
  g_ptr_array_unref (queries);
  return status;
}
