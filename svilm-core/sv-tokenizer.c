/* svilm-core: character-level BPE tokenizer learned from captions. */
#include "sv-tokenizer.h"

#include "sv-error.h"
#include "sv-safetensors.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#define END_OF_WORD "</w>"
#define END_OF_WORD_LEN 4
#define MAX_WORD_CHARS 100   /* longer runs are split into several words */
#define MAX_CACHED_WORD 64   /* bytes; longer words are not cached */
#define MAX_CACHE_SIZE 65536 /* the cache is cleared when it grows past this */
#define MAX_JSON_DEPTH 32
#define MAX_VOCAB (1u << 24)

static const char *const special_names[SV_TOKEN_N_SPECIAL] = { "[PAD]", "[UNK]", "[CLS]", "[SEP]" };

typedef struct {
  guint32 a, b; /* the pair, as vocabulary ids */
  guint32 result;
  guint rank;
} Merge;

struct _SvTokenizer {
  GPtrArray *vocab;  /* id -> char* (owned) */
  GHashTable *ids;   /* symbol (borrowed from vocab) -> GUINT_TO_POINTER (id + 1) */
  GArray *merges;    /* Merge, by rank */
  GHashTable *ranks; /* Merge* (pair; owned) -> itself */
  GMutex cache_lock;
  GHashTable *cache; /* word -> gint32[1 + n]: n, then ids */
};

/* ------------------------------------------------------------------------ */
/* Normalisation and pre-tokenisation                                        */

static char *
normalise (const char *text)
{
  char *valid = g_utf8_make_valid (text ? text : "", -1);
  char *nfkc = g_utf8_normalize (valid, -1, G_NORMALIZE_NFKC);
  g_free (valid);
  if (!nfkc)
    return g_strdup ("");
  char *lower = g_utf8_strdown (nfkc, -1);
  g_free (nfkc);
  return lower;
}

enum { WORD_CHAR, SEPARATOR, SOLO };

/* White space, control and format characters separate words; punctuation and
 * symbols are words of their own. */
static int
char_class (gunichar c)
{
  GUnicodeType t = g_unichar_type (c);
  if (g_unichar_isspace (c) || t == G_UNICODE_CONTROL || t == G_UNICODE_FORMAT)
    return SEPARATOR;
  if (g_unichar_ispunct (c) || (t >= G_UNICODE_CURRENCY_SYMBOL && t <= G_UNICODE_OTHER_SYMBOL))
    return SOLO;
  return WORD_CHAR;
}

/* Called for each word (not NUL-terminated); returns FALSE to stop. */
typedef gboolean (*WordFn) (const char *word, gsize len, gpointer user);

static void
each_word (const char *s, WordFn fn, gpointer user)
{
  const char *start = NULL;
  guint n_chars = 0;
  for (const char *p = s;; p = g_utf8_next_char (p)) {
    int cls = *p ? char_class (g_utf8_get_char (p)) : SEPARATOR;
    if (start && (cls != WORD_CHAR || n_chars == MAX_WORD_CHARS)) {
      if (!fn (start, (gsize) (p - start), user))
        return;
      start = NULL;
    }
    if (!*p || (cls == SOLO && !fn (p, (gsize) (g_utf8_next_char (p) - p), user)))
      return;
    if (cls == WORD_CHAR && !start) {
      start = p;
      n_chars = 0;
    }
    n_chars += cls == WORD_CHAR;
  }
}

/* The base symbol at *p in a word ending at end: the character, with "</w>" if it is
 * the last one.  Advances *p. */
static const char *
next_symbol (const char **p, const char *end, char buf[16])
{
  const char *next = g_utf8_next_char (*p);
  gsize n = MIN ((gsize) (next - *p), 8);
  memcpy (buf, *p, n);
  strcpy (buf + n, next >= end ? END_OF_WORD : "");
  *p = next;
  return buf;
}

/* ------------------------------------------------------------------------ */
/* Construction                                                               */

static guint
pair_hash (gconstpointer p)
{
  const Merge *m = p;
  return (m->a * 2654435761u) ^ (m->b + 0x9e3779b9u + (m->a << 6) + (m->a >> 2));
}

