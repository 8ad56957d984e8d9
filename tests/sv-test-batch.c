/* Random pre-training batches for tests and benchmarks. */
#include "sv-test-batch.h"

#include "sv-safetensors.h"

#include <string.h>

/* random clips, captions of random length, a cut-and-paste of video i onto i+1 */
void
sv_test_batch_make (SvTestBatch *b, const SvModelConfig *c, int B, int n_group_blocks, guint64 seed)
{
  sv_test_batch_make_negatives (b, c, B, n_group_blocks, 0, seed);
}

void
sv_test_batch_make_negatives (SvTestBatch *b, const SvModelConfig *c, int B, int n_group_blocks,
                              int Q, guint64 seed)
{
  SvRng rng;
  sv_rng_seed (&rng, seed);
  b->B = B;
  b->Q = Q;
  b->Bt = B * (1 + Q + c->n_nouns);
  b->L = c->max_len;
  b->Nt = sv_model_config_grid_t (c);
  b->G = n_group_blocks;
  b->M = c->n_groups;
  b->Nv = sv_model_config_video_tokens (c);
  size_t nvid = (size_t) B * c->frames * c->height * c->width * 3;
  b->video = g_new (float, nvid);
  sv_rng_fill_uniform (&rng, b->video, nvid, -1, 1);
  b->ids = g_new0 (int32_t, (size_t) b->Bt * b->L);
  b->mask = g_new0 (float, (size_t) b->Bt * b->L);
  for (int r = 0; r < b->Bt; r++) {
    int len = 3 + (int) sv_rng_below (&rng, (uint32_t) (b->L - 2)); /* 3..L */
    b->ids[r * b->L] = SV_TOKEN_CLS;
    for (int t = 1; t < len - 1; t++)
      b->ids[r * b->L + t] = 4 + (int32_t) sv_rng_below (&rng, (uint32_t) (c->vocab - 4));
    b->ids[r * b->L + len - 1] = SV_TOKEN_SEP;
    for (int t = 0; t < len; t++)
      b->mask[r * b->L + t] = 1.0f;
  }
  /* a negative is its caption with one word changed, as svilm-train's are */
  for (int r = B; r < B * (1 + Q); r++) {
    int j = (r - B) / Q, len = 0;
    memcpy (b->ids + r * b->L, b->ids + j * b->L, (size_t) b->L * sizeof (int32_t));
    memcpy (b->mask + r * b->L, b->mask + j * b->L, (size_t) b->L * sizeof (float));
    while (len < b->L && b->mask[r * b->L + len] != 0.0f)
      len++;
    int at = 1 + (int) sv_rng_below (&rng, (uint32_t) MAX (len - 2, 1));
    if (at < len - 1)
      b->ids[r * b->L + at] = 4 + (int32_t) sv_rng_below (&rng, (uint32_t) (c->vocab - 4));
  }
  b->held = g_new (float, MAX ((size_t) B * Q, 1));
  for (int i = 0; i < B * Q; i++)
    b->held[i] = 1.0f;
  b->fg = g_new0 (float, (size_t) B * b->Nt);
  b->Wv = g_new0 (float, (size_t) B *B);
  for (int i = 0; i < B; i++) {
    /* method.md section 3: d in [Nt/2, Nt), s in [0, Nt - d) */
    int d = b->Nt / 2 + (int) sv_rng_below (&rng, (uint32_t) (b->Nt - b->Nt / 2));
    d = MAX (d, 1);
    int s = (int) sv_rng_below (&rng, (uint32_t) MAX (b->Nt - d, 1));
    for (int j = s; j < s + d; j++)
      b->fg[i * b->Nt + j] = 1.0f;
    float beta = (float) d / (float) b->Nt;
    b->Wv[i * B + i] = beta;
    b->Wv[i * B + (i + 1) % B] = 1.0f - beta;
  }
  size_t nn = (size_t) b->G * B * b->M * b->Nv;
  b->noise = g_new (float, MAX (nn, 1));
  sv_rng_fill_gumbel (seed, 99, b->noise, nn);
  /* caption 0 has one phrase in all its prompts, the others K distinct ones */
  b->K = c->n_nouns;
  int *n_phrases = g_new (int, B);
  for (int i = 0; i < B; i++)
    n_phrases[i] = i == 0 ? 1 : b->K;
  b->within = g_new (float, (size_t) B * b->K * b->K);
  sv_within_targets (n_phrases, B, b->K, b->within);
  g_free (n_phrases);
  b->batch = (SvTrainBatch){ .video = b->video,
                             .ids = b->ids,
                             .mask = b->mask,
                             .fg = b->fg,
                             .Wv = b->Wv,
                             .noise = b->noise,
                             .within_targets = b->within };
}

void
sv_test_batch_free (SvTestBatch *b)
{
  g_free (b->video);
  g_free (b->ids);
  g_free (b->mask);
  g_free (b->fg);
  g_free (b->Wv);
  g_free (b->noise);
  g_free (b->within);
  g_free (b->held);
}

void
sv_test_batch_save (SvTestBatch *b, const SvModelConfig *c, const SvLossWeights *w,
                    const char *path)
{
  GError *error = NULL;
  SvSafetensorsWriter *wr = sv_safetensors_writer_new ();
  float weights[7] = { w->temporal, w->grounding, w->contrast, w->csal,
                       w->within,   w->separate,  w->words };
  float negatives = (float) b->Q;
  sv_safetensors_writer_add (wr, "video", SV_F32, 5,
                             (int64_t[]){ b->B, c->frames, c->height, c->width, 3 }, b->video,
                             &error);
  sv_safetensors_writer_add (wr, "ids", SV_I32, 2, (int64_t[]){ b->Bt, b->L }, b->ids, &error);
  sv_safetensors_writer_add (wr, "mask", SV_F32, 2, (int64_t[]){ b->Bt, b->L }, b->mask, &error);
  sv_safetensors_writer_add (wr, "fg", SV_F32, 2, (int64_t[]){ b->B, b->Nt }, b->fg, &error);
  sv_safetensors_writer_add (wr, "Wv", SV_F32, 2, (int64_t[]){ b->B, b->B }, b->Wv, &error);
  sv_safetensors_writer_add (wr, "noise", SV_F32, 4, (int64_t[]){ b->G, b->B, b->M, b->Nv },
                             b->noise, &error);
  sv_safetensors_writer_add (wr, "within_targets", SV_F32, 2, (int64_t[]){ b->B * b->K, b->K },
                             b->within, &error);
  sv_safetensors_writer_add (wr, "weights", SV_F32, 1, (int64_t[]){ 7 }, weights, &error);
  sv_safetensors_writer_add (wr, "negatives", SV_F32, 1, (int64_t[]){ 1 }, &negatives, &error);
  if (b->batch.separate_held)
    sv_safetensors_writer_add (wr, "separate_held", SV_F32, 1, (int64_t[]){ b->B * b->Q },
                               b->batch.separate_held, &error);
  if (b->batch.word_weight)
    sv_safetensors_writer_add (wr, "word_weight", SV_F32, 1, (int64_t[]){ c->vocab },
                               b->batch.word_weight, &error);
  g_assert_no_error (error);
  sv_safetensors_writer_write (wr, path, &error);
  g_assert_no_error (error);
  sv_safetensors_writer_free (wr);
}
