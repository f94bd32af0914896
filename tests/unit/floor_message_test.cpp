// Floor control codec tests (TS 24.380 8.2): being written.
#include "proto/floor_message.hpp"

#include <gtest/gtest.h>
