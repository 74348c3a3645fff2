#include "esper/core/xml_escape.h"

#include <gtest/gtest.h>

namespace esper {
namespace {

TEST(XmlEscape, EscapesTheFiveSpecialsAndCarriageReturn) {
  EXPECT_EQ(XmlEscape("a&<>\"'\rb"), "a&amp;&lt;&gt;&quot;&apos;&#13;b");
  EXPECT_EQ(XmlEscape(""), "");
}

TEST(XmlEscape, LeavesUtf8AndOtherTextAlone) {
  EXPECT_EQ(XmlEscape("caf\xc3\xa9 \xe2\x80\xa6 x\ty\n"), "caf\xc3\xa9 \xe2\x80\xa6 x\ty\n");
}

}  // namespace
}  // namespace esper
