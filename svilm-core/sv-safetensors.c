/* svilm-core: safetensors reader and atomic writer. */
#include "sv-safetensors.h"

#include "sv-error.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "sv-safetensors.c assumes a little-endian host (safetensors data is little-endian)"
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

/* ------------------------------------------------------------------------ */
/* Reader                                                                    */

typedef struct {
  SvSafetensorsEntry e;
  guint64 begin, end; /* byte range inside the data section */
} Entry;

struct _SvSafetensors {
  char *path;
  GMappedFile *map;
  gpointer aligned_copy; /* data section copy when it is not 4-byte aligned in the map */
  Entry *entries;        /* sorted by begin */
  guint n_entries;
  GHashTable *by_name;  /* name -> Entry* */
  GHashTable *metadata; /* key -> value (owned) */
};

/* Known safetensors dtypes: the ones svilm handles and, for a precise error,
 * the others with their element sizes. */
static const struct {
  const char *name;
  guint size;
  gboolean supported;
  SvDType dtype;
} dtype_table[] = {
  { "F32", 4, TRUE, SV_F32 }, { "I32", 4, TRUE, SV_I32 }, { "F16", 2, FALSE, 0 },
  { "BF16", 2, FALSE, 0 },    { "F64", 8, FALSE, 0 },     { "I64", 8, FALSE, 0 },
  { "U64", 8, FALSE, 0 },     { "U32", 4, FALSE, 0 },     { "I16", 2, FALSE, 0 },
  { "U16", 2, FALSE, 0 },     { "I8", 1, FALSE, 0 },      { "U8", 1, FALSE, 0 },
  { "BOOL", 1, FALSE, 0 },    { "F8_E4M3", 1, FALSE, 0 }, { "F8_E5M2", 1, FALSE, 0 },
  { "F8_E8M0", 1, FALSE, 0 }, { "C64", 8, FALSE, 0 },
};

static const char *
dtype_name (SvDType dtype)
{
  switch (dtype) {
  case SV_F32:
    return "F32";
  case SV_I32:
    return "I32";
  }
  return "?";
}

static const char *
shape_str (int ndim, const int64_t *shape, char *buf, size_t len)
{
  SvTensor tmp = { 0 };
  tmp.ndim = ndim;
  for (int i = 0; i < ndim && i < SV_MAX_DIMS; i++)
    tmp.shape[i] = shape[i];
  return sv_tensor_shape_str (&tmp, buf, len);
}

/* a non-negative integer JSON value */
static gboolean
node_get_uint (JsonNode *node, guint64 *out)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

static gboolean
node_is_string (JsonNode *node)
{
  return node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static int
entry_cmp (const void *pa, const void *pb)
{
  const Entry *a = pa, *b = pb;
  if (a->begin != b->begin)
    return a->begin < b->begin ? -1 : 1;
  if (a->end != b->end)
    return a->end < b->end ? -1 : 1;
  return strcmp (a->e.name, b->e.name);
}

void
sv_safetensors_close (SvSafetensors *st)
{
  if (!st)
    return;
  for (guint i = 0; i < st->n_entries; i++)
    g_free ((char *) st->entries[i].e.name);
  g_free (st->entries);
  if (st->by_name)
    g_hash_table_destroy (st->by_name);
  if (st->metadata)
    g_hash_table_destroy (st->metadata);
  g_free (st->aligned_copy);
  if (st->map)
    g_mapped_file_unref (st->map);
  g_free (st->path);
  g_free (st);
}

static gboolean
parse_metadata (SvSafetensors *st, JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: \"__metadata__\" is not a JSON object",
                 st->path);
    return FALSE;
  }
  JsonObject *obj = json_node_get_object (node);
  GList *members = json_object_get_members (obj);
  for (GList *l = members; l; l = l->next) {
    const char *key = l->data;
    JsonNode *v = json_object_get_member (obj, key);
    if (!node_is_string (v)) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: metadata value of \"%s\" is not a string",
                   st->path, key);
      g_list_free (members);
      return FALSE;
    }
    g_hash_table_replace (st->metadata, g_strdup (key), g_strdup (json_node_get_string (v)));
  }
  g_list_free (members);
  return TRUE;
}

