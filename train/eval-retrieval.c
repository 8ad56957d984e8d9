/* svilm-train eval --task retrieval: text->video and video->text retrieval.
 *
 * One clip per video (its whole range, sampled uniformly to the model's clip length), one
 * embedding per caption; similarity = cosine (the embeddings are unit length).  With
 * --phrase-weight above 0, the "+phrases" rows re-rank with the caption's noun phrases
 * (link-grammar, as in training) against each video's group tokens (eval-metrics.h).
 *
 * By objects: text->video R@1 of the captions whose video holds 1, 2, 3, 4 or more objects
 * (its ground truth's noun phrases): one object is where a model must see the noun and the
 * motion, with no colour combination to tell its video apart.
 *
 * Left and right: for every caption that says a side, whether the caption scores above
 * its mirrored copy (left and right swapped) against its video, and whether its video
 * scores above the video's mirror image against the caption (chance 50 %): does either
 * encoder tell the two directions apart (--mirror-pairs, docs/training.md)?
 */
#include "dataset.h"
#include "eval.h"
#include "sv-nouns.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* noun phrases of a caption used for re-ranking: all of them, in practice (the synthetic
 * captions have 1-6) */
#define PHRASES_PER_CAPTION 8

static void
add_metrics (JsonBuilder *b, const char *key, const SvRankMetrics *m)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_object (b);
  sv_eval_json_int (b, "queries", m->n);
  sv_eval_json_double (b, "r1", m->r1);
  sv_eval_json_double (b, "r5", m->r5);
  sv_eval_json_double (b, "r10", m->r10);
  sv_eval_json_double (b, "medr", m->medr);
  sv_eval_json_double (b, "mnr", m->mnr);
  json_builder_end_object (b);
}

static void
print_row (const char *name, const SvRankMetrics *m)
{
  printf ("  %-18s %6.1f %6.1f %6.1f %7.1f %8.2f\n", name, m->r1, m->r5, m->r10, m->medr, m->mnr);
}

/* metrics of both directions of sim [n_text x n_video] */
static void
directions (const float *sim, guint nt, guint nv, const guint *text_video, SvRankMetrics *t2v,
            SvRankMetrics *v2t)
{
  guint *video_class = g_new (guint, nv), *ranks = g_new (guint, MAX (nt, nv));
  float *simT = g_new (float, (gsize) nt *nv);
  for (guint v = 0; v < nv; v++)
    video_class[v] = v;
  sv_eval_ranks (sim, nt, nv, text_video, video_class, ranks);
  sv_eval_rank_metrics (ranks, nt, t2v);
  sv_eval_transpose (sim, nt, nv, simT);
  sv_eval_ranks (simT, nv, nt, video_class, text_video, ranks);
  sv_eval_rank_metrics (ranks, nv, v2t);
  g_free (simT);
  g_free (ranks);
  g_free (video_class);
}

typedef struct {
  guint dim, nv, skipped;
  float *video;          /* [nv x dim] */
  GArray *text;          /* float [nt x dim] */
  GArray *text_video;    /* guint: the video of each caption */
  GPtrArray *video_item; /* SvEvalItem* of each encoded video (borrowed) */
  GPtrArray *caption_of; /* char* of each caption (borrowed) */
  /* phrase re-ranking (chunker NULL: off) */
  SvNounChunker *chunker;
  guint n_groups;
  float *groups;        /* [nv x n_groups x dim], unit rows */
  GArray *phrases;      /* float [n_phrases x dim] */
  GArray *phrase_start; /* guint [nt + 1]: caption t's phrases are [start[t], start[t + 1]) */
  /* left and right: captions that say a side; of them, those above their mirrored copy,
   * and those whose video is above its mirror image */
  guint sides, sides_text, sides_video;
  GArray *objects; /* guint: the objects of each encoded video's truth; 0: no truth */
} Encoded;

/* captions by their video's objects: 1, 2, 3, 4 and more */
#define OBJECT_BINS 4

