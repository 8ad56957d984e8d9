/* svilm-core: video and text encoders, forward and backward. */
#include "sv-encoders.h"

#include "sv-error.h"
#include "sv-ops.h"
#include "sv-rng.h"

#include <stdio.h>

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    if (!(expr))                                                                                   \
      return FALSE;                                                                                \
  } while (0)

/* ---- video encoder ---- */

gboolean
sv_video_params_plan (SvVarSet *ps, SvVideoParams *p, const SvModelConfig *c, GError **error)
{
  int D = c->v_width, S = sv_model_config_grid_h (c) * sv_model_config_grid_w (c);
  int q = sv_model_config_stem_patch (c), cin = 3;
  for (int i = 0; i < c->n_stem; i++) {
    TRY (sv_var_plan (ps, &p->stem_w[i], SV_INIT_LINEAR, SV_SHAPE (c->stem[i], 9 * cin), error,
                      "video.stem.%d.weight", i));
    TRY (sv_var_plan (ps, &p->stem_b[i], SV_INIT_ZERO, SV_SHAPE (c->stem[i]), error,
                      "video.stem.%d.bias", i));
    cin = c->stem[i];
  }
  int P = c->tubelet_t * q * q * cin;
  TRY (sv_var_plan (ps, &p->patch_w, SV_INIT_LINEAR, SV_SHAPE (D, P), error,
                    "video.patch_embed.weight"));
  TRY (sv_var_plan (ps, &p->patch_b, SV_INIT_ZERO, SV_SHAPE (D), error, "video.patch_embed.bias"));
  TRY (sv_var_plan (ps, &p->pos_t, SV_INIT_NORMAL, SV_SHAPE (sv_model_config_grid_t (c), D), error,
                    "video.pos_temporal"));
  TRY (sv_var_plan (ps, &p->pos_s, SV_INIT_NORMAL, SV_SHAPE (S, D), error, "video.pos_spatial"));
  TRY (sv_var_plan (ps, &p->groups, SV_INIT_NORMAL, SV_SHAPE (c->n_groups, D), error,
                    "video.group_tokens"));
  for (int l = 0; l < c->v_depth; l++) {
    char prefix[64];
    g_snprintf (prefix, sizeof prefix, "video.blocks.%d", l);
    TRY (sv_block_params_plan (ps, &p->blocks[l], D, c->v_mlp, prefix, error));
    if (c->group_after[l]) {
      g_snprintf (prefix, sizeof prefix, "video.grouping.%d", l);
      TRY (sv_group_block_params_plan (ps, &p->gblocks[l], D, c->v_mlp, prefix, error));
    }
  }
  TRY (sv_var_plan (ps, &p->lnf_w, SV_INIT_ONE, SV_SHAPE (D), error, "video.norm.weight"));
  TRY (sv_var_plan (ps, &p->lnf_b, SV_INIT_ZERO, SV_SHAPE (D), error, "video.norm.bias"));
  TRY (sv_var_plan (ps, &p->lng_w, SV_INIT_ONE, SV_SHAPE (D), error, "video.norm_groups.weight"));
  TRY (sv_var_plan (ps, &p->lng_b, SV_INIT_ZERO, SV_SHAPE (D), error, "video.norm_groups.bias"));
  /* no bias: a bias after the final norm adds the same vector to every embedding,
   * and in training it grew until all videos and captions collapsed onto it */
  return sv_var_plan (ps, &p->proj_w, SV_INIT_LINEAR, SV_SHAPE (c->embed_dim, D), error,
                      "video.proj.weight");
}