/* Checks one tensor description; fills *out (name not yet set).  A well-formed
 * entry of a dtype svilm does not handle sets *unsupported to the dtype's name
 * instead of failing, so that format errors anywhere in the header take
 * precedence over SV_ERROR_UNSUPPORTED. */
static gboolean
parse_entry (SvSafetensors *st, const char *name, JsonNode *node, guint64 data_size, Entry *out,
             const char **unsupported, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: entry \"%s\" is not a JSON object",
                 st->path, name);
    return FALSE;
  }
  JsonObject *obj = json_node_get_object (node);

  JsonNode *dn = json_object_get_member (obj, "dtype");
  if (!node_is_string (dn)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: tensor \"%s\" has no \"dtype\" string",
                 st->path, name);
    return FALSE;
  }
  const char *dname = json_node_get_string (dn);
  int di = -1;
  for (guint i = 0; i < G_N_ELEMENTS (dtype_table); i++)
    if (strcmp (dname, dtype_table[i].name) == 0)
      di = (int) i;
  if (di < 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_UNSUPPORTED,
                 "%s: tensor \"%s\" has unknown dtype \"%s\" (svilm reads F32 and I32)", st->path,
                 name, dname);
    return FALSE;
  }

  JsonNode *sn = json_object_get_member (obj, "shape");
  if (!sn || !JSON_NODE_HOLDS_ARRAY (sn)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: tensor \"%s\" has no \"shape\" array",
                 st->path, name);
    return FALSE;
  }
  JsonArray *sa = json_node_get_array (sn);
  guint rank = json_array_get_length (sa);
  if (rank > SV_MAX_DIMS) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s: tensor \"%s\" has rank %u (svilm supports up to %d)", st->path, name, rank,
                 SV_MAX_DIMS);
    return FALSE;
  }
  int64_t shape[SV_MAX_DIMS] = { 0 };
  for (guint i = 0; i < rank; i++) {
    guint64 d;
    if (!node_get_uint (json_array_get_element (sa, i), &d) || d > (guint64) G_MAXINT64) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                   "%s: tensor \"%s\": shape entry %u is not a non-negative integer", st->path,
                   name, i);
      return FALSE;
    }
    shape[i] = (int64_t) d;
  }
  SvTensor tmp = { 0 };
  GError *serr = NULL;
  if (!sv_tensor_set_shape (&tmp, (int) rank, shape, &serr)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: tensor \"%s\": %s", st->path, name,
                 serr->message);
    g_error_free (serr);
    return FALSE;
  }

  JsonNode *on = json_object_get_member (obj, "data_offsets");
  JsonArray *oa = on && JSON_NODE_HOLDS_ARRAY (on) ? json_node_get_array (on) : NULL;
  guint64 begin = 0, end = 0;
  if (!oa || json_array_get_length (oa) != 2 ||
      !node_get_uint (json_array_get_element (oa, 0), &begin) ||
      !node_get_uint (json_array_get_element (oa, 1), &end)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s: tensor \"%s\" has no \"data_offsets\" pair of non-negative integers",
                 st->path, name);
    return FALSE;
  }
  if (begin > end || end > data_size) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s: tensor \"%s\": data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                 "] are outside the %" G_GUINT64_FORMAT " data bytes of the file",
                 st->path, name, begin, end, data_size);
    return FALSE;
  }
  /* numel < 2^31 (sv_tensor_set_shape), element size <= 8: no overflow */
  guint64 want = (guint64) tmp.numel * dtype_table[di].size;
  if (end - begin != want) {
    char sbuf[128];
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s: tensor \"%s\": %s %s needs %" G_GUINT64_FORMAT
                 " bytes but data_offsets span %" G_GUINT64_FORMAT,
                 st->path, name, dname, shape_str ((int) rank, shape, sbuf, sizeof sbuf), want,
                 end - begin);
    return FALSE;
  }

  if (!dtype_table[di].supported) {
    *unsupported = dtype_table[di].name;
    return TRUE;
  }
  memset (out, 0, sizeof *out);
  out->e.dtype = dtype_table[di].dtype;
  out->e.ndim = (int) rank;
  for (int i = 0; i < SV_MAX_DIMS; i++)
    out->e.shape[i] = tmp.shape[i];
  out->e.numel = tmp.numel;
  out->e.nbytes = (size_t) want;
  out->begin = begin;
  out->end = end;
  return TRUE;
}

