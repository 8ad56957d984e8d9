/* svilm-train's sample pipeline (train/prefetch.c): mirror pairs (--mirror-pairs) and
 * mirrored negative captions (--side-negatives).
 *
 * The sample at an odd place of a lane becomes the mirror image of the one before it when
 * that one's caption says left or right: the same video and random draws, mirrored, the
 * caption's left and right swapped.  Checked against the same pipeline without pairs:
 * every other sample is unchanged, and a mirror image is exactly its partner's clip
 * mirrored. */
#include "dataset.h"

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <string.h>

#define N_VIDEOS 6
#define N_POSITIONS 24

static char *tmpdir, *manifest;

/* sanitizer builds: tests/sanitizer-defaults.c */

/* captions with a side (even videos) and without (odd ones) */
static const char *
caption_of (int i)
{
  static const char *const captions[] = {
    "a red ball moves to the left",     "a blue ball bounces",
    "a green ball drifts to the right", "a white square spins",
    "two small cars move to the left",  "a black star grows"
  };
  return captions[i];
}

static gboolean
make_corpus (void)
{
  GString *man = g_string_new (NULL);
  for (int i = 0; i < N_VIDEOS; i++) {
    g_autofree char *name = g_strdup_printf ("%d.mov", i);
    g_autofree char *path = g_build_filename (tmpdir, name, NULL);
    g_autofree char *loc = g_strdup_printf ("location=%s", path);
    g_autofree char *pat = g_strdup_printf ("pattern=%s", i % 2 ? "smpte" : "ball");
    const char *argv[] = { "gst-launch-1.0",
                           "-q",
                           "videotestsrc",
                           pat,
                           "num-buffers=8",
                           "!",
                           "video/x-raw,width=40,height=32,framerate=8/1",
                           "!",
                           "jpegenc",
                           "!",
                           "qtmux",
                           "!",
                           "filesink",
                           loc,
                           NULL };
    int status = 0;
    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                       &status, NULL) ||
        !g_spawn_check_wait_status (status, NULL)) {
      g_string_free (man, TRUE);
      return FALSE;
    }
    g_string_append_printf (man,
                            "{\"video\": \"%s\", \"caption\": \"%s\", \"nouns\": [\"ball\"]}\n",
                            name, caption_of (i));
  }
  manifest = g_build_filename (tmpdir, "manifest.jsonl", NULL);
  gboolean ok = g_file_set_contents (manifest, man->str, -1, NULL);
  g_string_free (man, TRUE);
  return ok;
}

typedef struct {
  SvDataset *ds;
  SvModelConfig cfg;
  SvTokenizer *tok;
  SvCaptionNegatives *negatives;
} Fixture;

static void
fixture_init (Fixture *f)
{
  GError *error = NULL;
  f->ds = sv_dataset_load (manifest, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->ds->items->len, ==, N_VIDEOS);
  g_assert_true (sv_model_config_preset (&f->cfg, "tiny", &error));
  f->cfg.frames = 4;
  f->cfg.height = f->cfg.width = 32;
  f->cfg.max_len = 16;
  const char *texts[N_VIDEOS + 1];
  for (int i = 0; i < N_VIDEOS; i++)
    texts[i] = caption_of (i);
  texts[N_VIDEOS] = "a ball moves to the right";
  f->tok = sv_tokenizer_train (texts, N_VIDEOS + 1, 96, &error);
  g_assert_no_error (error);
  f->negatives = sv_caption_negatives_parse (
      "{\"slots\": {\"noun\": [[[\"ball\"]], [[\"square\"]], [[\"star\"]], [[\"car\", "
      "\"cars\"]]]}}",
      -1, &error);
  g_assert_no_error (error);
}

static void
fixture_clear (Fixture *f)
{
  sv_dataset_free (f->ds);
  sv_tokenizer_free (f->tok);
  sv_caption_negatives_free (f->negatives);
}

/* the samples at start, start + stride, ... (n of them); negatives: a caption's Q (with
 * the swap vocabulary below) and the odds of its mirrored copy first */
static SvSample **
read_lane_negatives (Fixture *f, double mirror_pairs, int stride, uint64_t start, int workers,
                     int n, int Q, double side_negatives)
{
  SvPrefetchConfig pc = {
    .ds = f->ds,
    .cfg = &f->cfg,
    .tok = f->tok,
    .seed = 7,
    .workers = workers,
    .depth = 4,
    .stride = stride,
    .clip = { .T = f->cfg.frames,
              .H = f->cfg.height,
              .W = f->cfg.width,
              .augment = TRUE,
              .crop_min = 0.6f,
              .crop_max = 1.0f,
              .flip_prob = 0.5f,
              .timeout_s = 30.0 },
    .mirror_pairs = mirror_pairs,
    .negatives = Q > 0 ? f->negatives : NULL,
    .n_negatives = Q,
    .side_negatives = side_negatives,
  };
  SvPrefetch *pf = sv_prefetch_new (&pc, start);
  SvSample **s = g_new0 (SvSample *, n);
  for (int i = 0; i < n; i++) {
    s[i] = sv_prefetch_next (pf, NULL, NULL);
    g_assert_nonnull (s[i]);
    g_assert_true (s[i]->ok);
    g_assert_cmpuint (s[i]->position, ==, start + (uint64_t) i * stride);
  }
  sv_prefetch_free (pf);
  return s;
}

