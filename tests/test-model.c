/* The S-ViLM model: pre-training forward/backward against the PyTorch reference
 * (tests/reference/svilm_ref.py, llm.c's test_gpt2 pattern), checkpoint round
 * trip, bad checkpoints, and loss switches.
 *
 *   test-model [REFERENCE_SCRIPT]   (the /torch/ case needs the script and python3-torch)
 */
#include "sv-model.h"
#include "sv-test-batch.h"
#include "sv-test.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* A small config that exercises everything: 2 grouping blocks, 2 heads, padding. */
static void
test_config (SvModelConfig *c)
{
  g_assert_true (sv_model_config_preset (c, "tiny", NULL));
  c->frames = 8;
  c->height = 16;
  c->width = 24;
  c->tubelet_t = 2;
  c->patch = 8; /* grid 4 x 2 x 3 = 24 tokens; 4 clips for temporal grouping */
  c->v_width = 32;
  c->v_depth = 2;
  c->v_heads = 2;
  c->v_mlp = 64;
  c->n_groups = 4;
  memset (c->group_after, 0, sizeof c->group_after);
  c->group_after[0] = c->group_after[1] = TRUE;
  c->vocab = 40;
  c->max_len = 8;
  c->t_width = 24;
  c->t_depth = 2;
  c->t_heads = 2;
  c->t_mlp = 48;
  c->embed_dim = 16;
  c->n_nouns = 2;
  /* a warm temperature keeps the temporal term away from its saturated tail, so the
   * comparison sees real gradients through it */
  c->tau_temporal = 1.0f;
}

static const char *ref_script;

/* what a check changes besides the loss weights */
typedef struct {
  int n_stem;         /* convolutions in the stem (channels 4, 6) */
  gboolean hold_some; /* L_s on every other (caption, negative) pair only */
  gboolean word_head; /* the model predicts the caption's words (L_words) */
  gboolean weighted;  /* L_words' targets weigh the tokens (some 0, as idf gives them) */
} Variant;

/* one forward of the pass; the loss term at *term (a field of the pass) */
static float
forward_term (SvTrainPass *pass, const SvTrainBatch *batch, const SvLossWeights *w,
              const float *term)
{
  GError *error = NULL;
  sv_train_pass_forward (pass, batch, w, &error);
  g_assert_no_error (error);
  return *term;
}

