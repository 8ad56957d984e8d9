/* The scene head (svilm-core/sv-scene-head.h): the pair inputs, the training pass against
 * finite differences and PyTorch (tests/torch/ref_scene_head.py), the host inference path
 * against the training pass, and a model that carries a head through save, load and
 * svilm_clip_get_boundaries. */
#include "sv-model.h"
#include "sv-scene-head.h"
#include "sv-test.h"
#include "svilm-model.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define NT 4
#define D 16
#define H 8

static void
small_config (SvModelConfig *c)
{
  GError *error = NULL;
  g_assert_true (sv_model_config_preset (c, "tiny", &error));
  c->v_width = D; /* frames 8, tubelets 2 deep: 4 slices */
  c->scene_hidden = H;
}

static void
test_pairs (void)
{
  /* (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) */
  int want[NT][NT] = { { -1, 0, 1, 2 }, { -1, -1, 3, 4 }, { -1, -1, -1, 5 } };
  for (int i = 0; i < NT; i++)
    for (int k = i + 1; k < NT; k++)
      g_assert_cmpint (sv_scene_head_pair_index (NT, i, k), ==, want[i][k]);
  g_assert_cmpint (sv_scene_head_n_pairs (NT), ==, 6);
  g_assert_cmpint (sv_scene_head_n_pairs (8), ==, 28);
  g_assert_cmpint (sv_scene_head_pair_index (8, 6, 7), ==, 27);
  g_assert_cmpint (sv_scene_head_inputs (NT, D, 0), ==, 4 * D + 6);
  g_assert_cmpint (sv_scene_head_inputs (NT, D, SV_SCENE_PIXEL_CUES), ==, 4 * D + 6 + 8);

  float s[NT * D] = { 0 }, x[4 * D + 6 + SV_SCENE_PIXEL_CUES];
  for (int d = 0; d < D; d++) {
    s[1 * D + d] = 0.5f;           /* slice 1 */
    s[3 * D + d] = d % 2 ? 1 : -1; /* slice 3 */
  }
  const float cues[SV_SCENE_PIXEL_CUES] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  x[4 * D + 6] = -7.0f; /* without cues nothing is written after the one-hot */
  sv_scene_head_pair_input (s, NT, D, 1, 3, NULL, 0, x);
  g_assert_cmpfloat (x[4 * D + 6], ==, -7.0f);
  sv_scene_head_pair_input (s, NT, D, 1, 3, cues, SV_SCENE_PIXEL_CUES, x);
  for (int j = 0; j < SV_SCENE_PIXEL_CUES; j++)
    g_assert_cmpfloat (x[4 * D + 6 + j], ==, cues[j]);
  for (int d = 0; d < D; d++) {
    float b = d % 2 ? 1.0f : -1.0f;
    g_assert_cmpfloat (x[d], ==, 0.5f);
    g_assert_cmpfloat (x[D + d], ==, b);
    g_assert_cmpfloat (x[2 * D + d], ==, 0.5f * b);
    g_assert_cmpfloat (x[3 * D + d], ==, fabsf (0.5f - b));
  }
  for (int p = 0; p < 6; p++)
    g_assert_cmpfloat (x[4 * D + p], ==, p == 4 ? 1.0f : 0.0f);
}

/* a model frame of one colour (v in [0, 1] per channel, prepared as sv-frames.h does) */
static void
fill_frame (float *f, int pixels, float r, float g, float b)
{
  for (int p = 0; p < pixels; p++) {
    f[p * 3 + 0] = (r - 0.45f) / 0.225f;
    f[p * 3 + 1] = (g - 0.45f) / 0.225f;
    f[p * 3 + 2] = (b - 0.45f) / 0.225f;
  }
}

