/* svilm-train: inverse document frequencies of the caption tokens, L_words' target weights
 * under --words-weighting idf (docs/training.md, "Predicting the caption's words"). */
#include "word-weights.h"

#include "sv-error.h"

#include <math.h>

float *
sv_word_idf (const SvTokenizer *tok, const char *const *captions, guint n, int max_len, int vocab,
             GError **error)
{
  if (n == 0) {
    g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "no caption to count the words of");
    return NULL;
  }
  g_return_val_if_fail (max_len >= 2 && vocab >= (int) sv_tokenizer_vocab_size (tok), NULL);
  guint *df = g_new0 (guint, vocab);
  guint *seen_in = g_new0 (guint, vocab); /* 1 + the caption that last counted the token */
  int32_t *ids = g_new (int32_t, max_len);
  float *mask = g_new (float, max_len);
  for (guint i = 0; i < n; i++) {
    int len = sv_tokenizer_encode (tok, captions[i], ids, mask, max_len);
    for (int k = 0; k < len; k++) {
      int32_t id = ids[k];
      if (id < SV_TOKEN_N_SPECIAL || id >= vocab || seen_in[id] == i + 1)
        continue;
      seen_in[id] = i + 1;
      df[id]++;
    }
  }
  float *idf = g_new0 (float, vocab);
  for (int v = SV_TOKEN_N_SPECIAL; v < vocab; v++)
    idf[v] = df[v] ? (float) log ((double) n / df[v]) : 0.0f;
  g_free (df);
  g_free (seen_in);
  g_free (ids);
  g_free (mask);
  return idf;
}
