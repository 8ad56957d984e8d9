/* Fuzz target: the model configuration JSON (sv_model_config_from_json(),
 * sv-model-config.h).
 *
 * Input: the JSON text (up to the first NUL byte).  An accepted config must validate
 * and survive a to_json / from_json round trip unchanged.
 */
#include "fuzz-common.h"

#include "sv-model-config.h"

#include <string.h>

static void
check_same (const SvModelConfig *a, const SvModelConfig *b)
{
  SV_FUZZ_CHECK (a->frames == b->frames && a->height == b->height && a->width == b->width);
  SV_FUZZ_CHECK (a->tubelet_t == b->tubelet_t && a->patch == b->patch);
  SV_FUZZ_CHECK (a->v_width == b->v_width && a->v_depth == b->v_depth && a->v_heads == b->v_heads &&
                 a->v_mlp == b->v_mlp);
  SV_FUZZ_CHECK (a->n_groups == b->n_groups && a->attention == b->attention);
  for (int l = 0; l < SV_MAX_LAYERS; l++)
    SV_FUZZ_CHECK (!a->group_after[l] == !b->group_after[l]);
  SV_FUZZ_CHECK (a->stgraph_theta == b->stgraph_theta);
  SV_FUZZ_CHECK (a->vocab == b->vocab && a->max_len == b->max_len);
  SV_FUZZ_CHECK (a->t_width == b->t_width && a->t_depth == b->t_depth && a->t_heads == b->t_heads &&
                 a->t_mlp == b->t_mlp);
  SV_FUZZ_CHECK (a->embed_dim == b->embed_dim && a->n_nouns == b->n_nouns);
  SV_FUZZ_CHECK (a->tau_temporal == b->tau_temporal && a->tau_ground == b->tau_ground &&
                 a->tau_contrast == b->tau_contrast && a->tau_gumbel == b->tau_gumbel);
  SV_FUZZ_CHECK (a->ln_eps == b->ln_eps);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  sv_fuzz_input (data, size);
  char *json = sv_fuzz_string (data, size);
  SvModelConfig cfg, before;
  memset (&cfg, 0x5a, sizeof cfg);
  before = cfg;
  GError *error = NULL;
  if (sv_model_config_from_json (&cfg, json, &error)) {
    SV_FUZZ_CHECK (error == NULL);
    g_debug ("accepted");
    SV_FUZZ_CHECK (sv_model_config_validate (&cfg, NULL));
    SV_FUZZ_CHECK (sv_model_config_video_tokens (&cfg) > 0);
    char *again = sv_model_config_to_json (&cfg);
    SvModelConfig cfg2;
    if (!sv_model_config_from_json (&cfg2, again, &error))
      g_printerr ("round trip failed: %s\n%s\n", error->message, again);
    SV_FUZZ_CHECK (error == NULL);
    check_same (&cfg, &cfg2);
    g_free (again);
  } else {
    SV_FUZZ_CHECK (error != NULL && error->message != NULL);
    g_debug ("refused: %s", error->message);
    g_error_free (error);
    /* a refused config leaves *cfg alone */
    SV_FUZZ_CHECK (memcmp (&cfg, &before, sizeof cfg) == 0);
  }
  g_free (json);
  return 0;
}
