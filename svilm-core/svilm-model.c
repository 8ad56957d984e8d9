/* svilm: the public inference API. */
#include "config.h"

#include "svilm-model.h"

#include "sv-backend.h"
#include "svilm-grounding-private.h"
#include "sv-error.h"
#include "sv-frames.h"
#include "sv-model.h"
#include "sv-nouns.h"
#include "sv-ops.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

/* Activations for one clip (batch 1), borrowed per call.  A text has its own, smaller pass
 * (TextPass): a model that only encodes video (svilmscenecut's) never holds text
 * activations (1.5 MB a pass for the tiny model with 48 tokens). */
typedef struct {
  SvVarSet *acts;
  SvVideoActs video;
  float *clip;         /* host [T,H,W,3] */
  float *tokens;       /* host [Nv, D]: the final video tokens, for the temporal features */
  float *head_scratch; /* the scene head's, or NULL without a head */
  float *cues;         /* [pairs, SV_SCENE_PIXEL_CUES] when the head reads pixel cues */
  float *cue_scratch;  /* for sv_scene_head_window_cues */
} InferPass;

/* Activations for one text (batch 1). */
typedef struct {
  SvVarSet *acts;
  SvTextActs text;
} TextPass;

struct _SvilmModel {
  GObject parent;
  char *path, *key, *id;
  SvBackend *backend;
  SvModel *model;
  GMutex lock;           /* guards idle and idle_text */
  GPtrArray *idle;       /* InferPass* */
  GPtrArray *idle_text;  /* TextPass* */
  SvSceneHeadHost scene; /* in = 0 when the model has no scene head */
};

struct _SvilmClip {
  GObject parent;
  guint E, M, Nv, Nt, D, S, gh, gw;
  guint T; /* frames of the model's clip */
  float tau;
  float *embedding; /* [E] */
  float *groups;    /* [M, E] projected group tokens */
  float *assign;    /* [M, Nv] soft assignment of the last grouping block */
  float *temporal;  /* [Nt, D] */
  float *pair_cut;  /* [pairs] the scene head's p(change) of each slice pair, or NULL */
};

G_DEFINE_TYPE (SvilmModel, svilm_model, G_TYPE_OBJECT)
G_DEFINE_TYPE (SvilmClip, svilm_clip, G_TYPE_OBJECT)

/* ---- process-wide sharing of loaded models ---- */

static GMutex shared_lock;
static GHashTable *shared; /* key -> GWeakRef* */

static void
weak_ref_free (gpointer p)
{
  g_weak_ref_clear (p);
  g_free (p);
}

static void
infer_pass_free (gpointer p)
{
  InferPass *ip = p;
  sv_var_set_free (ip->acts);
  g_free (ip->clip);
  g_free (ip->tokens);
  g_free (ip->head_scratch);
  g_free (ip->cues);
  g_free (ip->cue_scratch);
  g_free (ip);
}

static void
text_pass_free (gpointer p)
{
  TextPass *tp = p;
  sv_var_set_free (tp->acts);
  g_free (tp);
}

static void
svilm_model_finalize (GObject *object)
{
  SvilmModel *self = SVILM_MODEL (object);
  g_mutex_lock (&shared_lock);
  if (shared && self->key) {
    GWeakRef *ref = g_hash_table_lookup (shared, self->key);
    GObject *cur = ref ? g_weak_ref_get (ref) : NULL;
    if (cur)
      g_object_unref (cur); /* someone else's model under the same key */
    else if (ref)
      g_hash_table_remove (shared, self->key);
  }
  g_mutex_unlock (&shared_lock);
  g_ptr_array_unref (self->idle);
  g_ptr_array_unref (self->idle_text);
  sv_scene_head_host_clear (&self->scene);
  sv_model_free (self->model);
  sv_backend_unref (self->backend);
  g_mutex_clear (&self->lock);
  g_free (self->path);
  g_free (self->key);
  g_free (self->id);
  G_OBJECT_CLASS (svilm_model_parent_class)->finalize (object);
}

static void
svilm_model_class_init (SvilmModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = svilm_model_finalize;
}

static void
svilm_model_init (SvilmModel *self)
{
  g_mutex_init (&self->lock);
  self->idle = g_ptr_array_new_with_free_func (infer_pass_free);
  self->idle_text = g_ptr_array_new_with_free_func (text_pass_free);
}

