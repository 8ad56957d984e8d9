/* svilm-train eval --task grounding: the pointing game.
 *
 * For every object of the truth, its noun phrase is grounded (svilm_clip_ground) in a clip
 * of its scene's frames (--clip scene) or of the whole video (--clip video); the point is
 * where the heatmap points (svilm_heatmap_point: the centre of mass of the 3x3 token cells
 * around its maximum).  Two heatmaps give two points per frame:
 * the slice heatmap of the token slice that holds the frame ("slice": it follows a moving
 * object), and the heatmap averaged over the clip's time ("averaged": one point for all
 * the frames).  Each point is checked against the object's box (each instance's own box for
 * "two red balls") in every frame the model sampled for the clip where the object is
 * visible, and the phrase scores the fraction of those frames it hits; "middle" scores the
 * middle one of those frames alone.  The baselines get the same treatment: the frame's
 * centre, and a uniformly random point (its expected hit rate: the boxes' area over the
 * frame's).
 *
 * A miss of the slice point is split by where it lands: inside the box of another object
 * of the same clip ("other object": the phrase picked the wrong group, a binding error)
 * or on none (the heatmap's peak is off every object, a localisation error).  "best
 * group" scores the group whose slice points hit the object most often, as if the phrase
 * always picked it: what the group tokens localise, whatever the text encoder says.
 */
#include "eval.h"

#include <stdio.h>

typedef struct {
  guint n;
  double hit, middle;         /* the frame's slice heatmap */
  double avg_hit, avg_middle; /* the time-averaged heatmap */
  double centre, random;
  double other;      /* the slice point missed, on another object's box */
  double best_group; /* the slice points of the group that hits most */
} Acc;

static void
acc_add (Acc *a, const Acc *one)
{
  a->n += one->n;
  a->hit += one->hit;
  a->middle += one->middle;
  a->avg_hit += one->avg_hit;
  a->avg_middle += one->avg_middle;
  a->centre += one->centre;
  a->random += one->random;
  a->other += one->other;
  a->best_group += one->best_group;
}

static void
group_add (GHashTable *groups, const char *key, const Acc *one)
{
  Acc *a = g_hash_table_lookup (groups, key);
  if (!a) {
    a = g_new0 (Acc, 1);
    g_hash_table_insert (groups, g_strdup (key), a);
  }
  acc_add (a, one);
}

typedef struct {
  Acc all;
  GHashTable *by[5]; /* size, count, motion, noun, position */
  guint videos, no_truth, unreadable, phrases_unseen;
} Ground;

/* position: the object's place among the caption's phrases (the truth lists them in the
 * caption's order); pre-training grounds only the first n_nouns of them */
static const char *const group_names[] = { "size", "count", "motion", "noun", "position" };
#define N_GROUPS G_N_ELEMENTS (group_names)

/* the boxes in frame f of the clip's objects other than ob (at most max) */
static guint
other_boxes (const SvEvalTruth *t, const SvEvalObject *ob, gboolean per_scene, guint f,
             SvEvalBox *boxes, guint max)
{
  guint nb = 0;
  for (guint o = 0; o < t->objects->len; o++) {
    const SvEvalObject *other = g_ptr_array_index (t->objects, o);
    if (other == ob || (per_scene && other->scene != ob->scene))
      continue;
    const SvEvalBox *all = other->boxes + (gsize) f * other->n_inst;
    for (guint i = 0; i < other->n_inst && nb < max; i++)
      if (all[i].w > 0 && all[i].h > 0)
        boxes[nb++] = all[i];
  }
  return nb;
}

/* ob's visible boxes in frame f (at most 16); 0 when it is not visible */
static guint
object_boxes (const SvEvalObject *ob, guint f, SvEvalBox boxes[16])
{
  const SvEvalBox *all = ob->boxes + (gsize) f * ob->n_inst;
  guint nb = 0;
  for (guint i = 0; i < ob->n_inst && nb < 16; i++)
    if (all[i].w > 0 && all[i].h > 0)
      boxes[nb++] = all[i];
  return nb;
}

