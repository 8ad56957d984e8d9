/* svilm-train pretrain: cut-and-paste, manifests, clip decoding, and short training runs
 * (finite falling losses, exact resume, skipped videos, errors, SIGINT, a full disk).
 *
 *   test-pretrain SVILM_TRAIN   (the path of the svilm-train program)
 */
#include "checkpoint.h"
#include "cutpaste.h"
#include "dataset.h"
#include "sv-backend.h"
#include "sv-model.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  double v[7]; /* step, loss, temporal, grounding, contrast, separate, words */
} Metric;

static const char *train_exe;
static char *tmpdir, *corpus, *config;

/* ---- sanitizer builds: tests/sanitizer-defaults.c ---- */

static char **child_env;

static char **
make_child_env (void)
{
  char **env = g_get_environ ();
  const char *asan = g_environ_getenv (env, "ASAN_OPTIONS");
  if (!asan)
    return env;
  char *asan2 = g_strconcat (asan, ":fast_unwind_on_malloc=0", NULL);
  env = g_environ_setenv (env, "ASAN_OPTIONS", asan2, TRUE);
  g_free (asan2);
  GString *supp = g_string_new ("leak:_dl_init\n"), *lsan = g_string_new (NULL);
  const char *lo = g_environ_getenv (env, "LSAN_OPTIONS");
  char **opts = g_strsplit (lo ? lo : "", ":", -1);
  for (char **o = opts; *o; o++) {
    char *text = NULL;
    if (g_str_has_prefix (*o, "suppressions=")) {
      if (g_file_get_contents (*o + strlen ("suppressions="), &text, NULL, NULL))
        g_string_append (supp, text);
      g_free (text);
    } else if (**o) {
      g_string_append_printf (lsan, "%s:", *o);
    }
  }
  g_strfreev (opts);
  char *path = g_build_filename (tmpdir, "lsan.supp", NULL);
  g_assert_true (g_file_set_contents (path, supp->str, -1, NULL));
  g_string_append_printf (lsan, "suppressions=%s", path);
  env = g_environ_setenv (env, "LSAN_OPTIONS", lsan->str, TRUE);
  g_free (path);
  g_string_free (supp, TRUE);
  g_string_free (lsan, TRUE);
  return env;
}

/* ---- cut-and-paste ---- */

static void
test_derangement (void)
{
  SvRng rng;
  sv_rng_seed (&rng, 7);
  uint32_t p[9];
  for (int n = 2; n <= 9; n++)
    for (int r = 0; r < 200; r++) {
      sv_derangement (&rng, p, n);
      guint seen = 0;
      for (int i = 0; i < n; i++) {
        g_assert_cmpuint (p[i], <, (guint) n);
        g_assert_cmpuint (p[i], !=, (guint) i);
        seen |= 1u << p[i];
      }
      g_assert_cmpuint (seen, ==, (1u << n) - 1);
    }
  /* n = 3 has two derangements, both drawn about equally often */
  int first = 0;
  for (int r = 0; r < 2000; r++) {
    sv_derangement (&rng, p, 3);
    first += p[0] == 1;
  }
  g_assert_cmpint (first, >, 850);
  g_assert_cmpint (first, <, 1150);
}

static void
test_cutpaste_plan (void)
{
  SvRng rng;
  sv_rng_seed (&rng, 3);
  const int B = 5;
  for (int Nt = 2; Nt <= 8; Nt++) {
    SvCutPaste *cp = sv_cutpaste_new (B, Nt);
    int dmin = MAX (Nt / 2, 1);
    gboolean saw_min = FALSE, saw_max = FALSE;
    for (int r = 0; r < 100; r++) {
      sv_cutpaste_sample (cp, &rng);
      for (int i = 0; i < B; i++) {
        int s = cp->s[i], d = cp->d[i];
        g_assert_cmpint (d, >=, dmin);
        g_assert_cmpint (d, <, Nt);
        g_assert_cmpint (s, >=, 0);
        g_assert_cmpint (s + d, <, Nt + (s == 0 && Nt - d == 0)); /* s in [0, Nt - d) */
        saw_min |= d == dmin;
        saw_max |= d == Nt - 1;
        for (int j = 0; j < Nt; j++)
          g_assert_cmpfloat (cp->fg[i * Nt + j], ==, j >= s && j < s + d ? 1.0f : 0.0f);
        float beta = (float) d / Nt, sum = 0.0f;
        for (int j = 0; j < B; j++)
          sum += cp->Wv[i * B + j];
        g_assert_cmpfloat_with_epsilon (sum, 1.0f, 1e-6);
        g_assert_cmpfloat (cp->Wv[i * B + i], ==, beta);
        g_assert_cmpfloat (cp->Wv[i * B + cp->p[i]], ==, 1.0f - beta);
      }
    }
    g_assert_true (saw_min && saw_max);
    sv_cutpaste_free (cp);
  }
}

/* the ablation without cut-and-paste: every video whole, its own positive, the same RNG
 * stream as with it */
static void
test_cutpaste_off (void)
{
  const int B = 4, Nt = 4;
  SvRng on_rng, off_rng;
  sv_rng_seed (&on_rng, 5);
  sv_rng_seed (&off_rng, 5);
  SvCutPaste *on = sv_cutpaste_new (B, Nt), *off = sv_cutpaste_new (B, Nt);
  off->off = TRUE;
  for (int r = 0; r < 10; r++) {
    sv_cutpaste_sample (on, &on_rng);
    sv_cutpaste_sample (off, &off_rng);
    g_assert_true (memcmp (&on_rng, &off_rng, sizeof on_rng) == 0);
    for (int i = 0; i < B; i++) {
      g_assert_cmpuint (off->p[i], ==, i);
      g_assert_cmpint (off->s[i], ==, 0);
      g_assert_cmpint (off->d[i], ==, Nt);
      for (int j = 0; j < Nt; j++)
        g_assert_cmpfloat (off->fg[i * Nt + j], ==, 1.0f);
      for (int j = 0; j < B; j++)
        g_assert_cmpfloat (off->Wv[i * B + j], ==, i == j ? 1.0f : 0.0f);
    }
  }
  sv_cutpaste_free (on);
  sv_cutpaste_free (off);
}

static void
test_cutpaste_apply (void)
{
  const int B = 4, Nt = 4, pt = 2, T = Nt * pt;
  const size_t fn = 6; /* floats per frame */
  float *clips = g_new (float, (size_t) B *T *fn), *out = g_new (float, (size_t) B *T *fn);
  for (int b = 0; b < B; b++)
    for (int f = 0; f < T; f++)
      for (size_t k = 0; k < fn; k++)
        clips[((size_t) b * T + f) * fn + k] = (float) (b * 100 + f);
  SvRng rng;
  sv_rng_seed (&rng, 11);
  SvCutPaste *cp = sv_cutpaste_new (B, Nt);
  sv_cutpaste_sample (cp, &rng);
  sv_cutpaste_apply (cp, clips, out, pt, fn);
  for (int b = 0; b < B; b++)
    for (int f = 0; f < T; f++) {
      gboolean fg = f / pt >= cp->s[b] && f / pt < cp->s[b] + cp->d[b];
      float want = (float) ((fg ? b : (int) cp->p[b]) * 100 + f);
      for (size_t k = 0; k < fn; k++)
        g_assert_cmpfloat (out[((size_t) b * T + f) * fn + k], ==, want);
    }
  sv_cutpaste_free (cp);
  g_free (clips);
  g_free (out);
}