/* the cues of pair (i, k), through the window's computation */
static void
pixel_cues (const float *const *frames, int T, int S, int Nt, int i, int k, float *c)
{
  float *all = g_new (float, (gsize) sv_scene_head_n_pairs (Nt) * SV_SCENE_PIXEL_CUES);
  float *scratch = g_new (float, sv_scene_head_window_cues_scratch (Nt));
  sv_scene_head_window_cues (frames, T, S, S, Nt, scratch, all);
  memcpy (c, all + (gsize) sv_scene_head_pair_index (Nt, i, k) * SV_SCENE_PIXEL_CUES,
          SV_SCENE_PIXEL_CUES * sizeof (float));
  g_free (all);
  g_free (scratch);
}

/* slices of one frame (tubelet_t 1) are summarised once for both ends: their cues are
 * those of the same frames each shown twice (slices of two equal frames) */
static void
test_pixel_cues_one_frame_slices (void)
{
  enum { Nt = 4, S = 32, PX = S * S };
  static float buf[Nt][PX * 3];
  const float *one[Nt], *two[2 * Nt];
  for (int t = 0; t < Nt; t++) {
    for (int p = 0; p < PX; p++) {
      int x = p % S, y = p / S;
      fill_frame (buf[t] + p * 3, 1, (float) ((x * (t + 1) + y) % 7) / 7.0f, t == 2 ? 0.9f : 0.3f,
                  (float) (y % 5) / 5.0f);
    }
    one[t] = buf[t];
    two[2 * t] = two[2 * t + 1] = buf[t];
  }
  for (int i = 0; i < Nt; i++)
    for (int k = i + 1; k < Nt; k++) {
      float a[SV_SCENE_PIXEL_CUES], b[SV_SCENE_PIXEL_CUES];
      pixel_cues (one, Nt, S, Nt, i, k, a);
      pixel_cues (two, 2 * Nt, S, Nt, i, k, b);
      for (int j = 0; j < SV_SCENE_PIXEL_CUES; j++)
        g_assert_cmpfloat (a[j], ==, b[j]);
    }
}

static void
test_pixel_cues (void)
{
  /* 4 slices of 2 frames of 64x64 (the cues' thumbnails: cells of 4x4 pixels): slices 0
   * and 1 a pattern; slice 2 the pattern panned 8 pixels (2 cells) to the left, edge
   * repeated; slice 3 blue, its second frame with the top half red */
  enum { T = 8, S = 64, PX = S * S };
  static float buf[T][PX * 3];
  const float *frames[T];
  for (int t = 0; t < T; t++) {
    frames[t] = buf[t];
    if (t < 6) {
      int shift = t >= 4 ? 8 : 0;
      for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
          int sx = MIN (x + shift, S - 1), gx = sx / 4, gy = y / 4;
          float r = 0.2f + 0.15f * (float) ((gx * 5 + gy * 3) % 5);
          fill_frame (buf[t] + (y * S + x) * 3, 1, r, 0.6f, 0.4f);
        }
    } else {
      fill_frame (buf[t], PX, 0.1f, 0.1f, 0.9f);
    }
  }
  fill_frame (buf[7], PX / 2, 0.9f, 0.1f, 0.1f);
  float c[SV_SCENE_PIXEL_CUES];
  /* one scene, no motion: nothing */
  pixel_cues (frames, T, S, 4, 0, 1, c);
  for (int j = 0; j < SV_SCENE_PIXEL_CUES; j++)
    g_assert_cmpfloat (c[j], ==, 0.0f);
  /* a pan: the aligned difference is nil, the colours barely change (the repeated edge) */
  pixel_cues (frames, T, S, 4, 1, 2, c);
  g_assert_cmpfloat (c[0], ==, 0.0f);
  g_assert_cmpfloat (c[1], <, 0.2f);
  g_assert_cmpfloat (c[6], <, 0.1f); /* nor do the textures */
  g_assert_cmpfloat (c[7], <, 0.1f);
  /* the pattern to blue: a new scene, at any shift; no colour is shared */
  pixel_cues (frames, T, S, 4, 2, 3, c);
  g_assert_cmpfloat (c[0], >, 0.5f);
  g_assert_cmpfloat (fabsf (c[1] - 1.0f), <, 1e-6f);
  g_assert_cmpfloat (c[6], >, 0.2f); /* edges to a flat frame */
  g_assert_cmpfloat (c[7], >, 1.0f);
  g_assert_cmpfloat (c[2], ==, 0.0f); /* slice 2 is still within itself */
  g_assert_cmpfloat (c[4], ==, 0.0f);
  /* slice 3 changes within itself: the best shift (3 cells down) still overlaps 5 of its
   * 13 rows with red, and half its pixels change colour */
  float lo = (0.1f - 0.45f) / 0.225f, hi = (0.9f - 0.45f) / 0.225f;
  g_assert_cmpfloat (fabsf (c[3] - 5.0f / 13.0f * 2.0f * fabsf (lo - hi) / 3.0f), <, 1e-5f);
  g_assert_cmpfloat (fabsf (c[5] - 0.5f), <, 1e-6f);
  /* values beyond [0, 1] (the normalisation is affine, a frame may overshoot) stay in
   * the end bins */
  fill_frame (buf[0], PX, 1.5f, -0.5f, 0.5f);
  fill_frame (buf[1], PX, 1.0f, 0.0f, 0.5f);
  pixel_cues (frames, T, S, 4, 0, 1, c);
  g_assert_cmpfloat (c[4], ==, 0.0f);

  /* vertical stripes to checks of the same two colours, 2 pixels wide: the thumbnails'
   * cells average both to the same grey and the histograms match, the gradients'
   * orientations do not (horizontal only, against horizontal and vertical) */
  for (int t = 0; t < T; t++)
    for (int y = 0; y < S; y++)
      for (int x = 0; x < S; x++) {
        int on = t < 4 ? (x / 2) % 2 : (x / 2 + y / 2) % 2;
        fill_frame (buf[t] + (y * S + x) * 3, 1, on ? 0.8f : 0.2f, 0.5f, 0.5f);
      }
  pixel_cues (frames, T, S, 4, 1, 2, c);
  g_assert_cmpfloat (c[0], <, 1e-5f);
  g_assert_cmpfloat (c[1], <, 1e-6f);
  g_assert_cmpfloat (c[6], >, 0.4f);
  pixel_cues (frames, T, S, 4, 0, 1, c); /* stripes to stripes */
  g_assert_cmpfloat (c[6], <, 1e-6f);
}

