/* Tests for the safetensors reader and writer: round trips, the exact byte layout
 * (as tests/torch/svref.py writes it), malformed files, atomic writes and a
 * seeded mutation fuzz loop (meant to run under ASan). */
#include "sv-test.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* raw bytes to tmpdir/name; returns the path */
static char *
write_raw (const char *name, const void *bytes, gsize len)
{
  char *path = tmp_path (name);
  GError *error = NULL;
  g_file_set_contents (path, bytes, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

/* u64 LE header length (hlen, or strlen(json) when hlen < 0), the JSON, the data */
static char *
write_st (const char *name, const char *json, gint64 hlen, const void *data, gsize data_len)
{
  gsize jlen = strlen (json);
  GByteArray *b = g_byte_array_new ();
  guint64 le = GUINT64_TO_LE (hlen < 0 ? (guint64) jlen : (guint64) hlen);
  g_byte_array_append (b, (const guint8 *) &le, 8);
  g_byte_array_append (b, (const guint8 *) json, (guint) jlen);
  if (data_len)
    g_byte_array_append (b, data, (guint) data_len);
  char *path = write_raw (name, b->data, b->len);
  g_byte_array_unref (b);
  return path;
}

static GBytes *
read_bytes (const char *path)
{
  char *contents = NULL;
  gsize len = 0;
  GError *error = NULL;
  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

/* names in tmpdir that look like writer temp files ("*.XXXXXX") */
static guint
count_temp_files (void)
{
  GDir *d = g_dir_open (tmpdir, 0, NULL);
  g_assert_nonnull (d);
  guint n = 0;
  const char *name;
  while ((name = g_dir_read_name (d))) {
    const char *dot = strrchr (name, '.');
    if (dot && strlen (dot) == 7 && !g_str_has_suffix (name, ".safetensors"))
      n++;
  }
  g_dir_close (d);
  return n;
}

static void
check_shape (const SvSafetensorsEntry *e, SvDType dtype, int ndim, const int64_t *shape)
{
  g_assert_cmpint (e->dtype, ==, dtype);
  g_assert_cmpint (e->ndim, ==, ndim);
  size_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    g_assert_cmpint (e->shape[i], ==, shape[i]);
    numel *= (size_t) shape[i];
  }
  g_assert_cmpuint (e->numel, ==, numel);
  g_assert_cmpuint (e->nbytes, ==, numel * 4);
  g_assert_cmpuint ((guintptr) e->data % 4, ==, 0);
}

/* ------------------------------------------------------------------------ */

static void
test_roundtrip (void)
{
  GError *error = NULL;
  float a[6] = { 1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f };
  int32_t ids[4] = { 0, -1, G_MAXINT32, G_MININT32 };
  float scalar = 42.0f;
  float five[2 * 1 * 3 * 1 * 2];
  for (guint i = 0; i < G_N_ELEMENTS (five); i++)
    five[i] = (float) i * 0.5f - 3.0f;
  int32_t nothing = 0;

  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  g_assert_true (sv_safetensors_writer_add (w, "a", SV_F32, 2, (int64_t[]){ 2, 3 }, a, &error));
  g_assert_true (sv_safetensors_writer_add (w, "empty", SV_F32, 1, (int64_t[]){ 0 }, NULL, &error));
  g_assert_true (sv_safetensors_writer_add (w, "ids", SV_I32, 1, (int64_t[]){ 4 }, ids, &error));
  g_assert_true (sv_safetensors_writer_add (w, "scalar", SV_F32, 0, NULL, &scalar, &error));
  g_assert_true (sv_safetensors_writer_add (w, "five.d", SV_F32, 5, (int64_t[]){ 2, 1, 3, 1, 2 },
                                            five, &error));
  g_assert_true (
      sv_safetensors_writer_add (w, "empty_i32", SV_I32, 2, (int64_t[]){ 3, 0 }, &nothing, &error));
  g_assert_true (sv_safetensors_writer_add (w, "we\"ird \\ näme/\n", SV_F32, 1, (int64_t[]){ 1 },
                                            &scalar, &error));
  g_assert_no_error (error);
  char *path = tmp_path ("roundtrip.safetensors");
  g_assert_true (sv_safetensors_writer_write (w, path, &error));
  g_assert_no_error (error);
  sv_safetensors_writer_free (w);
  g_assert_cmpuint (count_temp_files (), ==, 0);

  /* layout: header length a multiple of 8, padded with spaces, data consecutive */
  GBytes *bytes = read_bytes (path);
  gsize size;
  const guint8 *raw = g_bytes_get_data (bytes, &size);
  guint64 hlen;
  memcpy (&hlen, raw, 8);
  hlen = GUINT64_FROM_LE (hlen);
  g_assert_cmpuint (hlen % 8, ==, 0);
  g_assert_cmpuint (size, ==, 8 + hlen + (6 + 0 + 4 + 1 + 12 + 0 + 1) * 4);
  g_assert_cmpint (raw[8], ==, '{');
  guint64 last = hlen + 7;
  while (raw[last] == ' ')
    last--;
  g_assert_cmpint (raw[last], ==, '}');
  g_assert_cmpuint (hlen + 7 - last, <, 8);
  g_assert_null (g_strstr_len ((const char *) raw + 8, (gssize) hlen, "__metadata__"));
  /* tensors in insertion order: "a" first */
  g_assert_cmpmem (raw + 8 + hlen, sizeof a, a, sizeof a);
  g_bytes_unref (bytes);

  SvSafetensors *st = sv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_assert_cmpuint (sv_safetensors_n_tensors (st), ==, 7);

  const SvSafetensorsEntry *e = sv_safetensors_find (st, "a", &error);
  g_assert_no_error (error);
  check_shape (e, SV_F32, 2, (int64_t[]){ 2, 3 });
  g_assert_cmpmem (e->data, e->nbytes, a, sizeof a);
  g_assert_cmpstr (e->name, ==, "a");

  e = sv_safetensors_find (st, "ids", &error);
  check_shape (e, SV_I32, 1, (int64_t[]){ 4 });
  g_assert_cmpmem (e->data, e->nbytes, ids, sizeof ids);

  e = sv_safetensors_find (st, "scalar", &error);
  check_shape (e, SV_F32, 0, NULL);
  g_assert_cmpfloat (*(const float *) e->data, ==, 42.0f);

  e = sv_safetensors_find (st, "empty", &error);
  check_shape (e, SV_F32, 1, (int64_t[]){ 0 });
  e = sv_safetensors_find (st, "empty_i32", &error);
  check_shape (e, SV_I32, 2, (int64_t[]){ 3, 0 });
  e = sv_safetensors_find (st, "five.d", &error);
  check_shape (e, SV_F32, 5, (int64_t[]){ 2, 1, 3, 1, 2 });
  g_assert_cmpmem (e->data, e->nbytes, five, sizeof five);
  e = sv_safetensors_find (st, "we\"ird \\ näme/\n", &error);
  g_assert_no_error (error);
  check_shape (e, SV_F32, 1, (int64_t[]){ 1 });

  /* entries come in file order */
  for (guint i = 1; i < sv_safetensors_n_tensors (st); i++) {
    const SvSafetensorsEntry *p = sv_safetensors_entry (st, i - 1);
    const SvSafetensorsEntry *q = sv_safetensors_entry (st, i);
    g_assert_true ((const char *) p->data + p->nbytes <= (const char *) q->data);
  }
  g_assert_cmpstr (sv_safetensors_entry (st, 0)->name, ==, "a");

  /* load_tensor into fresh tensors of every kind */
  SvTensor *t = SV_TEST_TENSOR (2, 3);
  g_assert_true (sv_safetensors_load_tensor (st, "a", t, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (sv_tensor_f32 (t), sizeof a, a, sizeof a);
  sv_tensor_free (t);

  t = sv_test_tensor (SV_I32, 1, (int64_t[]){ 4 });
  g_assert_true (sv_safetensors_load_tensor (st, "ids", t, &error));
  g_assert_cmpmem (sv_tensor_i32 (t), sizeof ids, ids, sizeof ids);
  sv_tensor_free (t);

  t = sv_test_tensor (SV_F32, 0, NULL);
  g_assert_true (sv_safetensors_load_tensor (st, "scalar", t, &error));
  g_assert_cmpfloat (sv_tensor_f32 (t)[0], ==, 42.0f);
  sv_tensor_free (t);

  t = sv_test_tensor (SV_F32, 1, (int64_t[]){ 0 });
  g_assert_true (sv_safetensors_load_tensor (st, "empty", t, &error));
  sv_tensor_free (t);

  t = sv_test_tensor (SV_F32, 5, (int64_t[]){ 2, 1, 3, 1, 2 });
  g_assert_true (sv_safetensors_load_tensor (st, "five.d", t, &error));
  g_assert_cmpmem (sv_tensor_f32 (t), sizeof five, five, sizeof five);
  sv_tensor_free (t);
  g_assert_no_error (error);

  /* the sv-test helper used by the op tests */
  t = sv_test_ref (st, "five.d");
  g_assert_cmpmem (sv_tensor_f32 (t), sizeof five, five, sizeof five);
  sv_tensor_free (t);

  /* absent names */
  g_assert_null (sv_safetensors_find (st, "nope", &error));
  sv_test_expect_error (&error, SV_ERROR_FORMAT);
  t = SV_TEST_TENSOR (1);
  g_assert_false (sv_safetensors_load_tensor (st, "nope", t, &error));
  sv_test_expect_error (&error, SV_ERROR_FORMAT);
  sv_tensor_free (t);
  g_assert_null (sv_safetensors_metadata (st, "anything"));

  sv_safetensors_close (st);
  g_free (path);
}

static void
test_metadata (void)
{
  GError *error = NULL;
  float x[2] = { 1, 2 };
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  sv_safetensors_writer_set_metadata (w, "format", "pt");
  sv_safetensors_writer_set_metadata (w, "step", "1");
  sv_safetensors_writer_set_metadata (w, "note", "quotes \" and \\ and ünïcode\n");
  sv_safetensors_writer_set_metadata (w, "step", "1000"); /* replaces */
  sv_safetensors_writer_set_metadata (w, "", "");
  g_assert_true (sv_safetensors_writer_add (w, "x", SV_F32, 1, (int64_t[]){ 2 }, x, &error));
  char *path = tmp_path ("meta.safetensors");
  g_assert_true (sv_safetensors_writer_write (w, path, &error));
  g_assert_no_error (error);
  sv_safetensors_writer_free (w);

  SvSafetensors *st = sv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sv_safetensors_n_tensors (st), ==, 1);
  g_assert_cmpstr (sv_safetensors_metadata (st, "format"), ==, "pt");
  g_assert_cmpstr (sv_safetensors_metadata (st, "step"), ==, "1000");
  g_assert_cmpstr (sv_safetensors_metadata (st, "note"), ==, "quotes \" and \\ and ünïcode\n");
  g_assert_cmpstr (sv_safetensors_metadata (st, ""), ==, "");
  g_assert_null (sv_safetensors_metadata (st, "missing"));
  g_assert_null (sv_safetensors_metadata (st, "x"));
  sv_safetensors_close (st);

  /* a file with metadata only */
  w = sv_safetensors_writer_new ();
  sv_safetensors_writer_set_metadata (w, "k", "v");
  g_assert_true (sv_safetensors_writer_write (w, path, &error));
  sv_safetensors_writer_free (w);
  st = sv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sv_safetensors_n_tensors (st), ==, 0);
  g_assert_cmpstr (sv_safetensors_metadata (st, "k"), ==, "v");
  sv_safetensors_close (st);

  /* an empty writer gives "{}" padded */
  w = sv_safetensors_writer_new ();
  g_assert_true (sv_safetensors_writer_write (w, path, &error));
  sv_safetensors_writer_free (w);
  st = sv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sv_safetensors_n_tensors (st), ==, 0);
  sv_safetensors_close (st);
  g_free (path);
}

/* exactly what tests/torch/svref.py save() writes: json.dumps(separators=(",",":"))
 * with names sorted, __metadata__ last, padded with spaces to a multiple of 8 */
static void
test_python_layout (void)
{
  GError *error = NULL;
  float w[4] = { 0.25f, -1, 2, 8 };
  int32_t ids[3] = { 7, 8, 9 };
  guint8 data[28];
  memcpy (data, ids, 12);
  memcpy (data + 12, w, 16);
  const char *json = "{\"ids\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                     "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[12,28]},"
                     "\"__metadata__\":{\"seed\":\"1234\"}}";
  GString *h = g_string_new (json);
  while (h->len % 8)
    g_string_append_c (h, ' ');
  char *path = write_st ("py.safetensors", h->str, -1, data, sizeof data);
  g_string_free (h, TRUE);

  SvSafetensors *st = sv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sv_safetensors_n_tensors (st), ==, 2);
  g_assert_cmpstr (sv_safetensors_entry (st, 0)->name, ==, "ids");
  g_assert_cmpstr (sv_safetensors_entry (st, 1)->name, ==, "w");
  g_assert_cmpstr (sv_safetensors_metadata (st, "seed"), ==, "1234");
  SvTensor *t = sv_test_ref (st, "w");
  g_assert_cmpmem (sv_tensor_f32 (t), 16, w, 16);
  sv_tensor_free (t);
  sv_safetensors_close (st);
  g_free (path);
}

