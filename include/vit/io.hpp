// Input/output: safetensors checkpoints.
#pragma once

#include "vit/io/safetensors.hpp"
