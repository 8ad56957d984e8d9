/* svilm-train: manifests (JSON lines, CSV, WebVid CSV, MSR-VTT JSON). */
#include "dataset.h"
#include "sv-safetensors.h"

#include "sv-error.h"

#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  SvDataset *ds;
  const SvDatasetOptions *opt;
  char *dir; /* the manifest's directory */
} Loader;

static void
item_free (gpointer p)
{
  SvDataItem *it = p;
  g_free (it->video);
  g_free (it->uri);
  g_free (it->caption);
  g_strfreev (it->nouns);
  g_strfreev (it->auto_nouns);
  g_free (it);
}

void
sv_dataset_free (SvDataset *ds)
{
  if (!ds)
    return;
  g_free (ds->path);
  g_ptr_array_unref (ds->items);
  g_free (ds);
}

const char *
sv_manifest_kind_name (SvManifestKind kind)
{
  static const char *const names[] = { "JSON lines", "CSV", "WebVid CSV", "MSR-VTT JSON" };
  return (guint) kind < G_N_ELEMENTS (names) ? names[kind] : "?";
}

static gboolean
is_uri (const char *s)
{
  /* scheme "://" (http://, file://, ...) or file: */
  const char *p = s;
  if (!g_ascii_isalpha (*p))
    return FALSE;
  while (g_ascii_isalnum (*p) || *p == '+' || *p == '-' || *p == '.')
    p++;
  return (p - s >= 2 && g_str_has_prefix (p, "://")) || g_str_has_prefix (s, "file:");
}

static char *
to_uri (const char *video, const char *dir)
{
  if (is_uri (video))
    return g_strdup (video);
  char *abs = g_canonicalize_filename (video, dir);
  char *uri = g_filename_to_uri (abs, NULL, NULL);
  g_free (abs);
  return uri;
}

static gboolean
keep_split (Loader *l, const char *split)
{
  const char *want = l->opt ? l->opt->split : NULL;
  if (!want || !split || g_str_equal (want, "all") || g_ascii_strcasecmp (want, split) == 0)
    return TRUE;
  /* MSR-VTT calls its validation split "validate" */
  if (g_ascii_strcasecmp (want, "val") == 0 && g_ascii_strcasecmp (split, "validate") == 0)
    return TRUE;
  l->ds->n_other_split++;
  return FALSE;
}

/* takes nothing; copies what it keeps */
static void
add_item (Loader *l, const char *video, const char *caption, double start, double end,
          const char *const *nouns)
{
  SvDataset *ds = l->ds;
  if (!video || !*video) {
    ds->n_malformed++;
    return;
  }
  char *cap = caption ? g_strstrip (g_strdup (caption)) : g_strdup ("");
  if (!*cap) {
    ds->n_empty_caption++;
    g_free (cap);
    return;
  }
  SvDataItem *it = g_new0 (SvDataItem, 1);
  it->video = g_strdup (video);
  it->uri = to_uri (video, l->dir);
  it->caption = cap;
  it->start = start;
  it->end = end;
  if (nouns && nouns[0]) {
    GPtrArray *a = g_ptr_array_new ();
    for (const char *const *n = nouns; *n; n++)
      if (**n)
        g_ptr_array_add (a, g_strstrip (g_strdup (*n)));
    g_ptr_array_add (a, NULL);
    it->nouns = (char **) g_ptr_array_free (a, FALSE);
    if (!it->nouns[0])
      g_clear_pointer (&it->nouns, g_strfreev);
  }
  if (!it->uri) {
    ds->n_malformed++;
    item_free (it);
    return;
  }
  g_ptr_array_add (ds->items, it);
}

/* ---- JSON lines / JSON array ---- */

static const char *
member_string (JsonObject *o, const char *const *keys)
{
  for (; *keys; keys++) {
    JsonNode *n = json_object_get_member (o, *keys);
    if (n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
      return json_node_get_string (n);
  }
  return NULL;
}

static double
member_number (JsonObject *o, const char *key, double dflt)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!n || !JSON_NODE_HOLDS_VALUE (n))
    return dflt;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_DOUBLE || t == G_TYPE_INT64)
    return json_node_get_double (n);
  if (t == G_TYPE_STRING)
    return g_ascii_strtod (json_node_get_string (n), NULL);
  return dflt;
}

