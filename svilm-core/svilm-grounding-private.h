/* svilm-core: what svilm-model.c and svilm-grounding.c share about SvilmGrounding. */
#pragma once

#include "svilm-model.h"

G_BEGIN_DECLS

/* Sets g's box (x, y, width, height) around the cells of g->heatmap (normalised to 1 at its
 * maximum) that reach 0.5; leaves it as it is when none does. */
void sv_grounding_set_box (SvilmGrounding *g);

G_END_DECLS
