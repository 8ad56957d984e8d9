/* Fuzz target: the checkpoint loader sv_model_load_full() (sv-model.h).
 *
 * The input is a whole checkpoint file: safetensors with "format", "config" (the model
 * config JSON) and "tokenizer" in __metadata__ and one F32 tensor per parameter.
 * Seeds are tiny models written by make-seeds.  A loaded model must describe
 * itself consistently and its tokenizer (if any) must encode.
 */
#include "fuzz-common.h"

#include "sv-backend.h"
#include "sv-model.h"

#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  sv_fuzz_input (data, size);
  const char *path = sv_fuzz_file (data, size, ".safetensors");
  GError *error = NULL;
  /* inference only: no gradient memory */
  SvModel *m = sv_model_load_full (path, sv_backend_cpu (), FALSE, &error);
  if (!m) {
    SV_FUZZ_CHECK (error != NULL && error->message != NULL);
    g_debug ("refused: %s", error->message);
    g_error_free (error);
    return 0;
  }
  SV_FUZZ_CHECK (error == NULL);
  g_debug ("loaded: %u parameters, tokenizer: %s", sv_var_set_len (m->params),
           m->tokenizer ? "yes" : "no");
  SV_FUZZ_CHECK (sv_model_config_validate (&m->cfg, NULL));
  /* every parameter came from the file: its bytes fit in it */
  size_t n = sv_var_set_numel (m->params);
  SV_FUZZ_CHECK (n * sizeof (float) <= size);
  if (m->tokenizer) {
    int32_t ids[SV_TOKENIZER_MAX_LEN];
    float mask[SV_TOKENIZER_MAX_LEN];
    int len = sv_tokenizer_encode (m->tokenizer, "a red ball rolls to the left", ids, mask,
                                   SV_TOKENIZER_MAX_LEN);
    SV_FUZZ_CHECK (len >= 2 && len <= SV_TOKENIZER_MAX_LEN);
    for (int i = 0; i < SV_TOKENIZER_MAX_LEN; i++)
      SV_FUZZ_CHECK (ids[i] >= 0 && (guint) ids[i] < sv_tokenizer_vocab_size (m->tokenizer));
  }
  sv_model_free (m);
  return 0;
}
