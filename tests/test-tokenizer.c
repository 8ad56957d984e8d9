/* BPE caption tokenizer: training, encoding, decoding, JSON round trips and
 * hostile input. */
#include "sv-test.h"
#include "sv-tokenizer.h"

#include <json-glib/json-glib.h>
#include <string.h>

static const char *const corpus[] = {
  "a red ball rolls to the left past a small blue car",
  "a small blue car drives to the right",
  "the red ball bounces over the green box",
  "a dog runs after the red ball",
  "the dog jumps over a small fence",
  "a man throws a ball to the dog",
  "two people walk along the beach at sunset",
  "a woman rides a bicycle down the street",
  "the cat sleeps on a red sofa",
  "a cat chases a small mouse across the floor",
  "the yellow cube slides to the left",
  "a green sphere rolls behind the blue cube",
  "a purple cylinder rotates slowly",
  "the small red cube collides with the large blue sphere",
  "a large metal cylinder moves to the right, then stops",
  "a boy kicks a football into the goal",
  "children play football in the park",
  "a girl feeds the ducks near the pond",
  "the ducks swim across the pond",
  "a chef chops onions in the kitchen",
  "a man cooks pasta in a large pot",
  "a woman pours water into a glass",
  "the glass falls off the table and breaks",
  "a red car overtakes a blue truck on the highway",
  "the truck turns left at the crossing",
  "a bird lands on the branch of a tree",
  "the bird flies away from the tree",
  "a horse gallops across the field",
  "two dogs play with a rope in the garden",
  "a man opens the door and walks inside",
  "the door closes slowly behind the woman",
  "a person writes on a whiteboard",
  "a student reads a book in the library",
  "the book falls from the shelf",
  "a small boat sails on the lake",
  "the waves crash against the rocks",
  "a dog, a cat and a bird sit together",
  "a blue ball rolls to the right, past the red cube",
  "the green cube is left of the yellow sphere",
  "a man in a red shirt plays the guitar",
  "a baby laughs at the dog",
  "the sun sets behind the mountains",
};
#define N_CORPUS G_N_ELEMENTS (corpus)

static SvTokenizer *
train_corpus (guint vocab_size)
{
  GError *error = NULL;
  SvTokenizer *tok = sv_tokenizer_train (corpus, N_CORPUS, vocab_size, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tok);
  return tok;
}

static int
encode (const SvTokenizer *tok, const char *text, int32_t *ids, int max_len)
{
  float mask[1024];
  g_assert_cmpint (max_len, <=, 1024);
  int n = sv_tokenizer_encode (tok, text, ids, mask, max_len);
  g_assert_cmpint (n, >=, 2);
  g_assert_cmpint (n, <=, max_len);
  g_assert_cmpint (ids[0], ==, SV_TOKEN_CLS);
  g_assert_cmpint (ids[n - 1], ==, SV_TOKEN_SEP);
  for (int i = 0; i < max_len; i++) {
    g_assert_cmpfloat (mask[i], ==, i < n ? 1.0f : 0.0f);
    if (i >= n)
      g_assert_cmpint (ids[i], ==, SV_TOKEN_PAD);
    g_assert_cmpint (ids[i], >=, 0);
    g_assert_cmpint (ids[i], <, (int) sv_tokenizer_vocab_size (tok));
    if (i > 0 && i < n - 1) {
      g_assert_cmpint (ids[i], !=, SV_TOKEN_CLS);
      g_assert_cmpint (ids[i], !=, SV_TOKEN_SEP);
    }
  }
  return n;
}

static int
count_unk (const int32_t *ids, int n)
{
  int k = 0;
  for (int i = 0; i < n; i++)
    k += ids[i] == SV_TOKEN_UNK;
  return k;
}