gboolean
sv_video_acts_plan (SvVarSet *as, SvVideoActs *a, const SvModelConfig *c, int B, gboolean training,
                    GError **error)
{
  int D = c->v_width, M = c->n_groups, E = c->embed_dim;
  int Nv = sv_model_config_video_tokens (c), T = c->frames;
  a->B = B;
  a->Nv = Nv;
  TRY (sv_arena_alloc (as->x, &a->video, SV_F32, SV_SHAPE (B, T, c->height, c->width, 3),
                       "video.input", error));
  int h = c->height, w = c->width, cin = 3, q = sv_model_config_stem_patch (c);
  for (int i = 0; i < c->n_stem; i++) {
    h /= 2;
    w /= 2;
    /* the first layer's columns are pixels: they get no gradient, so no gradient memory */
    if (i == 0)
      TRY (sv_arena_alloc (as->x, &a->stem_cols[i].x, SV_F32, SV_SHAPE (B, T, h, w, 9 * cin),
                           "video.stem_cols", error));
    else
      TRY (sv_var_plan (as, &a->stem_cols[i], SV_INIT_ZERO, SV_SHAPE (B, T, h, w, 9 * cin), error,
                        "video.stem_cols"));
    TRY (sv_var_plan (as, &a->stem_pre[i], SV_INIT_ZERO, SV_SHAPE (B, T, h, w, c->stem[i]), error,
                      "video.stem_pre"));
    TRY (sv_var_plan (as, &a->stem_out[i], SV_INIT_ZERO, SV_SHAPE (B, T, h, w, c->stem[i]), error,
                      "video.stem_out"));
    cin = c->stem[i];
  }
  int P = c->tubelet_t * q * q * cin;
  TRY (sv_arena_alloc (as->x, &a->ids_t, SV_I32, SV_SHAPE (Nv), "video.ids_t", error));
  TRY (sv_arena_alloc (as->x, &a->ids_s, SV_I32, SV_SHAPE (Nv), "video.ids_s", error));
  TRY (sv_arena_alloc (as->x, &a->ids_g, SV_I32, SV_SHAPE (B, M), "video.ids_g", error));
  TRY (sv_arena_alloc (as->x, &a->patches, SV_F32, SV_SHAPE (B, Nv, P), "video.patches", error));
  if (c->n_stem > 0 && as->d)
    TRY (
        sv_arena_alloc (as->d, &a->dpatches, SV_F32, SV_SHAPE (B, Nv, P), "video.dpatches", error));
  TRY (sv_var_plan (as, &a->tok, SV_INIT_ZERO, SV_SHAPE (B, Nv, D), error, "video.tok"));
  TRY (sv_var_plan (as, &a->pos_t, SV_INIT_ZERO, SV_SHAPE (Nv, D), error, "video.pos_t"));
  TRY (sv_var_plan (as, &a->pos_s, SV_INIT_ZERO, SV_SHAPE (Nv, D), error, "video.pos_s"));
  TRY (sv_var_plan (as, &a->pos, SV_INIT_ZERO, SV_SHAPE (Nv, D), error, "video.pos"));
  TRY (sv_var_plan (as, &a->x0, SV_INIT_ZERO, SV_SHAPE (B, Nv, D), error, "video.x0"));
  TRY (sv_var_plan (as, &a->g0, SV_INIT_ZERO, SV_SHAPE (B, M, D), error, "video.g0"));
  int tf = c->attention == SV_ATTENTION_STGRAPH ? sv_model_config_grid_t (c) : 0;
  a->joint = c->groups_in_layers;
  int Ns = a->joint ? Nv + M : Nv; /* tokens in the layers' stream */
  if (a->joint) {
    TRY (sv_arena_alloc (as->x, &a->ids_vid, SV_I32, SV_SHAPE (B * Nv), "video.ids_vid", error));
    TRY (sv_arena_alloc (as->x, &a->ids_grp, SV_I32, SV_SHAPE (B * M), "video.ids_grp", error));
    TRY (sv_var_plan (as, &a->cat0, SV_INIT_ZERO, SV_SHAPE (B, Ns, D), error, "video.cat0"));
  }
  a->att_rows = !training && a->joint && tf == 0;
  if (a->att_rows)
    TRY (sv_arena_alloc (as->x, &a->ids_att, SV_I32, SV_SHAPE (B * c->v_heads * M), "video.ids_att",
                         error));
  a->last_group = -1;
  for (int l = 0; l < c->v_depth; l++) {
    /* at inference a layer's intermediates are dead once its output exists: the
     * tensors planned after them (the next layers', the grouping blocks') reuse their
     * memory (for tiny 12 MB of activations a clip become 5 MB) */
    if (a->att_rows) /* before the layer's intermediates: it is written from them */
      TRY (sv_arena_alloc (as->x, &a->att_groups[l], SV_F32, SV_SHAPE (B * c->v_heads * M, Ns),
                           "video.att_groups", error));
    TRY (sv_block_acts_plan (as, &a->blocks[l], B, Ns, D, c->v_heads, c->v_mlp, tf,
                             c->stgraph_theta, !training, !a->att_rows, error));
    if (c->group_after[l]) {
      if (a->joint) {
        TRY (sv_var_plan (as, &a->vid[l], SV_INIT_ZERO, SV_SHAPE (B, Nv, D), error, "video.vid"));
        TRY (sv_var_plan (as, &a->grp[l], SV_INIT_ZERO, SV_SHAPE (B, M, D), error, "video.grp"));
        if (l < c->v_depth - 1)
          TRY (sv_var_plan (as, &a->cat[l], SV_INIT_ZERO, SV_SHAPE (B, Ns, D), error, "video.cat"));
      }
      TRY (sv_group_block_acts_plan (as, &a->gblocks[l], B, M, Nv, D, c->v_mlp, error));
      if (training)
        TRY (sv_arena_alloc (as->x, &a->noise[l], SV_F32, SV_SHAPE (B, M, Nv), "video.noise",
                             error));
      a->last_group = l;
    }
  }
  TRY (sv_var_plan (as, &a->z, SV_INIT_ZERO, SV_SHAPE (B, Nv, D), error, "video.z"));
  TRY (sv_var_plan (as, &a->gf, SV_INIT_ZERO, SV_SHAPE (B, M, D), error, "video.gf"));
  TRY (sv_var_plan (as, &a->gp, SV_INIT_ZERO, SV_SHAPE (B, M, E), error, "video.gp"));
  TRY (sv_var_plan (as, &a->gmean, SV_INIT_ZERO, SV_SHAPE (B, E), error, "video.gmean"));
  TRY (sv_var_plan (as, &a->fv, SV_INIT_ZERO, SV_SHAPE (B, E), error, "video.fv"));
  TRY (sv_arena_alloc (as->x, &a->z_mean, SV_F32, SV_SHAPE (B * Nv), "video.z_mean", error));
  TRY (sv_arena_alloc (as->x, &a->z_rstd, SV_F32, SV_SHAPE (B * Nv), "video.z_rstd", error));
  TRY (sv_arena_alloc (as->x, &a->gf_mean, SV_F32, SV_SHAPE (B * M), "video.gf_mean", error));
  TRY (sv_arena_alloc (as->x, &a->gf_rstd, SV_F32, SV_SHAPE (B * M), "video.gf_rstd", error));
  TRY (sv_arena_alloc (as->x, &a->fv_norm, SV_F32, SV_SHAPE (B), "video.fv_norm", error));
  /* what the set plans next (the text's activations) must not land on the shared memory */
  sv_arena_seal (as->x);
  return TRUE;
}

