// Test helpers for the log part: a strict JSON Lines reader and a logfmt reader, so tests check
// what a consumer would parse, not substrings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace esper::log::testing {

/// A flat JSON object: key → (decoded string value | raw number/bool text).
struct JsonObject {
  std::map<std::string, std::string> values;
  std::map<std::string, bool> is_string;
};

/// Parses one flat JSON object strictly (RFC 8259 strings incl. \u escapes and surrogate pairs;
/// rejects raw control characters and invalid UTF-8). nullopt on any error.
inline std::optional<JsonObject> ParseFlatJson(std::string_view s) {
  size_t i = 0;
  auto ws = [&] { while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i; };
  auto put_utf8 = [](std::string& out, uint32_t cp) {
    if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x800) { out += static_cast<char>(0xC0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) { out += static_cast<char>(0xE0 | (cp >> 12)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
    else { out += static_cast<char>(0xF0 | (cp >> 18)); out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
  };
  auto hex4 = [&](uint32_t& v) {
    if (i + 4 > s.size()) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s[i++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  };
  auto str = [&](std::string& out) {
    if (i >= s.size() || s[i] != '"') return false;
    ++i;
    while (i < s.size()) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c == '"') { ++i; return true; }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++i >= s.size()) return false;
        char e = s[i++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            uint32_t cp;
            if (!hex4(cp)) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              uint32_t lo;
              if (i + 2 > s.size() || s[i] != '\\' || s[i + 1] != 'u') return false;
              i += 2;
              if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              return false;
            }
            put_utf8(out, cp);
            break;
          }
          default: return false;
        }
        continue;
      }
      if (c >= 0x80) {  // validate UTF-8
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (!len || c > 0xF4 || i + len > s.size()) return false;
        uint32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
        for (size_t k = 1; k < len; ++k) {
          auto cc = static_cast<unsigned char>(s[i + k]);
          if ((cc & 0xC0) != 0x80) return false;
          cp = (cp << 6) | (cc & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
          return false;
        out.append(s.substr(i, len));
        i += len;
        continue;
      }
      out += static_cast<char>(c);
      ++i;
    }
    return false;
  };
  JsonObject obj;
  ws();
  if (i >= s.size() || s[i++] != '{') return std::nullopt;
  ws();
  if (i < s.size() && s[i] == '}') { ++i; return i == s.size() ? std::optional(obj) : std::nullopt; }
  for (;;) {
    ws();
    std::string key;
    if (!str(key)) return std::nullopt;
    ws();
    if (i >= s.size() || s[i++] != ':') return std::nullopt;
    ws();
    std::string val;
    bool is_str = i < s.size() && s[i] == '"';
    if (is_str) {
      if (!str(val)) return std::nullopt;
    } else {
      size_t start = i;
      while (i < s.size() && s[i] != ',' && s[i] != '}') ++i;
      val = std::string(s.substr(start, i - start));
      bool ok = val == "true" || val == "false" || val == "null";
      if (!ok) {  // JSON number
        size_t k = 0;
        if (k < val.size() && val[k] == '-') ++k;
        if (k >= val.size() || val[k] < '0' || val[k] > '9') return std::nullopt;
        if (val[k] == '0' && k + 1 < val.size() && val[k + 1] >= '0' && val[k + 1] <= '9') return std::nullopt;
        for (; k < val.size(); ++k) {
          char c = val[k];
          if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return std::nullopt;
        }
      }
    }
    obj.values[key] = val;
    obj.is_string[key] = is_str;
    ws();
    if (i >= s.size()) return std::nullopt;
    if (s[i] == ',') { ++i; continue; }
    if (s[i] == '}') { ++i; break; }
    return std::nullopt;
  }
  return i == s.size() ? std::optional(obj) : std::nullopt;
}

/// Parses one logfmt line into ordered key/value pairs (quoted values unescaped). nullopt on error.
inline std::optional<std::vector<std::pair<std::string, std::string>>> ParseLogfmt(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    size_t eq = s.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string key(s.substr(i, eq - i));
    if (key.empty() || key.find(' ') != std::string::npos || key.find('"') != std::string::npos) return std::nullopt;
    i = eq + 1;
    std::string val;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '"') { closed = true; break; }
        if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
        if (c == '\\') {
          if (i >= s.size()) return std::nullopt;
          char e = s[i++];
          if (e == 'n') val += '\n';
          else if (e == 'r') val += '\r';
          else if (e == 't') val += '\t';
          else if (e == 'b') val += '\b';
          else if (e == 'f') val += '\f';
          else if (e == '"' || e == '\\') val += e;
          else if (e == 'u') {
            if (i + 4 > s.size()) return std::nullopt;
            val += static_cast<char>(std::stoi(std::string(s.substr(i, 4)), nullptr, 16));
            i += 4;
          } else return std::nullopt;
        } else {
          val += c;
        }
      }
      if (!closed) return std::nullopt;
      if (i < s.size() && s[i] != ' ') return std::nullopt;
    } else {
      size_t end = s.find(' ', i);
      if (end == std::string_view::npos) end = s.size();
      val = std::string(s.substr(i, end - i));
      if (val.empty() || val.find('"') != std::string::npos || val.find('=') != std::string::npos) return std::nullopt;
      i = end;
    }
    out.emplace_back(std::move(key), std::move(val));
  }
  return out;
}

inline std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

#ifdef ESPER_BINARY_DIR
/// A fresh, empty directory under the build tree for one test.
inline std::string TempDir(const std::string& name) {
  std::string dir = std::string(ESPER_BINARY_DIR) + "/test-tmp/log/" + name;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  return dir;
}
#endif

}  // namespace esper::log::testing
