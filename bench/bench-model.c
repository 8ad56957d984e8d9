/* Benchmark: the S-ViLM model against PyTorch (same weights, inputs and thread
 * count, in the same run) and against the machine's sgemm peak.
 *
 *   bench-model [--threads N] [--seconds S] [--configs tiny,small,base] [--no-torch]
 *
 * Video encoder forward (inference, clips/s, model GFLOP/s, ratio to sgemm and to
 * PyTorch; a batch, one clip, and one clip a thread side by side), text encoder forward, and the
 * training step (forward, backward, SGD step) with its loss next to PyTorch's.  Prints figures;
 * never fails on speed.
 */
#include "sv-backend.h"
#include "sv-encoders.h"
#include "sv-model.h"
#include "sv-optim.h"
#include "sv-test-batch.h"

#include <cblas.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

static double min_seconds = 1.0;
static int threads = 0;
static gboolean no_torch = FALSE;
static const char *torch_script;

static double
now (void)
{
  return (double) g_get_monotonic_time () / 1e6;
}

/* model FLOPs of one video encoder forward for B clips (matmuls only; the rest is
 * memory-bound and small) */
static double
video_flops (const SvModelConfig *c, int B)
{
  double N = sv_model_config_video_tokens (c), D = c->v_width, F = c->v_mlp, M = c->n_groups;
  /* the stem: per frame, 3x3 convolutions at stride 2 */
  double stem = 0, pixels = (double) c->height * c->width, cin = 3;
  for (int i = 0; i < c->n_stem; i++) {
    pixels /= 4;
    stem += 2 * c->frames * pixels * 9 * cin * c->stem[i];
    cin = c->stem[i];
  }
  double q = sv_model_config_stem_patch (c), P = c->tubelet_t * q * q * cin;
  double per_layer = 2 * N * D * D * 4 + 2 * N * D * F * 2 + 4 * N * N * D;
  double groups = 0;
  for (int l = 0; l < c->v_depth; l++)
    if (c->group_after[l])
      groups += 2 * (M * D * D * 2 + N * D * D * 2) + 4 * M * N * D + 2 * M * D * F * 2;
  return B * (stem + 2 * N * P * D + c->v_depth * per_layer + groups + 2 * M * D * c->embed_dim);
}

static double
sgemm_peak (int M, int N, int K)
{
  float *a = g_new0 (float, (size_t) M *K), *b = g_new0 (float, (size_t) K *N);
  float *cm = g_new0 (float, (size_t) M *N);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, cm, N);
  int iters = 0;
  double t0 = now (), el;
  do {
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, cm, N);
    iters++;
    el = now () - t0;
  } while (el < min_seconds / 2);
  g_free (a);
  g_free (b);
  g_free (cm);
  return 2.0 * M * N * K * iters / el / 1e9;
}

/* runs the PyTorch side; returns seconds per call (and the loss) or -1 */
static double
torch_time (const char *model, const char *batch, const char *mode, double *loss)
{
  if (no_torch || !torch_script)
    return -1;
  char *thr = g_strdup_printf ("%d", sv_get_num_threads ());
  char *sec = g_strdup_printf ("%g", min_seconds);
  const char *argv[] = { "/usr/bin/python3", torch_script, model, batch, mode, thr, sec, NULL };
  char *out = NULL, *err = NULL;
  int status = 0;
  double t = -1;
  if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                    NULL) &&
      g_spawn_check_wait_status (status, NULL)) {
    JsonParser *p = json_parser_new ();
    if (json_parser_load_from_data (p, out, -1, NULL)) {
      JsonObject *o = json_node_get_object (json_parser_get_root (p));
      t = json_object_get_double_member (o, "seconds");
      if (loss && json_object_has_member (o, "loss"))
        *loss = json_object_get_double_member (o, "loss");
    }
    g_object_unref (p);
  } else {
    fprintf (stderr, "bench-model: PyTorch side failed: %s\n", err ? err : "");
  }
  g_free (out);
  g_free (err);
  g_free (thr);
  g_free (sec);
  return t;
}

