/* svilm-core: noun phrases of captions for spatial grounding (S-ViLM Sec. 3.3).
 *
 * Captions are parsed with link-grammar (English dictionary); noun phrases are
 * the NP nodes of its constituent tree.  Up to K phrases are chosen,
 * preferring phrases headed by object nouns; captions that do not parse fully
 * are retried with null links allowed.  Each phrase is put into one of the 12
 * prompt templates of the paper ("A footage of a {}." ...).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SV_N_PROMPT_TEMPLATES 12

typedef struct _SvNounChunker SvNounChunker;

/* Loads the English dictionary; an error if link-grammar's data is missing. */
SvNounChunker *sv_noun_chunker_new (GError **error);
void sv_noun_chunker_free (SvNounChunker *nc);

/* Up to k noun phrases of caption (lower-case, as they appear), NULL-terminated;
 * an empty array when the caption has no noun.  Thread-safe. */
char **sv_noun_chunker_phrases (SvNounChunker *nc, const char *caption, guint k, GError **error);

/* "A footage of a {}." ...; index in [0, SV_N_PROMPT_TEMPLATES) */
const char *sv_prompt_template (guint index);
/* the template with "{}" replaced by phrase (newly allocated) */
char *sv_prompt_fill (guint index, const char *phrase);

G_END_DECLS
