/* svilm-train --hard-negatives: regrouping a shuffled order into groups of alike captions.
 *
 *   test-hard-batches [MANIFEST]   (with a manifest: prints the first groups of it)
 */
#include "hard-batches.h"

#include <json-glib/json-glib.h>
#include <string.h>

static const char *const kinds[] = { "a red ball rolls to the left", "a blue car drives up",
                                     "two green trees grow",
                                     "a purple cat jumps on a striped background" };

/* 4 kinds x 4 variants, shuffled: the groups of 4 are the kinds */
static void
test_groups (void)
{
  enum { K = 4, N = 16 };
  char *captions[N];
  guint perm[N], seen[N] = { 0 };
  for (guint i = 0; i < N; i++)
    captions[i] = g_strdup_printf ("%s %s", kinds[i % K], (i / K) % 2 ? "fast" : "slowly");
  g_autoptr (SvHardBatches) hb = sv_hard_batches_new ((const char *const *) captions, N, K, 64);
  GRand *r = g_rand_new_with_seed (3);
  for (guint i = 0; i < N; i++)
    perm[i] = i;
  for (guint i = N - 1; i > 0; i--) {
    guint j = g_rand_int_range (r, 0, (gint32) i + 1), t = perm[i];
    perm[i] = perm[j], perm[j] = t;
  }
  guint first = perm[0];
  sv_hard_batches_order (hb, perm, N);
  g_assert_cmpuint (perm[0], ==, first); /* the first anchor stays */
  for (guint i = 0; i < N; i++)
    seen[perm[i]]++;
  for (guint i = 0; i < N; i++)
    g_assert_cmpuint (seen[i], ==, 1); /* a permutation */
  for (guint g = 0; g < N / K; g++)
    for (guint k = 1; k < K; k++)
      g_assert_cmpuint (perm[g * K + k] % K, ==, perm[g * K] % K);

  /* rare words weigh more than common ones: "purple" over "a" */
  g_assert_cmpfloat (sv_hard_batches_affinity (hb, 3, 7), >, sv_hard_batches_affinity (hb, 0, 1));
  g_assert_cmpfloat (sv_hard_batches_affinity (hb, 1, 6), ==, 0.0f); /* nothing shared */

  /* a window of 1 neighbour: the group is the next unused position, the order unchanged */
  g_autoptr (SvHardBatches) near = sv_hard_batches_new ((const char *const *) captions, N, 2, 1);
  guint ident[N];
  for (guint i = 0; i < N; i++)
    ident[i] = i;
  sv_hard_batches_order (near, ident, N);
  for (guint i = 0; i < N; i++)
    g_assert_cmpuint (ident[i], ==, i);

  /* K = 1 and empty captions leave the order as it is */
  g_autoptr (SvHardBatches) one = sv_hard_batches_new ((const char *const *) captions, N, 1, 8);
  sv_hard_batches_order (one, ident, N);
  for (guint i = 0; i < N; i++)
    g_assert_cmpuint (ident[i], ==, i);
  const char *empty[] = { "", "", "" };
  g_autoptr (SvHardBatches) blank = sv_hard_batches_new (empty, 3, 2, 8);
  guint three[] = { 2, 0, 1 };
  sv_hard_batches_order (blank, three, 3);
  g_assert_cmpuint (three[0] + three[1] + three[2], ==, 3);
  g_assert_cmpfloat (sv_hard_batches_affinity (blank, 0, 1), ==, 0.0f);
  g_rand_free (r);
  for (guint i = 0; i < N; i++)
    g_free (captions[i]);
}

/* the first groups of a real manifest, for a look (not a test of their quality) */
static void
print_groups (const char *manifest)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (manifest, &text, NULL, NULL));
  char **lines = g_strsplit (text, "\n", -1);
  GPtrArray *caps = g_ptr_array_new_with_free_func (g_free);
  for (char **l = lines; *l; l++) {
    if (!**l)
      continue;
    g_autoptr (JsonParser) p = json_parser_new ();
    if (!json_parser_load_from_data (p, *l, -1, NULL))
      continue;
    JsonObject *o = json_node_get_object (json_parser_get_root (p));
    if (g_strcmp0 (json_object_get_string_member_with_default (o, "split", "train"), "train"))
      continue;
    g_ptr_array_add (caps, g_strdup (json_object_get_string_member (o, "caption")));
  }
  guint n = caps->len;
  guint *perm = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    perm[i] = (guint) (((guint64) i * 2654435761u) % n); /* a fixed scramble */
  g_autoptr (SvHardBatches) hb = sv_hard_batches_new ((const char *const *) caps->pdata, n, 4, 256);
  gint64 t0 = g_get_monotonic_time ();
  sv_hard_batches_order (hb, perm, n);
  g_printerr ("%u captions regrouped in %.1f ms\n", n, (g_get_monotonic_time () - t0) / 1e3);
  for (guint i = 0; i < MIN (n, 16u); i++)
    g_printerr ("%s%s\n", i % 4 == 0 ? "--\n" : "", (const char *) caps->pdata[perm[i]]);
  g_free (perm);
  g_ptr_array_unref (caps);
  g_strfreev (lines);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc > 1) {
    print_groups (argv[1]);
    return 0;
  }
  g_test_add_func ("/hard-batches/groups", test_groups);
  return g_test_run ();
}
