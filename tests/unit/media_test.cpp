// Speech media tests (AMR-WB, WAV, correlation): being written.
#include <gtest/gtest.h>