static void
test_swap_left_right (void)
{
  const char *cases[][2] = {
    { "a cat moves left", "a cat moves right" },
    { "Left of the Right box; LEFT", "Right of the Left box; RIGHT" },
    { "leftward and rightwards, the leftmost", "rightward and leftwards, the rightmost" },
    { "a lefty bright light", "a lefty bright light" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    char *s = sv_swap_left_right (cases[i][0]);
    g_assert_cmpstr (s, ==, cases[i][1]);
    g_free (s);
  }
}

/* ---- manifests ---- */

static SvDataset *
load_text (const char *name, const char *text, const SvDatasetOptions *opt)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  GError *error = NULL;
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  SvDataset *ds = sv_dataset_load (path, opt, &error);
  g_assert_no_error (error);
  g_free (path);
  return ds;
}

static SvDataItem *
item (SvDataset *ds, guint i)
{
  return g_ptr_array_index (ds->items, i);
}

static void
test_manifests (void)
{
  SvDataset *ds = load_text (
      "m.jsonl",
      "{\"video\": \"v/a.mp4\", \"caption\": \"a dog\", \"start\": 1.5, \"end\": 3}\n"
      "{\"path\": \"/abs/b.mp4\", \"caption\": \"a cat\", \"noun_phrases\": [\"a cat\"], "
      "\"split\": \"train\"}\n"
      "{\"video\": \"http://x/c.mp4\", \"caption\": \"\"}\n"
      "{\"video\": \"v/d.mp4\", \"caption\": \"held out\", \"split\": \"test\"}\n"
      "garbage\n\n",
      &(SvDatasetOptions){ "train", NULL });
  g_assert_cmpint (ds->kind, ==, SV_MANIFEST_JSONL);
  g_assert_cmpuint (ds->items->len, ==, 2);
  g_assert_cmpuint (ds->n_empty_caption, ==, 1);
  g_assert_cmpuint (ds->n_malformed, ==, 1);
  g_assert_cmpuint (ds->n_other_split, ==, 1);
  g_autofree char *want = g_strconcat ("file://", tmpdir, "/v/a.mp4", NULL);
  g_assert_cmpstr (item (ds, 0)->uri, ==, want);
  g_assert_cmpfloat (item (ds, 0)->start, ==, 1.5);
  g_assert_cmpfloat (item (ds, 0)->end, ==, 3.0);
  g_assert_null (item (ds, 0)->nouns);
  g_assert_cmpstr (item (ds, 1)->uri, ==, "file:///abs/b.mp4");
  g_assert_cmpstr (item (ds, 1)->nouns[0], ==, "a cat");
  sv_dataset_free (ds);

  ds = load_text ("m.csv",
                  "video,caption,start,end\n/a.mp4,\"a dog, running\",0,2\n"
                  "http://h/b.webm,\"say \"\"hi\"\"\",,\n",
                  NULL);
  g_assert_cmpint (ds->kind, ==, SV_MANIFEST_CSV);
  g_assert_cmpuint (ds->items->len, ==, 2);
  g_assert_cmpstr (item (ds, 0)->caption, ==, "a dog, running");
  g_assert_cmpfloat (item (ds, 0)->end, ==, 2.0);
  g_assert_cmpstr (item (ds, 1)->uri, ==, "http://h/b.webm");
  g_assert_cmpstr (item (ds, 1)->caption, ==, "say \"hi\"");
  g_assert_cmpfloat (item (ds, 1)->end, <=, 0.0);
  sv_dataset_free (ds);

  ds = load_text ("headerless.csv", "/a.mp4,a dog\r\n/b.mp4,a cat\r\n", NULL);
  g_assert_cmpuint (ds->items->len, ==, 2);
  g_assert_cmpstr (item (ds, 1)->caption, ==, "a cat");
  sv_dataset_free (ds);

  ds = load_text ("webvid.csv",
                  "videoid,contentUrl,duration,page_dir,name\n"
                  "31353427,https://ak.picdn.net/x/1.mp4,PT00H00M15S,006001_006050,\"Aerial "
                  "view, forest\"\n",
                  &(SvDatasetOptions){ NULL, "/data/webvid" });
  g_assert_cmpint (ds->kind, ==, SV_MANIFEST_WEBVID);
  g_assert_cmpstr (item (ds, 0)->caption, ==, "Aerial view, forest");
  g_assert_cmpstr (item (ds, 0)->uri, ==, "file:///data/webvid/006001_006050/31353427.mp4");
  sv_dataset_free (ds);

  ds = load_text ("msrvtt.json",
                  "{\"videos\": [{\"video_id\": \"video0\", \"split\": \"train\"}, "
                  "{\"video_id\": \"video9\", \"split\": \"test\"}], \"sentences\": "
                  "[{\"video_id\": \"video0\", \"caption\": \"a man sings\", \"sen_id\": 0}, "
                  "{\"video_id\": \"video0\", \"caption\": \"someone sings\", \"sen_id\": 1}, "
                  "{\"video_id\": \"video9\", \"caption\": \"a car\", \"sen_id\": 2}]}",
                  &(SvDatasetOptions){ "train", NULL });
  g_assert_cmpint (ds->kind, ==, SV_MANIFEST_MSRVTT);
  g_assert_cmpuint (ds->items->len, ==, 2);
  g_assert_cmpuint (ds->n_other_split, ==, 1);
  g_autofree char *want0 = g_strconcat ("file://", tmpdir, "/video0.mp4", NULL);
  g_assert_cmpstr (item (ds, 1)->uri, ==, want0);
  sv_dataset_free (ds);

  GError *error = NULL;
  g_autofree char *path = g_build_filename (tmpdir, "empty.jsonl", NULL);
  g_file_set_contents (path, "{\"video\": \"a.mp4\", \"caption\": \" \"}\n", -1, NULL);
  g_assert_null (sv_dataset_load (path, NULL, &error));
  g_assert_nonnull (strstr (error->message, "no usable entry"));
  g_clear_error (&error);
  g_assert_null (sv_dataset_load ("/nonexistent/manifest.jsonl", NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
}

/* ---- decoding ---- */

static char *
corpus_video (int i)
{
  char name[32];
  g_snprintf (name, sizeof name, "%06d.mp4", i);
  return g_build_filename (corpus, "videos", name, NULL);
}

static void
test_decode (void)
{
  g_autofree char *path = corpus_video (0);
  g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
  SvClipSpec spec = { .T = 4,
                      .H = 16,
                      .W = 16,
                      .augment = FALSE,
                      .crop_min = 0.6f,
                      .crop_max = 1.0f,
                      .flip_prob = 0.5f,
                      .timeout_s = 30 };
  size_t n = 4 * 16 * 16 * 3;
  g_autofree float *a = g_new (float, n), *b = g_new (float, n);
  SvRng r1, r2;
  sv_rng_seed (&r1, 5);
  sv_rng_seed (&r2, 5);
  GError *error = NULL;
  gboolean flipped = TRUE;
  g_assert_true (sv_decode_clip (uri, 0, -1, &spec, &r1, a, &flipped, &error));
  g_assert_no_error (error);
  g_assert_false (flipped);
  float lo = (0.0f - 0.45f) / 0.225f - 1e-4f, hi = (1.0f - 0.45f) / 0.225f + 1e-4f;
  for (size_t i = 0; i < n; i++)
    g_assert_true (a[i] >= lo && a[i] <= hi);
  /* augmented: a function of the RNG state */
  spec.augment = TRUE;
  g_assert_true (sv_decode_clip (uri, 0, -1, &spec, &r1, a, NULL, &error));
  g_assert_true (sv_decode_clip (uri, 0, -1, &spec, &r2, b, NULL, &error));
  g_assert_cmpmem (a, n * 4, b, n * 4);
  g_assert_true (sv_decode_clip (uri, 0.5, 1.0, &spec, &r2, b, NULL, &error));
  g_assert_no_error (error);
  /* unreadable */
  g_assert_false (sv_decode_clip ("file:///nonexistent.mp4", 0, -1, &spec, &r1, a, NULL, &error));
  g_assert_nonnull (strstr (error->message, "cannot decode"));
  g_clear_error (&error);
}

/* ---- the program ---- */

typedef struct {
  int status; /* exit code, or -signal */
  char *out, *err;
} Run;

static void
run_clear (Run *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
limit_file_size (gpointer data)
{
  struct rlimit rl = { GPOINTER_TO_UINT (data), GPOINTER_TO_UINT (data) };
  signal (SIGXFSZ, SIG_IGN);
  setrlimit (RLIMIT_FSIZE, &rl);
}

static GPtrArray *
argv_new (const char *out, ...)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (a, g_strdup (train_exe));
  g_ptr_array_add (a, g_strdup ("pretrain"));
  g_ptr_array_add (a, g_strdup ("--out"));
  g_ptr_array_add (a, g_build_filename (tmpdir, out, NULL));
  va_list ap;
  va_start (ap, out);
  const char *s;
  while ((s = va_arg (ap, const char *)))
    g_ptr_array_add (a, g_strdup (s));
  va_end (ap);
  g_ptr_array_add (a, NULL);
  return a;
}

static void
run_argv (Run *r, GPtrArray *argv, guint fsize_limit)
{
  GError *error = NULL;
  int status = 0;
  run_clear (r);
  g_spawn_sync (NULL, (char **) argv->pdata, child_env, G_SPAWN_DEFAULT,
                fsize_limit ? limit_file_size : NULL, GUINT_TO_POINTER (fsize_limit), &r->out,
                &r->err, &status, &error);
  g_assert_no_error (error);
  r->status = WIFEXITED (status) ? WEXITSTATUS (status) : -WTERMSIG (status);
  g_test_message ("%s exit %d\nstdout:\n%s\nstderr:\n%s", (char *) argv->pdata[3], r->status,
                  r->out, r->err);
  g_ptr_array_unref (argv);
}

#define RUN(r, limit, out, ...) run_argv (r, argv_new (out, __VA_ARGS__, NULL), limit)

/* the metrics lines of DIR/metrics.jsonl as (step, loss terms) */
static GArray *
metrics (const char *out)
{
  char *path = g_build_filename (tmpdir, out, "metrics.jsonl", NULL), *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  GArray *a = g_array_new (FALSE, FALSE, sizeof (Metric));
  char **lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l && **l; l++) {
    JsonNode *n = json_from_string (*l, NULL);
    g_assert_nonnull (n);
    JsonObject *o = json_node_get_object (n);
    Metric x = { { (double) json_object_get_int_member (o, "step"),
                   json_object_get_double_member (o, "loss"),
                   json_object_get_double_member (o, "loss_temporal"),
                   json_object_get_double_member (o, "loss_grounding"),
                   json_object_get_double_member (o, "loss_contrast"),
                   json_object_get_double_member (o, "loss_separate"),
                   json_object_get_double_member (o, "loss_words") } };
    g_array_append_val (a, x);
    json_node_unref (n);
  }
  g_strfreev (lines);
  g_free (text);
  g_free (path);
  return a;
}

static char *
manifest (void)
{
  return g_build_filename (corpus, "manifest.jsonl", NULL);
}

static void
test_run_train (void)
{
  g_auto (Run) r = { 0 };
  g_autofree char *m = manifest ();
  RUN (&r, 0, "train", "--config", config, "--data", m, "--steps", "10", "--keep", "2");
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "finished at step 10/10"));
  g_autoptr (GArray) a = metrics ("train");
  g_assert_cmpuint (a->len, ==, 10);
  for (guint i = 0; i < a->len; i++) {
    double *v = g_array_index (a, Metric, i).v;
    g_assert_cmpfloat (v[0], ==, i + 1);
    for (int k = 1; k < 5; k++)
      g_assert_true (isfinite (v[k]));
  }
  /* checkpoints every 4 steps and at the end, the last 2 kept; the model loads */
  g_autofree char *dir = g_build_filename (tmpdir, "train", NULL);
  char **list = sv_checkpoint_list (dir);
  g_assert_cmpuint (g_strv_length (list), ==, 2);
  g_assert_true (g_str_has_suffix (list[0], "checkpoint-00000008.safetensors"));
  g_assert_true (g_str_has_suffix (list[1], "checkpoint-00000010.safetensors"));
  g_autofree char *mpath = g_build_filename (dir, "model.safetensors", NULL);
  GError *error = NULL;
  SvModel *model = sv_model_load (mpath, sv_backend_cpu (), &error);
  g_assert_no_error (error);
  g_assert_nonnull (model->tokenizer);
  sv_model_free (model);
  g_strfreev (list);
}