/* full pre-training loss and every parameter gradient against PyTorch */
static void
check_against_torch_variant (const SvLossWeights *w, guint64 seed, SvAttentionKind attention,
                             gboolean groups_in_layers, int Q, const Variant *variant)
{
  if (!ref_script) {
    g_test_skip ("no reference script given");
    return;
  }
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE) ||
      system ("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    g_test_skip ("python3-torch is not installed; PyTorch comparison not run");
    return;
  }
  GError *error = NULL;
  SvModelConfig c;
  test_config (&c);
  c.attention = attention;
  c.groups_in_layers = groups_in_layers;
  c.stgraph_theta = 0.0f;     /* random tokens: keep about half of the band */
  c.n_stem = variant->n_stem; /* channels 4, 6: the map at 1/4 scale, tubelets 2 x 2 x 2 on it */
  c.word_head = variant->word_head;
  c.stem[0] = 4;
  c.stem[1] = 6;
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), seed, &error);
  g_assert_no_error (error);
  int B = 3;
  SvTestBatch b;
  sv_test_batch_make_negatives (&b, &c, B, sv_model_n_group_blocks (m), Q, seed + 1);
  if (variant->hold_some) { /* L_s on every other pair only */
    for (int i = 0; i < B * Q; i++)
      b.held[i] = (float) (i % 2 == 0);
    b.batch.separate_held = b.held;
  }
  float *word_weight = g_new (float, c.vocab);
  if (variant->weighted) { /* every third token 0; the others between 0.5 and 3 */
    for (int v = 0; v < c.vocab; v++)
      word_weight[v] = v % 3 == 0 ? 0.0f : 0.5f + (float) ((v * 7) % 11) / 4.0f;
    b.batch.word_weight = word_weight;
  }

  char *dir = g_dir_make_tmp ("svilm-model-XXXXXX", &error);
  g_assert_no_error (error);
  char *mpath = g_build_filename (dir, "model.safetensors", NULL);
  char *bpath = g_build_filename (dir, "batch.safetensors", NULL);
  char *opath = g_build_filename (dir, "ref.safetensors", NULL);
  sv_model_save (m, mpath, &error);
  g_assert_no_error (error);
  sv_test_batch_save (&b, &c, w, bpath);
  const char *argv[] = { "/usr/bin/python3", ref_script, mpath, bpath, opath, NULL };
  int status = 0;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);

  SvTrainPass *pass = sv_train_pass_new_negatives (m, B, Q, &error);
  g_assert_no_error (error);
  if (variant->hold_some) { /* the pairs left out change L_s: all of them give a larger one */
    SvTrainBatch every = b.batch;
    every.separate_held = NULL;
    SvLossWeights apart = { .separate = 1.0f };
    float all_pairs = forward_term (pass, &every, &apart, &pass->loss_separate),
          held = forward_term (pass, &b.batch, &apart, &pass->loss_separate);
    g_test_message ("L_s of the held pairs %.7f, of every pair %.7f", held, all_pairs);
    g_assert_cmpfloat (all_pairs, >, held + 1e-5);
  }
  if (variant->weighted) { /* the weights change the targets, so L_words */
    SvTrainBatch equal = b.batch;
    equal.word_weight = NULL;
    SvLossWeights words = { .words = 1.0f };
    float equal_shares = forward_term (pass, &equal, &words, &pass->loss_words),
          weighted = forward_term (pass, &b.batch, &words, &pass->loss_words);
    g_test_message ("L_words weighted %.7f, equal shares %.7f", weighted, equal_shares);
    g_assert_cmpfloat (fabsf (equal_shares - weighted), >, 1e-4);
  }
  sv_var_set_zero_grad (m->params, &error);
  sv_train_pass_forward (pass, &b.batch, w, &error);
  g_assert_no_error (error);
  sv_train_pass_backward (pass, w, &error);
  g_assert_no_error (error);

  SvSafetensors *st = sv_safetensors_open (opath, &error);
  g_assert_no_error (error);
  g_test_message ("losses C: t %.7f g %.7f c %.7f csal %.7f  torch: t %.7f g %.7f c %.7f csal %.7f",
                  pass->loss_temporal, pass->loss_grounding, pass->loss_contrast, pass->loss_csal,
                  sv_test_ref_scalar (st, "loss_temporal"),
                  sv_test_ref_scalar (st, "loss_grounding"),
                  sv_test_ref_scalar (st, "loss_contrast"), sv_test_ref_scalar (st, "loss_csal"));
  /* a switched-off term is not computed by the C pass (reported as 0) */
  float got[8] = { pass->loss_temporal, pass->loss_grounding, pass->loss_contrast, pass->loss_csal,
                   pass->loss_within,   pass->loss_separate,  pass->loss_words,    pass->loss };
  float want[8] = { w->temporal != 0.0f ? sv_test_ref_scalar (st, "loss_temporal") : 0.0f,
                    w->grounding != 0.0f ? sv_test_ref_scalar (st, "loss_grounding") : 0.0f,
                    w->contrast != 0.0f ? sv_test_ref_scalar (st, "loss_contrast") : 0.0f,
                    w->csal != 0.0f ? sv_test_ref_scalar (st, "loss_csal") : 0.0f,
                    w->within != 0.0f ? sv_test_ref_scalar (st, "loss_within") : 0.0f,
                    w->separate != 0.0f ? sv_test_ref_scalar (st, "loss_separate") : 0.0f,
                    w->words != 0.0f ? sv_test_ref_scalar (st, "loss_words") : 0.0f,
                    sv_test_ref_scalar (st, "loss") };
  /* the temporal term is not degenerate */
  g_assert_cmpfloat (sv_test_ref_scalar (st, "loss_temporal"), >, 1e-3);
  if (w->separate != 0.0f) { /* some pair of caption and negative is within the margin */
    g_test_message ("L_s C %.7f torch %.7f", pass->loss_separate,
                    sv_test_ref_scalar (st, "loss_separate"));
    g_assert_cmpfloat (pass->loss_separate, >, 1e-4);
  }
  if (w->words != 0.0f) /* about ln(vocab) at the start */
    g_assert_cmpfloat (pass->loss_words, >, 1.0f);
  sv_test_assert_close ("losses", got, want, 8, 1e-4, 1e-5);

  SvTensor *fv = sv_test_ref (st, "fv"), *f = sv_test_ref (st, "f"), *z = sv_test_ref (st, "z");
  sv_test_assert_close ("video embedding", sv_tensor_f32 (&pass->video.fv.x), sv_tensor_f32 (fv),
                        fv->numel, 1e-4, 1e-5);
  sv_test_assert_close ("text embeddings", sv_tensor_f32 (&pass->text.f.x), sv_tensor_f32 (f),
                        f->numel, 1e-4, 1e-5);
  sv_test_assert_close ("video tokens", sv_tensor_f32 (&pass->video.z.x), sv_tensor_f32 (z),
                        z->numel, 1e-4, 1e-5);
  sv_tensor_free (fv);
  sv_tensor_free (f);
  sv_tensor_free (z);

  /* every parameter's gradient; tolerance relative to the tensor's largest gradient,
   * since float32 accumulation over a whole model leaves ~1e-6 relative noise */
  double worst = 0.0;
  const char *worst_name = "";
  for (guint i = 0; i < sv_var_set_len (m->params); i++) {
    const char *name = sv_var_set_name (m->params, i);
    char *key = g_strconcat ("grad.", name, NULL);
    SvTensor *ref = sv_test_ref (st, key);
    SvVar *v = sv_var_set_get (m->params, i);
    const float *a = sv_tensor_f32 (&v->d), *r = sv_tensor_f32 (ref);
    double scale = 0.0;
    for (size_t j = 0; j < ref->numel; j++)
      scale = MAX (scale, fabs (r[j]));
    double tol_abs = 1e-5 + 1e-4 * scale;
    double max_err = sv_test_assert_close (name, a, r, ref->numel, 1e-4, tol_abs);
    double rel = scale > 1e-6 ? max_err / scale : 0.0; /* vanishing gradients: abs only */
    if (rel > worst) {
      worst = rel;
      worst_name = sv_var_set_name (m->params, i);
    }
    sv_tensor_free (ref);
    g_free (key);
  }
  g_test_message ("%u parameter gradients compared; worst error relative to the tensor's "
                  "largest gradient: %.2e (%s)",
                  sv_var_set_len (m->params), worst, worst_name);

  sv_safetensors_close (st);
  sv_train_pass_free (pass);
  sv_model_free (m);
  sv_test_batch_free (&b);
  g_free (word_weight);
  g_remove (mpath);
  g_remove (bpath);
  g_remove (opath);
  g_rmdir (dir);
  g_free (mpath);
  g_free (bpath);
  g_free (opath);
  g_free (dir);
}

