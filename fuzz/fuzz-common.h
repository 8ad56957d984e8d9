/* svilm fuzz targets: what every target shares (see fuzz/README.md).
 *
 * Each target defines LLVMFuzzerTestOneInput().  Built with -Dfuzzing=true (clang,
 * -fsanitize=fuzzer) libFuzzer drives it; in the ordinary build fuzz-main.c gives it a
 * main() that feeds it every file of the given seed directories once (the 'fuzz' test
 * suite), so the corpora are replayed on every CI run, under the sanitizers there too.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Call first in LLVMFuzzerTestOneInput(): sets the process up once and remembers the
 * input.  GLib messages go nowhere (SVILM_FUZZ_VERBOSE=1 shows them) except criticals
 * and errors, which abort: a g_return_if_fail() reached from input is a bug the fuzzer
 * must report.  With SVILM_FUZZ_CRITICALS=DIR criticals do not abort (so that a long
 * run goes on looking for memory errors): the first input to raise each distinct
 * critical is written to DIR/critical-<hash> and the message printed. */
void sv_fuzz_input (const uint8_t *data, size_t size);

/* The input as a file: a memfd (rewritten for every input, no disk traffic) named by
 * a path that opens it.  suffix ("", ".tsv"...) is the end of the returned path: a
 * symbolic link to the memfd with that name in a private directory, for loaders that
 * look at the file name.  The path stays valid until the next call. */
const char *sv_fuzz_file (const uint8_t *data, size_t size, const char *suffix);

/* The input as a regular file named name in a private directory (for SQLite, which
 * wants a real file next to which it can put its -wal and -shm files; those of the
 * previous input are removed first).  The path stays valid until the next call. */
const char *sv_fuzz_regular_file (const uint8_t *data, size_t size, const char *name);

/* data as a NUL-terminated string (up to its first NUL byte); g_free() it */
char *sv_fuzz_string (const uint8_t *data, size_t size);

/* aborts with a message: an invariant of the API under test does not hold */
#define SV_FUZZ_CHECK(cond)                                                                        \
  do {                                                                                             \
    if (G_UNLIKELY (!(cond)))                                                                      \
      sv_fuzz_fail (__FILE__, __LINE__, #cond);                                                    \
  } while (0)

void sv_fuzz_fail (const char *file, int line, const char *what) G_GNUC_NORETURN;

G_END_DECLS
