#include "esper/config/snapshot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "config/convert.h"
#include "config/schema.h"
#include "config/snapshot_impl.h"
#include "esper/core/closest_match.h"
#include "esper/core/json_escape.h"
#include "esper/core/redact.h"

namespace esper::config {

using detail::Node;

// ---- Origin / Diagnostic ----------------------------------------------------------------------

std::string Origin::ToString() const {
  switch (kind) {
    case Kind::kNone: return "";
    case Kind::kDefault: return "default";
    case Kind::kFile:
      if (line == 0) return file;
      return fmt::format("{}:{}:{}", file, line, column);
    case Kind::kEnv: return "env " + name;
    case Kind::kOverride: return name;
  }
  return "";
}

std::string Diagnostic::ToString() const {
  std::string where = origin.ToString();
  std::string out = fmt::format("{}{}: {}{}", where.empty() ? "" : where + ": ",
                                severity == Severity::kError ? "error" : "warning",
                                key.empty() ? "" : key + ": ", message);
  if (!source_line.empty() && origin.line > 0) {
    std::string num = std::to_string(origin.line);
    std::string pad(num.size(), ' ');
    // One space (or tab) per character before the caret, so it stands under its column.
    std::string caret;
    const int at = caret_column > 0 ? caret_column : origin.column;
    for (int i = 0; i + 1 < at && static_cast<std::size_t>(i) < source_line.size(); ++i) {
      const char c = source_line[static_cast<std::size_t>(i)];
      if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) caret += c == '\t' ? '\t' : ' ';
    }
    out += fmt::format("\n  {} | {}\n  {} | {}^", num, source_line, pad, caret);
  }
  return out;
}

std::string RenderDiagnostics(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) {
    out += d.ToString();
    out += '\n';
  }
  return out;
}

// ---- Impl --------------------------------------------------------------------------------------

namespace {

// Finds a node by path; on a miss *fail_at is the offset of the segment that was not found and
// *parent the mapping it was looked up in.
const Node* FindNode(const Node* root, std::string_view path, std::size_t* fail_at, const Node** parent) {
  const Node* cur = root;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find_first_of(".[", i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    if (!seg.empty()) {
      if (cur->kind != Node::Kind::kMap) return nullptr;
      const Node* next = cur->Find(seg);
      if (!next) {
        if (fail_at) *fail_at = i;
        if (parent) *parent = cur;
        return nullptr;
      }
      cur = next;
    } else if (j < path.size() && path[j] == '.') {
      return nullptr;
    }
    i = j;
    while (i < path.size() && path[i] == '[') {
      std::size_t k = path.find(']', i);
      if (k == std::string_view::npos || cur->kind != Node::Kind::kSeq) return nullptr;
      std::size_t idx = 0;
      std::string_view num = path.substr(i + 1, k - i - 1);
      if (num.empty() || num.size() > 9) return nullptr;
      for (char c : num) {
        if (c < '0' || c > '9') return nullptr;
        idx = idx * 10 + static_cast<std::size_t>(c - '0');
      }
      if (idx >= cur->children.size()) return nullptr;
      cur = cur->children[idx].get();
      i = k + 1;
    }
    if (i < path.size()) {
      if (path[i] != '.' || i + 1 == path.size()) return nullptr;
      ++i;
    }
  }
  return cur;
}

}  // namespace

const Node* Snapshot::Impl::Find(std::string_view path, const Node** near) const {
  return FindNode(root.get(), path, nullptr, near);
}

namespace {

const detail::KeySpec* SpecOf(const Node& n) {
  if (n.spec < 0) return nullptr;
  return &detail::BuiltinSchema().keys[static_cast<std::size_t>(n.spec)];
}

// The text of a value as any output may show it: a secret as "***", a secret URL and any URL with
// its credentials redacted.
std::string Shown(const Node& n, std::string_view text) {
  const detail::KeySpec* s = SpecOf(n);
  if (s && s->type == detail::Type::kSecretUrl) return RedactUrl(text);
  if (n.secret) return text.empty() ? std::string() : std::string(Secret::kRedacted);
  return detail::ShownText(text);
}

Origin MakeOrigin(const std::vector<std::string>& files, const detail::Src& src) {
  Origin o;
  o.kind = src.kind;
  if (src.kind == Origin::Kind::kFile) {
    o.file = src.file < files.size() ? files[src.file] : "";
    o.line = static_cast<int>(src.line);
    o.column = static_cast<int>(src.col);
  }
  o.name = src.name;
  return o;
}

}  // namespace

