/* svilm-train eval: what the tasks share (docs/evaluation.md).
 *
 * eval.c parses the options, loads the model and the manifest and runs one task;
 * eval-data.c reads manifests and ground truth and decodes videos; eval-retrieval.c,
 * eval-ground.c and eval-scenecut.c are the tasks; eval-metrics.c the metrics.
 */
#pragma once

#include "eval-metrics.h"
#include "svilm-model.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* one video of the manifest, with all its captions */
typedef struct {
  char *id;    /* "id" or the video as written */
  char *video; /* as written in the manifest */
  char *uri;
  char *path;          /* local file, or NULL for a URI that is not a file */
  GPtrArray *captions; /* char* */
  char **phrases;      /* "noun_phrases" (or "nouns") of the first entry, or NULL */
  char *truth;         /* ground truth file, or NULL */
} SvEvalItem;

/* Reads a JSON-lines manifest (svilm-train synth's, or pretrain's JSON lines): entries of
 * another split are left out (split NULL or "all": keep all), entries naming the same
 * video are merged, at most limit videos (0: all) in order of first appearance. */
GPtrArray *sv_eval_manifest_load (const char *path, const char *split, guint limit,
                                  guint *n_other_split, GError **error);

/* The opening every corpus command shares: the model file must exist (model_path NULL:
 * not checked), the manifest must read and its split must hold a video.  Returns the
 * split's items; otherwise prints one sentence as `svilm-train CMD: ...`, sets *rc to
 * the exit code and returns NULL. */
GPtrArray *sv_eval_open_split (const char *cmd, const char *model_path, const char *manifest,
                               const char *split, guint limit, int *rc);

typedef struct {
  char *phrase, *noun, *size, *motion;
  guint scene, count;
  guint n_inst;     /* boxes per frame: the instances, or the one box */
  SvEvalBox *boxes; /* [frames x n_inst], pixels; w == 0: not visible */
} SvEvalObject;

typedef struct {
  guint start, end; /* frames [start, end) */
} SvEvalScene;

typedef struct {
  guint frame, length; /* first frame with the next scene; frames of the transition */
  char *kind;          /* "cut", "dissolve", "fade" */
} SvEvalBoundary;

typedef struct {
  guint width, height, frames;
  double fps;
  GArray *scenes;     /* SvEvalScene */
  GArray *boundaries; /* SvEvalBoundary */
  GArray *traps;      /* SvEvalBoundary: events inside a shot that are not transitions
                       * ("flash", "pan"): a cut there is a false one */
  GPtrArray *objects; /* SvEvalObject* */
} SvEvalTruth;

/* svilm-train synth's truth/<id>.json (docs/synth.md).  An object's "boxes" (and each of
 * its "instances", at most 16) hold one entry a frame ([x, y, w, h] or null); an object
 * whose boxes do not is left out, instances that do not fall back to the boxes. */
SvEvalTruth *sv_eval_truth_load (const char *path, GError **error);
void sv_eval_truth_free (SvEvalTruth *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SvEvalTruth, sv_eval_truth_free)

/* every frame of a video, prepared for the model (svilm_model_prepare_frame) */
typedef struct {
  guint n, width, height; /* decoded frames and their size */
  double fps;             /* the stream's frame rate, 0 when it does not say */
  gsize floats;           /* floats a prepared frame */
  float *data;            /* n x floats */
  const float **ptr;      /* n pointers into data */
} SvEvalFrames;

gboolean sv_eval_decode (SvilmModel *model, const char *uri, SvEvalFrames *out, GError **error);
void sv_eval_frames_clear (SvEvalFrames *f);

typedef struct {
  SvilmModel *model;
  const char *model_path, *manifest, *split;
  GPtrArray *items; /* SvEvalItem* */
  /* probe, vqa: the videos the head is fit on */
  GPtrArray *train_items;
  const char *train_split;
  gboolean quiet;
  /* retrieval */
  double dsl_temperature;
  double phrase_weight; /* the noun phrases' part of the "+phrases" scores */
  const char *ranks;    /* JSON lines of each caption's text->video rank, or NULL */
  /* finetune */
  guint finetune_epochs;
  double finetune_lr; /* the encoder's (the head's: 1e-3) */
  /* grounding */
  const char *ground_clip; /* "scene" or "video" */
  /* scenecut */
  guint window, stride, tolerance, min_scene_length;
  double threshold, scdet_threshold;
  gboolean flash_filter;    /* svilmscenecut's flash-filter */
  double gradual_threshold; /* svilmscenecut's gradual-threshold, resolved; 0: off */
  guint gradual_gap;
  const char *ffmpeg; /* program, or "none" */
  /* probe, vqa, finetune: motions of scenes of one object only (a scene of several objects
   * moving their own ways makes its first object's motion a noisy label of the clip) */
  gboolean one_object;
} SvEval;

/* Each task prints its table to stdout and returns its results (a JSON object), or NULL
 * with error set when nothing could be measured. */
JsonNode *sv_eval_retrieval (SvEval *ev, GError **error);
JsonNode *sv_eval_grounding (SvEval *ev, GError **error);
JsonNode *sv_eval_probe_noun (SvEval *ev, GError **error);
JsonNode *sv_eval_finetune_noun (SvEval *ev, GError **error);
JsonNode *sv_eval_scenecut (SvEval *ev, GError **error);
JsonNode *sv_eval_probe (SvEval *ev, GError **error);
JsonNode *sv_eval_vqa (SvEval *ev, GError **error);
JsonNode *sv_eval_finetune (SvEval *ev, GError **error);

/* the motion classes of synth's ground truth (left, right, up, down, still, rotating,
 * growing, bouncing): the labels of probe, vqa and finetune */
#define SV_EVAL_N_MOTIONS 8
/* 0..SV_EVAL_N_MOTIONS-1, or -1 for NULL or another word */
int sv_eval_motion_class (const char *motion);
const char *sv_eval_motion_name (int c);
/* the most frequent class of train_y (int) and, in *accuracy, the % of test_y it gets
 * right: the majority-answer baseline */
/* what a head predicts of a first-scene object: its motion (SV_EVAL_N_MOTIONS classes; with
 * one_object only in a scene of one object) or, with noun, what it is in a scene of one
 * object (13 nouns, sv_synth_nouns); -1: the object is not an example */
int sv_eval_label (gboolean noun, gboolean one_object, const SvEvalTruth *t,
                   const SvEvalObject *ob);
int sv_eval_n_labels (gboolean noun);
const char *sv_eval_label_name (gboolean noun, int c);
int sv_eval_majority (GArray *train_y, GArray *test_y, int n_classes, double *accuracy);

/* progress on stderr (a line rewritten in place on a terminal) */
void sv_eval_progress (SvEval *ev, const char *what, guint done, guint total);

/* decodes the item's video, with a warning on stderr when it cannot */
gboolean sv_eval_decode_item (SvEval *ev, const SvEvalItem *it, SvEvalFrames *frames);

/* JSON helpers */
void sv_eval_json_double (JsonBuilder *b, const char *key, double v);
void sv_eval_json_int (JsonBuilder *b, const char *key, gint64 v);
void sv_eval_json_string (JsonBuilder *b, const char *key, const char *v);

G_END_DECLS
