/* svilm-train plot: the curves of a training run (DIR/metrics.jsonl) drawn to a PNG.
 *
 * One panel per quantity, stacked: the total loss and the batch-level loss terms, the
 * temporal grouping loss (an MSE, on its own scale) (raw values faint,
 * a moving average over 1% of the run bold), the learning rate, the gradient norm and
 * the throughput.  A loss term that was off for the whole run (always 0) is left out.
 */
#include "sv-train-cmds.h"

#include <cairo.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>

typedef struct {
  const char *key, *title;
  double r, g, b;
} Series;

/* panels and the series each holds */
static const Series losses[] = {
  { "loss", "total", 0.10, 0.10, 0.10 },
  { "loss_contrast", "contrastive", 0.12, 0.47, 0.71 },
  { "loss_grounding", "grounding", 0.84, 0.37, 0.00 },
  { "loss_csal", "CSAL", 0.58, 0.40, 0.74 },
  { "loss_within", "grounding within", 0.60, 0.60, 0.20 },
};
static const Series temporal[] = { { "loss_temporal", "temporal", 0.17, 0.63, 0.17 } };
static const Series lr[] = { { "lr", "learning rate", 0.55, 0.34, 0.29 } };
static const Series gnorm[] = { { "grad_norm", "gradient norm", 0.89, 0.47, 0.76 } };
static const Series speed[] = { { "clips_per_s", "clips/s", 0.50, 0.50, 0.50 } };

typedef struct {
  const char *title;
  const Series *series;
  int n;
  gboolean log_y;
} Panel;

enum { PANEL_W = 900, PANEL_H = 260, MARGIN_L = 80, MARGIN_R = 170, MARGIN_T = 30, MARGIN_B = 36 };

/* column of values of key for every row (NaN where missing) */
static double *
column (GPtrArray *rows, const char *key, gboolean *any_nonzero)
{
  double *v = g_new (double, rows->len);
  *any_nonzero = FALSE;
  for (guint i = 0; i < rows->len; i++) {
    JsonObject *o = rows->pdata[i];
    v[i] = json_object_has_member (o, key) ? json_object_get_double_member (o, key) : NAN;
    if (isfinite (v[i]) && v[i] != 0.0)
      *any_nonzero = TRUE;
  }
  return v;
}

static void
moving_average (const double *v, double *out, guint n, guint w)
{
  double sum = 0.0;
  guint count = 0;
  for (guint i = 0; i < n; i++) {
    if (isfinite (v[i]))
      sum += v[i], count++;
    if (i >= w && isfinite (v[i - w]))
      sum -= v[i - w], count--;
    out[i] = count ? sum / count : NAN;
  }
}

static void
draw_text (cairo_t *cr, double x, double y, const char *s, gboolean right)
{
  cairo_text_extents_t e;
  cairo_text_extents (cr, s, &e);
  cairo_move_to (cr, right ? x - e.x_advance : x, y);
  cairo_show_text (cr, s);
}

static void
draw_panel (cairo_t *cr, const Panel *p, GPtrArray *rows, const double *steps, double y0)
{
  guint n = rows->len;
  double x_max = MAX (steps[n - 1], 1.0), plot_w = PANEL_W - MARGIN_L - MARGIN_R;
  double plot_h = PANEL_H - MARGIN_T - MARGIN_B, top = y0 + MARGIN_T;
  double **vals = g_new0 (double *, p->n);
  gboolean *shown = g_new0 (gboolean, p->n);
  double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;
  for (int s = 0; s < p->n; s++) {
    vals[s] = column (rows, p->series[s].key, &shown[s]);
    for (guint i = 0; shown[s] && i < n; i++)
      if (isfinite (vals[s][i]) && (!p->log_y || vals[s][i] > 0))
        lo = MIN (lo, vals[s][i]), hi = MAX (hi, vals[s][i]);
  }
  if (lo > hi)
    lo = 0.0, hi = 1.0;
  if (p->log_y)
    lo = log10 (lo), hi = log10 (hi);
  if (hi - lo < 1e-9)
    hi = lo + 1.0;
  double pad = 0.05 * (hi - lo);
  lo -= pad, hi += pad;

  // frame, title, axes labels
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, MARGIN_L, top, plot_w, plot_h);
  cairo_stroke (cr);
  cairo_set_font_size (cr, 14);
  draw_text (cr, MARGIN_L, y0 + 20, p->title, FALSE);
  cairo_set_font_size (cr, 11);
  for (int t = 0; t <= 4; t++) {
    double f = t / 4.0, yv = lo + f * (hi - lo), y = top + plot_h * (1 - f);
    char label[32];
    g_snprintf (label, sizeof label, "%.4g", p->log_y ? pow (10, yv) : yv);
    draw_text (cr, MARGIN_L - 6, y + 4, label, TRUE);
    g_snprintf (label, sizeof label, "%.0f", f * x_max);
    draw_text (cr, MARGIN_L + f * plot_w, top + plot_h + 16, label, t == 4);
    cairo_set_source_rgba (cr, 0, 0, 0, 0.12);
    cairo_move_to (cr, MARGIN_L, y);
    cairo_line_to (cr, MARGIN_L + plot_w, y);
    cairo_stroke (cr);
    cairo_set_source_rgb (cr, 0, 0, 0);
  }
  draw_text (cr, MARGIN_L + plot_w, top + plot_h + 30, "step", TRUE);

  // series: raw (faint) and moving average (bold), legend on the right
  double *avg = g_new (double, n);
  guint window = MAX (n / 100, 1);
  int legend = 0;
  cairo_save (cr);
  cairo_rectangle (cr, MARGIN_L, top, plot_w, plot_h);
  cairo_clip (cr);
  for (int s = 0; s < p->n; s++) {
    if (!shown[s])
      continue;
    const Series *se = &p->series[s];
    moving_average (vals[s], avg, n, window);
    for (int pass = 0; pass < 2; pass++) {
      const double *v = pass == 0 ? vals[s] : avg;
      cairo_set_source_rgba (cr, se->r, se->g, se->b, pass == 0 && window > 1 ? 0.2 : 1.0);
      cairo_set_line_width (cr, pass == 0 ? 0.8 : 1.8);
      gboolean pen = FALSE;
      for (guint i = 0; i < n; i++) {
        double yv = v[i];
        if (!isfinite (yv) || (p->log_y && yv <= 0)) {
          pen = FALSE;
          continue;
        }
        yv = p->log_y ? log10 (yv) : yv;
        double x = MARGIN_L + plot_w * steps[i] / x_max;
        double y = top + plot_h * (1 - (yv - lo) / (hi - lo));
        if (pen)
          cairo_line_to (cr, x, y);
        else
          cairo_move_to (cr, x, y);
        pen = TRUE;
      }
      cairo_stroke (cr);
      if (window == 1)
        break;
    }
  }
  cairo_restore (cr);
  for (int s = 0; s < p->n; s++) {
    if (!shown[s])
      continue;
    const Series *se = &p->series[s];
    double y = top + 14 + 18 * legend++;
    cairo_set_source_rgb (cr, se->r, se->g, se->b);
    cairo_rectangle (cr, MARGIN_L + plot_w + 12, y - 9, 14, 10);
    cairo_fill (cr);
    cairo_set_source_rgb (cr, 0, 0, 0);
    char label[96];
    guint last = n - 1;
    moving_average (vals[s], avg, n, window);
    g_snprintf (label, sizeof label, "%s %.4g", se->title, avg[last]);
    draw_text (cr, MARGIN_L + plot_w + 32, y, label, FALSE);
  }
  g_free (avg);
  for (int s = 0; s < p->n; s++)
    g_free (vals[s]);
  g_free (vals);
  g_free (shown);
}

