/* The public inference API (svilm-model.h): sharing, clips of any size, text,
 * grounding, concurrency and bad input. */
#include "svilm-model.h"

#include "sv-model.h"
#include "sv-test.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *model_path;

static const char *captions[] = {
  "a red ball rolls to the left past a small blue car",
  "a green triangle spins on a striped background",
  "a dog runs to the right",
  "two yellow stars grow in the middle",
  "a big purple square moves up then a cat bounces",
};

/* a small random model with a tokenizer, written once for all tests */
static void
make_model (void)
{
  GError *error = NULL;
  SvModelConfig c;
  g_assert_true (sv_model_config_preset (&c, "tiny", &error));
  c.v_depth = 2;
  memset (c.group_after, 0, sizeof c.group_after);
  c.group_after[0] = c.group_after[1] = TRUE;
  c.t_depth = 1;
  c.vocab = 64;
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), 9, &error);
  g_assert_no_error (error);
  SvTokenizer *tok = sv_tokenizer_train (captions, G_N_ELEMENTS (captions), 64, &error);
  g_assert_no_error (error);
  sv_model_set_tokenizer (m, tok);
  char *dir = g_dir_make_tmp ("svilm-infer-XXXXXX", &error);
  g_assert_no_error (error);
  model_path = g_build_filename (dir, "model.safetensors", NULL);
  sv_model_save (m, model_path, &error);
  g_assert_no_error (error);
  sv_model_free (m);
  g_free (dir);
}

static guint8 **
make_frames (guint n, guint w, guint h, guint stride, guint seed)
{
  guint8 **f = g_new (guint8 *, n);
  GRand *r = g_rand_new_with_seed (seed);
  for (guint i = 0; i < n; i++) {
    f[i] = g_new (guint8, (gsize) stride * h);
    for (gsize j = 0; j < (gsize) stride * h; j++)
      f[i][j] = (guint8) g_rand_int_range (r, 0, 256);
  }
  g_rand_free (r);
  return f;
}

static void
free_frames (guint8 **f, guint n)
{
  for (guint i = 0; i < n; i++)
    g_free (f[i]);
  g_free (f);
}

static void
test_shared (void)
{
  GError *error = NULL;
  SvilmModel *a = svilm_model_load (model_path, "cpu", &error);
  g_assert_no_error (error);
  SvilmModel *b = svilm_model_load (model_path, "cpu", &error);
  g_assert_true (a == b);
  g_assert_cmpuint (svilm_model_get_embed_dim (a), ==, 256);
  g_assert_cmpuint (strlen (svilm_model_get_id (a)), ==, 12);
  g_object_unref (b);
  g_object_unref (a);
  /* after the last unref a new load gives a fresh object that works */
  SvilmModel *c = svilm_model_load (model_path, "cpu", &error);
  g_assert_no_error (error);
  g_assert_true (svilm_model_has_tokenizer (c));
  g_object_unref (c);
}

