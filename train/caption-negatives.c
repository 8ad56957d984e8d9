/* svilm-train: hard negative captions from a swap vocabulary (caption-negatives.h). */
#include "caption-negatives.h"

#include "sv-error.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* a class: its synonyms, each a NULL-terminated list of forms; a slot: its classes */
typedef GPtrArray Class; /* of GStrv */
typedef GPtrArray Slot;  /* of Class */

struct _SvCaptionNegatives {
  GPtrArray *slots; /* of Slot */
  GStrv avoid;      /* lower case */
};

typedef struct {
  guint slot, cls, form;
  gsize start, len;
} Match;

void
sv_caption_negatives_free (SvCaptionNegatives *cn)
{
  if (!cn)
    return;
  g_ptr_array_unref (cn->slots);
  g_strfreev (cn->avoid);
  g_free (cn);
}

static gboolean
bad (GError **error, const char *what)
{
  g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "swap vocabulary: %s", what);
  return FALSE;
}

/* a synonym: ["form", ...] of non-empty strings, stored in lower case */
static GStrv
parse_synonym (JsonNode *n, GError **error)
{
  if (!JSON_NODE_HOLDS_ARRAY (n) || json_array_get_length (json_node_get_array (n)) == 0) {
    bad (error, "a synonym must be a non-empty array of its forms");
    return NULL;
  }
  JsonArray *a = json_node_get_array (n);
  guint len = json_array_get_length (a);
  GStrv forms = g_new0 (char *, len + 1);
  for (guint i = 0; i < len; i++) {
    JsonNode *f = json_array_get_element (a, i);
    const char *s = JSON_NODE_HOLDS_VALUE (f) && json_node_get_value_type (f) == G_TYPE_STRING
                        ? json_node_get_string (f)
                        : NULL;
    if (!s || !*s) {
      g_strfreev (forms);
      bad (error, "a form must be a non-empty string");
      return NULL;
    }
    forms[i] = g_ascii_strdown (s, -1);
  }
  return forms;
}

static Slot *
parse_slot (JsonNode *n, GError **error)
{
  if (!JSON_NODE_HOLDS_ARRAY (n) || json_array_get_length (json_node_get_array (n)) < 2) {
    bad (error, "a slot must be an array of at least two classes");
    return NULL;
  }
  JsonArray *a = json_node_get_array (n);
  Slot *slot = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  for (guint c = 0; c < json_array_get_length (a); c++) {
    JsonNode *cn = json_array_get_element (a, c);
    if (!JSON_NODE_HOLDS_ARRAY (cn) || json_array_get_length (json_node_get_array (cn)) == 0) {
      g_ptr_array_unref (slot);
      bad (error, "a class must be a non-empty array of synonyms");
      return NULL;
    }
    JsonArray *ca = json_node_get_array (cn);
    Class *cls = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
    g_ptr_array_add (slot, cls);
    for (guint s = 0; s < json_array_get_length (ca); s++) {
      GStrv forms = parse_synonym (json_array_get_element (ca, s), error);
      if (!forms) {
        g_ptr_array_unref (slot);
        return NULL;
      }
      g_ptr_array_add (cls, forms);
    }
  }
  return slot;
}

SvCaptionNegatives *
sv_caption_negatives_parse (const char *json, gssize length, GError **error)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_data (p, json, length, error))
    return NULL;
  JsonNode *root = json_parser_get_root (p);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *slots = o ? json_object_get_member (o, "slots") : NULL;
  if (!slots || !JSON_NODE_HOLDS_OBJECT (slots) ||
      json_object_get_size (json_node_get_object (slots)) == 0) {
    bad (error, "expected an object with a non-empty \"slots\" object");
    return NULL;
  }
  SvCaptionNegatives *cn = g_new0 (SvCaptionNegatives, 1);
  cn->slots = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  JsonObject *so = json_node_get_object (slots);
  g_autoptr (GList) names = json_object_get_members (so);
  for (GList *l = names; l; l = l->next) {
    Slot *slot = parse_slot (json_object_get_member (so, l->data), error);
    if (!slot) {
      g_prefix_error (error, "slot \"%s\": ", (const char *) l->data);
      sv_caption_negatives_free (cn);
      return NULL;
    }
    g_ptr_array_add (cn->slots, slot);
  }
  JsonNode *avoid = json_object_get_member (o, "avoid");
  GPtrArray *av = g_ptr_array_new ();
  if (avoid && !JSON_NODE_HOLDS_NULL (avoid)) {
    GStrv forms = parse_synonym (avoid, error); /* the same shape: non-empty strings */
    if (!forms) {
      g_prefix_error (error, "\"avoid\": ");
      g_ptr_array_unref (av);
      sv_caption_negatives_free (cn);
      return NULL;
    }
    for (guint i = 0; forms[i]; i++)
      g_ptr_array_add (av, forms[i]);
    g_free (forms);
  }
  g_ptr_array_add (av, NULL);
  cn->avoid = (GStrv) g_ptr_array_free (av, FALSE);
  return cn;
}

