/* svilm-train extract: per-snippet clip features for temporal action localisation, in the
 * layout G-TAD reads (its ActivityNet-1.3 setup).
 *
 *   svilm-train extract --model M --data MANIFEST --out DIR [--split S] [--stride F]
 *                       [--scale N]
 *
 * Each video is cut into snippets: windows of the model's clip length every F frames
 * (default: half a clip), each encoded to its clip embedding (the frozen encoder, as the
 * paper feeds G-TAD).  With --scale N (default 100, G-TAD's "csv_mean_100") the snippet
 * sequence is linearly interpolated to N temporal positions; --scale 0 keeps one row per
 * snippet.  Writes
 *   DIR/csv_mean_N/<id>.csv (or DIR/csv/<id>.csv): a header f0,f1,... and one row per
 *                                                   position;
 *   DIR/video_info.csv: video,numFrame,seconds,fps,rfps,subset,featureFrame (G-TAD's
 *                       video_info_new.csv columns; featureFrame = frames the snippets
 *                       cover).
 */
#include "eval.h"
#include "sv-train-cmds.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CMD "extract"

/* snippet features [n x dim] of one decoded video */
static float *
snippets (SvilmModel *model, const SvEvalFrames *fr, guint stride, guint *n_out, GError **error)
{
  guint T = svilm_model_get_clip_frames (model), dim = svilm_model_get_embed_dim (model);
  guint n = fr->n <= T ? 1 : (fr->n - T) / stride + 1;
  float *out = g_new (float, (gsize) n *dim);
  for (guint s = 0; s < n; s++) {
    guint first = MIN (s * stride, fr->n - 1), len = MIN (T, fr->n - first);
    g_autoptr (SvilmClip) clip = svilm_model_encode_prepared (model, fr->ptr + first, len, error);
    if (!clip) {
      g_free (out);
      return NULL;
    }
    gsize d = 0;
    const float *emb = svilm_clip_get_embedding (clip, &d);
    memcpy (out + (gsize) s * dim, emb, MIN (d, dim) * sizeof (float));
  }
  *n_out = n;
  return out;
}

/* rows [n x dim] resampled to m positions by linear interpolation (G-TAD's rescaling) */
static float *
rescale (const float *rows, guint n, guint dim, guint m)
{
  float *out = g_new (float, (gsize) m *dim);
  for (guint i = 0; i < m; i++) {
    double x = m == 1 ? 0.0 : (double) i * (n - 1) / (m - 1);
    guint a = (guint) floor (x), b = MIN (a + 1, n - 1);
    double f = x - a;
    for (guint j = 0; j < dim; j++)
      out[(gsize) i * dim + j] =
          (float) ((1 - f) * rows[(gsize) a * dim + j] + f * rows[(gsize) b * dim + j]);
  }
  return out;
}