static void
test_clip_any_size (void)
{
  GError *error = NULL;
  SvilmModel *m = svilm_model_load (model_path, "cpu", &error);
  g_assert_no_error (error);
  struct {
    guint n, w, h, stride;
    guint boundaries[4]; /* the frames where a new scene could start; 0 ends the list */
  } sizes[] = { { 8, 64, 64, 192, { 2, 4, 6 } },
                { 3, 37, 23, 120, { 0 } }, /* 3 frames in 4 slices: no two differ */
                { 1, 1, 1, 3, { 0 } },
                { 20, 640, 480, 1920, { 5, 10, 15 } } };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    guint8 **f = make_frames (sizes[i].n, sizes[i].w, sizes[i].h, sizes[i].stride, i);
    SvilmClip *clip = svilm_model_encode_clip (m, (const guint8 *const *) f, sizes[i].n, sizes[i].w,
                                               sizes[i].h, sizes[i].stride, &error);
    g_assert_no_error (error);
    gsize E = 0;
    const float *e = svilm_clip_get_embedding (clip, &E);
    double norm = 0;
    for (gsize j = 0; j < E; j++)
      norm += (double) e[j] * e[j];
    g_assert_cmpfloat_with_epsilon (norm, 1.0, 1e-4);
    guint nt = 0, dim = 0;
    const float *tf = svilm_clip_get_temporal_features (clip, &nt, &dim);
    g_assert_cmpuint (nt, ==, 4);
    g_assert_cmpuint (dim, ==, 128);
    g_assert_true (isfinite (tf[0]));
    /* slice boundaries: source frames as svilm_model_encode_prepared samples them (8 model
     * frames, 2 a slice; from 20 frames slice 0 shows 1 and 3, slice 1 shows 6 and 8, so
     * a new scene there starts at 4-6: 5), scores from the temporal features */
    g_autoptr (GArray) bounds = svilm_clip_get_boundaries (clip, sizes[i].n);
    guint want = 0;
    while (want < G_N_ELEMENTS (sizes[i].boundaries) && sizes[i].boundaries[want])
      want++;
    g_assert_cmpuint (bounds->len, ==, want);
    for (guint j = 0; j < bounds->len; j++) {
      const SvilmBoundary *b = &g_array_index (bounds, SvilmBoundary, j);
      g_assert_cmpuint (b->frame, ==, sizes[i].boundaries[j]);
      guint k = b->frame * 4 / sizes[i].n; /* the slice after it (even spacing here) */
      double cos = 0.0;
      for (guint d = 0; d < dim; d++)
        cos += (double) tf[(k - 1) * dim + d] * tf[k * dim + d];
      g_assert_cmpfloat_with_epsilon (b->change, 1.0 - cos, 1e-5);
      g_assert_cmpfloat (b->cross, <=, b->change);
      g_assert_cmpfloat (b->cross, >=, 0.0f);
    }
    /* the same frames again give the same clip, bit for bit */
    SvilmClip *again = svilm_model_encode_clip (m, (const guint8 *const *) f, sizes[i].n,
                                                sizes[i].w, sizes[i].h, sizes[i].stride, &error);
    g_assert_cmpmem (e, E * 4, svilm_clip_get_embedding (again, NULL), E * 4);
    g_object_unref (again);
    g_object_unref (clip);
    free_frames (f, sizes[i].n);
  }
  g_object_unref (m);
}

