/* svilm-core: model configuration presets and JSON. */
#include "sv-model-config.h"

#include "sv-error.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static void
set_groups (SvModelConfig *c, const int *layers_1based, int n)
{
  memset (c->group_after, 0, sizeof c->group_after);
  for (int i = 0; i < n; i++)
    c->group_after[layers_1based[i] - 1] = TRUE;
}

static void
preset_tiny (SvModelConfig *c)
{
  *c = (SvModelConfig){
    .frames = 8,
    .height = 64,
    .width = 64,
    .tubelet_t = 2,
    .patch = 8,
    .v_width = 128,
    .v_depth = 4,
    .v_heads = 4,
    .v_mlp = 512,
    .n_groups = 8,
    .attention = SV_ATTENTION_FULL,
    .groups_in_layers = TRUE,
    .stgraph_theta = 0.5f,
    .vocab = 2048,
    .max_len = 32,
    .t_width = 128,
    .t_depth = 3,
    .t_heads = 4,
    .t_mlp = 512,
    .embed_dim = 256,
    .tau_temporal = 0.1f,
    .tau_ground = 0.07f,
    .tau_contrast = 0.07f,
    .tau_gumbel = 1.0f,
    .n_nouns = 2,
    .ln_eps = 1e-5f,
    .linear_init = SV_LINEAR_INIT_FAN_IN,
  };
  set_groups (c, (int[]){ 2, 4 }, 2);
}

gboolean
sv_model_config_preset (SvModelConfig *c, const char *name, GError **error)
{
  preset_tiny (c);
  if (g_strcmp0 (name, "tiny") == 0)
    return TRUE;
  if (g_strcmp0 (name, "small") == 0) {
    c->frames = 16;
    c->height = c->width = 112;
    c->patch = 16;
    c->v_width = 384;
    c->v_depth = 8;
    c->v_heads = 6;
    c->v_mlp = 1536;
    c->n_groups = 16;
    set_groups (c, (int[]){ 4, 6, 8 }, 3);
    c->vocab = 8192;
    c->t_width = 384;
    c->t_depth = 6;
    c->t_heads = 6;
    c->t_mlp = 1536;
    return TRUE;
  }
  if (g_strcmp0 (name, "base") == 0) {
    c->frames = 32;
    c->height = c->width = 224;
    c->patch = 16;
    c->v_width = 768;
    c->v_depth = 12;
    c->v_heads = 12;
    c->v_mlp = 3072;
    c->n_groups = 32;
    set_groups (c, (int[]){ 6, 9, 12 }, 3);
    c->vocab = 30522;
    c->t_width = 768;
    c->t_depth = 12;
    c->t_heads = 12;
    c->t_mlp = 3072;
    return TRUE;
  }
  g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT,
               "unknown model configuration \"%s\" (expected tiny, small or base)", name);
  return FALSE;
}

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      g_set_error (error, SV_ERROR, SV_ERROR_ARGUMENT, "model config: " __VA_ARGS__);              \
      return FALSE;                                                                                \
    }                                                                                              \
  } while (0)

static gboolean
positive_finite (float x)
{
  return isfinite (x) && x > 0.0f;
}