/* The same 4 videos in every batch of 4 (no augmentation; cut-and-paste still changes): the
 * total loss falls, and the grounding and contrastive terms go below chance (2 ln 4, where
 * a collapsed model sits); the temporal term (trivial with 2 clips) stays finite and small. */
static void
test_run_loss_falls (void)
{
  g_autofree char *all = manifest (), *text = NULL;
  g_assert_true (g_file_get_contents (all, &text, NULL, NULL));
  char **lines = g_strsplit (text, "\n", 5);
  g_autofree char *four =
      g_strjoinv ("\n", (char *[]){ lines[0], lines[1], lines[2], lines[3], "", NULL });
  g_autofree char *m = g_build_filename (corpus, "four.jsonl", NULL);
  g_file_set_contents (m, four, -1, NULL);
  g_auto (Run) r = { 0 };
  RUN (&r, 0, "falls", "--config", config, "--data", m, "--steps", "60", "--no-augment", "--optim",
       "adamw", "--lr", "0.001", "--checkpoint-every", "100");
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr (GArray) a = metrics ("falls");
  g_assert_cmpuint (a->len, ==, 60);
  double mean[5][2] = { { 0 } }; /* term: first 10 steps, last 20 */
  for (guint i = 0; i < a->len; i++)
    for (int k = 1; k < 5; k++) {
      double v = g_array_index (a, Metric, i).v[k];
      g_assert_true (isfinite (v));
      if (i < 10)
        mean[k][0] += v / 10;
      if (i >= a->len - 20)
        mean[k][1] += v / 20;
    }
  for (int k = 1; k < 5; k++)
    g_test_message ("term %d: mean of the first 10 steps %.4f, of the last 20 %.4f", k, mean[k][0],
                    mean[k][1]);
  double chance = 2 * log (4.0);
  g_assert_cmpfloat (mean[1][1], <, mean[1][0]);
  g_assert_cmpfloat (mean[2][1], <, 0.5);
  g_assert_cmpfloat (mean[3][1], <, chance - 0.05);
  g_assert_cmpfloat (mean[4][1], <, chance - 0.05);
  g_strfreev (lines);
}

