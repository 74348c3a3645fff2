#include "esper/core/xml_escape.h"

namespace esper {

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;  // kept: XML parsers normalise a raw CR away
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace esper