static char *
file_id (const char *path, GError **error)
{
  GMappedFile *f = g_mapped_file_new (path, FALSE, error);
  if (!f)
    return NULL;
  char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                           (const guchar *) g_mapped_file_get_contents (f),
                                           g_mapped_file_get_length (f));
  g_mapped_file_unref (f);
  sum[12] = '\0';
  return sum;
}

static SvilmModel *
model_open (const char *path, const char *device, const char *key, GError **error)
{
  SvBackend *be = sv_backend_open (device, error);
  if (!be)
    return NULL;
  SvModel *m = sv_model_load_full (path, be, FALSE, error);
  if (!m) {
    sv_backend_unref (be);
    return NULL;
  }
  SvilmModel *self = g_object_new (SVILM_TYPE_MODEL, NULL);
  self->backend = be;
  self->model = m;
  if (m->cfg.scene_hidden > 0 &&
      !sv_scene_head_host_init (&self->scene, &m->scene, m->cfg.scene_cues, error)) {
    g_prefix_error (error, "%s: ", path);
    g_object_unref (self);
    return NULL;
  }
  self->path = g_strdup (path);
  self->key = g_strdup (key);
  self->id = file_id (path, NULL);
  if (!self->id)
    self->id = g_strdup ("unknown");
  return self;
}

SvilmModel *
svilm_model_load (const char *path, const char *device, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  char *abs = g_canonicalize_filename (path, NULL);
  char *key = g_strdup_printf ("%s|%s", abs, device ? device : "auto");
  SvilmModel *self = NULL;
  g_mutex_lock (&shared_lock);
  if (!shared)
    shared = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, weak_ref_free);
  GWeakRef *ref = g_hash_table_lookup (shared, key);
  if (ref)
    self = g_weak_ref_get (ref);
  if (!self) {
    self = model_open (abs, device, key, error);
    if (self) {
      GWeakRef *r = g_new0 (GWeakRef, 1);
      g_weak_ref_init (r, self);
      g_hash_table_replace (shared, g_strdup (key), r);
    }
  }
  g_mutex_unlock (&shared_lock);
  g_free (abs);
  g_free (key);
  return self;
}

const char *
svilm_model_get_path (SvilmModel *self)
{
  return self->path;
}

const char *
svilm_model_get_id (SvilmModel *self)
{
  return self->id;
}

const char *
svilm_model_get_device_name (SvilmModel *self)
{
  return self->backend->device_name;
}

guint
svilm_model_get_clip_frames (SvilmModel *self)
{
  return (guint) self->model->cfg.frames;
}

void
svilm_model_get_clip_size (SvilmModel *self, guint *width, guint *height)
{
  if (width)
    *width = (guint) self->model->cfg.width;
  if (height)
    *height = (guint) self->model->cfg.height;
}

void
svilm_model_get_grid (SvilmModel *self, guint *t, guint *h, guint *w)
{
  const SvModelConfig *c = &self->model->cfg;
  if (t)
    *t = (guint) sv_model_config_grid_t (c);
  if (h)
    *h = (guint) sv_model_config_grid_h (c);
  if (w)
    *w = (guint) sv_model_config_grid_w (c);
}

guint
svilm_model_get_embed_dim (SvilmModel *self)
{
  return (guint) self->model->cfg.embed_dim;
}

gboolean
svilm_model_has_scene_head (SvilmModel *self)
{
  g_return_val_if_fail (SVILM_IS_MODEL (self), FALSE);
  return self->scene.in > 0;
}

gdouble
svilm_model_get_scene_threshold (SvilmModel *self)
{
  return svilm_model_has_scene_head (self) ? SVILM_SCENE_THRESHOLD_HEAD
                                           : SVILM_SCENE_THRESHOLD_COSINE;
}

gdouble
svilm_model_get_gradual_threshold (SvilmModel *self)
{
  g_return_val_if_fail (SVILM_IS_MODEL (self), 0.0);
  return svilm_model_has_scene_head (self) ? SVILM_GRADUAL_THRESHOLD_HEAD : 0.0;
}

