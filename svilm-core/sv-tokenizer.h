/* svilm-core: subword tokenizer for captions (BPE learned from a caption corpus).
 *
 * Normalisation: invalid UTF-8 repaired, NFKC, lower-cased.  Pre-tokenisation:
 * split on white space; every punctuation or symbol character is a word of its
 * own.  Words are split into learned BPE merges over characters, with "</w>"
 * marking a word's last piece.  Characters never seen in training map to [UNK].
 * Encodings start with [CLS], end with [SEP] and are padded with [PAD] to the
 * requested length (truncating the text if needed; [SEP] is always kept).
 * The tokenizer serialises to JSON, stored in a checkpoint's __metadata__.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

enum {
  SV_TOKEN_PAD = 0,
  SV_TOKEN_UNK = 1,
  SV_TOKEN_CLS = 2,
  SV_TOKEN_SEP = 3,
  SV_TOKEN_N_SPECIAL = 4,
};

#define SV_TOKENIZER_MAX_LEN 32 /* the paper's caption length, [CLS] included */

typedef struct _SvTokenizer SvTokenizer;

/* Learns a vocabulary of at most vocab_size entries (specials included) from texts. */
SvTokenizer *sv_tokenizer_train (const char *const *texts, guint n_texts, guint vocab_size,
                                 GError **error);
SvTokenizer *sv_tokenizer_from_json (const char *json, GError **error);
char *sv_tokenizer_to_json (const SvTokenizer *tok);
void sv_tokenizer_free (SvTokenizer *tok);

guint sv_tokenizer_vocab_size (const SvTokenizer *tok);

/* Encodes text into ids[max_len] and mask[max_len] (1 for real tokens, 0 for padding);
 * returns the number of real tokens (>= 2: [CLS] and [SEP]).  Never fails: any byte
 * string is accepted.  max_len >= 2. */
int sv_tokenizer_encode (const SvTokenizer *tok, const char *text, int32_t *ids, float *mask,
                         int max_len);

/* The normalised text the ids stand for (pieces joined, "</w>" as spaces), for debugging. */
char *sv_tokenizer_decode (const SvTokenizer *tok, const int32_t *ids, int n);

G_END_DECLS