/* json-glib's parser recurses once per nesting level, so a header of a few
 * thousand '[' overflows the stack.  A valid header nests 3 deep, so anything
 * deeper is rejected before json-glib sees it.  For the count to be right this
 * scan must agree with json-glib's scanner on where strings end, so it accepts
 * only strict JSON strings (json-glib would let a lone surrogate escape or a
 * short \u escape swallow the closing quote) and, outside strings, only the
 * characters of strict JSON (no comments, no single-quoted strings). */
#define MAX_JSON_DEPTH 16

static int
hex4 (const char *p)
{
  int v = 0;
  for (int k = 0; k < 4; k++) {
    int d = g_ascii_xdigit_value (p[k]);
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* length of the escape sequence at json[i] == '\\', 0 if invalid */
static gsize
escape_len (const char *json, gsize i, gsize len)
{
  if (i + 1 >= len)
    return 0;
  char e = json[i + 1];
  if (e != '\0' && strchr ("\"\\/bfnrt", e))
    return 2;
  if (e != 'u' || i + 6 > len)
    return 0;
  int v = hex4 (json + i + 2);
  if (v < 0 || (v >= 0xdc00 && v <= 0xdfff))
    return 0;
  if (v < 0xd800 || v > 0xdbff)
    return 6;
  /* a high surrogate must be followed by a low one */
  if (i + 12 > len || json[i + 6] != '\\' || json[i + 7] != 'u')
    return 0;
  v = hex4 (json + i + 8);
  return v >= 0xdc00 && v <= 0xdfff ? 12 : 0;
}

gboolean
sv_json_check (const char *json, gsize len, int max_depth, const char *source, GError **error)
{
  int depth = 0;
  gboolean in_string = FALSE, closed = FALSE;
  const char *what = NULL;
  gsize i;
  for (i = 0; i < len; i++) {
    char c = json[i];
    if (closed && !g_ascii_isspace (c)) {
      /* json-glib fails on a second value but leaks the tree it built for it */
      what = "data after the end of the JSON value";
      break;
    }
    if (in_string) {
      if (c == '"') {
        in_string = FALSE;
      } else if (c == '\\') {
        gsize n = escape_len (json, i, len);
        if (n == 0) {
          what = "invalid escape in a string";
          break;
        }
        i += n - 1;
      } else if ((guchar) c < 0x20) {
        what = "control character in a string";
        break;
      }
      continue;
    }
    if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s nests deeper than %d levels", source,
                     max_depth);
        return FALSE;
      }
    } else if (c == '}' || c == ']') {
      if (--depth < 0) {
        what = "unbalanced bracket";
        break;
      }
      closed = depth == 0;
    } else if (c == '\0' || !strchr (" \t\n\r,:-+.0123456789eEtruefalsn", c)) {
      /* not whitespace, a separator, a number or true/false/null */
      what = "unexpected character";
      break;
    }
  }
  if (!what && in_string)
    what = "unterminated string";
  if (what) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s is not valid JSON (%s at byte %" G_GSIZE_FORMAT ")", source, what,
                 MIN (i, len));
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_header (SvSafetensors *st, const char *json, gsize len, const guint8 *data, guint64 data_size,
              GError **error)
{
  gboolean ok = FALSE;
  GError *jerr = NULL;
  JsonParser *parser = json_parser_new_immutable ();
  GList *members = NULL;
  char *unsupported_name = NULL;
  const char *unsupported = NULL;

  char *source = g_strdup_printf ("%s: the header", st->path);
  gboolean shape_ok = sv_json_check (json, len, MAX_JSON_DEPTH, source, error);
  g_free (source);
  if (!shape_ok)
    goto out;
  if (!json_parser_load_from_data (parser, json, (gssize) len, &jerr)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: the header is not valid JSON: %s", st->path,
                 jerr->message);
    g_error_free (jerr);
    goto out;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: the header is not a JSON object", st->path);
    goto out;
  }
  JsonObject *obj = json_node_get_object (root);
  members = json_object_get_members (obj);
  guint n = 0;
  st->entries = g_new0 (Entry, MAX (g_list_length (members), 1));
  for (GList *l = members; l; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (obj, name);
    if (strcmp (name, "__metadata__") == 0) {
      if (!parse_metadata (st, node, error))
        goto out;
      continue;
    }
    const char *other_dtype = NULL;
    if (!parse_entry (st, name, node, data_size, &st->entries[n], &other_dtype, error))
      goto out;
    if (other_dtype && !unsupported) {
      unsupported = other_dtype;
      unsupported_name = g_strdup (name);
    }
    if (unsupported)
      continue; /* the open fails below; keep checking the rest for format errors */
    st->entries[n].e.name = g_strdup (name);
    st->n_entries = ++n;
  }
  if (unsupported) {
    g_set_error (error, SV_ERROR, SV_ERROR_UNSUPPORTED,
                 "%s: tensor \"%s\" has dtype %s; svilm reads only F32 and I32", st->path,
                 unsupported_name, unsupported);
    goto out;
  }

  qsort (st->entries, st->n_entries, sizeof (Entry), entry_cmp);
  /* no two tensors may share bytes (empty tensors own none) */
  const Entry *prev = NULL;
  for (guint i = 0; i < st->n_entries; i++) {
    const Entry *e = &st->entries[i];
    if (e->begin == e->end)
      continue;
    if (prev && e->begin < prev->end) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                   "%s: tensors \"%s\" [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                   ") and \"%s\" [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") overlap",
                   st->path, prev->e.name, prev->begin, prev->end, e->e.name, e->begin, e->end);
      goto out;
    }
    prev = e;
  }
  for (guint i = 0; i < st->n_entries; i++) {
    Entry *e = &st->entries[i];
    e->e.data = data + e->begin;
    g_hash_table_insert (st->by_name, (gpointer) e->e.name, e);
  }
  ok = TRUE;