static void
check_against_torch (const SvLossWeights *w, guint64 seed, SvAttentionKind attention,
                     gboolean groups_in_layers, int Q)
{
  const Variant plain = { 0 };
  check_against_torch_variant (w, seed, attention, groups_in_layers, Q, &plain);
}

/* a convolutional stem before the tubelet embedding: one layer and two */
static void
test_torch_stem (void)
{
  SvLossWeights w = { 1.0f, 1.0f, 1.0f };
  const Variant one = { .n_stem = 1 }, two = { .n_stem = 2 };
  check_against_torch_variant (&w, 41, SV_ATTENTION_FULL, TRUE, 0, &one);
  check_against_torch_variant (&w, 43, SV_ATTENTION_FULL, TRUE, 0, &two);
}

static void
test_torch_full_loss (void)
{
  SvLossWeights w = { 1.0f, 1.0f, 1.0f };
  check_against_torch (&w, 11, SV_ATTENTION_FULL, TRUE, 0);
}

static void
test_torch_stgraph (void)
{
  SvLossWeights w = { 1.0f, 1.0f, 1.0f };
  check_against_torch (&w, 31, SV_ATTENTION_STGRAPH, FALSE, 0);
}

static void
test_torch_weighted_loss (void)
{
  SvLossWeights w = { 0.5f, 2.0f, 0.0f, 0.0f };
  check_against_torch (&w, 23, SV_ATTENTION_FULL, TRUE, 0);
}

/* the grouping blocks alone write the group tokens (models before groups_in_layers) */
static void
test_torch_groups_by_blocks (void)
{
  SvLossWeights w = { 1.0f, 1.0f, 1.0f };
  check_against_torch (&w, 17, SV_ATTENTION_FULL, FALSE, 0);
}

/* STGT's CSAL term, alone and with the other three */
static void
test_torch_csal (void)
{
  SvLossWeights alone = { 0.0f, 0.0f, 0.0f, 1.0f }, all = { 1.0f, 1.0f, 1.0f, 0.5f };
  check_against_torch (&alone, 41, SV_ATTENTION_FULL, TRUE, 0);
  check_against_torch (&all, 43, SV_ATTENTION_STGRAPH, FALSE, 0);
}

