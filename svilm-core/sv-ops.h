/* svilm-core: ops on tensors.
 *
 * Every op checks its operands' shapes, dtypes and backends, returns FALSE
 * with an SV_ERROR_SHAPE / SV_ERROR_ARGUMENT GError when they do not fit, and
 * otherwise runs on the operands' backend.  Backward ops ACCUMULATE into the
 * gradient tensors (zero them first); a NULL gradient is skipped.
 * Shapes below: "..." is any number of leading axes, flattened to N rows.
 */
#pragma once

#include "sv-backend.h"
#include "sv-tensor.h"

G_BEGIN_DECLS

/* out[..., OC] = inp[..., C] @ weight[OC, C]^T + bias[OC] (bias may be NULL) */
gboolean sv_linear_forward (SvTensor *out, const SvTensor *inp, const SvTensor *weight,
                            const SvTensor *bias, GError **error);
gboolean sv_linear_backward (SvTensor *dinp, SvTensor *dweight, SvTensor *dbias,
                             const SvTensor *dout, const SvTensor *inp, const SvTensor *weight,
                             GError **error);

/* c[batch, M, N] = alpha * op(a) @ op(b); a is [batch, M, K] ([batch, K, M] if trans_a),
 * b is [batch, K, N] ([batch, N, K] if trans_b).  2-D operands mean batch = 1. */
gboolean sv_matmul_forward (SvTensor *c, const SvTensor *a, const SvTensor *b, gboolean trans_a,
                            gboolean trans_b, float alpha, GError **error);
gboolean sv_matmul_backward (SvTensor *da, SvTensor *db, const SvTensor *dc, const SvTensor *a,
                             const SvTensor *b, gboolean trans_a, gboolean trans_b, float alpha,
                             GError **error);

/* out[..., C] = layernorm(inp[..., C]) * weight[C] + bias[C]; mean, rstd have N elements */
gboolean sv_layernorm_forward (SvTensor *out, SvTensor *mean, SvTensor *rstd, const SvTensor *inp,
                               const SvTensor *weight, const SvTensor *bias, float eps,
                               GError **error);
gboolean sv_layernorm_backward (SvTensor *dinp, SvTensor *dweight, SvTensor *dbias,
                                const SvTensor *dout, const SvTensor *inp, const SvTensor *weight,
                                const SvTensor *mean, const SvTensor *rstd, GError **error);

/* elementwise GELU (erf form) */
gboolean sv_gelu_forward (SvTensor *out, const SvTensor *inp, GError **error);
gboolean sv_gelu_backward (SvTensor *dinp, const SvTensor *dout, const SvTensor *inp,
                           GError **error);

/* out = a + b, where b's shape equals the trailing axes of a's (residual add
 * when equal, position embeddings when b is [N, C] and a is [B, N, C]) */
gboolean sv_add_forward (SvTensor *out, const SvTensor *a, const SvTensor *b, GError **error);
gboolean sv_add_backward (SvTensor *da, SvTensor *db, const SvTensor *dout, GError **error);

/* out = alpha * inp */
gboolean sv_scale_forward (SvTensor *out, const SvTensor *inp, float alpha, GError **error);
gboolean sv_scale_backward (SvTensor *dinp, const SvTensor *dout, float alpha, GError **error);

/* out[..., C] = softmax(inp / temperature) over the last axis; mask (same shape, 0/1)
 * may be NULL; masked entries get 0; temperature > 0 */
gboolean sv_softmax_forward (SvTensor *out, const SvTensor *inp, const SvTensor *mask,
                             float temperature, GError **error);
gboolean sv_softmax_backward (SvTensor *dinp, const SvTensor *dout, const SvTensor *out,
                              float temperature, GError **error);

/* Multi-head attention core: q[B,Nq,C], k[B,Nk,C], v[B,Nk,C] -> out[B,Nq,C];
 * att[B,H,Nq,Nk] cache; graph[B,Nq,Nk] (STGT multiplicative + masking) may be NULL.
 * Self-attention: q, k, v from the same tokens; cross-attention: Nq != Nk.
 * Backward: scratch holds B*H*Nq*Nk floats. */
gboolean sv_attention_forward (SvTensor *out, SvTensor *att, const SvTensor *q, const SvTensor *k,
                               const SvTensor *v, const SvTensor *graph, int n_heads,
                               GError **error);
