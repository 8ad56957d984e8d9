/* svilm-train eval: the metrics on hand-made inputs with known answers, and (given the
 * programs) each task end to end on a small synthetic corpus with an untrained model,
 * checking the JSON it writes (the numbers of an untrained model mean nothing).
 *
 *   test-eval-metrics [SVILM_TRAIN MAKE_TEST_MODEL]
 */
#include "eval-metrics.h"
#include "svilm-model.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

static const char *train_exe, *make_model_exe;

/* ---- retrieval ---- */

static void
identity_classes (guint *c, guint n)
{
  for (guint i = 0; i < n; i++)
    c[i] = i;
}

static void
test_ranks_perfect (void)
{
  enum { N = 12 };
  float sim[N * N];
  guint cls[N], ranks[N];
  identity_classes (cls, N);
  for (guint q = 0; q < N; q++)
    for (guint i = 0; i < N; i++)
      sim[q * N + i] = q == i ? 0.9f : 0.1f + 0.01f * i;
  sv_eval_ranks (sim, N, N, cls, cls, ranks);
  SvRankMetrics m;
  sv_eval_rank_metrics (ranks, N, &m);
  g_assert_cmpuint (m.n, ==, N);
  g_assert_cmpfloat (m.r1, ==, 100.0);
  g_assert_cmpfloat (m.r5, ==, 100.0);
  g_assert_cmpfloat (m.r10, ==, 100.0);
  g_assert_cmpfloat (m.medr, ==, 1.0);
  g_assert_cmpfloat (m.mnr, ==, 1.0);

  /* dual softmax keeps a perfect ranking perfect */
  float dsl[N * N];
  sv_eval_dual_softmax (sim, N, N, 100.0, dsl);
  sv_eval_ranks (dsl, N, N, cls, cls, ranks);
  sv_eval_rank_metrics (ranks, N, &m);
  g_assert_cmpfloat (m.r1, ==, 100.0);
  g_assert_cmpfloat (m.medr, ==, 1.0);
}

static void
test_ranks_reversed (void)
{
  /* the correct item is always the least similar: rank N */
  enum { N = 10 };
  float sim[N * N];
  guint cls[N], ranks[N];
  identity_classes (cls, N);
  for (guint q = 0; q < N; q++)
    for (guint i = 0; i < N; i++)
      sim[q * N + i] = q == i ? -0.5f : 0.5f + 0.01f * i;
  sv_eval_ranks (sim, N, N, cls, cls, ranks);
  for (guint q = 0; q < N; q++)
    g_assert_cmpuint (ranks[q], ==, N);
  SvRankMetrics m;
  sv_eval_rank_metrics (ranks, N, &m);
  g_assert_cmpfloat (m.r1, ==, 0.0);
  g_assert_cmpfloat (m.r5, ==, 0.0);
  g_assert_cmpfloat (m.r10, ==, 100.0);
  g_assert_cmpfloat (m.medr, ==, N);
  g_assert_cmpfloat (m.mnr, ==, N);
}

static void
test_ranks_shuffled (void)
{
  /* query q puts its correct item at rank want[q] */
  enum { N = 6 };
  const guint want[N] = { 1, 3, 2, 6, 1, 4 };
  float sim[N * N];
  guint cls[N], ranks[N];
  identity_classes (cls, N);
  for (guint q = 0; q < N; q++) {
    /* the wrong items get distinct scores 0.9, 0.8, ...; the correct one sits below
     * want[q] - 1 of them */
    guint k = 0;
    for (guint i = 0; i < N; i++)
      if (i != q)
        sim[q * N + i] = 0.9f - 0.1f * k++;
    sim[q * N + q] = 0.95f - 0.1f * (want[q] - 1);
  }
  sv_eval_ranks (sim, N, N, cls, cls, ranks);
  for (guint q = 0; q < N; q++)
    g_assert_cmpuint (ranks[q], ==, want[q]);
  SvRankMetrics m;
  sv_eval_rank_metrics (ranks, N, &m);
  g_assert_cmpfloat_with_epsilon (m.r1, 100.0 * 2 / 6, 1e-9);
  g_assert_cmpfloat_with_epsilon (m.r5, 100.0 * 5 / 6, 1e-9);
  g_assert_cmpfloat (m.medr, ==, 2.5); /* 1 1 2 3 4 6 */
  g_assert_cmpfloat_with_epsilon (m.mnr, 17.0 / 6, 1e-9);
  g_assert_cmpfloat (sv_eval_median_rank (ranks, 5), ==, 2.0); /* 1 1 2 3 6 */
}

static void
test_ranks_ties (void)
{
  /* a constant similarity ranks nothing: every correct item is last */
  enum { N = 5 };
  float sim[N * N];
  guint cls[N], ranks[N];
  identity_classes (cls, N);
  for (guint i = 0; i < N * N; i++)
    sim[i] = 0.25f;
  sv_eval_ranks (sim, N, N, cls, cls, ranks);
  for (guint q = 0; q < N; q++)
    g_assert_cmpuint (ranks[q], ==, N);
  g_assert_cmpfloat (sv_eval_recall_at (ranks, N, 1), ==, 0.0);
}

static void
test_ranks_multi (void)
{
  /* 2 videos, 4 captions (0, 1 of video 0; 2, 3 of video 1); video->text ranks the best
   * caption of the video; a query with no correct item is left out */
  const float sim_vt[2 * 4] = {
    0.1f, 0.8f, 0.9f, 0.2f, /* video 0: its best caption (1) is second */
    0.3f, 0.2f, 0.1f, 0.9f, /* video 1: caption 3 first */
  };
  const guint vclass[2] = { 0, 1 }, tclass[4] = { 0, 0, 1, 1 };
  guint ranks[3];
  sv_eval_ranks (sim_vt, 2, 4, vclass, tclass, ranks);
  g_assert_cmpuint (ranks[0], ==, 2);
  g_assert_cmpuint (ranks[1], ==, 1);
  const guint orphan[2] = { 0, 7 };
  sv_eval_ranks (sim_vt, 2, 4, orphan, tclass, ranks);
  g_assert_cmpuint (ranks[1], ==, 0);
  SvRankMetrics m;
  sv_eval_rank_metrics (ranks, 2, &m);
  g_assert_cmpuint (m.n, ==, 1);
  g_assert_cmpfloat (m.medr, ==, 2.0);

  float t[8];
  sv_eval_transpose (sim_vt, 2, 4, t);
  g_assert_cmpfloat (t[2 * 2 + 0], ==, 0.9f);
  g_assert_cmpfloat (t[3 * 2 + 1], ==, 0.9f);
}