/* a test batch of B clips (with their captions and phrases), saved for the PyTorch side */
static void
saved_batch (SvTestBatch *b, const SvModelConfig *c, SvModel *m, int B, const char *bpath)
{
  SvLossWeights w = { 1, 1, 1 };
  sv_test_batch_make (b, c, B, sv_model_n_group_blocks (m), 7);
  sv_test_batch_save (b, c, &w, bpath);
}

/* seconds per call of fn (one warm-up call first) */
static double
time_calls (void (*fn) (gpointer data), gpointer data)
{
  fn (data);
  int iters = 0;
  double t0 = now (), el;
  do {
    fn (data);
    iters++;
    el = now () - t0;
  } while (el < min_seconds);
  return el / iters;
}

/* one line: time per call, items/s, model GFLOP/s, share of sgemm and PyTorch's time */
static void
print_forward (const char *name, const char *what, int B, int tokens, const char *items, double t_c,
               double flops, double peak, double t_torch)
{
  printf ("%-5s %-14s B=%-2d %5d tokens: %8.2f ms  %7.1f %s/s  %6.1f GFLOP/s  "
          "%.0f%% of sgemm (%0.1f GFLOP/s)",
          name, what, B, tokens, t_c * 1e3, B / t_c, items, flops / t_c / 1e9,
          100 * flops / t_c / 1e9 / peak, peak);
  if (t_torch > 0)
    printf ("  PyTorch %8.2f ms  speed-up x%.2f", t_torch * 1e3, t_torch / t_c);
  printf ("\n");
}

typedef struct {
  SvModel *m;
  const SvModelConfig *c;
  SvVideoActs *va;
  SvTextActs *ta;
} Forward;

static void
video_forward_once (gpointer data)
{
  Forward *f = data;
  sv_video_forward (&f->m->video, f->va, f->c, FALSE, NULL);
}

static void
text_forward_once (gpointer data)
{
  Forward *f = data;
  sv_text_forward (&f->m->text, f->ta, f->c, NULL);
}

/* one video encoder forward of B clips, timed against sgemm at its sizes and PyTorch */
static void
bench_video (const char *name, SvModel *m, const SvModelConfig *cp, int B_video, const char *mpath,
             const char *bpath)
{
  GError *error = NULL;
  SvModelConfig c = *cp;
  SvTestBatch b;
  saved_batch (&b, &c, m, B_video, bpath);
  SvVarSet *acts = sv_var_set_new_inference (sv_backend_cpu ());
  SvVideoActs va;
  if (!sv_video_acts_plan (acts, &va, &c, B_video, FALSE, &error) ||
      !sv_var_set_commit (acts, &error) || !sv_video_acts_init (&va, &c, &error))
    g_error ("%s", error->message);
  sv_tensor_upload (&va.video, b.video, va.video.numel * 4, NULL);
  Forward f = { m, &c, &va, NULL };
  double t_c = time_calls (video_forward_once, &f);
  int Nv = sv_model_config_video_tokens (&c);
  double peak = sgemm_peak (B_video * Nv, c.v_mlp, c.v_width);
  print_forward (name, "video forward", B_video, Nv, "clips", t_c, video_flops (&c, B_video), peak,
                 torch_time (mpath, bpath, "video", NULL));
  sv_var_set_free (acts);
  sv_test_batch_free (&b);
}

/* model FLOPs of one text encoder forward over Bt captions of L tokens (matmuls only;
 * the projection runs on the [CLS] rows) */
static double
text_flops (const SvModelConfig *c, int Bt, int L)
{
  double D = c->t_width, F = c->t_mlp;
  double per_layer = 2 * L * D * D * 4 + 2 * L * D * F * 2 + 4.0 * L * L * D;
  return Bt * (c->t_depth * per_layer + 2 * D * c->embed_dim);
}

/* one text encoder forward over the batch's captions and phrases (Bt rows of max_len
 * tokens, as pre-training and svilm-search's queries run it), timed against sgemm at its
 * sizes and PyTorch */
