/* svilm-core: error domain. */
#include "sv-error.h"

GQuark
sv_error_quark (void)
{
  return g_quark_from_static_string ("svilm-error-quark");
}
