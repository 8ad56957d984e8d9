/* svilm-core: noun phrases of captions with link-grammar, and the prompt templates.
 *
 * Pipeline of sv_noun_chunker_phrases():
 *  1. The caption is made valid UTF-8, brackets ()[]{} and control characters become
 *     spaces (link-grammar's constituent string uses parentheses and braces as markup,
 *     so they must not occur in words), and only the first SV_NOUNS_MAX_WORDS
 *     whitespace-separated words are kept: parse time grows quickly with sentence length
 *     and the phrases that matter for grounding are almost always near the start.
 *  2. It is parsed with null links disallowed; if no valid linkage is found it is
 *     parsed again allowing up to sentence_length() null links.  Each parse is limited
 *     to SV_NOUNS_PARSE_SECONDS; disjunct cost and linkage limit stay at link-grammar's
 *     defaults; spell guessing is off (deterministic, and it would "correct" names).
 *     Captions are often bare noun phrases ("a man riding a horse on a beach"), which
 *     link-grammar parses with null links and wrong tags ("[a] [man] riding.v"); so when
 *     the best linkage has null links, "there is " + caption is parsed too and used when
 *     it has fewer null links (its two extra words never enter a phrase).  All-capital
 *     captions are lower-cased first (every word would be a proper noun otherwise).
 *  3. Linkage 0 (the best one) gives the words -- their dictionary subscripts say which
 *     are nouns (".n", ".s", ".n-u", given names ".m" ...), and their byte offsets give the
 *     caption text -- and the constituent tree (SINGLE_LINE style), whose leaves are the
 *     same words in the same order.
 *  4. Like spaCy's noun chunks (which the paper used) a phrase ends at a head noun, the
 *     last noun of a run of nouns ("the kitchen counter"), and reaches back over
 *     determiners, adjectives, adverbs, participles and possessors ("a man's hat") but
 *     not over verbs, prepositions, conjunctions, punctuation, null-linked words, another
 *     noun phrase, or the start of the noun's smallest NP (its parent constituent when it
 *     is in none): "(NP (NP a red ball) (PP past (NP a small blue car)))" gives "a red
 *     ball" and "a small blue car", "(NP the branch of (NP a tree))" "the branch" and "a
 *     tree".  Leading participles are dropped ("playing soccer" -> "soccer"), and a
 *     phrase inside another one is dropped ("a man's" in "a man's hat").  When the tree
 *     does not match the words, the whole caption bounds every phrase.
 *  5. Phrases headed by pronouns ("someone", "it", "something") are dropped; phrases
 *     headed by a small list of non-object nouns (directions "the left", positions "the
 *     top", meta words "the video", quantities "a group"...) are kept but ranked after
 *     all object phrases.  Otherwise phrases keep caption order; duplicates are removed.
 *
 * Parse time: a caption of 10-20 words takes about 1-2 ms (one core).  The
 * SV_NOUNS_PARSE_SECONDS timer is only checked now and then: a 60-word word salad (no
 * full parse, many null links) took 1-3 s.  When the time runs out without a linkage
 * (a long caption, a slow or loaded machine) the first SV_NOUNS_RETRY_WORDS words are
 * parsed instead, in milliseconds, so that a long caption still gives the phrases of its
 * start; when that finds no linkage either, the caption gives no phrases.  No error is reported for
 * captions link-grammar cannot parse: they give an empty array like captions without nouns.
 *
 * Threads: the link-grammar ChangeLog calls the library thread-safe and dictionary
 * loading thread-safe, but the installed documentation does not promise that one
 * Dictionary may be shared by concurrent parses, and the Parse_Options are changed
 * between the two parse attempts; so all link-grammar calls of one chunker are
 * serialised by a mutex (a parse of a caption takes milliseconds).  Only the tree
 * walking runs outside it.
 *
 * Quirks: link-grammar prints its messages (even a "Debug:" line while loading the
 * dictionary, before any verbosity can be set) through its error handler, which is
 * thread-local; we install a handler that turns them into g_debug() for the duration of
 * each call and restore the previous one afterwards.  Loading the dictionary calls
 * setlocale(LC_CTYPE) to a UTF-8 locale (C.UTF-8 if the environment's one does not
 * exist) when the program's LC_CTYPE is not UTF-8; we leave that in place since its
 * tokeniser relies on it.
 */
#include "sv-nouns.h"
#include "sv-error.h"