static void
add_json_object (Loader *l, JsonObject *o)
{
  static const char *const video_keys[] = { "video", "path", "video_path", "uri", "url", NULL };
  static const char *const caption_keys[] = { "caption", "text", "name", NULL };
  static const char *const split_keys[] = { "split", NULL };
  l->ds->n_entries++;
  if (!keep_split (l, member_string (o, split_keys)))
    return;
  GPtrArray *nouns = g_ptr_array_new ();
  const char *nkeys[] = { "nouns", "noun_phrases" };
  for (guint k = 0; k < G_N_ELEMENTS (nkeys); k++) {
    JsonNode *n = json_object_get_member (o, nkeys[k]);
    if (!n || !JSON_NODE_HOLDS_ARRAY (n))
      continue;
    JsonArray *a = json_node_get_array (n);
    for (guint i = 0; i < json_array_get_length (a); i++) {
      JsonNode *e = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
        g_ptr_array_add (nouns, (gpointer) json_node_get_string (e));
    }
    break;
  }
  g_ptr_array_add (nouns, NULL);
  add_item (l, member_string (o, video_keys), member_string (o, caption_keys),
            member_number (o, "start", 0.0), member_number (o, "end", -1.0),
            (const char *const *) nouns->pdata);
  g_ptr_array_unref (nouns);
}

static void
load_jsonl (Loader *l, const char *text, gsize len)
{
  JsonParser *p = json_parser_new ();
  const char *s = text, *end = text + len;
  while (s < end) {
    const char *nl = memchr (s, '\n', (size_t) (end - s));
    const char *e = nl ? nl : end;
    const char *a = s;
    while (a < e && g_ascii_isspace (*a))
      a++;
    if (a < e) {
      JsonNode *root = NULL;
      /* strict pre-scan first: json-glib recurses on nesting (fuzz/findings/manifest) */
      if (sv_json_check (a, (gsize) (e - a), 64, "a manifest line", NULL) &&
          json_parser_load_from_data (p, a, e - a, NULL))
        root = json_parser_get_root (p);
      if (root && JSON_NODE_HOLDS_OBJECT (root)) {
        add_json_object (l, json_node_get_object (root));
      } else {
        l->ds->n_entries++;
        l->ds->n_malformed++;
      }
    }
    s = e + 1;
  }
  g_object_unref (p);
}