gboolean
svilm_model_has_tokenizer (SvilmModel *self)
{
  return self->model->tokenizer != NULL;
}

/* ---- the pool of activation buffers ---- */

/* an idle pass of the pool, or NULL */
static gpointer
pool_take (SvilmModel *self, GPtrArray *pool)
{
  g_mutex_lock (&self->lock);
  gpointer p = pool->len ? g_ptr_array_steal_index_fast (pool, pool->len - 1) : NULL;
  g_mutex_unlock (&self->lock);
  return p;
}

static void
pool_put (SvilmModel *self, GPtrArray *pool, gpointer p)
{
  g_mutex_lock (&self->lock);
  g_ptr_array_add (pool, p);
  g_mutex_unlock (&self->lock);
}

static InferPass *
pass_borrow (SvilmModel *self, GError **error)
{
  InferPass *ip = pool_take (self, self->idle);
  if (ip)
    return ip;
  const SvModelConfig *c = &self->model->cfg;
  ip = g_new0 (InferPass, 1);
  ip->acts = sv_var_set_new_inference (self->backend);
  ip->clip = g_new (float, (size_t) c->frames * c->height * c->width * 3);
  if (!sv_video_acts_plan (ip->acts, &ip->video, c, 1, FALSE, error) ||
      !sv_var_set_commit (ip->acts, error) || !sv_video_acts_init (&ip->video, c, error)) {
    infer_pass_free (ip);
    return NULL;
  }
  ip->tokens = g_new (float, (size_t) ip->video.Nv * c->v_width);
  if (self->scene.in > 0)
    ip->head_scratch = g_new (float, sv_scene_head_host_scratch (&self->scene));
  if (self->scene.n_cues > 0) {
    int Nt = sv_model_config_grid_t (c);
    ip->cues = g_new (float, (size_t) sv_scene_head_n_pairs (Nt) * self->scene.n_cues);
    ip->cue_scratch = g_new (float, sv_scene_head_window_cues_scratch (Nt));
  }
  return ip;
}

static void
pass_return (SvilmModel *self, InferPass *ip)
{
  pool_put (self, self->idle, ip);
}

static TextPass *
text_pass_borrow (SvilmModel *self, GError **error)
{
  TextPass *tp = pool_take (self, self->idle_text);
  if (tp)
    return tp;
  const SvModelConfig *c = &self->model->cfg;
  tp = g_new0 (TextPass, 1);
  tp->acts = sv_var_set_new_inference (self->backend);
  if (!sv_text_acts_plan (tp->acts, &tp->text, c, 1, error) ||
      !sv_var_set_commit (tp->acts, error) || !sv_text_acts_init (&tp->text, c, error)) {
    text_pass_free (tp);
    return NULL;
  }
  return tp;
}

static void
text_pass_return (SvilmModel *self, TextPass *tp)
{
  pool_put (self, self->idle_text, tp);
}

static gboolean
download (const SvTensor *t, float *dst, GError **error)
{
  return sv_tensor_download (t, dst, t->numel * sizeof (float), error);
}

/* ---- clips ---- */

static void
svilm_clip_finalize (GObject *object)
{
  SvilmClip *clip = SVILM_CLIP (object);
  g_free (clip->embedding);
  g_free (clip->groups);
  g_free (clip->assign);
  g_free (clip->temporal);
  g_free (clip->pair_cut);
  G_OBJECT_CLASS (svilm_clip_parent_class)->finalize (object);
}

static void
svilm_clip_class_init (SvilmClipClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = svilm_clip_finalize;
}

static void
svilm_clip_init (SvilmClip *clip)
{
}

static void
normalize_rows (float *x, int rows, int dim)
{
  for (int r = 0; r < rows; r++) {
    double s = 0.0;
    for (int i = 0; i < dim; i++)
      s += (double) x[r * dim + i] * x[r * dim + i];
    float inv = (float) (1.0 / MAX (sqrt (s), 1e-12));
    for (int i = 0; i < dim; i++)
      x[r * dim + i] *= inv;
  }
}