static void
test_dual_softmax (void)
{
  /* item 0 is a hub both queries like; the prior over the queries gives it to query 0
   * and lets query 1 find its own item */
  const float sim[4] = { 0.9f, 0.2f, 0.85f, 0.7f };
  const guint cls[2] = { 0, 1 };
  guint ranks[2];
  sv_eval_ranks (sim, 2, 2, cls, cls, ranks);
  g_assert_cmpuint (ranks[1], ==, 2);
  float out[4];
  sv_eval_dual_softmax (sim, 2, 2, 100.0, out);
  sv_eval_ranks (out, 2, 2, cls, cls, ranks);
  g_assert_cmpuint (ranks[0], ==, 1);
  g_assert_cmpuint (ranks[1], ==, 1);
  /* the value: sim x softmax over the column */
  double w = exp (100.0 * 0.9) / (exp (100.0 * 0.9) + exp (100.0 * 0.85));
  g_assert_cmpfloat_with_epsilon (out[0], 0.9 * w, 1e-6);
  g_assert_cmpfloat_with_epsilon (out[2], 0.85 * (1 - w), 1e-6);
  /* large similarities do not overflow; in place works */
  float big[4] = { 30.0f, 29.0f, 29.0f, 30.0f };
  sv_eval_dual_softmax (big, 2, 2, 100.0, big);
  for (int i = 0; i < 4; i++)
    g_assert_true (isfinite (big[i]));
  g_assert_cmpfloat (big[0], >, big[1]);
}