#include <link-grammar/link-includes.h>
#include <stdlib.h>
#include <string.h>

#define SV_NOUNS_MAX_WORDS 60
#define SV_NOUNS_PARSE_SECONDS 1
#define SV_NOUNS_RETRY_WORDS 20

struct _SvNounChunker {
  GMutex lock; /* serialises every use of dict and opts */
  Dictionary dict;
  Parse_Options opts;
};

static const char *const prompt_templates[SV_N_PROMPT_TEMPLATES] = {
  "A footage of a {}.",       "A footage of the {}.",       "A footage of one {}.",
  "A video of a {}.",         "A video of the {}.",         "A video of one {}.",
  "A portrait of a {}.",      "A portrait of the {}.",      "A portrait of one {}.",
  "A video footage of a {}.", "A video footage of the {}.", "A video footage of one {}.",
};

/* ---- link-grammar messages ---- */

typedef struct {
  lg_error_handler handler;
  void *data;
} LgHandler;

static void
lg_message (lg_errinfo *ei, void *data)
{
  GString *errors = data;
  g_autofree char *text = g_strchomp (g_strdup (ei->text ? ei->text : ""));
  if (errors && ei->severity <= lg_Error)
    g_string_append_printf (errors, "%s%s", errors->len ? "; " : "", text);
  g_debug ("link-grammar %s: %s", ei->severity_label ? ei->severity_label : "message", text);
}

/* the handler is thread-local in link-grammar: install ours for the calling thread */
static LgHandler
lg_handler_push (GString *errors)
{
  LgHandler prev;
  prev.data = (void *) lg_error_set_handler_data (NULL);
  prev.handler = lg_error_set_handler (lg_message, errors);
  return prev;
}

static void
lg_handler_pop (LgHandler prev)
{
  lg_error_set_handler (prev.handler, prev.data);
}

/* ---- chunker ---- */

SvNounChunker *
sv_noun_chunker_new (GError **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (GString) errors = g_string_new (NULL);
  LgHandler prev = lg_handler_push (errors);
  Dictionary dict = dictionary_create_lang ("en");
  lg_handler_pop (prev);
  if (!dict) {
    char *dir = dictionary_get_data_dir ();
    g_set_error (error, SV_ERROR, SV_ERROR_IO,
                 "cannot load the link-grammar English dictionary (data dir %s)%s%s",
                 dir ? dir : "unknown", errors->len ? ": " : "", errors->str);
    free (dir);
    return NULL;
  }

  SvNounChunker *nc = g_new0 (SvNounChunker, 1);
  g_mutex_init (&nc->lock);
  nc->dict = dict;
  nc->opts = parse_options_create ();
  parse_options_set_verbosity (nc->opts, 0);
  parse_options_set_max_parse_time (nc->opts, SV_NOUNS_PARSE_SECONDS);
  parse_options_set_spell_guess (nc->opts, 0);
  parse_options_set_islands_ok (nc->opts, FALSE);
  return nc;
}

void
sv_noun_chunker_free (SvNounChunker *nc)
{
  if (!nc)
    return;
  parse_options_delete (nc->opts);
  dictionary_delete (nc->dict);
  g_mutex_clear (&nc->lock);
  g_free (nc);
}

/* ---- words ---- */

typedef enum {
  W_OTHER, /* kept inside phrases (adverbs, pronouns, unknown function words) */
  W_NOUN,
  W_NOUN_P, /* subscript ".p": plural noun ("fish.p") but also "past.p", "'s.p" */
  W_ADJ,
  W_DET,   /* determiners, numerals, possessive pronouns */
  W_POSS,  /* possessive "'s", "'" */
  W_MOD,   /* participles, gerunds: kept inside a phrase, not at its start */
  W_BREAK, /* verbs, prepositions, conjunctions, punctuation, null-linked: end a phrase */
} WordClass;

typedef struct {
  size_t start, end; /* bytes of the parsed caption */
  char *lower;       /* the caption's text of the word, lower-case */
  WordClass cls;
} Word;

/* list: " word1 word2 ... " */
static gboolean
in_list (const char *word, const char *list)
{
  if (!*word || strchr (word, ' '))
    return FALSE;
  g_autofree char *padded = g_strconcat (" ", word, " ", NULL);
  return strstr (list, padded) != NULL;
}

static const char determiners[] =
    " a an the this that these those some many several few each every another no all"
    " both his her its their my our your one two three four five six seven eight nine"
    " ten dozen ";