void
svilm_model_prepare_frame (SvilmModel *self, const guint8 *data, guint width, guint height,
                           guint stride, guint pixel_stride, guint r_offset, guint g_offset,
                           guint b_offset, gfloat *out)
{
  const SvModelConfig *c = &self->model->cfg;
  sv_frame_resize_normalize_packed (data, (int) width, (int) height, (int) stride,
                                    (int) pixel_stride, (int) r_offset, (int) g_offset,
                                    (int) b_offset, c->height, c->width, out);
}

gsize
svilm_model_get_frame_floats (SvilmModel *self)
{
  const SvModelConfig *c = &self->model->cfg;
  return (gsize) c->height * c->width * 3;
}

static SvilmClip *encode_pass (SvilmModel *self, InferPass *ip, GError **error);

SvilmClip *
svilm_model_encode_clip (SvilmModel *self, const guint8 *const *frames, guint n_frames, guint width,
                         guint height, guint stride, GError **error)
{
  g_return_val_if_fail (SVILM_IS_MODEL (self), NULL);
  const SvModelConfig *c = &self->model->cfg;
  if (n_frames == 0 || !frames || width == 0 || height == 0 || width > 16384 || height > 16384 ||
      stride < width * 3) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 _ ("Cannot encode a clip of %u frames of %ux%u pixels."), n_frames, width, height);
    return NULL;
  }
  InferPass *ip = pass_borrow (self, error);
  if (!ip)
    return NULL;
  SvilmClip *clip = NULL;
  if (sv_frames_to_clip (frames, (int) n_frames, (int) width, (int) height, (int) stride, c->frames,
                         c->height, c->width, ip->clip, error))
    clip = encode_pass (self, ip, error);
  pass_return (self, ip);
  return clip;
}

SvilmClip *
svilm_model_encode_clip_packed (SvilmModel *self, GBytes *pixels, guint n_frames, guint width,
                                guint height, guint stride, GError **error)
{
  g_return_val_if_fail (SVILM_IS_MODEL (self) && pixels != NULL, NULL);
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (pixels, &size);
  guint64 frame_bytes = (guint64) stride * height;
  if (n_frames == 0 || frame_bytes == 0 || size / frame_bytes < n_frames) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 _ ("%" G_GSIZE_FORMAT " bytes do not hold %u frames of %ux%u (stride %u)."), size,
                 n_frames, width, height, stride);
    return NULL;
  }
  const guint8 **frames = g_new (const guint8 *, n_frames);
  for (guint i = 0; i < n_frames; i++)
    frames[i] = data + i * frame_bytes;
  SvilmClip *clip = svilm_model_encode_clip (self, frames, n_frames, width, height, stride, error);
  g_free (frames);
  return clip;
}

SvilmClip *
svilm_model_encode_prepared (SvilmModel *self, const gfloat *const *frames, guint n_frames,
                             GError **error)
{
  g_return_val_if_fail (SVILM_IS_MODEL (self), NULL);
  const SvModelConfig *c = &self->model->cfg;
  if (n_frames == 0 || !frames) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, _ ("Cannot encode a clip of no frames."));
    return NULL;
  }
  InferPass *ip = pass_borrow (self, error);
  if (!ip)
    return NULL;
  gsize per = svilm_model_get_frame_floats (self);
  for (int t = 0; t < c->frames; t++) {
    guint src = svilm_clip_source_frame ((guint) t, n_frames, (guint) c->frames);
    memcpy (ip->clip + (size_t) t * per, frames[src], per * sizeof (float));
  }
  SvilmClip *clip = encode_pass (self, ip, error);
  pass_return (self, ip);
  return clip;
}

typedef struct {
  SvilmModel *model;
  const gfloat *const *frames;
  guint n_frames;
  SvilmClip **clips;
  GError **errors; /* one a clip */
} BatchJob;

static void
encode_batch_one (int i, gpointer data)
{
  BatchJob *job = data;
  job->clips[i] = svilm_model_encode_prepared (job->model, job->frames + (gsize) i * job->n_frames,
                                               job->n_frames, &job->errors[i]);
}

