/* Sanitizer defaults of the test programs that load GStreamer's decoders in-process.
 *
 * GLib's constructor allocates its first quark table and drops it, by design, once more
 * than 2048 quarks exist, which loading GStreamer's encoders and decoders reaches.  Leak
 * checking can only tell that block apart by a full stack (through _dl_init), so these
 * processes (and the programs they run, tests/test-pretrain.c and test-synth.c pass the
 * same options on) unwind fully and suppress it; nothing else is hidden.  Linked into the
 * tests that need it; inert in builds without the sanitizers. */

const char *__asan_default_options (void);
const char *__lsan_default_suppressions (void);

const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

const char *
__lsan_default_suppressions (void)
{
  return "leak:_dl_init\n";
}
