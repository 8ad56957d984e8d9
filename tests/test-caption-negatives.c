/* svilm-train's negative captions (train/caption-negatives.c): a noun or a motion swapped
 * for one of another class, in the same form; never a synonym; never an avoided phrase. */
#include "caption-negatives.h"

#include <string.h>

static const char vocab[] =
    "{\"slots\": {"
    "  \"noun\": [[[\"dog\", \"dogs\"]], [[\"cat\", \"cats\"]], [[\"triangle\", \"triangles\"]]],"
    "  \"motion\": [[[\"moves down\", \"move down\"], [\"falls\", \"fall\"]],"
    "              [[\"rises\", \"rise\"]],"
    "              [[\"bounces\", \"bounce\"], [\"bounces up and down\", \"bounce up and "
    "down\"]]]},"
    " \"avoid\": [\"green triangle\", \"green triangles\"]}";

static SvCaptionNegatives *
load (void)
{
  GError *error = NULL;
  SvCaptionNegatives *cn = sv_caption_negatives_parse (vocab, -1, &error);
  g_assert_no_error (error);
  return cn;
}

static gboolean
one_of (const char *s, const char *const *set)
{
  for (guint i = 0; set[i]; i++)
    if (g_strcmp0 (s, set[i]) == 0)
      return TRUE;
  return FALSE;
}

/* two negatives: one noun swap and one motion swap, both fluent, over many seeds every
 * other class shows up and the caption's own class (its synonyms too) never does */
static void
test_swaps (void)
{
  g_autoptr (SvCaptionNegatives) cn = load ();
  const char *nouns[] = { "a red cat falls", "a red triangle falls", NULL };
  const char *motions[] = { "a red dog rises", "a red dog bounces", "a red dog bounces up and down",
                            NULL };
  gboolean seen_noun[2] = { FALSE }, seen_motion[3] = { FALSE };
  for (guint64 seed = 1; seed <= 200; seed++) {
    SvRng rng;
    sv_rng_seed (&rng, seed);
    char *out[2] = { NULL };
    g_assert_cmpuint (sv_caption_negatives_make (cn, "a red dog falls", &rng, 2, out), ==, 2);
    guint n_noun = 0, n_motion = 0;
    for (int k = 0; k < 2; k++) {
      if (one_of (out[k], nouns)) {
        n_noun++;
        seen_noun[strstr (out[k], "cat") ? 0 : 1] = TRUE;
      } else {
        g_assert_true (one_of (out[k], motions)); /* never "moves down": a synonym */
        n_motion++;
        for (int m = 0; m < 3; m++)
          seen_motion[m] |= g_strcmp0 (out[k], motions[m]) == 0;
      }
      g_free (out[k]);
    }
    g_assert_cmpuint (n_noun, ==, 1);
    g_assert_cmpuint (n_motion, ==, 1);
  }
  g_assert_true (seen_noun[0] && seen_noun[1]);
  g_assert_true (seen_motion[0] && seen_motion[1] && seen_motion[2]);
}

/* plural forms stay plural; the longest phrase is the one swapped */
static void
test_forms (void)
{
  g_autoptr (SvCaptionNegatives) cn = load ();
  for (guint64 seed = 1; seed <= 100; seed++) {
    SvRng rng;
    sv_rng_seed (&rng, seed);
    char *out[3] = { NULL };
    guint n = sv_caption_negatives_make (cn, "two small dogs bounce up and down", &rng, 3, out);
    g_assert_cmpuint (n, ==, 3);
    for (guint k = 0; k < n; k++) {
      const char *ok[] = { "two small cats bounce up and down",
                           "two small triangles bounce up and down",
                           "two small dogs move down",
                           "two small dogs fall",
                           "two small dogs rise",
                           NULL };
      if (!one_of (out[k], ok))
        g_error ("unexpected negative \"%s\"", out[k]);
      g_free (out[k]);
    }
  }
}

/* a swap that would write an avoided phrase is drawn again; when every draw would, the
 * negative is not made */
static void
test_avoid (void)
{
  g_autoptr (SvCaptionNegatives) cn = load ();
  for (guint64 seed = 1; seed <= 100; seed++) {
    SvRng rng;
    sv_rng_seed (&rng, seed);
    char *out[1] = { NULL };
    guint n = sv_caption_negatives_make (cn, "a green dog", &rng, 1, out);
    g_assert_cmpuint (n, ==, 1);
    g_assert_cmpstr (out[0], ==, "a green cat");
    g_free (out[0]);
  }
}

/* no phrase of the vocabulary (nor a part of a word: "dogma", "catalogue"): no negative */
static void
test_no_match (void)
{
  g_autoptr (SvCaptionNegatives) cn = load ();
  SvRng rng;
  sv_rng_seed (&rng, 1);
  char *out[2] = { NULL };
  g_assert_cmpuint (sv_caption_negatives_make (cn, "a catalogue of dogma", &rng, 2, out), ==, 0);
  g_assert_cmpuint (sv_caption_negatives_make (cn, "", &rng, 2, out), ==, 0);
  g_assert_null (out[0]);
}

static void
test_bad_vocabularies (void)
{
  const char *bad[] = {
    "",
    "[]",
    "{}",
    "{\"slots\": {}}",
    "{\"slots\": {\"noun\": [[[\"dog\"]]]}}",
    "{\"slots\": {\"noun\": [[[\"dog\"]], []]}}",
    "{\"slots\": {\"noun\": [[[\"dog\"]], [[\"\"]]]}}",
    "{\"slots\": {\"noun\": [[[\"dog\"]], [[3]]]}}",
    "{\"slots\": {\"noun\": [[[\"dog\"]], [[\"cat\"]]]}, \"avoid\": [7]}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    GError *error = NULL;
    g_assert_null (sv_caption_negatives_parse (bad[i], -1, &error));
    g_assert_nonnull (error);
    g_test_message ("%s -> %s", bad[i], error->message);
    g_error_free (error);
  }
  GError *error = NULL;
  g_assert_null (sv_caption_negatives_load ("/nonexistent/swaps.json", &error));
  g_assert_nonnull (error);
  g_error_free (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/caption-negatives/swaps", test_swaps);
  g_test_add_func ("/caption-negatives/forms", test_forms);
  g_test_add_func ("/caption-negatives/avoid", test_avoid);
  g_test_add_func ("/caption-negatives/no-match", test_no_match);
  g_test_add_func ("/caption-negatives/bad-vocabularies", test_bad_vocabularies);
  return g_test_run ();
}