static gboolean
pair_equal (gconstpointer x, gconstpointer y)
{
  const Merge *m = x, *n = y;
  return m->a == n->a && m->b == n->b;
}

static SvTokenizer *
tokenizer_new (void)
{
  SvTokenizer *tok = g_new0 (SvTokenizer, 1);
  tok->vocab = g_ptr_array_new_with_free_func (g_free);
  tok->ids = g_hash_table_new (g_str_hash, g_str_equal);
  tok->merges = g_array_new (FALSE, FALSE, sizeof (Merge));
  tok->ranks = g_hash_table_new_full (pair_hash, pair_equal, g_free, NULL);
  g_mutex_init (&tok->cache_lock);
  tok->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < SV_TOKEN_N_SPECIAL; i++) {
    g_ptr_array_add (tok->vocab, g_strdup (special_names[i]));
    g_hash_table_insert (tok->ids, tok->vocab->pdata[i], GUINT_TO_POINTER (i + 1));
  }
  return tok;
}

static gint64
symbol_id (const SvTokenizer *tok, const char *sym)
{
  gpointer v = g_hash_table_lookup (tok->ids, sym);
  return v ? (gint64) GPOINTER_TO_UINT (v) - 1 : -1;
}

/* Adds sym (taking ownership) unless present; returns its id. */
static guint32
add_symbol (SvTokenizer *tok, char *sym)
{
  gint64 id = symbol_id (tok, sym);
  if (id >= 0) {
    g_free (sym);
    return (guint32) id;
  }
  g_ptr_array_add (tok->vocab, sym);
  g_hash_table_insert (tok->ids, sym, GUINT_TO_POINTER (tok->vocab->len));
  return tok->vocab->len - 1;
}

static void
add_merge (SvTokenizer *tok, const Merge *m)
{
  g_array_append_val (tok->merges, *m);
  g_hash_table_add (tok->ranks, g_memdup2 (m, sizeof *m));
}

void
sv_tokenizer_free (SvTokenizer *tok)
{
  if (!tok)
    return;
  g_hash_table_unref (tok->ids);
  g_ptr_array_unref (tok->vocab);
  g_hash_table_unref (tok->ranks);
  g_array_unref (tok->merges);
  g_hash_table_unref (tok->cache);
  g_mutex_clear (&tok->cache_lock);
  g_free (tok);
}

guint
sv_tokenizer_vocab_size (const SvTokenizer *tok)
{
  g_return_val_if_fail (tok != NULL, 0);
  return tok->vocab->len;
}

/* ------------------------------------------------------------------------ */
/* Training                                                                   */

typedef struct {
  gint32 *syms; /* -1: a base symbol left out of the vocabulary */
  guint len;
  guint64 freq;
  guint stamp; /* last merge that visited this word */
} Word;

typedef struct {
  Merge key; /* a, b */
  gint64 count;
  GArray *where; /* guint word indices (may repeat or be stale) */
  guint stamp;   /* last merge that touched the count */
} PairStat;

typedef struct {
  SvTokenizer *tok;
  Word *words;
  GHashTable *pairs;  /* PairStat* (keyed by its Merge key) */
  GTree *queue;       /* PairStat* with count > 0, best first (while not touched) */
  GPtrArray *touched; /* PairStat* whose count changes in this step, out of the queue */
  guint stamp;
} Trainer;

static gboolean
word_count_cb (const char *word, gsize len, gpointer user)
{
  GHashTable *counts = user;
  char *key = g_strndup (word, len);
  gsize old = GPOINTER_TO_SIZE (g_hash_table_lookup (counts, key));
  g_hash_table_replace (counts, key, GSIZE_TO_POINTER (old + 1));
  return TRUE;
}

/* Merge order: higher count first, then the smaller (left, right) strings. */
static int
pair_order (gconstpointer x, gconstpointer y, gpointer user)
{
  const PairStat *p = x, *q = y;
  char **v = (char **) ((Trainer *) user)->tok->vocab->pdata;
  if (p->count != q->count)
    return p->count > q->count ? -1 : 1;
  int c = strcmp (v[p->key.a], v[q->key.a]);
  return c ? c : strcmp (v[p->key.b], v[q->key.b]);
}