gboolean
svilm_model_encode_prepared_batch (SvilmModel *self, const gfloat *const *frames, guint n_frames,
                                   guint n_clips, SvilmClip **clips, GError **error)
{
  g_return_val_if_fail (SVILM_IS_MODEL (self), FALSE);
  g_return_val_if_fail (clips != NULL || n_clips == 0, FALSE);
  if (n_clips == 0)
    return TRUE;
  if (n_frames == 0 || !frames) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, _ ("Cannot encode a clip of no frames."));
    return FALSE;
  }
  /* the activation buffers the clips will borrow are made here, one thread at a time */
  InferPass **ips = g_new0 (InferPass *, n_clips);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < n_clips; i++)
    ok = (ips[i] = pass_borrow (self, error)) != NULL;
  for (guint i = 0; i < n_clips; i++)
    if (ips[i])
      pass_return (self, ips[i]);
  g_free (ips);
  if (!ok)
    return FALSE;
  GError **errors = g_new0 (GError *, n_clips);
  BatchJob job = { self, frames, n_frames, clips, errors };
  sv_backend_run_concurrently (self->backend, (int) n_clips, encode_batch_one, &job);
  for (guint i = 0; i < n_clips; i++)
    if (errors[i] && ok) {
      ok = FALSE;
      g_propagate_error (error, g_steal_pointer (&errors[i]));
    }
  for (guint i = 0; i < n_clips; i++) {
    g_clear_error (&errors[i]);
    if (!ok)
      g_clear_object (&clips[i]);
  }
  g_free (errors);
  return ok;
}

/* With the group tokens in the layers (groups_in_layers) a group reads the video through
 * attention, and the grouping block's hard assignment need not follow what it reads: its
 * map is then the attention of the group token over the video tokens, averaged over the
 * heads and the layers (a batch of one clip: att is [H, Nv+M, Nv+M] per layer).  On the
 * synthetic test split the pointing game gave 15.1 % with the assignment, 21.2 % with the
 * last layer's attention and 39.0 % with every layer's (docs/training.md).  A dense map
 * from the tokens' own final features (through the group norm and the projection, cosine
 * with the phrase, as MaskCLIP does for CLIP) gave 4.2 % on 200 test videos of the
 * default model where this map gave 44.4 %: below random (6.3 %), the object's tokens
 * being the least like the phrase (the negated map: 46.3 %).  With the group tokens in the
 * layers, a region's content is read into the groups rather than kept in its tokens. */
static gboolean
group_attention_maps (const SvVideoActs *a, const SvModelConfig *c, float *assign, GError **error)
{
  int H = c->v_heads, Nv = a->Nv, M = c->n_groups, N = Nv + M, L = c->v_depth;
  /* only the M group rows of each head leave the backend: M x N floats, not N x N (for
   * tiny 8 KB instead of 279 KB per head and layer, which every encoded clip paid) */
  float *rows = g_new (float, (size_t) M *N);
  memset (assign, 0, (size_t) M * Nv * sizeof (float));
  gboolean ok = TRUE;
  for (int l = 0; ok && l < L; l++)
    for (int h = 0; ok && h < H; h++) {
      SvTensor flat, group_rows;
      if (a->att_rows) /* the forward kept only these rows: [H*M, N] */
        ok = sv_tensor_slice0 (&group_rows, &a->att_groups[l], (int64_t) h * M, M, error) &&
             download (&group_rows, rows, error);
      else
        ok = sv_tensor_reshape (&flat, &a->blocks[l].att, 2, (int64_t[]){ (int64_t) H * N, N },
                                error) &&
             sv_tensor_slice0 (&group_rows, &flat, (int64_t) h * N + Nv, M, error) &&
             download (&group_rows, rows, error);
      for (int m = 0; ok && m < M; m++)
        for (int n = 0; n < Nv; n++)
          assign[(size_t) m * Nv + n] += rows[(size_t) m * N + n] / (float) (H * L);
    }
  g_free (rows);
  return ok;
}

/* the scene head's p(change) for every pair of slices [Nt, D], in its pair order; the
 * pixel cues, when the head reads them, come from the clip's model frames */
