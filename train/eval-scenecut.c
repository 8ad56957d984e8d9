/* svilm-train eval --task scenecut: scene cuts against the truth, svilm and ffmpeg's scdet.
 *
 * svilm scores boundaries as the svilmscenecut element does: windows of the model's
 * clip length (--window) every token slice (--stride; window / the model's temporal
 * grid), the partial window at the end of the stream included; each boundary between
 * consecutive token slices scores 1 - cos of their temporal features and falls on the
 * source frame the element reports; a boundary seen by several windows gets the mean,
 * and with the flash filter (the element's default; --no-flash-filter) at most the
 * smallest 1 - cos of slices on both sides of it in any window.
 * scdet (ffmpeg -vf scdet) scores every frame against the one before (0-100); one run
 * per video gives all the scores, thresholds are applied here.  Both detectors then
 * pick cuts with the element's rule (a score >= threshold, at least --min-scene-length
 * frames after the previous cut) and are matched to the truth's transitions with the
 * tolerance (eval-metrics.h).
 */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THRESHOLDS 400

enum { DET_SVILM, DET_SCDET, N_DETECTORS };
static const char *const det_names[N_DETECTORS] = { "svilm", "scdet" };

static const char *const kinds[] = { "cut", "dissolve", "fade", "other" };
#define N_KINDS 4
/* events inside a shot that are not transitions (real-footage set): a cut there is false */
static const char *const trap_kinds[] = { "flash", "pan", "other" };
#define N_TRAP_KINDS 3

typedef struct {
  GArray *frames; /* gint64, ascending */
  GArray *scores; /* double */
  GArray *wide;   /* double, the gradual detector's scores; NULL: the detector has none */
} Scores;

typedef struct {
  char *name; /* the manifest's name of the video */
  Scores det[N_DETECTORS];
  SvEvalTransition *truth;
  guint *kind;
  guint n_truth;
  gint64 *trap_lo, *trap_hi; /* frames where a cut falls on a trap, tolerance included */
  guint *trap_kind;
  guint n_traps;
} Video;

static void
video_clear (gpointer data)
{
  Video *v = data;
  for (int d = 0; d < N_DETECTORS; d++) {
    g_clear_pointer (&v->det[d].frames, g_array_unref);
    g_clear_pointer (&v->det[d].scores, g_array_unref);
    g_clear_pointer (&v->det[d].wide, g_array_unref);
  }
  g_free (v->name);
  g_free (v->truth);
  g_free (v->kind);
  g_free (v->trap_lo);
  g_free (v->trap_hi);
  g_free (v->trap_kind);
}

static guint
trap_index (const char *k)
{
  for (guint i = 0; i + 1 < N_TRAP_KINDS; i++)
    if (g_strcmp0 (k, trap_kinds[i]) == 0)
      return i;
  return N_TRAP_KINDS - 1;
}

static guint
kind_index (const char *k)
{
  for (guint i = 0; i + 1 < N_KINDS; i++)
    if (g_strcmp0 (k, kinds[i]) == 0)
      return i;
  return N_KINDS - 1;
}

/* ---- svilm ---- */

/* svilmscenecut's default stride: one token slice, so that every boundary is seen at
 * every position of the window and the position bias of the scores averages out */
static guint
default_step (SvEval *ev, guint W)
{
  guint gt = 1;
  svilm_model_get_grid (ev->model, &gt, NULL, NULL);
  return MAX (1u, W / MAX (gt, 1u));
}

