/* svilm-train eval: the metrics (see eval-metrics.h). */
#include "eval-metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- retrieval ---- */

void
sv_eval_ranks (const float *sim, guint n_queries, guint n_items, const guint *query_class,
               const guint *item_class, guint *ranks)
{
  for (guint q = 0; q < n_queries; q++) {
    const float *row = sim + (gsize) q * n_items;
    gboolean found = FALSE;
    float best = 0.0f;
    for (guint i = 0; i < n_items; i++)
      if (item_class[i] == query_class[q] && (!found || row[i] > best)) {
        best = row[i];
        found = TRUE;
      }
    if (!found) {
      ranks[q] = 0;
      continue;
    }
    guint above = 0;
    for (guint i = 0; i < n_items; i++)
      if (item_class[i] != query_class[q] && !(row[i] < best)) /* ties (and NaN) count above */
        above++;
    ranks[q] = 1 + above;
  }
}

static int
cmp_uint (const void *a, const void *b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

double
sv_eval_recall_at (const guint *ranks, guint n, guint k)
{
  guint hit = 0, valid = 0;
  for (guint i = 0; i < n; i++)
    if (ranks[i] > 0) {
      valid++;
      hit += ranks[i] <= k;
    }
  return valid ? 100.0 * hit / valid : 0.0;
}

double
sv_eval_median_rank (const guint *ranks, guint n)
{
  guint *r = g_new (guint, MAX (n, 1)), m = 0;
  for (guint i = 0; i < n; i++)
    if (ranks[i] > 0)
      r[m++] = ranks[i];
  double med = 0.0;
  if (m > 0) {
    qsort (r, m, sizeof *r, cmp_uint);
    med = m % 2 ? r[m / 2] : 0.5 * ((double) r[m / 2 - 1] + r[m / 2]);
  }
  g_free (r);
  return med;
}

double
sv_eval_mean_rank (const guint *ranks, guint n)
{
  double sum = 0.0;
  guint m = 0;
  for (guint i = 0; i < n; i++)
    if (ranks[i] > 0) {
      sum += ranks[i];
      m++;
    }
  return m ? sum / m : 0.0;
}

void
sv_eval_rank_metrics (const guint *ranks, guint n, SvRankMetrics *out)
{
  out->n = 0;
  for (guint i = 0; i < n; i++)
    out->n += ranks[i] > 0;
  out->r1 = sv_eval_recall_at (ranks, n, 1);
  out->r5 = sv_eval_recall_at (ranks, n, 5);
  out->r10 = sv_eval_recall_at (ranks, n, 10);
  out->medr = sv_eval_median_rank (ranks, n);
  out->mnr = sv_eval_mean_rank (ranks, n);
}

void
sv_eval_dual_softmax (const float *sim, guint n_queries, guint n_items, double temperature,
                      float *out)
{
  double *col = g_new (double, MAX (n_queries, 1));
  for (guint i = 0; i < n_items; i++) {
    /* softmax over the queries of item i's column, stably */
    double mx = -INFINITY, sum = 0.0;
    for (guint q = 0; q < n_queries; q++)
      mx = MAX (mx, temperature * sim[(gsize) q * n_items + i]);
    for (guint q = 0; q < n_queries; q++) {
      col[q] = exp (temperature * sim[(gsize) q * n_items + i] - mx);
      sum += col[q];
    }
    for (guint q = 0; q < n_queries; q++) {
      gsize k = (gsize) q * n_items + i;
      out[k] = (float) (sim[k] * (col[q] / sum));
    }
  }
  g_free (col);
}

void
sv_eval_standardize_rows (float *m, guint rows, guint cols)
{
  for (guint r = 0; r < rows; r++) {
    float *row = m + (gsize) r * cols;
    double sum = 0.0, sq = 0.0;
    for (guint c = 0; c < cols; c++)
      sum += row[c];
    double mean = cols ? sum / cols : 0.0;
    for (guint c = 0; c < cols; c++)
      sq += (row[c] - mean) * (row[c] - mean);
    double sd = cols ? sqrt (sq / cols) : 0.0;
    /* a constant row (to rounding) carries no ranking: zeros, not noise blown up */
    double inv = sd > 1e-12 * (fabs (mean) + 1.0) ? 1.0 / sd : 0.0;
    for (guint c = 0; c < cols; c++)
      row[c] = (float) ((row[c] - mean) * inv);
  }
}

void
sv_eval_transpose (const float *in, guint rows, guint cols, float *out)
{
  for (guint r = 0; r < rows; r++)
    for (guint c = 0; c < cols; c++)
      out[(gsize) c * rows + r] = in[(gsize) r * cols + c];
}

/* ---- pointing game ---- */

gboolean
sv_eval_point_in_boxes (double x, double y, const SvEvalBox *boxes, guint n)
{
  for (guint i = 0; i < n; i++) {
    const SvEvalBox *b = &boxes[i];
    if (x >= b->x && x < b->x + b->w && y >= b->y && y < b->y + b->h)
      return TRUE;
  }
  return FALSE;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

double
sv_eval_union_fraction (const SvEvalBox *boxes, guint n, double width, double height)
{
  if (n == 0 || width <= 0 || height <= 0)
    return 0.0;
  /* coordinate compression: the boxes' edges cut the frame into cells, each either
   * covered or not (n is a handful) */
  double *xs = g_new (double, 2 * n + 2), *ys = g_new (double, 2 * n + 2);
  guint nx = 0, ny = 0;
  xs[nx++] = 0.0;
  xs[nx++] = width;
  ys[ny++] = 0.0;
  ys[ny++] = height;
  for (guint i = 0; i < n; i++) {
    xs[nx++] = CLAMP (boxes[i].x, 0.0, width);
    xs[nx++] = CLAMP (boxes[i].x + boxes[i].w, 0.0, width);
    ys[ny++] = CLAMP (boxes[i].y, 0.0, height);
    ys[ny++] = CLAMP (boxes[i].y + boxes[i].h, 0.0, height);
  }
  qsort (xs, nx, sizeof *xs, cmp_double);
  qsort (ys, ny, sizeof *ys, cmp_double);
  double area = 0.0;
  for (guint a = 0; a + 1 < nx; a++)
    for (guint b = 0; b + 1 < ny; b++) {
      double cw = xs[a + 1] - xs[a], ch = ys[b + 1] - ys[b];
      if (cw <= 0 || ch <= 0)
        continue;
      if (sv_eval_point_in_boxes (0.5 * (xs[a] + xs[a + 1]), 0.5 * (ys[b] + ys[b + 1]), boxes, n))
        area += cw * ch;
    }
  g_free (xs);
  g_free (ys);
  return area / (width * height);
}

/* ---- scene cuts ---- */

typedef struct {
  gint64 frame;
  guint index; /* in the caller's order */
} Pred;

static int
cmp_pred (const void *a, const void *b)
{
  const Pred *x = a, *y = b;
  if (x->frame != y->frame)
    return x->frame < y->frame ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

typedef struct {
  gint64 lo, hi;
  guint index;
} Window;

static int
cmp_window_end (const void *a, const void *b)
{
  const Window *x = a, *y = b;
  if (x->hi != y->hi)
    return x->hi < y->hi ? -1 : 1;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

void
sv_eval_match_cuts_full (const gint64 *pred, guint n_pred, const SvEvalTransition *truth,
                         guint n_truth, SvEvalCounts *acc, gboolean *matched,
                         gboolean *pred_matched)
{
  Pred *p = g_new (Pred, MAX (n_pred, 1));
  gboolean *used = g_new0 (gboolean, MAX (n_pred, 1));
  Window *w = g_new (Window, MAX (n_truth, 1));
  for (guint j = 0; j < n_pred; j++)
    p[j] = (Pred){ pred[j], j };
  qsort (p, n_pred, sizeof *p, cmp_pred);
  for (guint t = 0; t < n_truth; t++) {
    gint64 tol = MAX (truth[t].tolerance, 0);
    w[t] = (Window){ truth[t].frame - tol, truth[t].frame + tol, t };
    if (matched)
      matched[t] = FALSE;
  }
  /* windows by their end, each taking the earliest free prediction inside it: a maximum
   * matching of points to intervals */
  qsort (w, n_truth, sizeof *w, cmp_window_end);
  guint tp = 0;
  for (guint t = 0; t < n_truth; t++)
    for (guint j = 0; j < n_pred && p[j].frame <= w[t].hi; j++)
      if (!used[j] && p[j].frame >= w[t].lo) {
        used[j] = TRUE;
        tp++;
        if (matched)
          matched[w[t].index] = TRUE;
        break;
      }
  for (guint j = 0; pred_matched && j < n_pred; j++)
    pred_matched[p[j].index] = used[j];
  acc->tp += tp;
  acc->fp += n_pred - tp;
  acc->fn += n_truth - tp;
  g_free (p);
  g_free (used);
  g_free (w);
}

void
sv_eval_match_cuts (const gint64 *pred, guint n_pred, const SvEvalTransition *truth, guint n_truth,
                    SvEvalCounts *acc, gboolean *matched)
{
  sv_eval_match_cuts_full (pred, n_pred, truth, n_truth, acc, matched, NULL);
}

void
sv_eval_prf (const SvEvalCounts *c, double *precision, double *recall, double *f1)
{
  if (c->tp + c->fp + c->fn == 0) {
    *precision = *recall = *f1 = 1.0;
    return;
  }
  *precision = c->tp + c->fp ? (double) c->tp / (c->tp + c->fp) : 0.0;
  *recall = c->tp + c->fn ? (double) c->tp / (c->tp + c->fn) : 0.0;
  double s = *precision + *recall;
  *f1 = s > 0 ? 2.0 * *precision * *recall / s : 0.0;
}

guint
sv_eval_pick_cuts (const gint64 *frames, const double *scores, const double *wide, guint n,
                   const SvilmCutRule *rule, gint64 *out)
{
  SvilmCutRule r = *rule;
  if (!wide)
    r.gradual_threshold = 0.0;
  SvilmCutState state;
  svilm_cut_state_init (&state, 0);
  guint k = 0;
  for (guint i = 0; i < n; i++)
    if (svilm_cut_decide (&r, &state, frames[i], scores[i], wide ? wide[i] : 0.0, NULL))
      out[k++] = frames[i];
  return k;
}

SvEvalTransition
sv_eval_transition (gint64 frame, guint length, guint tolerance)
{
  guint half = (length + 1) / 2;
  return (SvEvalTransition){ frame + half, MAX (tolerance, half) };
}
