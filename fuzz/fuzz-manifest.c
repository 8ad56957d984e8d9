/* Fuzz target: the training manifest readers (sv_dataset_load(), train/dataset.h):
 * JSON lines, JSON arrays, CSV/TSV, WebVid CSV and MSR-VTT JSON, recognised from the
 * content.
 *
 * Input: the manifest file.  It is loaded as "input.csv" without options, and as
 * "input.tsv" (tab-separated) with a split and a video directory, so every reader
 * runs with and without them.  Every item must have a video, a URI and a non-empty
 * caption, and the counters must add up.
 */
#include "fuzz-common.h"

#include "dataset.h"

#include <string.h>

static void
load (const uint8_t *data, size_t size, const char *suffix, const SvDatasetOptions *opt)
{
  const char *path = sv_fuzz_file (data, size, suffix);
  GError *error = NULL;
  SvDataset *ds = sv_dataset_load (path, opt, &error);
  if (!ds) {
    SV_FUZZ_CHECK (error != NULL && error->message != NULL);
    g_debug ("refused: %s", error->message);
    g_error_free (error);
    return;
  }
  SV_FUZZ_CHECK (error == NULL);
  SV_FUZZ_CHECK (ds->items->len > 0);
  g_debug ("%s: %u items of %u entries (%u empty, %u malformed, %u other split)",
           sv_manifest_kind_name (ds->kind), ds->items->len, ds->n_entries, ds->n_empty_caption,
           ds->n_malformed, ds->n_other_split);
  SV_FUZZ_CHECK (ds->n_entries >=
                 ds->items->len + ds->n_empty_caption + ds->n_malformed + ds->n_other_split);
  SV_FUZZ_CHECK (strcmp (sv_manifest_kind_name (ds->kind), "?") != 0);
  for (guint i = 0; i < ds->items->len; i++) {
    const SvDataItem *it = g_ptr_array_index (ds->items, i);
    SV_FUZZ_CHECK (it->video && *it->video);
    SV_FUZZ_CHECK (it->uri && *it->uri);
    SV_FUZZ_CHECK (it->caption && *it->caption);
    SV_FUZZ_CHECK (!it->auto_nouns);
    for (char **n = it->nouns; n && *n; n++)
      (void) strlen (*n);
    g_free (sv_swap_left_right (it->caption));
  }
  sv_dataset_free (ds);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  sv_fuzz_input (data, size);
  load (data, size, ".csv", NULL);
  const SvDatasetOptions opt = { .split = "val", .video_dir = "/videos" };
  load (data, size, ".tsv", &opt);
  return 0;
}
