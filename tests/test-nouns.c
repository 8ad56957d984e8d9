/* noun phrases with link-grammar (sv-nouns.c) and the prompt templates. */
#include "sv-test.h"
#include "sv-nouns.h"

#include <string.h>

static SvNounChunker *chunker;

static char **
phrases (const char *caption, guint k)
{
  GError *error = NULL;
  char **out = sv_noun_chunker_phrases (chunker, caption, k, &error);
  g_assert_no_error (error);
  g_assert_nonnull (out);
  g_autofree char *joined = g_strjoinv (" | ", out);
  g_autofree char *valid = g_utf8_make_valid (caption, -1);
  g_test_message ("\"%s\" (k=%u) -> {%s}", valid, k, joined);
  g_assert_cmpuint (g_strv_length (out), <=, k);
  for (char **p = out; *p; p++) {
    g_assert_true (g_utf8_validate (*p, -1, NULL));
    g_assert_cmpuint (strlen (*p), >, 0);
    g_autofree char *lower = g_utf8_strdown (*p, -1);
    g_assert_cmpstr (lower, ==, *p);
  }
  return out;
}

static void
test_basic (void)
{
  g_auto (GStrv) a = phrases ("a red ball rolls to the left past a small blue car", 2);
  const char *want_a[] = { "a red ball", "a small blue car", NULL };
  g_assert_true (g_strv_equal ((const char *const *) a, want_a));

  /* with room for more, the direction comes after the objects */
  g_auto (GStrv) a8 = phrases ("a red ball rolls to the left past a small blue car", 8);
  g_assert_cmpuint (g_strv_length (a8), >=, 2);
  g_assert_cmpstr (a8[0], ==, "a red ball");
  g_assert_cmpstr (a8[1], ==, "a small blue car");

  g_auto (GStrv) b = phrases ("The dog is running on the beach.", 8);
  g_assert_true (g_strv_contains ((const char *const *) b, "the dog"));
  g_assert_true (g_strv_contains ((const char *const *) b, "the beach"));

  g_auto (GStrv) c = phrases ("two cats and a dog", 8);
  g_assert_cmpuint (g_strv_length (c), >=, 2);
  gboolean cats = FALSE, dog = FALSE;
  for (char **p = c; *p; p++) {
    cats |= strstr (*p, "cats") != NULL;
    dog |= strstr (*p, "dog") != NULL;
  }
  g_assert_true (cats && dog);

  g_auto (GStrv) d = phrases ("a woman in a red dress dances with a man", 8);
  g_assert_true (g_strv_contains ((const char *const *) d, "a woman"));
  g_assert_true (g_strv_contains ((const char *const *) d, "a red dress"));
  g_assert_true (g_strv_contains ((const char *const *) d, "a man"));

  /* bare noun phrases (parsed with null links alone), possessives, all capitals */
  g_auto (GStrv) f = phrases ("a man riding a horse on a beach", 2);
  const char *want_f[] = { "a man", "a horse", NULL };
  g_assert_true (g_strv_equal ((const char *const *) f, want_f));
  g_auto (GStrv) g = phrases ("a man's hat falls off", 2);
  const char *want_g[] = { "a man's hat", NULL };
  g_assert_true (g_strv_equal ((const char *const *) g, want_g));
  g_auto (GStrv) h = phrases ("A MAN RIDES A HORSE", 2);
  g_assert_true (g_strv_equal ((const char *const *) h, want_f));

  /* pronouns are not objects */
  g_auto (GStrv) e = phrases ("someone is slicing it with a knife", 8);
  const char *want_e[] = { "a knife", NULL };
  g_assert_true (g_strv_equal ((const char *const *) e, want_e));
}

static void
test_k (void)
{
  g_auto (GStrv) one = phrases ("a red ball rolls to the left past a small blue car", 1);
  g_assert_cmpuint (g_strv_length (one), ==, 1);
  g_assert_cmpstr (one[0], ==, "a red ball");

  g_auto (GStrv) none = phrases ("a red ball rolls past a car", 0);
  g_assert_cmpuint (g_strv_length (none), ==, 0);

  /* duplicates are removed */
  g_auto (GStrv) dup = phrases ("the dog sees the dog", 8);
  const char *want[] = { "the dog", NULL };
  g_assert_true (g_strv_equal ((const char *const *) dup, want));
}