// ---- Snapshot ----------------------------------------------------------------------------------

Snapshot::Snapshot(std::unique_ptr<Impl> impl) : impl_(std::move(impl)), settings_(std::move(impl_->settings)) {}
Snapshot::~Snapshot() = default;

Result<std::string> Snapshot::service_url(std::string_view name) const {
  auto it = settings_.services.find(name);
  if (it != settings_.services.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [n, u] : settings_.services) names.push_back(n);
  std::string g = ClosestMatch(name, names);
  return Error::NotFound(fmt::format("no service {}{}; the services are {}", detail::Quote(name),
                                     g.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", g),
                                     fmt::join(names, ", ")));
}

bool Snapshot::feature(std::string_view name, bool fallback) const {
  auto it = settings_.features.find(name);
  return it == settings_.features.end() ? fallback : it->second;
}

bool Snapshot::Has(std::string_view key) const { return impl_->Find(key) != nullptr; }

namespace {

Error NotFoundError(const Node* root, std::string_view key) {
  std::size_t fail_at = 0;
  const Node* parent = nullptr;
  FindNode(root, key, &fail_at, &parent);
  std::string hint;
  if (parent) {
    std::string_view rest = key.substr(fail_at);
    std::string_view seg = rest.substr(0, rest.find_first_of(".["));
    std::vector<std::string> names;
    for (const auto& c : parent->children) names.push_back(c->key);
    std::string g = ClosestMatch(seg, names);
    if (!g.empty()) {
      std::string guess = fmt::format("{}{}", key.substr(0, fail_at), g);
      std::string full = guess + std::string(rest.substr(seg.size()));
      if (FindNode(root, full, nullptr, nullptr)) guess = full;
      hint = fmt::format(" (did you mean \"{}\"?)", guess);
    }
  }
  return Error::NotFound(fmt::format("no configuration key {}{}", detail::Quote(key), hint));
}

struct Ctx {
  const Snapshot::Impl& impl;
  const Node& n;
  std::string_view key;
  Error Bad(std::string_view why) const {
    std::string where = MakeOrigin(impl.files, n.src).ToString();
    return Error::InvalidArgument(
        fmt::format("{}{}: {}", where.empty() ? "" : where + ": ", key, why));
  }
  std::string shown() const {
    if (n.secret) return "(value redacted)";
    return n.IsNull() ? "an empty value" : detail::QuoteShown(n.text);
  }
  Status Scalar() const {
    if (n.kind != Node::Kind::kScalar) {
      return Bad(n.kind == Node::Kind::kMap ? "is a section (a mapping), not a single value"
                                            : "is a sequence, not a single value");
    }
    return OkStatus();
  }
};

template <class T>
Result<T> ConvertNode(const Ctx& c);

template <>
Result<bool> ConvertNode<bool>(const Ctx& c) {
  ESPER_RETURN_IF_ERROR(c.Scalar());
  bool v = false;
  std::string err;
  if (!detail::ParseBool(c.n.text, "", &v, &err)) {
    detail::ParseBool(c.n.text, c.shown(), &v, &err);
    return c.Bad(err);
  }
  return v;
}
template <>
Result<std::int64_t> ConvertNode<std::int64_t>(const Ctx& c) {
  ESPER_RETURN_IF_ERROR(c.Scalar());
  std::int64_t v = 0;
  std::string err;
  if (!detail::ParseInt(c.n.text, "", &v, &err)) {
    detail::ParseInt(c.n.text, c.shown(), &v, &err);
    return c.Bad(err);
  }
  return v;
}
template <>
Result<int> ConvertNode<int>(const Ctx& c) {
  ESPER_ASSIGN_OR_RETURN(std::int64_t v, ConvertNode<std::int64_t>(c));
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    return c.Bad(fmt::format("{} does not fit in an int", v));
  }
  return static_cast<int>(v);
}
template <>
Result<double> ConvertNode<double>(const Ctx& c) {
  ESPER_RETURN_IF_ERROR(c.Scalar());
  double v = 0;
  std::string err;
  if (!detail::ParseDouble(c.n.text, "", &v, &err)) {
    detail::ParseDouble(c.n.text, c.shown(), &v, &err);
    return c.Bad(err);
  }
  return v;
}
template <>
Result<std::string> ConvertNode<std::string>(const Ctx& c) {
  ESPER_RETURN_IF_ERROR(c.Scalar());
  if (c.n.secret) return c.Bad("is a secret; read it as esper::Secret");
  return c.n.IsNull() ? std::string() : c.n.text;
}
template <>
Result<Secret> ConvertNode<Secret>(const Ctx& c) {
  ESPER_RETURN_IF_ERROR(c.Scalar());
  return Secret(c.n.IsNull() ? std::string() : c.n.text);
}
template <>
Result<milliseconds> ConvertNode<milliseconds>(const Ctx& c) {
  ESPER_RETURN_IF_ERROR(c.Scalar());
  milliseconds v{0};
  std::string err;
  if (!detail::ParseDuration(c.n.text, "", &v, &err)) {
    detail::ParseDuration(c.n.text, c.shown(), &v, &err);
    return c.Bad(err);
  }
  return v;
}
template <>
Result<std::vector<std::string>> ConvertNode<std::vector<std::string>>(const Ctx& c) {
  if (c.n.kind != Node::Kind::kSeq) return c.Bad("is not a sequence");
  if (c.n.secret) return c.Bad("is a secret; read its elements as esper::Secret");
  std::vector<std::string> out;
  out.reserve(c.n.children.size());
  for (std::size_t i = 0; i < c.n.children.size(); ++i) {
    const Node& e = *c.n.children[i];
    if (e.kind != Node::Kind::kScalar) return c.Bad(fmt::format("element [{}] is not a single value", i));
    out.push_back(e.IsNull() ? std::string() : e.text);
  }
  return out;
}

}  // namespace