gboolean
sv_model_config_validate (const SvModelConfig *c, GError **error)
{
  CHECK (c->frames > 0 && c->frames <= 1024, "frames %d outside 1..1024", c->frames);
  CHECK (c->height > 0 && c->height <= 4096 && c->width > 0 && c->width <= 4096,
         "clip size %dx%d outside 1..4096", c->width, c->height);
  CHECK (c->tubelet_t > 0 && c->frames % c->tubelet_t == 0,
         "frames (%d) must be a multiple of the tubelet depth (%d)", c->frames, c->tubelet_t);
  CHECK (c->patch > 0 && c->height % c->patch == 0 && c->width % c->patch == 0,
         "clip size %dx%d must be a multiple of the patch size %d", c->width, c->height, c->patch);
  CHECK (c->n_stem >= 0 && c->n_stem <= SV_MAX_STEM, "stem layers %d outside 0..%d", c->n_stem,
         SV_MAX_STEM);
  CHECK (c->patch % (1 << c->n_stem) == 0,
         "the patch size %d must be a multiple of 2^%d for %d stride-2 stem layers", c->patch,
         c->n_stem, c->n_stem);
  for (int i = 0; i < c->n_stem; i++)
    CHECK (c->stem[i] > 0 && c->stem[i] <= 4096, "stem layer %d has %d channels (1..4096)", i + 1,
           c->stem[i]);
  CHECK (sv_model_config_grid_t (c) >= 2,
         "a clip needs at least 2 tubelet slices for temporal grouping (frames %d, tubelet %d)",
         c->frames, c->tubelet_t);
  CHECK (c->v_width > 0 && c->v_width <= 8192 && c->v_heads > 0 && c->v_width % c->v_heads == 0,
         "video width %d must be a positive multiple of its heads %d", c->v_width, c->v_heads);
  CHECK (c->t_width > 0 && c->t_width <= 8192 && c->t_heads > 0 && c->t_width % c->t_heads == 0,
         "text width %d must be a positive multiple of its heads %d", c->t_width, c->t_heads);
  CHECK (c->v_depth > 0 && c->v_depth <= SV_MAX_LAYERS, "video depth %d outside 1..%d", c->v_depth,
         SV_MAX_LAYERS);
  CHECK (c->t_depth > 0 && c->t_depth <= SV_MAX_LAYERS, "text depth %d outside 1..%d", c->t_depth,
         SV_MAX_LAYERS);
  CHECK (c->v_mlp > 0 && c->v_mlp <= 65536 && c->t_mlp > 0 && c->t_mlp <= 65536,
         "MLP widths must be in 1..65536");
  CHECK (c->n_groups > 0 && c->n_groups <= 1024, "group tokens %d outside 1..1024", c->n_groups);
  gboolean any = FALSE;
  for (int l = 0; l < SV_MAX_LAYERS; l++) {
    CHECK (!c->group_after[l] || l < c->v_depth,
           "grouping block after layer %d but the encoder has %d layers", l + 1, c->v_depth);
    any |= c->group_after[l];
  }
  CHECK (any, "at least one grouping block is needed");
  CHECK (c->attention == SV_ATTENTION_FULL || c->attention == SV_ATTENTION_STGRAPH,
         "unknown attention kind %d", c->attention);
  CHECK (!c->groups_in_layers || c->attention == SV_ATTENTION_FULL,
         "group tokens in the layers (\"groups_in_layers\") need full attention; "
         "set it false for stgraph");
  CHECK (!c->groups_in_layers || c->group_after[c->v_depth - 1],
         "group tokens in the layers (\"groups_in_layers\") need a grouping block after the "
         "last layer");
  CHECK (c->stgraph_theta >= -1.0f && c->stgraph_theta <= 1.0f, "stgraph theta outside -1..1");
  CHECK (c->vocab > 4 && c->vocab <= 1000000, "vocabulary size %d outside 5..1000000", c->vocab);
  CHECK (c->max_len >= 2 && c->max_len <= 512, "text length %d outside 2..512", c->max_len);
  CHECK (c->embed_dim > 0 && c->embed_dim <= 8192, "embedding size %d outside 1..8192",
         c->embed_dim);
  CHECK (positive_finite (c->tau_temporal) && positive_finite (c->tau_ground) &&
             positive_finite (c->tau_contrast) && positive_finite (c->tau_gumbel),
         "temperatures must be positive");
  CHECK (c->n_nouns > 0 && c->n_nouns <= 16, "noun phrases per caption %d outside 1..16",
         c->n_nouns);
  CHECK (positive_finite (c->ln_eps), "layernorm eps must be positive");
  CHECK (c->scene_hidden >= 0 && c->scene_hidden <= 4096, "scene_hidden %d outside 0..4096",
         c->scene_hidden);
  CHECK (c->scene_cues == 0 || c->scene_cues == SV_SCENE_PIXEL_CUES,
         "scene_cues %d must be 0 or %d", c->scene_cues, SV_SCENE_PIXEL_CUES);
  CHECK (c->scene_cues == 0 || c->scene_hidden > 0,
         "scene_cues without a scene head (scene_hidden 0)");
  return TRUE;
}

