/* svilm: the public inference API (GObject, introspectable).
 *
 * SvilmModel loads a trained S-ViLM checkpoint once per process and device
 * (two users loading the same file share it) and is safe to use from several
 * threads: each call borrows one of a pool of activation buffers.
 *
 *   SvilmModel *m = svilm_model_load ("model.safetensors", "auto", &error);
 *   SvilmClip *clip = svilm_model_encode_clip (m, frames, n, width, height, stride, &error);
 *   const float *emb = svilm_clip_get_embedding (clip, &dim);       // 256-d, unit length
 *   SvilmGrounding *g = svilm_clip_ground (clip, m, "red ball", &error);
 */
#pragma once

#include <glib-object.h>

#include "svilm-scene-cuts.h"

G_BEGIN_DECLS

#define SVILM_TYPE_MODEL (svilm_model_get_type ())
G_DECLARE_FINAL_TYPE (SvilmModel, svilm_model, SVILM, MODEL, GObject)

#define SVILM_TYPE_CLIP (svilm_clip_get_type ())
G_DECLARE_FINAL_TYPE (SvilmClip, svilm_clip, SVILM, CLIP, GObject)

/**
 * SvilmGrounding:
 * @score: G(v, c) of the paper: cosine between the phrase and its attention-pooled
 *   group tokens, in [-1, 1]
 * @group: the group token most similar to the phrase
 * @x: box left edge, as a fraction of the frame width
 * @y: box top edge, as a fraction of the frame height
 * @width: box width (fraction)
 * @height: box height (fraction)
 * @grid_width: heatmap columns (token grid)
 * @grid_height: heatmap rows
 * @heatmap: (array length=n_heatmap): grid_height x grid_width values in [0, 1], row-major
 * @n_heatmap: number of heatmap values
 * @grid_time: token slices of the clip (the clip's frames over the tubelet's length)
 * @slice_heatmaps: (array length=n_slice_heatmaps): grid_time heatmaps of grid_height x
 *   grid_width values, slice after slice, in [0, 1] (1 at the largest value of all the
 *   slices): where the phrase is in the frames of each slice; slice s covers the clip's
 *   frames s * T / grid_time to (s + 1) * T / grid_time - 1 (svilm_grounding_slice_of_frame)
 * @n_slice_heatmaps: grid_time x grid_height x grid_width
 *
 * Where a phrase is in a clip (App. C of the paper: the video tokens assigned to
 * the group that matches the phrase best, @group, averaged over time in @heatmap and
 * slice by slice in @slice_heatmaps, which follow a moving object).
 */
typedef struct {
  gfloat score;
  guint group;
  gfloat x, y, width, height;
  guint grid_width, grid_height;
  gfloat *heatmap;
  guint n_heatmap;
  guint grid_time;
  gfloat *slice_heatmaps;
  guint n_slice_heatmaps;
} SvilmGrounding;

#define SVILM_TYPE_GROUNDING (svilm_grounding_get_type ())
GType svilm_grounding_get_type (void);
SvilmGrounding *svilm_grounding_copy (const SvilmGrounding *g);
void svilm_grounding_free (SvilmGrounding *g);
/* the slice of @g's slice_heatmaps that holds frame @k of a clip of @clip_frames frames */
guint svilm_grounding_slice_of_frame (const SvilmGrounding *g, guint k, guint clip_frames);
/**
 * svilm_grounding_slice:
 * @slice: a token slice of @g (the last one if beyond)
 * Returns: (transfer full): @g as token slice @slice alone shows it: its heatmap is that
 *   slice's (1 at its own maximum), the box is around its cells that reach 0.5, grid_time
 *   is 1; score and group are @g's.  For drawing where an object is at the end of a clip.
 */
SvilmGrounding *svilm_grounding_slice (const SvilmGrounding *g, guint slice);
/**
 * svilm_heatmap_point:
 * @heatmap: (array): @grid_height x @grid_width values, row-major
 * @x: (out): the point's x, as a fraction of the width
 * @y: (out): the point's y, as a fraction of the height
 * Returns: FALSE for an empty heatmap (the point is then not set)
 *
 * Where a heatmap on the token grid points: the centre of mass of the cells around its
 * maximum (the first on a tie), the maximum's 3x3 neighbourhood weighted by the values.
 * A token cell is 8 pixels of a 64-pixel frame with the bundled model; an object that
 * straddles cells pulls the point off the maximum cell's centre towards its own (on the
 * validation split this points inside the object's box in 60.7 % of the frames, the
 * maximum cell's centre in 57.3 %).
 */
gboolean svilm_heatmap_point (const gfloat *heatmap, guint grid_width, guint grid_height, gfloat *x,
                              gfloat *y);
/**
 * svilm_grounding_point:
 * @slice: a token slice of @g, or -1 for the heatmap averaged over the clip
 * @x: (out): x, as a fraction of the frame width
 * @y: (out): y, as a fraction of the frame height
 * Returns: FALSE when @g has no heatmap (the point is then not set)
 *
 * Where the phrase is (svilm_heatmap_point of that heatmap): the pointing game's point.
 */