template <class T>
Result<T> Snapshot::Get(std::string_view key) const {
  const Node* n = impl_->Find(key);
  if (!n) return NotFoundError(impl_->root.get(), key);
  return ConvertNode<T>(Ctx{*impl_, *n, key});
}

template Result<bool> Snapshot::Get<bool>(std::string_view) const;
template Result<int> Snapshot::Get<int>(std::string_view) const;
template Result<std::int64_t> Snapshot::Get<std::int64_t>(std::string_view) const;
template Result<double> Snapshot::Get<double>(std::string_view) const;
template Result<std::string> Snapshot::Get<std::string>(std::string_view) const;
template Result<Secret> Snapshot::Get<Secret>(std::string_view) const;
template Result<milliseconds> Snapshot::Get<milliseconds>(std::string_view) const;
template Result<std::vector<std::string>> Snapshot::Get<std::vector<std::string>>(std::string_view) const;

namespace {
void CollectKeys(const Node& n, std::string& path, std::vector<std::string>* out) {
  if (n.kind == Node::Kind::kScalar) {
    out->push_back(path);
    return;
  }
  std::size_t i = 0;
  for (const auto& c : n.children) {
    std::size_t len = path.size();
    if (n.kind == Node::Kind::kMap) {
      if (!path.empty()) path += '.';
      path += c->key;
    } else {
      path += fmt::format("[{}]", i);
    }
    ++i;
    CollectKeys(*c, path, out);
    path.resize(len);
  }
}
}  // namespace

std::vector<std::string> Snapshot::Keys(std::string_view section) const {
  std::vector<std::string> out;
  const Node* n = impl_->Find(section);
  if (!n) return out;
  std::string path(section);
  CollectKeys(*n, path, &out);
  return out;
}

Result<std::vector<Origin>> Snapshot::Provenance(std::string_view key) const {
  const Node* n = impl_->Find(key);
  if (!n) return NotFoundError(impl_->root.get(), key);
  std::vector<Origin> chain;
  for (const auto& h : n->history) {
    Origin o = MakeOrigin(impl_->files, h.src);
    o.value = Shown(*n, h.text);
    chain.push_back(std::move(o));
  }
  Origin o = MakeOrigin(impl_->files, n->src);
  o.value = n->kind == Node::Kind::kScalar ? Shown(*n, n->text) : std::string();
  chain.push_back(std::move(o));
  return chain;
}