/* Puts the pairs touched in this step back into the queue. */
static void
requeue (Trainer *t)
{
  for (guint i = 0; i < t->touched->len; i++) {
    PairStat *s = t->touched->pdata[i];
    if (s->count > 0)
      g_tree_insert (t->queue, s, s);
  }
  g_ptr_array_set_size (t->touched, 0);
}

static PairStat *
pair_lookup (Trainer *t, gint32 a, gint32 b)
{
  Merge key = { (guint32) a, (guint32) b, 0, 0 };
  return g_hash_table_lookup (t->pairs, &key);
}

static void
pair_change (Trainer *t, gint32 a, gint32 b, gint64 delta, guint word)
{
  if (a < 0 || b < 0)
    return;
  PairStat *s = pair_lookup (t, a, b);
  if (!s) {
    s = g_new0 (PairStat, 1);
    s->key.a = (guint32) a;
    s->key.b = (guint32) b;
    s->where = g_array_new (FALSE, FALSE, sizeof (guint));
    g_hash_table_add (t->pairs, s);
  }
  if (s->stamp != t->stamp) { /* the queue's order must not change under it */
    s->stamp = t->stamp;
    if (s->count > 0)
      g_tree_remove (t->queue, s);
    g_ptr_array_add (t->touched, s);
  }
  s->count += delta;
  if (delta > 0 &&
      (s->where->len == 0 || g_array_index (s->where, guint, s->where->len - 1) != word))
    g_array_append_val (s->where, word);
}

static void
pair_stat_free (gpointer p)
{
  PairStat *s = p;
  g_array_unref (s->where);
  g_free (s);
}

/* Replaces every (a, b) in word wi by c, updating the pair counts incrementally. */
static void
merge_word (Trainer *t, guint wi, gint32 a, gint32 b, gint32 c)
{
  Word *w = &t->words[wi];
  gint64 f = (gint64) w->freq;
  gint32 *s = w->syms;
  for (guint i = 0; i + 1 < w->len; i++) {
    if (s[i] != a || s[i + 1] != b)
      continue;
    if (i > 0) {
      pair_change (t, s[i - 1], a, -f, wi);
      pair_change (t, s[i - 1], c, f, wi);
    }
    if (i + 2 < w->len) {
      pair_change (t, b, s[i + 2], -f, wi);
      pair_change (t, c, s[i + 2], f, wi);
    }
    pair_change (t, a, b, -f, wi);
    s[i] = c;
    memmove (&s[i + 1], &s[i + 2], (w->len - i - 2) * sizeof (gint32));
    w->len--;
  }
}

typedef struct {
  const char *sym;
  guint64 count;
} BaseSym;

static int
base_by_count (gconstpointer x, gconstpointer y)
{
  const BaseSym *p = x, *q = y;
  if (p->count != q->count)
    return p->count > q->count ? -1 : 1;
  return strcmp (p->sym, q->sym);
}

static int
str_ptr_cmp (gconstpointer x, gconstpointer y)
{
  return strcmp (*(char *const *) x, *(char *const *) y);
}

/* The base vocabulary: every character seen, or the most frequent ones when they
 * do not all fit in vocab_size. */
static void
add_base_symbols (SvTokenizer *tok, char **words, guint n_words, const guint64 *freqs,
                  guint vocab_size)
{
  GHashTable *counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint w = 0; w < n_words; w++) {
    char buf[16];
    for (const char *p = words[w], *end = p + strlen (p); p < end;) {
      const char *sym = next_symbol (&p, end, buf);
      gsize old = GPOINTER_TO_SIZE (g_hash_table_lookup (counts, sym));
      g_hash_table_insert (counts, g_strdup (sym), GSIZE_TO_POINTER (old + freqs[w]));
    }
  }
  GArray *base = g_array_new (FALSE, FALSE, sizeof (BaseSym));
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, counts);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    BaseSym b = { k, GPOINTER_TO_SIZE (v) };
    g_array_append_val (base, b);
  }
  guint room = vocab_size - SV_TOKEN_N_SPECIAL;
  if (base->len > room) {
    g_array_sort (base, base_by_count);
    g_array_set_size (base, room);
  }
  g_array_sort (base, str_ptr_cmp); /* by name: sym comes first in BaseSym */
  for (guint i = 0; i < base->len; i++)
    add_symbol (tok, g_strdup (g_array_index (base, BaseSym, i).sym));
  g_array_unref (base);
  g_hash_table_unref (counts);
}