char *
sv_model_config_to_json (const SvModelConfig *c)
{
  JsonBuilder *b = json_builder_new ();
  json_builder_begin_object (b);
#define I(k, v)                                                                                    \
  json_builder_set_member_name (b, k);                                                             \
  json_builder_add_int_value (b, v)
#define D(k, v)                                                                                    \
  json_builder_set_member_name (b, k);                                                             \
  json_builder_add_double_value (b, v)
  I ("frames", c->frames);
  I ("height", c->height);
  I ("width", c->width);
  I ("tubelet_t", c->tubelet_t);
  I ("patch", c->patch);
  I ("v_width", c->v_width);
  I ("v_depth", c->v_depth);
  I ("v_heads", c->v_heads);
  I ("v_mlp", c->v_mlp);
  I ("n_groups", c->n_groups);
  json_builder_set_member_name (b, "stem");
  json_builder_begin_array (b);
  for (int i = 0; i < c->n_stem; i++)
    json_builder_add_int_value (b, c->stem[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "group_after");
  json_builder_begin_array (b);
  for (int l = 0; l < SV_MAX_LAYERS; l++)
    if (c->group_after[l])
      json_builder_add_int_value (b, l + 1);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "attention");
  json_builder_add_string_value (b, c->attention == SV_ATTENTION_STGRAPH ? "stgraph" : "full");
  json_builder_set_member_name (b, "groups_in_layers");
  json_builder_add_boolean_value (b, c->groups_in_layers);
  json_builder_set_member_name (b, "linear_init");
  json_builder_add_string_value (b, c->linear_init == SV_LINEAR_INIT_FAN_IN ? "fan-in" : "normal");
  D ("stgraph_theta", c->stgraph_theta);
  I ("vocab", c->vocab);
  I ("max_len", c->max_len);
  I ("t_width", c->t_width);
  I ("t_depth", c->t_depth);
  I ("t_heads", c->t_heads);
  I ("t_mlp", c->t_mlp);
  I ("embed_dim", c->embed_dim);
  D ("tau_temporal", c->tau_temporal);
  D ("tau_ground", c->tau_ground);
  D ("tau_contrast", c->tau_contrast);
  D ("tau_gumbel", c->tau_gumbel);
  I ("n_nouns", c->n_nouns);
  D ("ln_eps", c->ln_eps);
  if (c->word_head) { /* written only when on: configs before it read the same */
    json_builder_set_member_name (b, "word_head");
    json_builder_add_boolean_value (b, TRUE);
  }
  if (c->scene_hidden > 0) {
    I ("scene_hidden", c->scene_hidden);
    if (c->scene_cues > 0) {
      I ("scene_cues", c->scene_cues);
    }
  }
#undef I
#undef D
  json_builder_end_object (b);
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  char *s = json_generator_to_data (gen, NULL);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return s;
}

static gboolean
get_int (JsonObject *o, const char *k, int *v, GError **error)
{
  if (!json_object_has_member (o, k))
    return TRUE;
  JsonNode *n = json_object_get_member (o, k);
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "model config: \"%s\" must be an integer", k);
    return FALSE;
  }
  gint64 x = json_node_get_int (n);
  if (x < G_MININT32 || x > G_MAXINT32) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "model config: \"%s\" is out of range", k);
    return FALSE;
  }
  *v = (int) x;
  return TRUE;
}

static gboolean
get_float (JsonObject *o, const char *k, float *v, GError **error)
{
  if (!json_object_has_member (o, k))
    return TRUE;
  JsonNode *n = json_object_get_member (o, k);
  GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "model config: \"%s\" must be a number", k);
    return FALSE;
  }
  *v = (float) json_node_get_double (n);
  return TRUE;
}