Result<std::string> Snapshot::Explain(std::string_view key) const {
  ESPER_ASSIGN_OR_RETURN(std::vector<Origin> chain, Provenance(key));
  const Node* n = impl_->Find(key);
  std::string out;
  if (n->kind == Node::Kind::kScalar) {
    out = fmt::format("{} = {}\n", key, chain.back().value.empty() ? "\"\"" : chain.back().value);
  } else {
    out = fmt::format("{} is a {} ({} entries)\n", key, n->kind == Node::Kind::kMap ? "section" : "sequence",
                      n->children.size());
  }
  if (const detail::KeySpec* s = SpecOf(*n)) {
    std::string range;
    if (s->type == detail::Type::kInt) range = fmt::format(", range [{}, {}]", s->min, s->max);
    if (s->type == detail::Type::kDuration) {
      range = fmt::format(", range [{}, {}]", detail::FormatDuration(milliseconds(s->min)),
                          detail::FormatDuration(milliseconds(s->max)));
    }
    if (s->type == detail::Type::kEnum) range = fmt::format(": {}", fmt::join(s->choices, " | "));
    out += fmt::format("  type: {}{}{} — {}\n", detail::TypeName(s->type), range,
                       s->required ? ", required" : "", s->help);
  } else if (n->kind == Node::Kind::kScalar) {
    out += fmt::format("  type: free-form (converted by the type the reader asks for){}\n",
                       n->secret ? ", secret" : "");
  }
  std::size_t width = 0;
  for (const auto& o : chain) width = std::max(width, o.ToString().size());
  out += "  sources, lowest precedence first:\n";
  for (std::size_t i = 0; i < chain.size(); ++i) {
    std::string where = chain[i].ToString();
    out += fmt::format("    {}. {:<{}}  {}{}\n", i + 1, where, width,
                       chain[i].value.empty() && n->kind == Node::Kind::kScalar ? "\"\"" : chain[i].value,
                       i + 1 == chain.size() ? "   <- wins" : "");
  }
  return out;
}

// ---- dumps -------------------------------------------------------------------------------------

