/* Fuzz target: the safetensors reader (sv-safetensors.h).
 *
 * The input is a whole file.  When the open succeeds, every entry is checked against
 * the reader's promises (names, shapes, byte counts, data inside the file, no overlap)
 * and every byte of it is read and copied into a tensor.
 */
#include "fuzz-common.h"

#include "sv-backend.h"
#include "sv-safetensors.h"

#include <string.h>

static void
check_entries (const SvSafetensors *st, size_t file_size)
{
  guint n = sv_safetensors_n_tensors (st);
  size_t total = 0;
  const uint8_t *prev_end = NULL;
  for (guint i = 0; i < n; i++) {
    const SvSafetensorsEntry *e = sv_safetensors_entry (st, i);
    SV_FUZZ_CHECK (e != NULL && e->name != NULL);
    SV_FUZZ_CHECK (e->dtype == SV_F32 || e->dtype == SV_I32);
    SV_FUZZ_CHECK (e->ndim >= 0 && e->ndim <= SV_MAX_DIMS);
    size_t numel = 1;
    for (int d = 0; d < e->ndim; d++) {
      SV_FUZZ_CHECK (e->shape[d] >= 0);
      numel *= (size_t) e->shape[d];
    }
    SV_FUZZ_CHECK (numel == e->numel);
    SV_FUZZ_CHECK (e->nbytes == e->numel * 4);
    SV_FUZZ_CHECK (e->nbytes <= file_size);
    total += e->nbytes;
    SV_FUZZ_CHECK (total <= file_size);
    SV_FUZZ_CHECK (sv_safetensors_find (st, e->name, NULL) == e);
    if (e->nbytes) {
      SV_FUZZ_CHECK (e->data != NULL);
      /* file order, no two tensors share bytes (data may be a copy, still contiguous) */
      const uint8_t *b = e->data;
      SV_FUZZ_CHECK (!prev_end || b >= prev_end);
      prev_end = b + e->nbytes;
      /* touch every byte: out-of-bounds pointers crash or trip ASan */
      volatile uint8_t sink = 0;
      for (size_t k = 0; k < e->nbytes; k++)
        sink ^= b[k];
      (void) sink;
    }
    GError *error = NULL;
    SvTensor *t = sv_tensor_new (sv_backend_cpu (), e->dtype, e->ndim, e->shape, &error);
    SV_FUZZ_CHECK (t != NULL);
    SV_FUZZ_CHECK (sv_safetensors_load_tensor (st, e->name, t, &error));
    SV_FUZZ_CHECK (e->nbytes == 0 || memcmp (t->data, e->data, e->nbytes) == 0);
    /* a shape that differs is refused (numel > 0: at most twice as many elements) */
    if (e->ndim > 0 && e->numel > 0) {
      int64_t shape[SV_MAX_DIMS];
      memcpy (shape, e->shape, sizeof shape);
      shape[0] += 1;
      SvTensor *u = sv_tensor_new (sv_backend_cpu (), e->dtype, e->ndim, shape, NULL);
      if (u) {
        SV_FUZZ_CHECK (!sv_safetensors_load_tensor (st, e->name, u, &error));
        SV_FUZZ_CHECK (error != NULL);
        g_clear_error (&error);
        sv_tensor_free (u);
      }
    }
    sv_tensor_free (t);
  }
  GError *error = NULL;
  SV_FUZZ_CHECK (sv_safetensors_find (st, "\x01no such tensor", &error) == NULL);
  SV_FUZZ_CHECK (error != NULL);
  g_error_free (error);
  const char *keys[] = { "format", "config", "tokenizer", "" };
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++) {
    const char *v = sv_safetensors_metadata (st, keys[k]);
    if (v)
      (void) strlen (v);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  sv_fuzz_input (data, size);
  const char *path = sv_fuzz_file (data, size, "");
  GError *error = NULL;
  SvSafetensors *st = sv_safetensors_open (path, &error);
  if (!st) {
    SV_FUZZ_CHECK (error != NULL && error->message != NULL);
    g_debug ("refused: %s", error->message);
    g_error_free (error);
    return 0;
  }
  SV_FUZZ_CHECK (error == NULL);
  g_debug ("opened: %u tensors", sv_safetensors_n_tensors (st));
  check_entries (st, size);
  sv_safetensors_close (st);
  return 0;
}