static void
test_empty (void)
{
  const char *captions[] = { "", "   \t\n ", "running fast", "()[]{}" };
  for (guint i = 0; i < G_N_ELEMENTS (captions); i++) {
    g_auto (GStrv) out = phrases (captions[i], 2);
    g_assert_cmpuint (g_strv_length (out), ==, 0);
  }
}

static void
test_odd_input (void)
{
  /* invalid UTF-8, emoji, control characters, brackets: no crash, valid output */
  const char *captions[] = {
    "a \xff\xfe red \xc3 ball on a table",
    "a girl \xe2\x98\x83 \xf0\x9f\x98\x80 plays with a caf\xc3\xa9 cup",
    "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
    "a (small) [weird] {dog} \x01 chases a cat",
    "the of banana the of the colorless furiously and and",
    "xyzzy plorb frobnicate quux",
    "3.5 kg of rice on the U.S. flag",
    ". , ; : ! ?",
  };
  for (guint i = 0; i < G_N_ELEMENTS (captions); i++) {
    g_auto (GStrv) out = phrases (captions[i], 4);
    (void) out;
  }
  g_auto (GStrv) dog = phrases ("a (small) [weird] {dog} chases a cat", 4);
  g_assert_true (g_strv_contains ((const char *const *) dog, "a cat"));
  g_auto (GStrv) ball = phrases ("a \xff\xfe red \xc3 ball on a table", 4);
  g_assert_true (g_strv_contains ((const char *const *) ball, "a red ball"));
}

static void
test_long (void)
{
  static const char *const pieces[] = { "a man",      "in a blue shirt", "walks",
                                        "with a dog", "along the river", "and then",
                                        "a woman",    "throws a ball",   "near the old bridge" };
  GString *s = g_string_new (NULL);
  int words = 0;
  for (int i = 0; words < 200; i++) {
    const char *p = pieces[i % G_N_ELEMENTS (pieces)];
    g_string_append_printf (s, "%s%s", s->len ? " " : "", p);
    words += 1;
    for (const char *c = p; *c; c++)
      words += *c == ' ';
  }
  gint64 t0 = g_get_monotonic_time ();
  g_auto (GStrv) out = phrases (s->str, 2);
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("%d-word caption: %.3f s", words, secs);
  g_assert_cmpuint (g_strv_length (out), >=, 1);
  g_string_free (s, TRUE);

  /* the worst case: word salad, no full parse, many null links, the parse timer runs out */
  static const char *const salad[] = { "the",  "of",   "and",   "a",         "dog",
                                       "runs", "over", "under", "furiously", "banana",
                                       "is",   "with", "green", "idea",      "table" };
  GRand *rand = g_rand_new_with_seed (1);
  s = g_string_new (NULL);
  for (int i = 0; i < 80; i++)
    g_string_append_printf (s, "%s%s", i ? " " : "",
                            salad[g_rand_int_range (rand, 0, G_N_ELEMENTS (salad))]);
  g_rand_free (rand);
  t0 = g_get_monotonic_time ();
  g_auto (GStrv) out2 = phrases (s->str, 2);
  g_test_message ("80-word word salad: %.3f s", (g_get_monotonic_time () - t0) / 1e6);
  g_string_free (s, TRUE);
}

static const char *const corpus[] = {
  "a red ball rolls to the left past a small blue car",
  "The dog is running on the beach.",
  "two cats and a dog",
  "a man in a black jacket is playing the guitar on a stage",
  "a woman slices tomatoes with a sharp knife in the kitchen",
  "children are playing soccer in a park",
  "a chef pours sauce over a plate of pasta",
  "a person rides a bicycle down a busy street",
  "close up of hands cutting vegetables on a wooden board",
  "a girl brushes the hair of her doll",
  "two men are fighting in a boxing ring",
  "a car drives through a snowy forest at night",
  "a baby laughs at a puppy",
  "someone is folding a paper airplane",
  "a bird sits on the branch of a tree",
  "a group of people dance at a wedding",
  "the camera pans across a crowded market",
  "a boy kicks a football into the goal",
  "a cat jumps onto the kitchen counter",
  "an old man feeds pigeons in the square",
};