namespace {

bool PlainSafe(std::string_view t) {
  if (t.empty() || t.size() > 200) return false;
  unsigned char f = static_cast<unsigned char>(t[0]);
  if (!(std::isalnum(f) || f == '/' || f == '.' || f == '_' ||
        ((f == '-' || f == '+') && t.size() > 1 && (std::isdigit(static_cast<unsigned char>(t[1])) || t[1] == '.')))) {
    return false;
  }
  if (t.back() == ':') return false;
  for (unsigned char c : t) {
    if (!(std::isalnum(c) || c == '_' || c == '.' || c == '/' || c == ':' || c == '@' || c == '+' || c == '-' ||
          c == '=' || c == '%' || c == '~')) {
      return false;
    }
  }
  return true;
}

// A dump is a configuration file: the loader would read "${NAME}" and "$$" in it, so a '$' before
// '{' or '$' is written "$$" ("a${b}" -> "a$${b}"). (PlainSafe refuses '$': such text is quoted.)
std::string EscapeInterpolation(const std::string& text) {
  if (text.find('$') == std::string::npos) return text;
  std::string out;
  out.reserve(text.size() + 2);
  for (std::size_t i = 0; i < text.size(); ++i) {
    out.push_back(text[i]);
    if (text[i] == '$' && i + 1 < text.size() && (text[i + 1] == '{' || text[i + 1] == '$')) out.push_back('$');
  }
  return out;
}

// The scalar as YAML: plain when that reads back as the same thing, double-quoted otherwise.
std::string YamlScalar(const Node& n) {
  const detail::KeySpec* s = SpecOf(n);
  if (n.secret && !(s && s->type == detail::Type::kSecretUrl)) {
    return n.text.empty() || n.IsNull() ? "\"\"" : detail::Quote(Secret::kRedacted);
  }
  if (n.IsNull()) return s ? "\"\"" : "null";
  std::string text = Shown(n, n.text);
  char core = detail::CoreSchemaKind(text);
  bool string_typed = s ? (s->type == detail::Type::kString || s->type == detail::Type::kEnum ||
                           s->type == detail::Type::kUrl || s->type == detail::Type::kSecretUrl)
                        : !n.plain;
  if (PlainSafe(text) && !(string_typed && core != 's')) return text;
  return detail::Quote(EscapeInterpolation(text));
}

std::string JsonScalar(const Node& n) {
  const detail::KeySpec* s = SpecOf(n);
  if (n.secret && !(s && s->type == detail::Type::kSecretUrl)) {
    return n.text.empty() ? "\"\"" : JsonQuote(Secret::kRedacted);
  }
  std::string text = Shown(n, n.text);
  char kind = 's';
  if (s) {
    if (s->type == detail::Type::kBool) kind = 'b';
    else if (s->type == detail::Type::kInt) kind = 'i';
    else if (s->type == detail::Type::kDouble) kind = 'f';
  } else if (n.plain) {
    kind = detail::CoreSchemaKind(text);
  }
  std::string err;
  switch (kind) {
    case 'n': return "null";
    case 'b': {
      bool b = false;
      if (detail::ParseBool(text, "", &b, &err)) return b ? "true" : "false";
      break;
    }
    case 'i': {
      std::int64_t v = 0;
      if (detail::ParseInt(text, "", &v, &err)) return std::to_string(v);
      break;
    }
    case 'f': {
      double v = 0;
      if (detail::ParseDouble(text, "", &v, &err) && std::isfinite(v)) return fmt::format("{}", v);
      break;
    }
    default: break;
  }
  return JsonQuote(text);
}

void DumpYaml(const Node& n, int indent, std::string* out) {
  std::string pad(static_cast<std::size_t>(indent), ' ');
  if (n.kind == Node::Kind::kMap) {
    for (const auto& c : n.children) {
      std::string key = PlainSafe(c->key) ? c->key : detail::Quote(c->key);
      if (c->kind == Node::Kind::kScalar) {
        *out += fmt::format("{}{}: {}\n", pad, key, YamlScalar(*c));
      } else if (c->children.empty()) {
        *out += fmt::format("{}{}: {}\n", pad, key, c->kind == Node::Kind::kMap ? "{}" : "[]");
      } else {
        *out += fmt::format("{}{}:\n", pad, key);
        DumpYaml(*c, indent + 2, out);
      }
    }
  } else if (n.kind == Node::Kind::kSeq) {
    for (const auto& c : n.children) {
      if (c->kind == Node::Kind::kScalar) {
        *out += fmt::format("{}- {}\n", pad, YamlScalar(*c));
      } else if (c->children.empty()) {
        *out += fmt::format("{}- {}\n", pad, c->kind == Node::Kind::kMap ? "{}" : "[]");
      } else {
        *out += fmt::format("{}-\n", pad);
        DumpYaml(*c, indent + 2, out);
      }
    }
  }
}

void DumpJson(const Node& n, int indent, std::string* out) {
  if (n.kind == Node::Kind::kScalar) {
    *out += JsonScalar(n);
    return;
  }
  bool map = n.kind == Node::Kind::kMap;
  if (n.children.empty()) {
    *out += map ? "{}" : "[]";
    return;
  }
  *out += map ? "{\n" : "[\n";
  std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  for (std::size_t i = 0; i < n.children.size(); ++i) {
    const Node& c = *n.children[i];
    *out += pad;
    if (map) *out += JsonQuote(c.key) + ": ";
    DumpJson(c, indent + 2, out);
    *out += i + 1 < n.children.size() ? ",\n" : "\n";
  }
  *out += std::string(static_cast<std::size_t>(indent), ' ') + (map ? "}" : "]");
}

}  // namespace

std::string Snapshot::Dump(Format format) const {
  std::string out;
  if (format == Format::kJson) {
    DumpJson(*impl_->root, 0, &out);
    out += '\n';
  } else {
    DumpYaml(*impl_->root, 0, &out);
  }
  return out;
}

Result<std::string> Snapshot::Render(std::string_view key) const {
  const Node* n = impl_->Find(key);
  if (!n) return NotFoundError(impl_->root.get(), key);
  if (n->kind == Node::Kind::kScalar) {
    if (n->IsNull()) return std::string();
    return Shown(*n, n->text);
  }
  std::string out;
  DumpYaml(*n, 0, &out);
  return out;
}

const std::vector<Diagnostic>& Snapshot::warnings() const { return impl_->warnings; }
const std::vector<std::string>& Snapshot::sources() const { return impl_->sources; }
std::size_t Snapshot::size() const { return impl_->leaves; }

}  // namespace esper::config
