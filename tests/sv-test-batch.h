/* A random pre-training batch (clips, captions of random length, a cut-and-paste
 * of video i onto i+1, Gumbel noise, L_w's targets with caption 0 of one phrase) for tests and
 * benchmarks, and its safetensors form for the PyTorch reference. */
#pragma once

#include "sv-model.h"

typedef struct {
  int B, Bt, L, Nt, G, M, Nv, K, Q; /* Q: negative captions a caption (random token rows) */
  float *video, *mask, *fg, *Wv, *noise, *within; /* within: L_w's targets [B*K, K] */
  float *held; /* [B*Q] L_s's pairs, all 1 (batch.separate_held is NULL until a test sets it) */
  int32_t *ids;
  SvTrainBatch batch;
} SvTestBatch;

void sv_test_batch_make (SvTestBatch *b, const SvModelConfig *c, int B, int n_group_blocks,
                         guint64 seed);
/* with Q negative captions a caption (for sv_train_pass_new_negatives) */
void sv_test_batch_make_negatives (SvTestBatch *b, const SvModelConfig *c, int B,
                                   int n_group_blocks, int Q, guint64 seed);
void sv_test_batch_free (SvTestBatch *b);
void sv_test_batch_save (SvTestBatch *b, const SvModelConfig *c, const SvLossWeights *w,
                         const char *path);
