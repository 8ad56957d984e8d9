/* svilm-core: public umbrella header. */
#pragma once

#include "sv-backend.h"
#include "sv-error.h"
#include "sv-ops.h"
#include "sv-optim.h"
#include "sv-rng.h"
#include "sv-safetensors.h"
#include "sv-tensor.h"