static void
bench_text (const char *name, SvModel *m, const SvModelConfig *cp, int B_video, const char *mpath,
            const char *bpath)
{
  GError *error = NULL;
  SvModelConfig c = *cp;
  SvTestBatch b;
  saved_batch (&b, &c, m, B_video, bpath);
  SvVarSet *acts = sv_var_set_new_inference (sv_backend_cpu ());
  SvTextActs ta;
  if (!sv_text_acts_plan (acts, &ta, &c, b.Bt, &error) || !sv_var_set_commit (acts, &error) ||
      !sv_text_acts_init (&ta, &c, &error) || !sv_text_set_input (&ta, b.ids, b.mask, &error))
    g_error ("%s", error->message);
  Forward f = { m, &c, NULL, &ta };
  double t_c = time_calls (text_forward_once, &f);
  double peak = sgemm_peak (b.Bt * b.L, c.t_mlp, c.t_width);
  print_forward (name, "text forward", b.Bt, b.L, "texts", t_c, text_flops (&c, b.Bt, b.L), peak,
                 torch_time (mpath, bpath, "text", NULL));
  sv_var_set_free (acts);
  sv_test_batch_free (&b);
}

typedef struct {
  SvModel *m;
  const SvModelConfig *c;
  SvVideoActs *va; /* one a clip */
} SideBySide;

static void
side_by_side_one (int i, gpointer data)
{
  SideBySide *s = data;
  sv_video_forward (&s->m->video, &s->va[i], s->c, FALSE, NULL);
}

/* one clip a thread, each single-threaded inside (sv_backend_run_concurrently, as
 * svilmscenecut's batches run): against the same clips one at a time over all threads
 * (bench_video's B=1) and sgemm over all their rows */
static void
bench_side_by_side (const char *name, SvModel *m, const SvModelConfig *c)
{
  GError *error = NULL;
  int n = sv_get_num_threads ();
  if (n < 2)
    return;
  SvTestBatch b;
  SvModelConfig cc = *c;
  sv_test_batch_make (&b, &cc, 1, sv_model_n_group_blocks (m), 7);
  SvVarSet **acts = g_new0 (SvVarSet *, n);
  SvVideoActs *va = g_new0 (SvVideoActs, n);
  for (int i = 0; i < n; i++) {
    acts[i] = sv_var_set_new_inference (sv_backend_cpu ());
    if (!sv_video_acts_plan (acts[i], &va[i], &cc, 1, FALSE, &error) ||
        !sv_var_set_commit (acts[i], &error) || !sv_video_acts_init (&va[i], &cc, &error))
      g_error ("%s", error->message);
    sv_tensor_upload (&va[i].video, b.video, va[i].video.numel * 4, NULL);
  }
  SideBySide job = { m, &cc, va };
  sv_backend_run_concurrently (sv_backend_cpu (), n, side_by_side_one, &job);
  int iters = 0;
  double t0 = now (), el;
  do {
    sv_backend_run_concurrently (sv_backend_cpu (), n, side_by_side_one, &job);
    iters++;
    el = now () - t0;
  } while (el < min_seconds);
  double t_c = el / iters / n, flops = video_flops (&cc, 1);
  double peak = sgemm_peak (n * sv_model_config_video_tokens (&cc), cc.v_mlp, cc.v_width);
  printf ("%-5s video forward  %d clips side by side (one a thread): %8.2f ms a clip  %7.1f "
          "clips/s  %6.1f GFLOP/s  %.0f%% of sgemm (%0.1f GFLOP/s)\n",
          name, n, t_c * 1e3, 1 / t_c, flops / t_c / 1e9, 100 * flops / t_c / 1e9 / peak, peak);
  for (int i = 0; i < n; i++)
    sv_var_set_free (acts[i]);
  g_free (acts);
  g_free (va);
  sv_test_batch_free (&b);
}