gboolean
sv_video_acts_init (SvVideoActs *a, const SvModelConfig *c, GError **error)
{
  int Nv = a->Nv, S = sv_model_config_grid_h (c) * sv_model_config_grid_w (c), M = c->n_groups;
  int32_t *t = g_new (int32_t, Nv), *s = g_new (int32_t, Nv), *g = g_new (int32_t, a->B * M);
  for (int n = 0; n < Nv; n++) {
    t[n] = n / S; /* tokens are ordered (t', y', x') */
    s[n] = n % S;
  }
  for (int i = 0; i < a->B * M; i++)
    g[i] = i % M;
  gboolean ok = sv_tensor_upload (&a->ids_t, t, Nv * 4, error) &&
                sv_tensor_upload (&a->ids_s, s, Nv * 4, error) &&
                sv_tensor_upload (&a->ids_g, g, (size_t) a->B * M * 4, error);
  if (ok && a->joint) {
    /* batch b's stream holds its Nv video tokens, then its M group tokens */
    int32_t *iv = g_new (int32_t, (size_t) a->B * Nv), *ig = g_new (int32_t, (size_t) a->B * M);
    for (int b = 0; b < a->B; b++) {
      for (int n = 0; n < Nv; n++)
        iv[b * Nv + n] = b * (Nv + M) + n;
      for (int m = 0; m < M; m++)
        ig[b * M + m] = b * (Nv + M) + Nv + m;
    }
    ok = sv_tensor_upload (&a->ids_vid, iv, (size_t) a->B * Nv * 4, error) &&
         sv_tensor_upload (&a->ids_grp, ig, (size_t) a->B * M * 4, error);
    if (ok && a->att_rows) {
      /* row (b, h, Nv + m) of the attention [B, H, Nv+M, Nv+M] */
      int H = c->v_heads, Ns = Nv + M;
      int32_t *ia = g_new (int32_t, (size_t) a->B * H * M);
      for (int bh = 0; bh < a->B * H; bh++)
        for (int m = 0; m < M; m++)
          ia[bh * M + m] = bh * Ns + Nv + m;
      ok = sv_tensor_upload (&a->ids_att, ia, (size_t) a->B * H * M * 4, error);
      g_free (ia);
    }
    g_free (iv);
    g_free (ig);
  }
  g_free (t);
  g_free (s);
  g_free (g);
  return ok;
}