static SvSample **
read_lane (Fixture *f, double mirror_pairs, int stride, uint64_t start, int workers, int n)
{
  return read_lane_negatives (f, mirror_pairs, stride, start, workers, n, 0, 0.0);
}

static void
free_lane (SvSample **s, int n)
{
  for (int i = 0; i < n; i++)
    sv_sample_free (s[i]);
  g_free (s);
}

static gsize
clip_floats (const Fixture *f)
{
  return (gsize) f->cfg.frames * f->cfg.height * f->cfg.width * 3;
}

static void
assert_same_sample (const Fixture *f, const SvSample *a, const SvSample *b)
{
  g_assert_cmpuint (a->item, ==, b->item);
  g_assert_cmpint (a->flipped, ==, b->flipped);
  g_assert_cmpmem (a->clip, clip_floats (f) * sizeof (float), b->clip,
                   clip_floats (f) * sizeof (float));
  g_assert_cmpmem (a->ids, sizeof (int32_t) * f->cfg.max_len, b->ids,
                   sizeof (int32_t) * f->cfg.max_len);
}

/* b is a's mirror image: the same video, clip mirrored, caption's sides swapped */
static void
assert_mirror (const Fixture *f, const SvSample *a, const SvSample *b)
{
  int T = f->cfg.frames, H = f->cfg.height, W = f->cfg.width, L = f->cfg.max_len;
  g_assert_true (b->mirror);
  g_assert_cmpuint (b->item, ==, a->item);
  g_assert_cmpint (b->flipped, !=, a->flipped);
  g_autofree float *m = g_memdup2 (a->clip, clip_floats (f) * sizeof (float));
  sv_clip_mirror (m, T, H, W);
  g_assert_cmpmem (m, clip_floats (f) * sizeof (float), b->clip, clip_floats (f) * sizeof (float));
  g_assert_true (memcmp (m, a->clip, clip_floats (f) * sizeof (float)) != 0);
  const char *caption = ((SvDataItem *) g_ptr_array_index (f->ds->items, a->item))->caption;
  g_autofree char *swapped = sv_swap_left_right (caption);
  g_autofree int32_t *want = g_new (int32_t, L);
  g_autofree float *mask = g_new (float, L);
  sv_tokenizer_encode (f->tok, b->flipped ? swapped : caption, want, mask, L);
  g_assert_cmpmem (want, sizeof (int32_t) * L, b->ids, sizeof (int32_t) * L);
  g_assert_true (memcmp (a->ids, b->ids, sizeof (int32_t) * L) != 0);
}

static void
test_mirror_pairs (void)
{
  Fixture f;
  fixture_init (&f);
  SvSample **plain = read_lane (&f, 0.0, 1, 0, 2, N_POSITIONS);
  SvSample **paired = read_lane (&f, 1.0, 1, 0, 2, N_POSITIONS);
  int mirrors = 0;
  for (int i = 0; i < N_POSITIONS; i++) {
    g_assert_false (plain[i]->mirror);
    SvDataItem *before = i % 2 ? g_ptr_array_index (f.ds->items, plain[i - 1]->item) : NULL;
    if (before && sv_says_side (before->caption)) {
      assert_mirror (&f, paired[i - 1], paired[i]);
      mirrors++;
    } else {
      g_assert_false (paired[i]->mirror);
      assert_same_sample (&f, plain[i], paired[i]);
    }
  }
  /* half the captions say a side: about a quarter of the places (seed 7: checked > 0) */
  g_assert_cmpint (mirrors, >, 0);
  g_assert_cmpint (mirrors, <=, N_POSITIONS / 2);

  /* deterministic whatever the number of workers */
  SvSample **one = read_lane (&f, 1.0, 1, 0, 1, N_POSITIONS);
  for (int i = 0; i < N_POSITIONS; i++) {
    g_assert_cmpint (one[i]->mirror, ==, paired[i]->mirror);
    assert_same_sample (&f, one[i], paired[i]);
  }
  free_lane (one, N_POSITIONS);
  free_lane (plain, N_POSITIONS);
  free_lane (paired, N_POSITIONS);
  fixture_clear (&f);
}