static gboolean
score_svilm (SvEval *ev, const SvEvalFrames *fr, Scores *out, GError **error)
{
  guint T = svilm_model_get_clip_frames (ev->model);
  guint W = ev->window ? ev->window : T, step = ev->stride ? ev->stride : default_step (ev, W);
  guint n = fr->n;
  double *sum = g_new0 (double, n), *cross = g_new (double, n), *wide = g_new (double, n);
  guint *count = g_new0 (guint, n);
  for (guint f = 0; f < n; f++)
    cross[f] = wide[f] = 2.0;
  /* the windows svilmscenecut encodes: full ones every step, then at the end of the
   * stream what is left after the last full one (its overlap and the new frames); the
   * full ones in batches side by side, as the element does */
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint first = 0; first + W <= n; first += step)
    g_array_append_val (starts, first);
  guint n_full = starts->len, partial_first = 0, partial_len = 0;
  if (n_full == 0) {
    partial_len = n; /* shorter than a window */
  } else {
    guint last_full = g_array_index (starts, guint, n_full - 1);
    if (last_full + W < n) {
      partial_first = last_full + step;
      partial_len = n - partial_first;
    }
  }
  const gfloat **frames = g_new (const gfloat *, (gsize) MAX (n_full, 1) * W);
  for (guint w = 0; w < n_full; w++)
    for (guint i = 0; i < W; i++)
      frames[(gsize) w * W + i] = fr->ptr[g_array_index (starts, guint, w) + i];
  SvilmClip **clips = g_new0 (SvilmClip *, n_full + 1);
  gboolean ok = svilm_model_encode_prepared_batch (ev->model, frames, W, n_full, clips, error);
  if (ok && partial_len > 0) {
    g_array_append_val (starts, partial_first);
    ok = (clips[n_full] = svilm_model_encode_prepared (ev->model, fr->ptr + partial_first,
                                                       partial_len, error)) != NULL;
  }
  for (guint w = 0; ok && w < starts->len; w++) {
    guint first = g_array_index (starts, guint, w), len = w < n_full ? W : partial_len;
    g_autoptr (GArray) boundaries = svilm_clip_get_boundaries (clips[w], len);
    for (guint i = 0; i < boundaries->len; i++) {
      const SvilmBoundary *b = &g_array_index (boundaries, SvilmBoundary, i);
      guint f = first + b->frame;
      sum[f] += b->change;
      cross[f] = MIN (cross[f], b->cross);
      wide[f] = MIN (wide[f], b->wide);
      count[f]++;
    }
  }
  for (guint w = 0; w <= n_full; w++)
    g_clear_object (&clips[w]);
  g_free (clips);
  g_free (frames);
  g_array_unref (starts);
  for (guint f = 0; ok && f < n; f++)
    if (count[f]) {
      gint64 ff = f;
      double s = sum[f] / count[f];
      if (ev->flash_filter)
        s = MIN (s, cross[f]);
      g_array_append_val (out->frames, ff);
      g_array_append_val (out->scores, s);
      g_array_append_val (out->wide, wide[f]);
    }
  g_free (sum);
  g_free (cross);
  g_free (wide);
  g_free (count);
  return ok;
}

/* ---- ffmpeg scdet ---- */

static gboolean
score_scdet (const char *ffmpeg, const char *input, Scores *out, GError **error)
{
  const char *argv[] = { ffmpeg,
                         "-hide_banner",
                         "-nostdin",
                         "-nostats",
                         "-loglevel",
                         "error",
                         "-i",
                         input,
                         "-an",
                         "-sn",
                         "-dn",
                         "-vf",
                         "scdet,metadata=mode=print:file=-",
                         "-f",
                         "null",
                         "-",
                         NULL };
  g_autofree char *std_out = NULL, *std_err = NULL;
  int status = 0;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &std_out,
                     &std_err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_strstrip (std_err);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed on %s: %s", ffmpeg, input,
                 *std_err ? std_err : "no message");
    return FALSE;
  }
  /* "frame:N    pts:..." then "lavfi.scd.mafd=..." and "lavfi.scd.score=S" */
  gint64 frame = -1;
  g_auto (GStrv) lines = g_strsplit (std_out, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (g_str_has_prefix (*l, "frame:")) {
      frame = g_ascii_strtoll (*l + 6, NULL, 10);
    } else if (g_str_has_prefix (*l, "lavfi.scd.score=") && frame > 0) {
      double s = g_ascii_strtod (*l + 16, NULL);
      g_array_append_val (out->frames, frame);
      g_array_append_val (out->scores, s);
      frame = -1;
    }
  }
  return TRUE;
}

/* ---- matching ---- */

typedef struct {
  double threshold, p, r, f1;
  SvEvalCounts c;
  guint found[N_KINDS];
  guint trapped[N_TRAP_KINDS]; /* traps with a false cut on them */
} Point;

/* whether a cut lies within a true transition's window */
static gboolean
near_truth (const Video *v, gint64 cut)
{
  for (guint t = 0; t < v->n_truth; t++)
    if (cut >= v->truth[t].frame - v->truth[t].tolerance &&
        cut <= v->truth[t].frame + v->truth[t].tolerance)
      return TRUE;
  return FALSE;
}

/* The cuts a detector makes in one video at a threshold, matched to the truth: fills
 * cuts (room for the video's boundaries), matched (per transition) and found (per cut);
 * returns how many cuts. */