gboolean
sv_video_acts_set_noise (SvVideoActs *a, const SvModelConfig *c, const float *noise, guint64 seed,
                         GError **error)
{
  for (int l = 0, g = 0; l < c->v_depth; l++) {
    if (!c->group_after[l])
      continue;
    SvTensor *t = &a->noise[l];
    float *host = noise ? NULL : g_new (float, t->numel);
    if (host)
      sv_rng_fill_gumbel (seed, (uint64_t) g, host, t->numel);
    gboolean ok = sv_tensor_upload (t, host ? host : noise + (size_t) g * t->numel,
                                    t->numel * sizeof (float), error);
    g_free (host);
    TRY (ok);
    g++;
  }
  return TRUE;
}

/* the tokens entering layer l */
static SvVar *
layer_input (SvVideoActs *a, const SvModelConfig *c, int l)
{
  if (l == 0)
    return a->joint ? &a->cat0 : &a->x0;
  if (a->joint && c->group_after[l - 1])
    return &a->cat[l - 1];
  return &a->blocks[l - 1].out;
}

/* the group tokens entering the grouping block after layer l */
static SvVar *
group_input (SvVideoActs *a, const SvModelConfig *c, int l)
{
  if (a->joint)
    return &a->grp[l];
  for (int j = l - 1; j >= 0; j--)
    if (c->group_after[j])
      return &a->gblocks[j].out;
  return &a->g0;
}

/* the video tokens a grouping block after layer l reads (and the final ones, l = last) */
static SvVar *
token_input (SvVideoActs *a, int l)
{
  return a->joint ? &a->vid[l] : &a->blocks[l].out;
}

/* A joint stream [B,Nv+M,D] seen as a table of rows, so that the embedding ops gather
 * (split) and scatter (join) its video and group rows: no op of its own, and the same
 * code on every backend. */
static gboolean
stream_rows (SvTensor *rows, SvTensor *stream, GError **error)
{
  int64_t D = stream->shape[stream->ndim - 1];
  return sv_tensor_reshape (rows, stream, 2, (int64_t[]){ (int64_t) stream->numel / D, D }, error);
}

/* The four moves between a stream and its parts.  join = FALSE: vid, grp <- the rows
 * of stream (split, forward) or vid.d, grp.d <- the rows of stream.d (join, backward:
 * these write, not add, so they must be the first gradients vid and grp receive).
 * join = TRUE: stream <- [vid; grp] (join, forward, on a zeroed stream) or
 * stream.d += [vid.d; grp.d] (split, backward). */
static gboolean
stream_move (SvVideoActs *a, SvTensor *stream, SvTensor *vid, SvTensor *grp, gboolean join,
             GError **error)
{
  SvTensor rows, vr, gr;
  if (!stream_rows (&rows, stream, error) || !stream_rows (&vr, vid, error) ||
      !stream_rows (&gr, grp, error))
    return FALSE;
  if (join)
    return sv_embedding_backward (&rows, &vr, &a->ids_vid, error) &&
           sv_embedding_backward (&rows, &gr, &a->ids_grp, error);
  return sv_embedding_forward (&vr, &a->ids_vid, &rows, error) &&
         sv_embedding_forward (&gr, &a->ids_grp, &rows, error);
}

static gboolean
stream_split_forward (SvVideoActs *a, SvVar *stream, SvVar *vid, SvVar *grp, GError **error)
{
  return stream_move (a, &stream->x, &vid->x, &grp->x, FALSE, error);
}