out:
  g_free (unsupported_name);
  g_list_free (members);
  g_object_unref (parser);
  return ok;
}

SvSafetensors *
sv_safetensors_open (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  SvSafetensors *st = g_new0 (SvSafetensors, 1);
  st->path = g_strdup (path);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot open %s: %s", path, g_strerror (e));
    goto fail;
  }
  struct stat sb;
  if (fstat (fd, &sb) != 0) {
    int e = errno;
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot read %s: %s", path, g_strerror (e));
    close (fd);
    goto fail;
  }
  if (!S_ISREG (sb.st_mode)) {
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot read %s: %s", path,
                 S_ISDIR (sb.st_mode) ? "it is a directory" : "not a regular file");
    close (fd);
    goto fail;
  }
  GError *merr = NULL;
  st->map = g_mapped_file_new_from_fd (fd, FALSE, &merr);
  close (fd);
  if (!st->map) {
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot map %s: %s", path, merr->message);
    g_error_free (merr);
    goto fail;
  }

  const guint8 *base = (const guint8 *) g_mapped_file_get_contents (st->map);
  guint64 size = g_mapped_file_get_length (st->map);
  if (size < 8) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s: not a safetensors file (%" G_GUINT64_FORMAT " bytes, too short)", path, size);
    goto fail;
  }
  guint64 hlen;
  memcpy (&hlen, base, 8);
  hlen = GUINT64_FROM_LE (hlen);
  if (hlen > SV_SAFETENSORS_MAX_HEADER) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s: header length %" G_GUINT64_FORMAT " exceeds the %u byte limit", path, hlen,
                 SV_SAFETENSORS_MAX_HEADER);
    goto fail;
  }
  if (hlen > size - 8) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s: header length %" G_GUINT64_FORMAT " is past the end of the %" G_GUINT64_FORMAT
                 " byte file (truncated?)",
                 path, hlen, size);
    goto fail;
  }
  if (hlen < 2) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s: header of %" G_GUINT64_FORMAT " bytes is too short", path, hlen);
    goto fail;
  }

  const guint8 *data = base + 8 + hlen;
  guint64 data_size = size - 8 - hlen;
  if (((guintptr) data & 3) != 0) {
    /* header length not a multiple of 4: give out aligned pointers from a copy */
    st->aligned_copy = g_malloc (MAX (data_size, 4));
    memcpy (st->aligned_copy, data, data_size);
    data = st->aligned_copy;
  }

  if (!parse_header (st, (const char *) base + 8, (gsize) hlen, data, data_size, error))
    goto fail;
  return st;