static guint
pick_and_match (const SvEval *ev, const Video *v, const Scores *s, double threshold,
                SvEvalCounts *counts, gint64 *cuts, gboolean *matched, gboolean *found)
{
  SvilmCutRule rule = { threshold, ev->min_scene_length, TRUE, ev->gradual_threshold,
                        ev->gradual_gap };
  guint nc = sv_eval_pick_cuts ((const gint64 *) s->frames->data, (const double *) s->scores->data,
                                s->wide ? (const double *) s->wide->data : NULL, s->frames->len,
                                &rule, cuts);
  sv_eval_match_cuts_full (cuts, nc, v->truth, v->n_truth, counts, matched, found);
  return nc;
}

static void
evaluate (SvEval *ev, GArray *videos, int det, double threshold, Point *pt)
{
  memset (pt, 0, sizeof *pt);
  pt->threshold = threshold;
  for (guint i = 0; i < videos->len; i++) {
    Video *v = &g_array_index (videos, Video, i);
    Scores *s = &v->det[det];
    if (!s->frames)
      continue;
    gint64 *cuts = g_new (gint64, MAX (s->frames->len, 1));
    gboolean *matched = g_new0 (gboolean, MAX (v->n_truth, 1));
    guint nc = pick_and_match (ev, v, s, threshold, &pt->c, cuts, matched, NULL);
    for (guint t = 0; t < v->n_truth; t++)
      pt->found[v->kind[t]] += matched[t];
    for (guint t = 0; t < v->n_traps; t++)
      for (guint c = 0; c < nc; c++)
        if (cuts[c] >= v->trap_lo[t] && cuts[c] <= v->trap_hi[t] && !near_truth (v, cuts[c])) {
          pt->trapped[v->trap_kind[t]]++;
          break;
        }
    g_free (cuts);
    g_free (matched);
  }
  sv_eval_prf (&pt->c, &pt->p, &pt->r, &pt->f1);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* the operating points of a threshold sweep: every distinct score (at most
 * MAX_THRESHOLDS of them, evenly spaced in rank); the best is the first of the highest F1,
 * from the lowest threshold up */
static GArray *
sweep (SvEval *ev, GArray *videos, int det, Point *best)
{
  GArray *all = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < videos->len; i++) {
    Scores *s = &g_array_index (videos, Video, i).det[det];
    if (s->scores)
      g_array_append_vals (all, s->scores->data, s->scores->len);
  }
  qsort (all->data, all->len, sizeof (double), cmp_double);
  guint u = 0;
  for (guint i = 0; i < all->len; i++)
    if (u == 0 || g_array_index (all, double, i) != g_array_index (all, double, u - 1))
      g_array_index (all, double, u++) = g_array_index (all, double, i);
  GArray *curve = g_array_new (FALSE, FALSE, sizeof (Point));
  guint m = MIN (u, MAX_THRESHOLDS);
  memset (best, 0, sizeof *best);
  best->f1 = -1.0;
  for (guint k = 0; k < m; k++) {
    guint idx = m == u ? k : (guint) ((guint64) k * (u - 1) / MAX (m - 1, 1));
    /* halfway down to the next lower score: the same cuts as the score itself, and an
     * operating point that does not sit on one video's score */
    double th = g_array_index (all, double, idx);
    if (idx > 0)
      th = 0.5 * (th + g_array_index (all, double, idx - 1));
    Point pt;
    evaluate (ev, videos, det, th, &pt);
    g_array_append_val (curve, pt);
    if (pt.f1 > best->f1)
      *best = pt;
  }
  g_array_unref (all);
  return curve;
}

/* ---- report ---- */