static gboolean
stream_split_backward (SvVideoActs *a, SvVar *stream, SvVar *vid, SvVar *grp, GError **error)
{
  return stream_move (a, &stream->d, &vid->d, &grp->d, TRUE, error);
}

static gboolean
stream_join_forward (SvVideoActs *a, SvVar *stream, SvVar *vid, SvVar *grp, GError **error)
{
  return sv_tensor_zero (&stream->x, error) &&
         stream_move (a, &stream->x, &vid->x, &grp->x, TRUE, error);
}

static gboolean
stream_join_backward (SvVideoActs *a, SvVar *stream, SvVar *vid, SvVar *grp, GError **error)
{
  return stream_move (a, &stream->d, &vid->d, &grp->d, FALSE, error);
}

gboolean
sv_video_forward (SvVideoParams *p, SvVideoActs *a, const SvModelConfig *c, gboolean training,
                  GError **error)
{
  float eps = c->ln_eps;
  // stem: per frame, [B,T,h,w,C] -> 3x3 stride-2 convolution + GELU -> [B,T,h/2,w/2,C_i]
  const SvTensor *pix = &a->video;
  for (int i = 0; i < c->n_stem; i++) {
    TRY (sv_im2col_forward (&a->stem_cols[i].x, pix, 3, 2, 1, error));
    TRY (sv_linear_forward (&a->stem_pre[i].x, &a->stem_cols[i].x, &p->stem_w[i].x, &p->stem_b[i].x,
                            error));
    TRY (sv_gelu_forward (&a->stem_out[i].x, &a->stem_pre[i].x, error));
    pix = &a->stem_out[i].x;
  }
  // tokens: tubelet embedding + temporal and spatial position embeddings
  TRY (sv_tubelet_embed_forward (&a->tok.x, &a->patches, pix, &p->patch_w.x, &p->patch_b.x,
                                 c->tubelet_t, sv_model_config_stem_patch (c), error));
  TRY (sv_embedding_forward (&a->pos_t.x, &a->ids_t, &p->pos_t.x, error));
  TRY (sv_embedding_forward (&a->pos_s.x, &a->ids_s, &p->pos_s.x, error));
  TRY (sv_add_forward (&a->pos.x, &a->pos_t.x, &a->pos_s.x, error));
  TRY (sv_add_forward (&a->x0.x, &a->tok.x, &a->pos.x, error));
  TRY (sv_embedding_forward (&a->g0.x, &a->ids_g, &p->groups.x, error));
  if (a->joint)
    TRY (stream_join_forward (a, &a->cat0, &a->x0, &a->g0, error));
  // layers; grouping blocks read the video tokens and update the group tokens
  for (int l = 0; l < c->v_depth; l++) {
    TRY (sv_block_forward (&p->blocks[l], &a->blocks[l], layer_input (a, c, l), NULL, eps, error));
    if (a->att_rows) {
      SvTensor rows;
      const SvTensor *att = &a->blocks[l].att;
      TRY (sv_tensor_reshape (
          &rows, att, SV_SHAPE (att->shape[0] * att->shape[1] * att->shape[2], att->shape[3]),
          error));
      TRY (sv_embedding_forward (&a->att_groups[l], &a->ids_att, &rows, error));
    }
    if (!c->group_after[l])
      continue;
    if (a->joint)
      TRY (stream_split_forward (a, &a->blocks[l].out, &a->vid[l], &a->grp[l], error));
    TRY (sv_group_block_forward (&p->gblocks[l], &a->gblocks[l], group_input (a, c, l),
                                 token_input (a, l), training ? &a->noise[l] : NULL, c->tau_gumbel,
                                 eps, error));
    if (a->joint && l < c->v_depth - 1)
      TRY (stream_join_forward (a, &a->cat[l], &a->vid[l], &a->gblocks[l].out, error));
  }
  // outputs (joint: the last layer has a grouping block, so its video tokens are split)
  TRY (sv_layernorm_forward (&a->z.x, &a->z_mean, &a->z_rstd, &token_input (a, c->v_depth - 1)->x,
                             &p->lnf_w.x, &p->lnf_b.x, eps, error));
  TRY (sv_layernorm_forward (&a->gf.x, &a->gf_mean, &a->gf_rstd, &a->gblocks[a->last_group].out.x,
                             &p->lng_w.x, &p->lng_b.x, eps, error));
  TRY (sv_linear_forward (&a->gp.x, &a->gf.x, &p->proj_w.x, NULL, error));
  TRY (sv_mean_forward (&a->gmean.x, &a->gp.x, 1u << 1, error));
  return sv_l2norm_forward (&a->fv.x, &a->fv_norm, &a->gmean.x, 1e-12f, error);
}