fail:
  sv_safetensors_close (st);
  return NULL;
}

guint
sv_safetensors_n_tensors (const SvSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->n_entries;
}

const SvSafetensorsEntry *
sv_safetensors_entry (const SvSafetensors *st, guint i)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (i < st->n_entries, NULL);
  return &st->entries[i].e;
}

const SvSafetensorsEntry *
sv_safetensors_find (const SvSafetensors *st, const char *name, GError **error)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  const Entry *e = g_hash_table_lookup (st->by_name, name);
  if (!e) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: no tensor named \"%s\"", st->path, name);
    return NULL;
  }
  return &e->e;
}

const char *
sv_safetensors_metadata (const SvSafetensors *st, const char *key)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  return g_hash_table_lookup (st->metadata, key);
}

gboolean
sv_safetensors_load_tensor (const SvSafetensors *st, const char *name, SvTensor *t, GError **error)
{
  g_return_val_if_fail (t != NULL, FALSE);
  const SvSafetensorsEntry *e = sv_safetensors_find (st, name, error);
  if (!e)
    return FALSE;
  gboolean same = e->dtype == t->dtype && e->ndim == t->ndim;
  for (int i = 0; same && i < e->ndim; i++)
    same = e->shape[i] == t->shape[i];
  if (!same) {
    char a[128], b[128];
    g_set_error (error, SV_ERROR, SV_ERROR_SHAPE,
                 "%s: tensor \"%s\" is %s %s in the file but the target%s%s%s is %s %s", st->path,
                 name, dtype_name (e->dtype), shape_str (e->ndim, e->shape, a, sizeof a),
                 t->name ? " \"" : "", t->name ? t->name : "", t->name ? "\"" : "",
                 dtype_name (t->dtype), sv_tensor_shape_str (t, b, sizeof b));
    return FALSE;
  }
  return sv_tensor_upload (t, e->data, e->nbytes, error);
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */

typedef struct {
  char *name;
  SvDType dtype;
  int ndim;
  int64_t shape[SV_MAX_DIMS];
  const void *data;
  size_t nbytes;
} WEntry;

struct _SvSafetensorsWriter {
  GArray *entries; /* WEntry, insertion order */
  GHashTable *names;
  GPtrArray *meta_keys; /* insertion order */
  GHashTable *meta;     /* key -> value */
};

SvSafetensorsWriter *
sv_safetensors_writer_new (void)
{
  SvSafetensorsWriter *w = g_new0 (SvSafetensorsWriter, 1);
  w->entries = g_array_new (FALSE, TRUE, sizeof (WEntry));
  w->names = g_hash_table_new (g_str_hash, g_str_equal);
  w->meta_keys = g_ptr_array_new_with_free_func (g_free);
  w->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return w;
}

void
sv_safetensors_writer_free (SvSafetensorsWriter *w)
{
  if (!w)
    return;
  for (guint i = 0; i < w->entries->len; i++)
    g_free (g_array_index (w->entries, WEntry, i).name);
  g_array_free (w->entries, TRUE);
  g_hash_table_destroy (w->names);
  g_ptr_array_free (w->meta_keys, TRUE);
  g_hash_table_destroy (w->meta);
  g_free (w);
}

gboolean
sv_safetensors_writer_add (SvSafetensorsWriter *w, const char *name, SvDType dtype, int ndim,
                           const int64_t *shape, const void *data, GError **error)
{
  g_return_val_if_fail (w != NULL, FALSE);
  if (!name || !g_utf8_validate (name, -1, NULL) || strcmp (name, "__metadata__") == 0) {
    char *shown = name ? g_utf8_make_valid (name, -1) : g_strdup ("(null)");
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "invalid safetensors tensor name \"%s\" (reserved or not UTF-8)", shown);
    g_free (shown);
    return FALSE;
  }
  if (dtype != SV_F32 && dtype != SV_I32) {
    g_set_error (error, SV_ERROR, SV_ERROR_UNSUPPORTED, "tensor \"%s\": unsupported dtype %d", name,
                 (int) dtype);
    return FALSE;
  }
  if (g_hash_table_contains (w->names, name)) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "tensor \"%s\" was already added", name);
    return FALSE;
  }
  SvTensor tmp = { 0 };
  if (ndim > 0 && !shape) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "tensor \"%s\": NULL shape", name);
    return FALSE;
  }
  if (!sv_tensor_set_shape (&tmp, ndim, shape, error)) {
    g_prefix_error (error, "tensor \"%s\": ", name);
    return FALSE;
  }
  size_t nbytes = tmp.numel * sv_dtype_size (dtype);
  if (nbytes > 0 && !data) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "tensor \"%s\": NULL data", name);
    return FALSE;
  }
  WEntry e = { 0 };
  e.name = g_strdup (name);
  e.dtype = dtype;
  e.ndim = ndim;
  for (int i = 0; i < ndim; i++)
    e.shape[i] = shape[i];
  e.data = data;
  e.nbytes = nbytes;
  g_array_append_val (w->entries, e);
  g_hash_table_add (w->names, e.name);
  return TRUE;
}