SvTokenizer *
sv_tokenizer_train (const char *const *texts, guint n_texts, guint vocab_size, GError **error)
{
  g_return_val_if_fail (texts != NULL || n_texts == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (vocab_size <= SV_TOKEN_N_SPECIAL || vocab_size > MAX_VOCAB) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "tokenizer vocabulary size %u out of range (%d < size <= %u)", vocab_size,
                 SV_TOKEN_N_SPECIAL, MAX_VOCAB);
    return NULL;
  }

  /* word frequencies */
  GHashTable *counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < n_texts; i++) {
    char *norm = normalise (texts[i]);
    each_word (norm, word_count_cb, counts);
    g_free (norm);
  }
  if (g_hash_table_size (counts) == 0) {
    g_hash_table_unref (counts);
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 "no words to learn a tokenizer from (%u texts)", n_texts);
    return NULL;
  }
  guint n_words;
  char **words = (char **) g_hash_table_get_keys_as_array (counts, &n_words);
  qsort (words, n_words, sizeof (char *), str_ptr_cmp);
  guint64 *freqs = g_new (guint64, n_words);
  for (guint w = 0; w < n_words; w++)
    freqs[w] = GPOINTER_TO_SIZE (g_hash_table_lookup (counts, words[w]));

  SvTokenizer *tok = tokenizer_new ();
  add_base_symbols (tok, words, n_words, freqs, vocab_size);

  Trainer t = { tok,
                g_new0 (Word, n_words),
                g_hash_table_new_full (pair_hash, pair_equal, NULL, pair_stat_free),
                NULL,
                g_ptr_array_new (),
                1 };
  t.queue = g_tree_new_with_data (pair_order, &t);
  for (guint w = 0; w < n_words; w++) {
    Word *wd = &t.words[w];
    char buf[16];
    wd->syms = g_new (gint32, strlen (words[w]));
    wd->freq = freqs[w];
    for (const char *p = words[w], *end = p + strlen (p); p < end; wd->len++)
      wd->syms[wd->len] = (gint32) symbol_id (tok, next_symbol (&p, end, buf));
    for (guint i = 0; i + 1 < wd->len; i++)
      pair_change (&t, wd->syms[i], wd->syms[i + 1], (gint64) wd->freq, w);
  }
  g_free (words); /* the strings belong to counts */
  g_hash_table_unref (counts);
  g_free (freqs);
  requeue (&t);

  while (tok->vocab->len < vocab_size && g_tree_nnodes (t.queue) > 0) {
    PairStat *s = g_tree_node_key (g_tree_node_first (t.queue));
    guint32 a = s->key.a, b = s->key.b;
    if (s->count < 2)
      break;
    char **v = (char **) tok->vocab->pdata;
    guint32 c = add_symbol (tok, g_strconcat (v[a], v[b], NULL));
    /* a pair seen again (its result reached through another merge) is not recorded twice */
    Merge m = { a, b, c, tok->merges->len };
    if (!g_hash_table_contains (tok->ranks, &m))
      add_merge (tok, &m);
    /* s->where does not grow here: no pair created by this merge is (a, b) */
    t.stamp++;
    for (guint i = 0; i < s->where->len; i++) {
      guint wi = g_array_index (s->where, guint, i);
      if (t.words[wi].stamp == t.stamp)
        continue;
      t.words[wi].stamp = t.stamp;
      merge_word (&t, wi, (gint32) a, (gint32) b, (gint32) c);
    }
    g_array_set_size (s->where, 0);
    requeue (&t); /* (a, b) itself is left out: its count is now 0 */
  }
  for (guint w = 0; w < n_words; w++)
    g_free (t.words[w].syms);
  g_free (t.words);
  g_hash_table_unref (t.pairs);
  g_tree_unref (t.queue);
  g_ptr_array_unref (t.touched);
  return tok;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                   */