/* phrase re-ranking's standardisation, and the re-ranking it makes possible */
static void
test_standardize (void)
{
  float m[9] = { 1.0f, 2.0f, 3.0f, 5.0f, 5.0f, 5.0f, -4.0f, 0.0f, 10.0f };
  sv_eval_standardize_rows (m, 3, 3);
  g_assert_cmpfloat_with_epsilon (m[0], -1.0 / sqrt (2.0 / 3.0), 1e-6);
  g_assert_cmpfloat_with_epsilon (m[1], 0.0, 1e-7);
  g_assert_cmpfloat_with_epsilon (m[2], 1.0 / sqrt (2.0 / 3.0), 1e-6);
  for (int i = 3; i < 6; i++) /* a constant row: zeros, not 0 / 0 */
    g_assert_cmpfloat (m[i], ==, 0.0f);
  double mean = (m[6] + m[7] + m[8]) / 3.0, var = 0.0;
  for (int i = 6; i < 9; i++)
    var += (m[i] - mean) * (m[i] - mean) / 3.0;
  g_assert_cmpfloat_with_epsilon (mean, 0.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (var, 1.0, 1e-6);

  /* caption 0's video is second by the cosine, first by its phrases: with weight 1 the
   * sum of the standardised rows ranks it first; caption 1 keeps its first place */
  float sim[6] = { 0.50f, 0.48f, 0.10f, 0.20f, 0.60f, 0.10f };
  float phr[6] = { 0.20f, 0.90f, 0.10f, 0.30f, 0.50f, 0.40f };
  const guint text_video[2] = { 1, 1 }, videos[3] = { 0, 1, 2 };
  guint ranks[2];
  sv_eval_ranks (sim, 2, 3, text_video, videos, ranks);
  g_assert_cmpuint (ranks[0], ==, 2);
  sv_eval_standardize_rows (sim, 2, 3);
  sv_eval_standardize_rows (phr, 2, 3);
  for (int i = 0; i < 6; i++)
    sim[i] += phr[i];
  sv_eval_ranks (sim, 2, 3, text_video, videos, ranks);
  g_assert_cmpuint (ranks[0], ==, 1);
  g_assert_cmpuint (ranks[1], ==, 1);
}

/* ---- pointing game ---- */

static void
test_pointing (void)
{
  /* 4x3 grid, maximum at row 2, column 1, nothing around it: centre (1.5/4, 2.5/3) */
  float heat[12] = { 0 };
  heat[2 * 4 + 1] = 1.0f;
  heat[0] = 0.5f; /* outside the maximum's 3x3 neighbourhood */
  float fx, fy;
  g_assert_true (svilm_heatmap_point (heat, 4, 3, &fx, &fy));
  g_assert_cmpfloat_with_epsilon (fx, 1.5 / 4, 1e-6);
  g_assert_cmpfloat_with_epsilon (fy, 2.5 / 3, 1e-6);
  /* a neighbour with half the mass pulls the point a third of the way to it:
   * x = (1.5 + 0.5 x 2.5) / 1.5 cells; negative values weigh nothing */
  heat[2 * 4 + 2] = 0.5f;
  heat[1 * 4 + 0] = -3.0f;
  g_assert_true (svilm_heatmap_point (heat, 4, 3, &fx, &fy));
  g_assert_cmpfloat_with_epsilon (fx, (2.75 / 1.5) / 4, 1e-6);
  g_assert_cmpfloat_with_epsilon (fy, 2.5 / 3, 1e-6);
  heat[2 * 4 + 2] = 0.0f;
  heat[1 * 4 + 0] = 0.0f;
  /* a tie goes to the first cell */
  heat[3] = 1.0f;
  g_assert_true (svilm_heatmap_point (heat, 4, 3, &fx, &fy));
  g_assert_cmpfloat_with_epsilon (fx, 3.5 / 4, 1e-6);
  g_assert_cmpfloat_with_epsilon (fy, 0.5 / 3, 1e-6);
  g_assert_false (svilm_heatmap_point (NULL, 0, 0, &fx, &fy));
  /* no mass at all: the first cell's centre */
  float zeros[4] = { 0 };
  g_assert_true (svilm_heatmap_point (zeros, 2, 2, &fx, &fy));
  g_assert_cmpfloat_with_epsilon (fx, 0.25, 1e-6);
  g_assert_cmpfloat_with_epsilon (fy, 0.25, 1e-6);

  /* a grounding's point: the averaged heatmap (slice -1) or a slice's (the last beyond) */
  float slices[2 * 12] = { 0 };
  slices[0 * 12 + 5] = 1.0f;  /* slice 0: row 1, column 1 */
  slices[1 * 12 + 10] = 1.0f; /* slice 1: row 2, column 2 */
  SvilmGrounding g = { .grid_width = 4,
                       .grid_height = 3,
                       .heatmap = heat,
                       .n_heatmap = 12,
                       .grid_time = 2,
                       .slice_heatmaps = slices,
                       .n_slice_heatmaps = 24 };
  g_assert_true (svilm_grounding_point (&g, -1, &fx, &fy));
  g_assert_cmpfloat_with_epsilon (fx, 3.5 / 4, 1e-6);
  g_assert_true (svilm_grounding_point (&g, 0, &fx, &fy));
  g_assert_cmpfloat_with_epsilon (fx, 1.5 / 4, 1e-6);
  g_assert_cmpfloat_with_epsilon (fy, 1.5 / 3, 1e-6);
  g_assert_true (svilm_grounding_point (&g, 7, &fx, &fy));
  g_assert_cmpfloat_with_epsilon (fx, 2.5 / 4, 1e-6);
  g_assert_cmpfloat_with_epsilon (fy, 2.5 / 3, 1e-6);
  heat[3] = 0.0f;

  /* on a 64x64 frame: the point (24, 53.33) is inside [16, 32) x [48, 64), not inside
   * [32, 48) x ... nor above */
  svilm_heatmap_point (heat, 4, 3, &fx, &fy);
  double x = fx * 64.0, y = fy * 64.0;
  SvEvalBox hit = { 16, 48, 16, 16 }, right = { 32, 48, 16, 16 }, above = { 16, 30, 16, 16 };
  g_assert_true (sv_eval_point_in_boxes (x, y, &hit, 1));
  g_assert_false (sv_eval_point_in_boxes (x, y, &right, 1));
  g_assert_false (sv_eval_point_in_boxes (x, y, &above, 1));
  SvEvalBox two[2] = { right, hit };
  g_assert_true (sv_eval_point_in_boxes (x, y, two, 2));
  /* half-open edges: the left/top edge is in, the right/bottom edge is out */
  SvEvalBox b = { 10, 10, 5, 5 };
  g_assert_true (sv_eval_point_in_boxes (10, 10, &b, 1));
  g_assert_false (sv_eval_point_in_boxes (15, 12, &b, 1));
  g_assert_false (sv_eval_point_in_boxes (12, 15, &b, 1));
  SvEvalBox empty = { 10, 10, 0, 0 };
  g_assert_false (sv_eval_point_in_boxes (10, 10, &empty, 1));
}

static void
test_union_fraction (void)
{
  SvEvalBox a = { 0, 0, 10, 10 }, b = { 5, 5, 10, 10 };
  g_assert_cmpfloat_with_epsilon (sv_eval_union_fraction (&a, 1, 20, 20), 0.25, 1e-12);
  SvEvalBox ab[2] = { a, b };
  g_assert_cmpfloat_with_epsilon (sv_eval_union_fraction (ab, 2, 20, 20), 175.0 / 400, 1e-12);
  /* clipped to the frame */
  SvEvalBox out = { 15, 15, 10, 10 };
  g_assert_cmpfloat_with_epsilon (sv_eval_union_fraction (&out, 1, 20, 20), 25.0 / 400, 1e-12);
  SvEvalBox same[2] = { a, a };
  g_assert_cmpfloat_with_epsilon (sv_eval_union_fraction (same, 2, 20, 20), 0.25, 1e-12);
  g_assert_cmpfloat (sv_eval_union_fraction (NULL, 0, 20, 20), ==, 0.0);
}

/* ---- scene cuts ---- */

static void
test_cuts_tolerance (void)
{
  SvEvalTransition t[1] = { { 20, 2 } };
  for (gint64 p = 14; p <= 26; p++) {
    SvEvalCounts c = { 0 };
    gboolean m[1];
    sv_eval_match_cuts (&p, 1, t, 1, &c, m);
    gboolean in = p >= 18 && p <= 22;
    g_assert_cmpuint (c.tp, ==, in);
    g_assert_cmpuint (c.fp, ==, !in);
    g_assert_cmpuint (c.fn, ==, !in);
    g_assert_cmpint (m[0], ==, in);
  }
  /* tolerance 0: exact frames only */
  SvEvalTransition exact = { 20, 0 };
  gint64 p = 21;
  SvEvalCounts c = { 0 };
  sv_eval_match_cuts (&p, 1, &exact, 1, &c, NULL);
  g_assert_cmpuint (c.tp, ==, 0);
}

static void
test_cuts_one_to_one (void)
{
  /* two predictions near one transition: one of them is a false positive */
  SvEvalTransition t1[1] = { { 20, 2 } };
  gint64 p2[2] = { 19, 21 };
  SvEvalCounts c = { 0 };
  sv_eval_match_cuts (p2, 2, t1, 1, &c, NULL);
  g_assert_cmpuint (c.tp, ==, 1);
  g_assert_cmpuint (c.fp, ==, 1);
  g_assert_cmpuint (c.fn, ==, 0);

  /* one prediction between two close transitions finds only one */
  SvEvalTransition t2[2] = { { 20, 2 }, { 23, 2 } };
  gint64 p1 = 21;
  c = (SvEvalCounts){ 0 };
  sv_eval_match_cuts (&p1, 1, t2, 2, &c, NULL);
  g_assert_cmpuint (c.tp, ==, 1);
  g_assert_cmpuint (c.fn, ==, 1);

  /* the matching is maximum: 12 could go to either transition; giving it to the nearer
   * (13) would leave 15 unmatched, the right pairing finds both */
  SvEvalTransition t3[2] = { { 13, 2 }, { 10, 2 } };
  gint64 p3[2] = { 15, 12 };
  gboolean m[2];
  c = (SvEvalCounts){ 0 };
  sv_eval_match_cuts (p3, 2, t3, 2, &c, m);
  g_assert_cmpuint (c.tp, ==, 2);
  g_assert_cmpuint (c.fp, ==, 0);
  g_assert_true (m[0] && m[1]);

  /* which predictions found a transition, in the caller's order (not sorted): 19 takes
   * 20's window (the earliest inside it), so 21 is a second cut there; 60 is far off */
  SvEvalTransition t4[2] = { { 20, 2 }, { 40, 2 } };
  gint64 p4[4] = { 41, 21, 19, 60 };
  gboolean found[4];
  c = (SvEvalCounts){ 0 };
  sv_eval_match_cuts_full (p4, 4, t4, 2, &c, m, found);
  g_assert_cmpuint (c.tp, ==, 2);
  g_assert_cmpuint (c.fp, ==, 2);
  g_assert_true (found[0] && !found[1] && found[2] && !found[3]);
  g_assert_true (m[0] && m[1]);

  /* nothing predicted; nothing to find */
  c = (SvEvalCounts){ 0 };
  sv_eval_match_cuts (NULL, 0, t2, 2, &c, NULL);
  g_assert_cmpuint (c.fn, ==, 2);
  sv_eval_match_cuts (p2, 2, NULL, 0, &c, NULL);
  g_assert_cmpuint (c.fp, ==, 2);
}

static void
test_prf (void)
{
  double p, r, f;
  SvEvalCounts c = { 3, 1, 2 };
  sv_eval_prf (&c, &p, &r, &f);
  g_assert_cmpfloat_with_epsilon (p, 0.75, 1e-12);
  g_assert_cmpfloat_with_epsilon (r, 0.6, 1e-12);
  g_assert_cmpfloat_with_epsilon (f, 2 * 0.75 * 0.6 / 1.35, 1e-12);
  c = (SvEvalCounts){ 0, 0, 4 };
  sv_eval_prf (&c, &p, &r, &f);
  g_assert_cmpfloat (p, ==, 0.0);
  g_assert_cmpfloat (f, ==, 0.0);
  c = (SvEvalCounts){ 0, 0, 0 };
  sv_eval_prf (&c, &p, &r, &f);
  g_assert_cmpfloat (f, ==, 1.0);
}

/* the rule without the gradual detector */
static guint
pick (const gint64 *frames, const double *scores, guint n, double threshold, guint min_gap,
      gboolean merge_runs, gint64 *out)
{
  SvilmCutRule rule = { threshold, min_gap, merge_runs, 0.0, SVILM_GRADUAL_GAP };
  return sv_eval_pick_cuts (frames, scores, NULL, n, &rule, out);
}

static void
test_pick_cuts (void)
{
  const gint64 frames[] = { 1, 3, 4, 6, 9, 10, 14 };
  const double scores[] = { 0.9, 0.1, 0.5, 0.6, 0.4, 0.7, 0.3 };
  gint64 out[7];
  /* threshold 0.5, gap 3: 1 is before frame 3 (the start counts as a cut); 4 passes,
   * 6 is too close, 10 passes */
  guint n = pick (frames, scores, 7, 0.5, 3, TRUE, out);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpint (out[0], ==, 4);
  g_assert_cmpint (out[1], ==, 10);
  /* threshold 0.3, no gap: 1 cuts, 3 ends its run, 4 cuts, 6 to 14 are one run with it */
  n = pick (frames, scores, 7, 0.3, 0, TRUE, out);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpint (out[0], ==, 1);
  g_assert_cmpint (out[1], ==, 4);
  n = pick (frames, scores, 7, 1.5, 0, TRUE, out);
  g_assert_cmpuint (n, ==, 0);

  /* a dissolve scores high at 2, 4 and 6: one cut, at its first boundary that is far
   * enough from the previous cut; a run that made no cut does not block */
  const gint64 grid[] = { 2, 4, 6, 8, 10, 12 };
  const double run[] = { 0.9, 0.8, 0.95, 0.1, 0.6, 0.7 };
  n = pick (grid, run, 6, 0.5, 0, TRUE, out);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpint (out[0], ==, 2);
  g_assert_cmpint (out[1], ==, 10);
  n = pick (grid, run, 6, 0.5, 3, TRUE, out);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpint (out[0], ==, 4);
  g_assert_cmpint (out[1], ==, 10);
  /* without merging, 6 is far enough from 2 and 12 from 10 */
  n = pick (grid, run, 6, 0.5, 3, FALSE, out);
  g_assert_cmpuint (n, ==, 2);
  n = pick (grid, run, 6, 0.5, 0, FALSE, out);
  g_assert_cmpuint (n, ==, 5);
}

/* the gradual detector: wide scores make a second way to cut, once per run, away from
 * other cuts */
static void
test_pick_cuts_gradual (void)
{
  gint64 out[12];
  const gint64 grid[] = { 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24 };
  /* a slow dissolve at 4-8 (usual score low, wide high), then its end scores high at 10
   * (dropped: within the gap after the gradual cut); a plain cut at 24 */
  const double score[] = { 0.0, 0.1, 0.1, 0.1, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9 };
  const double wide[] = { 0.0, 0.6, 0.7, 0.6, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9 };
  SvilmCutRule rule = { 0.5, 3, TRUE, 0.5, 8 };
  guint n = sv_eval_pick_cuts (grid, score, wide, 12, &rule, out);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpint (out[0], ==, 4);
  g_assert_cmpint (out[1], ==, 24);
  /* off (threshold 0, or no wide scores): the dissolve's end at 10 is the cut */
  SvilmCutRule off = rule;
  off.gradual_threshold = 0.0;
  n = sv_eval_pick_cuts (grid, score, wide, 12, &off, out);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpint (out[0], ==, 10);
  n = sv_eval_pick_cuts (grid, score, NULL, 12, &rule, out);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpint (out[0], ==, 10);

  /* a usual cut at 4, then a wide run at 8-10 within the gap: no gradual cut; a second
   * wide run at 18-20, far enough: one cut at its first boundary */
  const double score2[] = { 0.0, 0.9, 0.0, 0.1, 0.1, 0.0, 0.0, 0.0, 0.1, 0.1, 0.0, 0.0 };
  const double wide2[] = { 0.0, 0.9, 0.0, 0.6, 0.6, 0.0, 0.0, 0.0, 0.6, 0.6, 0.0, 0.0 };
  n = sv_eval_pick_cuts (grid, score2, wide2, 12, &rule, out);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpint (out[0], ==, 4);
  g_assert_cmpint (out[1], ==, 18);
  /* a wide run that starts at a usual cut belongs to it: no second cut */
  const double score3[] = { 0.0, 0.9, 0.1, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0 };
  const double wide3[] = { 0.0, 0.9, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6 };
  n = sv_eval_pick_cuts (grid, score3, wide3, 12, &rule, out);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpint (out[0], ==, 4);
  /* min_gap holds for gradual cuts too: a wide run starting at frame 2 waits for frame 4 */
  rule.min_gap = 4;
  const double low[] = { 0.1, 0.1, 0.0 };
  n = sv_eval_pick_cuts (grid, low, wide3 + 2, 3, &rule, out);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpint (out[0], ==, 4);
}

static void
test_transition (void)
{
  SvEvalTransition t = sv_eval_transition (10, 0, 2); /* a cut */
  g_assert_cmpint (t.frame, ==, 10);
  g_assert_cmpint (t.tolerance, ==, 2);
  t = sv_eval_transition (10, 2, 2); /* frames 10, 11 mixed */
  g_assert_cmpint (t.frame, ==, 11);
  g_assert_cmpint (t.tolerance, ==, 2);
  t = sv_eval_transition (10, 3, 2);
  g_assert_cmpint (t.frame, ==, 12);
  t = sv_eval_transition (10, 8, 2); /* long: half its length */
  g_assert_cmpint (t.frame, ==, 14);
  g_assert_cmpint (t.tolerance, ==, 4);
}

/* ---- end to end ---- */

static char *tmpdir;

static gboolean
run (const char *const *argv, int *status, char **err)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                              NULL, err, status, &error);
  if (!ok)
    g_test_message ("cannot run %s: %s", argv[0], error->message);
  return ok;
}

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  g_assert_nonnull (n);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (n));
  return json_node_get_object (n);
}

