/* svilm: the JSON lines of the elements' `location`: a result structure (the fields of an
 * element message) as one JSON object, with "type" (the structure's name) and "element"
 * first.  Numbers stay numbers (an invalid clock time is null), float32 GBytes
 * (embeddings) and GstValueArray/List become arrays, anything else its serialisation. */
#pragma once
#include <gst/gst.h>

G_BEGIN_DECLS

/* Returns: (transfer full): the object on one line, without a newline */
char *gst_svilm_structure_to_json (const GstStructure *s, const char *element);

G_END_DECLS