/* header length not a multiple of 4: the reader must still hand out aligned data */
static void
test_unaligned (void)
{
  GError *error = NULL;
  float v[3] = { 1, 2, 3 };
  for (int pad = 0; pad < 4; pad++) {
    GString *h = g_string_new ("{\"v\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}");
    for (int i = 0; i < pad; i++)
      g_string_append_c (h, ' ');
    char *path = write_st ("unaligned.safetensors", h->str, -1, v, sizeof v);
    SvSafetensors *st = sv_safetensors_open (path, &error);
    g_assert_no_error (error);
    const SvSafetensorsEntry *e = sv_safetensors_find (st, "v", &error);
    g_assert_no_error (error);
    g_assert_cmpuint ((guintptr) e->data % 4, ==, 0);
    g_assert_cmpmem (e->data, e->nbytes, v, sizeof v);
    sv_safetensors_close (st);
    g_string_free (h, TRUE);
    g_free (path);
  }
}

/* ------------------------------------------------------------------------ */
/* malformed files */

static void
expect_open_error (const char *path, int code, const char *needle)
{
  GError *error = NULL;
  SvSafetensors *st = sv_safetensors_open (path, &error);
  g_assert_null (st);
  g_assert_nonnull (error);
  if (needle && !strstr (error->message, needle)) {
    g_test_message ("error message \"%s\" lacks \"%s\"", error->message, needle);
    g_test_fail ();
  }
  /* every open error names the file */
  g_assert_nonnull (strstr (error->message, path));
  sv_test_expect_error (&error, code);
}