/* the frames of the clip where ob is visible and g's slice point hits it */
static guint
slice_hits (const SvilmGrounding *g, const SvEvalTruth *t, const SvEvalObject *ob, guint first,
            guint n, guint T)
{
  guint hits = 0;
  for (guint k = 0; k < T; k++) {
    guint f = first + svilm_clip_source_frame (k, n, T);
    SvEvalBox boxes[16];
    guint nb = f < t->frames ? object_boxes (ob, f, boxes) : 0;
    gfloat px, py;
    if (nb > 0 &&
        svilm_grounding_point (g, (gint) svilm_grounding_slice_of_frame (g, k, T), &px, &py))
      hits += sv_eval_point_in_boxes (px * t->width, py * t->height, boxes, nb);
  }
  return hits;
}

/* the most frames any one group's slice points hit */
static gboolean
best_group_hits (SvilmClip *clip, const SvEvalTruth *t, const SvEvalObject *ob, guint first,
                 guint n, guint T, guint *best, GError **error)
{
  guint M = 0, D = 0;
  const gfloat *groups = svilm_clip_get_group_embeddings (clip, &M, &D);
  *best = 0;
  for (guint m = 0; m < M; m++) {
    /* a group's own embedding as the phrase: the grounding picks that group */
    SvilmGrounding *g = svilm_clip_ground_embedding (clip, groups + (gsize) m * D, D, error);
    if (!g)
      return FALSE;
    *best = MAX (*best, slice_hits (g, t, ob, first, n, T));
    svilm_grounding_free (g);
  }
  return TRUE;
}

/* Scores one object grounded in the clip of frames [first, first + n). */
static gboolean
score_object (SvEval *ev, SvilmClip *clip, const SvEvalTruth *t, const SvEvalObject *ob,
              gboolean per_scene, guint first, guint n, Acc *out, GError **error)
{
  SvilmGrounding *g = svilm_clip_ground (clip, ev->model, ob->phrase, error);
  if (!g)
    return FALSE;
  gfloat px = 0.5f, py = 0.5f;
  svilm_grounding_point (g, -1, &px, &py);
  double ax = px * t->width, ay = py * t->height;
  guint G = MAX (g->grid_time, 1u);
  double *sx = g_new (double, G), *sy = g_new (double, G);
  for (guint s = 0; s < G; s++) {
    sx[s] = ax, sy[s] = ay; /* no slices: the averaged heatmap's point */
    if (g->grid_time && svilm_grounding_point (g, (gint) s, &px, &py))
      sx[s] = px * t->width, sy[s] = py * t->height;
  }
  double cx = 0.5 * t->width, cy = 0.5 * t->height;
  guint T = svilm_model_get_clip_frames (ev->model), visible = 0;
  guint *vis = g_new (guint, T), *vis_slice = g_new (guint, T);
  *out = (Acc){ 0 };
  for (guint k = 0; k < T; k++) {
    guint f = first + svilm_clip_source_frame (k, n, T);
    if (f >= t->frames)
      continue;
    SvEvalBox boxes[16];
    guint nb = object_boxes (ob, f, boxes);
    if (nb == 0)
      continue;
    guint sl = svilm_grounding_slice_of_frame (g, k, T);
    vis_slice[visible] = sl;
    vis[visible++] = f;
    gboolean hit = sv_eval_point_in_boxes (sx[sl], sy[sl], boxes, nb);
    out->hit += hit;
    if (!hit) {
      SvEvalBox others[64];
      guint no = other_boxes (t, ob, per_scene, f, others, G_N_ELEMENTS (others));
      out->other += sv_eval_point_in_boxes (sx[sl], sy[sl], others, no);
    }
    out->avg_hit += sv_eval_point_in_boxes (ax, ay, boxes, nb);
    out->centre += sv_eval_point_in_boxes (cx, cy, boxes, nb);
    out->random += sv_eval_union_fraction (boxes, nb, t->width, t->height);
  }
  guint best = 0;
  gboolean ok = visible == 0 || best_group_hits (clip, t, ob, first, n, T, &best, error);
  if (ok && visible > 0) {
    guint f = vis[visible / 2], sl = vis_slice[visible / 2];
    const SvEvalBox *all = ob->boxes + (gsize) f * ob->n_inst;
    out->n = 1;
    out->hit /= visible;
    out->avg_hit /= visible;
    out->centre /= visible;
    out->random /= visible;
    out->other /= visible;
    out->best_group = (double) best / visible;
    out->middle = sv_eval_point_in_boxes (sx[sl], sy[sl], all, ob->n_inst);
    out->avg_middle = sv_eval_point_in_boxes (ax, ay, all, ob->n_inst);
  }
  svilm_grounding_free (g);
  g_free (vis);
  g_free (vis_slice);
  g_free (sx);
  g_free (sy);
  return ok;
}

