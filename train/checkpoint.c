/* svilm-train: training checkpoints (model + optimiser + RNG + data position). */
#include "checkpoint.h"

#include "sv-error.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "checkpoint-"
#define SUFFIX ".safetensors"

char *
sv_checkpoint_path (const char *dir, int64_t step)
{
  char name[64];
  g_snprintf (name, sizeof name, PREFIX "%08" G_GINT64_FORMAT SUFFIX, step);
  return g_build_filename (dir, name, NULL);
}

/* step of a checkpoint file name, or -1 (temporary files "....safetensors.XXXXXX" too) */
static int64_t
name_step (const char *name)
{
  if (!g_str_has_prefix (name, PREFIX) || !g_str_has_suffix (name, SUFFIX))
    return -1;
  const char *d = name + strlen (PREFIX);
  size_t n = strlen (d) - strlen (SUFFIX);
  if (n == 0 || n > 18)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isdigit (d[i]))
      return -1;
  return g_ascii_strtoll (d, NULL, 10);
}

static int
cmp_step (gconstpointer a, gconstpointer b)
{
  char *const *x = a, *const *y = b;
  int64_t sx = name_step (*x), sy = name_step (*y);
  return sx < sy ? -1 : sx > sy;
}

char **
sv_checkpoint_list (const char *dir)
{
  GPtrArray *names = g_ptr_array_new ();
  GDir *d = g_dir_open (dir, 0, NULL);
  if (d) {
    const char *n;
    while ((n = g_dir_read_name (d)))
      if (name_step (n) >= 0)
        g_ptr_array_add (names, g_strdup (n));
    g_dir_close (d);
  }
  g_ptr_array_sort (names, cmp_step);
  for (guint i = 0; i < names->len; i++) {
    char *full = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
    g_free (g_ptr_array_index (names, i));
    names->pdata[i] = full;
  }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

char *
sv_checkpoint_latest (const char *dir)
{
  char **all = sv_checkpoint_list (dir);
  guint n = g_strv_length (all);
  char *last = n > 0 ? g_strdup (all[n - 1]) : NULL;
  g_strfreev (all);
  return last;
}

guint
sv_checkpoint_remove_temporaries (const char *dir)
{
  guint n = 0;
  GDir *d = g_dir_open (dir, 0, NULL);
  if (!d)
    return 0;
  const char *name;
  while ((name = g_dir_read_name (d))) {
    const char *dot = strrchr (name, '.');
    if (!dot || strlen (dot) != 7) /* ".XXXXXX" */
      continue;
    char *base = g_strndup (name, (gsize) (dot - name));
    gboolean ours = name_step (base) >= 0 || g_str_equal (base, "model.safetensors");
    g_free (base);
    char *path = ours ? g_build_filename (dir, name, NULL) : NULL;
    if (path && g_unlink (path) == 0)
      n++;
    g_free (path);
  }
  g_dir_close (d);
  return n;
}

/* the model's tensors and metadata, as sv_model_save() writes them; host copies in *host */
static gboolean
add_model (SvModel *m, SvSafetensorsWriter *w, GPtrArray *host, GError **error)
{
  guint n = sv_var_set_len (m->params);
  for (guint i = 0; i < n; i++) {
    SvVar *v = sv_var_set_get (m->params, i);
    float *h = g_new (float, MAX (v->x.numel, 1));
    g_ptr_array_add (host, h);
    if (!sv_tensor_download (&v->x, h, v->x.numel * 4, error) ||
        !sv_safetensors_writer_add (w, sv_var_set_name (m->params, i), SV_F32, v->x.ndim,
                                    v->x.shape, h, error))
      return FALSE;
  }
  char *config = sv_model_config_to_json (&m->cfg);
  sv_safetensors_writer_set_metadata (w, "format", SV_CHECKPOINT_FORMAT);
  sv_safetensors_writer_set_metadata (w, "config", config);
  g_free (config);
  if (m->tokenizer) {
    char *tok = sv_tokenizer_to_json (m->tokenizer);
    sv_safetensors_writer_set_metadata (w, "tokenizer", tok);
    g_free (tok);
  }
  return TRUE;
}

gboolean
sv_checkpoint_save (const char *dir, SvModel *model, const SvOptimizer *opt, const SvTrainState *st,
                    int keep, char **written, GError **error)
{
  char *path = sv_checkpoint_path (dir, st->step);
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  GPtrArray *host = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = add_model (model, w, host, error) && sv_optim_save (opt, w, error);
  if (ok) {
    char buf[128];
    sv_safetensors_writer_set_metadata (w, "train.format", SV_TRAIN_CHECKPOINT_FORMAT);
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, st->step);
    sv_safetensors_writer_set_metadata (w, "train.step", buf);
    g_snprintf (buf, sizeof buf, "%" G_GUINT64_FORMAT, st->data_position);
    sv_safetensors_writer_set_metadata (w, "train.data_position", buf);
    g_snprintf (buf, sizeof buf,
                "%016" G_GINT64_MODIFIER "x %016" G_GINT64_MODIFIER "x %016" G_GINT64_MODIFIER
                "x %016" G_GINT64_MODIFIER "x",
                st->rng.s[0], st->rng.s[1], st->rng.s[2], st->rng.s[3]);
    sv_safetensors_writer_set_metadata (w, "train.rng", buf);
    if (st->options)
      sv_safetensors_writer_set_metadata (w, "train.options", st->options);
    if (st->n_lanes > 1) {
      GString *s = g_string_new (NULL);
      for (guint l = 0; l < st->n_lanes; l++)
        g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, l ? " " : "", st->lanes[l]);
      sv_safetensors_writer_set_metadata (w, "train.data_lanes", s->str);
      g_string_free (s, TRUE);
    }
    ok = sv_safetensors_writer_write (w, path, error);
  }
  sv_safetensors_writer_free (w);
  g_ptr_array_unref (host);
  if (!ok) {
    g_free (path);
    return FALSE;
  }
  /* keep the newest `keep` (never the one just written) */
  char **all = sv_checkpoint_list (dir);
  guint n = g_strv_length (all);
  for (guint i = 0; keep > 0 && i + (guint) keep < n; i++)
    if (g_strcmp0 (all[i], path) != 0 && g_unlink (all[i]) != 0)
      g_warning ("cannot remove the old checkpoint %s: %s", all[i], g_strerror (errno));
  g_strfreev (all);
  if (written)
    *written = path;
  else
    g_free (path);
  return TRUE;
}