static float *
scene_head_pairs (const SvSceneHeadHost *h, const SvModelConfig *c, InferPass *ip,
                  const float *slices, guint Nt, guint D)
{
  int n = sv_scene_head_n_pairs ((int) Nt);
  float *out = g_new (float, MAX (n, 1));
  if (h->n_cues > 0) {
    const float *fp[c->frames];
    for (int t = 0; t < c->frames; t++)
      fp[t] = ip->clip + (size_t) t * c->height * c->width * 3;
    sv_scene_head_window_cues (fp, c->frames, c->height, c->width, (int) Nt, ip->cue_scratch,
                               ip->cues);
  }
  for (guint i = 0; i < Nt; i++)
    for (guint k = i + 1; k < Nt; k++) {
      int p = sv_scene_head_pair_index ((int) Nt, (int) i, (int) k);
      out[p] = sv_scene_head_host_pair (h, slices, (int) Nt, (int) D, (int) i, (int) k,
                                        h->n_cues > 0 ? ip->cues + (size_t) p * h->n_cues : NULL,
                                        ip->head_scratch);
    }
  return out;
}

/* runs the video encoder on ip->clip and collects what a clip carries */
static SvilmClip *
encode_pass (SvilmModel *self, InferPass *ip, GError **error)
{
  const SvModelConfig *c = &self->model->cfg;
  SvVideoActs *a = &ip->video;
  SvilmClip *clip = NULL;
  if (!sv_tensor_upload (&a->video, ip->clip, a->video.numel * 4, error) ||
      !sv_video_forward (&self->model->video, a, c, FALSE, error))
    return NULL;

  clip = g_object_new (SVILM_TYPE_CLIP, NULL);
  clip->E = (guint) c->embed_dim;
  clip->M = (guint) c->n_groups;
  clip->Nv = (guint) a->Nv;
  clip->Nt = (guint) sv_model_config_grid_t (c);
  clip->T = (guint) c->frames;
  clip->gh = (guint) sv_model_config_grid_h (c);
  clip->gw = (guint) sv_model_config_grid_w (c);
  clip->S = clip->gh * clip->gw;
  clip->D = (guint) c->v_width;
  clip->tau = c->tau_ground;
  clip->embedding = g_new (float, clip->E);
  clip->groups = g_new (float, (size_t) clip->M * clip->E);
  clip->assign = g_new (float, (size_t) clip->M * clip->Nv);
  clip->temporal = g_new0 (float, (size_t) clip->Nt * clip->D);
  float *z = ip->tokens;
  gboolean ok = download (&a->fv.x, clip->embedding, error) &&
                download (&a->gp.x, clip->groups, error) &&
                (a->joint ? group_attention_maps (a, c, clip->assign, error)
                          : download (&a->gblocks[a->last_group].y, clip->assign, error)) &&
                download (&a->z.x, z, error);
  if (ok) {
    /* temporal features: final tokens averaged over each slice's space, unit length */
    for (guint n = 0; n < clip->Nv; n++) {
      float *dst = clip->temporal + (size_t) (n / clip->S) * clip->D;
      for (guint d = 0; d < clip->D; d++)
        dst[d] += z[(size_t) n * clip->D + d];
    }
    normalize_rows (clip->temporal, (int) clip->Nt, (int) clip->D);
    if (self->scene.in > 0)
      clip->pair_cut = scene_head_pairs (&self->scene, c, ip, clip->temporal, clip->Nt, clip->D);
  }
  if (!ok)
    g_clear_object (&clip);
  return clip;
}

gfloat *
svilm_model_encode_text (SvilmModel *self, const char *text, gsize *n_out, GError **error)
{
  g_return_val_if_fail (SVILM_IS_MODEL (self), NULL);
  const SvModelConfig *c = &self->model->cfg;
  if (!self->model->tokenizer) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 _ ("The model %s has no tokenizer, so it cannot encode text."), self->path);
    return NULL;
  }
  char *trimmed = g_strstrip (g_strdup (text ? text : ""));
  gboolean empty = *trimmed == '\0';
  g_free (trimmed);
  if (empty) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, _ ("The text to encode is empty."));
    return NULL;
  }
  TextPass *tp = text_pass_borrow (self, error);
  if (!tp)
    return NULL;
  int32_t *ids = g_new (int32_t, c->max_len);
  float *mask = g_new (float, c->max_len);
  gfloat *out = g_new (gfloat, c->embed_dim);
  sv_tokenizer_encode (self->model->tokenizer, text, ids, mask, c->max_len);
  gboolean ok = sv_text_set_input (&tp->text, ids, mask, error) &&
                sv_text_forward (&self->model->text, &tp->text, c, error) &&
                download (&tp->text.f.x, out, error);
  text_pass_return (self, tp);
  g_free (ids);
  g_free (mask);
  if (!ok) {
    g_free (out);
    return NULL;
  }
  if (n_out)
    *n_out = (gsize) c->embed_dim;
  return out;
}