/* groups_in_layers: on in the presets, off for configs written before it existed, kept
 * through JSON, and refused with stgraph or without a grouping block after the last layer */
/* grounding within a video (L_w) with the other terms, and alone next to L_g; caption 0
 * has one phrase (a uniform target row) */
static void
test_torch_within (void)
{
  SvLossWeights all = { 1.0f, 1.0f, 1.0f, 0.0f, 1.0f }, mostly = { 0.0f, 0.5f, 0.0f, 0.0f, 2.0f };
  check_against_torch (&all, 77, SV_ATTENTION_FULL, TRUE, 0);
  check_against_torch (&mostly, 78, SV_ATTENTION_FULL, TRUE, 0);
}

/* negative captions in the contrastive term (two a caption), with every other term, and
 * held apart (L_s), all of them or every other one */
static void
test_torch_negatives (void)
{
  SvLossWeights all = { 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 2.0f },
                alone = { 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f },
                apart = { 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f };
  check_against_torch (&all, 91, SV_ATTENTION_FULL, TRUE, 2);
  check_against_torch (&alone, 92, SV_ATTENTION_FULL, TRUE, 1);
  check_against_torch (&apart, 93, SV_ATTENTION_FULL, TRUE, 3);
  /* only some pairs held apart (pretrain --separate-which sides) */
  const Variant hold = { .hold_some = TRUE };
  check_against_torch_variant (&all, 94, SV_ATTENTION_FULL, TRUE, 2, &hold);
}

/* the caption's words from the clip (L_words), alone and with every other term, and with
 * weighted targets (--words-weighting idf) */
static void
test_torch_words (void)
{
  SvLossWeights alone = { .words = 1.0f },
                all = { 1.0f, 1.0f, 1.0f, 0.0f, 1.0f, 1.0f, .words = 0.5f };
  const Variant words = { .word_head = TRUE }, weighted = { .word_head = TRUE, .weighted = TRUE };
  check_against_torch_variant (&alone, 95, SV_ATTENTION_FULL, TRUE, 0, &words);
  check_against_torch_variant (&all, 96, SV_ATTENTION_FULL, TRUE, 2, &words);
  check_against_torch_variant (&alone, 97, SV_ATTENTION_FULL, TRUE, 0, &weighted);
}

/* word_head: off in the presets and in configs written before it (and not written when
 * off), kept through JSON, refused when not a boolean; its two parameters only when on,
 * and a forward that asks for L_words without them is an error */
static void
test_config_word_head (void)
{
  SvModelConfig c, back;
  GError *error = NULL;
  g_assert_true (sv_model_config_preset (&c, "tiny", NULL));
  g_assert_false (c.word_head);
  char *json = sv_model_config_to_json (&c);
  g_assert_null (strstr (json, "word_head"));
  g_free (json);
  c.word_head = TRUE;
  json = sv_model_config_to_json (&c);
  g_assert_nonnull (strstr (json, "\"word_head\":true"));
  g_assert_true (sv_model_config_from_json (&back, json, &error));
  g_assert_no_error (error);
  g_assert_true (back.word_head);
  g_free (json);
  g_assert_true (sv_model_config_from_json (&back, "{\"frames\": 8}", &error));
  g_assert_false (back.word_head);
  g_assert_false (sv_model_config_from_json (&back, "{\"word_head\": 1}", &error));
  g_assert_nonnull (strstr (error->message, "word_head"));
  g_clear_error (&error);

  test_config (&c);
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), 1, &error);
  g_assert_no_error (error);
  g_assert_null (sv_var_set_find (m->params, "words.weight"));
  SvTestBatch b;
  sv_test_batch_make (&b, &c, 2, sv_model_n_group_blocks (m), 5);
  SvTrainPass *pass = sv_train_pass_new (m, 2, &error);
  g_assert_no_error (error);
  SvLossWeights words = { .words = 1.0f };
  g_assert_false (sv_train_pass_forward (pass, &b.batch, &words, &error));
  g_assert_nonnull (strstr (error->message, "word head"));
  g_clear_error (&error);
  sv_train_pass_free (pass);
  sv_model_free (m);
  c.word_head = TRUE;
  m = sv_model_new (&c, sv_backend_cpu (), 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sv_var_set_find (m->params, "words.weight")->x.shape[0], ==, c.vocab);
  g_assert_cmpint (sv_var_set_find (m->params, "words.bias")->x.shape[0], ==, c.vocab);
  sv_model_free (m);
  sv_test_batch_free (&b);
}