static void
test_text_and_grounding (void)
{
  GError *error = NULL;
  SvilmModel *m = svilm_model_load (model_path, "cpu", &error);
  g_assert_no_error (error);
  gsize E = 0;
  gfloat *t = svilm_model_encode_text (m, "a red ball", &E, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (E, ==, 256);
  guint8 **f = make_frames (8, 64, 64, 192, 3);
  SvilmClip *clip = svilm_model_encode_clip (m, (const guint8 *const *) f, 8, 64, 64, 192, &error);
  g_assert_no_error (error);
  float s = svilm_clip_similarity (clip, t, E);
  g_assert_true (s >= -1.0001f && s <= 1.0001f);
  SvilmGrounding *g = svilm_clip_ground (clip, m, "red ball", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g->n_heatmap, ==, 64);
  g_assert_cmpuint (g->grid_width, ==, 8);
  float hmax = 0;
  for (guint i = 0; i < g->n_heatmap; i++) {
    g_assert_true (g->heatmap[i] >= 0.0f && g->heatmap[i] <= 1.0f);
    hmax = MAX (hmax, g->heatmap[i]);
  }
  g_assert_cmpfloat (hmax, ==, 1.0f);
  g_assert_true (g->width > 0 && g->x + g->width <= 1.0001f && g->y + g->height <= 1.0001f);
  /* slice heatmaps: 4 slices of the 8 frames; in [0, 1] with 1 at the top of all of
   * them, and their sum over time peaks where the averaged heatmap does */
  g_assert_cmpuint (g->grid_time, ==, 4);
  g_assert_cmpuint (g->n_slice_heatmaps, ==, 4 * 64);
  float smax = 0, sum[64] = { 0 };
  for (guint i = 0; i < g->n_slice_heatmaps; i++) {
    g_assert_true (g->slice_heatmaps[i] >= 0.0f && g->slice_heatmaps[i] <= 1.0f);
    smax = MAX (smax, g->slice_heatmaps[i]);
    sum[i % 64] += g->slice_heatmaps[i];
  }
  g_assert_cmpfloat (smax, ==, 1.0f);
  float ssum_max = 0;
  for (guint i = 0; i < 64; i++)
    ssum_max = MAX (ssum_max, sum[i]);
  for (guint i = 0; i < 64; i++)
    g_assert_cmpfloat_with_epsilon (sum[i] / ssum_max, g->heatmap[i], 1e-5);
  for (guint k = 0; k < 8; k++)
    g_assert_cmpuint (svilm_grounding_slice_of_frame (g, k, 8), ==, k / 2);
  g_assert_cmpuint (svilm_grounding_slice_of_frame (g, 99, 8), ==, 3);
  /* one slice alone: its own heatmap, 1 at its maximum, a box around its hot cells */
  for (guint sl = 0; sl < 5; sl++) {
    SvilmGrounding *one = svilm_grounding_slice (g, sl);
    const float *src = g->slice_heatmaps + (gsize) MIN (sl, 3u) * 64;
    float top = 0;
    for (guint i = 0; i < 64; i++)
      top = MAX (top, src[i]);
    g_assert_cmpuint (one->grid_time, ==, 1);
    g_assert_cmpuint (one->n_heatmap, ==, 64);
    g_assert_cmpuint (one->n_slice_heatmaps, ==, 64);
    g_assert_cmpfloat (one->score, ==, g->score);
    g_assert_cmpuint (one->group, ==, g->group);
    for (guint i = 0; i < 64; i++) {
      g_assert_cmpfloat_with_epsilon (one->heatmap[i], src[i] / top, 1e-6);
      if (one->heatmap[i] >= 0.5f) { /* inside the box */
        float cx = (i % 8 + 0.5f) / 8, cy = (i / 8 + 0.5f) / 8;
        g_assert_true (cx > one->x && cx < one->x + one->width);
        g_assert_true (cy > one->y && cy < one->y + one->height);
      }
    }
    svilm_grounding_free (one);
  }
  SvilmGrounding *copy = svilm_grounding_copy (g);
  g_assert_cmpmem (copy->heatmap, copy->n_heatmap * 4, g->heatmap, g->n_heatmap * 4);
  g_assert_cmpmem (copy->slice_heatmaps, copy->n_slice_heatmaps * 4, g->slice_heatmaps,
                   g->n_slice_heatmaps * 4);
  svilm_grounding_free (copy);
  svilm_grounding_free (g);

  /* bad input: clear errors */
  g_assert_null (svilm_model_encode_text (m, "   ", &E, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_null (svilm_clip_ground (clip, m, "", &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_null (svilm_model_encode_clip (m, (const guint8 *const *) f, 0, 64, 64, 192, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_null (svilm_model_encode_clip (m, (const guint8 *const *) f, 8, 64, 64, 100, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  /* odd UTF-8 still encodes */
  gfloat *odd = svilm_model_encode_text (m, "\xff\xfe dog \xf0\x9f\x90\x95 ☃", &E, &error);
  g_assert_no_error (error);
  g_free (odd);
  g_free (t);
  g_object_unref (clip);
  free_frames (f, 8);
  g_object_unref (m);
}

typedef struct {
  SvilmModel *m;
  guint8 **frames;
  float out[256];
} Job;

static gpointer
encode_thread (gpointer p)
{
  Job *j = p;
  for (int i = 0; i < 3; i++) {
    SvilmClip *clip =
        svilm_model_encode_clip (j->m, (const guint8 *const *) j->frames, 8, 64, 64, 192, NULL);
    g_assert_nonnull (clip);
    memcpy (j->out, svilm_clip_get_embedding (clip, NULL), sizeof j->out);
    g_object_unref (clip);
  }
  return NULL;
}

static void
test_threads (void)
{
  GError *error = NULL;
  SvilmModel *m = svilm_model_load (model_path, "cpu", &error);
  g_assert_no_error (error);
  guint8 **f = make_frames (8, 64, 64, 192, 5);
  SvilmClip *ref = svilm_model_encode_clip (m, (const guint8 *const *) f, 8, 64, 64, 192, &error);
  g_assert_no_error (error);
  Job jobs[4];
  GThread *th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i].m = m;
    jobs[i].frames = f;
    th[i] = g_thread_new ("encode", encode_thread, &jobs[i]);
  }
  for (int i = 0; i < 4; i++) {
    g_thread_join (th[i]);
    g_assert_cmpmem (jobs[i].out, sizeof jobs[i].out, svilm_clip_get_embedding (ref, NULL),
                     sizeof jobs[i].out);
  }
  g_object_unref (ref);
  free_frames (f, 8);
  g_object_unref (m);
}

/* A batch of clips side by side gives what each clip gives alone. */
static void
test_batch (void)
{
  GError *error = NULL;
  SvilmModel *m = svilm_model_load (model_path, "cpu", &error);
  g_assert_no_error (error);
  enum { CLIPS = 3, FRAMES = 6 };
  gsize per = svilm_model_get_frame_floats (m);
  gfloat *prepared = g_new (gfloat, per * CLIPS * FRAMES);
  const gfloat *frames[CLIPS * FRAMES];
  guint8 **f = make_frames (CLIPS * FRAMES, 80, 60, 240, 11);
  for (guint i = 0; i < CLIPS * FRAMES; i++) {
    svilm_model_prepare_frame (m, f[i], 80, 60, 240, 3, 0, 1, 2, prepared + i * per);
    frames[i] = prepared + i * per;
  }
  SvilmClip *batch[CLIPS];
  g_assert_true (svilm_model_encode_prepared_batch (m, frames, FRAMES, CLIPS, batch, &error));
  g_assert_no_error (error);
  for (guint c = 0; c < CLIPS; c++) {
    SvilmClip *one = svilm_model_encode_prepared (m, frames + c * FRAMES, FRAMES, &error);
    g_assert_no_error (error);
    gsize n = 0, nb = 0;
    const gfloat *a = svilm_clip_get_embedding (one, &n),
                 *b = svilm_clip_get_embedding (batch[c], &nb);
    g_assert_cmpuint (n, ==, nb);
    for (gsize i = 0; i < n; i++)
      g_assert_cmpfloat_with_epsilon (a[i], b[i], 1e-5);
    GArray *ba = svilm_clip_get_boundaries (one, FRAMES),
           *bb = svilm_clip_get_boundaries (batch[c], FRAMES);
    g_assert_cmpuint (ba->len, ==, bb->len);
    for (guint i = 0; i < ba->len; i++)
      g_assert_cmpfloat_with_epsilon (g_array_index (ba, SvilmBoundary, i).change,
                                      g_array_index (bb, SvilmBoundary, i).change, 1e-5);
    g_array_unref (ba);
    g_array_unref (bb);
    /* clips of a batch are different clips */
    if (c > 0)
      g_assert_cmpfloat (fabsf (b[0] - svilm_clip_get_embedding (batch[0], NULL)[0]) +
                             fabsf (b[1] - svilm_clip_get_embedding (batch[0], NULL)[1]),
                         >, 0.0f);
    g_object_unref (one);
  }
  for (guint c = 0; c < CLIPS; c++)
    g_object_unref (batch[c]);
  /* no frames: an error and no clips */
  SvilmClip *none[2] = { NULL, NULL };
  g_assert_false (svilm_model_encode_prepared_batch (m, frames, 0, 2, none, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_null (none[0]);
  g_assert_true (svilm_model_encode_prepared_batch (m, frames, FRAMES, 0, none, &error));
  free_frames (f, CLIPS * FRAMES);
  g_free (prepared);
  g_object_unref (m);
}

static void
test_bad_files (void)
{
  GError *error = NULL;
  g_assert_null (svilm_model_load ("/nonexistent/model.safetensors", "cpu", &error));
  g_assert_nonnull (error);
  g_test_message ("missing: %s", error->message);
  g_clear_error (&error);
  g_assert_null (svilm_model_load (model_path, "tpu", &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  make_model ();
  g_test_add_func ("/inference/shared", test_shared);
  g_test_add_func ("/inference/clip-any-size", test_clip_any_size);
  g_test_add_func ("/inference/text-and-grounding", test_text_and_grounding);
  g_test_add_func ("/inference/threads", test_threads);
  g_test_add_func ("/inference/batch", test_batch);
  g_test_add_func ("/inference/bad-files", test_bad_files);
  int rc = g_test_run ();
  g_remove (model_path);
  char *dir = g_path_get_dirname (model_path);
  g_rmdir (dir);
  g_free (dir);
  g_free (model_path);
  return rc;
}
