/* svilm-core: the rule that turns scored slice boundaries into scene cuts.
 *
 * svilmscenecut and `svilm-train eval --task scenecut` decide cuts with this same code, so
 * the figures the evaluation reports are the element's. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* the default threshold of the gradual-transition detector on the wide scores of a model
 * with a scene head (docs/training.md, "Wider pairs at inference"); without a scene head
 * the detector is off by default (not measured on 1 - cos) */
#define SVILM_GRADUAL_THRESHOLD_HEAD 0.5
/* frames: a gradual cut needs no cut this close before it, and a usual cut this close after
 * a gradual one is dropped (the gradual cut found that transition early) */
#define SVILM_GRADUAL_GAP 16

/**
 * SvilmCutRule:
 * @threshold: a boundary whose score (SvilmBoundary's change, or cross with the flash
 *   filter) is at least this is a cut
 * @min_gap: a cut lies at least this many frames after the previous cut (and after the
 *   start of the stream, which counts as one); the first boundary that passes wins
 * @merge_runs: a run of consecutive boundaries at or above @threshold (a dissolve or a
 *   fade scores high all along) makes one cut at most
 * @gradual_threshold: a boundary below @threshold whose wide score (SvilmBoundary's wide)
 *   is at least this is a cut too, unless a cut lies less than @gradual_gap frames before
 *   it; one per run of such boundaries.  0 (or less) turns the gradual detector off.
 * @gradual_gap: frames; see @gradual_threshold.  A usual cut within this many frames
 *   after a gradual one is dropped: it is the same transition, found late.
 *
 * How boundary scores become cuts, deciding boundaries in order with no look-ahead.
 */
typedef struct {
  gdouble threshold;
  guint min_gap;
  gboolean merge_runs;
  gdouble gradual_threshold;
  guint gradual_gap;
} SvilmCutRule;

/**
 * SvilmCutState:
 *
 * What svilm_cut_decide remembers between boundaries.  Set it up with
 * svilm_cut_state_init; its fields are private.
 */
typedef struct {
  /*< private >*/
  gint64 last;         /* the last cut, or the start when !any_cut */
  gint64 last_gradual; /* the last gradual cut; valid when any_gradual */
  gboolean any_cut, any_gradual;
  gboolean run_cut;     /* the run of boundaries >= threshold up to the last one made a cut */
  gboolean gradual_run; /* the run of boundaries with wide >= gradual_threshold made one */
} SvilmCutState;

/**
 * svilm_cut_state_init:
 * @state: (out caller-allocates): the state to set up
 * @start: the frame where the stream (or the part after a flush) starts: it counts as a
 *   cut for @min_gap
 */
void svilm_cut_state_init (SvilmCutState *state, gint64 start);

/**
 * svilm_cut_state_break:
 * @state: the state
 *
 * The boundaries that follow do not continue the runs of those before (the stream's
 * format changed): forget the runs, keep the cuts.
 */
void svilm_cut_state_break (SvilmCutState *state);

/**
 * svilm_cut_decide:
 * @rule: the rule
 * @state: (inout): the state after the previous boundary
 * @frame: the boundary's frame, after the previous boundary's
 * @score: its score (compared with @rule's threshold)
 * @wide: its wide score (compared with @rule's gradual_threshold; ignored when that is off)
 * @gradual: (out) (optional): whether the cut, if any, is the gradual detector's
 * Returns: whether the boundary is a cut
 */
gboolean svilm_cut_decide (const SvilmCutRule *rule, SvilmCutState *state, gint64 frame,
                           gdouble score, gdouble wide, gboolean *gradual);

G_END_DECLS