const gfloat *
svilm_clip_get_embedding (SvilmClip *clip, gsize *n_out)
{
  if (n_out)
    *n_out = clip->E;
  return clip->embedding;
}

const gfloat *
svilm_clip_get_group_embeddings (SvilmClip *clip, guint *n_groups, guint *dim)
{
  if (n_groups)
    *n_groups = clip->M;
  if (dim)
    *dim = clip->E;
  return clip->groups;
}

const gfloat *
svilm_clip_get_temporal_features (SvilmClip *clip, guint *n_slices, guint *dim)
{
  if (n_slices)
    *n_slices = clip->Nt;
  if (dim)
    *dim = clip->D;
  return clip->temporal;
}

static float
dot (const float *a, const float *b, guint n)
{
  double s = 0.0;
  for (guint i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return (float) s;
}

guint
svilm_clip_source_frame (guint t, guint n_frames, guint clip_frames)
{
  /* the centre of each of T equal segments, as sv_frames_to_clip samples */
  if (n_frames == 0 || clip_frames == 0)
    return 0;
  return MIN ((guint) (((double) t + 0.5) * n_frames / clip_frames), n_frames - 1);
}

/* how much slices i and k differ: the scene head's p(change) when the model has one, else
 * 1 - cos of their unit-length features, in [0, 2] */
static float
distance (const SvilmClip *clip, guint i, guint k)
{
  if (clip->pair_cut)
    return clip->pair_cut[sv_scene_head_pair_index ((int) clip->Nt, (int) i, (int) k)];
  const float *f = clip->temporal;
  guint D = clip->D;
  return CLAMP (1.0f - dot (f + (size_t) i * D, f + (size_t) k * D, D), 0.0f, 2.0f);
}

GArray *
svilm_clip_get_boundaries (SvilmClip *clip, guint n_frames)
{
  g_return_val_if_fail (SVILM_IS_CLIP (clip), NULL);
  guint Nt = clip->Nt, T = clip->T;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (SvilmBoundary));
  if (Nt < 2 || T % Nt != 0 || n_frames == 0)
    return out;
  guint tt = T / Nt; /* model frames a slice */
  for (guint j = 1; j < Nt; j++) {
    /* the new slice starts at model frame j * tt */
    guint a = svilm_clip_source_frame (j * tt - 1, n_frames, T);
    guint b = svilm_clip_source_frame (j * tt, n_frames, T);
    if (b <= a)
      continue; /* both slices show the same frame */
    SvilmBoundary bd = { a + (b - a + 1) / 2, distance (clip, j - 1, j), 0.0f, 0.0f };
    /* every pair (i, k) with i < j <= k: at most Nt^2 / 4 dot products of D */
    float wide = G_MAXFLOAT;
    for (guint i = 0; i < j; i++)
      for (guint k = j; k < Nt; k++)
        if (i != j - 1 || k != j)
          wide = MIN (wide, distance (clip, i, k));
    bd.wide = wide == G_MAXFLOAT ? bd.change : wide;
    bd.cross = MIN (bd.change, bd.wide);
    g_array_append_val (out, bd);
  }
  return out;
}

gfloat
svilm_clip_similarity (SvilmClip *clip, const gfloat *text_embedding, gsize n)
{
  g_return_val_if_fail (SVILM_IS_CLIP (clip) && n == clip->E, 0.0f);
  return dot (clip->embedding, text_embedding, clip->E);
}

gfloat *
svilm_model_encode_phrase (SvilmModel *self, const char *phrase, gsize *n_out, GError **error)
{
  g_return_val_if_fail (SVILM_IS_MODEL (self), NULL);
  char *trimmed = g_strstrip (g_strdup (phrase ? phrase : ""));
  gboolean empty = *trimmed == '\0';
  g_free (trimmed);
  if (empty) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, _ ("The phrase to ground is empty."));
    return NULL;
  }
  /* the phrase as the model saw noun phrases in training: in a prompt template */
  char *prompt = sv_prompt_fill (0, phrase);
  gfloat *n = svilm_model_encode_text (self, prompt, n_out, error);
  g_free (prompt);
  return n;
}