/* the array member key, or NULL when it is missing or not an array */
static JsonArray *
member_array (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

#define KEY(k) ((const char *const[]){ k, NULL })

static void
load_msrvtt (Loader *l, JsonObject *root)
{
  const char *vdir = l->opt && l->opt->video_dir ? l->opt->video_dir : l->dir;
  GHashTable *splits = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *videos = member_array (root, "videos");
  for (guint i = 0; videos && i < json_array_get_length (videos); i++) {
    JsonNode *n = json_array_get_element (videos, i);
    if (!JSON_NODE_HOLDS_OBJECT (n))
      continue;
    JsonObject *v = json_node_get_object (n);
    const char *id = member_string (v, KEY ("video_id"));
    const char *split = member_string (v, KEY ("split"));
    if (id && split)
      g_hash_table_insert (splits, (gpointer) id, (gpointer) split);
  }
  JsonArray *sents = member_array (root, "sentences");
  for (guint i = 0; sents && i < json_array_get_length (sents); i++) {
    JsonNode *n = json_array_get_element (sents, i);
    l->ds->n_entries++;
    if (!JSON_NODE_HOLDS_OBJECT (n)) {
      l->ds->n_malformed++;
      continue;
    }
    JsonObject *s = json_node_get_object (n);
    const char *id = member_string (s, KEY ("video_id"));
    const char *cap = member_string (s, KEY ("caption"));
    if (!id) {
      l->ds->n_malformed++;
      continue;
    }
    if (!keep_split (l, g_hash_table_lookup (splits, id)))
      continue;
    char *file = g_strconcat (id, ".mp4", NULL);
    char *path = g_build_filename (vdir, file, NULL);
    add_item (l, path, cap, 0.0, -1.0, NULL);
    g_free (path);
    g_free (file);
  }
  g_hash_table_destroy (splits);
}

/* ---- CSV ---- */

/* one record of RFC 4180 CSV starting at *pos; NULL at the end */
static GPtrArray *
csv_record (const char *text, gsize len, gsize *pos, char sep)
{
  if (*pos >= len)
    return NULL;
  GPtrArray *fields = g_ptr_array_new_with_free_func (g_free);
  GString *f = g_string_new (NULL);
  gsize i = *pos;
  gboolean quoted = FALSE, done = FALSE;
  while (i < len && !done) {
    char c = text[i++];
    if (quoted) {
      if (c == '"' && i < len && text[i] == '"') {
        g_string_append_c (f, '"');
        i++;
      } else if (c == '"') {
        quoted = FALSE;
      } else {
        g_string_append_c (f, c);
      }
    } else if (c == '"') {
      quoted = TRUE;
    } else if (c == sep) {
      g_ptr_array_add (fields, g_string_free (f, FALSE));
      f = g_string_new (NULL);
    } else if (c == '\n') {
      done = TRUE;
    } else if (c != '\r') {
      g_string_append_c (f, c);
    }
  }
  g_ptr_array_add (fields, g_string_free (f, FALSE));
  *pos = i;
  return fields;
}

static int
column (GPtrArray *header, const char *const *names)
{
  for (; *names; names++)
    for (guint i = 0; i < header->len; i++)
      if (g_ascii_strcasecmp (g_strstrip ((char *) g_ptr_array_index (header, i)), *names) == 0)
        return (int) i;
  return -1;
}

static const char *
field (GPtrArray *rec, int col)
{
  return col >= 0 && (guint) col < rec->len ? g_ptr_array_index (rec, col) : NULL;
}

static double
field_number (GPtrArray *rec, int col, double dflt)
{
  const char *s = field (rec, col);
  char *end = NULL;
  if (!s || !*s)
    return dflt;
  double v = g_ascii_strtod (s, &end);
  return end && end != s ? v : dflt;
}

static void
load_csv (Loader *l, const char *text, gsize len, char sep)
{
  static const char *const v_names[] = { "video", "path", "video_path", "file", "uri", NULL };
  static const char *const c_names[] = { "caption", "text", NULL };
  static const char *const url_names[] = { "contentUrl", NULL };
  static const char *const name_names[] = { "name", NULL };
  static const char *const id_names[] = { "videoid", NULL };
  static const char *const dir_names[] = { "page_dir", NULL };
  static const char *const s_names[] = { "start", NULL }, *const e_names[] = { "end", NULL };
  static const char *const split_names[] = { "split", NULL };
  gsize pos = 0;
  GPtrArray *first = csv_record (text, len, &pos, sep);
  if (!first)
    return;
  int cv = column (first, v_names), cc = column (first, c_names);
  int curl = column (first, url_names), cname = column (first, name_names);
  int cs = column (first, s_names), ce = column (first, e_names);
  int cid = column (first, id_names), cdir = column (first, dir_names);
  int csplit = column (first, split_names);
  gboolean webvid = curl >= 0 && cname >= 0;
  gboolean header = webvid || cv >= 0 || cc >= 0;
  if (webvid) {
    l->ds->kind = SV_MANIFEST_WEBVID;
    cv = curl;
    cc = cname;
  } else if (!header) {
    cv = 0, cc = 1, cs = 2, ce = 3, csplit = -1;
    pos = 0; /* the first record is data */
  }
  g_ptr_array_unref (first);
  GPtrArray *rec;
  while ((rec = csv_record (text, len, &pos, sep))) {
    if (rec->len == 1 && !*(char *) g_ptr_array_index (rec, 0)) { /* blank line */
      g_ptr_array_unref (rec);
      continue;
    }
    l->ds->n_entries++;
    if (keep_split (l, field (rec, csplit))) {
      char *video = g_strdup (field (rec, cv));
      const char *vid = field (rec, cid);
      if (webvid && l->opt && l->opt->video_dir && vid && *vid) {
        g_free (video);
        char *file = g_strconcat (vid, ".mp4", NULL);
        const char *pd = field (rec, cdir);
        video = g_build_filename (l->opt->video_dir, pd && *pd ? pd : file, pd && *pd ? file : NULL,
                                  NULL);
        g_free (file);
      }
      add_item (l, video ? g_strstrip (video) : NULL, field (rec, cc), field_number (rec, cs, 0.0),
                field_number (rec, ce, -1.0), NULL);
      g_free (video);
    }
    g_ptr_array_unref (rec);
  }
}

SvDataset *
sv_dataset_load (const char *path, const SvDatasetOptions *opt, GError **error)
{
  GError *err = NULL;
  GMappedFile *mf = g_mapped_file_new (path, FALSE, &err);
  if (!mf) {
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot read the manifest %s: %s", path,
                 err->message);
    g_error_free (err);
    return NULL;
  }
  const char *text = g_mapped_file_get_contents (mf);
  gsize len = g_mapped_file_get_length (mf);
  if (len >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0) /* UTF-8 BOM */
    text += 3, len -= 3;
  SvDataset *ds = g_new0 (SvDataset, 1);
  ds->path = g_strdup (path);
  ds->items = g_ptr_array_new_with_free_func (item_free);
  char *abs = g_canonicalize_filename (path, NULL);
  Loader l = { ds, opt, g_path_get_dirname (abs) };
  g_free (abs);
  gsize i = 0;
  while (i < len && g_ascii_isspace (text[i]))
    i++;
  gboolean ok = TRUE;
  if (i < len && (text[i] == '{' || text[i] == '[')) {
    /* JSON lines if the first line is a whole object, else one JSON document */
    const char *nl = memchr (text + i, '\n', len - i);
    JsonParser *p = json_parser_new ();
    gsize first = (gsize) ((nl ? nl : text + len) - (text + i));
    gboolean line_ok = text[i] == '{' &&
                       sv_json_check (text + i, first, 64, "the first manifest line", NULL) &&
                       json_parser_load_from_data (p, text + i, (gssize) first, NULL);
    /* a one-line MSR-VTT file is a whole document */
    if (line_ok &&
        json_object_has_member (json_node_get_object (json_parser_get_root (p)), "sentences"))
      line_ok = FALSE;
    if (line_ok) {
      ds->kind = SV_MANIFEST_JSONL;
      load_jsonl (&l, text + i, len - i);
    } else if (sv_json_check (text + i, len - i, 64, path, &err) &&
               json_parser_load_from_data (p, text + i, len - i, &err)) {
      JsonNode *root = json_parser_get_root (p);
      if (root && JSON_NODE_HOLDS_OBJECT (root) &&
          json_object_has_member (json_node_get_object (root), "sentences")) {
        ds->kind = SV_MANIFEST_MSRVTT;
        load_msrvtt (&l, json_node_get_object (root));
      } else if (JSON_NODE_HOLDS_ARRAY (root)) {
        ds->kind = SV_MANIFEST_JSONL;
        JsonArray *a = json_node_get_array (root);
        for (guint k = 0; k < json_array_get_length (a); k++) {
          JsonNode *n = json_array_get_element (a, k);
          if (JSON_NODE_HOLDS_OBJECT (n)) {
            add_json_object (&l, json_node_get_object (n));
          } else {
            ds->n_entries++;
            ds->n_malformed++;
          }
        }
      } else {
        g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                     "%s is JSON but neither JSON lines, an array of entries nor MSR-VTT "
                     "annotations",
                     path);
        ok = FALSE;
      }
    } else {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s is not valid JSON: %s", path,
                   err->message);
      g_clear_error (&err);
      ok = FALSE;
    }
    g_object_unref (p);
  } else {
    ds->kind = SV_MANIFEST_CSV;
    load_csv (&l, text, len, g_str_has_suffix (path, ".tsv") ? '\t' : ',');
  }
  g_free (l.dir);
  g_mapped_file_unref (mf);
  if (ok && ds->items->len == 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s has no usable entry (%u read: %u without a caption, %u malformed, %u in "
                 "other splits)",
                 path, ds->n_entries, ds->n_empty_caption, ds->n_malformed, ds->n_other_split);
    ok = FALSE;
  }
  if (!ok) {
    sv_dataset_free (ds);
    return NULL;
  }
  return ds;
}