static void
assert_numbers (JsonObject *o, const char *const *names)
{
  for (; *names; names++) {
    JsonNode *n = json_object_get_member (o, *names);
    if (!n)
      g_error ("the JSON lacks \"%s\"", *names);
    g_assert_true (JSON_NODE_HOLDS_VALUE (n));
    g_assert_true (isfinite (json_node_get_double (n)));
  }
}

static JsonObject *
eval_task_n (JsonParser *parser, const char *model, const char *manifest, const char *task,
             gint64 videos)
{
  g_autofree char *out = g_build_filename (tmpdir, task, NULL);
  const char *argv[] = { train_exe, "eval", "--model", model, "--data",        manifest,
                         "--task",  task,   "--split", "all", "--train-split", "all",
                         "--json",  out,    "--quiet", NULL };
  int status = 0;
  g_autofree char *err = NULL;
  g_assert_true (run (argv, &status, &err));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("svilm-train eval --task %s failed: %s", task, err);
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, out, &error));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "task"), ==, task);
  g_assert_cmpint (json_object_get_int_member (root, "videos"), ==, videos);
  return member_object (root, task);
}

static JsonObject *
eval_task (JsonParser *parser, const char *model, const char *manifest, const char *task)
{
  return eval_task_n (parser, model, manifest, task, 12);
}