gboolean svilm_grounding_point (const SvilmGrounding *g, gint slice, gfloat *x, gfloat *y);

/**
 * svilm_model_load: (constructor)
 * @path: a checkpoint written by svilm-train
 * @device: (nullable): "auto" (default), "cpu", "vulkan" or "vulkan:N"
 * Returns: (transfer full): the model, shared with other users of the same file and device
 */
SvilmModel *svilm_model_load (const char *path, const char *device, GError **error);
const char *svilm_model_get_path (SvilmModel *self);
/* short stable identifier of the weights (hash of the file) */
const char *svilm_model_get_id (SvilmModel *self);
const char *svilm_model_get_device_name (SvilmModel *self);
guint svilm_model_get_clip_frames (SvilmModel *self);
void svilm_model_get_clip_size (SvilmModel *self, guint *width, guint *height);
/* token grid: temporal slices, rows, columns */
void svilm_model_get_grid (SvilmModel *self, guint *t, guint *h, guint *w);
guint svilm_model_get_embed_dim (SvilmModel *self);
gboolean svilm_model_has_tokenizer (SvilmModel *self);
/* whether boundaries are scored by a learned scene head (svilm-train scenehead) rather than
 * by 1 - cos of the temporal features (see SvilmBoundary) */
gboolean svilm_model_has_scene_head (SvilmModel *self);
/* the default cut threshold on boundary scores: SVILM_SCENE_THRESHOLD_HEAD for a model with a
 * scene head, SVILM_SCENE_THRESHOLD_COSINE for one without (docs/evaluation.md) */
#define SVILM_SCENE_THRESHOLD_COSINE 0.2
#define SVILM_SCENE_THRESHOLD_HEAD 0.25
gdouble svilm_model_get_scene_threshold (SvilmModel *self);
/* the default threshold of the gradual-transition detector (SvilmCutRule):
 * SVILM_GRADUAL_THRESHOLD_HEAD for a model with a scene head, 0 (off) for one without */
gdouble svilm_model_get_gradual_threshold (SvilmModel *self);

/**
 * svilm_model_encode_clip: (skip)
 * @frames: (array length=n_frames): packed RGB frames (3 bytes a pixel)
 * @n_frames: number of frames (sampled uniformly to the model's clip length)
 * @width: frame width, @height: frame height, @stride: bytes between rows
 * Returns: (transfer full): the clip's features, or %NULL with @error set
 */
SvilmClip *svilm_model_encode_clip (SvilmModel *self, const guint8 *const *frames, guint n_frames,
                                    guint width, guint height, guint stride, GError **error);

/**
 * svilm_model_encode_clip_packed:
 * @pixels: n_frames frames of packed RGB, one after the other (stride x height bytes each)
 * Returns: (transfer full): the clip's features, or %NULL with @error set
 *
 * svilm_model_encode_clip() for bindings: the frames in one buffer.
 */
SvilmClip *svilm_model_encode_clip_packed (SvilmModel *self, GBytes *pixels, guint n_frames,
                                           guint width, guint height, guint stride, GError **error);

/**
 * svilm_model_prepare_frame:
 * @data: (array): the frame's pixels, 8-bit packed RGB in any byte order
 * @pixel_stride: bytes a pixel (3 or 4)
 * @r_offset: byte of red within a pixel, @g_offset: green, @b_offset: blue
 * @out: (array): room for one prepared frame: svilm_model_get_frame_floats() floats
 *
 * Resizes and normalises one frame into the model's input (for streaming users
 * that prepare each frame as it arrives instead of keeping whole frames).
 */
void svilm_model_prepare_frame (SvilmModel *self, const guint8 *data, guint width, guint height,
                                guint stride, guint pixel_stride, guint r_offset, guint g_offset,
                                guint b_offset, gfloat *out);
/* floats in one prepared frame (height x width x 3 of the model's input) */
gsize svilm_model_get_frame_floats (SvilmModel *self);

/**
 * svilm_model_encode_prepared:
 * @frames: (array length=n_frames): prepared frames (svilm_model_prepare_frame)
 * @n_frames: how many (sampled uniformly to the model's clip length)
 * Returns: (transfer full): the clip's features, or %NULL with @error set
 */
SvilmClip *svilm_model_encode_prepared (SvilmModel *self, const gfloat *const *frames,
                                        guint n_frames, GError **error);

/**
 * svilm_model_encode_prepared_batch: (skip)
 * @frames: n_clips x n_frames prepared frames, the first clip's first
 * @n_frames: frames a clip (sampled uniformly to the model's clip length)
 * @n_clips: how many clips
 * @clips: (out caller-allocates): room for n_clips clips
 *
 * Encodes several clips at once, the same as svilm_model_encode_prepared() on each.
 * On the CPU the clips run side by side, one a thread, which keeps the cores busier
 * than one clip at a time split over them (for a streaming element: the windows of
 * a few strides).  Returns: %TRUE with every clip set, or %FALSE with @error set and
 * none (the first failure's error).
 */
gboolean svilm_model_encode_prepared_batch (SvilmModel *self, const gfloat *const *frames,
                                            guint n_frames, guint n_clips, SvilmClip **clips,
                                            GError **error);