SvCaptionNegatives *
sv_caption_negatives_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  SvCaptionNegatives *cn = sv_caption_negatives_parse (text, (gssize) len, error);
  if (!cn)
    g_prefix_error (error, "%s: ", path);
  return cn;
}

static gboolean
word_char (char c)
{
  return g_ascii_isalnum (c) || c == '\'';
}

/* the position of needle's first whole-word occurrence in hay at or after from, or -1 */
static gssize
find_word (const char *hay, const char *needle, gsize from)
{
  gsize n = strlen (needle);
  for (const char *p = strstr (hay + from, needle); p; p = strstr (p + 1, needle)) {
    gboolean left = p == hay || !word_char (p[-1]);
    if (left && !word_char (p[n]))
      return p - hay;
  }
  return -1;
}

static void
find_matches (const SvCaptionNegatives *cn, const char *low, GArray *out)
{
  for (guint s = 0; s < cn->slots->len; s++) {
    Slot *slot = g_ptr_array_index (cn->slots, s);
    for (guint c = 0; c < slot->len; c++) {
      Class *cls = g_ptr_array_index (slot, c);
      for (guint y = 0; y < cls->len; y++) {
        GStrv forms = g_ptr_array_index (cls, y);
        for (guint f = 0; forms[f]; f++)
          for (gssize at = find_word (low, forms[f], 0); at >= 0;
               at = find_word (low, forms[f], (gsize) at + 1)) {
            Match m = { s, c, f, (gsize) at, strlen (forms[f]) };
            g_array_append_val (out, m);
          }
      }
    }
  }
  /* of two overlapping matches the longer stands ("bounces up and down" over "bounces") */
  for (guint i = 0; i < out->len;) {
    Match *a = &g_array_index (out, Match, i);
    gboolean covered = FALSE;
    for (guint j = 0; j < out->len && !covered; j++) {
      Match *b = &g_array_index (out, Match, j);
      gboolean overlap = a->start < b->start + b->len && b->start < a->start + a->len;
      covered = j != i && overlap && (b->len > a->len || (b->len == a->len && j < i));
    }
    if (covered)
      g_array_remove_index (out, i);
    else
      i++;
  }
}

static gboolean
avoided (const SvCaptionNegatives *cn, const char *text)
{
  g_autofree char *low = g_ascii_strdown (text, -1);
  for (guint i = 0; cn->avoid[i]; i++)
    if (find_word (low, cn->avoid[i], 0) >= 0)
      return TRUE;
  return FALSE;
}

/* the caption with match m replaced by the same form of a synonym of another class, drawn
 * uniformly from those that hold no avoided phrase; NULL when there is none */
static char *
swap_one (const SvCaptionNegatives *cn, const char *caption, const Match *m, SvRng *rng)
{
  Slot *slot = g_ptr_array_index (cn->slots, m->slot);
  g_autoptr (GPtrArray) cands = g_ptr_array_new_with_free_func (g_free);
  for (guint c = 0; c < slot->len; c++) {
    Class *cls = g_ptr_array_index (slot, c);
    for (guint y = 0; y < cls->len && c != m->cls; y++) {
      GStrv forms = g_ptr_array_index (cls, y);
      const char *with = forms[MIN (m->form, g_strv_length (forms) - 1)];
      char *s =
          g_strdup_printf ("%.*s%s%s", (int) m->start, caption, with, caption + m->start + m->len);
      if (avoided (cn, s))
        g_free (s);
      else
        g_ptr_array_add (cands, s);
    }
  }
  if (cands->len == 0)
    return NULL;
  return g_ptr_array_steal_index_fast (cands, sv_rng_below (rng, cands->len));
}

guint
sv_caption_negatives_make (const SvCaptionNegatives *cn, const char *caption, SvRng *rng, guint n,
                           char **out)
{
  g_return_val_if_fail (cn != NULL && caption != NULL, 0);
  g_autofree char *low = g_ascii_strdown (caption, -1);
  g_autoptr (GArray) matches = g_array_new (FALSE, FALSE, sizeof (Match));
  find_matches (cn, low, matches);
  /* the slots found, in vocabulary order */
  guint found[64], nf = 0;
  for (guint s = 0; s < cn->slots->len && nf < G_N_ELEMENTS (found); s++)
    for (guint i = 0; i < matches->len; i++)
      if (g_array_index (matches, Match, i).slot == s) {
        found[nf++] = s;
        break;
      }
  if (nf == 0)
    return 0;
  guint made = 0, r = sv_rng_below (rng, nf);
  for (guint k = 0; k < n; k++) {
    guint slot = found[(r + k) % nf], count = 0;
    for (guint i = 0; i < matches->len; i++)
      count += g_array_index (matches, Match, i).slot == slot;
    guint pick = sv_rng_below (rng, count);
    for (guint i = 0; i < matches->len; i++) {
      const Match *m = &g_array_index (matches, Match, i);
      if (m->slot == slot && pick-- == 0) {
        char *s = swap_one (cn, caption, m, rng);
        if (s)
          out[made++] = s;
        break;
      }
    }
  }
  return made;
}
