/* svilm-core: error domain. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SV_ERROR (sv_error_quark ())
GQuark sv_error_quark (void);

typedef enum {
  SV_ERROR_SHAPE,    /* tensor shapes do not fit the op */
  SV_ERROR_ARGUMENT, /* an argument out of range (ids, axes, temperatures) */
  SV_ERROR_BACKEND,  /* device or allocation failure */
  SV_ERROR_IO,       /* files */
  SV_ERROR_FORMAT,   /* a file that is not what it claims to be */
  SV_ERROR_UNSUPPORTED,
} SvErrorCode;

G_END_DECLS