static const Merge *
merge_lookup (const SvTokenizer *tok, gint32 a, gint32 b)
{
  Merge key = { (guint32) a, (guint32) b, 0, 0 };
  return g_hash_table_lookup (tok->ranks, &key);
}

/* Applies the merges to one word, lowest rank first; returns n, then n ids. */
static gint32 *
encode_word (const SvTokenizer *tok, const char *word, gsize len)
{
  gint32 *out = g_new (gint32, len + 1), *s = out + 1;
  guint n = 0;
  char buf[16];
  for (const char *p = word; p < word + len; n++) {
    gint64 id = symbol_id (tok, next_symbol (&p, word + len, buf));
    s[n] = id >= SV_TOKEN_N_SPECIAL ? (gint32) id : SV_TOKEN_UNK;
  }
  for (;;) {
    const Merge *best = NULL;
    for (guint i = 0; i + 1 < n; i++) {
      const Merge *m = merge_lookup (tok, s[i], s[i + 1]);
      if (m && (!best || m->rank < best->rank))
        best = m;
    }
    if (!best)
      break;
    guint o = 0;
    for (guint i = 0; i < n; i++) {
      gboolean hit = i + 1 < n && s[i] == (gint32) best->a && s[i + 1] == (gint32) best->b;
      s[o++] = hit ? (gint32) best->result : s[i];
      i += hit;
    }
    n = o;
  }
  out[0] = (gint32) n;
  return out;
}

typedef struct {
  const SvTokenizer *tok;
  int32_t *ids;
  int n, end; /* next position; position of [SEP] */
} EncodeState;

static gboolean
encode_cb (const char *word, gsize len, gpointer user)
{
  EncodeState *st = user;
  SvTokenizer *tok = (SvTokenizer *) st->tok; /* only the cache changes, under its lock */
  char *key = len <= MAX_CACHED_WORD ? g_strndup (word, len) : NULL;
  gint32 *pieces = NULL;
  if (key) {
    g_mutex_lock (&tok->cache_lock);
    gint32 *hit = g_hash_table_lookup (tok->cache, key);
    if (hit)
      pieces = g_memdup2 (hit, (gsize) (hit[0] + 1) * sizeof (gint32));
    g_mutex_unlock (&tok->cache_lock);
  }
  if (!pieces) {
    pieces = encode_word (tok, word, len);
    if (key) {
      g_mutex_lock (&tok->cache_lock);
      if (g_hash_table_size (tok->cache) >= MAX_CACHE_SIZE)
        g_hash_table_remove_all (tok->cache);
      g_hash_table_replace (tok->cache, g_steal_pointer (&key),
                            g_memdup2 (pieces, (gsize) (pieces[0] + 1) * sizeof (gint32)));
      g_mutex_unlock (&tok->cache_lock);
    }
  }
  g_free (key);
  for (gint32 i = 0; i < pieces[0] && st->n < st->end; i++)
    st->ids[st->n++] = pieces[1 + i];
  g_free (pieces);
  return st->n < st->end;
}

int
sv_tokenizer_encode (const SvTokenizer *tok, const char *text, int32_t *ids, float *mask,
                     int max_len)
{
  g_return_val_if_fail (tok != NULL, 0);
  g_return_val_if_fail (ids != NULL && mask != NULL, 0);
  g_return_val_if_fail (max_len >= 2, 0);
  EncodeState st = { tok, ids, 1, max_len - 1 };
  ids[0] = SV_TOKEN_CLS;
  if (st.n < st.end) {
    char *norm = normalise (text);
    each_word (norm, encode_cb, &st);
    g_free (norm);
  }
  ids[st.n++] = SV_TOKEN_SEP;
  for (int i = 0; i < max_len; i++) {
    if (i >= st.n)
      ids[i] = SV_TOKEN_PAD;
    mask[i] = i < st.n ? 1.0f : 0.0f;
  }
  return st.n;
}

