/* Fuzz target: the caption tokenizer (sv-tokenizer.h): sv_tokenizer_from_json() and
 * sv_tokenizer_encode() / sv_tokenizer_decode().
 *
 * Input: a tokenizer JSON document, then (after a NUL byte) zero or more captions
 * separated by NUL bytes.  The captions are encoded with the loaded tokenizer and with
 * one trained at start-up, at several lengths; a loaded tokenizer must survive a
 * to_json / from_json round trip and encode the same way afterwards.
 */
#include "fuzz-common.h"

#include "sv-tokenizer.h"

#include <string.h>

static const char *const train_texts[] = {
  "a red ball rolls to the left past a small blue car",
  "the dog jumps over a small fence",
  "a woman pours water into a glass, then it breaks!",
  "caf\xc3\xa9 na\xc3\xafve \xef\xac\x81sh \xe2\x84\xab 123",
};

static const char *const default_texts[] = {
  "a red ball rolls to the left",
  "",
  "a man's hat (blue) - 3 times?",
};

static void
check_encode (const SvTokenizer *tok, const char *text)
{
  static const int lens[] = { 2, 3, 8, SV_TOKENIZER_MAX_LEN, 64 };
  guint V = sv_tokenizer_vocab_size (tok);
  int32_t ids[64];
  float mask[64];
  for (guint k = 0; k < G_N_ELEMENTS (lens); k++) {
    int L = lens[k];
    int n = sv_tokenizer_encode (tok, text, ids, mask, L);
    SV_FUZZ_CHECK (n >= 2 && n <= L);
    SV_FUZZ_CHECK (ids[0] == SV_TOKEN_CLS && ids[n - 1] == SV_TOKEN_SEP);
    for (int i = 0; i < L; i++) {
      SV_FUZZ_CHECK (ids[i] >= 0 && (guint) ids[i] < V);
      SV_FUZZ_CHECK (mask[i] == (i < n ? 1.0f : 0.0f));
      if (i >= n)
        SV_FUZZ_CHECK (ids[i] == SV_TOKEN_PAD);
      else if (i > 0 && i < n - 1)
        SV_FUZZ_CHECK (ids[i] == SV_TOKEN_UNK || ids[i] >= SV_TOKEN_N_SPECIAL);
    }
    char *dec = sv_tokenizer_decode (tok, ids, L);
    SV_FUZZ_CHECK (dec != NULL && g_utf8_validate (dec, -1, NULL));
    g_free (dec);
  }
}

static SvTokenizer *
trained (void)
{
  static SvTokenizer *tok;
  if (!tok) {
    GError *error = NULL;
    tok = sv_tokenizer_train (train_texts, G_N_ELEMENTS (train_texts), 64, &error);
    SV_FUZZ_CHECK (tok != NULL);
  }
  return tok;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  sv_fuzz_input (data, size);
  char *json = sv_fuzz_string (data, size);
  size_t used = strlen (json) + 1;
  /* the captions */
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  while (used < size) {
    char *t = sv_fuzz_string (data + used, size - used);
    used += strlen (t) + 1;
    g_ptr_array_add (texts, t);
  }
  if (texts->len == 0)
    for (guint i = 0; i < G_N_ELEMENTS (default_texts); i++)
      g_ptr_array_add (texts, g_strdup (default_texts[i]));

  GError *error = NULL;
  SvTokenizer *tok = sv_tokenizer_from_json (json, &error);
  if (tok) {
    SV_FUZZ_CHECK (error == NULL);
    SV_FUZZ_CHECK (sv_tokenizer_vocab_size (tok) >= SV_TOKEN_N_SPECIAL);
    g_debug ("loaded: %u pieces; %u captions", sv_tokenizer_vocab_size (tok), texts->len);
    char *again = sv_tokenizer_to_json (tok);
    SvTokenizer *tok2 = sv_tokenizer_from_json (again, &error);
    if (!tok2)
      g_printerr ("round trip failed: %s\n", error ? error->message : "?");
    SV_FUZZ_CHECK (tok2 != NULL);
    SV_FUZZ_CHECK (sv_tokenizer_vocab_size (tok2) == sv_tokenizer_vocab_size (tok));
    for (guint i = 0; i < texts->len; i++) {
      const char *text = g_ptr_array_index (texts, i);
      check_encode (tok, text);
      int32_t a[SV_TOKENIZER_MAX_LEN], b[SV_TOKENIZER_MAX_LEN];
      float ma[SV_TOKENIZER_MAX_LEN], mb[SV_TOKENIZER_MAX_LEN];
      int na = sv_tokenizer_encode (tok, text, a, ma, SV_TOKENIZER_MAX_LEN);
      int nb = sv_tokenizer_encode (tok2, text, b, mb, SV_TOKENIZER_MAX_LEN);
      SV_FUZZ_CHECK (na == nb && memcmp (a, b, sizeof a) == 0);
    }
    sv_tokenizer_free (tok2);
    g_free (again);
    sv_tokenizer_free (tok);
  } else {
    SV_FUZZ_CHECK (error != NULL && error->message != NULL);
    g_debug ("refused: %s", error->message);
    g_clear_error (&error);
  }
  for (guint i = 0; i < texts->len; i++)
    check_encode (trained (), g_ptr_array_index (texts, i));
  g_ptr_array_unref (texts);
  g_free (json);
  return 0;
}