static const char function_words[] =
    " of in on at with to from by for into onto over under near behind past through"
    " across along around about against between among beside toward towards and or"
    " but nor then while as than is are was were be being been ";

static const char possessives[] = " 's ' \xe2\x80\x99s \xe2\x80\x99 ";

/* heads that never name an object */
static const char pronouns[] =
    " someone somebody something anyone anybody anything everyone everybody"
    " everything nobody nothing one ones it they them he she him her we us you i me"
    " this that these those itself themselves himself herself ";

/* heads that name places, directions or the recording rather than an object */
static const char non_objects[] =
    " left right top bottom front back side middle center centre distance direction"
    " way time moment end beginning start rest lot bit kind sort type part view"
    " background foreground scene shot clip video footage close-up closeup frame"
    " image picture screen group bunch couple pair number amount variety piece ";

static gboolean
is_subscript (const char *s)
{
  if (!*s)
    return FALSE;
  for (; *s; s++)
    if (!(g_ascii_islower (*s) || g_ascii_isdigit (*s) || *s == '-' || *s == '#'))
      return FALSE;
  return TRUE;
}

static gboolean
is_punct (const char *s)
{
  for (; *s; s = g_utf8_next_char (s))
    if (!g_unichar_ispunct (g_utf8_get_char (s)))
      return FALSE;
  return TRUE;
}

/* lw: link-grammar's word ("ball.n", "xyzzy[?].n", "Zorb[!<CAPITALIZED-WORDS>]",
 * "[word]" when null-linked); lower: the caption's text of the word */
static WordClass
classify (const char *lw, const char *lower)
{
  size_t len = strlen (lw);
  if (len > 2 && lw[0] == '[' && lw[len - 1] == ']')
    return W_BREAK;
  const char *sub = "";
  const char *mark = strchr (lw + 1, '[');
  if (mark) {
    const char *close = strchr (mark, ']');
    if (strstr (mark, "CAPITALIZED-WORDS"))
      return W_NOUN;
    if (strstr (mark, "NUMBERS"))
      return W_DET;
    if (close && close[1] == '.')
      sub = close + 2;
  } else {
    const char *dot = strrchr (lw, '.');
    if (dot && dot > lw && is_subscript (dot + 1))
      sub = dot + 1;
  }

  if (in_list (lower, possessives) && sub[0] != 'v') /* not "is" in "the dog's running" */
    return W_POSS;
  /* nouns, mass nouns, given names, locations, titles */
  if (in_list (sub, " n s m f b l t ") || g_str_has_prefix (sub, "n-"))
    return W_NOUN;
  if (strcmp (sub, "p") == 0)
    return W_NOUN_P;
  if (strcmp (sub, "a") == 0 || g_str_has_prefix (sub, "a-") || strcmp (sub, "ord") == 0)
    return W_ADJ;
  if (strcmp (sub, "g") == 0 || strcmp (sub, "v-d") == 0)
    return W_MOD;
  if (sub[0] == 'v' || sub[0] == 'w' || sub[0] == 'r' || sub[0] == 'j')
    return W_BREAK;
  if (in_list (lower, determiners))
    return W_DET;
  if (in_list (lower, function_words) || is_punct (lower))
    return W_BREAK;
  return W_OTHER;
}

/* ---- the constituent tree ---- */

typedef struct {
  gboolean is_np;
  int parent; /* node index, -1 at the root */
  int first;  /* its first leaf */
} Node;

/* "(S (NP a red.a ball.s) (VP rolls.v ...))": nodes in pre-order (so in caption order)
 * and each leaf's parent node.  FALSE if the string is not balanced. */
static gboolean
parse_tree (const char *s, GArray *nodes, GArray *leaf_parent)
{
  int cur = -1;
  const char *p = s;
  while (*p) {
    if (g_ascii_isspace (*p)) {
      p++;
    } else if (*p == '(') {
      const char *label = ++p;
      while (*p && !g_ascii_isspace (*p) && *p != '(' && *p != ')')
        p++;
      Node n = { .is_np = (p - label == 2 && strncmp (label, "NP", 2) == 0),
                 .parent = cur,
                 .first = (int) leaf_parent->len };
      g_array_append_val (nodes, n);
      cur = (int) nodes->len - 1;
    } else if (*p == ')') {
      if (cur < 0)
        return FALSE;
      cur = g_array_index (nodes, Node, cur).parent;
      p++;
    } else {
      while (*p && !g_ascii_isspace (*p) && *p != '(' && *p != ')')
        p++;
      g_array_append_val (leaf_parent, cur);
    }
  }
  return cur == -1;
}