gboolean
sv_video_backward (SvVideoParams *p, SvVideoActs *a, const SvModelConfig *c, SvBlockScratch *s,
                   GError **error)
{
  TRY (sv_l2norm_backward (&a->gmean.d, &a->fv.d, &a->fv.x, &a->fv_norm, 1e-12f, error));
  TRY (sv_mean_backward (&a->gp.d, &a->gmean.d, 1u << 1, error));
  TRY (sv_linear_backward (&a->gf.d, &p->proj_w.d, NULL, &a->gp.d, &a->gf.x, &p->proj_w.x, error));
  TRY (sv_layernorm_backward (&a->gblocks[a->last_group].out.d, &p->lng_w.d, &p->lng_b.d, &a->gf.d,
                              &a->gblocks[a->last_group].out.x, &p->lng_w.x, &a->gf_mean,
                              &a->gf_rstd, error));
  SvVar *last = token_input (a, c->v_depth - 1);
  TRY (sv_layernorm_backward (&last->d, &p->lnf_w.d, &p->lnf_b.d, &a->z.d, &last->x, &p->lnf_w.x,
                              &a->z_mean, &a->z_rstd, error));
  for (int l = c->v_depth - 1; l >= 0; l--) {
    if (c->group_after[l]) {
      if (a->joint && l < c->v_depth - 1)
        TRY (stream_join_backward (a, &a->cat[l], &a->vid[l], &a->gblocks[l].out, error));
      TRY (sv_group_block_backward (&p->gblocks[l], &a->gblocks[l], group_input (a, c, l),
                                    token_input (a, l), c->tau_gumbel, s, error));
      if (a->joint)
        TRY (stream_split_backward (a, &a->blocks[l].out, &a->vid[l], &a->grp[l], error));
    }
    TRY (sv_block_backward (&p->blocks[l], &a->blocks[l], layer_input (a, c, l), NULL, s, error));
  }
  if (a->joint)
    TRY (stream_join_backward (a, &a->cat0, &a->x0, &a->g0, error));
  TRY (sv_embedding_backward (&p->groups.d, &a->g0.d, &a->ids_g, error));
  TRY (sv_add_backward (&a->tok.d, &a->pos.d, &a->x0.d, error));
  TRY (sv_add_backward (&a->pos_t.d, &a->pos_s.d, &a->pos.d, error));
  TRY (sv_embedding_backward (&p->pos_t.d, &a->pos_t.d, &a->ids_t, error));
  TRY (sv_embedding_backward (&p->pos_s.d, &a->pos_s.d, &a->ids_s, error));
  int n = c->n_stem;
  TRY (sv_tubelet_embed_backward (n ? &a->stem_out[n - 1].d : NULL, &p->patch_w.d, &p->patch_b.d,
                                  n ? &a->dpatches : NULL, &a->tok.d, &a->patches, &p->patch_w.x,
                                  c->tubelet_t, sv_model_config_stem_patch (c), error));
  // stem, last layer first; the pixels need no gradient
  for (int i = n - 1; i >= 0; i--) {
    TRY (sv_gelu_backward (&a->stem_pre[i].d, &a->stem_out[i].d, &a->stem_pre[i].x, error));
    TRY (sv_linear_backward (i ? &a->stem_cols[i].d : NULL, &p->stem_w[i].d, &p->stem_b[i].d,
                             &a->stem_pre[i].d, &a->stem_cols[i].x, &p->stem_w[i].x, error));
    if (i)
      TRY (sv_im2col_backward (&a->stem_out[i - 1].d, &a->stem_cols[i].d, 3, 2, 1, error));
  }
  return TRUE;
}

/* ---- text encoder ---- */