/* --contrast-warmup N: steps 1..N train the contrastive loss alone, then all terms */
static void
test_run_contrast_warmup (void)
{
  g_autofree char *m = manifest ();
  g_auto (Run) r = { 0 };
  RUN (&r, 0, "cwarm", "--config", config, "--data", m, "--steps", "4", "--contrast-warmup", "2");
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "steps 1..2 contrastive only"));
  g_autoptr (GArray) a = metrics ("cwarm");
  g_assert_cmpuint (a->len, ==, 4);
  for (guint i = 0; i < a->len; i++) {
    const double *v = g_array_index (a, Metric, i).v;
    g_assert_cmpfloat (v[4], >, 0.0);
    if (i < 2) {
      g_assert_cmpfloat (v[2], ==, 0.0);
      g_assert_cmpfloat (v[3], ==, 0.0);
      g_assert_cmpfloat_with_epsilon (v[1], v[4], 1e-5);
    } else {
      g_assert_cmpfloat (v[2], >, 0.0);
      g_assert_cmpfloat (v[3], >, 0.0);
    }
  }
}

static char *slurp (const char *path, gsize *len);

/* runs `svilm-train ARGS...`; returns the exit status */
static int
run_cmd (Run *r, const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) train_exe);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (char *) *a);
  g_ptr_array_add (argv, NULL);
  int status = 0;
  GError *error = NULL;
  run_clear (r);
  g_spawn_sync (NULL, (char **) argv->pdata, child_env, G_SPAWN_DEFAULT, NULL, NULL, &r->out,
                &r->err, &status, &error);
  g_assert_no_error (error);
  g_ptr_array_unref (argv);
  r->status = WIFEXITED (status) ? WEXITSTATUS (status) : -WTERMSIG (status);
  g_test_message ("svilm-train %s exit %d\nstdout:\n%s\nstderr:\n%s", args[0], r->status, r->out,
                  r->err);
  return r->status;
}

/* `svilm-train tokenizer` writes a vocabulary that pretrain --tokenizer starts from (and a
 * vocabulary larger than the model's is refused); the run trains with the CSAL term too,
 * and `svilm-train plot` draws its curves */
static void
test_run_tokenizer_csal_plot (void)
{
  g_auto (Run) r = { 0 };
  g_autofree char *m = manifest ();
  g_autofree char *tok = g_build_filename (tmpdir, "tok.json", NULL);
  g_autofree char *big = g_build_filename (tmpdir, "big.json", NULL);
  g_assert_cmpint (run_cmd (&r, (const char *[]){ "tokenizer", "--data", m, "--vocab", "100",
                                                  "--out", tok, NULL }),
                   ==, 0);
  g_autofree char *json = slurp (tok, NULL);
  GError *error = NULL;
  SvTokenizer *t = sv_tokenizer_from_json (json, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sv_tokenizer_vocab_size (t), <=, 100);
  g_assert_cmpuint (sv_tokenizer_vocab_size (t), >, 40);
  sv_tokenizer_free (t);

  RUN (&r, 0, "tok", "--config", config, "--data", m, "--steps", "4", "--tokenizer", tok,
       "--loss-csal", "1", "--loss-within", "1");
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr (GArray) a = metrics ("tok");
  g_assert_cmpuint (a->len, ==, 4);
  g_autofree char *mpath = g_build_filename (tmpdir, "tok", "model.safetensors", NULL);
  SvModel *model = sv_model_load (mpath, sv_backend_cpu (), &error);
  g_assert_no_error (error);
  g_autofree char *saved = sv_tokenizer_to_json (model->tokenizer);
  g_assert_cmpstr (saved, ==, json);
  sv_model_free (model);
  g_autofree char *metrics_path = g_build_filename (tmpdir, "tok", "metrics.jsonl", NULL);
  g_autofree char *mtext = slurp (metrics_path, NULL);
  g_assert_nonnull (strstr (mtext, "\"loss_csal\": "));
  g_assert_null (strstr (mtext, "\"loss_csal\": 0,"));
  g_assert_nonnull (strstr (mtext, "\"loss_within\": "));
  g_assert_null (strstr (mtext, "\"loss_within\": 0,"));

  /* a vocabulary larger than the config's (128) */
  g_assert_cmpint (run_cmd (&r, (const char *[]){ "tokenizer", "--data", m, "--vocab", "400",
                                                  "--out", big, NULL }),
                   ==, 0);
  RUN (&r, 0, "big", "--config", config, "--data", m, "--steps", "2", "--tokenizer", big);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "vocabulary"));
  /* not a tokenizer */
  RUN (&r, 0, "bad", "--config", config, "--data", m, "--steps", "2", "--tokenizer", m);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, m));

  g_autofree char *dir = g_build_filename (tmpdir, "tok", NULL);
  g_autofree char *png = g_build_filename (tmpdir, "curves.png", NULL);
  g_assert_cmpint (run_cmd (&r, (const char *[]){ "plot", dir, "--out", png, NULL }), ==, 0);
  g_autofree char *head = slurp (png, NULL);
  g_assert_cmpmem (head, 8, "\x89PNG\r\n\x1a\n", 8);
  /* a directory without metrics */
  g_assert_cmpint (run_cmd (&r, (const char *[]){ "plot", tmpdir, NULL }), ==, 1);
  g_assert_nonnull (strstr (r.err, "metrics.jsonl"));
}

/* The largest difference between two models' parameters beyond 1e-4 of each tensor's
 * scale.  Attention key biases are left out: their true gradient is zero (softmax over the
 * keys ignores the shift q.b_k they add to every logit of a row), so they get float noise
 * as gradients, which AdamW turns into whole +-lr steps in either direction. */
static double
model_distance (const char *a_path, const char *b_path)
{
  GError *error = NULL;
  SvModel *a = sv_model_load (a_path, sv_backend_cpu (), &error);
  g_assert_no_error (error);
  SvModel *b = sv_model_load (b_path, sv_backend_cpu (), &error);
  g_assert_no_error (error);
  double worst = 0.0;
  for (guint i = 0; i < sv_var_set_len (a->params); i++) {
    if (g_str_has_suffix (sv_var_set_name (a->params, i), ".attn.k.bias"))
      continue;
    SvVar *va = sv_var_set_get (a->params, i), *vb = sv_var_set_get (b->params, i);
    const float *x = sv_tensor_f32 (&va->x), *y = sv_tensor_f32 (&vb->x);
    double scale = 1e-6, err = 0.0;
    for (size_t j = 0; j < va->x.numel; j++) {
      scale = MAX (scale, fabs (x[j]));
      err = MAX (err, fabs (x[j] - y[j]));
    }
    if (err - 1e-4 * scale > worst) {
      worst = err - 1e-4 * scale;
      g_test_message ("model distance: %s differs by %.3g (scale %.3g)",
                      sv_var_set_name (a->params, i), err, scale);
    }
  }
  sv_model_free (a);
  sv_model_free (b);
  return worst;
}