gboolean sv_attention_backward (SvTensor *dq, SvTensor *dk, SvTensor *dv, SvTensor *scratch,
                                const SvTensor *dout, const SvTensor *att, const SvTensor *q,
                                const SvTensor *k, const SvTensor *v, const SvTensor *graph,
                                int n_heads, GError **error);

/* Swap two adjacent axes: inp [A, R, C, E] -> out [A, C, R, E] where A is the product of
 * the axes before `axis`, R = inp->shape[axis], C = inp->shape[axis + 1], E the product of the
 * axes after.  out must have inp's shape with those two axes swapped. */
gboolean sv_transpose_forward (SvTensor *out, const SvTensor *inp, int axis, GError **error);
gboolean sv_transpose_backward (SvTensor *dinp, const SvTensor *dout, int axis, GError **error);

/* out[..., C] = table[ids[...], :]; ids int32 in [0, V) (checked on host tensors) */
gboolean sv_embedding_forward (SvTensor *out, const SvTensor *ids, const SvTensor *table,
                               GError **error);
gboolean sv_embedding_backward (SvTensor *dtable, const SvTensor *dout, const SvTensor *ids,
                                GError **error);

/* video[B,T,H,W,Cin] -> patches[B, Np, pt*p*p*Cin], Np = (T/pt)(H/p)(W/p) */
gboolean sv_patchify_forward (SvTensor *patches, const SvTensor *video, int pt, int p,
                              GError **error);
gboolean sv_patchify_backward (SvTensor *dvideo, const SvTensor *dpatches, int pt, int p,
                               GError **error);

/* Convolution patches: images[..., H, W, C] -> cols[..., Ho, Wo, k*k*C] for a k x k kernel
 * at stride s with zero padding pad (0 <= pad < k), Ho = (H + 2 pad - k)/s + 1, vector order
 * (ky, kx, c).  A convolution is im2col + sv_linear_forward (weight [OC, k*k*C]). */
gboolean sv_im2col_forward (SvTensor *cols, const SvTensor *images, int k, int stride, int pad,
                            GError **error);
gboolean sv_im2col_backward (SvTensor *dimages, const SvTensor *dcols, int k, int stride, int pad,
                             GError **error);

/* Tubelet embedding: out[B, Np, D] = patchify(video) @ weight[D, pt*p*p*Cin]^T + bias[D].
 * `patches` is the cache [B, Np, pt*p*p*Cin]; backward needs a dpatches buffer of the
 * same shape (scratch, overwritten) and gives dvideo only if non-NULL. */
gboolean sv_tubelet_embed_forward (SvTensor *out, SvTensor *patches, const SvTensor *video,
                                   const SvTensor *weight, const SvTensor *bias, int pt, int p,
                                   GError **error);
gboolean sv_tubelet_embed_backward (SvTensor *dvideo, SvTensor *dweight, SvTensor *dbias,
                                    SvTensor *dpatches, const SvTensor *dout,
                                    const SvTensor *patches, const SvTensor *weight, int pt, int p,
                                    GError **error);

/* mean over the axes whose bits are set in axes_mask (bit i = axis i of inp);
 * out has inp's shape with those axes removed (same element count required) */
gboolean sv_mean_forward (SvTensor *out, const SvTensor *inp, unsigned axes_mask, GError **error);
gboolean sv_mean_backward (SvTensor *dinp, const SvTensor *dout, unsigned axes_mask,
                           GError **error);

/* out[..., C] = inp / max(||inp||_2, eps) per row; norm has N elements */
gboolean sv_l2norm_forward (SvTensor *out, SvTensor *norm, const SvTensor *inp, float eps,
                            GError **error);
gboolean sv_l2norm_backward (SvTensor *dinp, const SvTensor *dout, const SvTensor *out,
                             const SvTensor *norm, float eps, GError **error);

/* sim[batch, Na, Nb] = cos(a[batch, Na, C], b[batch, Nb, C]) (2-D operands: batch = 1);
 * caches an, bn (normalised copies) and anorm, bnorm (batch*Na, batch*Nb elements);
 * backward scratch holds batch*(Na+Nb)*C floats. */
gboolean sv_cosine_sim_forward (SvTensor *sim, SvTensor *an, SvTensor *bn, SvTensor *anorm,
                                SvTensor *bnorm, const SvTensor *a, const SvTensor *b, float eps,
                                GError **error);
