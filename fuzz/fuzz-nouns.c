/* Fuzz target: the noun-phrase chunker (sv_noun_chunker_phrases(), sv-nouns.h), i.e.
 * caption text through the library's clean-up and link-grammar.
 *
 * Input: one caption (up to the first NUL byte).  Parsing is slow (milliseconds, up to
 * a second for word salad), so inputs longer than MAX_CAPTION bytes are skipped; run
 * libFuzzer with -max_len=MAX_CAPTION and a generous -timeout (run-fuzzers.sh does).
 * At most k phrases, each non-empty valid UTF-8 with a letter or digit that fills every
 * prompt template.
 */
#include "fuzz-common.h"

#include "sv-nouns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CAPTION 256

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static SvNounChunker *nc;
  sv_fuzz_input (data, size);
  if (size > MAX_CAPTION)
    return 0;
  if (!nc) {
    GError *error = NULL;
    nc = sv_noun_chunker_new (&error);
    if (!nc) {
      fprintf (stderr, "fuzz-nouns: %s\n", error->message);
      abort ();
    }
  }
  char *caption = sv_fuzz_string (data, size);
  /* one parse per input (they are slow); k from 1 to 16 */
  guint k = 1 + (guint) (size % 16);
  GError *error = NULL;
  char **phrases = sv_noun_chunker_phrases (nc, caption, k, &error);
  if (!phrases) {
    SV_FUZZ_CHECK (error != NULL);
    g_debug ("refused: %s", error->message);
    g_error_free (error);
  } else {
    SV_FUZZ_CHECK (g_strv_length (phrases) <= k);
    char *all = g_strjoinv (" | ", phrases);
    g_debug ("phrases (k %u): %s", k, all);
    g_free (all);
    for (char **p = phrases; *p; p++) {
      SV_FUZZ_CHECK (**p != '\0');
      SV_FUZZ_CHECK (g_utf8_validate (*p, -1, NULL));
      gboolean named = FALSE; /* a letter or digit: punctuation alone names nothing */
      for (const char *c = *p; *c && !named; c = g_utf8_next_char (c))
        named = g_unichar_isalnum (g_utf8_get_char (c));
      SV_FUZZ_CHECK (named);
      for (guint t = 0; t < SV_N_PROMPT_TEMPLATES; t++) {
        char *prompt = sv_prompt_fill (t, *p);
        SV_FUZZ_CHECK (prompt != NULL && strstr (prompt, *p) != NULL);
        g_free (prompt);
      }
    }
    g_strfreev (phrases);
  }
  g_free (caption);
  return 0;
}
