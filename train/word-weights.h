/* svilm-train: what each token counts in L_words' targets (--words-weighting). */
#pragma once

#include "sv-tokenizer.h"

G_BEGIN_DECLS

/* The inverse document frequency of each of the tokenizer's vocab ids over n captions, as
 * the text encoder sees them (cut at max_len tokens): idf[v] = ln(n / df[v]), df[v] the
 * number of captions holding token v at least once; 0 for a token in every caption, in
 * none, or special ([CLS], [SEP], padding).  So "a" and "the" weigh about 0 and the words
 * that tell captions apart (a colour, a noun, a motion) the most.  Returns [vocab] floats
 * (g_free), vocab >= the tokenizer's size; NULL with an error for no caption. */
float *sv_word_idf (const SvTokenizer *tok, const char *const *captions, guint n, int max_len,
                    int vocab, GError **error);

G_END_DECLS