/* ---- phrases ---- */

typedef struct {
  char *text;
  gboolean non_object;
} Phrase;

static void
phrase_clear (gpointer p)
{
  g_free (((Phrase *) p)->text);
}

/* The start of the phrase ending at head (see the top of the file); words before
 * `first` are not in its constituent.  noun[]: the words counted as nouns. */
static int
phrase_start (const Word *words, const gboolean *noun, int first, int head)
{
  int a = head;
  while (a > first) {
    const Word *w = &words[a - 1];
    if (w->cls == W_BREAK)
      break;
    /* a noun before the phrase belongs to it only in a run or as a possessor */
    if (noun[a - 1] && !noun[a] && words[a].cls != W_POSS)
      break;
    a--;
  }
  while (a < head && words[a].cls == W_MOD)
    a++;
  return a;
}

/* words[a..head] of the parsed text as a phrase, unless a pronoun, without a letter or digit,
 * or already there */
static void
add_phrase (GArray *out, const char *text, const Word *words, int a, int head)
{
  if (in_list (words[head].lower, pronouns))
    return;

  GString *s = g_string_new (NULL);
  gboolean space = FALSE;
  for (const char *p = text + words[a].start; p < text + words[head].end; p++) {
    if (g_ascii_isspace (*p)) {
      space = TRUE;
      continue;
    }
    if (space && s->len)
      g_string_append_c (s, ' ');
    space = FALSE;
    g_string_append_c (s, *p);
  }
  char *lower = g_utf8_strdown (s->str, -1);
  g_string_free (s, TRUE);
  /* a "phrase" of punctuation alone (':' from "one:::::ft") names nothing */
  gboolean named = FALSE;
  for (const char *p = lower; *p && !named; p = g_utf8_next_char (p))
    named = g_unichar_isalnum (g_utf8_get_char (p));
  if (!named) {
    g_free (lower);
    return;
  }

  for (guint i = 0; i < out->len; i++)
    if (strcmp (g_array_index (out, Phrase, i).text, lower) == 0) {
      g_free (lower);
      return;
    }
  Phrase ph = { lower, in_list (words[head].lower, non_objects) };
  g_array_append_val (out, ph);
}

/* noun[j] and first[j] (where the phrase of word j may start at the earliest) from the
 * constituent tree; FALSE when the tree does not match the words */
static gboolean
tree_bounds (const char *tree, const Word *words, int n_words, gboolean *noun, int *first)
{
  g_autoptr (GArray) nodes = g_array_new (FALSE, FALSE, sizeof (Node));
  g_autoptr (GArray) leaf_parent = g_array_new (FALSE, FALSE, sizeof (int));
  if (!parse_tree (tree, nodes, leaf_parent) || (int) leaf_parent->len != n_words) {
    g_debug ("constituent tree does not match the %d words: %s", n_words, tree);
    return FALSE;
  }
  const Node *node = (const Node *) (void *) nodes->data;
  for (int j = 0; j < n_words; j++) {
    int parent = g_array_index (leaf_parent, int, j);
    /* ".p" is a plural noun only directly in an NP ("past.p" heads a PP) */
    noun[j] =
        words[j].cls == W_NOUN || (words[j].cls == W_NOUN_P && parent >= 0 && node[parent].is_np);
    int np = parent;
    while (np >= 0 && !node[np].is_np)
      np = node[np].parent;
    first[j] = np >= 0 ? node[np].first : parent >= 0 ? node[parent].first : 0;
  }
  return TRUE;
}

static void
collect_phrases (GArray *out, const char *text, const Word *words, int n_words, const char *tree)
{
  if (n_words == 0)
    return;
  g_autofree gboolean *noun = g_new0 (gboolean, n_words + 1);
  g_autofree int *first = g_new0 (int, n_words);
  g_autofree int *start = g_new (int, n_words);
  if (!tree || !tree_bounds (tree, words, n_words, noun, first))
    for (int j = 0; j < n_words; j++) {
      noun[j] = words[j].cls == W_NOUN;
      first[j] = 0;
    }

  /* heads: the last noun of each run */
  for (int j = 0; j < n_words; j++)
    start[j] = noun[j] && !noun[j + 1] ? phrase_start (words, noun, first[j], j) : -1;
  for (int j = 0; j < n_words; j++) {
    if (start[j] < 0)
      continue;
    gboolean inside = FALSE;
    for (int h = j + 1; h < n_words && !inside; h++)
      inside = start[h] >= 0 && start[h] <= start[j];
    if (!inside)
      add_phrase (out, text, words, start[j], j);
  }
}

