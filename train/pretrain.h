/* svilm-train pretrain: S-ViLM pre-training (issue 6; docs/training.md).
 *
 *   svilm-train pretrain --config CONFIG --data MANIFEST --out DIR [--resume] [OPTION...]
 *
 * Exit status: 0 when training finished or was interrupted by SIGINT/SIGTERM after saving a
 * checkpoint; 1 with one sentence on stderr for a bad config, manifest or output directory,
 * a failed write or a diverged run; 2 for bad usage.
 */
#pragma once

#include "dataset.h"
#include "sv-tokenizer.h"

#include <glib.h>

G_BEGIN_DECLS

int sv_train_cmd_pretrain (int argc, char **argv);
/* a subword vocabulary of at most vocab tokens learnt from the dataset's captions (at most
 * 200 000, evenly spread), its noun phrases and the prompt templates */
SvTokenizer *sv_train_learn_tokenizer (SvDataset *ds, guint vocab, GError **error);

G_END_DECLS