char *
sv_tokenizer_decode (const SvTokenizer *tok, const int32_t *ids, int n)
{
  g_return_val_if_fail (tok != NULL, NULL);
  g_return_val_if_fail (n >= 0 && (ids != NULL || n == 0), NULL);
  GString *out = g_string_new (NULL);
  for (int i = 0; i < n; i++) {
    if (ids[i] < SV_TOKEN_N_SPECIAL || (guint) ids[i] >= tok->vocab->len)
      continue;
    const char *piece = tok->vocab->pdata[ids[i]];
    gboolean ends = g_str_has_suffix (piece, END_OF_WORD);
    g_string_append_len (out, piece, (gssize) (strlen (piece) - (ends ? END_OF_WORD_LEN : 0)));
    if (ends)
      g_string_append_c (out, ' ');
  }
  return g_strstrip (g_string_free (out, FALSE));
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                       */

char *
sv_tokenizer_to_json (const SvTokenizer *tok)
{
  g_return_val_if_fail (tok != NULL, NULL);
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "bpe");
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "lowercase");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "vocab");
  json_builder_begin_array (b);
  for (guint i = 0; i < tok->vocab->len; i++)
    json_builder_add_string_value (b, tok->vocab->pdata[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "merges");
  json_builder_begin_array (b);
  for (guint i = 0; i < tok->merges->len; i++) {
    const Merge *m = &g_array_index (tok->merges, Merge, i);
    json_builder_begin_array (b);
    json_builder_add_string_value (b, tok->vocab->pdata[m->a]);
    json_builder_add_string_value (b, tok->vocab->pdata[m->b]);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  JsonNode *root = json_builder_get_root (b);
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_root (gen, root);
  char *out = json_generator_to_data (gen, NULL);
  g_object_unref (gen);
  json_node_unref (root);
  g_object_unref (b);
  return out;
}

static gboolean
is_base_symbol (const char *sym)
{
  gsize len = strlen (sym);
  if (len > END_OF_WORD_LEN && strcmp (sym + len - END_OF_WORD_LEN, END_OF_WORD) == 0)
    len -= END_OF_WORD_LEN;
  return len > 0 && g_utf8_next_char (sym) == sym + len;
}

/* The string held by node, or NULL when it is not a string. */
static const char *
node_string (JsonNode *node)
{
  if (!node || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean fail (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* Sets an SV_ERROR_FORMAT error about the JSON; returns FALSE. */
static gboolean
fail (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "tokenizer JSON: %s", msg);
  g_free (msg);
  return FALSE;
}

static gboolean
load_vocab (SvTokenizer *tok, JsonArray *vocab, GError **error)
{
  guint n = json_array_get_length (vocab);
  if (n < SV_TOKEN_N_SPECIAL || n > MAX_VOCAB)
    return fail (error, "vocab has %u entries (%d to %u expected)", n, SV_TOKEN_N_SPECIAL,
                 MAX_VOCAB);
  for (guint i = 0; i < n; i++) {
    const char *sym = node_string (json_array_get_element (vocab, i));
    if (!sym || !*sym || !g_utf8_validate (sym, -1, NULL))
      return fail (error, "vocab entry %u is not a non-empty string", i);
    if (i < SV_TOKEN_N_SPECIAL && strcmp (sym, special_names[i]) != 0)
      return fail (error, "vocab entry %u is \"%s\", expected \"%s\"", i, sym, special_names[i]);
    if (i >= SV_TOKEN_N_SPECIAL && symbol_id (tok, sym) >= 0)
      return fail (error, "vocab entry %u \"%s\" is a duplicate", i, sym);
    if (i >= SV_TOKEN_N_SPECIAL)
      add_symbol (tok, g_strdup (sym));
  }
  return TRUE;
}

/* Merges in rank order: each joins two symbols already available (characters or
 * earlier results) into a vocab entry; every vocab entry is a character or a result. */
static gboolean
load_merges (SvTokenizer *tok, JsonArray *merges, GError **error)
{
  g_autofree gboolean *made = g_new0 (gboolean, tok->vocab->len);
  for (guint i = SV_TOKEN_N_SPECIAL; i < tok->vocab->len; i++)
    made[i] = is_base_symbol (tok->vocab->pdata[i]);
  for (guint r = 0; r < json_array_get_length (merges); r++) {
    JsonNode *node = json_array_get_element (merges, r);
    JsonArray *pair = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
    const char *a = NULL, *b = NULL;
    if (pair && json_array_get_length (pair) == 2) {
      a = node_string (json_array_get_element (pair, 0));
      b = node_string (json_array_get_element (pair, 1));
    }
    if (!a || !b)
      return fail (error, "merge %u is not a pair of strings", r);
    gint64 ia = symbol_id (tok, a), ib = symbol_id (tok, b);
    if (ia < SV_TOKEN_N_SPECIAL || ib < SV_TOKEN_N_SPECIAL || !made[ia] || !made[ib] ||
        g_str_has_suffix (a, END_OF_WORD))
      return fail (error,
                   "merge %u (\"%s\", \"%s\"): a part is unknown, special, not made "
                   "by an earlier merge or ends a word",
                   r, a, b);
    g_autofree char *joined = g_strconcat (a, b, NULL);
    gint64 ic = symbol_id (tok, joined);
    Merge m = { (guint32) ia, (guint32) ib, (guint32) ic, r };
    if (ic < SV_TOKEN_N_SPECIAL)
      return fail (error, "the result of merge %u (\"%s\", \"%s\") is not in the vocab", r, a, b);
    if (g_hash_table_contains (tok->ranks, &m))
      return fail (error, "merge %u (\"%s\", \"%s\") is a duplicate", r, a, b);
    made[ic] = TRUE;
    add_merge (tok, &m);
  }
  for (guint i = SV_TOKEN_N_SPECIAL; i < tok->vocab->len; i++)
    if (!made[i])
      return fail (error, "vocab entry %u \"%s\" is neither a character nor a merge result", i,
                   (const char *) tok->vocab->pdata[i]);
  return TRUE;
}

static gboolean
check_header (JsonObject *obj, GError **error)
{
  const char *type = node_string (json_object_get_member (obj, "type"));
  JsonNode *version = json_object_get_member (obj, "version");
  JsonNode *lower = json_object_get_member (obj, "lowercase");
  if (!type || strcmp (type, "bpe") != 0)
    return fail (error, "\"type\" is not \"bpe\"");
  if (!version || !JSON_NODE_HOLDS_VALUE (version) ||
      json_node_get_value_type (version) != G_TYPE_INT64 || json_node_get_int (version) != 1)
    return fail (error, "\"version\" is missing or not 1 (the supported version)");
  if (!lower || !JSON_NODE_HOLDS_VALUE (lower) ||
      json_node_get_value_type (lower) != G_TYPE_BOOLEAN || !json_node_get_boolean (lower))
    return fail (error, "\"lowercase\" is missing or not true (the only mode supported)");
  return TRUE;
}

SvTokenizer *
sv_tokenizer_from_json (const char *json, GError **error)
{
  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  /* json-glib recurses and accepts some malformed escapes: a strict pre-scan first */
  if (!sv_json_check (json, strlen (json), MAX_JSON_DEPTH, "tokenizer JSON", error))
    return NULL;
  JsonParser *parser = json_parser_new ();
  GError *parse_error = NULL;
  SvTokenizer *tok = NULL;
  JsonNode *root = NULL, *vocab = NULL, *merges = NULL;
  if (!json_parser_load_from_data (parser, json, -1, &parse_error)) {
    fail (error, "%s", parse_error->message);
    g_error_free (parse_error);
  } else if (!(root = json_parser_get_root (parser)) || !JSON_NODE_HOLDS_OBJECT (root)) {
    fail (error, "not an object");
  } else if (check_header (json_node_get_object (root), error)) {
    vocab = json_object_get_member (json_node_get_object (root), "vocab");
    merges = json_object_get_member (json_node_get_object (root), "merges");
    if (!vocab || !JSON_NODE_HOLDS_ARRAY (vocab) || !merges || !JSON_NODE_HOLDS_ARRAY (merges)) {
      fail (error, "\"vocab\" or \"merges\" is missing or not an array");
    } else {
      tok = tokenizer_new ();
      if (!load_vocab (tok, json_node_get_array (vocab), error) ||
          !load_merges (tok, json_node_get_array (merges), error))
        g_clear_pointer (&tok, sv_tokenizer_free);
    }
  }
  g_object_unref (parser);
  return tok;
}