void
sv_safetensors_writer_set_metadata (SvSafetensorsWriter *w, const char *key, const char *value)
{
  g_return_if_fail (w != NULL);
  g_return_if_fail (key != NULL && g_utf8_validate (key, -1, NULL));
  g_return_if_fail (value != NULL && g_utf8_validate (value, -1, NULL));
  if (!g_hash_table_contains (w->meta, key))
    g_ptr_array_add (w->meta_keys, g_strdup (key));
  g_hash_table_replace (w->meta, g_strdup (key), g_strdup (value));
}

static char *
build_header (SvSafetensorsWriter *w, gsize *len_out)
{
  JsonBuilder *b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  if (w->meta_keys->len > 0) {
    json_builder_set_member_name (b, "__metadata__");
    json_builder_begin_object (b);
    for (guint i = 0; i < w->meta_keys->len; i++) {
      const char *k = g_ptr_array_index (w->meta_keys, i);
      json_builder_set_member_name (b, k);
      json_builder_add_string_value (b, g_hash_table_lookup (w->meta, k));
    }
    json_builder_end_object (b);
  }
  guint64 off = 0;
  for (guint i = 0; i < w->entries->len; i++) {
    const WEntry *e = &g_array_index (w->entries, WEntry, i);
    json_builder_set_member_name (b, e->name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, dtype_name (e->dtype));
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (int d = 0; d < e->ndim; d++)
      json_builder_add_int_value (b, e->shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, (gint64) off);
    json_builder_add_int_value (b, (gint64) (off + e->nbytes));
    json_builder_end_array (b);
    json_builder_end_object (b);
    off += e->nbytes;
  }
  json_builder_end_object (b);

  JsonNode *root = json_builder_get_root (b);
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_root (gen, root);
  gsize len = 0;
  char *json = json_generator_to_data (gen, &len);
  g_object_unref (gen);
  json_node_unref (root);
  g_object_unref (b);

  /* pad with spaces so the data section starts 8-byte aligned (as svref.py does) */
  gsize padded = (len + 7) & ~(gsize) 7;
  json = g_realloc (json, padded + 1);
  memset (json + len, ' ', padded - len);
  json[padded] = '\0';
  *len_out = padded;
  return json;
}

