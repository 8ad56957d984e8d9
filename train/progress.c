/* svilm-train: training progress (live line or plain lines) and metrics.jsonl. */
#include "progress.h"

#include "sv-error.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

struct _SvProgress {
  FILE *metrics;
  char *path;
  int every;
  gboolean live, line_shown;
  gint64 t0, last_draw;
  double ema_step; /* seconds per step, smoothed */
  double clips, busy;
};

char *
sv_format_duration (double s)
{
  if (!isfinite (s) || s < 0)
    return g_strdup ("?");
  long t = lround (s);
  if (t >= 3600)
    return g_strdup_printf ("%ldh%02ldm", t / 3600, (t / 60) % 60);
  if (t >= 60)
    return g_strdup_printf ("%ldm%02lds", t / 60, t % 60);
  return g_strdup_printf ("%lds", t);
}

/* drops the lines whose "step" is after resume_step (atomically) */
static gboolean
truncate_metrics (const char *path, int64_t resume_step, GError **error)
{
  char *text = NULL;
  gsize len = 0;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!g_file_get_contents (path, &text, &len, error))
    return FALSE;
  GString *keep = g_string_new (NULL);
  gboolean dropped = FALSE;
  JsonParser *p = json_parser_new ();
  char **lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (!**l)
      continue;
    gboolean ok = FALSE;
    if (json_parser_load_from_data (p, *l, -1, NULL)) {
      JsonNode *root = json_parser_get_root (p);
      ok = root && JSON_NODE_HOLDS_OBJECT (root) &&
           json_object_get_int_member_with_default (json_node_get_object (root), "step",
                                                    G_MAXINT64) <= resume_step;
    }
    if (ok) {
      g_string_append (keep, *l);
      g_string_append_c (keep, '\n');
    } else {
      dropped = TRUE;
    }
  }
  g_strfreev (lines);
  g_object_unref (p);
  g_free (text);
  gboolean ok = !dropped || g_file_set_contents (path, keep->str, (gssize) keep->len, error);
  g_string_free (keep, TRUE);
  return ok;
}

SvProgress *
sv_progress_new (const char *metrics_path, int64_t resume_step, int every, gboolean live,
                 GError **error)
{
  if (resume_step >= 0 && !truncate_metrics (metrics_path, resume_step, error))
    return NULL;
  FILE *f = fopen (metrics_path, resume_step >= 0 ? "a" : "w");
  if (!f) {
    int e = errno;
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot open %s: %s", metrics_path, g_strerror (e));
    return NULL;
  }
  SvProgress *p = g_new0 (SvProgress, 1);
  p->metrics = f;
  p->path = g_strdup (metrics_path);
  p->every = MAX (every, 1);
  p->live = live;
  p->t0 = g_get_monotonic_time ();
  return p;
}

void
sv_progress_free (SvProgress *p)
{
  if (!p)
    return;
  if (p->line_shown) {
    fputc ('\n', stdout);
    fflush (stdout);
  }
  if (p->metrics)
    fclose (p->metrics);
  g_free (p->path);
  g_free (p);
}

double
sv_progress_elapsed (const SvProgress *p)
{
  return (double) (g_get_monotonic_time () - p->t0) / G_USEC_PER_SEC;
}

double
sv_progress_clips_per_s (const SvProgress *p)
{
  return p->busy > 0 ? p->clips / p->busy : 0.0;
}

void
sv_progress_print (SvProgress *p, FILE *out, const char *format, ...)
{
  va_list ap;
  if (p && p->line_shown) {
    fputs ("\r\033[K", stdout);
    fflush (stdout);
    p->line_shown = FALSE;
  }
  va_start (ap, format);
  vfprintf (out, format, ap);
  va_end (ap);
  fputc ('\n', out);
  fflush (out);
}

gboolean
sv_progress_step (SvProgress *p, const SvProgressStep *s, GError **error)
{
  double cps = s->step_time > 0 ? s->batch / s->step_time : 0.0;
  p->clips += s->batch;
  p->busy += s->step_time;
  p->ema_step = p->ema_step > 0 ? 0.9 * p->ema_step + 0.1 * s->step_time : s->step_time;
  double elapsed = sv_progress_elapsed (p);
  char line[512];
  g_snprintf (line, sizeof line,
              "{\"step\": %" G_GINT64_FORMAT ", \"loss\": %.9g, \"loss_temporal\": %.9g, "
              "\"loss_grounding\": %.9g, \"loss_contrast\": %.9g, \"loss_csal\": %.9g, "
              "\"loss_within\": %.9g, \"loss_separate\": %.9g, \"loss_words\": %.9g, \"lr\": %.9g, "
              "\"grad_norm\": %.9g, \"clips_per_s\": %.4g, \"step_time\": %.4g, "
              "\"data_wait\": %.4g, \"elapsed\": %.3f, \"time\": %.3f}\n",
              s->step, s->loss, s->loss_temporal, s->loss_grounding, s->loss_contrast, s->loss_csal,
              s->loss_within, s->loss_separate, s->loss_words, s->lr, s->grad_norm, cps,
              s->step_time, s->data_wait, elapsed, (double) g_get_real_time () / G_USEC_PER_SEC);
  if (fputs (line, p->metrics) == EOF || fflush (p->metrics) != 0) {
    int e = errno;
    g_set_error (error, SV_ERROR, SV_ERROR_IO, "cannot write %s: %s%s", p->path, g_strerror (e),
                 e == ENOSPC ? " (disk full)" : "");
    return FALSE;
  }
  char *eta = sv_format_duration (p->ema_step * (double) (s->total - s->step));
  char *el = sv_format_duration (elapsed);
  int width = (int) log10 ((double) MAX (s->total, 1)) + 1;
  char text[256];
  g_snprintf (text, sizeof text,
              "step %*" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " | loss %.4f (t %.4f g %.4f c %.4f)"
              " | lr %.3g | %.1f clips/s | %s elapsed, ETA %s",
              width, s->step, s->total, s->loss, s->loss_temporal, s->loss_grounding,
              s->loss_contrast, s->lr, cps, el, eta);
  gint64 now = g_get_monotonic_time ();
  if (p->live) {
    if (now - p->last_draw >= 100000 || s->step == s->total) {
      fprintf (stdout, "\r\033[K%s", text);
      fflush (stdout);
      p->line_shown = TRUE;
      p->last_draw = now;
    }
  } else if (s->step % p->every == 0 || s->step == s->total) {
    fprintf (stdout, "%s\n", text);
    fflush (stdout);
  }
  g_free (eta);
  g_free (el);
  return TRUE;
}
