/* svilm-train synth and nouns, run as a program: determinism, decodable videos with the right
 * size and frame count, ground truth that matches the pixels, held-out attribute pairs, and
 * clear errors for bad arguments.
 *
 *   test-synth [--tap] PATH/TO/svilm-train
 */
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

static const char *program;
static char *tmp_root;
static char **child_env;
static char *corpus_a, *corpus_b; /* the same corpus made twice, with different --jobs */

typedef struct {
  int status;
  char *out, *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

/* runs svilm-train with the NULL-terminated arguments; status is the exit code */
static Run
run_program (const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (char *) program);
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  Run r = { 0 };
  int wait = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) args->pdata, child_env, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                &wait, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait));
  r.status = WEXITSTATUS (wait);
  return r;
}

static char *
read_text (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/* the manifest as an array of objects */
static GPtrArray *
read_manifest (const char *dir)
{
  g_autofree char *text = read_text (dir, "manifest.jsonl");
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  for (char **l = lines; *l; l++)
    if (**l)
      g_ptr_array_add (out, parse_json (*l));
  return out;
}

static JsonNode *
read_truth (const char *dir, JsonObject *entry)
{
  g_autofree char *text = read_text (dir, json_object_get_string_member (entry, "truth"));
  return parse_json (text);
}

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    GDir *d = g_dir_open (path, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name (d))) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      rm_rf (child);
    }
    if (d)
      g_dir_close (d);
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

/* ---- sanitizer builds: tests/sanitizer-defaults.c ---- */

/* the environment for svilm-train: the same, with the above added to any sanitizer options */
static char **
make_child_env (void)
{
  char **env = g_get_environ ();
  const char *asan = g_environ_getenv (env, "ASAN_OPTIONS");
  if (!asan)
    return env;
  g_autofree char *asan2 = g_strconcat (asan, ":fast_unwind_on_malloc=0", NULL);
  env = g_environ_setenv (env, "ASAN_OPTIONS", asan2, TRUE);
  g_autoptr (GString) supp = g_string_new ("leak:_dl_init\n");
  g_autoptr (GString) lsan = g_string_new (NULL);
  g_auto (GStrv) opts = g_strsplit (g_environ_getenv (env, "LSAN_OPTIONS") ?: "", ":", -1);
  for (char **o = opts; *o; o++) {
    if (g_str_has_prefix (*o, "suppressions=")) {
      g_autofree char *text = NULL;
      if (g_file_get_contents (*o + strlen ("suppressions="), &text, NULL, NULL))
        g_string_append (supp, text);
    } else if (**o) {
      g_string_append_printf (lsan, "%s:", *o);
    }
  }
  g_autofree char *path = g_build_filename (tmp_root, "lsan.supp", NULL);
  g_assert_true (g_file_set_contents (path, supp->str, -1, NULL));
  g_string_append_printf (lsan, "suppressions=%s", path);
  return g_environ_setenv (env, "LSAN_OPTIONS", lsan->str, TRUE);
}

/* ---- decoding --------------------------------------------------------------------------- */

typedef struct {
  int width, height, frames;
  guint8 *rgb; /* frames * height * width * 3 */
} Decoded;

static void
decoded_clear (Decoded *d)
{
  g_free (d->rgb);
}

