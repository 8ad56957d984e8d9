/* svilm-train pretrain: S-ViLM pre-training (issue 6; docs/training.md).
 *
 *   svilm-train pretrain --config CONFIG --data MANIFEST --out DIR [--resume] [OPTION...]
 *
 * Exit status: 0 when training finished or was interrupted by SIGINT/SIGTERM after saving a
 * checkpoint; 1 with one sentence on stderr for a bad config, manifest or output directory,
 * a failed write or a diverged run; 2 for bad usage.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int sv_train_cmd_pretrain (int argc, char **argv);

G_END_DECLS
