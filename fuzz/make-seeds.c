/* Writes the generated seed files of the fuzz corpora (fuzz/README.md):
 *
 *   make-seeds CORPUS_DIR      (CORPUS_DIR/<target>/ must exist)
 *
 * tiny checkpoints (a model config far smaller than the presets, with and without a
 * tokenizer), small safetensors files (both dtypes, metadata, empty tensors, an
 * unaligned data section), model configs (the presets and the tiny one) and tokenizer
 * JSON, and retrieval indexes (SQLite, page size 512 to keep them small).  The output is
 * deterministic; the hand-written seeds sit next to these.
 */
#include "sv-backend.h"
#include "sv-model.h"
#include "sv-safetensors.h"
#include "svilm-index.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const captions[] = {
  "a red ball rolls to the left past a small blue car",
  "a dog runs to the right then a cat jumps",
  "two yellow stars grow in the middle",
};

static const char *out_dir;

static void
die (GError *error)
{
  fprintf (stderr, "make-seeds: %s\n", error ? error->message : "failed");
  exit (1);
}

static char *
seed_path (const char *target, const char *name)
{
  return g_build_filename (out_dir, target, name, NULL);
}

static void
write_seed (const char *target, const char *name, const void *data, gsize len)
{
  GError *error = NULL;
  char *p = seed_path (target, name);
  if (!g_file_set_contents (p, data, (gssize) len, &error))
    die (error);
  g_free (p);
}

/* frames 4 of 4x4, tubelets 2x4x4 (2 tokens), width 4, 1 layer each: a few hundred floats */
static void
micro_config (SvModelConfig *c)
{
  sv_model_config_preset (c, "tiny", NULL);
  c->frames = 4;
  c->height = c->width = 4;
  c->tubelet_t = 2;
  c->patch = 4;
  c->v_width = 4;
  c->v_depth = 1;
  c->v_heads = 1;
  c->v_mlp = 4;
  c->n_groups = 2;
  memset (c->group_after, 0, sizeof c->group_after);
  c->group_after[0] = TRUE;
  c->vocab = 24;
  c->max_len = 4;
  c->t_width = 4;
  c->t_depth = 1;
  c->t_heads = 1;
  c->t_mlp = 4;
  c->embed_dim = 4;
  c->n_nouns = 1;
}

static SvTokenizer *
tokenizer (guint vocab)
{
  GError *error = NULL;
  SvTokenizer *tok = sv_tokenizer_train (captions, G_N_ELEMENTS (captions), vocab, &error);
  if (!tok)
    die (error);
  return tok;
}

static void
write_model (const SvModelConfig *c, gboolean with_tokenizer, const char *name)
{
  GError *error = NULL;
  SvModel *m = sv_model_new (c, sv_backend_cpu (), 7, &error);
  if (!m)
    die (error);
  if (with_tokenizer)
    sv_model_set_tokenizer (m, tokenizer ((guint) c->vocab));
  char *p = seed_path ("model", name);
  if (!sv_model_save (m, p, &error))
    die (error);
  g_free (p);
  sv_model_free (m);
}

static void
write_safetensors (void)
{
  GError *error = NULL;
  float f[6] = { 0.f, 1.f, -2.5f, 1e-30f, 3e38f, -0.f };
  int32_t i[4] = { 0, -1, 2147483647, 42 };
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  gboolean ok =
      sv_safetensors_writer_add (w, "weight", SV_F32, 2, (int64_t[]){ 2, 3 }, f, &error) &&
      sv_safetensors_writer_add (w, "ids", SV_I32, 1, (int64_t[]){ 4 }, i, &error) &&
      sv_safetensors_writer_add (w, "empty", SV_F32, 2, (int64_t[]){ 0, 5 }, f, &error) &&
      sv_safetensors_writer_add (w, "scalar", SV_F32, 0, (int64_t[]){ 1 }, f + 2, &error);
  sv_safetensors_writer_set_metadata (w, "format", "pt");
  sv_safetensors_writer_set_metadata (w, "note", "caf\xc3\xa9 \"quoted\" \\ \n");
  char *p = seed_path ("safetensors", "mixed.safetensors");
  if (!ok || !sv_safetensors_writer_write (w, p, &error))
    die (error);
  g_free (p);
  sv_safetensors_writer_free (w);

  w = sv_safetensors_writer_new ();
  p = seed_path ("safetensors", "no-tensors.safetensors");
  if (!sv_safetensors_writer_write (w, p, &error))
    die (error);
  g_free (p);
  sv_safetensors_writer_free (w);

  /* hand-made: a 5-dim tensor after a header whose length is not a multiple of 4 */
  const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]},"
                    "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
  GByteArray *b = g_byte_array_new ();
  guint64 n = GUINT64_TO_LE ((guint64) strlen (hdr));
  g_byte_array_append (b, (const guint8 *) &n, 8);
  g_byte_array_append (b, (const guint8 *) hdr, (guint) strlen (hdr));
  g_byte_array_append (b, (const guint8 *) f, 8);
  g_byte_array_append (b, (const guint8 *) i, 4);
  write_seed ("safetensors", "unaligned.safetensors", b->data, b->len);
  g_byte_array_unref (b);

  /* an svilm checkpoint is a safetensors file too */
  SvModelConfig c;
  micro_config (&c);
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), 3, &error);
  if (!m)
    die (error);
  p = seed_path ("safetensors", "micro-model.safetensors");
  if (!sv_model_save (m, p, &error))
    die (error);
  g_free (p);
  sv_model_free (m);
}