/**
 * svilm_model_encode_text:
 * @n_out: (out): the embedding size
 * Returns: (array length=n_out) (transfer full): the unit-length text embedding
 */
gfloat *svilm_model_encode_text (SvilmModel *self, const char *text, gsize *n_out, GError **error);

/* cosine of the clip's embedding and a text embedding */
gfloat svilm_clip_similarity (SvilmClip *clip, const gfloat *text_embedding, gsize n);

/**
 * svilm_clip_get_embedding:
 * @n_out: (out): size
 * Returns: (array length=n_out) (transfer none): the unit-length clip embedding
 */
const gfloat *svilm_clip_get_embedding (SvilmClip *clip, gsize *n_out);

/**
 * svilm_clip_get_group_embeddings:
 * @n_groups: (out): group tokens of the clip
 * @dim: (out): embedding size
 * Returns: (transfer none): [n_groups x dim] the group tokens projected to the joint
 *   space (not normalised): what spatial grounding aligns with noun phrases, and whose
 *   mean is the clip embedding before normalisation
 */
const gfloat *svilm_clip_get_group_embeddings (SvilmClip *clip, guint *n_groups, guint *dim);

/**
 * svilm_clip_get_temporal_features:
 * @n_slices: (out): temporal slices of the clip
 * @dim: (out): feature size
 * Returns: (transfer none): [n_slices x dim] unit-length features of each temporal slice
 *   (final video tokens averaged over space): what temporal grouping trains to
 *   separate across scene changes
 */
const gfloat *svilm_clip_get_temporal_features (SvilmClip *clip, guint *n_slices, guint *dim);

/**
 * SvilmBoundary:
 * @frame: the first frame of the new scene, were there one, counted in the frames the clip
 *   was encoded from
 * @change: how much the slices on either side differ: 1 - cos of their temporal features
 *   (in [0, 2]) or, when the model has a scene head, the head's probability that a scene
 *   change lies between them (in [0, 1])
 * @cross: the same score's smallest value between any slice before the boundary and any
 *   after it, <= change.  A real scene change keeps every pair across it apart; around a
 *   flash (or anything that comes and goes within the clip) the slices before and after it
 *   look alike and cross is small.
 * @wide: the same score's smallest value between a slice before the boundary and one after
 *   it, the adjacent pair left out (@change when there is no other pair).  Across a
 *   dissolve too slow for two adjacent slices to differ, slices further apart still do;
 *   a flash, which the wider pairs step over, stays low.  The gradual-transition detector
 *   of SvilmCutRule cuts on it.
 *
 * A boundary between two consecutive temporal slices of a clip.
 */
typedef struct {
  guint frame;
  gfloat change, cross, wide;
} SvilmBoundary;

/**
 * svilm_clip_get_boundaries:
 * @n_frames: the frames the clip was encoded from (svilm_model_encode_prepared's n_frames)
 * Returns: (transfer full) (element-type SvilmBoundary): the boundaries between
 *   consecutive slices, in order, that fall between two different source frames (when a
 *   clip is encoded from fewer frames than it holds, slices can show the same frame).  The
 *   new scene starts after the last source frame of the slice before the boundary and no
 *   later than the first of the slice after it: @frame is the middle of that span.
 */
GArray *svilm_clip_get_boundaries (SvilmClip *clip, guint n_frames);

/**
 * svilm_clip_source_frame:
 * @t: a frame of the model's clip, 0 .. @clip_frames - 1
 * @n_frames: frames the clip is encoded from
 * @clip_frames: frames of the model's clip (svilm_model_get_clip_frames)
 * Returns: which of the @n_frames frame @t is: the centre of the t-th of @clip_frames equal
 *   segments (how svilm_model_encode_prepared samples a clip)
 */
guint svilm_clip_source_frame (guint t, guint n_frames, guint clip_frames);

/**
 * svilm_clip_ground:
 * Returns: (transfer full): where @phrase is in the clip
 */
SvilmGrounding *svilm_clip_ground (SvilmClip *clip, SvilmModel *model, const char *phrase,
                                   GError **error);

/**
 * svilm_model_encode_phrase:
 * @n_out: (out): the embedding size
 * Returns: (array length=n_out) (transfer full): the unit-length embedding of @phrase as
 *   grounding encodes it (in the model's prompt template), for svilm_clip_ground_embedding():
 *   encode a phrase once and ground it in many clips
 */
gfloat *svilm_model_encode_phrase (SvilmModel *self, const char *phrase, gsize *n_out,
                                   GError **error);

/**
 * svilm_clip_ground_embedding:
 * @phrase_embedding: (array length=n_embedding): from svilm_model_encode_phrase()
 * @n_embedding: its size (the model's embedding size)
 * Returns: (transfer full): where the phrase is in the clip; the same as svilm_clip_ground()
 *   without encoding the phrase again
 */
SvilmGrounding *svilm_clip_ground_embedding (SvilmClip *clip, const gfloat *phrase_embedding,
                                             gsize n_embedding, GError **error);

G_END_DECLS