/* Data-parallel training: `mpirun -np 2` with batches of 4 makes the same steps as one
 * process with --accum 2 (two batches of 4 a step, gradients averaged): the same losses and
 * the same model, within float tolerance; resuming needs the same split of the step. */
static void
test_run_mpi (void)
{
  g_autofree char *mpirun = g_find_program_in_path ("mpirun");
  if (!mpirun) {
    g_test_skip ("mpirun is not installed (openmpi-bin)");
    return;
  }
  g_auto (Run) r = { 0 };
  g_autofree char *m = manifest ();
  /* SGD, not the config's AdamW: AdamW scales a gradient that is only float noise (true
   * gradient zero or nearly, as attention key biases and a grouping block's query biases
   * have) up to a whole +-lr step, so two correct runs may differ by lr in such a tensor.
   * SGD keeps float noise noise-sized, and equal models mean equal averaged gradients. */
  RUN (&r, 0, "accum", "--config", config, "--data", m, "--steps", "4", "--accum", "2", "--threads",
       "1", "--workers", "1", "--optim", "sgd", "--lr", "0.05");
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "of 2 x batch 4"));

  g_autofree char *out2 = g_build_filename (tmpdir, "mpi", NULL);
  const char *argv[] = { mpirun, "-np",       "2",    train_exe,   "pretrain", "--config",
                         config, "--data",    m,      "--out",     out2,       "--steps",
                         "4",    "--threads", "1",    "--workers", "1",        "--optim",
                         "sgd",  "--lr",      "0.05", NULL };
  char **env = g_strdupv (child_env);
  env = g_environ_setenv (env, "OMPI_ALLOW_RUN_AS_ROOT", "1", TRUE);
  env = g_environ_setenv (env, "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", TRUE);
  env = g_environ_setenv (env, "OMPI_MCA_rmaps_base_oversubscribe", "1", TRUE);
  /* containers often forbid the cross-process memory copy Open MPI tries first */
  env = g_environ_setenv (env, "OMPI_MCA_btl_vader_single_copy_mechanism", "none", TRUE);
  /* Open MPI's own allocations that live as long as the process are not ours to check */
  const char *asan = g_environ_getenv (env, "ASAN_OPTIONS");
  g_autofree char *asan2 = g_strconcat (asan ? asan : "", asan ? ":" : "", "detect_leaks=0", NULL);
  env = g_environ_setenv (env, "ASAN_OPTIONS", asan2, TRUE);
  int status = 0;
  GError *error = NULL;
  run_clear (&r);
  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err, &status,
                &error);
  g_assert_no_error (error);
  g_test_message ("mpirun -np 2: status %d\nstdout:\n%s\nstderr:\n%s", status, r.out, r.err);
  if (strstr (r.err, "built without MPI")) {
    g_test_skip ("svilm-train was built without MPI");
    g_strfreev (env);
    return;
  }
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (r.out, "of 2 x batch 4"));
  g_assert_nonnull (strstr (r.out, "2 processes"));

  g_autoptr (GArray) a = metrics ("accum");
  g_autoptr (GArray) b = metrics ("mpi");
  g_assert_cmpuint (a->len, ==, 4);
  g_assert_cmpuint (b->len, ==, 4);
  for (guint i = 0; i < a->len; i++)
    for (int k = 1; k < 5; k++) {
      double x = g_array_index (a, Metric, i).v[k], y = g_array_index (b, Metric, i).v[k];
      g_test_message ("step %u term %d: one process %.7f, two %.7f", i + 1, k, x, y);
      g_assert_cmpfloat (fabs (x - y), <=, 1e-5 + 1e-5 * fabs (x));
    }
  g_autofree char *ma = g_build_filename (tmpdir, "accum", "model.safetensors", NULL);
  g_autofree char *mb = g_build_filename (out2, "model.safetensors", NULL);
  double d = model_distance (ma, mb);
  g_test_message ("largest parameter difference beyond 1e-4 of its tensor's scale: %.2e", d);
  g_assert_cmpfloat (d, <, 1e-5);

  /* one process cannot resume a step split in two */
  RUN (&r, 0, "mpi", "--resume", "--steps", "6");
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "micro-batches"));
  /* with --accum 2 it can, and goes on where the two processes stopped */
  RUN (&r, 0, "mpi", "--resume", "--steps", "6", "--accum", "2");
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr (GArray) c = metrics ("mpi");
  g_assert_cmpuint (c->len, ==, 6);
  g_strfreev (env);
}

/* the contents of a file */
static char *
slurp (const char *path, gsize *len)
{
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, len, NULL));
  return text;
}

/* a run resumed from a checkpoint gives the same losses and model as an uninterrupted one */
static void
test_run_resume (void)
{
  g_auto (Run) r = { 0 };
  g_autofree char *m = manifest ();
  RUN (&r, 0, "whole", "--config", config, "--data", m, "--steps", "10", "--keep", "5");
  g_assert_cmpint (r.status, ==, 0);
  /* the second run starts from the first's step-4 checkpoint and its metrics lines up to
   * step 6 (written past the checkpoint before a crash: they are dropped) */
  g_autofree char *dir = g_build_filename (tmpdir, "resumed", NULL);
  g_mkdir (dir, 0777);
  g_autofree char *src =
      g_build_filename (tmpdir, "whole", "checkpoint-00000004.safetensors", NULL);
  g_autofree char *dst = g_build_filename (dir, "checkpoint-00000004.safetensors", NULL);
  g_autofree char *msrc = g_build_filename (tmpdir, "whole", "metrics.jsonl", NULL);
  g_autofree char *mdst = g_build_filename (dir, "metrics.jsonl", NULL);
  gsize len = 0;
  g_autofree char *text = slurp (src, &len), *mtext = slurp (msrc, NULL);
  g_assert_true (g_file_set_contents (dst, text, (gssize) len, NULL));
  g_auto (GStrv) lines = g_strsplit (mtext, "\n", 7);
  g_free (lines[6]);
  lines[6] = NULL;
  g_autofree char *six = g_strjoinv ("\n", lines);
  g_assert_true (g_file_set_contents (mdst, six, -1, NULL));
  g_autofree char *stale = g_build_filename (dir, "checkpoint-00000005.safetensors.Ab12Cd", NULL);
  g_file_set_contents (stale, "left by a killed write", -1, NULL);
  RUN (&r, 0, "resumed", "--config", config, "--data", m, "--steps", "10", "--keep", "5",
       "--resume");
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "steps 5..10"));
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_autoptr (GArray) a = metrics ("whole");
  g_autoptr (GArray) b = metrics ("resumed");
  g_assert_cmpuint (a->len, ==, 10);
  g_assert_cmpuint (b->len, ==, 10);
  for (guint i = 0; i < a->len; i++)
    for (int k = 0; k < 5; k++)
      g_assert_cmpfloat (g_array_index (a, Metric, i).v[k], ==, g_array_index (b, Metric, i).v[k]);
  /* bit-identical model */
  g_autofree char *pa = g_build_filename (tmpdir, "whole", "model.safetensors", NULL);
  g_autofree char *pb = g_build_filename (dir, "model.safetensors", NULL);
  gsize la = 0, lb = 0;
  g_autofree char *ta = slurp (pa, &la), *tb = slurp (pb, &lb);
  g_assert_cmpmem (ta, la, tb, lb);
}