static gboolean
parse_u64 (const char *s, guint64 *v)
{
  return s && g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT64, v, NULL);
}

SvModel *
sv_checkpoint_load (const char *path, SvBackend *backend, SvTrainState *st, GError **error)
{
  SvSafetensors *f = sv_safetensors_open (path, error);
  if (!f)
    return NULL;
  SvModel *m = NULL;
  const char *format = sv_safetensors_metadata (f, "format");
  const char *config = sv_safetensors_metadata (f, "config");
  const char *tformat = sv_safetensors_metadata (f, "train.format");
  const char *tok = sv_safetensors_metadata (f, "tokenizer");
  const char *rng = sv_safetensors_metadata (f, "train.rng");
  guint64 step = 0, pos = 0;
  if (g_strcmp0 (format, SV_CHECKPOINT_FORMAT) != 0 || !config ||
      g_strcmp0 (tformat, SV_TRAIN_CHECKPOINT_FORMAT) != 0 ||
      !parse_u64 (sv_safetensors_metadata (f, "train.step"), &step) ||
      !parse_u64 (sv_safetensors_metadata (f, "train.data_position"), &pos) || !rng) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT,
                 "%s is not an svilm training checkpoint (format %s / %s, expected %s / %s with "
                 "a step, data position and RNG state)",
                 path, format ? format : "none", tformat ? tformat : "none", SV_CHECKPOINT_FORMAT,
                 SV_TRAIN_CHECKPOINT_FORMAT);
    goto fail;
  }
  char **words = g_strsplit (rng, " ", -1);
  gboolean rng_ok = g_strv_length (words) == 4;
  for (int i = 0; i < 4 && rng_ok; i++) {
    guint64 v = 0;
    rng_ok = g_ascii_string_to_unsigned (words[i], 16, 0, G_MAXUINT64, &v, NULL);
    st->rng.s[i] = v;
  }
  g_strfreev (words);
  if (!rng_ok) {
    g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: malformed train.rng \"%s\"", path, rng);
    goto fail;
  }
  SvModelConfig cfg;
  if (!sv_model_config_from_json (&cfg, config, error)) {
    g_prefix_error (error, "%s: ", path);
    goto fail;
  }
  m = sv_model_new (&cfg, backend, 0, error);
  if (!m)
    goto fail;
  for (guint i = 0; i < sv_var_set_len (m->params); i++) {
    const char *name = sv_var_set_name (m->params, i);
    if (!sv_safetensors_load_tensor (f, name, &sv_var_set_get (m->params, i)->x, error)) {
      g_prefix_error (error, "%s: parameter %s: ", path, name);
      goto fail;
    }
  }
  if (tok) {
    SvTokenizer *t = sv_tokenizer_from_json (tok, error);
    if (!t) {
      g_prefix_error (error, "%s: tokenizer: ", path);
      goto fail;
    }
    sv_model_set_tokenizer (m, t);
  }
  const char *lanes = sv_safetensors_metadata (f, "train.data_lanes");
  g_clear_pointer (&st->lanes, g_free);
  st->n_lanes = 1;
  if (lanes) {
    char **parts = g_strsplit (lanes, " ", -1);
    guint n = g_strv_length (parts);
    gboolean lanes_ok = n >= 1 && n <= 65536;
    st->lanes = g_new0 (uint64_t, MAX (n, 1));
    for (guint l = 0; l < n && lanes_ok; l++) {
      guint64 v = 0;
      lanes_ok = g_ascii_string_to_unsigned (parts[l], 10, 0, G_MAXUINT64, &v, NULL);
      st->lanes[l] = v;
    }
    g_strfreev (parts);
    if (!lanes_ok) {
      g_set_error (error, SV_ERROR, SV_ERROR_FORMAT, "%s: malformed train.data_lanes", path);
      g_clear_pointer (&st->lanes, g_free);
      goto fail;
    }
    st->n_lanes = n;
  }
  st->step = (int64_t) step;
  st->data_position = pos;
  st->options = g_strdup (sv_safetensors_metadata (f, "train.options"));
  sv_safetensors_close (f);
  return m;
fail:
  sv_model_free (m);
  sv_safetensors_close (f);
  return NULL;
}

gboolean
sv_checkpoint_load_optim (const char *path, SvOptimizer *opt, GError **error)
{
  SvSafetensors *f = sv_safetensors_open (path, error);
  if (!f)
    return FALSE;
  gboolean ok = sv_optim_load (opt, f, error);
  if (!ok)
    g_prefix_error (error, "%s: ", path);
  sv_safetensors_close (f);
  return ok;
}