/* fn on every truth file of corpus (parsed, with its path); the sum of what it returns */
static guint
each_truth (const char *corpus, guint (*fn) (JsonParser *p, const char *path))
{
  g_autofree char *dir = g_build_filename (corpus, "truth", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  guint n = 0;
  const char *name;
  while ((name = g_dir_read_name (d))) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_autoptr (JsonParser) p = json_parser_new ();
    g_assert_true (json_parser_load_from_file (p, path, NULL));
    n += fn (p, path);
  }
  return n;
}

/* the truth's transitions rewritten as traps (an in-shot event where a cut is false, as in
 * the real-footage set): returns how many */
static guint
traps_from_transitions (JsonParser *p, const char *path)
{
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  JsonArray *b = json_object_get_array_member (o, "boundaries");
  JsonArray *traps = json_array_new ();
  guint n = 0;
  for (guint i = 0; i < json_array_get_length (b); i++) {
    JsonObject *t = json_object_new ();
    JsonObject *e = json_array_get_object_element (b, i);
    json_object_set_int_member (t, "frame", json_object_get_int_member (e, "frame"));
    json_object_set_int_member (t, "length", json_object_get_int_member (e, "length"));
    json_object_set_string_member (t, "kind", "flash");
    json_array_add_object_element (traps, t);
    n++;
  }
  json_object_set_array_member (o, "traps", traps);
  json_object_set_array_member (o, "boundaries", json_array_new ());
  g_autoptr (JsonGenerator) g = json_generator_new ();
  json_generator_set_root (g, json_parser_get_root (p));
  g_assert_true (json_generator_to_file (g, path, NULL));
  return n;
}

/* Every transition of the corpus's truth files becomes a trap: returns how many. */
static guint
transitions_to_traps (const char *corpus)
{
  return each_truth (corpus, traps_from_transitions);
}

/* 1 when the truth's first scene has one object */
static guint
first_scene_of_one (JsonParser *p, const char *path)
{
  (void) path;
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  JsonArray *objs = json_object_get_array_member (o, "objects");
  guint in0 = 0;
  for (guint i = 0; i < json_array_get_length (objs); i++)
    in0 += json_object_get_int_member (json_array_get_object_element (objs, i), "scene") == 0;
  return in0 == 1;
}

/* --task probe-noun and finetune-noun on a corpus of 60: one example a video whose first
 * scene holds one object, 13 classes */
static void
check_probe_noun (const char *model)
{
  g_autofree char *corpus = g_build_filename (tmpdir, "corpus60", NULL);
  g_autofree char *manifest = g_build_filename (corpus, "manifest.jsonl", NULL);
  const char *synth[] = { train_exe, "synth",  "--out", corpus,    "--count",
                          "60",      "--seed", "9",     "--quiet", NULL };
  int status = 0;
  g_assert_true (run (synth, &status, NULL) && g_spawn_check_wait_status (status, NULL));
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonObject *pr = eval_task_n (p, model, manifest, "probe-noun", 60);
  guint want = each_truth (corpus, first_scene_of_one);
  g_test_message ("probe-noun: %u one-object scenes of 60", want);
  g_assert_cmpint (want, >=, 13);
  g_assert_cmpint (json_object_get_int_member (pr, "examples"), ==, want);
  g_assert_cmpint (json_object_get_int_member (pr, "train_examples"), ==, want);
  g_assert_cmpfloat (fabs (json_object_get_double_member (pr, "chance") - 100.0 / 13), <, 1e-9);
  /* the same examples, fine-tuned end to end: 6 epochs of ceil(want / 16) batches */
  g_autoptr (JsonParser) pf = json_parser_new ();
  JsonObject *ft = eval_task_n (pf, model, manifest, "finetune-noun", 60);
  g_assert_cmpint (json_object_get_int_member (ft, "examples"), ==, want);
  g_assert_cmpint (json_object_get_int_member (ft, "steps"), ==, 6 * ((want + 15) / 16));
  g_assert_cmpfloat (fabs (json_object_get_double_member (ft, "chance") - 100.0 / 13), <, 1e-9);
}