static gboolean
write_csv (const char *path, const float *rows, guint n, guint dim, GError **error)
{
  GString *s = g_string_new (NULL);
  for (guint j = 0; j < dim; j++)
    g_string_append_printf (s, "%sf%u", j ? "," : "", j);
  g_string_append_c (s, '\n');
  for (guint i = 0; i < n; i++) {
    for (guint j = 0; j < dim; j++) {
      char num[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd (num, sizeof num, "%.7g", rows[(gsize) i * dim + j]);
      g_string_append_printf (s, "%s%s", j ? "," : "", num);
    }
    g_string_append_c (s, '\n');
  }
  gboolean ok = g_file_set_contents (path, s->str, (gssize) s->len, error);
  g_string_free (s, TRUE);
  return ok;
}

/* a file name from an id: path separators and odd characters become '_' */
static char *
safe_name (const char *id)
{
  char *s = g_path_get_basename (id);
  char *dot = strrchr (s, '.');
  if (dot && dot != s)
    *dot = '\0';
  for (char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      *p = '_';
  return s;
}

int
sv_train_cmd_extract (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *data = NULL, *split = NULL, *out = NULL, *device = NULL;
  int stride = 0, scale = 100, limit = 0;
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "The model (required)", "M" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, "JSON-lines manifest (required)", "MANIFEST" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output directory (required)", "DIR" },
    { "split", 's', 0, G_OPTION_ARG_STRING, &split,
      "Videos of this split (default all; the subset column of video_info.csv)", "SPLIT" },
    { "stride", 0, 0, G_OPTION_ARG_INT, &stride,
      "Frames between snippets (default: half the model's clip)", "F" },
    { "scale", 0, 0, G_OPTION_ARG_INT, &scale,
      "Temporal positions per video after interpolation (default 100; 0: one per snippet)", "N" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, "At most N videos (default: all)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "auto (default), cpu, vulkan or vulkan:N",
      "D" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, "Writes per-snippet clip features of every video in the "
                                     "layout G-TAD reads (csv_mean_100/<video>.csv and "
                                     "video_info.csv).");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int rc = sv_train_parse_options (ctx, &argc, &argv);
  if (rc)
    return rc;
  if (argc > 1)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "unexpected argument '%s'.", argv[1]);
  if (!model_path || !data || !out)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE, "--model, --data and --out are required.");
  if (stride < 0 || scale < 0 || scale > 100000 || limit < 0)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_USAGE,
                          "--stride, --limit must be >= 0 and --scale in [0, 100000].");

  gst_init (NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) items =
      sv_eval_open_split (CMD, model_path, data, split ? split : "all", (guint) limit, &rc);
  if (!items)
    return rc;
  g_autoptr (SvilmModel) model = svilm_model_load (model_path, device ? device : "auto", &error);
  if (!model)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "cannot load the model: %s", error->message);
  guint T = svilm_model_get_clip_frames (model), dim = svilm_model_get_embed_dim (model);
  guint step = stride > 0 ? (guint) stride : MAX (T / 2, 1u);
  g_autofree char *sub = scale > 0 ? g_strdup_printf ("csv_mean_%d", scale) : g_strdup ("csv");
  g_autofree char *dir = g_build_filename (out, sub, NULL);
  if (g_mkdir_with_parents (dir, 0777) != 0)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "cannot create %s: %s", dir,
                          g_strerror (errno));
  GString *info = g_string_new ("video,numFrame,seconds,fps,rfps,subset,featureFrame\n");
  guint written = 0, unreadable = 0;
  for (guint i = 0; i < items->len; i++) {
    SvEvalItem *it = g_ptr_array_index (items, i);
    if (!quiet)
      fprintf (stderr, "\rsvilm-train extract: %u/%u", i, items->len);
    SvEvalFrames fr;
    g_autoptr (GError) e = NULL;
    if (!sv_eval_decode (model, it->uri, &fr, &e)) {
      fprintf (stderr, "\nsvilm-train extract: skipping %s: %s\n", it->video, e->message);
      unreadable++;
      continue;
    }
    guint n = 0;
    float *rows = snippets (model, &fr, step, &n, &error);
    guint frames = fr.n;
    double fps = fr.fps > 0 ? fr.fps : 30.0;
    sv_eval_frames_clear (&fr);
    if (!rows) {
      g_string_free (info, TRUE);
      return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "encoding %s: %s", it->video,
                            error->message);
    }
    float *scaled = scale > 0 ? rescale (rows, n, dim, (guint) scale) : NULL;
    g_autofree char *name = safe_name (it->id);
    g_autofree char *file = g_strconcat (name, ".csv", NULL);
    g_autofree char *path = g_build_filename (dir, file, NULL);
    gboolean ok = write_csv (path, scaled ? scaled : rows, scaled ? (guint) scale : n, dim, &error);
    g_free (scaled);
    g_free (rows);
    if (!ok) {
      g_string_free (info, TRUE);
      return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "%s", error->message);
    }
    guint covered = frames <= T ? frames : (n - 1) * step + T;
    char secs[G_ASCII_DTOSTR_BUF_SIZE], rate[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd (secs, sizeof secs, "%.3f", frames / fps);
    g_ascii_formatd (rate, sizeof rate, "%.3f", fps);
    g_string_append_printf (info, "%s,%u,%s,%s,%s,%s,%u\n", name, frames, secs, rate, rate,
                            split ? split : "all", covered);
    written++;
  }
  g_autofree char *info_path = g_build_filename (out, "video_info.csv", NULL);
  gboolean ok = g_file_set_contents (info_path, info->str, (gssize) info->len, &error);
  g_string_free (info, TRUE);
  if (!ok)
    return sv_train_fail (CMD, SV_TRAIN_EXIT_FAILURE, "%s", error->message);
  if (!quiet)
    fprintf (stderr, "\r");
  printf ("svilm-train extract: %u videos (%u unreadable) -> %s (%u-d snippets every %u frames"
          "%s%s)\n",
          written, unreadable, dir, dim, step, scale > 0 ? ", rescaled to " : "",
          scale > 0 ? sub + 9 : "");
  return written > 0 ? 0 : SV_TRAIN_EXIT_FAILURE;
}