gboolean sv_cosine_sim_backward (SvTensor *da, SvTensor *db, SvTensor *scratch,
                                 const SvTensor *dsim, const SvTensor *an, const SvTensor *bn,
                                 const SvTensor *anorm, const SvTensor *bnorm, float eps,
                                 GError **error);

/* Grouping assignment over logits[B, M, N] (M groups x N tokens), method.md section 5:
 * Gumbel noise[B,M,N] may be NULL (inference); tau > 0; hard = one-hot with
 * straight-through gradient.  out, y [B,M,N]; denom [B,M]; backward scratch B*M floats. */
gboolean sv_assign_forward (SvTensor *out, SvTensor *y, SvTensor *denom, const SvTensor *logits,
                            const SvTensor *noise, float tau, gboolean hard, GError **error);
gboolean sv_assign_backward (SvTensor *dlogits, SvTensor *scratch, const SvTensor *dout,
                             const SvTensor *out, const SvTensor *y, const SvTensor *denom,
                             float tau, GError **error);

/* loss[1] = -(1/N) sum_i sum_j targets[i,j] log softmax(logits[i,:])_j over [..., C] */
gboolean sv_softmax_xent_forward (SvTensor *loss, SvTensor *probs, const SvTensor *logits,
                                  const SvTensor *targets, GError **error);
gboolean sv_softmax_xent_backward (SvTensor *dlogits, const SvTensor *dloss, const SvTensor *probs,
                                   const SvTensor *targets, GError **error);

/* loss[1] = mean((a - b)^2) */
gboolean sv_mse_forward (SvTensor *loss, const SvTensor *a, const SvTensor *b, GError **error);
gboolean sv_mse_backward (SvTensor *da, SvTensor *db, const SvTensor *dloss, const SvTensor *a,
                          const SvTensor *b, GError **error);

/* STGT graph attention computed block-banded (method.md section 9): cost linear in the
 * number of temporal slices.  Tokens [B, N, *] with N = frames * S (frames temporal
 * slices of S spatial tokens); query i of slice t sees the W = 3S keys of slices t-1, t,
 * t+1 (band column jb <-> key (t-1+jb/S)*S + jb%S; columns of slices outside the clip
 * are out of range: graph and att 0 there).
 * sv_stgraph_build: graph[B, N, 3S] = M over the band from the graph features u[B, N, Cg]
 * (detached, no gradient): M = cos(u_i, u_j) where it is >= theta, else 0; the diagonal
 * is 1; -1 <= theta <= 1 (-1 keeps every band entry).
 * sv_stgraph_attention_*: q, k, v, out [B, N, C], n_heads dividing C, att[B, H, N, 3S]
 * cache; equals sv_attention_* with the dense graph M (0 outside the band); graph may be
 * NULL (plain temporal band).  Backward: scratch holds B*H*N*3S floats (needed for dq
 * or dk).  A backend without these ops fails them with SV_ERROR_UNSUPPORTED. */
gboolean sv_stgraph_build (SvTensor *graph, const SvTensor *u, int frames, float theta,
                           GError **error);
gboolean sv_stgraph_attention_forward (SvTensor *out, SvTensor *att, const SvTensor *q,
                                       const SvTensor *k, const SvTensor *v, const SvTensor *graph,
                                       int frames, int n_heads, GError **error);
gboolean sv_stgraph_attention_backward (SvTensor *dq, SvTensor *dk, SvTensor *dv, SvTensor *scratch,
                                        const SvTensor *dout, const SvTensor *att,
                                        const SvTensor *q, const SvTensor *k, const SvTensor *v,
                                        const SvTensor *graph, int frames, int n_heads,
                                        GError **error);

/* ---- helpers for op implementations (sv-ops-check.c) ---- */
gboolean sv_check_f32 (const SvTensor *t, const char *op, const char *what, GError **error);
gboolean sv_check_same_backend (const char *op, GError **error, const SvTensor *first,
                                ...) G_GNUC_NULL_TERMINATED;
/* t must have exactly the listed shape (ndim entries) */
gboolean sv_check_shape (const SvTensor *t, const char *op, const char *what, int ndim,
                         const int64_t *shape, GError **error);
gboolean sv_check_numel (const SvTensor *t, const char *op, const char *what, size_t numel,
                         GError **error);
/* rows of the last axis: N = numel / shape[ndim-1] */
int64_t sv_tensor_rows (const SvTensor *t);
int64_t sv_tensor_last (const SvTensor *t);

G_END_DECLS