/* a missing file, an unreadable file and an empty caption are skipped and counted */
static void
test_run_skips (void)
{
  g_autofree char *bad = g_build_filename (tmpdir, "corrupt.mp4", NULL);
  char junk[4096];
  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (char) (i * 7919 % 251);
  g_file_set_contents (bad, junk, sizeof junk, NULL);
  g_autofree char *m = g_build_filename (tmpdir, "bad.jsonl", NULL);
  GString *s = g_string_new (NULL);
  for (int i = 0; i < 5; i++) {
    g_autofree char *v = corpus_video (i);
    g_string_append_printf (s, "{\"video\": \"%s\", \"caption\": \"a clip %d\"}\n", v, i);
  }
  g_string_append_printf (s, "{\"video\": \"%s\", \"caption\": \"noise\"}\n", bad);
  g_string_append (s, "{\"video\": \"missing.mp4\", \"caption\": \"gone\"}\n");
  g_string_append (s, "{\"video\": \"missing2.mp4\", \"caption\": \"\"}\n");
  g_file_set_contents (m, s->str, -1, NULL);
  g_string_free (s, TRUE);
  g_auto (Run) r = { 0 };
  RUN (&r, 0, "skips", "--config", config, "--data", m, "--steps", "4");
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "1 without a caption"));
  g_assert_nonnull (strstr (r.out, "2 unreadable videos skipped"));
  g_assert_nonnull (strstr (r.err, "skipping missing.mp4"));
  g_assert_nonnull (strstr (r.err, "corrupt.mp4"));
}

static void
assert_one_sentence (const Run *r, int status, const char *part)
{
  g_assert_cmpint (r->status, ==, status);
  g_assert_true (g_str_has_prefix (r->err, "svilm-train pretrain: "));
  g_assert_nonnull (strstr (r->err, part));
}

static void
test_run_errors (void)
{
  g_auto (Run) r = { 0 };
  g_autofree char *m = manifest ();
  RUN (&r, 0, "e1", "--config", config, "--data", "/nonexistent/manifest.jsonl");
  assert_one_sentence (&r, 1, "cannot read the manifest");
  g_assert_cmpuint (strlen (r.err), ==, strcspn (r.err, "\n") + 1); /* one line */
  g_autofree char *badcfg = g_build_filename (tmpdir, "bad-config.json", NULL);
  g_file_set_contents (badcfg, "{\"frames\": 5}", -1, NULL);
  RUN (&r, 0, "e2", "--config", badcfg, "--data", m);
  assert_one_sentence (&r, 1, "frames");
  RUN (&r, 0, "e3", "--config", "/nonexistent.json", "--data", m);
  assert_one_sentence (&r, 1, "cannot read the config");
  RUN (&r, 0, "e4", "--config", config, "--data", m, "--batch", "1");
  assert_one_sentence (&r, 2, "--batch");
  RUN (&r, 0, "e4b", "--config", config, "--data", m, "--no-cut-paste");
  assert_one_sentence (&r, 1, "--loss-temporal 0");
  RUN (&r, 0, "e4c", "--config", config, "--data", m, "--loss-within", "1", "--loss-grounding",
       "0");
  assert_one_sentence (&r, 1, "--loss-grounding > 0");
  RUN (&r, 0, "e5", "--config", config, "--data", m, "--bogus");
  g_assert_cmpint (r.status, ==, 2);
  RUN (&r, 0, "e6", "--data", m);
  assert_one_sentence (&r, 2, "--config");
  /* an output directory with checkpoints needs --resume */
  g_autofree char *e7 = g_build_filename (tmpdir, "e7", NULL);
  g_autofree char *ck = g_build_filename (e7, "checkpoint-00000002.safetensors", NULL);
  g_mkdir (e7, 0777);
  g_file_set_contents (ck, "", 0, NULL);
  RUN (&r, 0, "e7", "--config", config, "--data", m, "--steps", "2");
  assert_one_sentence (&r, 1, "--resume");
}

/* --text-negatives: two edited captions a caption (synth's swaps.json) join video->text's
 * softmax: at the first step (same seed, same batch) the contrastive loss is about ln 3
 * higher than without them; a missing vocabulary is one sentence */
static void
test_run_text_negatives (void)
{
  g_auto (Run) r = { 0 };
  g_autofree char *m = manifest ();
  RUN (&r, 0, "neg0", "--config", config, "--data", m, "--steps", "2", "--no-augment");
  g_assert_cmpint (r.status, ==, 0);
  RUN (&r, 0, "neg2", "--config", config, "--data", m, "--steps", "2", "--no-augment",
       "--text-negatives", "2");
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr (GArray) a = metrics ("neg0");
  g_autoptr (GArray) b = metrics ("neg2");
  double c0 = g_array_index (a, Metric, 0).v[4], c2 = g_array_index (b, Metric, 0).v[4];
  g_test_message ("first step's contrastive loss: %.4f without negatives, %.4f with two", c0, c2);
  g_assert_cmpfloat (c2 - c0, >, 0.5);
  g_assert_cmpfloat (c2 - c0, <, 2.0);
  RUN (&r, 0, "neg3", "--config", config, "--data", m, "--steps", "2", "--text-negatives", "2",
       "--swaps", "/nonexistent/swaps.json");
  assert_one_sentence (&r, 1, "swap vocabulary");
  RUN (&r, 0, "neg4", "--config", config, "--data", m, "--steps", "2", "--text-negatives", "-1");
  assert_one_sentence (&r, 1, "--text-negatives");
  /* L_s from the second step, on every negative or on the mirrored copies only (every
   * caption here says a side: negative 0 of each is its mirrored copy, negative 1 not) */
  const char *which[2] = { "all", "sides" };
  double held[2];
  for (int i = 0; i < 2; i++) {
    g_autofree char *dir = g_strdup_printf ("sep-%s", which[i]);
    RUN (&r, 0, dir, "--config", config, "--data", m, "--steps", "2", "--no-augment",
         "--text-negatives", "2", "--side-negatives", "1", "--loss-separate", "5",
         "--separate-which", which[i], "--separate-from", "1");
    g_assert_cmpint (r.status, ==, 0);
    g_autoptr (GArray) s = metrics (dir);
    g_assert_cmpfloat (g_array_index (s, Metric, 0).v[5], ==, 0.0);
    held[i] = g_array_index (s, Metric, 1).v[5];
  }
  g_test_message ("second step's L_s: %.5f on every negative, %.5f on the mirrored ones", held[0],
                  held[1]);
  g_assert_cmpfloat (held[1], >, 0.0);
  g_assert_cmpfloat (held[1], <, held[0]);
  RUN (&r, 0, "neg5", "--config", config, "--data", m, "--steps", "2", "--text-negatives", "1",
       "--loss-separate", "1", "--separate-which", "sides");
  assert_one_sentence (&r, 1, "--separate-which");
  RUN (&r, 0, "neg6", "--config", config, "--data", m, "--steps", "2", "--text-negatives", "1",
       "--loss-separate", "1", "--separate-which", "some");
  assert_one_sentence (&r, 1, "--separate-which");
}