static void
test_timing (void)
{
  gint64 t0 = g_get_monotonic_time ();
  for (guint i = 0; i < G_N_ELEMENTS (corpus); i++) {
    g_auto (GStrv) out = phrases (corpus[i], 2);
    g_assert_cmpuint (g_strv_length (out), >=, 1);
  }
  double ms = (g_get_monotonic_time () - t0) / 1e3;
  g_test_message ("%u captions: %.1f ms, %.2f ms per caption", (guint) G_N_ELEMENTS (corpus), ms,
                  ms / G_N_ELEMENTS (corpus));
}

#define N_THREADS 4

static gpointer
thread_parse (gpointer user)
{
  char ***out = user;
  for (guint i = 0; i < G_N_ELEMENTS (corpus); i++) {
    GError *error = NULL;
    out[i] = sv_noun_chunker_phrases (chunker, corpus[i], 3, &error);
    g_assert_no_error (error);
  }
  return NULL;
}

static void
test_threads (void)
{
  char **serial[G_N_ELEMENTS (corpus)];
  char **par[N_THREADS][G_N_ELEMENTS (corpus)];
  thread_parse (serial);
  GThread *threads[N_THREADS];
  for (int t = 0; t < N_THREADS; t++)
    threads[t] = g_thread_new ("nouns", thread_parse, par[t]);
  for (int t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);
  for (int t = 0; t < N_THREADS; t++)
    for (guint i = 0; i < G_N_ELEMENTS (corpus); i++) {
      g_assert_true (
          g_strv_equal ((const char *const *) serial[i], (const char *const *) par[t][i]));
      g_strfreev (par[t][i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (corpus); i++)
    g_strfreev (serial[i]);
}

static void
test_prompts (void)
{
  g_assert_cmpint (SV_N_PROMPT_TEMPLATES, ==, 12);
  g_assert_cmpstr (sv_prompt_template (0), ==, "A footage of a {}.");
  g_assert_cmpstr (sv_prompt_template (4), ==, "A video of the {}.");
  g_assert_cmpstr (sv_prompt_template (8), ==, "A portrait of one {}.");
  g_assert_cmpstr (sv_prompt_template (11), ==, "A video footage of one {}.");
  for (guint i = 0; i < SV_N_PROMPT_TEMPLATES; i++) {
    const char *t = sv_prompt_template (i);
    g_assert_nonnull (strstr (t, "{}"));
    for (guint j = 0; j < i; j++)
      g_assert_cmpstr (sv_prompt_template (j), !=, t);
    g_autofree char *filled = sv_prompt_fill (i, "red ball");
    g_assert_null (strstr (filled, "{}"));
    g_assert_nonnull (strstr (filled, "red ball"));
    g_assert_cmpuint (strlen (filled), ==, strlen (t) - 2 + strlen ("red ball"));
  }
  g_autofree char *f = sv_prompt_fill (10, "dog");
  g_assert_cmpstr (f, ==, "A video footage of the dog.");

  if (g_test_undefined ()) {
    g_test_expect_message ("svilm-core", G_LOG_LEVEL_CRITICAL, "*index < SV_N_PROMPT_TEMPLATES*");
    g_assert_null (sv_prompt_template (SV_N_PROMPT_TEMPLATES));
    g_test_assert_expected_messages ();
    g_test_expect_message ("svilm-core", G_LOG_LEVEL_CRITICAL, "*index < SV_N_PROMPT_TEMPLATES*");
    g_assert_null (sv_prompt_fill (SV_N_PROMPT_TEMPLATES, "dog"));
    g_test_assert_expected_messages ();
  }
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);

  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  chunker = sv_noun_chunker_new (&error);
  g_assert_no_error (error);
  g_test_message ("dictionary loaded in %.3f s", (g_get_monotonic_time () - t0) / 1e6);

  g_test_add_func ("/nouns/basic", test_basic);
  g_test_add_func ("/nouns/k", test_k);
  g_test_add_func ("/nouns/empty", test_empty);
  g_test_add_func ("/nouns/odd-input", test_odd_input);
  g_test_add_func ("/nouns/long", test_long);
  g_test_add_func ("/nouns/timing", test_timing);
  g_test_add_func ("/nouns/threads", test_threads);
  g_test_add_func ("/nouns/prompts", test_prompts);
  int ret = g_test_run ();
  sv_noun_chunker_free (chunker);
  return ret;
}