/* stem: none in the presets and in configs written before it, kept through JSON, refused
 * where its strides do not divide the patch or a channel count is not one */
static void
test_config_stem (void)
{
  SvModelConfig c, back;
  GError *error = NULL;
  g_assert_true (sv_model_config_preset (&c, "tiny", NULL));
  g_assert_cmpint (c.n_stem, ==, 0);
  c.n_stem = 2;
  c.stem[0] = 32;
  c.stem[1] = 64;
  g_assert_true (sv_model_config_validate (&c, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sv_model_config_stem_patch (&c), ==, 2);
  char *json = sv_model_config_to_json (&c);
  g_assert_true (strstr (json, "\"stem\":[32,64]"));
  g_assert_true (sv_model_config_from_json (&back, json, &error));
  g_assert_no_error (error);
  g_assert_cmpint (back.n_stem, ==, 2);
  g_assert_cmpint (back.stem[0], ==, 32);
  g_assert_cmpint (back.stem[1], ==, 64);
  g_free (json);
  g_assert_true (sv_model_config_from_json (&back, "{\"frames\": 8}", &error));
  g_assert_cmpint (back.n_stem, ==, 0);
  const char *bad[] = {
    "{\"stem\": 32}",                         /* not an array */
    "{\"stem\": [32, 0]}",                    /* no channels */
    "{\"stem\": [32, 1.5]}",                  /* not an integer */
    "{\"stem\": [8, 8, 8, 8, 8]}",            /* more layers than SV_MAX_STEM */
    "{\"stem\": [8, 8, 8, 8], \"patch\": 8}", /* 2^4 does not divide the patch */
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_false (sv_model_config_from_json (&back, bad[i], &error));
    g_assert_nonnull (error);
    g_test_message ("%s: %s", bad[i], error->message);
    g_clear_error (&error);
  }
  /* a model with a stem has its parameters, and a config without one has none */
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), 1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sv_var_set_find (m->params, "video.stem.1.weight"));
  g_assert_cmpint (sv_var_set_find (m->params, "video.patch_embed.weight")->x.shape[1], ==,
                   2 * 2 * 2 * 64);
  sv_model_free (m);
  c.n_stem = 0;
  m = sv_model_new (&c, sv_backend_cpu (), 1, &error);
  g_assert_no_error (error);
  g_assert_null (sv_var_set_find (m->params, "video.stem.0.weight"));
  sv_model_free (m);
}

static void
test_config_groups_in_layers (void)
{
  SvModelConfig c, back;
  GError *error = NULL;
  g_assert_true (sv_model_config_preset (&c, "tiny", NULL));
  g_assert_true (c.groups_in_layers);
  char *json = sv_model_config_to_json (&c);
  g_assert_true (sv_model_config_from_json (&back, json, &error));
  g_assert_no_error (error);
  g_assert_true (back.groups_in_layers);
  g_free (json);
  g_assert_true (sv_model_config_from_json (&back, "{\"frames\": 8}", &error));
  g_assert_false (back.groups_in_layers);
  g_assert_false (sv_model_config_from_json (&back, "{\"groups_in_layers\": 1}", &error));
  g_assert_error (error, SV_ERROR, SV_ERROR_FORMAT);
  g_clear_error (&error);
  c.attention = SV_ATTENTION_STGRAPH;
  g_assert_false (sv_model_config_validate (&c, &error));
  g_assert_nonnull (strstr (error->message, "full attention"));
  g_clear_error (&error);
  c.attention = SV_ATTENTION_FULL;
  c.group_after[c.v_depth - 1] = FALSE;
  g_assert_false (sv_model_config_validate (&c, &error));
  g_assert_nonnull (strstr (error->message, "last layer"));
  g_clear_error (&error);
  c.groups_in_layers = FALSE;
  g_assert_true (sv_model_config_validate (&c, NULL));
}

static float *
fetch (const SvTensor *t)
{
  float *h = g_new (float, t->numel);
  g_assert_true (sv_tensor_download (t, h, t->numel * 4, NULL));
  return h;
}

