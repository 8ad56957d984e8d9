/* svilm-core: safetensors files (https://huggingface.co/docs/safetensors format).
 *
 * Layout: u64 little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [..],
 *    "data_offsets": [begin, end]}, ...}
 * then the tensor bytes.  The reader maps the file and checks everything against
 * its size before handing out pointers (untrusted input: header <= 100 MB, offsets
 * inside the file, byte counts equal to shape x dtype size, no overlaps).
 * The writer writes atomically: a temporary file in the same directory, fsync,
 * rename; a failed write (disk full) leaves any previous file untouched.
 */
#pragma once

#include "sv-tensor.h"
#include <glib.h>

G_BEGIN_DECLS

#define SV_SAFETENSORS_MAX_HEADER (100u * 1024u * 1024u)

typedef struct _SvSafetensors SvSafetensors;

typedef struct {
  const char *name;
  SvDType dtype; /* F32 or I32 (other dtypes are rejected with SV_ERROR_UNSUPPORTED) */
  int ndim;
  int64_t shape[SV_MAX_DIMS];
  size_t numel;
  const void *data; /* inside the mapping; valid until sv_safetensors_close() */
  size_t nbytes;
} SvSafetensorsEntry;

SvSafetensors *sv_safetensors_open (const char *path, GError **error);
void sv_safetensors_close (SvSafetensors *st);

guint sv_safetensors_n_tensors (const SvSafetensors *st);
/* entries in file order (sorted by data offset) */
const SvSafetensorsEntry *sv_safetensors_entry (const SvSafetensors *st, guint i);
/* NULL with SV_ERROR_FORMAT if absent */
const SvSafetensorsEntry *sv_safetensors_find (const SvSafetensors *st, const char *name,
                                               GError **error);
/* value of a __metadata__ key, NULL if absent */
const char *sv_safetensors_metadata (const SvSafetensors *st, const char *key);

/* Copies the named entry into t after checking dtype and shape match exactly. */
gboolean sv_safetensors_load_tensor (const SvSafetensors *st, const char *name, SvTensor *t,
                                     GError **error);

typedef struct _SvSafetensorsWriter SvSafetensorsWriter;

SvSafetensorsWriter *sv_safetensors_writer_new (void);
/* data is referenced, not copied: it must stay valid until write() returns */
gboolean sv_safetensors_writer_add (SvSafetensorsWriter *w, const char *name, SvDType dtype,
                                    int ndim, const int64_t *shape, const void *data,
                                    GError **error);
void sv_safetensors_writer_set_metadata (SvSafetensorsWriter *w, const char *key,
                                         const char *value);
gboolean sv_safetensors_writer_write (SvSafetensorsWriter *w, const char *path, GError **error);
void sv_safetensors_writer_free (SvSafetensorsWriter *w);

/* Strict pre-scan of untrusted JSON before json-glib parses it (json-glib recurses
 * once per nesting level and accepts some malformed escapes): nesting at most
 * max_depth, strict string escapes (surrogate pairs), only JSON characters outside
 * strings, nothing but whitespace after the top-level object or array.  Errors name
 * `source`. */
gboolean sv_json_check (const char *json, gsize len, int max_depth, const char *source,
                        GError **error);

G_END_DECLS