gboolean
sv_model_config_from_json (SvModelConfig *c, const char *json, GError **error)
{
  SvModelConfig tmp;
  preset_tiny (&tmp);
  tmp.groups_in_layers = FALSE;            /* models written before the field existed */
  tmp.linear_init = SV_LINEAR_INIT_NORMAL; /* likewise */
  /* a real config is a few hundred bytes; the cap also bounds json-glib's recursion
   * on hostile nesting (fuzz/findings/model-config) */
  if (strlen (json) > 16384) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "model config is %zu bytes; a config is at most 16 KiB", strlen (json));
    return FALSE;
  }
  JsonParser *p = json_parser_new ();
  gboolean ok = FALSE;
  if (!json_parser_load_from_data (p, json, -1, error))
    goto out;
  JsonNode *root = json_parser_get_root (p);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "model config is not a JSON object");
    goto out;
  }
  JsonObject *o = json_node_get_object (root);
  struct {
    const char *k;
    int *v;
  } ints[] = {
    { "frames", &tmp.frames },
    { "height", &tmp.height },
    { "width", &tmp.width },
    { "tubelet_t", &tmp.tubelet_t },
    { "patch", &tmp.patch },
    { "v_width", &tmp.v_width },
    { "v_depth", &tmp.v_depth },
    { "v_heads", &tmp.v_heads },
    { "v_mlp", &tmp.v_mlp },
    { "n_groups", &tmp.n_groups },
    { "vocab", &tmp.vocab },
    { "max_len", &tmp.max_len },
    { "t_width", &tmp.t_width },
    { "t_depth", &tmp.t_depth },
    { "t_heads", &tmp.t_heads },
    { "t_mlp", &tmp.t_mlp },
    { "embed_dim", &tmp.embed_dim },
    { "n_nouns", &tmp.n_nouns },
    { "scene_hidden", &tmp.scene_hidden },
    { "scene_cues", &tmp.scene_cues },
  };
  struct {
    const char *k;
    float *v;
  } floats[] = {
    { "stgraph_theta", &tmp.stgraph_theta }, { "tau_temporal", &tmp.tau_temporal },
    { "tau_ground", &tmp.tau_ground },       { "tau_contrast", &tmp.tau_contrast },
    { "tau_gumbel", &tmp.tau_gumbel },       { "ln_eps", &tmp.ln_eps },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ints); i++)
    if (!get_int (o, ints[i].k, ints[i].v, error))
      goto out;
  for (guint i = 0; i < G_N_ELEMENTS (floats); i++)
    if (!get_float (o, floats[i].k, floats[i].v, error))
      goto out;
  if (json_object_has_member (o, "group_after")) {
    JsonNode *n = json_object_get_member (o, "group_after");
    if (!JSON_NODE_HOLDS_ARRAY (n)) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                   "model config: \"group_after\" must be an array of layer numbers");
      goto out;
    }
    JsonArray *a = json_node_get_array (n);
    memset (tmp.group_after, 0, sizeof tmp.group_after);
    for (guint i = 0; i < json_array_get_length (a); i++) {
      JsonNode *e = json_array_get_element (a, i);
      gint64 l = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_INT64
                     ? json_node_get_int (e)
                     : 0;
      if (l < 1 || l > SV_MAX_LAYERS) {
        g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                     "model config: grouping layer numbers must be in 1..%d", SV_MAX_LAYERS);
        goto out;
      }
      tmp.group_after[l - 1] = TRUE;
    }
  }
  if (json_object_has_member (o, "stem")) {
    JsonNode *n = json_object_get_member (o, "stem");
    JsonArray *a = JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
    if (!a || json_array_get_length (a) > SV_MAX_STEM) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                   "model config: \"stem\" must be an array of at most %d channel counts",
                   SV_MAX_STEM);
      goto out;
    }
    tmp.n_stem = (int) json_array_get_length (a);
    for (int i = 0; i < tmp.n_stem; i++) {
      JsonNode *e = json_array_get_element (a, (guint) i);
      gint64 ch = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_INT64
                      ? json_node_get_int (e)
                      : 0;
      if (ch < 1 || ch > 4096) {
        g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                     "model config: stem channel counts must be integers in 1..4096");
        goto out;
      }
      tmp.stem[i] = (int) ch;
    }
  }
  struct {
    const char *k;
    gboolean *v;
  } bools[] = { { "groups_in_layers", &tmp.groups_in_layers }, { "word_head", &tmp.word_head } };
  for (guint i = 0; i < G_N_ELEMENTS (bools); i++) {
    if (!json_object_has_member (o, bools[i].k))
      continue;
    JsonNode *n = json_object_get_member (o, bools[i].k);
    if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "model config: \"%s\" must be true or false",
                   bools[i].k);
      goto out;
    }
    *bools[i].v = json_node_get_boolean (n);
  }
  if (json_object_has_member (o, "linear_init")) {
    JsonNode *n = json_object_get_member (o, "linear_init");
    const char *v = JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
                        ? json_node_get_string (n)
                        : "";
    if (g_strcmp0 (v, "fan-in") == 0) {
      tmp.linear_init = SV_LINEAR_INIT_FAN_IN;
    } else if (g_strcmp0 (v, "normal") == 0) {
      tmp.linear_init = SV_LINEAR_INIT_NORMAL;
    } else {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                   "model config: \"linear_init\" must be \"fan-in\" or \"normal\"");
      goto out;
    }
  }
  if (json_object_has_member (o, "attention")) {
    JsonNode *an = json_object_get_member (o, "attention");
    const char *a = JSON_NODE_HOLDS_VALUE (an) && json_node_get_value_type (an) == G_TYPE_STRING
                        ? json_node_get_string (an)
                        : "";
    if (g_strcmp0 (a, "full") == 0)
      tmp.attention = SV_ATTENTION_FULL;
    else if (g_strcmp0 (a, "stgraph") == 0)
      tmp.attention = SV_ATTENTION_STGRAPH;
    else {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                   "model config: attention must be \"full\" or \"stgraph\"");
      goto out;
    }
  }
  if (!sv_model_config_validate (&tmp, error))
    goto out;
  *c = tmp;
  ok = TRUE;
out:
  g_object_unref (p);
  return ok;
}
