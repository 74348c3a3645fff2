#include "esper/resilience/retry_budget.h"

#include <gtest/gtest.h>