gboolean
sv_text_params_plan (SvVarSet *ps, SvTextParams *p, const SvModelConfig *c, GError **error)
{
  int D = c->t_width;
  TRY (sv_var_plan (ps, &p->tok_emb, SV_INIT_NORMAL, SV_SHAPE (c->vocab, D), error,
                    "text.token_embed"));
  TRY (sv_var_plan (ps, &p->pos_emb, SV_INIT_NORMAL, SV_SHAPE (c->max_len, D), error,
                    "text.pos_embed"));
  for (int l = 0; l < c->t_depth; l++) {
    char prefix[64];
    g_snprintf (prefix, sizeof prefix, "text.blocks.%d", l);
    TRY (sv_block_params_plan (ps, &p->blocks[l], D, c->t_mlp, prefix, error));
  }
  TRY (sv_var_plan (ps, &p->lnf_w, SV_INIT_ONE, SV_SHAPE (D), error, "text.norm.weight"));
  TRY (sv_var_plan (ps, &p->lnf_b, SV_INIT_ZERO, SV_SHAPE (D), error, "text.norm.bias"));
  /* no bias (see the video projection) */
  return sv_var_plan (ps, &p->proj_w, SV_INIT_LINEAR, SV_SHAPE (c->embed_dim, D), error,
                      "text.proj.weight");
}

gboolean
sv_text_acts_plan (SvVarSet *as, SvTextActs *a, const SvModelConfig *c, int B, GError **error)
{
  int D = c->t_width, L = c->max_len, E = c->embed_dim;
  a->B = B;
  a->L = L;
  TRY (sv_arena_alloc (as->x, &a->ids, SV_I32, SV_SHAPE (B, L), "text.ids", error));
  TRY (sv_arena_alloc (as->x, &a->ids_pos, SV_I32, SV_SHAPE (L), "text.ids_pos", error));
  TRY (sv_arena_alloc (as->x, &a->ids_cls, SV_I32, SV_SHAPE (B), "text.ids_cls", error));
  TRY (sv_arena_alloc (as->x, &a->graph, SV_F32, SV_SHAPE (B, L, L), "text.graph", error));
  TRY (sv_var_plan (as, &a->tok, SV_INIT_ZERO, SV_SHAPE (B, L, D), error, "text.tok"));
  TRY (sv_var_plan (as, &a->pos, SV_INIT_ZERO, SV_SHAPE (L, D), error, "text.pos"));
  TRY (sv_var_plan (as, &a->x0, SV_INIT_ZERO, SV_SHAPE (B, L, D), error, "text.x0"));
  for (int l = 0; l < c->t_depth; l++)
    TRY (sv_block_acts_plan (as, &a->blocks[l], B, L, D, c->t_heads, c->t_mlp, 0, 0.0f, FALSE, TRUE,
                             error));
  TRY (sv_var_plan (as, &a->xf, SV_INIT_ZERO, SV_SHAPE (B, L, D), error, "text.xf"));
  TRY (sv_var_plan (as, &a->cls, SV_INIT_ZERO, SV_SHAPE (B, D), error, "text.cls"));
  TRY (sv_var_plan (as, &a->proj, SV_INIT_ZERO, SV_SHAPE (B, E), error, "text.proj"));
  TRY (sv_var_plan (as, &a->f, SV_INIT_ZERO, SV_SHAPE (B, E), error, "text.f"));
  TRY (sv_arena_alloc (as->x, &a->xf_mean, SV_F32, SV_SHAPE (B * L), "text.xf_mean", error));
  TRY (sv_arena_alloc (as->x, &a->xf_rstd, SV_F32, SV_SHAPE (B * L), "text.xf_rstd", error));
  return sv_arena_alloc (as->x, &a->f_norm, SV_F32, SV_SHAPE (B), "text.f_norm", error);
}

gboolean
sv_text_acts_init (SvTextActs *a, const SvModelConfig *c, GError **error)
{
  int32_t *pos = g_new (int32_t, a->L), *cls = g_new (int32_t, a->B);
  for (int l = 0; l < a->L; l++)
    pos[l] = l;
  for (int b = 0; b < a->B; b++)
    cls[b] = b * a->L; /* [CLS] is token 0 of each row of xf [B*L, D] */
  gboolean ok = sv_tensor_upload (&a->ids_pos, pos, (size_t) a->L * 4, error) &&
                sv_tensor_upload (&a->ids_cls, cls, (size_t) a->B * 4, error);
  g_free (pos);
  g_free (cls);
  return ok;
}