typedef struct {
  guint captions[OBJECT_BINS], first[OBJECT_BINS]; /* first: ranked their video first */
} ByObjects;

/* text->video R@1 of sim [nt x nv] by the objects of each caption's video */
static void
by_objects (const Encoded *enc, const float *sim, ByObjects *out)
{
  guint nt = enc->text_video->len, nv = enc->nv;
  const guint *tv = (const guint *) enc->text_video->data;
  const guint *objects = (const guint *) enc->objects->data;
  guint *video_class = g_new (guint, nv), *ranks = g_new (guint, MAX (nt, 1));
  for (guint v = 0; v < nv; v++)
    video_class[v] = v;
  sv_eval_ranks (sim, nt, nv, tv, video_class, ranks);
  memset (out, 0, sizeof *out);
  for (guint t = 0; t < nt; t++) {
    guint k = objects[tv[t]];
    if (k == 0)
      continue;
    guint bin = MIN (k, OBJECT_BINS) - 1;
    out->captions[bin]++;
    out->first[bin] += ranks[t] == 1;
  }
  g_free (video_class);
  g_free (ranks);
}

static const char *const object_bin_names[OBJECT_BINS] = { "1", "2", "3", "4+" };

static void
print_by_objects (const char *name, const ByObjects *b)
{
  printf ("  %-18s", name);
  for (guint k = 0; k < OBJECT_BINS; k++)
    if (b->captions[k])
      printf ("  %s: %5.1f (%u)", object_bin_names[k], 100.0 * b->first[k] / b->captions[k],
              b->captions[k]);
  printf ("\n");
}

static void
add_by_objects (JsonBuilder *jb, const char *key, const ByObjects *b)
{
  json_builder_set_member_name (jb, key);
  json_builder_begin_object (jb);
  for (guint k = 0; k < OBJECT_BINS; k++) {
    if (!b->captions[k])
      continue;
    json_builder_set_member_name (jb, object_bin_names[k]);
    json_builder_begin_object (jb);
    sv_eval_json_int (jb, "captions", b->captions[k]);
    sv_eval_json_double (jb, "r1", 100.0 * b->first[k] / b->captions[k]);
    json_builder_end_object (jb);
  }
  json_builder_end_object (jb);
}

/* the objects of an item's ground truth, 0 when it has none (or it does not read: retrieval
 * needs no truth, the breakdown leaves the video out) */
static guint
count_objects (const SvEvalItem *it)
{
  if (!it->truth)
    return 0;
  g_autoptr (SvEvalTruth) truth = sv_eval_truth_load (it->truth, NULL);
  return truth ? truth->objects->len : 0;
}

static void
normalize (float *x, guint n)
{
  double ss = 0.0;
  for (guint k = 0; k < n; k++)
    ss += (double) x[k] * x[k];
  float inv = ss > 0.0 ? (float) (1.0 / sqrt (ss)) : 0.0f;
  for (guint k = 0; k < n; k++)
    x[k] *= inv;
}

/* the clip's group tokens into enc->groups row nv, unit length */
static void
keep_groups (SvEval *ev, Encoded *enc, SvilmClip *clip)
{
  guint M = 0, D = 0;
  const float *g = svilm_clip_get_group_embeddings (clip, &M, &D);
  if (!enc->groups) { /* the model's group count, from its first clip */
    enc->n_groups = M;
    enc->groups = g_new0 (float, (gsize) M * ev->items->len * enc->dim);
  }
  float *dst = enc->groups + (gsize) enc->nv * enc->n_groups * enc->dim;
  for (guint m = 0; m < enc->n_groups; m++) {
    float *row = dst + (gsize) m * enc->dim;
    memcpy (row, g + (gsize) m * D, MIN (D, enc->dim) * sizeof (float));
    normalize (row, enc->dim);
  }
}

