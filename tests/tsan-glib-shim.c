/* LD_PRELOAD shim for ThreadSanitizer builds (-Db_sanitize=thread -Dopenmp=disabled).
 *
 * Debian's GLib is not built with TSan: its GMutex is a bare futex and its GOnce and
 * reference counts are atomics inside libglib, so TSan sees none of the
 * synchronisation they provide and reports every access they protect as a race.
 * These wrappers call the real functions and tell TSan what they order: a lock
 * acquires the mutex, an unlock releases it, a finished GOnce releases its location
 * and finding it done acquires it, the last unref of an object acquires what every
 * earlier unref released.
 * Calls from inside libglib itself do not go through here (GAsyncQueue, the quark
 * table): reports with only GLib or GStreamer frames on one side come from those. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <gst/gst.h>

#undef g_once_init_enter
#undef g_once_init_leave
#undef g_object_unref

void __tsan_acquire (void *addr);
void __tsan_release (void *addr);

#define REAL(ret, name, args) ret (*real_##name) args = (ret (*) args) dlsym (RTLD_NEXT, #name)

void
g_mutex_lock (GMutex *m)
{
  REAL (void, g_mutex_lock, (GMutex *) );
  real_g_mutex_lock (m);
  __tsan_acquire (m);
}

void
g_mutex_unlock (GMutex *m)
{
  REAL (void, g_mutex_unlock, (GMutex *) );
  __tsan_release (m);
  real_g_mutex_unlock (m);
}

gboolean
g_mutex_trylock (GMutex *m)
{
  REAL (gboolean, g_mutex_trylock, (GMutex *) );
  gboolean locked = real_g_mutex_trylock (m);
  if (locked)
    __tsan_acquire (m);
  return locked;
}

void
g_cond_wait (GCond *c, GMutex *m)
{
  REAL (void, g_cond_wait, (GCond *, GMutex *) );
  __tsan_release (m);
  real_g_cond_wait (c, m);
  __tsan_acquire (m);
}

gboolean
g_cond_wait_until (GCond *c, GMutex *m, gint64 end_time)
{
  REAL (gboolean, g_cond_wait_until, (GCond *, GMutex *, gint64));
  __tsan_release (m);
  gboolean signalled = real_g_cond_wait_until (c, m, end_time);
  __tsan_acquire (m);
  return signalled;
}

gboolean
g_once_init_enter (volatile void *location)
{
  REAL (gboolean, g_once_init_enter, (volatile void *) );
  gboolean first = real_g_once_init_enter (location);
  __tsan_acquire ((void *) location);
  return first;
}

void
g_once_init_leave (volatile void *location, gsize result)
{
  REAL (void, g_once_init_leave, (volatile void *, gsize));
  __tsan_release ((void *) location);
  real_g_once_init_leave (location, result);
}

/* Reference counts: every unref releases; the last one (the count read atomically
 * before it drops) acquires, so the finalizer sees what every holder wrote, and two
 * threads that merely share an object are not ordered by it. */
void
g_object_unref (gpointer object)
{
  REAL (void, g_object_unref, (gpointer));
  __tsan_release (object);
  if (__atomic_load_n (&((GObject *) object)->ref_count, __ATOMIC_ACQUIRE) == 1)
    __tsan_acquire (object);
  real_g_object_unref (object);
}

void
gst_mini_object_unref (GstMiniObject *object)
{
  REAL (void, gst_mini_object_unref, (GstMiniObject *) );
  __tsan_release (object);
  if (__atomic_load_n (&object->refcount, __ATOMIC_ACQUIRE) == 1)
    __tsan_acquire (object);
  real_gst_mini_object_unref (object);
}
