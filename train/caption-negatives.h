/* svilm-train: hard negative captions, a caption with one phrase swapped for one of another
 * meaning (a noun for another noun, a motion for another motion).
 *
 * Random batches teach what tells most captions apart (on the synthetic corpus: colours);
 * a caption's own edited copy differs in one noun or one verb phrase, so the contrastive
 * loss can only tell them apart by looking at that object or that motion (NegCLIP,
 * Yuksekgonul et al. 2023; verb-focused negatives, Momeni et al. 2023).
 *
 * The swap vocabulary (JSON; `svilm-train synth` writes its corpus's as DIR/swaps.json):
 *   {"slots": {"noun":   [[["dog", "dogs"]], [["cat", "cats"]], ...],
 *              "motion": [[["moves to the left", "move to the left"],
 *                          ["slides to the left", "slide to the left"]], ...]},
 *    "avoid": ["green triangle", ...]}
 * A slot holds classes; a class holds synonyms; a synonym lists its forms (singular,
 * plural, ...).  A negative replaces one whole-word occurrence of a form with the same form
 * of a synonym from another class of the slot, so that it reads as fluently as the
 * caption.  Synonyms of one class are never swapped for each other (that would be a false
 * negative).  The replacement is drawn uniformly from the other classes' synonyms whose
 * negative holds no "avoid" phrase (whole words; e.g. the attribute pairs a corpus holds
 * out of training).
 */
#pragma once

#include "sv-rng.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SvCaptionNegatives SvCaptionNegatives;

SvCaptionNegatives *sv_caption_negatives_parse (const char *json, gssize length, GError **error);
SvCaptionNegatives *sv_caption_negatives_load (const char *path, GError **error);
void sv_caption_negatives_free (SvCaptionNegatives *cn);

/* Up to n negatives of caption into out[0..n) (new strings); the k-th edits
 * the (r + k)-th slot found in the caption (r random), so that two negatives of a caption
 * with a noun and a motion change one each.  Returns how many were made: 0 when the
 * caption holds no phrase of the vocabulary. */
guint sv_caption_negatives_make (const SvCaptionNegatives *cn, const char *caption, SvRng *rng,
                                 guint n, char **out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SvCaptionNegatives, sv_caption_negatives_free)

G_END_DECLS
