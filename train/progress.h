/* svilm-train: training progress and metrics.
 *
 * On a terminal a live line (step/total, each loss term, lr, clips/s, ETA) is redrawn at
 * most 10 times a second; otherwise a plain line is printed every `every` steps and at the
 * last step.  Every step is appended to DIR/metrics.jsonl as one JSON object:
 *   {"step": updates done, "loss", "loss_temporal", "loss_grounding", "loss_contrast", "loss_csal",
 *    "loss_within", "loss_separate", "loss_words", "lr", "grad_norm", "clips_per_s", "step_time",
 * "data_wait" (seconds of step_time spent waiting for data), "elapsed" (seconds since the run
 * started), "time" (Unix time)} with floats written with 9 significant digits (they read back
 * bit-exact).  A resumed run first drops the lines after the step it resumes from.
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>

G_BEGIN_DECLS

typedef struct {
  int64_t step, total;
  float loss, loss_temporal, loss_grounding, loss_contrast, loss_csal, loss_within, lr;
  float loss_separate, loss_words;
  double grad_norm, step_time, data_wait;
  int batch;
} SvProgressStep;

typedef struct _SvProgress SvProgress;

/* resume_step >= 0: keep only the metrics lines with "step" <= resume_step. */
SvProgress *sv_progress_new (const char *metrics_path, int64_t resume_step, int every,
                             gboolean live, GError **error);
/* appends the metrics line (FALSE with an error if it cannot be written) and shows it */
gboolean sv_progress_step (SvProgress *p, const SvProgressStep *s, GError **error);
/* a message on its own line (clears the live line first), to out */
void sv_progress_print (SvProgress *p, FILE *out, const char *format, ...) G_GNUC_PRINTF (3, 4);
/* mean clips/s and seconds since sv_progress_new() */
double sv_progress_clips_per_s (const SvProgress *p);
double sv_progress_elapsed (const SvProgress *p);
void sv_progress_free (SvProgress *p);

/* "1h02m", "3m05s", "12s" */
char *sv_format_duration (double seconds);

G_END_DECLS