/* the caption's noun phrases, encoded as the model grounds them */
static gboolean
keep_phrases (SvEval *ev, Encoded *enc, const char *caption, GError **error)
{
  g_auto (GStrv) phrases =
      sv_noun_chunker_phrases (enc->chunker, caption, PHRASES_PER_CAPTION, error);
  if (!phrases)
    return FALSE;
  for (guint k = 0; phrases[k]; k++) {
    gsize d = 0;
    g_autofree float *emb = svilm_model_encode_phrase (ev->model, phrases[k], &d, error);
    if (!emb) {
      g_prefix_error (error, "encoding the phrase \"%s\": ", phrases[k]);
      return FALSE;
    }
    g_array_set_size (enc->phrases, enc->phrases->len + enc->dim);
    memcpy (&g_array_index (enc->phrases, float, enc->phrases->len - enc->dim), emb,
            MIN (d, enc->dim) * sizeof (float));
  }
  guint end = enc->phrases->len / enc->dim;
  g_array_append_val (enc->phrase_start, end);
  return TRUE;
}

static double
dot (const float *a, const float *b, guint n)
{
  double s = 0.0;
  for (guint k = 0; k < n; k++)
    s += (double) a[k] * b[k];
  return s;
}

/* the text's embedding, dim floats */
static float *
encode_text (SvEval *ev, guint dim, const char *caption, GError **error)
{
  gsize d = 0;
  g_autoptr (GError) e = NULL;
  float *emb = svilm_model_encode_text (ev->model, caption, &d, &e);
  if (!emb) {
    g_propagate_prefixed_error (error, g_steal_pointer (&e), "encoding \"%s\": ", caption);
    return NULL;
  }
  if (d != dim) { /* the model's one embedding size: never, unless the model is broken */
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "encoding \"%s\": %" G_GSIZE_FORMAT " numbers, not %u", caption, d, dim);
    g_free (emb);
    return NULL;
  }
  return emb;
}

/* the left-right test of the item's captions that say a side (emb: the video's embedding;
 * text: its captions' embeddings; fr: its frames, mirrored here) */
static gboolean
test_sides (SvEval *ev, Encoded *enc, const SvEvalItem *it, const float *emb, const float *text,
            SvEvalFrames *fr, GError **error)
{
  g_autofree float *mirrored = NULL;
  for (guint c = 0; c < it->captions->len; c++) {
    const char *caption = g_ptr_array_index (it->captions, c);
    if (!sv_says_side (caption))
      continue;
    g_autofree char *swapped = sv_swap_left_right (caption);
    if (!mirrored) {
      guint W = 0, H = 0;
      svilm_model_get_clip_size (ev->model, &W, &H);
      sv_clip_mirror (fr->data, (int) fr->n, (int) H, (int) W);
      g_autoptr (SvilmClip) clip = svilm_model_encode_prepared (ev->model, fr->ptr, fr->n, error);
      if (!clip)
        return FALSE;
      gsize d = 0;
      mirrored = g_memdup2 (svilm_clip_get_embedding (clip, &d), sizeof (float) * enc->dim);
    }
    const float *t = text + (gsize) c * enc->dim;
    g_autofree float *ts = encode_text (ev, enc->dim, swapped, error);
    if (!ts)
      return FALSE;
    double right = dot (emb, t, enc->dim);
    enc->sides++;
    enc->sides_text += right > dot (emb, ts, enc->dim);
    enc->sides_video += right > dot (mirrored, t, enc->dim);
  }
  return TRUE;
}