typedef struct {
  SvModelConfig cfg;
  SvVarSet *ps, *as;
  SvSceneHeadParams p;
  SvSceneHeadActs a;
} Pass;

static void
pass_init (Pass *t, int N)
{
  GError *error = NULL;
  small_config (&t->cfg);
  t->ps = sv_var_set_new (sv_backend_cpu ());
  t->as = sv_var_set_new (sv_backend_cpu ());
  g_assert_true (sv_scene_head_params_plan (t->ps, &t->p, &t->cfg, &error));
  g_assert_true (sv_var_set_commit (t->ps, &error));
  g_assert_true (sv_scene_head_acts_plan (t->as, &t->a, &t->cfg, N, &error));
  g_assert_true (sv_var_set_commit (t->as, &error));
  g_assert_no_error (error);
}

static void
pass_clear (Pass *t)
{
  sv_var_set_free (t->as);
  sv_var_set_free (t->ps);
}

static void
set (SvTensor *dst, const SvTensor *src)
{
  g_assert_cmpint (dst->numel, ==, src->numel);
  memcpy (sv_tensor_f32 (dst), sv_tensor_f32 (src), src->numel * sizeof (float));
}

static double
pass_loss (gpointer user)
{
  Pass *t = user;
  GError *error = NULL;
  g_assert_true (sv_scene_head_forward (&t->p, &t->a, &error));
  return sv_tensor_f32 (&t->a.loss.x)[0];
}