/* with several lanes (micro-batches, processes), pairs are formed inside each lane */
static void
test_mirror_pairs_lanes (void)
{
  Fixture f;
  fixture_init (&f);
  int n = N_POSITIONS / 2;
  SvSample **plain = read_lane (&f, 0.0, 2, 1, 1, n);
  SvSample **paired = read_lane (&f, 1.0, 2, 1, 1, n);
  int mirrors = 0;
  for (int i = 0; i < n; i++) {
    SvDataItem *before = i % 2 ? g_ptr_array_index (f.ds->items, plain[i - 1]->item) : NULL;
    if (before && sv_says_side (before->caption)) {
      assert_mirror (&f, paired[i - 1], paired[i]);
      mirrors++;
    } else {
      assert_same_sample (&f, plain[i], paired[i]);
    }
  }
  g_assert_cmpint (mirrors, >, 0);
  free_lane (plain, n);
  free_lane (paired, n);
  fixture_clear (&f);
}

/* odds below 1: some places with a side keep their own sample */
static void
test_mirror_pairs_odds (void)
{
  Fixture f;
  fixture_init (&f);
  int n = 96, mirrors = 0, eligible = 0;
  SvSample **s = read_lane (&f, 0.5, 1, 0, 2, n);
  for (int i = 1; i < n; i += 2) {
    SvDataItem *before = g_ptr_array_index (f.ds->items, s[i - 1]->item);
    if (!sv_says_side (before->caption)) {
      g_assert_false (s[i]->mirror);
      continue;
    }
    eligible++;
    if (s[i]->mirror) {
      assert_mirror (&f, s[i - 1], s[i]);
      mirrors++;
    }
  }
  g_assert_cmpint (mirrors, >, 0);
  g_assert_cmpint (mirrors, <, eligible);
  free_lane (s, n);
  fixture_clear (&f);
}

/* --side-negatives: a caption that says a side has its mirrored copy as negative 0 (and is
 * flagged so), the others their vocabulary's swaps */
static void
test_side_negatives (void)
{
  Fixture f;
  fixture_init (&f);
  int L = f.cfg.max_len, n = 12;
  SvSample **plain = read_lane_negatives (&f, 0.0, 1, 0, 2, n, 2, 0.0);
  SvSample **side = read_lane_negatives (&f, 0.0, 1, 0, 2, n, 2, 1.0);
  g_autofree int32_t *want = g_new (int32_t, L);
  g_autofree float *mask = g_new (float, L);
  int sides = 0;
  for (int i = 0; i < n; i++) {
    const char *c = ((SvDataItem *) g_ptr_array_index (f.ds->items, plain[i]->item))->caption;
    g_autofree char *caption = plain[i]->flipped ? sv_swap_left_right (c) : g_strdup (c);
    assert_same_sample (&f, plain[i], side[i]);
    g_assert_false (plain[i]->side_negative);
    /* the flag that --separate-which sides reads */
    g_assert_cmpint (side[i]->side_negative, ==, sv_says_side (caption));
    if (!sv_says_side (caption)) { /* no draw: the same negatives */
      g_assert_cmpmem (plain[i]->ids, sizeof (int32_t) * L * 3, side[i]->ids,
                       sizeof (int32_t) * L * 3);
      continue;
    }
    sides++;
    g_autofree char *mirrored = sv_swap_left_right (caption);
    sv_tokenizer_encode (f.tok, mirrored, want, mask, L);
    g_assert_cmpmem (want, sizeof (int32_t) * L, side[i]->ids + L, sizeof (int32_t) * L);
    /* the second: a noun swapped ("ball" -> another), not the caption */
    g_assert_true (memcmp (side[i]->ids + 2 * L, side[i]->ids, sizeof (int32_t) * L) != 0);
    g_assert_true (memcmp (side[i]->ids + 2 * L, want, sizeof (int32_t) * L) != 0);
  }
  g_assert_cmpint (sides, >, 0);
  free_lane (plain, n);
  free_lane (side, n);
  fixture_clear (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("svilm-prefetch-XXXXXX", &error);
  g_assert_no_error (error);
  if (!make_corpus ()) {
    g_printerr ("cannot make the test videos with gst-launch-1.0\n");
    return 1;
  }
  g_test_add_func ("/prefetch/mirror-pairs", test_mirror_pairs);
  g_test_add_func ("/prefetch/mirror-pairs-lanes", test_mirror_pairs_lanes);
  g_test_add_func ("/prefetch/mirror-pairs-odds", test_mirror_pairs_odds);
  g_test_add_func ("/prefetch/side-negatives", test_side_negatives);
  int rc = g_test_run ();
  if (rc == 0) {
    char *rm[] = { (char *) "rm", (char *) "-rf", tmpdir, NULL };
    g_spawn_sync (NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  }
  g_free (manifest);
  g_free (tmpdir);
  /* the decoders' idle streaming threads end here: LeakSanitizer's scan of a thread that
   * outlives main trips over the dynamic TLS of a library it loaded (a fatal error) */
  gst_task_cleanup_all ();
  g_thread_pool_stop_unused_threads ();
  gst_deinit ();
  return rc;
}
