/* svilm-train: hard-negative batches (--hard-negatives K).
 *
 * The contrastive loss only contrasts a video with the other captions of its batch.  Drawn
 * at random, 16 captions of the synthetic corpus rarely share more than a colour, so a model
 * that tells colours apart already wins most of its batches; on the held-out split its wrong
 * first answers for one-object captions had the caption's colour every time but its noun
 * only 28 % and its motion 19 % of the time (docs/training.md, "Hard negatives").
 *
 * Each epoch's shuffled order is regrouped: the next unused video is an anchor, and the
 * K - 1 videos among the next `window` unused ones whose captions are most like the
 * anchor's follow it (the cosine of their tf-idf word vectors: "purple" and "rotates"
 * count, "a" and "and" do not, and a long caption is not everyone's neighbour).  K consecutive
 * positions land in one batch when K divides the batch (and the epoch), so a batch holds B / K
 * groups of near neighbours, each a hard negative for the others.  The order depends only
 * on the shuffled one, so runs stay deterministic and resumable.
 */
#include "hard-batches.h"

#include <math.h>
#include <string.h>

struct _SvHardBatches {
  guint n, group, window;
  guint *start, *len; /* item i's words: ids[start[i] .. start[i] + len[i]), ascending */
  guint *ids;
  float *idf;  /* per word id */
  float *norm; /* per item: the length of its tf-idf vector */
};

static int
cmp_uint (const void *a, const void *b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

SvHardBatches *
sv_hard_batches_new (const char *const *captions, guint n, guint group, guint window)
{
  g_return_val_if_fail (captions != NULL || n == 0, NULL);
  SvHardBatches *hb = g_new0 (SvHardBatches, 1);
  hb->n = n;
  hb->group = MAX (group, 1u);
  hb->window = MAX (window, 1u);
  hb->start = g_new (guint, MAX (n, 1u));
  hb->len = g_new (guint, MAX (n, 1u));
  GHashTable *vocab = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *df = g_array_new (FALSE, TRUE, sizeof (guint));
  for (guint i = 0; i < n; i++) {
    char *low = g_utf8_strdown (captions[i] ? captions[i] : "", -1);
    char **words = g_regex_split_simple ("[^[:alnum:]]+", low, 0, 0);
    hb->start[i] = ids->len;
    for (char **w = words; *w; w++) {
      if (!**w)
        continue;
      gpointer id;
      if (!g_hash_table_lookup_extended (vocab, *w, NULL, &id)) {
        id = GUINT_TO_POINTER (g_hash_table_size (vocab));
        g_hash_table_insert (vocab, g_strdup (*w), id);
      }
      guint v = GPOINTER_TO_UINT (id);
      g_array_append_val (ids, v);
    }
    /* unique ids, ascending */
    guint m = ids->len - hb->start[i], u = 0;
    guint *mine = m ? &g_array_index (ids, guint, hb->start[i]) : NULL;
    if (m > 1)
      qsort (mine, m, sizeof (guint), cmp_uint);
    for (guint k = 0; k < m; k++)
      if (u == 0 || mine[k] != mine[u - 1])
        mine[u++] = mine[k];
    g_array_set_size (ids, hb->start[i] + u);
    hb->len[i] = u;
    g_array_set_size (df, g_hash_table_size (vocab));
    for (guint k = 0; k < u; k++)
      g_array_index (df, guint, g_array_index (ids, guint, hb->start[i] + k))++;
    g_strfreev (words);
    g_free (low);
  }
  hb->ids = (guint *) g_array_free (ids, FALSE);
  if (!hb->ids) /* no words at all: affinity still indexes it */
    hb->ids = g_new0 (guint, 1);
  guint V = df->len;
  hb->idf = g_new (float, MAX (V, 1u));
  for (guint v = 0; v < V; v++)
    hb->idf[v] = logf ((float) n / (float) MAX (g_array_index (df, guint, v), 1u));
  hb->norm = g_new (float, MAX (n, 1u));
  for (guint i = 0; i < n; i++) {
    double q = 0.0;
    for (guint k = 0; k < hb->len[i]; k++)
      q += (double) hb->idf[hb->ids[hb->start[i] + k]] * hb->idf[hb->ids[hb->start[i] + k]];
    hb->norm[i] = (float) sqrt (q);
  }
  g_array_free (df, TRUE);
  g_hash_table_unref (vocab);
  return hb;
}

void
sv_hard_batches_free (SvHardBatches *hb)
{
  if (!hb)
    return;
  g_free (hb->start);
  g_free (hb->len);
  g_free (hb->ids);
  g_free (hb->idf);
  g_free (hb->norm);
  g_free (hb);
}

float
sv_hard_batches_affinity (const SvHardBatches *hb, guint a, guint b)
{
  const guint *x = hb->ids + hb->start[a], *y = hb->ids + hb->start[b];
  guint i = 0, j = 0;
  float s = 0.0f;
  while (i < hb->len[a] && j < hb->len[b]) {
    if (x[i] == y[j]) {
      s += hb->idf[x[i]] * hb->idf[x[i]];
      i++, j++;
    } else if (x[i] < y[j]) {
      i++;
    } else {
      j++;
    }
  }
  float d = hb->norm[a] * hb->norm[b];
  return d > 0.0f ? s / d : 0.0f;
}

void
sv_hard_batches_order (const SvHardBatches *hb, guint *perm, guint n)
{
  g_return_if_fail (hb != NULL && n == hb->n);
  if (hb->group < 2 || n < 2)
    return;
  guint K = hb->group;
  gboolean *used = g_new0 (gboolean, n);
  guint *out = g_new (guint, n), *cand = g_new (guint, hb->window);
  float *score = g_new (float, hb->window);
  guint k = 0;
  for (guint i = 0; i < n; i++) {
    if (used[i])
      continue;
    used[i] = TRUE;
    guint anchor = perm[i];
    out[k++] = anchor;
    /* the next `window` unused positions, scored against the anchor */
    guint nc = 0;
    for (guint j = i + 1; j < n && nc < hb->window; j++)
      if (!used[j]) {
        cand[nc] = j;
        score[nc++] = sv_hard_batches_affinity (hb, anchor, perm[j]);
      }
    /* the K - 1 best by selection (K is small); a tie goes to the lower candidate slot, so
     * the order stays a function of the shuffled one */
    for (guint g = 1; g < K && nc > 0; g++) {
      guint best = 0;
      for (guint c = 1; c < nc; c++)
        if (score[c] > score[best])
          best = c;
      used[cand[best]] = TRUE;
      out[k++] = perm[cand[best]];
      cand[best] = cand[nc - 1];
      score[best] = score[nc - 1];
      nc--;
    }
  }
  memcpy (perm, out, n * sizeof (guint));
  g_free (used);
  g_free (out);
  g_free (cand);
  g_free (score);
}