static void
expect_json_error (const char *json, const void *data, gsize len, int code, const char *needle)
{
  char *path = write_st ("bad.safetensors", json, -1, data, len);
  expect_open_error (path, code, needle);
  g_free (path);
}

static void
test_bad_files (void)
{
  static const guint8 zeros[64] = { 0 };
  char *path;

  path = tmp_path ("does-not-exist.safetensors");
  expect_open_error (path, SV_ERROR_IO, NULL);
  g_free (path);
  expect_open_error (tmpdir, SV_ERROR_IO, "directory");

  path = write_raw ("empty.safetensors", "", 0);
  expect_open_error (path, SV_ERROR_FORMAT, "short");
  g_free (path);
  path = write_raw ("seven.safetensors", "\x02\0\0\0\0\0\0", 7);
  expect_open_error (path, SV_ERROR_FORMAT, "short");
  g_free (path);
  /* header length 0, 1 */
  path = write_st ("h0.safetensors", "", -1, NULL, 0);
  expect_open_error (path, SV_ERROR_FORMAT, NULL);
  g_free (path);
  path = write_st ("h1.safetensors", "{", -1, NULL, 0);
  expect_open_error (path, SV_ERROR_FORMAT, NULL);
  g_free (path);

  /* header length past the end of the file */
  path = write_st ("long.safetensors", "{}", 3, NULL, 0);
  expect_open_error (path, SV_ERROR_FORMAT, "past the end");
  g_free (path);
  path = write_st ("long.safetensors", "{}      ", (gint64) G_MAXUINT32 * 2, NULL, 0);
  expect_open_error (path, SV_ERROR_FORMAT, NULL);
  g_free (path);
  path = write_st ("huge.safetensors", "{}", (gint64) G_MAXINT64, NULL, 0);
  expect_open_error (path, SV_ERROR_FORMAT, "limit");
  g_free (path);
  path = write_st ("huge.safetensors", "{}", (gint64) SV_SAFETENSORS_MAX_HEADER + 1, NULL, 0);
  expect_open_error (path, SV_ERROR_FORMAT, "limit");
  g_free (path);
  {
    /* u64 with the top bit set */
    guint8 b[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}' };
    path = write_raw ("huge.safetensors", b, sizeof b);
    expect_open_error (path, SV_ERROR_FORMAT, "limit");
    g_free (path);
  }

  /* JSON */
  expect_json_error ("{\"a\":", NULL, 0, SV_ERROR_FORMAT, "JSON");
  expect_json_error ("not json at all", NULL, 0, SV_ERROR_FORMAT, "JSON");
  expect_json_error ("{\"a\":{}}\0\0", NULL, 0, SV_ERROR_FORMAT, NULL);
  expect_json_error ("[1, 2, 3]", NULL, 0, SV_ERROR_FORMAT, "object");
  expect_json_error ("\"str\"", NULL, 0, SV_ERROR_FORMAT, "object");
  expect_json_error ("12345678", NULL, 0, SV_ERROR_FORMAT, "object");
  expect_json_error ("null    ", NULL, 0, SV_ERROR_FORMAT, "object");
  expect_json_error ("{\"a\":[1]}", NULL, 0, SV_ERROR_FORMAT, "\"a\"");
  expect_json_error ("{\"a\":\"F32\"}", NULL, 0, SV_ERROR_FORMAT, "\"a\"");
  {
    char bad[] = "{\"a\xff\":{}}";
    path = write_st ("bad.safetensors", bad, -1, NULL, 0);
    expect_open_error (path, SV_ERROR_FORMAT, NULL);
    g_free (path);
  }
  {
    /* NUL inside the header */
    const char h[] = "{\"a\":{\"dtype\":\"F32\",\0\"shape\":[1],\"data_offsets\":[0,4]}}";
    GByteArray *b = g_byte_array_new ();
    guint64 le = GUINT64_TO_LE (sizeof h - 1);
    g_byte_array_append (b, (const guint8 *) &le, 8);
    g_byte_array_append (b, (const guint8 *) h, sizeof h - 1);
    g_byte_array_append (b, zeros, 4);
    path = write_raw ("nul.safetensors", b->data, b->len);
    expect_open_error (path, SV_ERROR_FORMAT, NULL);
    g_byte_array_unref (b);
    g_free (path);
  }

  /* deep nesting (json-glib recurses per level) and tricks that could hide
   * brackets from the depth check */
  {
    GString *deep = g_string_new ("{\"a\":");
    for (int i = 0; i < 200000; i++)
      g_string_append_c (deep, '[');
    path = write_st ("deep.safetensors", deep->str, -1, NULL, 0);
    expect_open_error (path, SV_ERROR_FORMAT, "nests deeper");
    g_free (path);
    g_string_truncate (deep, 0);
    g_string_append (deep, "[\"\\uD800\",\"");
    for (int i = 0; i < 200000; i++)
      g_string_append_c (deep, '[');
    path = write_st ("deep.safetensors", deep->str, -1, NULL, 0);
    expect_open_error (path, SV_ERROR_FORMAT, "escape");
    g_free (path);
    const char *tricks[] = { "[\"\\u12\",\"",
                             "[\"\\uDC00\",\"",
                             "[\"\\uD800\\u0041\",\"",
                             "['\"',",
                             "[/*\"*/",
                             "[//\"\n",
                             "[\"\\x\",\"",
                             "[\"\\" };
    for (guint t = 0; t < G_N_ELEMENTS (tricks); t++) {
      g_string_assign (deep, tricks[t]);
      for (int i = 0; i < 100000; i++)
        g_string_append_c (deep, '[');
      path = write_st ("deep.safetensors", deep->str, -1, NULL, 0);
      expect_open_error (path, SV_ERROR_FORMAT, "not valid JSON");
      g_free (path);
    }
    g_string_free (deep, TRUE);
  }
  expect_json_error ("{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}", NULL, 0, SV_ERROR_FORMAT,
                     "nests deeper");
  expect_json_error ("{\"a\":{}}}}", NULL, 0, SV_ERROR_FORMAT, "data after the end");
  expect_json_error ("]{\"a\":{}}", NULL, 0, SV_ERROR_FORMAT, "unbalanced");
  expect_json_error ("{\"a\":{}}\n{\"b\":{}}", NULL, 0, SV_ERROR_FORMAT, "data after the end");
  expect_json_error ("{\"a\":{}} /* c */", NULL, 0, SV_ERROR_FORMAT, "not valid JSON");
  expect_json_error ("{\"a\n\":{}}", NULL, 0, SV_ERROR_FORMAT, "control character");

  /* dtype */
  expect_json_error ("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4, SV_ERROR_FORMAT,
                     "dtype");
  expect_json_error ("{\"t\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4,
                     SV_ERROR_FORMAT, "dtype");
  expect_json_error ("{\"t\":{\"dtype\":null,\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4,
                     SV_ERROR_FORMAT, "dtype");
  expect_json_error ("{\"half\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", zeros,
                     4, SV_ERROR_UNSUPPORTED, "F16");
  expect_json_error ("{\"half\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", zeros,
                     4, SV_ERROR_UNSUPPORTED, "\"half\"");
  expect_json_error ("{\"ok\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                     "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}",
                     zeros, 8, SV_ERROR_UNSUPPORTED, "BF16");
  expect_json_error ("{\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8,
                     SV_ERROR_UNSUPPORTED, "F64");
  expect_json_error ("{\"l\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", zeros, 8,
                     SV_ERROR_UNSUPPORTED, "I64");
  expect_json_error ("{\"x\":{\"dtype\":\"Q4_K\",\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4,
                     SV_ERROR_UNSUPPORTED, "Q4_K");

  /* shape */
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", zeros, 4,
                     SV_ERROR_FORMAT, "shape");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,12]}}", zeros, 12,
                     SV_ERROR_FORMAT, "shape");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", zeros, 4,
                     SV_ERROR_FORMAT, "shape");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[2,-2],\"data_offsets\":[0,16]}}", zeros,
                     16, SV_ERROR_FORMAT, "shape");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", zeros, 4,
                     SV_ERROR_FORMAT, "shape");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", zeros,
                     4, SV_ERROR_FORMAT, "shape");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[[1]],\"data_offsets\":[0,4]}}", zeros, 4,
                     SV_ERROR_FORMAT, "shape");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,4]}}", zeros,
                     4, SV_ERROR_FORMAT, "shape");
  expect_json_error (
      "{\"t\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,4]}}",
      zeros, 4, SV_ERROR_FORMAT, NULL);
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                     "\"data_offsets\":[0,0]}}",
                     NULL, 0, SV_ERROR_FORMAT, NULL);
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807,2],"
                     "\"data_offsets\":[0,0]}}",
                     NULL, 0, SV_ERROR_FORMAT, NULL);
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[65536,65536],"
                     "\"data_offsets\":[0,0]}}",
                     NULL, 0, SV_ERROR_FORMAT, NULL);
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
                     zeros, 4, SV_ERROR_FORMAT, "rank");

  /* data_offsets */
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", zeros, 4, SV_ERROR_FORMAT,
                     "data_offsets");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", zeros, 4,
                     SV_ERROR_FORMAT, "data_offsets");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", zeros, 8,
                     SV_ERROR_FORMAT, "data_offsets");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", zeros, 4,
                     SV_ERROR_FORMAT, "data_offsets");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\"4\"]}}", zeros,
                     4, SV_ERROR_FORMAT, "data_offsets");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", zeros, 8,
                     SV_ERROR_FORMAT, "data_offsets");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 4,
                     SV_ERROR_FORMAT, "outside");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[60,64]}}", zeros,
                     32, SV_ERROR_FORMAT, "outside");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],"
                     "\"data_offsets\":[18446744073709551612,18446744073709551616]}}",
                     zeros, 4, SV_ERROR_FORMAT, NULL);
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", zeros,
                     24, SV_ERROR_FORMAT, "[2, 3]");
  expect_json_error ("{\"t\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,8]}}", zeros, 8,
                     SV_ERROR_FORMAT, "bytes");
  expect_json_error ("{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,4]}}", zeros, 8,
                     SV_ERROR_FORMAT, "bytes");

  /* overlaps (an empty tensor inside another owns no bytes and is fine) */
  expect_json_error ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                     zeros, 12, SV_ERROR_FORMAT, "overlap");
  expect_json_error ("{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                     "\"a\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                     zeros, 16, SV_ERROR_FORMAT, "overlap");
  expect_json_error ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                     zeros, 4, SV_ERROR_FORMAT, "overlap");
  expect_json_error ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                     "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                     zeros, 16, SV_ERROR_FORMAT, "overlap");

  /* __metadata__ */
  expect_json_error ("{\"__metadata__\":[\"a\"]}", NULL, 0, SV_ERROR_FORMAT, "__metadata__");
  expect_json_error ("{\"__metadata__\":{\"a\":1}}", NULL, 0, SV_ERROR_FORMAT, "metadata");
  expect_json_error ("{\"__metadata__\":{\"a\":{}}}", NULL, 0, SV_ERROR_FORMAT, "metadata");

  /* escapes as Python's json.dumps writes them (ensure_ascii): surrogate pairs */
  {
    GError *error = NULL;
    path = write_st ("escapes.safetensors",
                     "{\"\\ud83d\\ude00 \\u00e9\\\"\\\\\\/\\b\\f\\n\\r\\t\":"
                     "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                     -1, zeros, 4);
    SvSafetensors *st = sv_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (sv_safetensors_entry (st, 0)->name, ==,
                     "\xf0\x9f\x98\x80 \xc3\xa9\"\\/\b\f\n\r\t");
    sv_safetensors_close (st);
    g_free (path);
  }

  /* these are fine: empty tensor inside another one, gaps, trailing spaces */
  {
    GError *error = NULL;
    path = write_st ("ok.safetensors",
                     "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                     "\"e\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[4,4]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[20,24]}}   ",
                     -1, zeros, 24);
    SvSafetensors *st = sv_safetensors_open (path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (sv_safetensors_n_tensors (st), ==, 3);
    g_assert_cmpstr (sv_safetensors_entry (st, 0)->name, ==, "a");
    g_assert_cmpstr (sv_safetensors_entry (st, 1)->name, ==, "e");
    g_assert_cmpstr (sv_safetensors_entry (st, 2)->name, ==, "b");
    sv_safetensors_close (st);
    g_free (path);
  }
}

static void
test_load_mismatch (void)
{
  GError *error = NULL;
  float x[6] = { 0 };
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  g_assert_true (sv_safetensors_writer_add (w, "x", SV_F32, 2, (int64_t[]){ 2, 3 }, x, &error));
  g_assert_true (sv_safetensors_writer_add (w, "i", SV_I32, 1, (int64_t[]){ 6 }, x, &error));
  char *path = tmp_path ("mismatch.safetensors");
  g_assert_true (sv_safetensors_writer_write (w, path, &error));
  sv_safetensors_writer_free (w);
  SvSafetensors *st = sv_safetensors_open (path, &error);
  g_assert_no_error (error);

  SvTensor *t = SV_TEST_TENSOR (3, 2);
  t->name = "target.weight";
  g_assert_false (sv_safetensors_load_tensor (st, "x", t, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "[2, 3]"));
  g_assert_nonnull (strstr (error->message, "[3, 2]"));
  g_assert_nonnull (strstr (error->message, "target.weight"));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  sv_tensor_free (t);

  t = SV_TEST_TENSOR (6); /* same element count, other rank */
  g_assert_false (sv_safetensors_load_tensor (st, "x", t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  sv_tensor_free (t);

  t = SV_TEST_TENSOR (2, 3, 1);
  g_assert_false (sv_safetensors_load_tensor (st, "x", t, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  sv_tensor_free (t);

  t = SV_TEST_TENSOR (6); /* F32 target, I32 entry */
  g_assert_false (sv_safetensors_load_tensor (st, "i", t, &error));
  g_assert_nonnull (strstr (error->message, "I32"));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  sv_tensor_free (t);

  sv_safetensors_close (st);
  g_free (path);
}

static void
test_writer_errors (void)
{
  GError *error = NULL;
  float x[4] = { 0 };
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  g_assert_true (sv_safetensors_writer_add (w, "x", SV_F32, 1, (int64_t[]){ 4 }, x, &error));
  g_assert_false (sv_safetensors_writer_add (w, "x", SV_F32, 1, (int64_t[]){ 4 }, x, &error));
  g_assert_nonnull (strstr (error->message, "\"x\""));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_safetensors_writer_add (w, "x", SV_I32, 1, (int64_t[]){ 2 }, x, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (
      sv_safetensors_writer_add (w, "__metadata__", SV_F32, 1, (int64_t[]){ 4 }, x, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_safetensors_writer_add (w, "neg", SV_F32, 1, (int64_t[]){ -4 }, x, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (
      sv_safetensors_writer_add (w, "rank", SV_F32, 6, (int64_t[]){ 1, 1, 1, 1, 1, 1 }, x, &error));
  sv_test_expect_error (&error, SV_ERROR_SHAPE);
  g_assert_false (sv_safetensors_writer_add (w, "null", SV_F32, 1, (int64_t[]){ 4 }, NULL, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_safetensors_writer_add (w, "\xff", SV_F32, 1, (int64_t[]){ 4 }, x, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_false (sv_safetensors_writer_add (w, "dt", (SvDType) 7, 1, (int64_t[]){ 4 }, x, &error));
  sv_test_expect_error (&error, SV_ERROR_UNSUPPORTED);

  /* the failed adds left the writer usable */
  char *path = tmp_path ("writer-errors.safetensors");
  g_assert_true (sv_safetensors_writer_write (w, path, &error));
  g_assert_no_error (error);
  sv_safetensors_writer_free (w);
  SvSafetensors *st = sv_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sv_safetensors_n_tensors (st), ==, 1);
  sv_safetensors_close (st);
  g_free (path);
}

static SvSafetensorsWriter *
writer_with (float *buf, size_t n, float value)
{
  GError *error = NULL;
  for (size_t i = 0; i < n; i++)
    buf[i] = value + (float) i;
  SvSafetensorsWriter *w = sv_safetensors_writer_new ();
  g_assert_true (
      sv_safetensors_writer_add (w, "v", SV_F32, 1, (int64_t[]){ (int64_t) n }, buf, &error));
  g_assert_no_error (error);
  return w;
}

/* failed writes leave other files (and the target) untouched and no temp file */
static void
test_write_failures (void)
{
  GError *error = NULL;
  float buf[1024];
  char *keep = tmp_path ("keep.safetensors");
  SvSafetensorsWriter *w = writer_with (buf, 16, 1.0f);
  g_assert_true (sv_safetensors_writer_write (w, keep, &error));
  g_assert_no_error (error);
  sv_safetensors_writer_free (w);
  GBytes *before = read_bytes (keep);

  w = writer_with (buf, 16, 2.0f);
  char *nodir = g_build_filename (tmpdir, "no-such-dir", "x.safetensors", NULL);
  g_assert_false (sv_safetensors_writer_write (w, nodir, &error));
  g_assert_nonnull (strstr (error->message, nodir));
  sv_test_expect_error (&error, SV_ERROR_IO);
  g_assert_false (g_file_test (nodir, G_FILE_TEST_EXISTS));
  g_free (nodir);

  /* the target is a directory */
  char *dir = tmp_path ("a-directory.safetensors");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_false (sv_safetensors_writer_write (w, dir, &error));
  sv_test_expect_error (&error, SV_ERROR_IO);
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_free (dir);
  sv_safetensors_writer_free (w);
  g_assert_cmpuint (count_temp_files (), ==, 0);

  /* running out of space half-way (RLIMIT_FSIZE makes write() fail with EFBIG)
   * must leave the previous version of the target in place */
  struct rlimit old;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old), ==, 0);
  if (old.rlim_max == RLIM_INFINITY || old.rlim_max >= 1024) {
    void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
    struct rlimit lim = old;
    lim.rlim_cur = 1024;
    g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &lim), ==, 0);
    w = writer_with (buf, 1024, 3.0f); /* 4 KiB of data */
    gboolean ok = sv_safetensors_writer_write (w, keep, &error);
    g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old), ==, 0);
    signal (SIGXFSZ, old_handler);
    g_assert_false (ok);
    g_assert_nonnull (strstr (error->message, keep));
    sv_test_expect_error (&error, SV_ERROR_IO);
    sv_safetensors_writer_free (w);
    g_assert_cmpuint (count_temp_files (), ==, 0);
  }

  GBytes *after = read_bytes (keep);
  g_assert_true (g_bytes_equal (before, after));
  g_bytes_unref (before);
  g_bytes_unref (after);

  SvSafetensors *st = sv_safetensors_open (keep, &error);
  g_assert_no_error (error);
  const SvSafetensorsEntry *e = sv_safetensors_find (st, "v", &error);
  g_assert_cmpuint (e->numel, ==, 16);
  g_assert_cmpfloat (((const float *) e->data)[0], ==, 1.0f);
  sv_safetensors_close (st);
  g_free (keep);
}

/* writing over an existing file replaces it in one step */
static void
test_write_replace (void)
{
  GError *error = NULL;
  float buf1[8], buf2[32];
  char *path = tmp_path ("replace.safetensors");
  SvSafetensorsWriter *w = writer_with (buf1, 8, 10.0f);
  g_assert_true (sv_safetensors_writer_write (w, path, &error));
  sv_safetensors_writer_free (w);
  g_assert_cmpint (g_chmod (path, 0640), ==, 0);

  /* a reader of the old version keeps seeing it (new inode, old mapping intact) */
  SvSafetensors *old = sv_safetensors_open (path, &error);
  g_assert_no_error (error);

  w = writer_with (buf2, 32, 20.0f);
  g_assert_true (sv_safetensors_writer_write (w, path, &error));
  g_assert_no_error (error);
  sv_safetensors_writer_free (w);
  g_assert_cmpuint (count_temp_files (), ==, 0);

  GStatBuf sb;
  g_assert_cmpint (g_stat (path, &sb), ==, 0);
  g_assert_cmpint (sb.st_mode & 0777, ==, 0640);

  const SvSafetensorsEntry *e = sv_safetensors_find (old, "v", &error);
  g_assert_cmpuint (e->numel, ==, 8);
  g_assert_cmpfloat (((const float *) e->data)[7], ==, 17.0f);
  sv_safetensors_close (old);

  SvSafetensors *st = sv_safetensors_open (path, &error);
  g_assert_no_error (error);
  e = sv_safetensors_find (st, "v", &error);
  g_assert_cmpuint (e->numel, ==, 32);
  g_assert_cmpmem (e->data, e->nbytes, buf2, sizeof buf2);
  sv_safetensors_close (st);

  /* a relative path (directory ".") works too */
  char *cwd = g_get_current_dir ();
  g_assert_cmpint (g_chdir (tmpdir), ==, 0);
  w = writer_with (buf1, 8, 0.0f);
  g_assert_true (sv_safetensors_writer_write (w, "relative.safetensors", &error));
  g_assert_no_error (error);
  sv_safetensors_writer_free (w);
  st = sv_safetensors_open ("relative.safetensors", &error);
  g_assert_no_error (error);
  sv_safetensors_close (st);
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  g_free (cwd);
  g_free (path);
}

/* ------------------------------------------------------------------------ */
/* mutation fuzzing: open must either fail cleanly or give consistent entries */

static void
check_consistent (SvSafetensors *st)
{
  GError *error = NULL;
  guint n = sv_safetensors_n_tensors (st);
  const char *prev_end = NULL;
  for (guint i = 0; i < n; i++) {
    const SvSafetensorsEntry *e = sv_safetensors_entry (st, i);
    g_assert_nonnull (e->name);
    g_assert_true (e->dtype == SV_F32 || e->dtype == SV_I32);
    g_assert_cmpint (e->ndim, >=, 0);
    g_assert_cmpint (e->ndim, <=, SV_MAX_DIMS);
    size_t numel = 1;
    for (int d = 0; d < e->ndim; d++) {
      g_assert_cmpint (e->shape[d], >=, 0);
      numel *= (size_t) e->shape[d];
    }
    g_assert_cmpuint (e->numel, ==, numel);
    g_assert_cmpuint (e->nbytes, ==, numel * 4);
    g_assert_cmpuint ((guintptr) e->data % 4, ==, 0);
    g_assert_true (sv_safetensors_find (st, e->name, &error) == e);
    g_assert_no_error (error);
    if (e->nbytes) {
      if (prev_end)
        g_assert_true ((const char *) e->data >= prev_end);
      prev_end = (const char *) e->data + e->nbytes;
    }
    /* touch every byte (ASan / SIGSEGV if out of bounds) */
    guint32 acc = 0;
    const guint8 *p = e->data;
    for (size_t k = 0; k < e->nbytes; k++)
      acc += p[k];
    (void) acc;
    if (e->numel <= 4096) {
      SvTensor *t = sv_test_tensor (e->dtype, e->ndim, e->shape);
      g_assert_true (sv_safetensors_load_tensor (st, e->name, t, &error));
      g_assert_no_error (error);
      g_assert_true (e->nbytes == 0 || memcmp (t->data, e->data, e->nbytes) == 0);
      sv_tensor_free (t);
    }
  }
}

static GBytes *
fuzz_base (gboolean aligned)
{
  GError *error = NULL;
  static float a[12], b[3];
  static int32_t ids[5];
  for (int i = 0; i < 12; i++)
    a[i] = (float) i;
  for (int i = 0; i < 5; i++)
    ids[i] = i * 7;
  if (aligned) {
    SvSafetensorsWriter *w = sv_safetensors_writer_new ();
    sv_safetensors_writer_set_metadata (w, "format", "svilm");
    g_assert_true (
        sv_safetensors_writer_add (w, "a", SV_F32, 3, (int64_t[]){ 2, 3, 2 }, a, &error));
    g_assert_true (sv_safetensors_writer_add (w, "ids", SV_I32, 1, (int64_t[]){ 5 }, ids, &error));
    g_assert_true (
        sv_safetensors_writer_add (w, "e", SV_F32, 2, (int64_t[]){ 0, 4 }, NULL, &error));
    g_assert_true (sv_safetensors_writer_add (w, "s", SV_F32, 0, NULL, b, &error));
    char *path = tmp_path ("fuzz-base.safetensors");
    g_assert_true (sv_safetensors_writer_write (w, path, &error));
    sv_safetensors_writer_free (w);
    GBytes *bytes = read_bytes (path);
    g_free (path);
    return bytes;
  }
  /* hand-made, header length 93 (odd): exercises the aligned copy */
  const char *json = "{\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[20,32]},"
                     "\"x\":{\"dtype\":\"I32\",\"shape\":[5],\"data_offsets\":[0,20]}}";
  GByteArray *arr = g_byte_array_new ();
  guint64 le = GUINT64_TO_LE (strlen (json));
  g_byte_array_append (arr, (const guint8 *) &le, 8);
  g_byte_array_append (arr, (const guint8 *) json, (guint) strlen (json));
  g_byte_array_append (arr, (const guint8 *) ids, 20);
  g_byte_array_append (arr, (const guint8 *) b, 12);
  return g_byte_array_free_to_bytes (arr);
}

static void
test_fuzz (void)
{
  static const char interesting[] = "{}[]\",:-0123456789 eE.\\\0\xff";
  GBytes *bases[2] = { fuzz_base (TRUE), fuzz_base (FALSE) };
  GRand *rand = g_rand_new_with_seed (20240611);
  char *path = tmp_path ("fuzz.safetensors");
  guint n_ok = 0, n_err = 0;
  int iterations = g_test_slow () ? 20000 : 2000;

  for (int it = 0; it < iterations; it++) {
    gsize base_len;
    const guint8 *base = g_bytes_get_data (bases[it & 1], &base_len);
    guint64 hlen;
    memcpy (&hlen, base, 8);
    hlen = GUINT64_FROM_LE (hlen);
    GByteArray *m = g_byte_array_sized_new ((guint) base_len + 64);
    g_byte_array_append (m, base, (guint) base_len);

    int n_mut = g_rand_int_range (rand, 1, 5);
    for (int k = 0; k < n_mut; k++) {
      int kind = g_rand_int_range (rand, 0, 10);
      if (m->len == 0)
        break;
      guint pos;
      /* most mutations go into the length and header, where the parsing happens */
      if (g_rand_int_range (rand, 0, 4) != 0)
        pos = (guint) g_rand_int_range (rand, 0, (gint32) MIN ((guint64) m->len, 8 + hlen));
      else
        pos = (guint) g_rand_int_range (rand, 0, (gint32) m->len);
      switch (kind) {
      case 0:
      case 1:
        m->data[pos] ^= (guint8) (1u << g_rand_int_range (rand, 0, 8));
        break;
      case 2:
      case 3:
        m->data[pos] = (guint8) interesting[g_rand_int_range (rand, 0, sizeof interesting - 1)];
        break;
      case 4:
        m->data[pos] = (guint8) g_rand_int_range (rand, 0, 256);
        break;
      case 5: /* truncate */
        g_byte_array_set_size (m, pos);
        break;
      case 6: { /* append junk */
        int extra = g_rand_int_range (rand, 1, 40);
        for (int j = 0; j < extra; j++) {
          guint8 c = (guint8) g_rand_int_range (rand, 0, 256);
          g_byte_array_append (m, &c, 1);
        }
        break;
      }
      case 7: /* delete a byte or insert an interesting one */
        if (g_rand_boolean (rand)) {
          g_byte_array_remove_index (m, pos);
        } else {
          guint8 c = (guint8) interesting[g_rand_int_range (rand, 0, sizeof interesting - 1)];
          g_byte_array_set_size (m, m->len + 1);
          memmove (m->data + pos + 1, m->data + pos, m->len - 1 - pos);
          m->data[pos] = c;
        }
        break;
      case 8: /* small change of the header length */
        if (m->len >= 8) {
          guint64 h;
          memcpy (&h, m->data, 8);
          h = GUINT64_TO_LE (GUINT64_FROM_LE (h) + (guint64) g_rand_int_range (rand, -8, 9));
          memcpy (m->data, &h, 8);
        }
        break;
      default: /* digit change (shapes, offsets) */
        for (guint j = pos; j < m->len && j < 8 + hlen; j++)
          if (m->data[j] >= '0' && m->data[j] <= '9') {
            m->data[j] = (guint8) ('0' + g_rand_int_range (rand, 0, 10));
            break;
          }
        break;
      }
    }

    GError *error = NULL;
    /* plain stdio into a fresh inode: no fsync per iteration, and no ext4
     * flush-on-close after truncation (g_file_set_contents_full with
     * G_FILE_SET_CONTENTS_NONE does not truncate in GLib 2.74) */
    g_unlink (path);
    FILE *f = fopen (path, "wb");
    g_assert_nonnull (f);
    g_assert_cmpuint (fwrite (m->data, 1, m->len, f), ==, m->len);
    g_assert_cmpint (fclose (f), ==, 0);
    SvSafetensors *st = sv_safetensors_open (path, &error);
    if (st) {
      g_assert_no_error (error);
      check_consistent (st);
      sv_safetensors_close (st);
      n_ok++;
    } else {
      g_assert_nonnull (error);
      g_assert_true (error->domain == SV_ERROR);
      g_assert_true (error->code == SV_ERROR_FORMAT || error->code == SV_ERROR_UNSUPPORTED);
      g_assert_true (error->message && error->message[0]);
      g_clear_error (&error);
      n_err++;
    }
    g_byte_array_unref (m);
  }
  g_test_message ("fuzz: %u opened, %u rejected", n_ok, n_err);
  g_assert_cmpuint (n_ok, >, 0);
  g_assert_cmpuint (n_err, >, 0);
  g_rand_free (rand);
  g_bytes_unref (bases[0]);
  g_bytes_unref (bases[1]);
  g_free (path);
}

/* ------------------------------------------------------------------------ */

static void
remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  const char *name;
  while ((name = g_dir_read_name (d))) {
    char *p = g_build_filename (dir, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
      remove_tree (p);
    else
      g_unlink (p);
    g_free (p);
  }
  g_dir_close (d);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  GError *error = NULL;
  tmpdir = g_dir_make_tmp ("svilm-safetensors-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/safetensors/roundtrip", test_roundtrip);
  g_test_add_func ("/safetensors/metadata", test_metadata);
  g_test_add_func ("/safetensors/python-layout", test_python_layout);
  g_test_add_func ("/safetensors/unaligned", test_unaligned);
  g_test_add_func ("/safetensors/bad-files", test_bad_files);
  g_test_add_func ("/safetensors/load-mismatch", test_load_mismatch);
  g_test_add_func ("/safetensors/writer-errors", test_writer_errors);
  g_test_add_func ("/safetensors/write-failures", test_write_failures);
  g_test_add_func ("/safetensors/write-replace", test_write_replace);
  g_test_add_func ("/safetensors/fuzz", test_fuzz);

  int ret = g_test_run ();
  remove_tree (tmpdir);
  g_free (tmpdir);
  return ret;
}