/* --loss-words: a model with a word head learns to name its clips' caption words (the loss
 * starts about ln 128, the config's vocabulary, and falls); without the head it is refused */
static void
test_run_words (void)
{
  g_auto (Run) r = { 0 };
  g_autofree char *m = manifest ();
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (config, &text, NULL, NULL));
  g_autofree char *words = g_build_filename (tmpdir, "config-words.json", NULL);
  g_autofree char *with = g_strconcat ("{\"word_head\": true, ", text + 1, NULL);
  g_assert_true (g_file_set_contents (words, with, -1, NULL));
  RUN (&r, 0, "words", "--config", words, "--data", m, "--steps", "30", "--no-augment",
       "--loss-words", "1");
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr (GArray) a = metrics ("words");
  double first = g_array_index (a, Metric, 0).v[6], last = 0.0;
  for (guint i = a->len - 5; i < a->len; i++)
    last += g_array_index (a, Metric, i).v[6] / 5;
  g_test_message ("L_words: %.3f at the first step, %.3f over the last 5 (ln 128 = 4.85)", first,
                  last);
  g_assert_cmpfloat (first, >, 4.0); /* above ln 128: the random head's logits are spread */
  g_assert_cmpfloat (first, <, 7.0);
  g_assert_cmpfloat (last, <, first - 0.5);
  g_autofree char *model = g_build_filename (tmpdir, "words", "model.safetensors", NULL);
  GError *error = NULL;
  SvModel *back = sv_model_load (model, sv_backend_cpu (), &error);
  g_assert_no_error (error);
  g_assert_true (back->cfg.word_head);
  g_assert_nonnull (sv_var_set_find (back->params, "words.weight"));
  sv_model_free (back);
  /* idf shares: the same first batch and head, other targets, so another L_words */
  RUN (&r, 0, "words-idf", "--config", words, "--data", m, "--steps", "3", "--no-augment",
       "--loss-words", "1", "--words-weighting", "idf");
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "words 1 (idf)"));
  g_autoptr (GArray) idf = metrics ("words-idf");
  double first_idf = g_array_index (idf, Metric, 0).v[6];
  g_test_message ("L_words at the first step: %.4f with idf shares, %.4f with equal ones",
                  first_idf, first);
  g_assert_cmpfloat (fabs (first_idf - first), >, 1e-3);
  RUN (&r, 0, "words-tf", "--config", words, "--data", m, "--steps", "2", "--loss-words", "1",
       "--words-weighting", "tf");
  assert_one_sentence (&r, 1, "--words-weighting");
  RUN (&r, 0, "words-none", "--config", config, "--data", m, "--steps", "2", "--loss-words", "1");
  assert_one_sentence (&r, 1, "--loss-words");
  RUN (&r, 0, "words-neg", "--config", words, "--data", m, "--steps", "2", "--loss-words", "-1");
  assert_one_sentence (&r, 1, "--loss-words");
}

/* SIGINT during training saves a checkpoint that loads and resumes */
static void
test_run_sigint (void)
{
  g_autofree char *m = manifest ();
  GPtrArray *argv = argv_new ("sigint", "--config", config, "--data", m, "--steps", "100000",
                              "--checkpoint-every", "100000", NULL);
  GError *error = NULL;
  GPid pid;
  g_spawn_async (NULL, (char **) argv->pdata, child_env,
                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  g_ptr_array_unref (argv);
  g_autofree char *mpath = g_build_filename (tmpdir, "sigint", "metrics.jsonl", NULL);
  for (int i = 0; i < 600; i++) { /* until 3 steps are done */
    char *text = NULL;
    if (g_file_get_contents (mpath, &text, NULL, NULL)) {
      int n = 0;
      for (char *p = text; *p; p++)
        n += *p == '\n';
      g_free (text);
      if (n >= 3)
        break;
    }
    g_usleep (100000);
  }
  kill (pid, SIGINT);
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_autofree char *dir = g_build_filename (tmpdir, "sigint", NULL);
  g_autofree char *latest = sv_checkpoint_latest (dir);
  g_assert_nonnull (latest);
  SvTrainState st = { 0 };
  SvModel *model = sv_checkpoint_load (latest, sv_backend_cpu (), &st, &error);
  g_assert_no_error (error);
  g_assert_cmpint (st.step, >=, 3);
  sv_model_free (model);
  g_autofree char *steps = g_strdup_printf ("%" G_GINT64_FORMAT, st.step + 2);
  g_auto (Run) r = { 0 };
  RUN (&r, 0, "sigint", "--data", m, "--steps", steps, "--resume");
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "finished"));
  g_free (st.options);
}

/* lines in a file (0 when it does not exist) */
static guint
count_lines (const char *path)
{
  char *text = NULL;
  guint n = 0;
  if (g_file_get_contents (path, &text, NULL, NULL))
    for (char *p = text; *p; p++)
      n += *p == '\n';
  g_free (text);
  return n;
}

/* kill -9 at 20 random moments, a checkpoint written every step so that many land inside a
 * write: each time the newest checkpoint loads and the next run resumes from it; at the
 * end the run finishes and its metrics hold every step once.  Each kill waits until the
 * run has logged two new steps (so that it made progress however slow the machine or
 * the build: ASan), then comes at a random moment within about a step. */
static void
test_run_kill9 (void)
{
  g_autofree char *m = manifest ();
  g_autofree char *dir = g_build_filename (tmpdir, "kill9", NULL);
  g_autofree char *mpath = g_build_filename (dir, "metrics.jsonl", NULL);
  GRand *rand = g_rand_new_with_seed (9);
  int64_t last = 0;
  guint resumed = 0;
  for (int i = 0; i < 20; i++) {
    GPtrArray *argv = argv_new ("kill9", "--config", config, "--data", m, "--steps", "100000",
                                "--checkpoint-every", "1", "--keep", "2", "--resume", NULL);
    GError *error = NULL;
    GPid pid;
    guint before = count_lines (mpath);
    gint64 t0 = g_get_monotonic_time ();
    g_spawn_async (NULL, (char **) argv->pdata, child_env,
                   G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                       G_SPAWN_STDERR_TO_DEV_NULL,
                   NULL, NULL, &pid, &error);
    g_assert_no_error (error);
    g_ptr_array_unref (argv);
    /* a resumed run first cuts the metrics back to its checkpoint: count from there */
    while (count_lines (mpath) < before + 2 && g_get_monotonic_time () - t0 < 300 * G_USEC_PER_SEC)
      g_usleep (20000);
    gint64 step_us = (g_get_monotonic_time () - t0) / 4 + 1;
    g_usleep ((gulong) g_rand_int_range (rand, 0, (gint32) MIN (step_us, 2000000)));
    kill (pid, SIGKILL);
    int status = 0;
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    g_spawn_close_pid (pid);
    g_autofree char *latest = sv_checkpoint_latest (dir);
    g_assert_nonnull (latest);
    SvTrainState st = { 0 };
    SvModel *model = sv_checkpoint_load (latest, sv_backend_cpu (), &st, &error);
    g_assert_no_error (error);
    g_assert_cmpint (st.step, >=, last);
    resumed += st.step > last;
    last = st.step;
    sv_model_free (model);
    g_free (st.options);
    g_free (st.lanes);
  }
  g_rand_free (rand);
  g_test_message ("20 kills; the newest checkpoint always loaded; %u runs advanced it, to step "
                  "%" G_GINT64_FORMAT,
                  resumed, last);
  g_assert_cmpuint (resumed, >=, 15);
  g_autofree char *steps = g_strdup_printf ("%" G_GINT64_FORMAT, last + 2);
  g_auto (Run) r = { 0 };
  RUN (&r, 0, "kill9", "--data", m, "--steps", steps, "--resume");
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr (GArray) a = metrics ("kill9");
  g_assert_cmpuint (a->len, ==, (guint) (last + 2));
  for (guint i = 0; i < a->len; i++)
    g_assert_cmpfloat (g_array_index (a, Metric, i).v[0], ==, i + 1);
}

