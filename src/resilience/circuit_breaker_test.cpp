#include "esper/resilience/circuit_breaker.h"

#include <gtest/gtest.h>
