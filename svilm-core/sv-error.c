/* svilm-core: error domain. */
#include "sv-error.h"

G_DEFINE_QUARK (svilm - error - quark, sv_error)