static gboolean
ground_item (SvEval *ev, guint i, Ground *gr, GError **error)
{
  SvEvalItem *it = g_ptr_array_index (ev->items, i);
  if (!it->truth) {
    gr->no_truth++;
    return TRUE;
  }
  g_autoptr (GError) e = NULL;
  g_autoptr (SvEvalTruth) t = sv_eval_truth_load (it->truth, &e);
  if (!t) {
    if (!ev->quiet)
      fprintf (stderr, "svilm-train eval: skipping %s: %s\n", it->video, e->message);
    gr->no_truth++;
    return TRUE;
  }
  SvEvalFrames fr;
  if (!sv_eval_decode_item (ev, it, &fr)) {
    gr->unreadable++;
    return TRUE;
  }
  gboolean per_scene = g_str_equal (ev->ground_clip, "scene") && t->scenes->len > 0;
  guint n_clips = per_scene ? t->scenes->len : 1;
  gboolean ok = TRUE;
  for (guint s = 0; ok && s < n_clips; s++) {
    guint first = 0, n = fr.n;
    if (per_scene) {
      SvEvalScene *sc = &g_array_index (t->scenes, SvEvalScene, s);
      first = MIN (sc->start, fr.n - 1);
      n = MAX (MIN (sc->end, fr.n), first + 1) - first;
    }
    SvilmClip *clip = NULL;
    for (guint o = 0; ok && o < t->objects->len; o++) {
      SvEvalObject *ob = g_ptr_array_index (t->objects, o);
      if (per_scene && ob->scene != s)
        continue;
      if (!clip && !(clip = svilm_model_encode_prepared (ev->model, fr.ptr + first, n, error))) {
        ok = FALSE;
        break;
      }
      Acc one;
      ok = score_object (ev, clip, t, ob, per_scene, first, n, &one, error);
      if (ok && one.n == 0)
        gr->phrases_unseen++;
      if (!ok || one.n == 0)
        continue;
      acc_add (&gr->all, &one);
      char position[16];
      g_snprintf (position, sizeof position, o < 3 ? "%u" : "4+", o + 1);
      const char *keys[N_GROUPS] = { ob->size, ob->count > 1 ? "several" : "one", ob->motion,
                                     ob->noun, position };
      for (guint k = 0; k < N_GROUPS; k++)
        group_add (gr->by[k], keys[k], &one);
    }
    g_clear_object (&clip);
  }
  sv_eval_frames_clear (&fr);
  gr->videos += ok;
  if (!ok)
    g_prefix_error (error, "grounding in %s: ", it->video);
  return ok;
}

static void
add_acc (JsonBuilder *b, const char *key, const Acc *a)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_object (b);
  sv_eval_json_int (b, "phrases", a->n);
  double d = a->n ? 100.0 / a->n : 0.0;
  sv_eval_json_double (b, "pointing_game", a->hit * d);
  sv_eval_json_double (b, "pointing_game_middle", a->middle * d);
  sv_eval_json_double (b, "pointing_game_averaged", a->avg_hit * d);
  sv_eval_json_double (b, "centre_baseline", a->centre * d);
  sv_eval_json_double (b, "random_baseline", a->random * d);
  sv_eval_json_double (b, "miss_on_other_object", a->other * d);
  sv_eval_json_double (b, "pointing_game_best_group", a->best_group * d);
  json_builder_end_object (b);
}

static int
cmp_str (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* the group's keys, sorted */
static GPtrArray *
sorted_keys (GHashTable *h)
{
  GPtrArray *k = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, h);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (k, key);
  g_ptr_array_sort (k, cmp_str);
  return k;
}