static gboolean
encode_all (SvEval *ev, Encoded *enc, GError **error)
{
  guint n = ev->items->len, dim = enc->dim;
  for (guint i = 0; i < n; i++) {
    sv_eval_progress (ev, "encoding videos", i, n);
    SvEvalItem *it = g_ptr_array_index (ev->items, i);
    SvEvalFrames fr;
    if (it->captions->len == 0 || !sv_eval_decode_item (ev, it, &fr)) {
      enc->skipped++;
      continue;
    }
    g_autoptr (GError) e = NULL;
    g_autoptr (SvilmClip) clip = svilm_model_encode_prepared (ev->model, fr.ptr, fr.n, &e);
    if (!clip) {
      sv_eval_frames_clear (&fr);
      g_propagate_prefixed_error (error, g_steal_pointer (&e), "encoding %s: ", it->video);
      return FALSE;
    }
    gsize d = 0;
    const float *emb = svilm_clip_get_embedding (clip, &d);
    memcpy (enc->video + (gsize) enc->nv * dim, emb, MIN (d, dim) * sizeof (float));
    if (enc->chunker)
      keep_groups (ev, enc, clip);
    guint first_text = enc->text->len / dim;
    for (guint c = 0; c < it->captions->len; c++) {
      const char *caption = g_ptr_array_index (it->captions, c);
      g_autofree float *temb = encode_text (ev, dim, caption, error);
      if (!temb || (enc->chunker && !keep_phrases (ev, enc, caption, error))) {
        if (temb)
          g_prefix_error (error, "the noun phrases of \"%s\": ", caption);
        sv_eval_frames_clear (&fr);
        return FALSE;
      }
      g_array_append_vals (enc->text, temb, dim);
      g_array_append_val (enc->text_video, enc->nv);
      g_ptr_array_add (enc->caption_of, (gpointer) caption);
    }
    gboolean sides_ok =
        test_sides (ev, enc, it, enc->video + (gsize) enc->nv * dim,
                    &g_array_index (enc->text, float, (gsize) first_text *dim), &fr, error);
    sv_eval_frames_clear (&fr);
    if (!sides_ok) {
      g_prefix_error (error, "the left-right test of %s: ", it->video);
      return FALSE;
    }
    g_ptr_array_add (enc->video_item, it);
    guint objects = count_objects (it);
    g_array_append_val (enc->objects, objects);
    enc->nv++;
  }
  sv_eval_progress (ev, "encoding videos", n, n);
  if (enc->nv == 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no video with a caption could be read");
    return FALSE;
  }
  return TRUE;
}

/* out [nt x nv]: the mean over caption t's phrases of the best cosine between the phrase and
 * one of video v's group tokens (0 for a caption without a noun phrase) */
static void
phrase_scores (const Encoded *enc, float *out)
{
  guint nt = enc->text_video->len, nv = enc->nv, dim = enc->dim, M = enc->n_groups;
  const guint *start = (const guint *) enc->phrase_start->data;
  const float *P = (const float *) enc->phrases->data;
  for (guint t = 0; t < nt; t++)
    for (guint v = 0; v < nv; v++) {
      double sum = 0.0;
      for (guint p = start[t]; p < start[t + 1]; p++) {
        float best = -INFINITY;
        for (guint m = 0; m < M; m++) {
          const float *g = enc->groups + ((gsize) v * M + m) * dim, *ph = P + (gsize) p * dim;
          float dot = 0.0f;
          for (guint k = 0; k < dim; k++)
            dot += ph[k] * g[k];
          best = MAX (best, dot);
        }
        sum += best;
      }
      guint n = start[t + 1] - start[t];
      out[(gsize) t * nv + v] = n ? (float) (sum / n) : 0.0f;
    }
}

/* --ranks: a JSON line a caption: its video, the rank of that video by sim (1 = first)
 * and the video ranked first, with its first caption */
static gboolean
write_ranks (const char *path, const Encoded *enc, const float *sim, GError **error)
{
  guint nt = enc->text_video->len, nv = enc->nv;
  const guint *tv = (const guint *) enc->text_video->data;
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  for (guint t = 0; t < nt; t++) {
    const float *row = sim + (gsize) t * nv;
    guint rank = 1, top = 0;
    for (guint v = 0; v < nv; v++) {
      rank += row[v] > row[tv[t]];
      if (row[v] > row[top])
        top = v;
    }
    const SvEvalItem *own = g_ptr_array_index (enc->video_item, tv[t]);
    const SvEvalItem *first = g_ptr_array_index (enc->video_item, top);
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "caption");
    json_builder_add_string_value (b, g_ptr_array_index (enc->caption_of, t));
    json_builder_set_member_name (b, "video");
    json_builder_add_string_value (b, own->video);
    json_builder_set_member_name (b, "rank");
    json_builder_add_int_value (b, rank);
    json_builder_set_member_name (b, "first");
    json_builder_add_string_value (b, first->video);
    json_builder_set_member_name (b, "first_caption");
    json_builder_add_string_value (
        b, first->captions->len ? (const char *) g_ptr_array_index (first->captions, 0) : "");
    json_builder_end_object (b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    json_generator_set_root (gen, root);
    g_autofree char *line = json_generator_to_data (gen, NULL);
    g_string_append_printf (out, "%s\n", line);
  }
  if (!g_file_set_contents (path, out->str, (gssize) out->len, error)) {
    g_prefix_error (error, "--ranks: ");
    return FALSE;
  }
  return TRUE;
}