static void
test_gradcheck (void)
{
  int N = 12;
  Pass t;
  pass_init (&t, N);
  SvRng rng;
  sv_rng_seed (&rng, 7);
  GError *error = NULL;
  SvSceneHeadParams *p = &t.p;
  sv_test_fill (&p->fc1_w.x, &rng, -0.3f, 0.3f);
  sv_test_fill (&p->fc1_b.x, &rng, -0.1f, 0.1f);
  sv_test_fill (&p->fc2_w.x, &rng, -0.5f, 0.5f);
  sv_test_fill (&p->fc2_b.x, &rng, -0.1f, 0.1f);
  sv_test_fill (&t.a.x, &rng, -1.0f, 1.0f);
  float *y = sv_tensor_f32 (&t.a.targets);
  for (int r = 0; r < N; r++) {
    float lab = r % 3 == 0;
    y[2 * r] = 1.0f - lab;
    y[2 * r + 1] = lab;
  }
  pass_loss (&t);
  g_assert_true (sv_var_set_zero_grad (t.ps, &error));
  g_assert_true (sv_scene_head_backward (p, &t.a, &error));
  g_assert_no_error (error);
  SvVar *vars[] = { &p->fc1_w, &p->fc1_b, &p->fc2_w, &p->fc2_b };
  const char *names[] = { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" };
  for (guint i = 0; i < G_N_ELEMENTS (vars); i++) {
    /* the gradients are read before the finite differences run more forwards */
    float *an = g_memdup2 (sv_tensor_f32 (&vars[i]->d), vars[i]->d.numel * sizeof (float));
    sv_test_gradcheck (names[i], sv_tensor_f32 (&vars[i]->x), vars[i]->x.numel, an, pass_loss, &t,
                       1e-3, 2e-2, 1e-4, 64);
    g_free (an);
  }
  pass_clear (&t);
}

static void
test_torch (void)
{
  SvSafetensors *st = sv_test_torch_refs ();
  if (!st)
    return;
  GError *error = NULL;
  SvTensor *slices = sv_test_ref (st, "slices"), *x = sv_test_ref (st, "x"),
           *y = sv_test_ref (st, "y"), *probs = sv_test_ref (st, "probs");
  SvTensor *w1 = sv_test_ref (st, "w1"), *b1 = sv_test_ref (st, "b1"), *w2 = sv_test_ref (st, "w2"),
           *b2 = sv_test_ref (st, "b2");
  SvTensor *gw1 = sv_test_ref (st, "gw1"), *gb1 = sv_test_ref (st, "gb1"),
           *gw2 = sv_test_ref (st, "gw2"), *gb2 = sv_test_ref (st, "gb2");
  float loss = sv_test_ref_scalar (st, "loss");
  int N = (int) x->shape[0], in = (int) x->shape[1], NW = (int) slices->shape[0];
  g_assert_cmpint (in, ==, sv_scene_head_inputs (NT, D, 0));

  /* the inputs as the C code lays them out */
  float *xc = g_new (float, (gsize) N *in);
  for (int w = 0; w < NW; w++)
    for (int i = 0; i < NT; i++)
      for (int k = i + 1; k < NT; k++)
        sv_scene_head_pair_input (sv_tensor_f32 (slices) + (gsize) w * NT * D, NT, D, i, k, NULL, 0,
                                  xc + ((gsize) w * 6 + sv_scene_head_pair_index (NT, i, k)) * in);
  sv_test_assert_close ("torch scene-head x", xc, sv_tensor_f32 (x), x->numel, 1e-5, 1e-6);

  Pass t;
  pass_init (&t, N);
  set (&t.p.fc1_w.x, w1);
  set (&t.p.fc1_b.x, b1);
  set (&t.p.fc2_w.x, w2);
  set (&t.p.fc2_b.x, b2);
  memcpy (sv_tensor_f32 (&t.a.x), xc, (gsize) N * in * sizeof (float));
  float *tg = sv_tensor_f32 (&t.a.targets);
  for (int r = 0; r < N; r++) {
    tg[2 * r] = 1.0f - sv_tensor_f32 (y)[r];
    tg[2 * r + 1] = sv_tensor_f32 (y)[r];
  }
  pass_loss (&t);
  float *p1 = g_new (float, N);
  for (int r = 0; r < N; r++)
    p1[r] = sv_tensor_f32 (&t.a.probs)[2 * r + 1];
  sv_test_assert_close ("torch scene-head probs", p1, sv_tensor_f32 (probs), N, 1e-4, 1e-5);
  sv_test_assert_close ("torch scene-head loss", sv_tensor_f32 (&t.a.loss.x), &loss, 1, 1e-4, 1e-5);
  g_assert_true (sv_var_set_zero_grad (t.ps, &error));
  g_assert_true (sv_scene_head_backward (&t.p, &t.a, &error));
  g_assert_no_error (error);
  sv_test_assert_close ("torch scene-head gw1", sv_tensor_f32 (&t.p.fc1_w.d), sv_tensor_f32 (gw1),
                        gw1->numel, 1e-3, 1e-5);
  sv_test_assert_close ("torch scene-head gb1", sv_tensor_f32 (&t.p.fc1_b.d), sv_tensor_f32 (gb1),
                        gb1->numel, 1e-3, 1e-5);
  sv_test_assert_close ("torch scene-head gw2", sv_tensor_f32 (&t.p.fc2_w.d), sv_tensor_f32 (gw2),
                        gw2->numel, 1e-3, 1e-5);
  sv_test_assert_close ("torch scene-head gb2", sv_tensor_f32 (&t.p.fc2_b.d), sv_tensor_f32 (gb2),
                        gb2->numel, 1e-3, 1e-5);

  /* the host path svilm-model.c runs at inference, on the same weights */
  SvSceneHeadHost host;
  g_assert_true (sv_scene_head_host_init (&host, &t.p, 0, &error));
  g_assert_no_error (error);
  float *scratch = g_new (float, sv_scene_head_host_scratch (&host));
  for (int w = 0; w < NW; w++)
    for (int i = 0; i < NT; i++)
      for (int k = i + 1; k < NT; k++) {
        int r = w * 6 + sv_scene_head_pair_index (NT, i, k);
        p1[r] = sv_scene_head_host_pair (&host, sv_tensor_f32 (slices) + (gsize) w * NT * D, NT, D,
                                         i, k, NULL, scratch);
      }
  sv_test_assert_close ("torch scene-head host probs", p1, sv_tensor_f32 (probs), N, 1e-4, 1e-5);
  sv_scene_head_host_clear (&host);
  g_free (scratch);

  pass_clear (&t);
  g_free (xc);
  g_free (p1);
  SvTensor *all[] = { slices, x, y, probs, w1, b1, w2, b2, gw1, gb1, gw2, gb2 };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sv_tensor_free (all[i]);
  sv_safetensors_close (st);
}

/* a small random model, with or without a head, saved to path */
static void
save_model (const char *path, int hidden, int cues)
{
  GError *error = NULL;
  SvModelConfig c;
  g_assert_true (sv_model_config_preset (&c, "tiny", &error));
  c.v_depth = 2;
  memset (c.group_after, 0, sizeof c.group_after);
  c.group_after[1] = TRUE;
  c.t_depth = 1;
  c.scene_hidden = hidden;
  c.scene_cues = cues;
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), 3, &error);
  g_assert_no_error (error);
  if (hidden) {
    /* a head that says something: fc2's bias alone would give every pair the same score */
    SvRng rng;
    sv_rng_seed (&rng, 11);
    sv_test_fill (&m->scene.fc2_w.x, &rng, -2.0f, 2.0f);
  }
  g_assert_true (sv_model_save (m, path, &error));
  g_assert_no_error (error);
  sv_model_free (m);
}

