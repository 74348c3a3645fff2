// esper/core/xml_escape.h — the one XML / HTML text escaper of the library.
//
// Escapes text for XML character data and attribute values: & < > " ' become entities, and a
// carriage return becomes &#13; (an XML parser would otherwise normalise a raw CR away). Every
// other byte passes through unchanged, so valid UTF-8 stays valid. Used by the S3 request bodies,
// the proxy's error bodies and the bench report page.
//
// Thread safety: pure function. Allocation: the result only.
//
// Example:
//   std::string x = "<Key>" + esper::XmlEscape("a&b") + "</Key>";   // <Key>a&amp;b</Key>
#pragma once

#include <string>
#include <string_view>

namespace esper {

/// `s` with & < > " ' and CR escaped for XML (or HTML) text and attribute values.
std::string XmlEscape(std::string_view s);

}  // namespace esper