static void
add_point (JsonBuilder *b, const char *key, const Point *pt, const guint *n_kind,
           const guint *n_trap)
{
  if (key)
    json_builder_set_member_name (b, key);
  json_builder_begin_object (b);
  sv_eval_json_double (b, "threshold", pt->threshold);
  sv_eval_json_double (b, "precision", pt->p);
  sv_eval_json_double (b, "recall", pt->r);
  sv_eval_json_double (b, "f1", pt->f1);
  if (n_kind) {
    sv_eval_json_int (b, "tp", (gint64) pt->c.tp);
    sv_eval_json_int (b, "fp", (gint64) pt->c.fp);
    sv_eval_json_int (b, "fn", (gint64) pt->c.fn);
    json_builder_set_member_name (b, "recall_by_kind");
    json_builder_begin_object (b);
    for (int k = 0; k < N_KINDS; k++)
      if (n_kind[k])
        sv_eval_json_double (b, kinds[k], (double) pt->found[k] / n_kind[k]);
    json_builder_end_object (b);
    json_builder_set_member_name (b, "false_cuts_on_traps");
    json_builder_begin_object (b);
    for (int k = 0; k < N_TRAP_KINDS; k++)
      if (n_trap[k])
        sv_eval_json_int (b, trap_kinds[k], pt->trapped[k]);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
}

static void
print_point (const char *name, const Point *pt, const guint *n_kind, const guint *n_trap)
{
  printf ("  %-16s %9.3f %9.3f %7.3f %7.3f", name, pt->threshold, pt->p, pt->r, pt->f1);
  for (int k = 0; k < N_KINDS - 1; k++)
    if (n_kind[k])
      printf (" %8.3f", (double) pt->found[k] / n_kind[k]);
    else
      printf (" %8s", "-");
  for (int k = 0; k < N_TRAP_KINDS; k++)
    if (n_trap[k])
      printf ("  %s %u/%u", trap_kinds[k], pt->trapped[k], n_trap[k]);
  printf ("\n");
}

/* Where a detector goes wrong at one threshold, for looking at the videos: every missed
 * transition (with the highest score inside its window, to tell a near miss from a blind
 * spot) and every false cut (with its score and whether it fell on a trap). */
static void
add_errors (JsonBuilder *b, SvEval *ev, GArray *videos, int det, double threshold)
{
  json_builder_set_member_name (b, "errors");
  json_builder_begin_array (b);
  for (guint i = 0; i < videos->len; i++) {
    Video *v = &g_array_index (videos, Video, i);
    Scores *s = &v->det[det];
    if (!s->frames)
      continue;
    const gint64 *fr = (const gint64 *) s->frames->data;
    const double *sc = (const double *) s->scores->data;
    gint64 *cuts = g_new (gint64, MAX (s->frames->len, 1));
    gboolean *matched = g_new0 (gboolean, MAX (v->n_truth, 1));
    gboolean *found = g_new0 (gboolean, MAX (s->frames->len, 1));
    SvEvalCounts c = { 0 };
    guint nc = pick_and_match (ev, v, s, threshold, &c, cuts, matched, found);
    for (guint t = 0; t < v->n_truth; t++) {
      if (matched[t])
        continue;
      double top = 0.0;
      for (guint k = 0; k < s->frames->len; k++)
        if (fr[k] >= v->truth[t].frame - v->truth[t].tolerance &&
            fr[k] <= v->truth[t].frame + v->truth[t].tolerance)
          top = MAX (top, sc[k]);
      json_builder_begin_object (b);
      sv_eval_json_string (b, "video", v->name);
      sv_eval_json_string (b, "error", "missed");
      sv_eval_json_int (b, "frame", v->truth[t].frame);
      sv_eval_json_string (b, "kind", kinds[v->kind[t]]);
      sv_eval_json_double (b, "score", top);
      json_builder_end_object (b);
    }
    for (guint k = 0; k < nc; k++) {
      if (found[k])
        continue;
      double score = 0.0;
      for (guint j = 0; j < s->frames->len; j++)
        if (fr[j] == cuts[k])
          score = sc[j];
      const char *trap = NULL;
      for (guint t = 0; t < v->n_traps && !trap; t++)
        if (cuts[k] >= v->trap_lo[t] && cuts[k] <= v->trap_hi[t])
          trap = trap_kinds[v->trap_kind[t]];
      json_builder_begin_object (b);
      sv_eval_json_string (b, "video", v->name);
      sv_eval_json_string (b, "error", "false cut");
      sv_eval_json_int (b, "frame", cuts[k]);
      sv_eval_json_double (b, "score", score);
      if (trap)
        sv_eval_json_string (b, "trap", trap);
      if (near_truth (v, cuts[k])) { /* a second cut inside a found transition's window */
        json_builder_set_member_name (b, "duplicate");
        json_builder_add_boolean_value (b, TRUE);
      }
      json_builder_end_object (b);
    }
    g_free (cuts);
    g_free (matched);
    g_free (found);
  }
  json_builder_end_array (b);
}

static void
report_detector (SvEval *ev, GArray *videos, int det, double def, const guint *n_kind,
                 const guint *n_trap, JsonBuilder *b)
{
  Point at, best;
  evaluate (ev, videos, det, def, &at);
  g_autoptr (GArray) curve = sweep (ev, videos, det, &best);
  g_autofree char *n1 = g_strdup_printf ("%s default", det_names[det]);
  g_autofree char *n2 = g_strdup_printf ("%s best", det_names[det]);
  print_point (n1, &at, n_kind, n_trap);
  if (best.f1 >= 0)
    print_point (n2, &best, n_kind, n_trap);
  json_builder_set_member_name (b, det_names[det]);
  json_builder_begin_object (b);
  add_point (b, "default", &at, n_kind, n_trap);
  add_errors (b, ev, videos, det, def);
  if (best.f1 >= 0)
    add_point (b, "best", &best, n_kind, n_trap);
  json_builder_set_member_name (b, "curve");
  json_builder_begin_array (b);
  for (guint i = 0; i < curve->len; i++)
    add_point (b, NULL, &g_array_index (curve, Point, i), NULL, NULL);
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static JsonNode *
report (SvEval *ev, GArray *videos, guint frames, const char *scdet_error, guint unreadable)
{
  guint n_kind[N_KINDS] = { 0 }, n_truth = 0, n_trap[N_TRAP_KINDS] = { 0 }, n_traps = 0;
  for (guint i = 0; i < videos->len; i++) {
    Video *v = &g_array_index (videos, Video, i);
    for (guint t = 0; t < v->n_truth; t++)
      n_kind[v->kind[t]]++;
    n_truth += v->n_truth;
    for (guint t = 0; t < v->n_traps; t++)
      n_trap[v->trap_kind[t]]++;
    n_traps += v->n_traps;
  }
  guint T = svilm_model_get_clip_frames (ev->model);
  guint W = ev->window ? ev->window : T, step = ev->stride ? ev->stride : default_step (ev, W);
  printf ("scene cuts: %u videos, %u frames, %u transitions (cut %u, dissolve %u, fade %u); "
          "split %s\n",
          videos->len, frames, n_truth, n_kind[0], n_kind[1], n_kind[2], ev->split);
  gboolean head = svilm_model_has_scene_head (ev->model);
  printf ("  tolerance %u frames, min scene length %u; svilm windows of %u frames every %u, "
          "flash filter %s, scores %s, ",
          ev->tolerance, ev->min_scene_length, W, step, ev->flash_filter ? "on" : "off",
          head ? "of the scene head" : "1 - cos");
  if (ev->gradual_threshold > 0.0)
    printf ("gradual detector at %.3g (gap %u)\n", ev->gradual_threshold, ev->gradual_gap);
  else
    printf ("gradual detector off\n");
  if (n_traps)
    printf ("  traps inside shots (a cut there is false): flash %u, pan %u, other %u; the "
            "columns after the recalls: traps with a false cut\n",
            n_trap[0], n_trap[1], n_trap[2]);
  printf ("  %-16s %9s %9s %7s %7s %8s %8s %8s\n", "detector", "threshold", "precision", "recall",
          "F1", "cut", "dissolve", "fade");

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  sv_eval_json_int (b, "videos", videos->len);
  sv_eval_json_int (b, "videos_unreadable", unreadable);
  sv_eval_json_int (b, "frames", frames);
  sv_eval_json_int (b, "transitions", n_truth);
  json_builder_set_member_name (b, "traps_by_kind");
  json_builder_begin_object (b);
  for (int k = 0; k < N_TRAP_KINDS; k++)
    if (n_trap[k])
      sv_eval_json_int (b, trap_kinds[k], n_trap[k]);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "transitions_by_kind");
  json_builder_begin_object (b);
  for (int k = 0; k < N_KINDS; k++)
    if (n_kind[k] || k < N_KINDS - 1)
      sv_eval_json_int (b, kinds[k], n_kind[k]);
  json_builder_end_object (b);
  sv_eval_json_int (b, "tolerance", ev->tolerance);
  sv_eval_json_int (b, "min_scene_length", ev->min_scene_length);
  sv_eval_json_int (b, "window", W);
  sv_eval_json_int (b, "stride", step);
  json_builder_set_member_name (b, "flash_filter");
  json_builder_add_boolean_value (b, ev->flash_filter);
  sv_eval_json_double (b, "gradual_threshold", MAX (ev->gradual_threshold, 0.0));
  sv_eval_json_int (b, "gradual_gap", ev->gradual_gap);
  sv_eval_json_string (b, "scores", head ? "scene-head" : "cosine");
  double svilm_threshold =
      ev->threshold >= 0.0 ? ev->threshold : svilm_model_get_scene_threshold (ev->model);
  report_detector (ev, videos, DET_SVILM, svilm_threshold, n_kind, n_trap, b);
  if (scdet_error) {
    printf ("  scdet: %s\n", scdet_error);
    json_builder_set_member_name (b, "scdet");
    json_builder_add_null_value (b);
    sv_eval_json_string (b, "scdet_error", scdet_error);
  } else {
    report_detector (ev, videos, DET_SCDET, ev->scdet_threshold, n_kind, n_trap, b);
  }
  printf ("  (the last three columns: recall by kind of transition)\n");
  fflush (stdout);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
sv_eval_scenecut (SvEval *ev, GError **error)
{
  g_autoptr (GArray) videos = g_array_new (FALSE, TRUE, sizeof (Video));
  g_array_set_clear_func (videos, video_clear);
  g_autofree char *scdet_error = NULL;
  if (g_strcmp0 (ev->ffmpeg, "none") == 0) {
    scdet_error = g_strdup ("skipped (--ffmpeg none)");
  } else {
    g_autofree char *prog = g_find_program_in_path (ev->ffmpeg);
    if (!prog)
      scdet_error =
          g_strdup_printf ("%s not found (install ffmpeg for the scdet baseline)", ev->ffmpeg);
  }
  guint n = ev->items->len, frames = 0, unreadable = 0, no_truth = 0;
  for (guint i = 0; i < n; i++) {
    sv_eval_progress (ev, "scene cuts", i, n);
    SvEvalItem *it = g_ptr_array_index (ev->items, i);
    g_autoptr (GError) e = NULL;
    g_autoptr (SvEvalTruth) t = it->truth ? sv_eval_truth_load (it->truth, &e) : NULL;
    if (!t) {
      if (e && !ev->quiet)
        fprintf (stderr, "svilm-train eval: skipping %s: %s\n", it->video, e->message);
      no_truth++;
      continue;
    }
    SvEvalFrames fr;
    if (!sv_eval_decode_item (ev, it, &fr)) {
      unreadable++;
      continue;
    }
    Video v = { 0 };
    v.name = g_strdup (it->video);
    for (int d = 0; d < N_DETECTORS; d++) {
      v.det[d].frames = g_array_new (FALSE, FALSE, sizeof (gint64));
      v.det[d].scores = g_array_new (FALSE, FALSE, sizeof (double));
    }
    v.det[DET_SVILM].wide = g_array_new (FALSE, FALSE, sizeof (double));
    v.n_truth = t->boundaries->len;
    v.truth = g_new (SvEvalTransition, MAX (v.n_truth, 1));
    v.kind = g_new (guint, MAX (v.n_truth, 1));
    for (guint k = 0; k < v.n_truth; k++) {
      SvEvalBoundary *bd = &g_array_index (t->boundaries, SvEvalBoundary, k);
      v.truth[k] = sv_eval_transition (bd->frame, bd->length, ev->tolerance);
      v.kind[k] = kind_index (bd->kind);
    }
    v.n_traps = t->traps->len;
    v.trap_lo = g_new (gint64, MAX (v.n_traps, 1));
    v.trap_hi = g_new (gint64, MAX (v.n_traps, 1));
    v.trap_kind = g_new (guint, MAX (v.n_traps, 1));
    for (guint k = 0; k < v.n_traps; k++) {
      SvEvalBoundary *tr = &g_array_index (t->traps, SvEvalBoundary, k);
      /* a cut reported anywhere from the trap's first frame to the frame after its last */
      v.trap_lo[k] = (gint64) tr->frame - ev->tolerance;
      v.trap_hi[k] = (gint64) tr->frame + MAX (tr->length, 1u) + ev->tolerance;
      v.trap_kind[k] = trap_index (tr->kind);
    }
    gboolean ok = score_svilm (ev, &fr, &v.det[DET_SVILM], error);
    frames += fr.n;
    sv_eval_frames_clear (&fr);
    if (ok && !scdet_error &&
        !score_scdet (ev->ffmpeg, it->path ? it->path : it->uri, &v.det[DET_SCDET], &e)) {
      /* compare on the same videos: no scdet figures rather than figures on fewer videos */
      scdet_error = g_strdup (e->message);
    }
    g_array_append_val (videos, v);
    if (!ok) {
      g_prefix_error (error, "scoring %s: ", it->video);
      return NULL;
    }
  }
  sv_eval_progress (ev, "scene cuts", n, n);
  if (videos->len == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "no video with ground truth could be read (%u without truth, %u unreadable)",
                 no_truth, unreadable);
    return NULL;
  }
  return report (ev, videos, frames, scdet_error, unreadable);
}