static JsonNode *
report (SvEval *ev, Ground *gr)
{
  double d = 100.0 / gr->all.n;
  printf ("grounding (pointing game): %u phrases in %u videos (split %s, clips: %s)\n", gr->all.n,
          gr->videos, ev->split, ev->ground_clip);
  printf ("  %-24s %8s %8s\n", "", "accuracy", "middle");
  printf ("  %-24s %7.1f%% %7.1f%%\n", "svilm slice heatmap", gr->all.hit * d, gr->all.middle * d);
  printf ("  %-24s %7.1f%% %7.1f%%\n", "svilm averaged heatmap", gr->all.avg_hit * d,
          gr->all.avg_middle * d);
  printf ("  %-24s %7.1f%%\n", "centre point", gr->all.centre * d);
  printf ("  %-24s %7.1f%%\n", "random point (expected)", gr->all.random * d);
  printf ("  slice misses: %.1f%% on another object of the clip, %.1f%% on none\n",
          gr->all.other * d, (gr->all.n - gr->all.hit - gr->all.other) * d);
  printf ("  %-24s %7.1f%%  (the group that hits most, as if the phrase picked it)\n",
          "best group's slice map", gr->all.best_group * d);
  printf ("  %-8s %-12s %6s %8s %8s %8s %8s %8s\n", "by", "", "n", "slice", "averaged", "centre",
          "random", "best grp");
  for (guint k = 0; k < N_GROUPS; k++) {
    if (g_str_equal (group_names[k], "noun")) /* many: in the JSON only */
      continue;
    g_autoptr (GPtrArray) keys = sorted_keys (gr->by[k]);
    for (guint j = 0; j < keys->len; j++) {
      const Acc *a = g_hash_table_lookup (gr->by[k], keys->pdata[j]);
      double da = 100.0 / a->n;
      printf ("  %-8s %-12s %6u %7.1f%% %7.1f%% %7.1f%% %7.1f%% %7.1f%%\n",
              j == 0 ? group_names[k] : "", (const char *) keys->pdata[j], a->n, a->hit * da,
              a->avg_hit * da, a->centre * da, a->random * da, a->best_group * da);
    }
  }
  fflush (stdout);

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  sv_eval_json_string (b, "clip", ev->ground_clip);
  sv_eval_json_int (b, "videos", gr->videos);
  sv_eval_json_int (b, "videos_without_truth", gr->no_truth);
  sv_eval_json_int (b, "videos_unreadable", gr->unreadable);
  sv_eval_json_int (b, "phrases_not_visible", gr->phrases_unseen);
  sv_eval_json_int (b, "phrases", gr->all.n);
  sv_eval_json_double (b, "pointing_game", gr->all.hit * d);
  sv_eval_json_double (b, "pointing_game_middle", gr->all.middle * d);
  sv_eval_json_double (b, "pointing_game_averaged", gr->all.avg_hit * d);
  sv_eval_json_double (b, "pointing_game_averaged_middle", gr->all.avg_middle * d);
  sv_eval_json_double (b, "centre_baseline", gr->all.centre * d);
  sv_eval_json_double (b, "random_baseline", gr->all.random * d);
  sv_eval_json_double (b, "miss_on_other_object", gr->all.other * d);
  sv_eval_json_double (b, "pointing_game_best_group", gr->all.best_group * d);
  for (guint k = 0; k < N_GROUPS; k++) {
    g_autofree char *key = g_strconcat ("by_", group_names[k], NULL);
    json_builder_set_member_name (b, key);
    json_builder_begin_object (b);
    g_autoptr (GPtrArray) keys = sorted_keys (gr->by[k]);
    for (guint j = 0; j < keys->len; j++)
      add_acc (b, keys->pdata[j], g_hash_table_lookup (gr->by[k], keys->pdata[j]));
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
sv_eval_grounding (SvEval *ev, GError **error)
{
  Ground gr = { { 0 } };
  for (guint k = 0; k < N_GROUPS; k++)
    gr.by[k] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint n = ev->items->len;
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < n; i++) {
    sv_eval_progress (ev, "grounding", i, n);
    ok = ground_item (ev, i, &gr, error);
  }
  sv_eval_progress (ev, "grounding", n, n);
  if (ok && gr.all.n == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "no phrase with a box to ground (%u videos without ground truth, %u unreadable)",
                 gr.no_truth, gr.unreadable);
    ok = FALSE;
  }
  JsonNode *result = ok ? report (ev, &gr) : NULL;
  for (guint k = 0; k < N_GROUPS; k++)
    g_hash_table_unref (gr.by[k]);
  return result;
}