static void
bench_config (const char *name, int B_video, int B_train, const char *dir)
{
  GError *error = NULL;
  SvModelConfig c;
  sv_model_config_preset (&c, name, NULL);
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), 1, &error);
  g_assert_no_error (error);
  char *mpath = g_build_filename (dir, "model.safetensors", NULL);
  char *bpath = g_build_filename (dir, "batch.safetensors", NULL);
  sv_model_save (m, mpath, &error);
  g_assert_no_error (error);

  /* ---- video encoder forward (inference): a batch, and one clip as the elements run ---- */
  bench_video (name, m, &c, B_video, mpath, bpath);
  if (B_video > 1)
    bench_video (name, m, &c, 1, mpath, bpath);
  bench_side_by_side (name, m, &c);
  bench_text (name, m, &c, B_video, mpath, bpath);

  SvTestBatch b;
  SvLossWeights w = { 1, 1, 1 };
  /* ---- training step ---- */
  if (B_train > 0) {
    sv_test_batch_make (&b, &c, B_train, sv_model_n_group_blocks (m), 9);
    sv_test_batch_save (&b, &c, &w, bpath);
    SvTrainPass *pass = sv_train_pass_new (m, B_train, &error);
    g_assert_no_error (error);
    SvOptimConfig oc;
    sv_optim_config_init (&oc, SV_OPTIM_SGD);
    SvOptimizer *opt = sv_optim_new (m->params, &oc, &error);
    g_assert_no_error (error);
    float first_loss = 0;
    int iters = 0;
    double warm = 0;
    double t0 = now (), el;
    do {
      if (iters == 1)
        warm = now ();
      sv_var_set_zero_grad (m->params, NULL);
      if (!sv_train_pass_forward (pass, &b.batch, &w, &error) ||
          !sv_train_pass_backward (pass, &w, &error))
        g_error ("%s", error->message);
      double gn;
      sv_optim_step (opt, 0.0f, &gn, NULL); /* lr 0: weights stay, every step is the same */
      if (iters == 0)
        first_loss = pass->loss;
      iters++;
      el = now () - t0;
    } while (el < min_seconds || iters < 3);
    double t_step = (now () - warm) / (iters - 1);
    double torch_loss = 0;
    double t_torch_step = torch_time (mpath, bpath, "train", &torch_loss);
    printf ("%-5s train step     B=%-2d: %8.1f ms  %6.1f clips/s  loss %.5f", name, B_train,
            t_step * 1e3, B_train / t_step, first_loss);
    if (t_torch_step > 0)
      printf ("  PyTorch %8.1f ms (loss %.5f)  speed-up x%.2f", t_torch_step * 1e3, torch_loss,
              t_torch_step / t_step);
    printf ("\n");
    sv_optim_free (opt);
    sv_train_pass_free (pass);
    sv_test_batch_free (&b);
  }
  g_remove (mpath);
  g_remove (bpath);
  g_free (mpath);
  g_free (bpath);
  sv_model_free (m);
}

int
main (int argc, char **argv)
{
  char *configs = g_strdup ("tiny,small");
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "threads (0 = all cores)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &min_seconds, "seconds per measurement", "S" },
    { "configs", 'c', 0, G_OPTION_ARG_STRING, &configs, "tiny,small,base", "LIST" },
    { "no-torch", 0, 0, G_OPTION_ARG_NONE, &no_torch, "skip the PyTorch comparison", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new ("[BENCH_TORCH_SCRIPT] - svilm model benchmark");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "bench-model: %s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (argc > 1)
    torch_script = argv[1];
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE) ||
      system ("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    no_torch = TRUE;
  sv_set_num_threads (threads);
  printf ("svilm model benchmark on %s%s\n", sv_backend_cpu ()->device_name,
          no_torch ? " (no PyTorch comparison)" : "");
  char *dir = g_dir_make_tmp ("svilm-bench-XXXXXX", NULL);
  char **names = g_strsplit (configs, ",", -1);
  for (char **n = names; *n; n++) {
    if (g_str_equal (*n, "tiny"))
      bench_config ("tiny", 8, 8, dir);
    else if (g_str_equal (*n, "small"))
      bench_config ("small", 2, 4, dir);
    else if (g_str_equal (*n, "base"))
      bench_config ("base", 1, 0, dir);
  }
  g_strfreev (names);
  g_rmdir (dir);
  g_free (dir);
  g_free (configs);
  return 0;
}
