/* svilm-train: hard-negative batches, groups of videos whose captions are alike. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SvHardBatches SvHardBatches;

/* The words of n captions (lower-cased, split at anything not a letter or digit) and their
 * inverse document frequencies.  group: videos per group of neighbours (K); window: how
 * many of the following unused positions an anchor chooses its neighbours from. */
SvHardBatches *sv_hard_batches_new (const char *const *captions, guint n, guint group,
                                    guint window);
void sv_hard_batches_free (SvHardBatches *hb);

/* how alike captions a and b are: the cosine of their words' tf-idf vectors (each word
 * once), in [0, 1] */
float sv_hard_batches_affinity (const SvHardBatches *hb, guint a, guint b);

/* Regroups a shuffled order of the n items in place: each group of K consecutive positions
 * is an anchor (the first unused position) and its K - 1 most alike captions among the next
 * window unused positions.  The result is a permutation of the input. */
void sv_hard_batches_order (const SvHardBatches *hb, guint *perm, guint n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SvHardBatches, sv_hard_batches_free)

G_END_DECLS
