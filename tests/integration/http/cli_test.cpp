#include <gtest/gtest.h>
TEST(HttpCli, Placeholder) { SUCCEED(); }