static Decoded
decode (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipe =
      gst_parse_launch ("filesrc name=src ! decodebin ! videoconvert ! video/x-raw,format=RGB ! "
                        "appsink name=sink sync=false",
                        &error);
  g_assert_no_error (error);
  g_autoptr (GstElement) src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  g_autoptr (GstElement) sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  g_object_set (src, "location", path, NULL);
  g_assert_cmpint (gst_element_set_state (pipe, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  Decoded d = { 0 };
  GByteArray *bytes = g_byte_array_new ();
  GstSample *sample;
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
    GstVideoInfo info;
    g_assert_true (gst_video_info_from_caps (&info, gst_sample_get_caps (sample)));
    d.width = GST_VIDEO_INFO_WIDTH (&info);
    d.height = GST_VIDEO_INFO_HEIGHT (&info);
    GstVideoFrame frame;
    g_assert_true (
        gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ));
    for (int y = 0; y < d.height; y++)
      g_byte_array_append (bytes,
                           (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
                               y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0),
                           d.width * 3);
    gst_video_frame_unmap (&frame);
    gst_sample_unref (sample);
    d.frames++;
  }
  g_autoptr (GstBus) bus = gst_element_get_bus (pipe);
  g_autoptr (GstMessage) msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (msg) {
    g_autoptr (GError) gerr = NULL;
    gst_message_parse_error (msg, &gerr, NULL);
    g_error ("decoding %s: %s", path, gerr->message);
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  d.rgb = g_byte_array_free (bytes, FALSE);
  return d;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void
test_deterministic (void)
{
  corpus_a = g_build_filename (tmp_root, "a", NULL);
  corpus_b = g_build_filename (tmp_root, "b", NULL);
  Run a = run_program ("synth", "--out", corpus_a, "--count", "12", "--seed", "7", NULL);
  g_test_message ("%s", a.out);
  g_assert_cmpint (a.status, ==, 0);
  Run b = run_program ("synth", "--out", corpus_b, "--count", "12", "--seed", "7", "--jobs", "1",
                       "--quiet", NULL);
  g_assert_cmpint (b.status, ==, 0);
  g_assert_cmpstr (b.out, ==, "");
  run_clear (&a);
  run_clear (&b);

  const char *files[] = { "manifest.jsonl", "corpus.json" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *ta = read_text (corpus_a, files[i]);
    g_autofree char *tb = read_text (corpus_b, files[i]);
    g_assert_cmpstr (ta, ==, tb);
  }
  /* truth and videos too, byte for byte */
  g_autoptr (GPtrArray) m = read_manifest (corpus_a);
  g_assert_cmpuint (m->len, ==, 12);
  for (guint i = 0; i < m->len; i++) {
    JsonObject *e = json_node_get_object (m->pdata[i]);
    const char *names[] = { json_object_get_string_member (e, "truth"),
                            json_object_get_string_member (e, "path") };
    for (guint k = 0; k < G_N_ELEMENTS (names); k++) {
      g_autofree char *pa = g_build_filename (corpus_a, names[k], NULL);
      g_autofree char *pb = g_build_filename (corpus_b, names[k], NULL);
      g_autofree char *da = NULL, *db = NULL;
      gsize la = 0, lb = 0;
      g_assert_true (g_file_get_contents (pa, &da, &la, NULL));
      g_assert_true (g_file_get_contents (pb, &db, &lb, NULL));
      g_assert_cmpmem (da, la, db, lb);
    }
  }

  /* another seed gives another corpus */
  g_autofree char *c = g_build_filename (tmp_root, "c", NULL);
  Run r = run_program ("synth", "--out", c, "--count", "12", "--seed", "8", "--quiet", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  g_autofree char *ta = read_text (corpus_a, "manifest.jsonl");
  g_autofree char *tc = read_text (c, "manifest.jsonl");
  g_assert_cmpstr (ta, !=, tc);
}

static gboolean
box_of (JsonArray *boxes, guint f, int b[4])
{
  JsonNode *n = json_array_get_element (boxes, f);
  if (JSON_NODE_HOLDS_NULL (n))
    return FALSE;
  JsonArray *a = json_node_get_array (n);
  g_assert_cmpuint (json_array_get_length (a), ==, 4);
  for (int i = 0; i < 4; i++)
    b[i] = json_array_get_int_element (a, i);
  return TRUE;
}

static gboolean
in_transition (JsonObject *truth, guint f)
{
  JsonArray *bounds = json_object_get_array_member (truth, "boundaries");
  for (guint i = 0; i < json_array_get_length (bounds); i++) {
    JsonObject *b = json_array_get_object_element (bounds, i);
    gint64 start = json_object_get_int_member (b, "frame");
    gint64 len = json_object_get_int_member (b, "length");
    if ((gint64) f >= start && (gint64) f < start + len)
      return TRUE;
  }
  return FALSE;
}

static gboolean
overlaps (const int a[4], const int b[4])
{
  return MIN (a[0] + a[2], b[0] + b[2]) > MAX (a[0], b[0]) &&
         MIN (a[1] + a[3], b[1] + b[3]) > MAX (a[1], b[1]);
}

/* some pixel of the box is close to the object's colour */
static gboolean
box_has_colour (const Decoded *d, guint f, const int b[4], JsonArray *rgb)
{
  const guint8 *frame = d->rgb + (size_t) f * d->width * d->height * 3;
  for (int y = b[1]; y < b[1] + b[3]; y++)
    for (int x = b[0]; x < b[0] + b[2]; x++) {
      const guint8 *p = frame + ((size_t) y * d->width + x) * 3;
      double dist = 0;
      for (int c = 0; c < 3; c++) {
        double e = p[c] - (double) json_array_get_int_element (rgb, c);
        dist += e * e;
      }
      if (sqrt (dist) < 60)
        return TRUE;
    }
  return FALSE;
}

static void
test_videos (void)
{
  if (!corpus_a) {
    g_test_skip ("no corpus");
    return;
  }
  g_autoptr (GPtrArray) m = read_manifest (corpus_a);
  guint checked = 0, coloured = 0;
  for (guint i = 0; i < m->len; i++) {
    JsonObject *e = json_node_get_object (m->pdata[i]);
    g_autoptr (JsonNode) tn = read_truth (corpus_a, e);
    JsonObject *t = json_node_get_object (tn);
    int W = json_object_get_int_member (t, "width"), H = json_object_get_int_member (t, "height");
    guint F = json_object_get_int_member (t, "frames");
    g_assert_cmpint (W, ==, 64);
    g_assert_cmpint (H, ==, 64);
    g_assert_cmpuint (F, ==, 16);

    g_autofree char *pa =
        g_build_filename (corpus_a, json_object_get_string_member (e, "path"), NULL);
    Decoded da = decode (pa);
    g_assert_cmpint (da.frames, ==, (int) F);
    g_assert_cmpint (da.width, ==, W);
    g_assert_cmpint (da.height, ==, H);

    JsonArray *scenes = json_object_get_array_member (t, "scenes");
    JsonArray *objs = json_object_get_array_member (t, "objects");
    for (guint k = 0; k < json_array_get_length (objs); k++) {
      JsonObject *o = json_array_get_object_element (objs, k);
      JsonObject *s =
          json_array_get_object_element (scenes, json_object_get_int_member (o, "scene"));
      guint start = json_object_get_int_member (s, "start"),
            end = json_object_get_int_member (s, "end");
      JsonArray *boxes = json_object_get_array_member (o, "boxes");
      g_assert_cmpuint (json_array_get_length (boxes), ==, F);
      for (guint f = 0; f < F; f++) {
        int b[4];
        gboolean visible = box_of (boxes, f, b);
        if (f < start || f >= end) {
          g_assert_false (visible); /* no box outside its scene */
          continue;
        }
        if (!in_transition (t, f))
          g_assert_true (visible); /* always a box while its scene is fully shown */
        if (!visible)
          continue;
        g_assert_cmpint (b[0], >=, 0);
        g_assert_cmpint (b[1], >=, 0);
        g_assert_cmpint (b[2], >, 0);
        g_assert_cmpint (b[3], >, 0);
        g_assert_cmpint (b[0] + b[2], <=, W);
        g_assert_cmpint (b[1] + b[3], <=, H);
        if (in_transition (t, f))
          continue;
        gboolean alone = TRUE;
        for (guint j = 0; j < json_array_get_length (objs); j++) {
          int ob[4];
          JsonObject *q = json_array_get_object_element (objs, j);
          if (j != k && box_of (json_object_get_array_member (q, "boxes"), f, ob))
            alone &= !overlaps (b, ob);
        }
        if (!alone)
          continue;
        checked++;
        coloured += box_has_colour (&da, f, b, json_object_get_array_member (o, "rgb"));
      }
    }
    decoded_clear (&da);
  }
  g_test_message ("%u of %u unoccluded object boxes hold their colour", coloured, checked);
  g_assert_cmpuint (checked, >, 50);
  g_assert_cmpuint (coloured, ==, checked);
}

static void
test_captions (void)
{
  if (!corpus_a) {
    g_test_skip ("no corpus");
    return;
  }
  g_autoptr (GPtrArray) m = read_manifest (corpus_a);
  for (guint i = 0; i < m->len; i++) {
    JsonObject *e = json_node_get_object (m->pdata[i]);
    const char *caption = json_object_get_string_member (e, "caption");
    JsonArray *phrases = json_object_get_array_member (e, "noun_phrases");
    g_autoptr (JsonNode) tn = read_truth (corpus_a, e);
    JsonArray *objs = json_object_get_array_member (json_node_get_object (tn), "objects");
    g_assert_cmpuint (json_array_get_length (phrases), ==, json_array_get_length (objs));
    g_assert_cmpuint (json_array_get_length (phrases), >=, 1);
    for (guint k = 0; k < json_array_get_length (phrases); k++) {
      const char *p = json_array_get_string_element (phrases, k);
      JsonObject *o = json_array_get_object_element (objs, k);
      g_assert_cmpstr (p, ==, json_object_get_string_member (o, "phrase"));
      g_assert_nonnull (strstr (caption, p));
      g_assert_nonnull (strstr (p, json_object_get_string_member (o, "colour")));
      g_assert_nonnull (strstr (p, json_object_get_string_member (o, "noun")));
    }
    const char *split = json_object_get_string_member (e, "split");
    g_assert_true (g_str_equal (split, "train") || g_str_equal (split, "val") ||
                   g_str_equal (split, "test"));
  }
}

/* the longest dissolve or fade of a corpus, and that no scene is left without 3 frames */
static guint
longest_transition (const char *dir, guint frames)
{
  g_autoptr (GPtrArray) m = read_manifest (dir);
  guint longest = 0;
  for (guint i = 0; i < m->len; i++) {
    g_autoptr (JsonNode) tn = read_truth (dir, json_node_get_object (m->pdata[i]));
    JsonArray *bounds = json_object_get_array_member (json_node_get_object (tn), "boundaries");
    for (guint b = 0; b < json_array_get_length (bounds); b++) {
      JsonObject *bo = json_array_get_object_element (bounds, b);
      guint len = (guint) json_object_get_int_member (bo, "length");
      if (g_strcmp0 (json_object_get_string_member (bo, "kind"), "cut") != 0)
        g_assert_cmpuint (len, >=, 2);
      g_assert_cmpuint (json_object_get_int_member (bo, "frame") + len, <=, frames - 3);
      longest = MAX (longest, len);
    }
  }
  return longest;
}

static void
test_transition_lengths (void)
{
  /* 2-4 frames in the default 16-frame videos (corpus_a); up to a quarter of longer ones */
  g_assert_cmpuint (longest_transition (corpus_a, 16), <=, 4);
  g_autofree char *dir = g_build_filename (tmp_root, "long", NULL);
  Run r = run_program ("synth", "--out", dir, "--count", "60", "--seed", "3", "--frames", "48",
                       "--size", "32x32", "--quiet", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  guint longest = longest_transition (dir, 48);
  g_assert_cmpuint (longest, >, 4);
  g_assert_cmpuint (longest, <=, 12);
}

static void
test_held_out (void)
{
  /* a larger, cheaper corpus: the pairs must be missing from train and present elsewhere */
  g_autofree char *dir = g_build_filename (tmp_root, "held", NULL);
  Run r = run_program ("synth", "--out", dir, "--count", "300", "--seed", "11", "--frames", "4",
                       "--size", "32x32", "--quiet", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  g_autofree char *ctext = read_text (dir, "corpus.json");
  g_autoptr (JsonNode) cn = parse_json (ctext);
  JsonArray *held = json_object_get_array_member (json_node_get_object (cn), "held_out");
  g_autoptr (GHashTable) pairs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < json_array_get_length (held); i++) {
    JsonArray *p = json_array_get_array_element (held, i);
    g_hash_table_add (pairs, g_strdup_printf ("%s %s", json_array_get_string_element (p, 0),
                                              json_array_get_string_element (p, 1)));
  }
  g_assert_true (g_hash_table_contains (pairs, "green triangle"));
  g_assert_true (g_hash_table_contains (pairs, "purple car"));

  g_autoptr (GPtrArray) m = read_manifest (dir);
  g_assert_cmpuint (m->len, ==, 300);
  guint n_split[3] = { 0 }, held_train = 0, held_other = 0;
  for (guint i = 0; i < m->len; i++) {
    JsonObject *e = json_node_get_object (m->pdata[i]);
    const char *split = json_object_get_string_member (e, "split");
    int s = g_str_equal (split, "train") ? 0 : g_str_equal (split, "val") ? 1 : 2;
    n_split[s]++;
    g_autoptr (JsonNode) tn = read_truth (dir, e);
    JsonArray *objs = json_object_get_array_member (json_node_get_object (tn), "objects");
    for (guint k = 0; k < json_array_get_length (objs); k++) {
      JsonObject *o = json_array_get_object_element (objs, k);
      g_autofree char *key = g_strdup_printf ("%s %s", json_object_get_string_member (o, "colour"),
                                              json_object_get_string_member (o, "noun"));
      if (g_hash_table_contains (pairs, key)) {
        if (s == 0)
          held_train++;
        else
          held_other++;
      }
    }
  }
  g_test_message ("splits %u/%u/%u; held-out objects: %u in train, %u in val+test", n_split[0],
                  n_split[1], n_split[2], held_train, held_other);
  g_assert_cmpuint (n_split[0], ==, 240);
  g_assert_cmpuint (n_split[1], ==, 30);
  g_assert_cmpuint (n_split[2], ==, 30);
  g_assert_cmpuint (held_train, ==, 0);
  g_assert_cmpuint (held_other, >, 0);
}

static void
test_nouns (void)
{
  Run r = run_program ("nouns", "a red ball rolls past a small blue car", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "a red ball\na small blue car\n");
  run_clear (&r);
}

static void
expect_error (int want, const char *needle, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (char *) program);
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  g_autofree char *out = NULL, *err = NULL;
  int wait = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) args->pdata, child_env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                &wait, &error);
  g_assert_no_error (error);
  g_autofree char *cmd = g_strjoinv (" ", (char **) args->pdata);
  g_test_message ("%s -> %d: %s", cmd, WEXITSTATUS (wait), err);
  g_assert_true (WIFEXITED (wait));
  g_assert_cmpint (WEXITSTATUS (wait), ==, want);
  g_assert_nonnull (strstr (err, needle));
}

static void
test_errors (void)
{
  g_autofree char *dir = g_build_filename (tmp_root, "err", NULL);
  expect_error (2, "--count", "synth", "--out", dir, "--count", "0", NULL);
  expect_error (2, "--count", "synth", "--out", dir, "--count", "-3", NULL);
  expect_error (2, "--size", "synth", "--out", dir, "--size", "10x", NULL);
  expect_error (2, "--size", "synth", "--out", dir, "--size", "65x64", NULL);
  expect_error (2, "--split-ratios", "synth", "--out", dir, "--split-ratios", "1,2", NULL);
  expect_error (2, "--out", "synth", "--count", "3", NULL);
  expect_error (2, "--bogus", "synth", "--bogus", NULL);
  /* a directory below a regular file cannot be made, even by root */
  g_autofree char *file = g_build_filename (tmp_root, "plain-file", NULL);
  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  g_autofree char *bad = g_build_filename (file, "corpus", NULL);
  expect_error (1, "cannot write", "synth", "--out", bad, "--count", "2", NULL);
  expect_error (2, "unknown command 'frobnicate'", "frobnicate", NULL);
  expect_error (2, "Commands:", NULL, NULL);
  expect_error (2, "caption", "nouns", NULL);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  Run r = run_program ("--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "synth"));
  g_assert_nonnull (strstr (r.out, "nouns"));
  run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);
  program = argc > 1 ? argv[1] : g_getenv ("SVILM_TRAIN");
  if (!program) {
    g_printerr ("usage: test-synth [--tap] PATH/TO/svilm-train\n");
    return 1;
  }
  g_autoptr (GError) error = NULL;
  tmp_root = g_dir_make_tmp ("svilm-synth-XXXXXX", &error);
  g_assert_no_error (error);
  child_env = make_child_env ();

  g_test_add_func ("/synth/deterministic", test_deterministic);
  g_test_add_func ("/synth/videos", test_videos);
  g_test_add_func ("/synth/captions", test_captions);
  g_test_add_func ("/synth/held-out", test_held_out);
  g_test_add_func ("/synth/transition-lengths", test_transition_lengths);
  g_test_add_func ("/synth/errors", test_errors);
  g_test_add_func ("/nouns/caption", test_nouns);
  int rc = g_test_run ();

  rm_rf (tmp_root);
  g_free (tmp_root);
  g_strfreev (child_env);
  g_free (corpus_a);
  g_free (corpus_b);
  gst_deinit ();
  return rc;
}