static void
check_model (int cues)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("svilm-scenehead-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *with = g_build_filename (dir, "with.safetensors", NULL);
  g_autofree char *without = g_build_filename (dir, "without.safetensors", NULL);
  save_model (with, H, cues);
  save_model (without, 0, 0);

  SvilmModel *plain = svilm_model_load (without, "cpu", &error);
  g_assert_no_error (error);
  g_assert_false (svilm_model_has_scene_head (plain));
  g_assert_cmpfloat (svilm_model_get_scene_threshold (plain), ==, SVILM_SCENE_THRESHOLD_COSINE);
  SvilmModel *model = svilm_model_load (with, "cpu", &error);
  g_assert_no_error (error);
  g_assert_true (svilm_model_has_scene_head (model));
  g_assert_cmpfloat (svilm_model_get_scene_threshold (model), ==, SVILM_SCENE_THRESHOLD_HEAD);

  /* the same weights through the training code's loader */
  SvModel *m = sv_model_load_full (with, sv_backend_cpu (), FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->cfg.scene_hidden, ==, H);
  g_assert_cmpint (m->cfg.scene_cues, ==, cues);
  SvSceneHeadHost host;
  g_assert_true (sv_scene_head_host_init (&host, &m->scene, cues, &error));
  float *scratch = g_new (float, sv_scene_head_host_scratch (&host));

  /* 8 random 32x24 frames: boundaries in [0, 1], each the head's score of its two
   * neighbours, cross the smallest over the pairs across it */
  guint w = 32, h = 24, n = 8;
  guint8 **frames = g_new (guint8 *, n);
  GRand *r = g_rand_new_with_seed (5);
  for (guint i = 0; i < n; i++) {
    frames[i] = g_new (guint8, w * h * 3);
    for (guint j = 0; j < w * h * 3; j++)
      frames[i][j] = (guint8) g_rand_int_range (r, 0, 256);
  }
  g_rand_free (r);
  /* the model frames the encoder and the pixel cues read */
  gsize floats = svilm_model_get_frame_floats (model);
  guint mw = 0, mh = 0;
  svilm_model_get_clip_size (model, &mw, &mh);
  float *prepared = g_new (float, floats *n);
  const float **pf = g_new (const float *, n);
  for (guint i = 0; i < n; i++) {
    svilm_model_prepare_frame (model, frames[i], w, h, w * 3, 3, 0, 1, 2, prepared + i * floats);
    pf[i] = prepared + i * floats;
  }
  float *pair_cues = g_new0 (float, sv_scene_head_n_pairs (NT) * SV_SCENE_PIXEL_CUES);
  float *cue_scratch = g_new (float, sv_scene_head_window_cues_scratch (NT));
  sv_scene_head_window_cues (pf, (int) n, (int) mh, (int) mw, NT, cue_scratch, pair_cues);
  g_free (cue_scratch);
#define CUES(i, k)                                                                                 \
  (cues ? pair_cues + sv_scene_head_pair_index (NT, (int) (i), (int) (k)) * SV_SCENE_PIXEL_CUES    \
        : NULL)
  SvilmClip *clip = svilm_model_encode_prepared (model, pf, n, &error);
  g_assert_no_error (error);
  guint ns = 0, dim = 0;
  const float *f = svilm_clip_get_temporal_features (clip, &ns, &dim);
  g_assert_cmpuint (ns, ==, NT);
  GArray *b = svilm_clip_get_boundaries (clip, n);
  g_assert_cmpuint (b->len, ==, NT - 1);
  gboolean differ = FALSE;
  for (guint j = 0; j < b->len; j++) {
    const SvilmBoundary *bd = &g_array_index (b, SvilmBoundary, j);
    float want = sv_scene_head_host_pair (&host, f, NT, (int) dim, (int) j, (int) j + 1,
                                          CUES (j, j + 1), scratch);
    g_assert_cmpfloat (fabsf (bd->change - want), <, 1e-6f);
    g_assert_cmpfloat (bd->change, >=, 0.0f);
    g_assert_cmpfloat (bd->change, <=, 1.0f);
    /* cross: every pair across the boundary; wide: all but the adjacent pair */
    float cross = bd->change, wide = G_MAXFLOAT;
    for (guint i = 0; i <= j; i++)
      for (guint k = j + 1; k < NT; k++) {
        float p = sv_scene_head_host_pair (&host, f, NT, (int) dim, (int) i, (int) k, CUES (i, k),
                                           scratch);
        cross = MIN (cross, p);
        if (i != j || k != j + 1)
          wide = MIN (wide, p);
      }
    g_assert_cmpfloat (fabsf (bd->cross - cross), <, 1e-6f);
    g_assert_cmpfloat (fabsf (bd->wide - wide), <, 1e-6f);
    differ |= fabsf (bd->change - g_array_index (b, SvilmBoundary, 0).change) > 1e-4f;
  }
  g_assert_true (differ);
  g_array_unref (b);
  g_object_unref (clip);

  /* the model without a head still scores 1 - cos, in [0, 2] */
  clip = svilm_model_encode_clip (plain, (const guint8 *const *) frames, n, w, h, w * 3, &error);
  g_assert_no_error (error);
  f = svilm_clip_get_temporal_features (clip, &ns, &dim);
  b = svilm_clip_get_boundaries (clip, n);
  for (guint j = 0; j < b->len; j++) {
    double dot = 0.0;
    for (guint d = 0; d < dim; d++)
      dot += (double) f[j * dim + d] * f[(j + 1) * dim + d];
    g_assert_cmpfloat (fabs (g_array_index (b, SvilmBoundary, j).change - (1.0 - dot)), <, 1e-5);
  }
  g_array_unref (b);
  g_object_unref (clip);

#undef CUES
  for (guint i = 0; i < n; i++)
    g_free (frames[i]);
  g_free (frames);
  g_free (prepared);
  g_free (pf);
  g_free (pair_cues);
  g_free (scratch);
  sv_scene_head_host_clear (&host);
  sv_model_free (m);
  g_object_unref (model);
  g_object_unref (plain);
  g_unlink (with);
  g_unlink (without);
  g_rmdir (dir);
}