/* the rows of metrics.jsonl (objects with a "step"), in file order */
static GPtrArray *
read_metrics (const char *path, GError **error)
{
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  char **lines = g_strsplit (text, "\n", -1);
  JsonParser *parser = json_parser_new ();
  for (char **l = lines; *l; l++) {
    if (!**l || !json_parser_load_from_data (parser, *l, -1, NULL))
      continue; /* a torn last line of a killed run */
    JsonNode *root = json_parser_get_root (parser);
    if (root && JSON_NODE_HOLDS_OBJECT (root) &&
        json_object_has_member (json_node_get_object (root), "step"))
      g_ptr_array_add (rows, json_object_ref (json_node_get_object (root)));
  }
  g_object_unref (parser);
  g_strfreev (lines);
  g_free (text);
  if (rows->len == 0) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s holds no training steps", path);
    g_ptr_array_unref (rows);
    return NULL;
  }
  return rows;
}

int
sv_train_cmd_plot (int argc, char **argv)
{
  char *out = NULL;
  const GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "PNG to write (default DIR/curves.png)", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (ctx, "Draws the loss and metric curves of the training run in "
                                     "DIR (its metrics.jsonl) to a PNG.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int rc = sv_train_parse_options (ctx, &argc, &argv);
  if (rc)
    return rc;
  if (argc != 2) {
    g_free (out);
    return sv_train_fail ("plot", SV_TRAIN_EXIT_USAGE, "give one run directory (DIR)");
  }
  g_autofree char *metrics = g_build_filename (argv[1], "metrics.jsonl", NULL);
  g_autofree char *png = out ? out : g_build_filename (argv[1], "curves.png", NULL);
  g_autoptr (GError) error = NULL;
  GPtrArray *rows = read_metrics (metrics, &error);
  if (!rows)
    return sv_train_fail ("plot", SV_TRAIN_EXIT_FAILURE, "%s", error->message);

  const Panel panels[] = {
    { "losses", losses, G_N_ELEMENTS (losses), FALSE },
    { "temporal grouping loss (MSE)", temporal, 1, FALSE },
    { "learning rate", lr, 1, FALSE },
    { "gradient norm (before clipping)", gnorm, 1, TRUE },
    { "throughput", speed, 1, FALSE },
  };
  int np = G_N_ELEMENTS (panels);
  double *steps = g_new (double, rows->len);
  for (guint i = 0; i < rows->len; i++)
    steps[i] = json_object_get_double_member (rows->pdata[i], "step");
  cairo_surface_t *surf = cairo_image_surface_create (CAIRO_FORMAT_RGB24, PANEL_W, PANEL_H * np);
  cairo_t *cr = cairo_create (surf);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  for (int p = 0; p < np; p++)
    draw_panel (cr, &panels[p], rows, steps, (double) p * PANEL_H);
  cairo_destroy (cr);
  cairo_status_t st = cairo_surface_write_to_png (surf, png);
  cairo_surface_destroy (surf);
  g_free (steps);
  guint n = rows->len;
  g_ptr_array_unref (rows);
  if (st != CAIRO_STATUS_SUCCESS)
    return sv_train_fail ("plot", SV_TRAIN_EXIT_FAILURE, "cannot write %s: %s", png,
                          cairo_status_to_string (st));
  printf ("%s: %u steps\n", png, n);
  return 0;
}