/* ---- captions of flipped clips ---- */

char *
sv_swap_left_right (const char *text)
{
  static const char *const pairs[][2] = {
    { "left", "right" },
    { "leftward", "rightward" },
    { "leftwards", "rightwards" },
    { "leftmost", "rightmost" },
  };
  GString *out = g_string_new (NULL);
  const char *p = text;
  while (*p) {
    if (!g_ascii_isalpha (*p)) {
      g_string_append_c (out, *p++);
      continue;
    }
    const char *w = p;
    while (g_ascii_isalpha (*p))
      p++;
    size_t n = (size_t) (p - w);
    const char *rep = NULL;
    for (guint i = 0; i < G_N_ELEMENTS (pairs) && !rep; i++)
      for (int j = 0; j < 2 && !rep; j++)
        if (strlen (pairs[i][j]) == n && g_ascii_strncasecmp (w, pairs[i][j], n) == 0)
          rep = pairs[i][1 - j];
    if (!rep) {
      g_string_append_len (out, w, (gssize) n);
      continue;
    }
    gboolean all_upper = n > 1 && g_ascii_isupper (w[0]) && g_ascii_isupper (w[1]);
    for (size_t k = 0; rep[k]; k++) {
      char c = rep[k];
      if (all_upper || (k == 0 && g_ascii_isupper (w[0])))
        c = g_ascii_toupper (c);
      g_string_append_c (out, c);
    }
  }
  return g_string_free (out, FALSE);
}

gboolean
sv_says_side (const char *text)
{
  g_autofree char *swapped = sv_swap_left_right (text);
  return strcmp (swapped, text) != 0;
}
