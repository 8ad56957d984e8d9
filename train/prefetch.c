/* svilm-train: the prefetching sample pipeline (worker threads, bounded queue). */
#include "dataset.h"

#include "sv-error.h"

#include <string.h>

struct _SvPrefetch {
  SvPrefetchConfig cfg;
  GThread **threads;
  GAsyncQueue *credits; /* one item per free slot of the bounded queue */
  GAsyncQueue *results; /* SvSample*, in completion order */
  GHashTable *pending;  /* position -> SvSample*, arrived ahead of their turn */
  GMutex lock;          /* claim counter and permutation cache */
  uint64_t next_claim, next_out;
  int64_t perm_epoch[2];
  guint *perm[2];
  gint quit;
};

/* splitmix64 finaliser over (seed, a, b) */
static uint64_t
mix (uint64_t seed, uint64_t a, uint64_t b)
{
  uint64_t z = seed ^ (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void
sv_sample_free (SvSample *s)
{
  if (!s)
    return;
  g_free (s->error);
  g_free (s->clip);
  g_free (s->ids);
  g_free (s->mask);
  g_free (s);
}

/* item index of a position (under pf->lock) */
static guint
item_of (SvPrefetch *pf, uint64_t pos)
{
  guint n = pf->cfg.ds->items->len;
  int64_t epoch = (int64_t) (pos / n);
  int slot = (int) (epoch & 1);
  if (pf->perm_epoch[slot] != epoch) {
    if (!pf->perm[slot])
      pf->perm[slot] = g_new (guint, n);
    for (guint i = 0; i < n; i++)
      pf->perm[slot][i] = i;
    SvRng rng;
    sv_rng_seed (&rng, mix (pf->cfg.seed, 0x0DA7A0DE, (uint64_t) epoch));
    sv_rng_shuffle (&rng, pf->perm[slot], n);
    if (pf->cfg.hard)
      sv_hard_batches_order (pf->cfg.hard, pf->perm[slot], n);
    pf->perm_epoch[slot] = epoch;
  }
  return pf->perm[slot][pos % n];
}

static char **
item_nouns (const SvPrefetchConfig *cfg, SvDataItem *it)
{
  if (it->nouns)
    return it->nouns;
  char **cached = g_atomic_pointer_get (&it->auto_nouns);
  if (cached)
    return cached;
  char **ph = NULL;
  if (cfg->nc) {
    GError *err = NULL;
    ph = sv_noun_chunker_phrases (cfg->nc, it->caption, (guint) cfg->cfg->n_nouns, &err);
    if (!ph) {
      g_warning ("noun phrases of \"%s\": %s", it->caption, err->message);
      g_clear_error (&err);
    }
  }
  if (!ph)
    ph = g_new0 (char *, 1);
  if (!g_atomic_pointer_compare_and_exchange (&it->auto_nouns, NULL, ph)) {
    g_strfreev (ph);
    return g_atomic_pointer_get (&it->auto_nouns);
  }
  return ph;
}

/* The templates bring their own article ("A video of the {}."), so a leading article of the
 * phrase is dropped: "a red ball" -> "A video of the red ball." */
static const char *
skip_article (const char *phrase)
{
  static const char *const articles[] = { "a ", "an ", "the ", "one " };
  for (guint i = 0; i < G_N_ELEMENTS (articles); i++) {
    size_t n = strlen (articles[i]);
    if (g_ascii_strncasecmp (phrase, articles[i], n) == 0 && phrase[n] != '\0')
      return phrase + n;
  }
  return phrase;
}

/* the caption without trailing punctuation, for the no-noun fallback prompt */
static char *
caption_phrase (const char *caption)
{
  char *s = g_ascii_strdown (caption, -1);
  size_t n = strlen (s);
  while (n > 0 && (g_ascii_ispunct (s[n - 1]) || g_ascii_isspace (s[n - 1])))
    s[--n] = '\0';
  return s;
}

/* rows [1, 1 + Q) of the sample's text: the caption's negatives, drawn from their own
 * stream so that a run without them sees the same samples as before they existed */
static void
sample_negatives (const SvPrefetchConfig *cfg, const char *caption, SvSample *s)
{
  int Q = cfg->n_negatives, L = cfg->cfg->max_len;
  SvRng rng;
  sv_rng_seed (&rng, mix (cfg->seed, 0x4E3647, s->position));
  char **neg = g_new0 (char *, Q + 1);
  guint made = 0;
  /* a caption that says no side draws nothing here */
  if (cfg->side_negatives > 0 && sv_says_side (caption) &&
      sv_rng_uniform (&rng) < cfg->side_negatives) {
    neg[made++] = sv_swap_left_right (caption);
    s->side_negative = TRUE;
  }
  made += sv_caption_negatives_make (cfg->negatives, caption, &rng, (guint) Q - made, neg + made);
  guint n = cfg->ds->items->len;
  for (int q = 0; q < Q; q++) {
    const char *text = neg[q];
    if ((guint) q >= made) { /* another video's caption: a plain negative */
      guint other = n > 1 ? sv_rng_below (&rng, n - 1) : 0;
      other += n > 1 && other >= s->item;
      text = ((SvDataItem *) g_ptr_array_index (cfg->ds->items, other))->caption;
    }
    sv_tokenizer_encode (cfg->tok, text, s->ids + (size_t) (1 + q) * L,
                         s->mask + (size_t) (1 + q) * L, L);
  }
  g_strfreev (neg);
}

static void
sample_text (const SvPrefetchConfig *cfg, SvDataItem *it, SvRng *rng, SvSample *s)
{
  int K = cfg->cfg->n_nouns, L = cfg->cfg->max_len, Q = cfg->negatives ? cfg->n_negatives : 0;
  s->ids = g_new0 (int32_t, (size_t) (1 + Q + K) * L);
  s->mask = g_new0 (float, (size_t) (1 + Q + K) * L);
  char *caption = s->flipped ? sv_swap_left_right (it->caption) : g_strdup (it->caption);
  sv_tokenizer_encode (cfg->tok, caption, s->ids, s->mask, L);
  if (Q > 0)
    sample_negatives (cfg, caption, s);
  char **ph = item_nouns (cfg, it);
  guint n = g_strv_length (ph);
  s->n_phrases = (int) n;
  char *fallback = n == 0 ? caption_phrase (caption) : NULL;
  for (int k = 0; k < K; k++) {
    /* fewer than K phrases repeat; none: a prompt of the whole caption */
    const char *phrase = n > 0 ? ph[(guint) k % n] : fallback;
    char *swapped = s->flipped && n > 0 ? sv_swap_left_right (phrase) : NULL;
    guint t = sv_rng_below (rng, SV_N_PROMPT_TEMPLATES);
    char *prompt = sv_prompt_fill (t, skip_article (swapped ? swapped : phrase));
    sv_tokenizer_encode (cfg->tok, prompt, s->ids + (size_t) (1 + Q + k) * L,
                         s->mask + (size_t) (1 + Q + k) * L, L);
    g_free (prompt);
    g_free (swapped);
  }
  g_free (fallback);
  g_free (caption);
}

/* whether the sample at pos is the mirror image of partner, the item before it in its lane:
 * only when partner's caption says left or right (else the two would be one positive
 * twice, each the other's false negative) */
static gboolean
mirror_of (const SvPrefetchConfig *cfg, uint64_t pos, guint partner)
{
  if (partner == G_MAXUINT)
    return FALSE;
  SvRng rng;
  sv_rng_seed (&rng, mix (cfg->seed, 0x313207, pos));
  if (!(sv_rng_uniform (&rng) < cfg->mirror_pairs))
    return FALSE;
  return sv_says_side (((SvDataItem *) g_ptr_array_index (cfg->ds->items, partner))->caption);
}

/* the sample at pos: item's, or (partner != G_MAXUINT) perhaps partner's mirror image */
static SvSample *
sample_make (const SvPrefetchConfig *cfg, uint64_t pos, guint item, guint partner)
{
  SvSample *s = g_new0 (SvSample, 1);
  s->position = pos;
  /* a mirror image takes its partner's random draws (frames, crop, flip, prompts) */
  uint64_t draws = pos;
  if (mirror_of (cfg, pos, partner)) {
    item = partner;
    draws = pos - (uint64_t) cfg->stride;
    s->mirror = TRUE;
  }
  s->item = item;
  SvDataItem *it = g_ptr_array_index (cfg->ds->items, item);
  if (g_atomic_int_get (&it->bad)) {
    s->error = g_strdup ("known to be unreadable");
    return s;
  }
  SvRng rng;
  sv_rng_seed (&rng, mix (cfg->seed, 0x5A3F1E, draws));
  const SvModelConfig *c = cfg->cfg;
  s->clip = g_new (float, (size_t) c->frames * c->height * c->width * 3);
  GError *err = NULL;
  if (!sv_decode_clip (it->uri, it->start, it->end, &cfg->clip, &rng, s->clip, &s->flipped, &err)) {
    g_atomic_int_set (&it->bad, 1);
    s->error = g_strdup (err->message);
    g_error_free (err);
    g_clear_pointer (&s->clip, g_free);
    return s;
  }
  if (s->mirror) {
    sv_clip_mirror (s->clip, c->frames, c->height, c->width);
    s->flipped = !s->flipped;
  }
  sample_text (cfg, it, &rng, s);
  s->ok = TRUE;
  return s;
}

static gpointer
worker (gpointer data)
{
  SvPrefetch *pf = data;
  for (;;) {
    g_async_queue_pop (pf->credits);
    if (g_atomic_int_get (&pf->quit))
      break;
    g_mutex_lock (&pf->lock);
    uint64_t pos = pf->next_claim;
    pf->next_claim += pf->cfg.stride;
    guint item = item_of (pf, pos), partner = G_MAXUINT;
    /* the odd places of a lane (start + (2k + 1) stride, start < stride) */
    if (pf->cfg.mirror_pairs > 0 && (pos / (uint64_t) pf->cfg.stride) % 2 == 1)
      partner = item_of (pf, pos - (uint64_t) pf->cfg.stride);
    g_mutex_unlock (&pf->lock);
    g_async_queue_push (pf->results, sample_make (&pf->cfg, pos, item, partner));
  }
  return NULL;
}

static void
sample_destroy (gpointer p)
{
  sv_sample_free (p);
}

SvPrefetch *
sv_prefetch_new (const SvPrefetchConfig *cfg, uint64_t start)
{
  SvPrefetch *pf = g_new0 (SvPrefetch, 1);
  pf->cfg = *cfg;
  pf->cfg.workers = MAX (cfg->workers, 1);
  pf->cfg.stride = MAX (cfg->stride, 1);
  pf->cfg.depth = MAX (cfg->depth, pf->cfg.workers);
  pf->next_claim = pf->next_out = start;
  pf->perm_epoch[0] = pf->perm_epoch[1] = -1;
  g_mutex_init (&pf->lock);
  pf->credits = g_async_queue_new ();
  pf->results = g_async_queue_new_full (sample_destroy);
  pf->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, sample_destroy);
  for (int i = 0; i < pf->cfg.depth; i++)
    g_async_queue_push (pf->credits, GINT_TO_POINTER (1));
  pf->threads = g_new0 (GThread *, pf->cfg.workers);
  for (int i = 0; i < pf->cfg.workers; i++) {
    char name[32];
    g_snprintf (name, sizeof name, "svilm-data-%d", i);
    pf->threads[i] = g_thread_new (name, worker, pf);
  }
  return pf;
}

SvSample *
sv_prefetch_next (SvPrefetch *pf, const volatile sig_atomic_t *stop, double *wait_s)
{
  gint64 t0 = g_get_monotonic_time ();
  SvSample *s = NULL;
  for (;;) {
    gint64 key = (gint64) pf->next_out;
    if (g_hash_table_steal_extended (pf->pending, &key, NULL, (gpointer *) &s))
      break;
    SvSample *r = g_async_queue_timeout_pop (pf->results, 100 * 1000);
    if (!r) {
      if (stop && *stop)
        break;
      continue;
    }
    if (r->position == pf->next_out) {
      s = r;
      break;
    }
    g_hash_table_insert (pf->pending, &r->position, r);
  }
  if (s) {
    pf->next_out += pf->cfg.stride;
    g_async_queue_push (pf->credits, GINT_TO_POINTER (1));
  }
  if (wait_s)
    *wait_s += (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  return s;
}

void
sv_prefetch_free (SvPrefetch *pf)
{
  if (!pf)
    return;
  g_atomic_int_set (&pf->quit, 1);
  for (int i = 0; i < pf->cfg.workers; i++)
    g_async_queue_push (pf->credits, GINT_TO_POINTER (1));
  for (int i = 0; i < pf->cfg.workers; i++)
    g_thread_join (pf->threads[i]);
  g_free (pf->threads);
  g_async_queue_unref (pf->credits);
  g_async_queue_unref (pf->results);
  g_hash_table_destroy (pf->pending);
  g_mutex_clear (&pf->lock);
  g_free (pf->perm[0]);
  g_free (pf->perm[1]);
  g_free (pf);
}
