/* Fuzz target: the evaluation data readers (train/eval.h): sv_eval_manifest_load() (JSON
 * lines or a JSON array of entries) and sv_eval_truth_load() (svilm-train synth's ground
 * truth).
 *
 * Input: one JSON file, given to both readers (the manifest reader with and without a
 * split and a limit).  Items must have an id, a video, a URI and a caption array; truth
 * scenes must end inside the video.
 */
#include "fuzz-common.h"

#include "eval.h"

#include <string.h>

static void
manifest (const char *path, const char *split, guint limit)
{
  GError *error = NULL;
  guint other = 0;
  GPtrArray *items = sv_eval_manifest_load (path, split, limit, &other, &error);
  if (!items) {
    SV_FUZZ_CHECK (error != NULL && error->message != NULL);
    g_debug ("manifest refused: %s", error->message);
    g_error_free (error);
    return;
  }
  g_debug ("manifest: %u videos, %u in other splits", items->len, other);
  SV_FUZZ_CHECK (limit == 0 || items->len <= limit);
  for (guint i = 0; i < items->len; i++) {
    const SvEvalItem *it = g_ptr_array_index (items, i);
    SV_FUZZ_CHECK (it->id && it->video && *it->video && it->uri && it->captions);
    for (guint c = 0; c < it->captions->len; c++)
      SV_FUZZ_CHECK (g_ptr_array_index (it->captions, c) != NULL);
    for (char **p = it->phrases; p && *p; p++)
      (void) strlen (*p);
  }
  g_ptr_array_unref (items);
}

static void
truth (const char *path)
{
  GError *error = NULL;
  SvEvalTruth *t = sv_eval_truth_load (path, &error);
  if (!t) {
    SV_FUZZ_CHECK (error != NULL && error->message != NULL);
    g_debug ("truth refused: %s", error->message);
    g_error_free (error);
    return;
  }
  g_debug ("truth: %ux%u, %u frames, %u scenes, %u boundaries, %u objects", t->width, t->height,
           t->frames, t->scenes->len, t->boundaries->len, t->objects->len);
  SV_FUZZ_CHECK (t->width > 0 && t->height > 0 && t->frames > 0);
  for (guint i = 0; i < t->scenes->len; i++)
    SV_FUZZ_CHECK (g_array_index (t->scenes, SvEvalScene, i).end <= t->frames);
  for (guint i = 0; i < t->boundaries->len; i++)
    SV_FUZZ_CHECK (g_array_index (t->boundaries, SvEvalBoundary, i).kind != NULL);
  for (guint i = 0; i < t->objects->len; i++) {
    const SvEvalObject *o = g_ptr_array_index (t->objects, i);
    SV_FUZZ_CHECK (o->phrase && o->noun && o->size && o->motion && o->boxes);
    SV_FUZZ_CHECK (o->n_inst >= 1 && o->n_inst <= 16);
    /* every box is readable */
    volatile double sum = 0;
    for (gsize b = 0; b < (gsize) t->frames * o->n_inst; b++)
      sum += o->boxes[b].w;
    (void) sum;
  }
  sv_eval_truth_free (t);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  sv_fuzz_input (data, size);
  const char *path = sv_fuzz_file (data, size, ".json");
  manifest (path, NULL, 0);
  manifest (path, "test", 2);
  truth (path);
  return 0;
}
