#include "esper/resilience/retry_policy.h"

#include <gtest/gtest.h>