/* valid UTF-8 (invalid bytes dropped), no brackets or control characters, at most
 * SV_NOUNS_MAX_WORDS words, lower-case when it has no lower-case letter; NULL when
 * nothing is left */
static char *
clean_caption (const char *caption)
{
  g_autofree char *valid = g_utf8_make_valid (caption, -1);
  for (char *p = valid; *p; p++) {
    if (strchr ("()[]{}", *p) || ((guchar) *p < 0x20) || *p == 0x7f)
      *p = ' ';
    else if (strncmp (p, "\xef\xbf\xbd", 3) == 0) /* U+FFFD from g_utf8_make_valid */
      p[0] = p[1] = p[2] = ' ';
  }
  g_auto (GStrv) tokens = g_strsplit_set (valid, " ", -1);
  GString *s = g_string_new (NULL);
  int n = 0;
  for (char **t = tokens; *t && n < SV_NOUNS_MAX_WORDS; t++) {
    if (!**t)
      continue;
    if (n++)
      g_string_append_c (s, ' ');
    g_string_append (s, *t);
  }
  if (n == 0) {
    g_string_free (s, TRUE);
    return NULL;
  }
  gboolean has_lower = FALSE;
  for (const char *p = s->str; *p && !has_lower; p = g_utf8_next_char (p))
    has_lower = g_unichar_islower (g_utf8_get_char (p));
  if (!has_lower) {
    char *down = g_utf8_strdown (s->str, -1);
    g_string_free (s, TRUE);
    return down;
  }
  return g_string_free (s, FALSE);
}

#define FRAGMENT_PREFIX "there is "

/* a sentence with at least one linkage (null links allowed when needed), or NULL */
static Sentence
parse_sentence (SvNounChunker *nc, const char *text)
{
  Parse_Options opts = nc->opts;
  Sentence sent = sentence_create (text, nc->dict);
  if (!sent)
    return NULL;
  if (sentence_split (sent, opts) != 0) {
    g_debug ("link-grammar cannot split \"%s\"", text);
    sentence_delete (sent);
    return NULL;
  }
  parse_options_set_min_null_count (opts, 0);
  parse_options_set_max_null_count (opts, 0);
  parse_options_reset_resources (opts);
  int n = sentence_parse (sent, opts);
  if (n <= 0 || sentence_num_valid_linkages (sent) <= 0) {
    parse_options_set_min_null_count (opts, 1);
    parse_options_set_max_null_count (opts, sentence_length (sent));
    parse_options_reset_resources (opts);
    n = sentence_parse (sent, opts);
  }
  if (n <= 0) {
    sentence_delete (sent);
    return NULL;
  }
  return sent;
}

/* Parses text (see the top of the file) and fills words and tree; returns the string
 * that was parsed (text or FRAGMENT_PREFIX text), to which the words' offsets refer, or
 * NULL when link-grammar found no linkage.  Called with nc->lock held. */
