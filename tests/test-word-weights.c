/* svilm-train --words-weighting idf: inverse document frequencies of the caption tokens. */
#include "word-weights.h"

#include "sv-error.h"

#include <math.h>

static const char *const captions[] = {
  "a red ball rolls to the left",
  "a blue car drives up",
  "a red red car drives up",
  "a green tree grows on a striped background",
};
enum { N = G_N_ELEMENTS (captions), VOCAB = 256, MAX_LEN = 16 };

/* the id of a word the tokenizer keeps whole */
static int32_t
word_id (const SvTokenizer *tok, const char *word)
{
  int32_t ids[4];
  float mask[4];
  g_assert_cmpint (sv_tokenizer_encode (tok, word, ids, mask, 4), ==, 3); /* [CLS] w [SEP] */
  return ids[1];
}

static void
test_idf (void)
{
  GError *error = NULL;
  /* learnt on each caption 3 times, so that the merges make every word one token */
  const char *thrice[3 * N];
  for (int i = 0; i < 3 * N; i++)
    thrice[i] = captions[i % N];
  SvTokenizer *tok = sv_tokenizer_train (thrice, 3 * N, VOCAB, &error);
  g_assert_no_error (error);
  float *idf = sv_word_idf (tok, captions, N, MAX_LEN, VOCAB, &error);
  g_assert_no_error (error);
  /* in every caption: 0; in 2 of 4 (twice in one of them: counted once): ln 2; in 1: ln 4 */
  g_assert_cmpfloat (idf[word_id (tok, "a")], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (idf[word_id (tok, "red")], logf (2.0f), 1e-6);
  g_assert_cmpfloat_with_epsilon (idf[word_id (tok, "drives")], logf (2.0f), 1e-6);
  g_assert_cmpfloat_with_epsilon (idf[word_id (tok, "striped")], logf (4.0f), 1e-6);
  g_assert_cmpfloat_with_epsilon (idf[word_id (tok, "green")], logf (4.0f), 1e-6);
  for (int v = 0; v < SV_TOKEN_N_SPECIAL; v++) /* [CLS], [SEP], padding, unknown */
    g_assert_cmpfloat (idf[v], ==, 0.0f);
  for (int v = (int) sv_tokenizer_vocab_size (tok); v < VOCAB; v++) /* in no caption */
    g_assert_cmpfloat (idf[v], ==, 0.0f);
  g_free (idf);

  /* cut at 4 tokens ([CLS] a WORD [SEP]) as the text encoder would: only each caption's
   * second word is seen besides "a" */
  idf = sv_word_idf (tok, captions, N, 4, VOCAB, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (idf[word_id (tok, "striped")], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (idf[word_id (tok, "red")], logf (2.0f), 1e-6);
  g_assert_cmpfloat_with_epsilon (idf[word_id (tok, "blue")], logf (4.0f), 1e-6);
  g_assert_cmpfloat (idf[word_id (tok, "ball")], ==, 0.0f);
  g_free (idf);

  /* no caption: an error, not a division by zero */
  g_assert_null (sv_word_idf (tok, captions, 0, MAX_LEN, VOCAB, &error));
  g_assert_error (error, SV_ERROR, SV_ERROR_ARGUMENT);
  g_clear_error (&error);
  sv_tokenizer_free (tok);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/word-weights/idf", test_idf);
  return g_test_run ();
}