static void
test_model (void)
{
  check_model (0);
}

/* a head that also reads the pixel cues: the element's scores are the head's on the
 * model frames' cues */
static void
test_model_cues (void)
{
  check_model (SV_SCENE_PIXEL_CUES);
}

static void
test_config (void)
{
  GError *error = NULL;
  SvModelConfig c;
  g_assert_true (sv_model_config_preset (&c, "tiny", &error));
  /* models written before the head existed have no key, and read as no head */
  char *json = sv_model_config_to_json (&c);
  g_assert_null (strstr (json, "scene_hidden"));
  SvModelConfig back;
  g_assert_true (sv_model_config_from_json (&back, json, &error));
  g_assert_cmpint (back.scene_hidden, ==, 0);
  g_free (json);
  c.scene_hidden = 64;
  json = sv_model_config_to_json (&c);
  g_assert_true (sv_model_config_from_json (&back, json, &error));
  g_assert_cmpint (back.scene_hidden, ==, 64);
  g_assert_null (strstr (json, "scene_cues")); /* heads without cues read as before */
  g_free (json);
  c.scene_cues = SV_SCENE_PIXEL_CUES;
  json = sv_model_config_to_json (&c);
  g_assert_true (sv_model_config_from_json (&back, json, &error));
  g_assert_cmpint (back.scene_cues, ==, SV_SCENE_PIXEL_CUES);
  g_free (json);
  c.scene_cues = 3; /* the cues are a fixed set */
  g_assert_false (sv_model_config_validate (&c, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  c.scene_cues = SV_SCENE_PIXEL_CUES;
  c.scene_hidden = 0; /* cues without a head */
  g_assert_false (sv_model_config_validate (&c, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  c.scene_cues = 0;
  c.scene_hidden = -1;
  g_assert_false (sv_model_config_validate (&c, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/scene-head/pairs", test_pairs);
  g_test_add_func ("/scene-head/gradcheck", test_gradcheck);
  g_test_add_func ("/scene-head/config", test_config);
  g_test_add_func ("/scene-head/pixel-cues", test_pixel_cues);
  g_test_add_func ("/scene-head/pixel-cues-one-frame-slices", test_pixel_cues_one_frame_slices);
  g_test_add_func ("/scene-head/model", test_model);
  g_test_add_func ("/scene-head/model-cues", test_model_cues);
  g_test_add_func ("/torch/scene-head", test_torch);
  return g_test_run ();
}