static void
assert_same_tensor (const SvTensor *a, const SvTensor *b)
{
  g_assert_cmpuint (a->numel, ==, b->numel);
  float *ha = fetch (a), *hb = fetch (b);
  g_assert_cmpmem (ha, a->numel * 4, hb, b->numel * 4);
  g_free (ha);
  g_free (hb);
}

/* The inference activations share one layer's intermediates with the next layers' and,
 * on a joint stream, keep only the group rows of the attention: the same outputs as a
 * training plan's forward (without noise), twice in a row (nothing stale) */
static void
test_inference_acts (void)
{
  for (int variant = 0; variant < 3; variant++) {
    GError *error = NULL;
    SvModelConfig c;
    test_config (&c);
    c.groups_in_layers = variant == 0;
    if (variant == 2)
      c.attention = SV_ATTENTION_STGRAPH;
    g_assert_true (sv_model_config_validate (&c, NULL));
    SvModel *m = sv_model_new (&c, sv_backend_cpu (), 17, &error);
    g_assert_no_error (error);
    SvTestBatch b;
    sv_test_batch_make (&b, &c, 2, sv_model_n_group_blocks (m), 3);
    SvVarSet *sets[2];
    SvVideoActs va[2];
    for (int inf = 0; inf < 2; inf++) {
      sets[inf] = sv_var_set_new_inference (sv_backend_cpu ());
      g_assert_true (sv_video_acts_plan (sets[inf], &va[inf], &c, 2, !inf, &error) &&
                     sv_var_set_commit (sets[inf], &error) &&
                     sv_video_acts_init (&va[inf], &c, &error));
      g_assert_no_error (error);
      g_assert_true (sv_tensor_upload (&va[inf].video, b.video, va[inf].video.numel * 4, NULL));
    }
    g_assert_cmpuint (sv_arena_bytes (sets[1]->x), <, sv_arena_bytes (sets[0]->x));
    g_assert_true (va[1].att_rows == (variant == 0));
    for (int run = 0; run < 2; run++) {
      for (int inf = 0; inf < 2; inf++)
        g_assert_true (sv_video_forward (&m->video, &va[inf], &c, FALSE, &error));
      assert_same_tensor (&va[0].fv.x, &va[1].fv.x);
      assert_same_tensor (&va[0].z.x, &va[1].z.x);
      assert_same_tensor (&va[0].gf.x, &va[1].gf.x);
      assert_same_tensor (&va[0].gblocks[va[0].last_group].y, &va[1].gblocks[va[1].last_group].y);
      for (int l = 0; l < c.v_depth; l++) {
        if (!va[1].att_rows) {
          assert_same_tensor (&va[0].blocks[l].att, &va[1].blocks[l].att);
          continue;
        }
        /* rows Nv.. of each head of each clip */
        int H = c.v_heads, M = c.n_groups, Nv = va[0].Nv, N = Nv + M;
        float *full = fetch (&va[0].blocks[l].att), *rows = fetch (&va[1].att_groups[l]);
        for (int bh = 0; bh < 2 * H; bh++)
          g_assert_cmpmem (rows + (gsize) bh * M * N, (gsize) M * N * 4,
                           full + ((gsize) bh * N + Nv) * N, (gsize) M * N * 4);
        g_free (full);
        g_free (rows);
      }
      /* the second run starts from other inputs left in the shared memory */
      sv_test_batch_free (&b);
      sv_test_batch_make (&b, &c, 2, sv_model_n_group_blocks (m), 4 + run);
      for (int inf = 0; inf < 2; inf++)
        g_assert_true (sv_tensor_upload (&va[inf].video, b.video, va[inf].video.numel * 4, NULL));
    }
    for (int inf = 0; inf < 2; inf++)
      sv_var_set_free (sets[inf]);
    sv_test_batch_free (&b);
    sv_model_free (m);
  }
}

/* linear_init: fan-in in the presets, normal for configs written before it, kept through
 * JSON, bad values refused; the weights a new model starts from follow it (uniform in
 * +-1/sqrt(in), std 1/sqrt(3 in); or std 0.02), embeddings stay at std 0.02 */
static double
var_std (SvModel *m, const char *name, double *max_abs)
{
  SvVar *v = sv_var_set_find (m->params, name);
  g_assert_nonnull (v);
  const float *w = sv_tensor_f32 (&v->x);
  double s = 0.0;
  *max_abs = 0.0;
  for (size_t i = 0; i < v->x.numel; i++) {
    s += (double) w[i] * w[i];
    *max_abs = MAX (*max_abs, fabs (w[i]));
  }
  return sqrt (s / v->x.numel);
}

