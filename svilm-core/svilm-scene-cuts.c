/* svilm-core: scored slice boundaries to scene cuts (svilm-scene-cuts.h). */
#include "svilm-scene-cuts.h"

void
svilm_cut_state_init (SvilmCutState *state, gint64 start)
{
  g_return_if_fail (state != NULL);
  *state = (SvilmCutState){ .last = start };
}

void
svilm_cut_state_break (SvilmCutState *state)
{
  g_return_if_fail (state != NULL);
  state->run_cut = state->gradual_run = FALSE;
}

static void
record_cut (SvilmCutState *s, gint64 frame)
{
  s->last = frame;
  s->any_cut = TRUE;
}

gboolean
svilm_cut_decide (const SvilmCutRule *rule, SvilmCutState *s, gint64 frame, gdouble score,
                  gdouble wide, gboolean *gradual)
{
  g_return_val_if_fail (rule != NULL && s != NULL, FALSE);
  gboolean use_gradual = rule->gradual_threshold > 0.0;
  gboolean wide_high = use_gradual && wide >= rule->gradual_threshold;
  gboolean far = frame >= s->last + (gint64) rule->min_gap;
  if (gradual)
    *gradual = FALSE;
  if (!wide_high)
    s->gradual_run = FALSE;
  if (score < rule->threshold) {
    s->run_cut = FALSE;
    /* the second way to cut: the pairs of slices further apart than the adjacent ones
     * differ, as across a dissolve too slow for adjacent slices to tell */
    if (!wide_high || s->gradual_run || !far)
      return FALSE;
    if (s->any_cut && frame - s->last <= (gint64) rule->gradual_gap)
      return FALSE;
    record_cut (s, frame);
    s->last_gradual = frame;
    s->any_gradual = TRUE;
    s->gradual_run = TRUE;
    if (gradual)
      *gradual = TRUE;
    return TRUE;
  }
  if ((rule->merge_runs && s->run_cut) || !far)
    return FALSE;
  /* the usual cut at the end of a transition the gradual detector already cut */
  if (use_gradual && s->any_gradual && frame - s->last_gradual <= (gint64) rule->gradual_gap)
    return FALSE;
  record_cut (s, frame);
  s->run_cut = TRUE;
  s->gradual_run = s->gradual_run || wide_high;
  return TRUE;
}
