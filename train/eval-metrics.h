/* svilm-train eval: the metrics, as pure functions (tests/test-eval-metrics.c).
 *
 * Retrieval (the field's conventions, e.g. CLIP4Clip): for every query, the 1-based rank of
 * its best correct item among all items by similarity; R@K is the percentage of queries
 * ranked within K, MedR the median rank (the mean of the two middle ranks for an even
 * count, as numpy.median) and MnR the mean rank.  Ties count against the query: an
 * incorrect item scoring the same as the correct one ranks above it, so a constant
 * similarity gives the worst ranks, not the best.
 *
 * Dual-softmax re-ranking (DSL, CAMoE, Cheng et al. 2021): the similarity of query q and
 * item i is multiplied by the softmax over all queries of temperature x similarity, for
 * that item: a prior that demotes items every query likes.
 *
 * Phrase re-ranking: a caption's score for a video is z(cos) + w z(phrases), where phrases is
 * the mean over the caption's noun phrases of the best cosine between the phrase and the
 * video's group tokens (what spatial grounding trains), and z standardises each caption's
 * scores over the gallery of videos (mean 0, deviation 1), so that the two parts and the
 * captions are on one scale (for video->text too).
 *
 * Pointing game (Zhang et al. 2016): the maximum of a heatmap falls inside the object's box.
 *
 * Scene cuts (TransNet V2 protocol): a predicted cut matches a true transition whose window
 * [frame - tolerance, frame + tolerance] holds it, one prediction to one transition; the
 * pairing is a maximum matching (greedy by window end, optimal for intervals and points).
 */
#pragma once

#include <glib.h>

#include "svilm-scene-cuts.h"

G_BEGIN_DECLS

/* ---- retrieval ---- */

/* ranks[q]: the 1-based rank in row q of sim [n_queries x n_items] of the best item i with
 * item_class[i] == query_class[q]; 0 when the query has no correct item. */
void sv_eval_ranks (const float *sim, guint n_queries, guint n_items, const guint *query_class,
                    const guint *item_class, guint *ranks);

typedef struct {
  guint n;            /* queries with a correct item */
  double r1, r5, r10; /* percent */
  double medr, mnr;
} SvRankMetrics;

/* Ranks of 0 (no correct item) are left out. */
void sv_eval_rank_metrics (const guint *ranks, guint n, SvRankMetrics *out);
double sv_eval_recall_at (const guint *ranks, guint n, guint k);
double sv_eval_median_rank (const guint *ranks, guint n);
double sv_eval_mean_rank (const guint *ranks, guint n);

/* out[q, i] = sim[q, i] * softmax_q' (temperature * sim[q', i]) (out may be sim) */
void sv_eval_dual_softmax (const float *sim, guint n_queries, guint n_items, double temperature,
                           float *out);

/* Each row of m [rows x cols] to mean 0 and standard deviation 1 (in place); a constant row
 * becomes zeros. */
void sv_eval_standardize_rows (float *m, guint rows, guint cols);

/* out [cols x rows] = in [rows x cols] transposed */
void sv_eval_transpose (const float *in, guint rows, guint cols, float *out);

/* ---- pointing game ---- */

typedef struct {
  double x, y, w, h; /* the region [x, x + w) x [y, y + h) */
} SvEvalBox;

/* Whether (x, y) is in any of the n boxes. */
gboolean sv_eval_point_in_boxes (double x, double y, const SvEvalBox *boxes, guint n);

/* The area of the union of n boxes clipped to [0, width) x [0, height), as a fraction of the
 * frame: the chance that a uniformly random point hits them. */
double sv_eval_union_fraction (const SvEvalBox *boxes, guint n, double width, double height);

/* ---- scene cuts ---- */

typedef struct {
  gint64 frame;     /* where the transition is: the first frame of the new scene for a cut */
  gint64 tolerance; /* predictions in [frame - tolerance, frame + tolerance] match it */
} SvEvalTransition;

typedef struct {
  guint64 tp, fp, fn;
} SvEvalCounts;

/* Matches the predicted cut frames (any order) to the transitions one to one and adds the
 * counts to *acc; matched[t] (may be NULL) says whether transition t was found. */
void sv_eval_match_cuts (const gint64 *pred, guint n_pred, const SvEvalTransition *truth,
                         guint n_truth, SvEvalCounts *acc, gboolean *matched);
/* The same, and pred_matched[j] (may be NULL) says whether prediction j found a transition:
 * the others are the false cuts (a second cut inside one transition's window among them). */
void sv_eval_match_cuts_full (const gint64 *pred, guint n_pred, const SvEvalTransition *truth,
                              guint n_truth, SvEvalCounts *acc, gboolean *matched,
                              gboolean *pred_matched);

/* Precision, recall and F1 in [0, 1]: 0 where the denominator is 0, except that F1 (and
 * P, R) are 1 when there was nothing to find and nothing was predicted. */
void sv_eval_prf (const SvEvalCounts *c, double *precision, double *recall, double *f1);

/* svilmscenecut's decision rule (svilm_cut_decide): boundaries in ascending frames, every
 * boundary of the video, with their scores and wide scores (wide may be NULL: no gradual
 * detector), decided in order from frame 0.  Writes the cut frames to out (room for n);
 * returns how many. */
guint sv_eval_pick_cuts (const gint64 *frames, const double *scores, const double *wide, guint n,
                         const SvilmCutRule *rule, gint64 *out);

/* The transition window of a synthetic boundary whose first mixed frame is `frame` and
 * which lasts `length` frames (0 for a cut): centred on frame + ceil(length / 2), the first
 * frame past the middle, with a tolerance of max(tolerance, ceil(length / 2)). */
SvEvalTransition sv_eval_transition (gint64 frame, guint length, guint tolerance);

G_END_DECLS