/* the objects in a video of the synthetic corpus: its truth's "objects" */
static guint
truth_objects (const char *corpus, const char *video)
{
  g_autofree char *base = g_path_get_basename (video);
  *strrchr (base, '.') = '\0';
  g_autofree char *name = g_strconcat (base, ".json", NULL);
  g_autofree char *path = g_build_filename (corpus, "truth", name, NULL);
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_file (p, path, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  return json_array_get_length (json_object_get_array_member (o, "objects"));
}

/* --ranks: a line a caption, ranks in 1..12, as many first places as t2v's R@1 says, and
 * as many in each group of captions by their video's objects as t2v_by_objects says */
static void
check_ranks (const char *model, const char *manifest, JsonObject *r)
{
  double r1 = json_object_get_double_member (member_object (r, "t2v"), "r1");
  g_autofree char *corpus = g_path_get_dirname (manifest);
  guint captions[4] = { 0 }, firsts[4] = { 0 };
  g_autofree char *out = g_build_filename (tmpdir, "ranks.jsonl", NULL);
  const char *argv[] = { train_exe, "eval",   "--model",   model,     "--data",
                         manifest,  "--task", "retrieval", "--split", "all",
                         "--ranks", out,      "--quiet",   NULL };
  int status = 0;
  g_assert_true (run (argv, &status, NULL) && g_spawn_check_wait_status (status, NULL));
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (out, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (g_strstrip (text), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 12);
  guint first = 0;
  for (guint i = 0; lines[i]; i++) {
    g_autoptr (JsonNode) n = json_from_string (lines[i], NULL);
    g_assert_nonnull (n);
    JsonObject *o = json_node_get_object (n);
    gint64 rank = json_object_get_int_member (o, "rank");
    g_assert_cmpint (rank, >=, 1);
    g_assert_cmpint (rank, <=, 12);
    g_assert_nonnull (json_object_get_string_member (o, "caption"));
    const char *video = json_object_get_string_member (o, "video");
    const char *top = json_object_get_string_member (o, "first");
    g_assert_true ((rank == 1) == (g_strcmp0 (video, top) == 0));
    first += rank == 1;
    guint bin = MIN (truth_objects (corpus, video), 4) - 1;
    captions[bin]++;
    firsts[bin] += rank == 1;
  }
  g_assert_cmpfloat (fabs (100.0 * first / 12 - r1), <, 1e-3);
  JsonObject *by = member_object (r, "t2v_by_objects");
  const char *bins[] = { "1", "2", "3", "4+" };
  for (guint k = 0; k < 4; k++) {
    g_assert_true (json_object_has_member (by, bins[k]) == (captions[k] > 0));
    if (!captions[k])
      continue;
    JsonObject *b = member_object (by, bins[k]);
    g_assert_cmpint (json_object_get_int_member (b, "captions"), ==, captions[k]);
    g_assert_cmpfloat (
        fabs (json_object_get_double_member (b, "r1") - 100.0 * firsts[k] / captions[k]), <, 1e-3);
  }
  member_object (r, "t2v_phrases_by_objects");
}

/* the left-right test: every caption that says a side, two percentages of them */
static void
check_sides (const char *manifest, JsonObject *r)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (manifest, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  gint64 sides = 0;
  for (guint i = 0; lines[i]; i++) {
    g_autoptr (JsonParser) p = json_parser_new ();
    if (!*lines[i] || !json_parser_load_from_data (p, lines[i], -1, NULL))
      continue;
    const char *caption =
        json_object_get_string_member (json_node_get_object (json_parser_get_root (p)), "caption");
    sides += strstr (caption, "left") || strstr (caption, "right");
  }
  g_assert_cmpint (json_object_get_int_member (r, "side_captions"), ==, sides);
  g_assert_cmpint (sides, >, 0); /* seed 5: some do */
  const char *names[] = { "side_text", "side_video" };
  for (int k = 0; k < 2; k++) {
    double x = json_object_get_double_member (r, names[k]);
    g_assert_cmpfloat (x, >=, 0.0);
    g_assert_cmpfloat (x, <=, 100.0);
    double n = x * (double) sides / 100.0; /* a whole number of captions */
    g_assert_cmpfloat (fabs (n - round (n)), <, 1e-6);
  }
}

static void
test_end_to_end (void)
{
  if (!train_exe || !make_model_exe) {
    g_test_skip ("needs SVILM_TRAIN and MAKE_TEST_MODEL");
    return;
  }
  g_autofree char *model = g_build_filename (tmpdir, "model.safetensors", NULL);
  g_autofree char *corpus = g_build_filename (tmpdir, "corpus", NULL);
  g_autofree char *manifest = g_build_filename (corpus, "manifest.jsonl", NULL);
  int status = 0;
  const char *mk[] = { make_model_exe, model, "--small", NULL };
  g_assert_true (run (mk, &status, NULL) && g_spawn_check_wait_status (status, NULL));
  const char *synth[] = { train_exe, "synth",  "--out", corpus,    "--count",
                          "12",      "--seed", "5",     "--quiet", NULL };
  g_assert_true (run (synth, &status, NULL) && g_spawn_check_wait_status (status, NULL));

  g_autoptr (JsonParser) p1 = json_parser_new ();
  JsonObject *r = eval_task (p1, model, manifest, "retrieval");
  const char *metrics[] = { "r1", "r5", "r10", "medr", "mnr", NULL };
  const char *dirs[] = { "t2v", "v2t", "t2v_dsl", "v2t_dsl", "t2v_phrases", "v2t_phrases" };
  for (int d = 0; d < 6; d++) {
    JsonObject *m = member_object (r, dirs[d]);
    assert_numbers (m, metrics);
    g_assert_cmpfloat (json_object_get_double_member (m, "medr"), >=, 1.0);
    g_assert_cmpfloat (json_object_get_double_member (m, "r10"), <=, 100.0);
  }
  g_assert_cmpint (json_object_get_int_member (r, "captions"), ==, 12);
  g_assert_cmpint (json_object_get_int_member (r, "phrases"), >=, 12); /* one or more each */
  g_assert_cmpfloat (json_object_get_double_member (r, "phrase_weight"), ==, 0.5);
  check_ranks (model, manifest, r);
  check_sides (manifest, r);

  g_autoptr (JsonParser) p2 = json_parser_new ();
  JsonObject *g = eval_task (p2, model, manifest, "grounding");
  const char *gm[] = { "phrases",
                       "pointing_game",
                       "pointing_game_middle",
                       "pointing_game_averaged",
                       "pointing_game_averaged_middle",
                       "centre_baseline",
                       "random_baseline",
                       "miss_on_other_object",
                       "pointing_game_best_group",
                       NULL };
  assert_numbers (g, gm);
  g_assert_cmpint (json_object_get_int_member (g, "phrases"), >=, 6);
  /* the best group's hits include the chosen group's; a miss lands on another object or not */
  double pg = json_object_get_double_member (g, "pointing_game");
  g_assert_cmpfloat (json_object_get_double_member (g, "pointing_game_best_group"), >=, pg);
  g_assert_cmpfloat (pg + json_object_get_double_member (g, "miss_on_other_object"), <=, 100.0);
  double rnd = json_object_get_double_member (g, "random_baseline");
  g_assert_cmpfloat (rnd, >, 0.0);
  g_assert_cmpfloat (rnd, <, 100.0);
  member_object (g, "by_size");
  member_object (g, "by_motion");
  const char *bym[] = { "phrases", "pointing_game", "miss_on_other_object",
                        "pointing_game_best_group", NULL };
  assert_numbers (member_object (member_object (g, "by_position"), "1"), bym);

  g_autoptr (JsonParser) p3 = json_parser_new ();
  JsonObject *s = eval_task (p3, model, manifest, "scenecut");
  const char *sm[] = { "transitions", "tolerance", "window", "stride", NULL };
  assert_numbers (s, sm);
  const char *pm[] = { "threshold", "precision", "recall", "f1", "tp", "fp", "fn", NULL };
  JsonObject *sv = member_object (s, "svilm");
  assert_numbers (member_object (sv, "default"), pm);
  assert_numbers (member_object (sv, "best"), pm);
  g_assert_cmpfloat (json_object_get_double_member (member_object (sv, "default"), "threshold"), ==,
                     0.2);
  /* scdet where ffmpeg is installed, else a reason */
  JsonNode *sc = json_object_get_member (s, "scdet");
  g_assert_nonnull (sc);
  if (JSON_NODE_HOLDS_OBJECT (sc)) {
    JsonObject *so = json_node_get_object (sc);
    assert_numbers (member_object (so, "default"), pm);
    assert_numbers (member_object (so, "best"), pm);
    g_assert_cmpfloat (json_object_get_double_member (member_object (so, "default"), "threshold"),
                       ==, 10.0);
  } else {
    g_test_message ("scdet: %s", json_object_get_string_member (s, "scdet_error"));
  }

  /* a scene head trained on the 12 videos' transitions: eval then scores with it, at the
   * head's default threshold */
  g_autofree char *head_model = g_build_filename (tmpdir, "model-head.safetensors", NULL);
  const char *sh[] = { train_exe,  "scenehead", "--model",  model,      "--data",  manifest,
                       "--split",  "all",       "--epochs", "2",        "--batch", "4",
                       "--hidden", "16",        "--out",    head_model, "--quiet", NULL };
  g_autofree char *sherr = NULL;
  g_assert_true (run (sh, &status, &sherr));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("svilm-train scenehead failed: %s", sherr);
  g_autoptr (JsonParser) ph = json_parser_new ();
  JsonObject *sh_r = eval_task (ph, head_model, manifest, "scenecut");
  JsonObject *sh_sv = member_object (sh_r, "svilm");
  assert_numbers (member_object (sh_sv, "default"), pm);
  g_assert_cmpfloat (json_object_get_double_member (member_object (sh_sv, "default"), "threshold"),
                     ==, 0.25);
  /* its scores are probabilities: the best threshold of the sweep lies in [0, 1] */
  g_assert_cmpfloat (json_object_get_double_member (member_object (sh_sv, "best"), "threshold"), <=,
                     1.0);
  /* bad options: usage errors */
  const char *sh_bad[] = { train_exe, "scenehead", "--model",  model, "--data", manifest,
                           "--out",   head_model,  "--hidden", "0",   NULL };
  g_assert_true (run (sh_bad, &status, NULL));
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 2);

  /* heads on frozen features: fields and sane ranges (an untrained model: no accuracy
   * claim) */
  const char *hm[] = { "train_examples",    "examples", "accuracy", "train_accuracy",
                       "majority_accuracy", "chance",   NULL };
  g_autoptr (JsonParser) p4 = json_parser_new ();
  JsonObject *pr = eval_task (p4, model, manifest, "probe");
  assert_numbers (pr, hm);
  g_assert_cmpint (json_object_get_int_member (pr, "examples"), ==, 12); /* one a video */
  g_assert_cmpfloat (json_object_get_double_member (pr, "chance"), ==, 12.5);
  check_probe_noun (model);
  g_autoptr (JsonParser) p5 = json_parser_new ();
  JsonObject *qa = eval_task (p5, model, manifest, "vqa");
  assert_numbers (qa, hm);
  g_assert_cmpint (json_object_get_int_member (qa, "examples"), >=, 12); /* one an object */
  g_assert_cmpfloat (json_object_get_double_member (qa, "accuracy"), <=, 100.0);
  /* fine-tuning the encoder with a head: the training loss falls on 12 clips */
  g_autoptr (JsonParser) pft = json_parser_new ();
  JsonObject *ft = eval_task (pft, model, manifest, "finetune");
  const char *fm[] = { "train_examples",  "examples",       "steps",
                       "accuracy",        "train_accuracy", "loss_first_epoch",
                       "loss_last_epoch", "chance",         NULL };
  assert_numbers (ft, fm);
  g_assert_cmpint (json_object_get_int_member (ft, "examples"), ==, 12);
  g_test_message ("finetune: loss %.3f -> %.3f, training accuracy %.1f %%",
                  json_object_get_double_member (ft, "loss_first_epoch"),
                  json_object_get_double_member (ft, "loss_last_epoch"),
                  json_object_get_double_member (ft, "train_accuracy"));
  g_assert_cmpfloat (json_object_get_double_member (ft, "loss_last_epoch"), <,
                     json_object_get_double_member (ft, "loss_first_epoch"));

  /* G-TAD features: 10 positions of 256 features for each of the 12 videos */
  g_autofree char *fdir = g_build_filename (tmpdir, "features", NULL);
  const char *ex[] = { train_exe, "extract", "--model", model, "--data",  manifest,
                       "--out",   fdir,      "--scale", "10",  "--quiet", NULL };
  g_autofree char *err = NULL;
  g_assert_true (run (ex, &status, &err));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("svilm-train extract failed: %s", err);
  g_autofree char *info_path = g_build_filename (fdir, "video_info.csv", NULL), *info = NULL;
  g_assert_true (g_file_get_contents (info_path, &info, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (info, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 14); /* header, 12 videos, "" */
  g_assert_cmpstr (lines[0], ==, "video,numFrame,seconds,fps,rfps,subset,featureFrame");
  g_auto (GStrv) cols = g_strsplit (lines[1], ",", -1);
  g_autofree char *csv_name = g_strconcat (cols[0], ".csv", NULL);
  g_autofree char *csv = g_build_filename (fdir, "csv_mean_10", csv_name, NULL), *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_auto (GStrv) rows = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (rows), ==, 12); /* header, 10 positions, "" */
  g_auto (GStrv) feats = g_strsplit (rows[5], ",", -1);
  g_assert_cmpuint (g_strv_length (feats), ==, 256);
  for (char **f = feats; *f; f++)
    g_assert_true (isfinite (g_ascii_strtod (*f, NULL)));

  /* traps: with the transitions turned into traps and a detector cutting wherever it may
   * (threshold 0), the cuts on them are counted as false ones */
  guint n_traps = transitions_to_traps (corpus);
  g_assert_cmpuint (n_traps, >, 0);
  g_autofree char *tout = g_build_filename (tmpdir, "traps.json", NULL);
  const char *tr[] = { train_exe,
                       "eval",
                       "--model",
                       model,
                       "--data",
                       manifest,
                       "--task",
                       "scenecut",
                       "--split",
                       "all",
                       "--threshold",
                       "0",
                       "--min-scene-length",
                       "1",
                       "--ffmpeg",
                       "none",
                       "--json",
                       tout,
                       "--quiet",
                       NULL };
  g_autofree char *terr = NULL;
  g_assert_true (run (tr, &status, &terr));
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("svilm-train eval --task scenecut (traps) failed: %s", terr);
  g_autoptr (JsonParser) p6 = json_parser_new ();
  g_assert_true (json_parser_load_from_file (p6, tout, NULL));
  JsonObject *ts = member_object (json_node_get_object (json_parser_get_root (p6)), "scenecut");
  g_assert_cmpint (json_object_get_int_member (ts, "transitions"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (member_object (ts, "traps_by_kind"), "flash"), ==,
                   n_traps);
  JsonObject *def = member_object (member_object (ts, "svilm"), "default");
  gint64 trapped = json_object_get_int_member (member_object (def, "false_cuts_on_traps"), "flash");
  g_test_message ("%" G_GINT64_FORMAT " of %u traps with a false cut at threshold 0", trapped,
                  n_traps);
  g_assert_cmpint (trapped, >, 0);
  g_assert_cmpint (trapped, <=, n_traps);
  g_assert_cmpint (json_object_get_int_member (def, "fp"), >=, trapped);

  /* a corpus without a transition cannot train a scene head: exit 1, one sentence, and
   * the existing file is left alone */
  g_autofree char *before = NULL, *after = NULL;
  gsize n_before = 0, n_after = 0;
  g_assert_true (g_file_get_contents (head_model, &before, &n_before, NULL));
  const char *sh_none[] = { train_exe, "scenehead", "--model", model,      "--data", manifest,
                            "--split", "all",       "--out",   head_model, NULL };
  g_autofree char *sh_err = NULL;
  g_assert_true (run (sh_none, &status, &sh_err));
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (sh_err, "svilm-train scenehead: no transition"));
  g_assert_true (g_file_get_contents (head_model, &after, &n_after, NULL));
  g_assert_cmpuint (n_after, ==, n_before);
  g_assert_true (memcmp (before, after, n_before) == 0);
}

static void
test_errors (void)
{
  if (!train_exe) {
    g_test_skip ("needs SVILM_TRAIN");
    return;
  }
  struct {
    const char *args[10];
    int code;
  } cases[] = {
    { { "--model", "/nonexistent.safetensors", "--data", "/nonexistent.jsonl", "--task",
        "retrieval" },
      1 },
    { { "--model", "/nonexistent.safetensors", "--data", "x", "--task", "dance" }, 2 },
    { { "--data", "x", "--task", "retrieval" }, 2 },
    { { "--model", "m", "--data", "x" }, 2 },
    { { "--model", "m", "--data", "x", "--task", "retrieval", "--phrase-weight", "-1" }, 2 },
    { { "--model", "m", "--data", "x", "--task", "finetune", "--finetune-epochs", "0" }, 2 },
    { { "--model", "m", "--data", "x", "--task", "finetune-noun", "--finetune-lr", "2" }, 2 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const char *argv[14] = { train_exe, "eval" };
    guint k = 2;
    for (guint j = 0; cases[i].args[j]; j++)
      argv[k++] = cases[i].args[j];
    int status = 0;
    g_autofree char *err = NULL;
    g_assert_true (run (argv, &status, &err));
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, cases[i].code);
    /* one sentence on one line */
    g_assert_true (g_str_has_prefix (err, "svilm-train eval: "));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc > 1)
    train_exe = argv[1];
  if (argc > 2)
    make_model_exe = argv[2];
  g_test_add_func ("/eval/ranks/perfect", test_ranks_perfect);
  g_test_add_func ("/eval/ranks/reversed", test_ranks_reversed);
  g_test_add_func ("/eval/ranks/shuffled", test_ranks_shuffled);
  g_test_add_func ("/eval/ranks/ties", test_ranks_ties);
  g_test_add_func ("/eval/ranks/multi", test_ranks_multi);
  g_test_add_func ("/eval/dual-softmax", test_dual_softmax);
  g_test_add_func ("/eval/standardize", test_standardize);
  g_test_add_func ("/eval/pointing/geometry", test_pointing);
  g_test_add_func ("/eval/pointing/union", test_union_fraction);
  g_test_add_func ("/eval/cuts/tolerance", test_cuts_tolerance);
  g_test_add_func ("/eval/cuts/one-to-one", test_cuts_one_to_one);
  g_test_add_func ("/eval/cuts/prf", test_prf);
  g_test_add_func ("/eval/cuts/pick", test_pick_cuts);
  g_test_add_func ("/eval/cuts/pick-gradual", test_pick_cuts_gradual);
  g_test_add_func ("/eval/cuts/transition", test_transition);
  g_test_add_func ("/eval/command/errors", test_errors);
  g_test_add_func ("/eval/command/end-to-end", test_end_to_end);
  tmpdir = g_dir_make_tmp ("test-eval-XXXXXX", NULL);
  int rc = g_test_run ();
  if (tmpdir) {
    const char *rm[] = { "rm", "-rf", tmpdir, NULL };
    g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                  NULL);
    g_free (tmpdir);
  }
  return rc;
}