static JsonNode *
measure (SvEval *ev, const Encoded *enc, GError **error)
{
  guint nt = enc->text_video->len, nv = enc->nv, dim = enc->dim;
  float *sim = g_new (float, (gsize) nt *nv), *dsl = g_new (float, (gsize) nt *nv);
  const float *T = (const float *) enc->text->data;
  for (guint t = 0; t < nt; t++)
    for (guint v = 0; v < nv; v++)
      sim[(gsize) t * nv + v] =
          (float) dot (T + (gsize) t * dim, enc->video + (gsize) v * dim, dim);
  if (ev->ranks && !write_ranks (ev->ranks, enc, sim, error)) {
    g_free (sim);
    g_free (dsl);
    return NULL;
  }
  const guint *tv = (const guint *) enc->text_video->data;
  SvRankMetrics t2v, v2t, t2v_dsl, v2t_dsl, unused;
  directions (sim, nt, nv, tv, &t2v, &v2t);
  ByObjects objects, objects_ph = { 0 };
  by_objects (enc, sim, &objects);
  /* DSL: the prior is a softmax over the other axis than the one ranked: over the captions
   * for text->video, over the videos for video->text */
  sv_eval_dual_softmax (sim, nt, nv, ev->dsl_temperature, dsl);
  directions (dsl, nt, nv, tv, &t2v_dsl, &unused);
  float *simT = g_new (float, (gsize) nt *nv), *dslT = g_new (float, (gsize) nt *nv);
  sv_eval_transpose (sim, nt, nv, simT);
  sv_eval_dual_softmax (simT, nv, nt, ev->dsl_temperature, dslT);
  sv_eval_transpose (dslT, nv, nt, dsl);
  directions (dsl, nt, nv, tv, &unused, &v2t_dsl);
  g_free (simT);
  g_free (dslT);

  /* +phrases: z(sim) + w z(phrase scores), per caption over the videos (eval-metrics.h) */
  SvRankMetrics t2v_ph = { 0 }, v2t_ph = { 0 };
  if (enc->chunker) {
    phrase_scores (enc, dsl);
    sv_eval_standardize_rows (dsl, nt, nv);
    sv_eval_standardize_rows (sim, nt, nv);
    for (gsize i = 0; i < (gsize) nt * nv; i++)
      sim[i] += (float) ev->phrase_weight * dsl[i];
    directions (sim, nt, nv, tv, &t2v_ph, &v2t_ph);
    by_objects (enc, sim, &objects_ph);
  }
  g_free (sim);
  g_free (dsl);

  printf ("retrieval: %u videos, %u captions (split %s)", nv, nt, ev->split);
  if (enc->skipped)
    printf (", %u videos skipped", enc->skipped);
  printf ("\n  %-18s %6s %6s %6s %7s %8s\n", "", "R@1", "R@5", "R@10", "MedR", "MnR");
  print_row ("text->video", &t2v);
  print_row ("video->text", &v2t);
  print_row ("text->video +DSL", &t2v_dsl);
  print_row ("video->text +DSL", &v2t_dsl);
  if (enc->chunker) {
    print_row ("text->video +phr.", &t2v_ph);
    print_row ("video->text +phr.", &v2t_ph);
    printf ("  (+phr.: re-ranked with the captions' noun phrases, weight %g; %u phrases)\n",
            ev->phrase_weight, enc->phrases->len / dim);
  }
  guint with_truth = 0;
  for (guint k = 0; k < OBJECT_BINS; k++)
    with_truth += objects.captions[k];
  if (with_truth) {
    printf ("  text->video R@1 by the video's objects (captions):\n");
    print_by_objects ("text->video", &objects);
    if (enc->chunker)
      print_by_objects ("text->video +phr.", &objects_ph);
  }
  double side_text = 100.0 * enc->sides_text / MAX (enc->sides, 1u),
         side_video = 100.0 * enc->sides_video / MAX (enc->sides, 1u);
  if (enc->sides)
    printf ("  left/right, %u captions that say a side: the caption above its mirrored copy "
            "%.1f %%, the video above its mirror image %.1f %% (chance 50 %%)\n",
            enc->sides, side_text, side_video);
  fflush (stdout);

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  sv_eval_json_int (b, "videos", nv);
  sv_eval_json_int (b, "captions", nt);
  sv_eval_json_int (b, "skipped", enc->skipped);
  sv_eval_json_double (b, "dsl_temperature", ev->dsl_temperature);
  add_metrics (b, "t2v", &t2v);
  add_metrics (b, "v2t", &v2t);
  add_metrics (b, "t2v_dsl", &t2v_dsl);
  add_metrics (b, "v2t_dsl", &v2t_dsl);
  if (enc->chunker) {
    sv_eval_json_double (b, "phrase_weight", ev->phrase_weight);
    sv_eval_json_int (b, "phrases", enc->phrases->len / dim);
    add_metrics (b, "t2v_phrases", &t2v_ph);
    add_metrics (b, "v2t_phrases", &v2t_ph);
  }
  if (with_truth) {
    add_by_objects (b, "t2v_by_objects", &objects);
    if (enc->chunker)
      add_by_objects (b, "t2v_phrases_by_objects", &objects_ph);
  }
  sv_eval_json_int (b, "side_captions", enc->sides);
  if (enc->sides) {
    sv_eval_json_double (b, "side_text", side_text);
    sv_eval_json_double (b, "side_video", side_video);
  }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
sv_eval_retrieval (SvEval *ev, GError **error)
{
  Encoded enc = { 0 };
  enc.dim = svilm_model_get_embed_dim (ev->model);
  enc.video = g_new0 (float, (gsize) MAX (ev->items->len, 1) * enc.dim);
  enc.text = g_array_new (FALSE, FALSE, sizeof (float));
  enc.text_video = g_array_new (FALSE, FALSE, sizeof (guint));
  enc.video_item = g_ptr_array_new ();
  enc.caption_of = g_ptr_array_new ();
  enc.objects = g_array_new (FALSE, FALSE, sizeof (guint));
  if (ev->phrase_weight > 0) {
    enc.chunker = sv_noun_chunker_new (error);
    if (!enc.chunker) {
      g_prefix_error (error, "the noun phrases for --phrase-weight: ");
      g_free (enc.video);
      g_array_unref (enc.text);
      g_array_unref (enc.text_video);
      g_ptr_array_unref (enc.video_item);
      g_ptr_array_unref (enc.caption_of);
      g_array_unref (enc.objects);
      return NULL;
    }
    enc.phrases = g_array_new (FALSE, FALSE, sizeof (float));
    enc.phrase_start = g_array_new (FALSE, TRUE, sizeof (guint));
    g_array_set_size (enc.phrase_start, 1); /* start[0] = 0 */
  }
  JsonNode *result = encode_all (ev, &enc, error) ? measure (ev, &enc, error) : NULL;
  g_free (enc.video);
  g_array_unref (enc.text);
  g_array_unref (enc.text_video);
  g_ptr_array_unref (enc.video_item);
  g_ptr_array_unref (enc.caption_of);
  g_array_unref (enc.objects);
  if (enc.chunker) {
    sv_noun_chunker_free (enc.chunker);
    g_free (enc.groups);
    g_array_unref (enc.phrases);
    g_array_unref (enc.phrase_start);
  }
  return result;
}