static char *
parse_locked (SvNounChunker *nc, const char *text, GArray *words, char **tree)
{
  char *parsed = g_strdup (text);
  parse_options_reset_resources (nc->opts);
  Sentence sent = parse_sentence (nc, parsed);
  size_t prefix = 0;
  if ((!sent || sentence_null_count (sent) > 0) && !parse_options_resources_exhausted (nc->opts)) {
    char *alt_text = g_strconcat (FRAGMENT_PREFIX, text, NULL);
    Sentence alt = parse_sentence (nc, alt_text);
    if (alt && (!sent || sentence_null_count (alt) < sentence_null_count (sent))) {
      if (sent)
        sentence_delete (sent);
      sent = alt;
      g_free (parsed);
      parsed = alt_text;
      prefix = strlen (FRAGMENT_PREFIX);
    } else {
      if (alt)
        sentence_delete (alt);
      g_free (alt_text);
    }
  }
  Linkage linkage = sent ? linkage_create (0, sent, nc->opts) : NULL;
  if (!linkage) {
    if (sent)
      sentence_delete (sent);
    g_free (parsed);
    return NULL;
  }

  size_t len = strlen (parsed);
  size_t n_lw = linkage_get_num_words (linkage);
  for (size_t w = 0; w < n_lw; w++) {
    const char *lw = linkage_get_word (linkage, w);
    if (!lw || strcmp (lw, "LEFT-WALL") == 0 || strcmp (lw, "RIGHT-WALL") == 0)
      continue;
    Word word = { linkage_get_word_byte_start (linkage, w), linkage_get_word_byte_end (linkage, w),
                  NULL, W_OTHER };
    if (word.end > len || word.start > word.end)
      word.start = word.end = MIN (word.start, len);
    g_autofree char *orig = g_strndup (parsed + word.start, word.end - word.start);
    word.lower = g_utf8_strdown (orig, -1);
    word.cls = word.start < prefix ? W_BREAK : classify (lw, word.lower);
    g_array_append_val (words, word);
  }
  char *t = linkage_print_constituent_tree (linkage, SINGLE_LINE);
  *tree = t ? g_strdup (t) : NULL;
  if (t)
    linkage_free_constituent_tree_str (t);
  linkage_delete (linkage);
  sentence_delete (sent);
  return parsed;
}

static void
word_clear (gpointer p)
{
  g_free (((Word *) p)->lower);
}

/* the first n space-separated words of text (clean_caption's single spaces), or NULL when
 * it has no more than n */
static char *
first_words (const char *text, guint n)
{
  const char *p = text;
  for (guint w = 0; w < n; w++) {
    p = strchr (p, ' ');
    if (!p)
      return NULL;
    p++;
  }
  return g_strndup (text, (gsize) (p - 1 - text));
}

char **
sv_noun_chunker_phrases (SvNounChunker *nc, const char *caption, guint k, GError **error)
{
  g_return_val_if_fail (nc != NULL, NULL);
  g_return_val_if_fail (caption != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  GPtrArray *result = g_ptr_array_new ();
  g_autofree char *text = k > 0 ? clean_caption (caption) : NULL;
  if (!text) {
    g_ptr_array_add (result, NULL);
    return (char **) g_ptr_array_free (result, FALSE);
  }

  g_autoptr (GArray) words = g_array_new (FALSE, FALSE, sizeof (Word));
  g_array_set_clear_func (words, word_clear);
  g_autofree char *tree = NULL;
  g_mutex_lock (&nc->lock);
  LgHandler prev = lg_handler_push (NULL);
  g_autofree char *parsed = parse_locked (nc, text, words, &tree);
  if (!parsed && parse_options_resources_exhausted (nc->opts)) {
    g_autofree char *start = first_words (text, SV_NOUNS_RETRY_WORDS);
    g_debug ("link-grammar ran out of time on \"%.40s...\"%s", text,
             start ? ": parsing its first words" : "");
    if (start)
      parsed = parse_locked (nc, start, words, &tree);
  }
  lg_handler_pop (prev);
  g_mutex_unlock (&nc->lock);

  g_autoptr (GArray) phrases = g_array_new (FALSE, FALSE, sizeof (Phrase));
  g_array_set_clear_func (phrases, phrase_clear);
  if (parsed)
    collect_phrases (phrases, parsed, (const Word *) (void *) words->data, (int) words->len, tree);

  /* object phrases first, then the others; caption order within each */
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < phrases->len && result->len < k; i++) {
      Phrase *ph = &g_array_index (phrases, Phrase, i);
      if (ph->non_object == (pass == 1))
        g_ptr_array_add (result, g_strdup (ph->text));
    }
  g_ptr_array_add (result, NULL);
  return (char **) g_ptr_array_free (result, FALSE);
}

/* ---- prompts ---- */

const char *
sv_prompt_template (guint index)
{
  g_return_val_if_fail (index < SV_N_PROMPT_TEMPLATES, NULL);
  return prompt_templates[index];
}

char *
sv_prompt_fill (guint index, const char *phrase)
{
  g_return_val_if_fail (index < SV_N_PROMPT_TEMPLATES, NULL);
  g_return_val_if_fail (phrase != NULL, NULL);
  const char *t = prompt_templates[index];
  const char *hole = strstr (t, "{}");
  return g_strdup_printf ("%.*s%s%s", (int) (hole - t), t, phrase, hole + 2);
}