gboolean
sv_text_set_input (SvTextActs *a, const int32_t *ids, const float *mask, GError **error)
{
  int B = a->B, L = a->L;
  /* graph[b,i,j] = mask[b,j]: padding keys get -inf logits, real keys are unchanged */
  float *graph = g_new (float, (size_t) B *L *L);
  for (int b = 0; b < B; b++)
    for (int i = 0; i < L; i++)
      for (int j = 0; j < L; j++)
        graph[((size_t) b * L + i) * L + j] = mask[b * L + j] != 0.0f ? 1.0f : 0.0f;
  gboolean ok = sv_tensor_upload (&a->ids, ids, (size_t) B * L * 4, error) &&
                sv_tensor_upload (&a->graph, graph, (size_t) B * L * L * 4, error);
  g_free (graph);
  return ok;
}

gboolean
sv_text_forward (SvTextParams *p, SvTextActs *a, const SvModelConfig *c, GError **error)
{
  float eps = c->ln_eps;
  TRY (sv_embedding_forward (&a->tok.x, &a->ids, &p->tok_emb.x, error));
  TRY (sv_embedding_forward (&a->pos.x, &a->ids_pos, &p->pos_emb.x, error));
  TRY (sv_add_forward (&a->x0.x, &a->tok.x, &a->pos.x, error));
  for (int l = 0; l < c->t_depth; l++)
    TRY (sv_block_forward (&p->blocks[l], &a->blocks[l], l ? &a->blocks[l - 1].out : &a->x0,
                           &a->graph, eps, error));
  SvVar *last = &a->blocks[c->t_depth - 1].out;
  TRY (sv_layernorm_forward (&a->xf.x, &a->xf_mean, &a->xf_rstd, &last->x, &p->lnf_w.x, &p->lnf_b.x,
                             eps, error));
  /* [CLS] rows gathered from xf seen as a [B*L, D] table */
  SvTensor rows;
  TRY (sv_tensor_reshape (&rows, &a->xf.x, 2, (int64_t[]){ a->B * a->L, c->t_width }, error));
  TRY (sv_embedding_forward (&a->cls.x, &a->ids_cls, &rows, error));
  TRY (sv_linear_forward (&a->proj.x, &a->cls.x, &p->proj_w.x, NULL, error));
  return sv_l2norm_forward (&a->f.x, &a->f_norm, &a->proj.x, 1e-12f, error);
}

gboolean
sv_text_backward (SvTextParams *p, SvTextActs *a, const SvModelConfig *c, SvBlockScratch *s,
                  GError **error)
{
  TRY (sv_l2norm_backward (&a->proj.d, &a->f.d, &a->f.x, &a->f_norm, 1e-12f, error));
  TRY (sv_linear_backward (&a->cls.d, &p->proj_w.d, NULL, &a->proj.d, &a->cls.x, &p->proj_w.x,
                           error));
  SvTensor drows;
  TRY (sv_tensor_reshape (&drows, &a->xf.d, 2, (int64_t[]){ a->B * a->L, c->t_width }, error));
  TRY (sv_embedding_backward (&drows, &a->cls.d, &a->ids_cls, error));
  SvVar *last = &a->blocks[c->t_depth - 1].out;
  TRY (sv_layernorm_backward (&last->d, &p->lnf_w.d, &p->lnf_b.d, &a->xf.d, &last->x, &p->lnf_w.x,
                              &a->xf_mean, &a->xf_rstd, error));
  for (int l = c->t_depth - 1; l >= 0; l--)
    TRY (sv_block_backward (&p->blocks[l], &a->blocks[l], l ? &a->blocks[l - 1].out : &a->x0,
                            &a->graph, s, error));
  TRY (sv_add_backward (&a->tok.d, &a->pos.d, &a->x0.d, error));
  TRY (sv_embedding_backward (&p->tok_emb.d, &a->tok.d, &a->ids, error));
  return sv_embedding_backward (&p->pos_emb.d, &a->pos.d, &a->ids_pos, error);
}