static void
assert_same_encoding (const SvTokenizer *a, const SvTokenizer *b, const char *text)
{
  int32_t x[SV_TOKENIZER_MAX_LEN], y[SV_TOKENIZER_MAX_LEN];
  int nx = encode (a, text, x, SV_TOKENIZER_MAX_LEN);
  int ny = encode (b, text, y, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (nx, ==, ny);
  g_assert_cmpmem (x, sizeof x, y, sizeof y);
}

static void
test_roundtrip_words (void)
{
  SvTokenizer *tok = train_corpus (300);
  g_assert_cmpuint (sv_tokenizer_vocab_size (tok), <=, 300);
  g_assert_cmpuint (sv_tokenizer_vocab_size (tok), >, 100);
  for (guint i = 0; i < N_CORPUS; i++) {
    int32_t ids[64];
    int n = encode (tok, corpus[i], ids, 64);
    g_assert_cmpint (count_unk (ids, n), ==, 0);
    char *text = sv_tokenizer_decode (tok, ids, 64);
    char *want = g_strdup (corpus[i]);
    /* punctuation is a word of its own */
    char *comma = strchr (want, ',');
    if (comma) {
      char *tmp = g_strdup_printf ("%.*s ,%s", (int) (comma - want), want, comma + 1);
      g_free (want);
      want = tmp;
    }
    g_assert_cmpstr (text, ==, want);
    g_free (want);
    g_free (text);
  }
  /* frequent words become single tokens */
  int32_t ids[8];
  int n = encode (tok, "the", ids, 8);
  g_assert_cmpint (n, ==, 3);
  /* an unseen word made of seen letters: no [UNK], decodes back */
  n = encode (tok, "bluered carball", ids, 8);
  g_assert_cmpint (count_unk (ids, n), ==, 0);
  char *text = sv_tokenizer_decode (tok, ids, n);
  g_assert_cmpstr (text, ==, "bluered carball");
  g_free (text);
  sv_tokenizer_free (tok);
}

static void
test_layout (void)
{
  SvTokenizer *tok = train_corpus (200);
  int32_t ids[SV_TOKENIZER_MAX_LEN];
  float mask[SV_TOKENIZER_MAX_LEN];
  int n = sv_tokenizer_encode (tok, "a red ball", ids, mask, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (n, >=, 5);
  g_assert_cmpint (ids[0], ==, SV_TOKEN_CLS);
  g_assert_cmpint (ids[n - 1], ==, SV_TOKEN_SEP);
  for (int i = 0; i < SV_TOKENIZER_MAX_LEN; i++) {
    g_assert_cmpfloat (mask[i], ==, i < n ? 1.0f : 0.0f);
    if (i >= n)
      g_assert_cmpint (ids[i], ==, SV_TOKEN_PAD);
  }

  /* empty and blank captions */
  const char *empty[] = { "", "   \t\n  ", "\x01\x02" };
  for (guint k = 0; k < G_N_ELEMENTS (empty); k++) {
    n = sv_tokenizer_encode (tok, empty[k], ids, mask, SV_TOKENIZER_MAX_LEN);
    g_assert_cmpint (n, ==, 2);
    g_assert_cmpint (ids[0], ==, SV_TOKEN_CLS);
    g_assert_cmpint (ids[1], ==, SV_TOKEN_SEP);
    g_assert_cmpint (ids[2], ==, SV_TOKEN_PAD);
    g_assert_cmpfloat (mask[1], ==, 1.0f);
    g_assert_cmpfloat (mask[2], ==, 0.0f);
  }

  /* max_len 2: [CLS][SEP] only */
  n = sv_tokenizer_encode (tok, "a red ball", ids, mask, 2);
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpint (ids[0], ==, SV_TOKEN_CLS);
  g_assert_cmpint (ids[1], ==, SV_TOKEN_SEP);

  /* max_len < 2 is a programmer error */
  if (g_test_undefined ()) {
    g_test_expect_message ("svilm-core", G_LOG_LEVEL_CRITICAL, "*max_len >= 2*");
    n = sv_tokenizer_encode (tok, "a", ids, mask, 1);
    g_test_assert_expected_messages ();
    g_assert_cmpint (n, ==, 0);
  }
  sv_tokenizer_free (tok);
}

static void
test_truncation (void)
{
  SvTokenizer *tok = train_corpus (200);
  int32_t full[128], ids[8];
  const char *text = corpus[0];
  int nf = encode (tok, text, full, 128);
  g_assert_cmpint (nf, >, 8);
  int n = encode (tok, text, ids, 8);
  g_assert_cmpint (n, ==, 8);
  g_assert_cmpint (ids[7], ==, SV_TOKEN_SEP);
  /* the kept pieces are the first ones of the full encoding */
  g_assert_cmpmem (ids, 7 * sizeof (int32_t), full, 7 * sizeof (int32_t));
  sv_tokenizer_free (tok);
}

static void
test_vocab_cap (void)
{
  const guint caps[] = { 5, 12, 30, 64, 100, 150 };
  for (guint k = 0; k < G_N_ELEMENTS (caps); k++) {
    SvTokenizer *tok = train_corpus (caps[k]);
    g_assert_cmpuint (sv_tokenizer_vocab_size (tok), ==, caps[k]);
    /* still encodes everything, with [UNK] for characters left out */
    for (guint i = 0; i < N_CORPUS; i++) {
      int32_t ids[SV_TOKENIZER_MAX_LEN];
      encode (tok, corpus[i], ids, SV_TOKENIZER_MAX_LEN);
    }
    char *json = sv_tokenizer_to_json (tok);
    GError *error = NULL;
    SvTokenizer *back = sv_tokenizer_from_json (json, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (sv_tokenizer_vocab_size (back), ==, caps[k]);
    assert_same_encoding (tok, back, corpus[3]);
    sv_tokenizer_free (back);
    g_free (json);
    sv_tokenizer_free (tok);
  }
  /* a huge cap stops once no pair occurs twice */
  SvTokenizer *tok = train_corpus (100000);
  g_assert_cmpuint (sv_tokenizer_vocab_size (tok), <, 1000);
  g_test_message ("vocab without cap: %u", sv_tokenizer_vocab_size (tok));
  sv_tokenizer_free (tok);

  GError *error = NULL;
  g_assert_null (sv_tokenizer_train (corpus, N_CORPUS, 4, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  const char *blank[] = { "", "  " };
  g_assert_null (sv_tokenizer_train (blank, 2, 100, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
  g_assert_null (sv_tokenizer_train (NULL, 0, 100, &error));
  sv_test_expect_error (&error, SV_ERROR_ARGUMENT);
}

static void
test_deterministic (void)
{
  SvTokenizer *a = train_corpus (150), *b = train_corpus (150);
  const char *reversed[N_CORPUS];
  for (guint i = 0; i < N_CORPUS; i++)
    reversed[i] = corpus[N_CORPUS - 1 - i];
  GError *error = NULL;
  SvTokenizer *c = sv_tokenizer_train (reversed, N_CORPUS, 150, &error);
  g_assert_no_error (error);
  char *ja = sv_tokenizer_to_json (a), *jb = sv_tokenizer_to_json (b),
       *jc = sv_tokenizer_to_json (c);
  g_assert_cmpstr (ja, ==, jb);
  g_assert_cmpstr (ja, ==, jc);
  g_free (ja);
  g_free (jb);
  g_free (jc);
  sv_tokenizer_free (a);
  sv_tokenizer_free (b);
  sv_tokenizer_free (c);
}

/* The classic example of Sennrich et al.: the first merges are known. */
static void
test_merge_order (void)
{
  const char *texts[] = { "low low low low low lower lower", "newest newest newest",
                          "newest newest newest widest widest widest" };
  GError *error = NULL;
  SvTokenizer *tok = sv_tokenizer_train (texts, 3, 4 + 11 + 4, &error);
  g_assert_no_error (error);
  char *json = sv_tokenizer_to_json (tok);
  g_assert_cmpstr (json, ==,
                   "{\"type\":\"bpe\",\"version\":1,\"lowercase\":true,\"vocab\":[\"[PAD]\","
                   "\"[UNK]\",\"[CLS]\",\"[SEP]\",\"d\",\"e\",\"i\",\"l\",\"n\",\"o\",\"r</w>\","
                   "\"s\",\"t</w>\",\"w\",\"w</w>\",\"es\",\"est</w>\",\"lo\",\"ew\"],"
                   "\"merges\":[[\"e\",\"s\"],[\"es\",\"t</w>\"],[\"l\",\"o\"],[\"e\",\"w\"]]}");
  int32_t ids[8];
  int n = encode (tok, "newest", ids, 8);
  g_assert_cmpint (n, ==, 5); /* n ew est</w> */
  g_assert_cmpint (ids[1], ==, 8);
  g_assert_cmpint (ids[2], ==, 18);
  g_assert_cmpint (ids[3], ==, 16);
  g_free (json);
  sv_tokenizer_free (tok);
}

static void
test_json_roundtrip (void)
{
  SvTokenizer *tok = train_corpus (256);
  char *json = sv_tokenizer_to_json (tok);
  GError *error = NULL;
  SvTokenizer *back = sv_tokenizer_from_json (json, &error);
  g_assert_no_error (error);
  char *again = sv_tokenizer_to_json (back);
  g_assert_cmpstr (json, ==, again);
  g_assert_cmpuint (sv_tokenizer_vocab_size (tok), ==, sv_tokenizer_vocab_size (back));
  for (guint i = 0; i < N_CORPUS; i++)
    assert_same_encoding (tok, back, corpus[i]);
  const char *others[] = { "zebras quickly jump", "A DOG 🐶 and 猫", "", "x,y.z!?" };
  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    assert_same_encoding (tok, back, others[i]);

  /* the JSON is what the header promises */
  JsonParser *p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, json, -1, &error));
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "bpe");
  g_assert_cmpint (json_object_get_int_member (o, "version"), ==, 1);
  g_assert_true (json_object_get_boolean_member (o, "lowercase"));
  JsonArray *vocab = json_object_get_array_member (o, "vocab");
  g_assert_cmpuint (json_array_get_length (vocab), ==, sv_tokenizer_vocab_size (tok));
  g_assert_cmpstr (json_array_get_string_element (vocab, 0), ==, "[PAD]");
  g_assert_cmpstr (json_array_get_string_element (vocab, 3), ==, "[SEP]");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "merges")), >, 0);
  g_object_unref (p);

  g_free (again);
  g_free (json);
  sv_tokenizer_free (back);
  sv_tokenizer_free (tok);
}

static void
test_hostile_text (void)
{
  SvTokenizer *tok = train_corpus (200);
  int32_t ids[SV_TOKENIZER_MAX_LEN], ref[SV_TOKENIZER_MAX_LEN];
  int n;

  /* emoji: a word of its own, unknown */
  n = encode (tok, "a dog 🐶", ids, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (count_unk (ids, n), ==, 1);
  g_assert_cmpint (ids[n - 2], ==, SV_TOKEN_UNK);
  /* CJK: one [UNK] per unknown character */
  n = encode (tok, "猫猫", ids, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpint (count_unk (ids, n), ==, 2);
  /* invalid UTF-8 is repaired into U+FFFD, unknown */
  n = encode (tok, "\xff\xfe", ids, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpint (ids[1], ==, SV_TOKEN_UNK);
  g_assert_cmpint (ids[2], ==, SV_TOKEN_UNK);
  n = encode (tok, "red\xc3", ids, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (count_unk (ids, n), ==, 1);
  /* control characters separate words */
  int nr = encode (tok, "red ball", ref, SV_TOKENIZER_MAX_LEN);
  n = encode (tok,
              "red\x01\x1b"
              "ball\x7f",
              ids, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (n, ==, nr);
  g_assert_cmpmem (ids, sizeof ids, ref, sizeof ref);
  /* mixed known and unknown letters */
  n = encode (tok, "redé", ids, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (count_unk (ids, n), ==, 1);

  /* 100 KB of mixed text, and 100 KB without any space */
  GString *big = g_string_new (NULL);
  const char *bits[] = { "a", "b", " ", "🐶", "猫", ",", "\xff", "é", "red ", "\t" };
  guint32 seed = 12345;
  while (big->len < 100 * 1024) {
    seed = seed * 1664525u + 1013904223u;
    g_string_append (big, bits[(seed >> 16) % G_N_ELEMENTS (bits)]);
  }
  n = encode (tok, big->str, ids, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (n, ==, SV_TOKENIZER_MAX_LEN);
  g_string_truncate (big, 0);
  while (big->len < 100 * 1024)
    g_string_append (big, "redball");
  n = encode (tok, big->str, ids, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (n, ==, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (count_unk (ids, n), ==, 0);
  char *text = sv_tokenizer_decode (tok, ids, n);
  g_assert_true (g_str_has_prefix (text, "redballredball"));
  g_free (text);
  g_string_free (big, TRUE);

  /* decode skips specials and ids out of range */
  int32_t odd[] = { SV_TOKEN_CLS, -5, 1 << 30, SV_TOKEN_UNK, SV_TOKEN_PAD, SV_TOKEN_SEP };
  text = sv_tokenizer_decode (tok, odd, G_N_ELEMENTS (odd));
  g_assert_cmpstr (text, ==, "");
  g_free (text);
  sv_tokenizer_free (tok);
}

static void
test_case_and_punctuation (void)
{
  SvTokenizer *tok = train_corpus (200);
  int32_t a[SV_TOKENIZER_MAX_LEN], b[SV_TOKENIZER_MAX_LEN];
  encode (tok, "A RED Ball Rolls To The LEFT", a, SV_TOKENIZER_MAX_LEN);
  encode (tok, "a red ball rolls to the left", b, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  /* NFKC: full-width letters are letters */
  encode (tok, "ＲＥＤ", a, SV_TOKENIZER_MAX_LEN);
  encode (tok, "red", b, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);

  int n = encode (tok, "Dog,", a, SV_TOKENIZER_MAX_LEN);
  int m = encode (tok, "dog ,", b, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (n, ==, m);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  g_assert_cmpint (count_unk (a, n), ==, 0);
  char *text = sv_tokenizer_decode (tok, a, n);
  g_assert_cmpstr (text, ==, "dog ,");
  g_free (text);
  /* "," is a whole word: its token is the comma alone */
  n = encode (tok, ",", a, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (n, ==, 3);
  g_assert_cmpint (a[1], !=, SV_TOKEN_UNK);
  n = encode (tok, ",,,", b, SV_TOKENIZER_MAX_LEN);
  g_assert_cmpint (n, ==, 5);
  g_assert_cmpint (b[1], ==, a[1]);
  g_assert_cmpint (b[3], ==, a[1]);
  sv_tokenizer_free (tok);
}

static void
test_bad_json (void)
{
  const char *good =
      "{\"type\":\"bpe\",\"version\":1,\"lowercase\":true,"
      "\"vocab\":[\"[PAD]\",\"[UNK]\",\"[CLS]\",\"[SEP]\",\"a\",\"b</w>\",\"ab</w>\"],"
      "\"merges\":[[\"a\",\"b</w>\"]]}";
  GError *error = NULL;
  SvTokenizer *tok = sv_tokenizer_from_json (good, &error);
  g_assert_no_error (error);
  int32_t ids[4];
  g_assert_cmpint (encode (tok, "ab", ids, 4), ==, 3);
  g_assert_cmpint (ids[1], ==, 6);
  sv_tokenizer_free (tok);

#define HEAD "{\"type\":\"bpe\",\"version\":1,\"lowercase\":true,"
#define SPECIALS "\"[PAD]\",\"[UNK]\",\"[CLS]\",\"[SEP]\""
  const char *bad[] = {
    "",
    "not json",
    "{\"type\":\"bpe\",",
    "[]",
    "42",
    "null",
    "\"bpe\"",
    HEAD "\"merges\":[]}",            /* missing vocab */
    HEAD "\"vocab\":[" SPECIALS "]}", /* missing merges */
    "{\"version\":1,\"lowercase\":true,\"vocab\":[" SPECIALS "],\"merges\":[]}",
    "{\"type\":\"wordpiece\",\"version\":1,\"lowercase\":true,\"vocab\":[" SPECIALS
    "],\"merges\":[]}",
    "{\"type\":\"bpe\",\"version\":2,\"lowercase\":true,\"vocab\":[" SPECIALS "],\"merges\":[]}",
    "{\"type\":\"bpe\",\"version\":\"1\",\"lowercase\":true,\"vocab\":[" SPECIALS
    "],\"merges\":[]}",
    "{\"type\":\"bpe\",\"version\":1.0,\"lowercase\":true,\"vocab\":[" SPECIALS "],\"merges\":[]}",
    "{\"type\":\"bpe\",\"version\":1e999,\"lowercase\":true,\"vocab\":[" SPECIALS
    "],\"merges\":[]}",
    "{\"type\":\"bpe\",\"version\":99999999999999999999999999,\"lowercase\":true,\"vocab\":"
    "[" SPECIALS "],\"merges\":[]}",
    "{\"type\":\"bpe\",\"version\":4294967297,\"lowercase\":true,\"vocab\":[" SPECIALS
    "],\"merges\":[]}",
    "{\"type\":\"bpe\",\"version\":1,\"lowercase\":false,\"vocab\":[" SPECIALS "],\"merges\":[]}",
    "{\"type\":\"bpe\",\"version\":1,\"lowercase\":1,\"vocab\":[" SPECIALS "],\"merges\":[]}",
    "{\"type\":\"bpe\",\"version\":1,\"vocab\":[" SPECIALS "],\"merges\":[]}",
    HEAD "\"vocab\":\"[PAD]\",\"merges\":[]}",
    HEAD "\"vocab\":{},\"merges\":[]}",
    HEAD "\"vocab\":[" SPECIALS "],\"merges\":{}}",
    HEAD "\"vocab\":[\"[PAD]\",\"[UNK]\",\"[CLS]\"],\"merges\":[]}",           /* too short */
    HEAD "\"vocab\":[\"[UNK]\",\"[PAD]\",\"[CLS]\",\"[SEP]\"],\"merges\":[]}", /* order */
    HEAD "\"vocab\":[\"[pad]\",\"[UNK]\",\"[CLS]\",\"[SEP]\"],\"merges\":[]}",
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"a\"],\"merges\":[]}",     /* duplicate */
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"[CLS]\"],\"merges\":[]}", /* duplicate special */
    HEAD "\"vocab\":[" SPECIALS ",\"\"],\"merges\":[]}",
    HEAD "\"vocab\":[" SPECIALS ",1],\"merges\":[]}",
    HEAD "\"vocab\":[" SPECIALS ",null],\"merges\":[]}",
    HEAD "\"vocab\":[" SPECIALS ",[\"a\"]],\"merges\":[]}",
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"a\\u0000b\"],\"merges\":[]}",
    HEAD "\"vocab\":[" SPECIALS ",\"abc\"],\"merges\":[]}", /* neither char nor merge result */
    HEAD "\"vocab\":[" SPECIALS ",\"</w>\"],\"merges\":[]}",
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"b</w>\"],\"merges\":[[\"a\",\"c\"]]}",     /* unknown */
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"b</w>\"],\"merges\":[[\"a\",\"b</w>\"]]}", /* no result */
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"b</w>\",\"ab</w>\"],\"merges\":[[\"a\",\"b</w>\"],"
         "[\"a\",\"b</w>\"]]}", /* duplicate merge */
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"b</w>\",\"ab</w>\",\"b</w>a\"],\"merges\":[[\"a\","
         "\"b</w>\"],[\"b</w>\",\"a\"]]}", /* merge after end of word */
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"a[PAD]\"],\"merges\":[[\"a\",\"[PAD]\"]]}",
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"aa\",\"aaaa\"],\"merges\":[[\"aa\",\"aa\"],[\"a\","
         "\"a\"]]}", /* merge part made later */
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"b</w>\",\"ab</w>\"],\"merges\":[[\"a\"]]}",
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"b</w>\",\"ab</w>\"],\"merges\":[[\"a\",1]]}",
    HEAD "\"vocab\":[" SPECIALS ",\"a\",\"b</w>\",\"ab</w>\"],\"merges\":[\"ab</w>\"]}",
    HEAD "\"vocab\":[" SPECIALS
         ",\"a\",\"b</w>\",\"ab</w>\"],\"merges\":[[\"a\",\"b</w>\",\"c\"]]}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_test_message ("bad JSON %u: %s", i, bad[i]);
    tok = sv_tokenizer_from_json (bad[i], &error);
    g_assert_null (tok);
    sv_test_expect_error (&error, SV_ERROR_FORMAT);
  }

  /* deep nesting, and a good file cut short at every length */
  GString *deep = g_string_new (HEAD "\"vocab\":");
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  tok = sv_tokenizer_from_json (deep->str, &error);
  g_assert_null (tok);
  sv_test_expect_error (&error, SV_ERROR_FORMAT);
  g_string_free (deep, TRUE);
  gsize len = strlen (good);
  for (gsize cut = 0; cut < len; cut++) {
    char *part = g_strndup (good, cut);
    tok = sv_tokenizer_from_json (part, &error);
    g_assert_null (tok);
    g_assert_error (error, SV_ERROR, SV_ERROR_FORMAT);
    g_clear_error (&error);
    g_free (part);
  }
}

#define N_THREADS 4

typedef struct {
  const SvTokenizer *tok;
  const int32_t *want; /* N_CORPUS x SV_TOKENIZER_MAX_LEN */
  gboolean ok;
} ThreadCase;

static gpointer
encode_thread (gpointer user)
{
  ThreadCase *c = user;
  c->ok = TRUE;
  for (int rep = 0; rep < 200; rep++)
    for (guint i = 0; i < N_CORPUS; i++) {
      int32_t ids[SV_TOKENIZER_MAX_LEN];
      float mask[SV_TOKENIZER_MAX_LEN];
      sv_tokenizer_encode (c->tok, corpus[(i + rep) % N_CORPUS], ids, mask, SV_TOKENIZER_MAX_LEN);
      if (memcmp (ids, c->want + ((i + rep) % N_CORPUS) * SV_TOKENIZER_MAX_LEN, sizeof ids))
        c->ok = FALSE;
    }
  return NULL;
}

static void
test_threads (void)
{
  SvTokenizer *tok = train_corpus (200);
  int32_t *want = g_new (int32_t, N_CORPUS * SV_TOKENIZER_MAX_LEN);
  for (guint i = 0; i < N_CORPUS; i++)
    encode (tok, corpus[i], want + i * SV_TOKENIZER_MAX_LEN, SV_TOKENIZER_MAX_LEN);
  /* a fresh tokenizer, so that the threads fill its cache concurrently */
  char *json = sv_tokenizer_to_json (tok);
  SvTokenizer *fresh = sv_tokenizer_from_json (json, NULL);
  g_assert_nonnull (fresh);
  ThreadCase cases[N_THREADS];
  GThread *threads[N_THREADS];
  for (int t = 0; t < N_THREADS; t++) {
    cases[t] = (ThreadCase){ fresh, want, FALSE };
    threads[t] = g_thread_new ("encode", encode_thread, &cases[t]);
  }
  for (int t = 0; t < N_THREADS; t++) {
    g_thread_join (threads[t]);
    g_assert_true (cases[t].ok);
  }
  sv_tokenizer_free (fresh);
  g_free (json);
  g_free (want);
  sv_tokenizer_free (tok);
}

/* Synthetic captions from a small grammar, with rarer made-up words. */
static char **
synthetic_captions (guint n)
{
  const char *adj[] = { "red", "blue", "green", "small", "large", "shiny", "yellow", "wooden" };
  const char *noun[] = { "ball", "car", "cube", "dog", "cat", "man", "woman", "sphere", "box" };
  const char *verb[] = { "rolls", "moves", "slides", "runs", "jumps", "walks", "turns", "falls" };
  const char *dir[] = { "to the left", "to the right", "behind", "in front of", "over", "under" };
  char **out = g_new0 (char *, n + 1);
  GRand *rand = g_rand_new_with_seed (7);
  for (guint i = 0; i < n; i++) {
    char rare[9];
    for (int k = 0; k < 8; k++)
      rare[k] = (char) ('a' + g_rand_int_range (rand, 0, 26));
    rare[g_rand_int_range (rand, 3, 9)] = '\0';
#define PICK(a) a[g_rand_int_range (rand, 0, G_N_ELEMENTS (a))]
    out[i] = g_strdup_printf ("A %s %s %s %s the %s %s, near a %s %s.", PICK (adj), PICK (noun),
                              PICK (verb), PICK (dir), PICK (adj), PICK (noun), rare, PICK (noun));
#undef PICK
  }
  g_rand_free (rand);
  return out;
}

static void
test_timing (void)
{
  const guint n = 20000;
  char **texts = synthetic_captions (n);
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  SvTokenizer *tok = sv_tokenizer_train ((const char *const *) texts, n, 4096, &error);
  gint64 t1 = g_get_monotonic_time ();
  g_assert_no_error (error);
  g_assert_cmpuint (sv_tokenizer_vocab_size (tok), <=, 4096);
  float mask[SV_TOKENIZER_MAX_LEN];
  int32_t ids[SV_TOKENIZER_MAX_LEN];
  for (guint i = 0; i < n; i++)
    sv_tokenizer_encode (tok, texts[i], ids, mask, SV_TOKENIZER_MAX_LEN);
  gint64 t2 = g_get_monotonic_time ();
  g_test_message ("trained on %u synthetic captions in %.3f s (vocab %u); encoded them in %.3f s",
                  n, (t1 - t0) / 1e6, sv_tokenizer_vocab_size (tok), (t2 - t1) / 1e6);
  sv_tokenizer_free (tok);
  g_strfreev (texts);
}

int
main (int argc, char **argv)
{
  sv_test_init (&argc, &argv);
  g_test_add_func ("/tokenizer/roundtrip-words", test_roundtrip_words);
  g_test_add_func ("/tokenizer/layout", test_layout);
  g_test_add_func ("/tokenizer/truncation", test_truncation);
  g_test_add_func ("/tokenizer/vocab-cap", test_vocab_cap);
  g_test_add_func ("/tokenizer/deterministic", test_deterministic);
  g_test_add_func ("/tokenizer/merge-order", test_merge_order);
  g_test_add_func ("/tokenizer/json-roundtrip", test_json_roundtrip);
  g_test_add_func ("/tokenizer/hostile-text", test_hostile_text);
  g_test_add_func ("/tokenizer/case-punctuation", test_case_and_punctuation);
  g_test_add_func ("/tokenizer/bad-json", test_bad_json);
  g_test_add_func ("/tokenizer/threads", test_threads);
  g_test_add_func ("/tokenizer/timing", test_timing);
  return g_test_run ();
}