static void
write_configs (void)
{
  const char *presets[] = { "tiny", "small", "base" };
  for (guint k = 0; k < G_N_ELEMENTS (presets); k++) {
    SvModelConfig c;
    sv_model_config_preset (&c, presets[k], NULL);
    char *json = sv_model_config_to_json (&c);
    char *name = g_strconcat (presets[k], ".json", NULL);
    write_seed ("model-config", name, json, strlen (json));
    g_free (name);
    g_free (json);
  }
  SvModelConfig c;
  micro_config (&c);
  c.attention = SV_ATTENTION_STGRAPH;
  c.groups_in_layers = FALSE; /* stgraph's band has no place for group tokens */
  c.stgraph_theta = -0.25f;
  char *json = sv_model_config_to_json (&c);
  write_seed ("model-config", "micro-stgraph.json", json, strlen (json));
  g_free (json);
}

static void
write_tokenizers (void)
{
  const guint sizes[] = { 8, 40 };
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++) {
    SvTokenizer *tok = tokenizer (sizes[k]);
    char *json = sv_tokenizer_to_json (tok);
    GString *s = g_string_new (json);
    /* then NUL-separated captions to encode */
    const char *texts[] = { "a red ball rolls to the LEFT!", "caf\xc3\xa9 \xef\xac\x81sh \xff x",
                            "" };
    for (guint t = 0; t < G_N_ELEMENTS (texts); t++) {
      g_string_append_c (s, '\0');
      g_string_append (s, texts[t]);
    }
    char *name = g_strdup_printf ("bpe-%u.json", sizes[k]);
    write_seed ("tokenizer", name, s->str, s->len);
    g_free (name);
    g_string_free (s, TRUE);
    g_free (json);
    sv_tokenizer_free (tok);
  }
}

static void
sql (sqlite3 *db, const char *q)
{
  char *msg = NULL;
  if (sqlite3_exec (db, q, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf (stderr, "make-seeds: %s: %s\n", q, msg);
    exit (1);
  }
}

/* rewrites the file with small pages and no WAL (fewer, smaller pages to mutate) */
static void
compact (const char *path)
{
  sqlite3 *db = NULL;
  if (sqlite3_open (path, &db) != SQLITE_OK) {
    fprintf (stderr, "make-seeds: cannot open %s\n", path);
    exit (1);
  }
  sql (db, "PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM");
  sqlite3_close (db);
}

static void
write_index (const char *name, guint n_models, guint clips)
{
  GError *error = NULL;
  char *p = seed_path ("index", name);
  g_unlink (p);
  SvilmIndex *idx = svilm_index_open (p, TRUE, &error);
  if (!idx)
    die (error);
  for (guint m = 0; m < n_models; m++) {
    guint dim = 4 << m;
    char *id = g_strdup_printf ("%016x", 0x5eed0000u + m);
    if (!svilm_index_set_model (idx, id, dim, &error))
      die (error);
    for (guint c = 0; c < clips; c++) {
      float e[16];
      for (guint i = 0; i < dim; i++)
        e[i] = (float) ((i + c) % 3) - 1.0f + 0.25f * (float) m;
      char *uri = g_strdup_printf ("file:///videos/clip%u.mp4", c);
      if (!svilm_index_add (idx, uri, c == 1 ? -1 : (gint64) c * 1000000000,
                            c == 1 ? -1 : (gint64) (c + 1) * 1000000000, e, &error))
        die (error);
      g_free (uri);
    }
    g_free (id);
  }
  svilm_index_close (idx);
  compact (p);
  g_free (p);
}

/* SQLite files that are not (good) indexes */
static void
write_other_databases (void)
{
  const struct {
    const char *name, *sql;
  } dbs[] = {
    { "not-an-index.db", "CREATE TABLE t (x); INSERT INTO t VALUES (1)" },
    { "newer-version.db", "PRAGMA application_id = 1398164557; PRAGMA user_version = 2; "
                          "CREATE TABLE models (id INTEGER PRIMARY KEY)" },
    { "odd-schema.db", "PRAGMA application_id = 1398164557; PRAGMA user_version = 1; "
                       "CREATE TABLE models (id, model_id, dim); "
                       "CREATE TABLE clips (id, model, uri, start_ns, end_ns, embedding); "
                       "INSERT INTO models VALUES (1, 'm', 2); "
                       "INSERT INTO clips VALUES (1, 1, NULL, 'x', 2.5, x'0000803f00000000'); "
                       "INSERT INTO clips VALUES (1, 1, 'u', NULL, NULL, x'000080ff0000c07f')" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (dbs); i++) {
    char *p = seed_path ("index", dbs[i].name);
    g_unlink (p);
    sqlite3 *db = NULL;
    if (sqlite3_open (p, &db) != SQLITE_OK)
      die (NULL);
    sql (db, "PRAGMA page_size = 512");
    sql (db, dbs[i].sql);
    sqlite3_close (db);
    g_free (p);
  }
}

int
main (int argc, char **argv)
{
  if (argc != 2) {
    fprintf (stderr, "usage: make-seeds CORPUS_DIR\n");
    return 2;
  }
  out_dir = argv[1];
  SvModelConfig c;
  micro_config (&c);
  write_model (&c, TRUE, "micro-tokenizer.safetensors");
  c.attention = SV_ATTENTION_STGRAPH;
  c.groups_in_layers = FALSE;
  write_model (&c, FALSE, "micro-stgraph.safetensors");
  write_safetensors ();
  write_configs ();
  write_tokenizers ();
  write_index ("one-model.db", 1, 3);
  write_index ("two-models.db", 2, 2);
  write_index ("no-clips.db", 1, 0);
  write_other_databases ();
  return 0;
}
