/* svilm: the retrieval index's in-memory matrix, shared by the file side (svilm-index.c,
 * which loads it) and the search (svilm-index-search.c). */
#pragma once

#include "svilm-index.h"

G_BEGIN_DECLS

struct _SvilmIndexMatrix {
  gsize rows;
  guint dim;
  float *f;    /* rows x dim, unit rows */
  gint64 *ids; /* clips.id of each row */
  guint8 *q8;  /* rows x stride 8-bit copy, q + 128 (NULL below SVILM_INDEX_EXACT_ROWS) */
  float *q8scale;
  guint stride; /* dim rounded up to 32 */
  float *scores, *qn;
  gint8 *qq; /* the query, 7 bits */
};

/* x to unit length in place (zero for a zero or non-finite x: it then scores 0) */
void sv_index_normalize (float *x, guint n);

/* Symmetric 8-bit quantisation with one scale: x ~ scale * q, |q| <= levels, stored as
 * q + offset in out (n values, then offset up to stride); returns the scale. */
float sv_index_quantize (const float *x, guint n, guint stride, int levels, int offset,
                         guint8 *out);

G_END_DECLS