static gboolean
write_all (int fd, const void *buf, size_t len, const char *path, GError **error)
{
  const guint8 *p = buf;
  while (len > 0) {
    size_t chunk = MIN (len, (size_t) 1 << 30);
    ssize_t n = write (fd, p, chunk);
    if (n < 0) {
      int e = errno;
      if (e == EINTR)
        continue;
      g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot write %s: %s%s", path, g_strerror (e),
                   e == ENOSPC || e == EDQUOT ? " (disk full)" : "");
      return FALSE;
    }
    if (n == 0) {
      g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot write %s: no progress (disk full?)", path);
      return FALSE;
    }
    p += n;
    len -= (size_t) n;
  }
  return TRUE;
}

gboolean
sv_safetensors_writer_write (SvSafetensorsWriter *w, const char *path, GError **error)
{
  g_return_val_if_fail (w != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  gsize hlen = 0;
  char *header = build_header (w, &hlen);
  char *tmp = g_strdup_printf ("%s.XXXXXX", path);
  gboolean ok = FALSE;
  gboolean tmp_exists = FALSE;

  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0) {
    int e = errno;
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot create a temporary file for %s: %s", path,
                 g_strerror (e));
    goto out;
  }
  tmp_exists = TRUE;

  /* keep the permissions of a file being replaced */
  struct stat sb;
  if (stat (path, &sb) == 0 && S_ISREG (sb.st_mode))
    (void) fchmod (fd, sb.st_mode & 07777);

  guint64 hlen_le = GUINT64_TO_LE ((guint64) hlen);
  if (!write_all (fd, &hlen_le, 8, path, error) || !write_all (fd, header, hlen, path, error))
    goto out;
  for (guint i = 0; i < w->entries->len; i++) {
    const WEntry *e = &g_array_index (w->entries, WEntry, i);
    if (!write_all (fd, e->data, e->nbytes, path, error))
      goto out;
  }
  if (fsync (fd) != 0) {
    int e = errno;
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot write %s: fsync: %s%s", path, g_strerror (e),
                 e == ENOSPC || e == EDQUOT ? " (disk full)" : "");
    goto out;
  }
  int cfd = fd;
  fd = -1;
  if (close (cfd) != 0) {
    int e = errno;
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot write %s: close: %s", path, g_strerror (e));
    goto out;
  }
  if (rename (tmp, path) != 0) {
    int e = errno;
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot replace %s: %s", path, g_strerror (e));
    goto out;
  }
  tmp_exists = FALSE;

  /* make the rename durable */
  char *dir = g_path_get_dirname (path);
  int dfd = open (dir, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
  g_free (dir);
  if (dfd >= 0) {
    if (fsync (dfd) != 0 && errno != EINVAL && errno != ENOTSUP) {
      int e = errno;
      g_set_error (error, SV_ERROR, SV_ERROR_IO,
                   "%s was written but syncing its directory failed: %s", path, g_strerror (e));
      close (dfd);
      goto out;
    }
    close (dfd);
  }
  ok = TRUE;

out:
  if (fd >= 0)
    close (fd);
  if (tmp_exists)
    unlink (tmp);
  g_free (tmp);
  g_free (header);
  return ok;
}