/* a write that fails (file size limit: as a full disk) is an error that keeps the previous
 * checkpoint */
static void
test_run_disk_full (void)
{
  g_auto (Run) r = { 0 };
  g_autofree char *m = manifest ();
  RUN (&r, 0, "full", "--config", config, "--data", m, "--steps", "4");
  g_assert_cmpint (r.status, ==, 0);
  g_autofree char *dir = g_build_filename (tmpdir, "full", NULL);
  g_autofree char *before = sv_checkpoint_latest (dir), *text = NULL, *after_text = NULL;
  gsize len = 0, after_len = 0;
  g_assert_true (g_file_get_contents (before, &text, &len, NULL));
  /* room for the metrics, not for a checkpoint */
  RUN (&r, (guint) (len / 2), "full", "--config", config, "--data", m, "--steps", "8", "--resume");
  assert_one_sentence (&r, 1, "is intact");
  g_autofree char *latest = sv_checkpoint_latest (dir);
  g_assert_cmpstr (latest, ==, before);
  g_assert_true (g_file_get_contents (latest, &after_text, &after_len, NULL));
  g_assert_cmpmem (text, len, after_text, after_len);
}

/* ---- setup ---- */

static gboolean
make_corpus (void)
{
  corpus = g_build_filename (tmpdir, "corpus", NULL);
  const char *argv[] = { train_exe, "synth", "--out",          corpus,
                         "-n",      "24",    "--frames",       "8",
                         "--size",  "32x32", "--split-ratios", "100,0,0",
                         "-q",      NULL };
  int status = 0;
  GError *error = NULL;
  if (g_spawn_sync (NULL, (char **) argv, child_env, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                    &status, &error) &&
      g_spawn_check_wait_status (status, NULL))
    return TRUE;
  g_clear_error (&error);
  /* no synth (or no H.264 encoder): test patterns with gst-launch-1.0 */
  g_autofree char *vdir = g_build_filename (corpus, "videos", NULL);
  g_mkdir_with_parents (vdir, 0777);
  GString *man = g_string_new (NULL);
  for (int i = 0; i < 24; i++) {
    g_autofree char *v = corpus_video (i);
    g_autofree char *loc = g_strdup_printf ("location=%s", v);
    g_autofree char *pat = g_strdup_printf ("pattern=%d", i % 20);
    const char *gl[] = { "gst-launch-1.0",
                         "-q",
                         "videotestsrc",
                         pat,
                         "num-buffers=8",
                         "!",
                         "video/x-raw,width=32,height=32,framerate=8/1",
                         "!",
                         "jpegenc",
                         "!",
                         "qtmux",
                         "!",
                         "filesink",
                         loc,
                         NULL };
    if (!g_spawn_sync (NULL, (char **) gl, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                       &status, NULL) ||
        !g_spawn_check_wait_status (status, NULL))
      return FALSE;
    g_string_append_printf (man,
                            "{\"video\": \"videos/%06d.mp4\", \"caption\": \"test "
                            "pattern %d moves left\"}\n",
                            i, i);
  }
  g_autofree char *mpath = manifest ();
  g_file_set_contents (mpath, man->str, -1, NULL);
  g_string_free (man, TRUE);
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);
  if (argc < 2) {
    g_printerr ("usage: test-pretrain SVILM_TRAIN\n");
    return 2;
  }
  train_exe = argv[1];
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("svilm-pretrain-XXXXXX", &error);
  g_assert_no_error (error);
  child_env = make_child_env ();
  config = g_build_filename (tmpdir, "config.json", NULL);
  g_file_set_contents (
      config,
      "{\"frames\": 4, \"height\": 32, \"width\": 32, \"tubelet_t\": 2, \"patch\": 8,\n"
      " \"v_width\": 32, \"v_depth\": 2, \"v_heads\": 2, \"v_mlp\": 64, \"n_groups\": 4,\n"
      " \"group_after\": [1, 2], \"vocab\": 128, \"max_len\": 16, \"t_width\": 32,\n"
      " \"t_depth\": 1, \"t_heads\": 2, \"t_mlp\": 64, \"embed_dim\": 32,\n"
      " \"train\": {\"batch\": 4, \"optim\": \"adamw\", \"lr\": 0.002, \"checkpoint_every\": 4,\n"
      "           \"threads\": 2, \"workers\": 2, \"log_every\": 5}}\n",
      -1, NULL);
  g_assert_true (make_corpus ());

  g_test_add_func ("/pretrain/cutpaste/derangement", test_derangement);
  g_test_add_func ("/pretrain/cutpaste/plan", test_cutpaste_plan);
  g_test_add_func ("/pretrain/cutpaste/apply", test_cutpaste_apply);
  g_test_add_func ("/pretrain/cutpaste/off", test_cutpaste_off);
  g_test_add_func ("/pretrain/run/contrast-warmup", test_run_contrast_warmup);
  g_test_add_func ("/pretrain/swap-left-right", test_swap_left_right);
  g_test_add_func ("/pretrain/manifests", test_manifests);
  g_test_add_func ("/pretrain/decode", test_decode);
  g_test_add_func ("/pretrain/run/train", test_run_train);
  g_test_add_func ("/pretrain/run/loss-falls", test_run_loss_falls);
  g_test_add_func ("/pretrain/run/resume", test_run_resume);
  g_test_add_func ("/pretrain/run/tokenizer-csal-plot", test_run_tokenizer_csal_plot);
  g_test_add_func ("/pretrain/run/text-negatives", test_run_text_negatives);
  g_test_add_func ("/pretrain/run/words", test_run_words);
  g_test_add_func ("/pretrain/run/mpi", test_run_mpi);
  g_test_add_func ("/pretrain/run/skips", test_run_skips);
  g_test_add_func ("/pretrain/run/errors", test_run_errors);
  g_test_add_func ("/pretrain/run/sigint", test_run_sigint);
  g_test_add_func ("/pretrain/run/kill9", test_run_kill9);
  g_test_add_func ("/pretrain/run/disk-full", test_run_disk_full);
  int rc = g_test_run ();

  if (rc == 0) { /* keep the files of a failed run for a look */
    char *rm[] = { (char *) "rm", (char *) "-rf", tmpdir, NULL };
    g_spawn_sync (NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  }
  g_strfreev (child_env);
  g_free (config);
  g_free (corpus);
  g_free (tmpdir);
  return rc;
}