SvilmGrounding *
svilm_clip_ground (SvilmClip *clip, SvilmModel *model, const char *phrase, GError **error)
{
  g_return_val_if_fail (SVILM_IS_CLIP (clip) && SVILM_IS_MODEL (model), NULL);
  gsize E = 0;
  gfloat *n = svilm_model_encode_phrase (model, phrase, &E, error);
  if (!n)
    return NULL;
  SvilmGrounding *res = svilm_clip_ground_embedding (clip, n, E, error);
  g_free (n);
  return res;
}

SvilmGrounding *
svilm_clip_ground_embedding (SvilmClip *clip, const gfloat *phrase_embedding, gsize n_embedding,
                             GError **error)
{
  g_return_val_if_fail (SVILM_IS_CLIP (clip), NULL);
  if (!phrase_embedding || n_embedding != clip->E) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
                 _ ("A phrase embedding of %" G_GSIZE_FORMAT " values does not fit clips of "
                    "%u values."),
                 phrase_embedding ? n_embedding : 0, clip->E);
    return NULL;
  }
  const gfloat *n = phrase_embedding;
  gsize E = clip->E;
  guint M = clip->M, Nv = clip->Nv, S = clip->S;
  /* w = softmax over groups of cos(g_m, n) / tau; pooled = sum_m w_m g_m (method.md sec. 6) */
  float *w = g_new (float, M), *g = g_new (float, (size_t) M *E), *pooled = g_new0 (float, E);
  memcpy (g, clip->groups, (size_t) M * E * sizeof (float));
  normalize_rows (g, (int) M, (int) E);
  float best = -INFINITY, wmax = -INFINITY, wsum = 0.0f;
  guint best_m = 0;
  for (guint m = 0; m < M; m++) {
    w[m] = dot (g + (size_t) m * E, n, (guint) E);
    if (w[m] > best) {
      best = w[m];
      best_m = m;
    }
    wmax = MAX (wmax, w[m] / clip->tau);
  }
  for (guint m = 0; m < M; m++)
    wsum += (w[m] = expf (w[m] / clip->tau - wmax));
  for (guint m = 0; m < M; m++) {
    w[m] /= wsum;
    for (gsize e = 0; e < E; e++)
      pooled[e] += w[m] * clip->groups[(size_t) m * E + e];
  }
  normalize_rows (pooled, 1, (int) E);

  SvilmGrounding *res = g_new0 (SvilmGrounding, 1);
  res->score = dot (pooled, n, (guint) E);
  res->group = best_m;
  res->grid_width = clip->gw;
  res->grid_height = clip->gh;
  res->n_heatmap = S;
  res->heatmap = g_new0 (gfloat, S);
  res->grid_time = Nv / S;
  res->n_slice_heatmaps = Nv;
  res->slice_heatmaps = g_new0 (gfloat, Nv);
  /* heat of a token = its weight in the map of the group most like the phrase; the
   * heatmap averages it over time (the sum, up to the scale that the normalisation
   * removes).  The map of the best group alone rather than the maps weighted by w (the
   * softmax at the model's tau): pointing game 54.2 -> 56.5 % on the synthetic test split
   * (docs/evaluation.md) */
  float smax = 0.0f;
  for (guint t = 0; t < Nv; t++) {
    res->slice_heatmaps[t] = clip->assign[(size_t) best_m * Nv + t];
    res->heatmap[t % S] += res->slice_heatmaps[t];
    smax = MAX (smax, res->slice_heatmaps[t]);
  }
  for (guint t = 0; t < Nv; t++)
    res->slice_heatmaps[t] = smax > 0.0f ? res->slice_heatmaps[t] / smax : 0.0f;
  float hmax = 0.0f;
  for (guint s = 0; s < S; s++)
    hmax = MAX (hmax, res->heatmap[s]);
  for (guint s = 0; s < S; s++)
    res->heatmap[s] = hmax > 0.0f ? res->heatmap[s] / hmax : 0.0f;
  sv_grounding_set_box (res);
  g_free (w);
  g_free (g);
  g_free (pooled);
  return res;
}
