// Core types: errors, dtypes, shapes, tensors and views, the execution context.
#pragma once

#include "vit/core/context.hpp"
#include "vit/core/dtype.hpp"
#include "vit/core/error.hpp"
#include "vit/core/shape.hpp"
#include "vit/core/tensor.hpp"