static void
test_config_linear_init (void)
{
  SvModelConfig c, back;
  GError *error = NULL;
  g_assert_true (sv_model_config_preset (&c, "tiny", NULL));
  g_assert_cmpint (c.linear_init, ==, SV_LINEAR_INIT_FAN_IN);
  char *json = sv_model_config_to_json (&c);
  g_assert_nonnull (strstr (json, "\"linear_init\":\"fan-in\""));
  g_assert_true (sv_model_config_from_json (&back, json, &error));
  g_assert_cmpint (back.linear_init, ==, SV_LINEAR_INIT_FAN_IN);
  g_free (json);
  g_assert_true (sv_model_config_from_json (&back, "{\"frames\": 8}", &error));
  g_assert_cmpint (back.linear_init, ==, SV_LINEAR_INIT_NORMAL);
  g_assert_false (sv_model_config_from_json (&back, "{\"linear_init\": \"xavier\"}", &error));
  g_assert_error (error, SV_ERROR, SV_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "linear_init"));
  g_clear_error (&error);

  double max_abs, fc2_bound = 1.0 / sqrt (c.v_mlp);
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), 5, &error);
  g_assert_no_error (error);
  double fc2 = var_std (m, "video.blocks.0.mlp.fc2.weight", &max_abs);
  g_assert_cmpfloat (max_abs, <=, fc2_bound);
  g_assert_cmpfloat (fabs (fc2 - fc2_bound / sqrt (3.0)), <, 0.02 * fc2_bound);
  double q = var_std (m, "text.blocks.0.attn.q.weight", &max_abs);
  g_assert_cmpfloat (fabs (q - 1.0 / sqrt (3.0 * c.t_width)), <, 0.05 / sqrt (c.t_width));
  double emb = var_std (m, "text.token_embed", &max_abs);
  g_assert_cmpfloat (fabs (emb - 0.0176), <, 0.002); /* std 0.02 truncated at 2 sigma */
  sv_model_free (m);

  c.linear_init = SV_LINEAR_INIT_NORMAL;
  m = sv_model_new (&c, sv_backend_cpu (), 5, &error);
  g_assert_no_error (error);
  fc2 = var_std (m, "video.blocks.0.mlp.fc2.weight", &max_abs);
  g_assert_cmpfloat (fabs (fc2 - 0.0176), <, 0.002);
  sv_model_free (m);
}

/* CSAL targets on hand-made embeddings: orthogonal pairs keep the cut-and-paste weights
 * (smoothed); two identical pairs share their targets */
static void
test_csal_targets (void)
{
  enum { B = 3, E = 4 };
  float fv[B * E] = { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0 }, fc[B * E];
  memcpy (fc, fv, sizeof fv);
  float Wv[B * B] = { 0.75f, 0.25f, 0, 0, 0.5f, 0.5f, 0.6f, 0, 0.4f };
  float Tv[B * B], Tc[B * B];
  sv_csal_targets (fv, fc, Wv, B, E, Tv, Tc);
  for (int i = 0; i < B; i++)
    for (int j = 0; j < B; j++) {
      g_assert_cmpfloat_with_epsilon (Tv[i * B + j], 0.99f * Wv[i * B + j] + 0.01f / B, 1e-6);
      g_assert_cmpfloat_with_epsilon (Tc[i * B + j], 0.99f * Wv[j * B + i] + 0.01f / B, 1e-6);
    }
  /* videos 0 and 1 identical, captions 0 and 1 identical: Y spreads 0's mass over {0, 1} */
  float gv[B * E] = { 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0 };
  float I[B * B] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };
  sv_csal_targets (gv, gv, I, B, E, Tv, Tc);
  g_assert_cmpfloat_with_epsilon (Tv[0], Tv[1], 1e-6);
  g_assert_cmpfloat_with_epsilon (Tv[0], 0.99f * 0.5f + 0.01f / B, 1e-6);
  g_assert_cmpfloat_with_epsilon (Tv[2], 0.01f / B, 1e-6);
  g_assert_cmpfloat_with_epsilon (Tv[8], 0.99f + 0.01f / B, 1e-6);
}

