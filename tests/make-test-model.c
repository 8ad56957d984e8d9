/* Writes an untrained model (tiny preset, optionally smaller) with a tokenizer
 * learned from a few captions, for tests of the elements and tools that need
 * some model file but not a trained one.
 *
 *   make-test-model OUT.safetensors [--small]
 */
#include "sv-backend.h"
#include "sv-model.h"

#include <stdio.h>
#include <string.h>

static const char *captions[] = {
  "a red ball rolls to the left past a small blue car",
  "a green triangle spins on a striped background",
  "a dog runs to the right then a cat jumps",
  "two yellow stars grow in the middle of a gradient",
  "a big purple square moves up",
  "a footage of a white bird flying over a tree",
};

int
main (int argc, char **argv)
{
  if (argc < 2) {
    fprintf (stderr, "usage: make-test-model OUT.safetensors [--small]\n");
    return 2;
  }
  GError *error = NULL;
  SvModelConfig c;
  sv_model_config_preset (&c, "tiny", NULL);
  if (argc > 2 && g_str_equal (argv[2], "--small")) {
    c.v_depth = 2;
    memset (c.group_after, 0, sizeof c.group_after);
    c.group_after[0] = c.group_after[1] = TRUE;
    c.t_depth = 1;
  }
  c.vocab = 128;
  SvModel *m = sv_model_new (&c, sv_backend_cpu (), 1, &error);
  SvTokenizer *tok = m ? sv_tokenizer_train (captions, G_N_ELEMENTS (captions), 128, &error) : NULL;
  if (tok)
    sv_model_set_tokenizer (m, tok);
  if (!tok || !sv_model_save (m, argv[1], &error)) {
    fprintf (stderr, "make-test-model: %s\n", error->message);
    return 1;
  }
  sv_model_free (m);
  return 0;
}