/* save -> load gives bit-identical parameters and config */
static void
test_checkpoint_round_trip (void)
{
  GError *error = NULL;
  SvModelConfig c;
  test_config (&c);
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), 5, &error);
  g_assert_no_error (error);
  char *dir = g_dir_make_tmp ("svilm-ckpt-XXXXXX", &error);
  char *path = g_build_filename (dir, "m.safetensors", NULL);
  sv_model_save (m, path, &error);
  g_assert_no_error (error);
  SvModel *m2 = sv_model_load (path, sv_backend_cpu (), &error);
  g_assert_no_error (error);
  g_assert_cmpmem (&m->cfg, sizeof m->cfg, &m2->cfg, sizeof m2->cfg);
  g_assert_cmpuint (sv_var_set_len (m->params), ==, sv_var_set_len (m2->params));
  for (guint i = 0; i < sv_var_set_len (m->params); i++) {
    SvVar *a = sv_var_set_get (m->params, i), *b = sv_var_set_get (m2->params, i);
    g_assert_cmpstr (sv_var_set_name (m->params, i), ==, sv_var_set_name (m2->params, i));
    g_assert_cmpmem (a->x.data, a->x.numel * 4, b->x.data, b->x.numel * 4);
  }
  sv_model_free (m2);

  /* a truncated copy and a file that is not a model are errors with messages */
  char *bytes = NULL;
  gsize len = 0;
  g_file_get_contents (path, &bytes, &len, &error);
  g_assert_no_error (error);
  char *bad = g_build_filename (dir, "bad.safetensors", NULL);
  g_file_set_contents (bad, bytes, (gssize) (len / 2), &error);
  g_assert_no_error (error);
  g_assert_null (sv_model_load (bad, sv_backend_cpu (), &error));
  g_assert_nonnull (error);
  g_test_message ("truncated: %s", error->message);
  g_clear_error (&error);
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  float x = 1.0f;
  sv_safetensors_writer_add (w, "x", SV_F32, 1, (int64_t[]){ 1 }, &x, &error);
  sv_safetensors_writer_write (w, bad, &error);
  g_assert_no_error (error);
  sv_safetensors_writer_free (w);
  g_assert_null (sv_model_load (bad, sv_backend_cpu (), &error));
  sv_test_expect_error (&error, SV_ERROR_FORMAT);
  g_remove (bad);
  g_free (bad);
  g_free (bytes);

  sv_model_free (m);
  g_remove (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

/* a pass rejects batches whose cut-and-paste left no background clip */
static void
test_bad_batch (void)
{
  GError *error = NULL;
  SvModelConfig c;
  test_config (&c);
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), 3, &error);
  SvTestBatch b;
  sv_test_batch_make (&b, &c, 2, sv_model_n_group_blocks (m), 4);
  for (int j = 0; j < b.Nt; j++)
    b.fg[j] = 1.0f;
  SvTrainPass *pass = sv_train_pass_new (m, 2, &error);
  g_assert_no_error (error);
  SvLossWeights w = { 1, 1, 1 };
  g_assert_false (sv_train_pass_forward (pass, &b.batch, &w, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_null (sv_train_pass_new (m, 1, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  sv_train_pass_free (pass);
  sv_test_batch_free (&b);
  sv_model_free (m);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  if (argc > 1)
    ref_script = argv[1];
  g_test_add_func ("/model/checkpoint-round-trip", test_checkpoint_round_trip);
  g_test_add_func ("/model/bad-batch", test_bad_batch);
  g_test_add_func ("/model/inference-acts", test_inference_acts);
  g_test_add_func ("/torch/model-full-loss", test_torch_full_loss);
  g_test_add_func ("/torch/model-stem", test_torch_stem);
  g_test_add_func ("/torch/model-negatives", test_torch_negatives);
  g_test_add_func ("/torch/model-words", test_torch_words);
  g_test_add_func ("/torch/model-weighted-loss", test_torch_weighted_loss);
  g_test_add_func ("/torch/model-stgraph", test_torch_stgraph);
  g_test_add_func ("/torch/model-groups-by-blocks", test_torch_groups_by_blocks);
  g_test_add_func ("/model/csal-targets", test_csal_targets);
  g_test_add_func ("/model/config-groups-in-layers", test_config_groups_in_layers);
  g_test_add_func ("/model/config-stem", test_config_stem);
  g_test_add_func ("/model/config-word-head", test_config_word_head);
  g_test_add_func ("/model/config-linear-init", test_config_linear_init);
  g_test_add_func ("/torch/model-csal", test_torch_csal);
  g_test_add_func ("/torch/model-within", test_torch_within);
  return g_test_run ();
}
