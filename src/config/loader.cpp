#include "esper/config/loader.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_set>

#include "config/convert.h"
#include "config/schema.h"
#include "config/snapshot_impl.h"
#include "config/source_line.h"
#include "config/tree.h"
#include "esper/core/ascii.h"
#include "esper/core/closest_match.h"
#include "esper/core/redact.h"

extern char** environ;  // NOLINT

namespace esper::config {

using detail::Node;
using detail::Schema;
using detail::Src;
using detail::Type;

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (!eq) continue;
    env.emplace(std::string(*e, static_cast<std::size_t>(eq - *e)), std::string(eq + 1));
  }
  return env;
}

Result<Override> ParseOverride(std::string_view kv, std::string label) {
  std::size_t eq = kv.find('=');
  // A mistyped argument may hold a secret ("database.password:VALUE"): only its key is echoed.
  if (eq == std::string_view::npos) {
    return Error::InvalidArgument(fmt::format("{} {}: expected key=value", label, detail::Quote(RedactAfterKey(kv))));
  }
  if (eq == 0) {
    return Error::InvalidArgument(fmt::format("{} {}: the key is empty", label, detail::Quote(RedactAfterKey(kv))));
  }
  return Override{std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)), std::move(label)};
}

namespace {

struct SourceFile {
  std::string name;
  std::string text;
  std::vector<std::size_t> line_starts;                  // built on first use
  std::optional<std::vector<detail::SecretSpan>> spans;  // SecretSpans(text), on first use
};

// Levels of a dotted path ("a.b.c": 3). Files, variables and --set share one limit (kMaxDepth).
int Levels(std::string_view path) {
  return 1 + static_cast<int>(std::count(path.begin(), path.end(), '.'));
}
std::string TooDeep() { return fmt::format("nesting deeper than {} levels", detail::kMaxDepth); }

class Loader {
 public:
  Loader(const LoadOptions& o, std::vector<Diagnostic>* out)
      : opts_(o), schema_(detail::BuiltinSchema()), out_(out) {
    if (o.environment) {
      env_ = &*o.environment;
    } else {
      own_env_ = ProcessEnvironment();
      env_ = &own_env_;
    }
    free_form_.insert(o.free_form_sections.begin(), o.free_form_sections.end());
  }

  Result<std::shared_ptr<const Snapshot>> Run();

 private:
  // ---- diagnostics ----
  // Whether the value at `path` is a secret: the schema says so, or the path's name does.
  bool IsSecretPath(std::string_view path) const {
    const int spec = schema_.Find(path);
    return (spec >= 0 && schema_.keys[static_cast<std::size_t>(spec)].secret()) || IsSecretKey(path);
  }

  // Line `line` (1-based) of `file` as a diagnostic shows it: every secret on it masked (see
  // diagnostic.h), and with `mask_from` (a 1-based character column) everything from there on.
  detail::ShownLine LineOf(std::uint32_t file, std::uint32_t line, std::uint32_t caret_col, std::uint32_t mask_from) {
    if (file >= files_.size() || line == 0) return {};
    SourceFile& f = files_[file];
    if (f.line_starts.empty()) {
      f.line_starts.push_back(0);
      for (std::size_t i = 0; i < f.text.size(); ++i) {
        if (f.text[i] == '\n') f.line_starts.push_back(i + 1);
      }
    }
    if (line > f.line_starts.size()) return {};
    if (!f.spans) f.spans = detail::SecretSpans(f.text);
    std::size_t b = f.line_starts[line - 1];
    std::size_t e = f.text.find('\n', b);
    if (e == std::string::npos) e = f.text.size();
    return detail::MaskLine(std::string_view(f.text).substr(b, e - b), line - 1, *f.spans, caret_col, mask_from);
  }

  Origin MakeOrigin(const Src& src) const {
    Origin o;
    o.kind = src.kind;
    if (src.kind == Origin::Kind::kFile) {
      o.file = src.file < files_.size() ? files_[src.file].name : "";
      o.line = static_cast<int>(src.line);
      o.column = static_cast<int>(src.col);
    }
    o.name = src.name;
    return o;
  }

  // A diagnostic at `src` (line/col override when given, e.g. the key's position).
  void Report(Diagnostic::Severity sev, std::string key, const Src& src, std::string message,
              bool redact_value = false, std::uint32_t line = 0, std::uint32_t col = 0) {
    const bool error = sev == Diagnostic::Severity::kError;
    if (error) ++errors_;
    // Past the cap a problem is only counted: no source line, no copy (issue 18 #6).
    std::size_t& listed = error ? listed_errors_ : listed_warnings_;
    if (listed >= std::max<std::size_t>(opts_.max_errors, 1)) {
      ++(error ? omitted_errors_ : omitted_warnings_);
      return;
    }
    ++listed;
    Diagnostic d;
    d.severity = sev;
    d.key = std::move(key);
    d.origin = MakeOrigin(src);
    if (line) {
      d.origin.line = static_cast<int>(line);
      d.origin.column = static_cast<int>(col);
    }
    d.message = std::move(message);
    // Belt and braces: the line of a diagnostic about a secret key (by the schema or by the
    // path's name) is also cut at the value — from the column (a value) or past the key.
    if (!d.key.empty() && IsSecretPath(d.key)) redact_value = true;
    if (src.kind == Origin::Kind::kFile) {
      const auto at = static_cast<std::uint32_t>(std::max(d.origin.column, 0));
      std::uint32_t mask_from = redact_value ? at : 0;
      if (redact_value && line) {  // a key position: mask past "key: "
        std::string_view name = std::string_view(d.key).substr(d.key.rfind('.') + 1);
        mask_from += static_cast<std::uint32_t>(detail::Chars(name) + 2);
      }
      detail::ShownLine shown = LineOf(src.file, static_cast<std::uint32_t>(d.origin.line), at, mask_from);
      d.source_line = std::move(shown.text);
      d.caret_column = shown.caret;
    }
    // Sorted later: file sources by (file, line, column), then the rest in the order found.
    int rank = src.kind == Origin::Kind::kFile       ? 0
               : src.kind == Origin::Kind::kEnv      ? 1
               : src.kind == Origin::Kind::kOverride ? 2
                                                     : 3;
    order_.push_back({rank, src.kind == Origin::Kind::kFile ? src.file : 0,
                      static_cast<std::uint32_t>(d.origin.line), static_cast<std::uint32_t>(d.origin.column),
                      diags_.size()});
    diags_.push_back(std::move(d));
  }
  void Fail(std::string key, const Src& src, std::string msg, bool redact = false) {
    Report(Diagnostic::Severity::kError, std::move(key), src, std::move(msg), redact);
  }
  void Warn(std::string key, const Src& src, std::string msg) {
    Report(Diagnostic::Severity::kWarning, std::move(key), src, std::move(msg));
  }

  // ---- layers ----
  void SetDefaults();
  void LoadFile(const std::string& path);
  void LoadText(std::string name, std::string text);
  void ParseAndMerge(const Src& whole);
  void Interpolate(Node* n, std::string& path);
  void Merge(Node* dst, std::unique_ptr<Node> src);
  static void TakeValue(Node* dst, Node&& src);
  bool Set(std::string_view path, std::string value, const Src& src);
  void ApplyEnvironment();
  void ApplyOverrides();
  void ApplyRenames();

  // ---- validation ----
  void FillMissingDefaults();
  void Validate();
  void MarkSecrets(Node* n);
  void Convert();
  void ProductionChecks();
  void BuildSettings(Settings* s);
  const Node* FindPath(std::string_view path) const;

  const LoadOptions& opts_;
  const Schema& schema_;
  std::vector<Diagnostic>* out_;
  const std::map<std::string, std::string>* env_ = nullptr;
  std::map<std::string, std::string> own_env_;
  std::unordered_set<std::string> free_form_;
  std::vector<SourceFile> files_;
  std::vector<std::string> sources_;
  std::unique_ptr<Node> root_;
  std::vector<Value> values_;
  std::vector<Diagnostic> diags_;
  std::vector<std::tuple<int, std::uint32_t, std::uint32_t, std::uint32_t, std::size_t>> order_;
  std::map<std::string, bool, std::less<>> features_;
  std::size_t errors_ = 0;
  std::size_t listed_errors_ = 0, listed_warnings_ = 0, omitted_errors_ = 0, omitted_warnings_ = 0;
  bool file_failed_ = false;  // a file could not be read or parsed: its keys are unknown, not missing
};

// ---------------------------------------------------------------------------------------------

void Loader::SetDefaults() {
  root_ = std::make_unique<Node>();
  root_->kind = Node::Kind::kMap;
  Src def;
  def.kind = Origin::Kind::kDefault;
  for (const auto& k : schema_.keys) {
    if (k.required) continue;
    Set(k.path, k.def, def);
  }
  // Every typed section exists, even with no keys of its own.
  for (const auto& [name, kind] : schema_.top) {
    if (kind == detail::SectionKind::kFlags && !root_->Find(name)) {
      auto n = std::make_unique<Node>();
      n->kind = Node::Kind::kMap;
      n->key = name;
      n->src = def;
      root_->Add(std::move(n));
    }
  }
}

void Loader::LoadFile(const std::string& path) {
  Src whole;
  whole.kind = Origin::Kind::kFile;
  whole.file = static_cast<std::uint32_t>(files_.size());
  files_.push_back({path, "", {}});
  sources_.push_back(path);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    int e = errno;
    Fail("", whole, fmt::format("cannot open the file: {}", std::strerror(e)));
    file_failed_ = true;
    return;
  }
  std::string text;
  char buf[65536];
  std::size_t n;
  // A regular file too large is refused from its size, unread; a stream is read up to the limit.
  struct stat st {};
  bool too_big = ::fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
                 static_cast<std::uint64_t>(st.st_size) > opts_.max_file_bytes;
  while (!too_big && (n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > opts_.max_file_bytes) {
      too_big = true;
      break;
    }
  }
  bool read_error = std::ferror(f) != 0;
  int e = errno;
  std::fclose(f);
  if (read_error) {
    Fail("", whole, fmt::format("cannot read the file: {}", std::strerror(e)));
    file_failed_ = true;
    return;
  }
  if (too_big) {
    Fail("", whole, fmt::format("the file is larger than {} bytes", opts_.max_file_bytes));
    file_failed_ = true;
    return;
  }
  files_.back().text = std::move(text);
  ParseAndMerge(whole);
}

// Parses the newest file's text, reports its syntax problems at their line:col, then interpolates
// and merges what parsed.
void Loader::ParseAndMerge(const Src& whole) {
  std::vector<detail::YamlProblem> problems;
  std::size_t more = 0;
  std::unique_ptr<Node> tree =
      detail::ParseYaml(files_.back().text, whole.file, &problems, std::max<std::size_t>(opts_.max_errors, 1), &more);
  for (auto& p : problems) {
    Src at = whole;
    at.line = p.line;
    at.col = p.col;
    Fail("", at, std::move(p.message));
  }
  errors_ += more;
  omitted_errors_ += more;
  if (!tree) {
    file_failed_ = true;
    return;
  }
  std::string at_path;
  Interpolate(tree.get(), at_path);
  Merge(root_.get(), std::move(tree));
}

void Loader::LoadText(std::string name, std::string text) {
  Src whole;
  whole.kind = Origin::Kind::kFile;
  whole.file = static_cast<std::uint32_t>(files_.size());
  files_.push_back({std::move(name), std::move(text), {}});
  sources_.push_back(files_.back().name);
  ParseAndMerge(whole);
}

// ${VAR}, ${VAR:-default}, $$ → $. Only scalar values from YAML sources.
void Loader::Interpolate(Node* n, std::string& path) {
  if (n->kind != Node::Kind::kScalar) {
    std::size_t i = 0;
    const std::size_t len = path.size();
    for (auto& c : n->children) {
      if (c->kind == Node::Kind::kScalar && c->text.find('$') == std::string::npos) {
        ++i;
        continue;  // nothing to do: skip building its path
      }
      if (n->kind == Node::Kind::kMap) {
        if (!path.empty()) path += '.';
        path += c->key;
      } else {
        path += fmt::format("[{}]", i);
      }
      ++i;
      Interpolate(c.get(), path);
      path.resize(len);
    }
    return;
  }
  const std::string& t = n->text;
  if (t.find('$') == std::string::npos) return;
  std::string out;
  out.reserve(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c != '$' || i + 1 >= t.size()) {
      out += c;
      continue;
    }
    if (t[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (t[i + 1] != '{') {
      out += c;
      continue;
    }
    std::size_t close = t.find('}', i + 2);
    if (close == std::string::npos) {
      Fail(path, n->src, "unterminated \"${\" (write \"$${\" for a literal \"${\")");
      return;
    }
    std::string_view expr(t.data() + i + 2, close - i - 2);
    std::size_t dflt = expr.find(":-");
    std::string_view name = expr.substr(0, dflt);
    bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char ch : name) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') valid = false;
    }
    if (!valid) {
      // The text between the braces is part of the value: not shown when the value is a secret.
      const bool secret = IsSecretPath(path) || UrlHasCredentials(t);
      Fail(path, n->src,
           fmt::format("{} is not a variable reference (${{NAME}} or ${{NAME:-default}})",
                       secret ? std::string("a \"${…}\" in the value (redacted)") : fmt::format("${{{}}}", expr)));
      return;
    }
    auto it = env_->find(std::string(name));
    if (dflt != std::string_view::npos) {
      if (it != env_->end() && !it->second.empty()) out += it->second;
      else out += expr.substr(dflt + 2);
    } else if (it != env_->end()) {
      out += it->second;
    } else {
      Fail(path, n->src,
            fmt::format("${{{0}}} is not set (write ${{{0}:-default}} to give a fallback)", name));
      return;
    }
    i = close;
  }
  n->text = std::move(out);
}

void Loader::TakeValue(Node* d, Node&& s) {
  std::vector<detail::Layer> hist = std::move(d->history);
  hist.push_back({d->src, d->kind == Node::Kind::kScalar ? d->text : std::string()});
  for (auto& h : s.history) hist.push_back(std::move(h));
  d->kind = s.kind;
  d->plain = s.plain;
  d->src = std::move(s.src);
  d->key_line = s.key_line;
  d->key_col = s.key_col;
  d->text = std::move(s.text);
  d->children = std::move(s.children);
  d->index = std::move(s.index);
  d->history = std::move(hist);
}

void Loader::Merge(Node* dst, std::unique_ptr<Node> src) {
  for (auto& c : src->children) {
    Node* d = dst->Find(c->key);
    if (!d) {
      dst->Add(std::move(c));
    } else if (d->kind == Node::Kind::kMap && c->kind == Node::Kind::kMap) {
      Merge(d, std::move(c));
    } else if (d->kind == Node::Kind::kMap && c->IsNull()) {
      // "section:" with nothing under it adds nothing.
    } else {
      TakeValue(d, std::move(*c));
    }
  }
}

// Sets a scalar at a dotted path, creating mappings on the way. False when the path is malformed.
bool Loader::Set(std::string_view path, std::string value, const Src& src) {
  Node* cur = root_.get();
  std::size_t start = 0;
  int depth = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    bool last = dot == std::string_view::npos;
    std::string_view seg = path.substr(start, last ? std::string_view::npos : dot - start);
    if (seg.empty() || ++depth > detail::kMaxDepth) return false;
    Node* child = cur->Find(seg);
    if (!child) {
      auto n = std::make_unique<Node>();
      n->kind = last ? Node::Kind::kScalar : Node::Kind::kMap;
      n->key = std::string(seg);
      n->src = src;
      if (last) n->text = std::move(value);
      child = cur->Add(std::move(n));
      if (last) return true;
    } else if (last) {
      Node fresh;
      fresh.kind = Node::Kind::kScalar;
      fresh.src = src;
      fresh.text = std::move(value);
      TakeValue(child, std::move(fresh));
      return true;
    } else if (child->kind != Node::Kind::kMap) {
      Node fresh;
      fresh.kind = Node::Kind::kMap;
      fresh.src = src;
      TakeValue(child, std::move(fresh));
    }
    cur = child;
    start = dot + 1;
  }
}

void Loader::ApplyEnvironment() {
  struct Standard {
    const char* var;
    const char* path;
  };
  // Lowest first: a later one overrides an earlier one.
  static constexpr Standard kStandard[] = {
      {"AWS_DEFAULT_REGION", "s3.region"},
      {"AWS_REGION", "s3.region"},
      {"S3_ENDPOINT_URL", "s3.endpoint_url"},
      {"AWS_ENDPOINT_URL", "s3.endpoint_url"},
      {"AWS_ENDPOINT_URL_S3", "s3.endpoint_url"},
      {"AWS_ACCESS_KEY_ID", "s3.access_key_id"},
      {"AWS_SECRET_ACCESS_KEY", "s3.secret_access_key"},
      {"AWS_SESSION_TOKEN", "s3.session_token"},
      {"ESPER_LOG_LEVEL", "logging.level"},
  };
  Src src;
  src.kind = Origin::Kind::kEnv;
  for (const auto& s : kStandard) {
    auto it = env_->find(s.var);
    if (it == env_->end() || it->second.empty()) continue;
    src.name = s.var;
    Set(s.path, it->second, src);
  }
  std::string path;
  for (auto it = env_->lower_bound("ESPER_"); it != env_->end() && it->first.rfind("ESPER_", 0) == 0; ++it) {
    const std::string& name = it->first;
    if (name == "ESPER_CONFIG" || name == "ESPER_LOG_LEVEL" || it->second.empty()) continue;
    src.name = name;
    std::string_view rest = std::string_view(name).substr(6);
    path.clear();
    bool ok = !rest.empty();
    for (std::size_t i = 0; i < rest.size(); ++i) {
      if (rest[i] == '_' && i + 1 < rest.size() && rest[i + 1] == '_') {
        path += '.';
        ++i;
      } else {
        char c = rest[i];
        path += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
    }
    if (path.empty() || path.front() == '.' || path.back() == '.' || path.find("..") != std::string::npos) {
      ok = false;
    }
    std::string top = path.substr(0, path.find('.'));
    bool known = false;
    schema_.KindOf(top, &known);
    known = known || free_form_.count(top) > 0;
    if (!ok || !known) {
      // The seed's rule was "every _ is a level"; say how to reach the key now.
      std::string hint;
      for (std::size_t i = 0; i < rest.size() && hint.empty(); ++i) {
        if (rest[i] != '_') continue;
        std::string cand = std::string(rest.substr(0, i)) + "." + std::string(rest.substr(i + 1));
        cand = AsciiLowerCopy(cand);
        if (schema_.Find(cand) >= 0) {
          hint = fmt::format(" (did you mean ESPER_{}__{}?)", rest.substr(0, i), rest.substr(i + 1));
        }
      }
      Warn("", src,
           fmt::format("not a configuration variable (ESPER_<SECTION>__<KEY>, levels separated by "
                       "\"__\"){}; ignored",
                       hint));
      continue;
    }
    if (Levels(path) > detail::kMaxDepth) {
      Fail("", src, TooDeep());
      continue;
    }
    Set(path, it->second, src);
  }
}

void Loader::ApplyOverrides() {
  for (const auto& o : opts_.overrides) {
    Src src;
    src.kind = Origin::Kind::kOverride;
    src.name = o.label;
    if (Levels(o.key) > detail::kMaxDepth) {
      Fail("", src, TooDeep());
    } else if (!Set(o.key, o.value, src)) {
      Fail(o.key, src, "malformed key (expected dotted names like section.key)");
    }
  }
}

namespace {
std::string_view KindName(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kMap: return "a mapping";
    case Node::Kind::kSeq: return "a sequence";
    case Node::Kind::kScalar: return n.IsNull() ? "an empty value" : "a single value";
  }
  return "?";
}
std::string EnvName(std::string_view path) {
  std::string s = "ESPER_";
  for (char c : path) {
    if (c == '.') s += "__";
    else s += AsciiUpper(c);
  }
  return s;
}
}  // namespace

// A later layer may have replaced a section wholesale (a scalar, then ESPER_S3__REGION made it a
// mapping again): put back the defaults of the keys it lost, where the section is a mapping.
void Loader::FillMissingDefaults() {
  Src def;
  def.kind = Origin::Kind::kDefault;
  for (const auto& k : schema_.keys) {
    if (k.required || FindPath(k.path)) continue;
    std::size_t dot = k.path.find('.');
    if (dot != std::string::npos) {
      const Node* section = FindPath(std::string_view(k.path).substr(0, dot));
      if (section && section->kind != Node::Kind::kMap) continue;  // reported by Validate
    }
    Set(k.path, k.def, def);
  }
}

// Keys of earlier versions (Schema::renamed), wherever they were set: one of the same meaning is
// read as its new key — its layers join the new key's in precedence order, so provenance shows
// both names' sources — with a warning; one whose unit or count changed is an error saying how to
// write the new key. Either way the old key leaves the tree (dumps show the new name only).
void Loader::ApplyRenames() {
  // Precedence of a layer: defaults, then files in load order, then the environment, then --set.
  auto rank = [](const Src& s) {
    return std::pair<int, std::uint32_t>(static_cast<int>(s.kind), s.kind == Origin::Kind::kFile ? s.file : 0);
  };
  for (const auto& r : schema_.renamed) {
    const std::size_t dot = r.from.find('.');
    Node* section = const_cast<Node*>(FindPath(r.from.substr(0, dot)));
    if (!section || section->kind != Node::Kind::kMap) continue;
    const std::int64_t pos = section->Position(r.from.substr(dot + 1));
    if (pos < 0) continue;
    std::unique_ptr<Node> old = section->Remove(static_cast<std::size_t>(pos));
    const std::string from(r.from);
    if (!r.same_meaning) {
      Report(Diagnostic::Severity::kError, from, old->src, fmt::format("replaced by {}: {}", r.to, r.why),
             false, old->key_line, old->key_col);
      continue;
    }
    Node* to = const_cast<Node*>(FindPath(r.to));
    if (!to) continue;  // the new key's section is not a mapping: Validate says so
    if (old->kind != Node::Kind::kScalar || to->kind != Node::Kind::kScalar) {
      Fail(from, old->src, fmt::format("expected a single value, got {}", KindName(*old)));
      continue;
    }
    Report(Diagnostic::Severity::kWarning, from, old->src,
           fmt::format("deprecated: renamed {} (same meaning), read as {}", r.to, r.to), false, old->key_line,
           old->key_col);
    struct Entry {
      detail::Layer layer;
      bool from_old;
    };
    std::vector<Entry> all;
    for (auto& h : to->history) all.push_back({std::move(h), false});
    all.push_back({{to->src, to->text}, false});
    for (auto& h : old->history) all.push_back({std::move(h), true});
    all.push_back({{old->src, old->text}, true});
    // The new name wins a tie (both in one file).
    std::stable_sort(all.begin(), all.end(), [&](const Entry& a, const Entry& b) {
      return rank(a.layer.src) < rank(b.layer.src) || (rank(a.layer.src) == rank(b.layer.src) && a.from_old && !b.from_old);
    });
    Entry& win = all.back();
    if (win.from_old) {
      to->key_line = old->key_line;
      to->key_col = old->key_col;
      to->plain = old->plain;
    }
    to->src = std::move(win.layer.src);
    to->text = std::move(win.layer.text);
    all.pop_back();
    to->history.clear();
    for (auto& e : all) to->history.push_back(std::move(e.layer));
  }
}

void Loader::MarkSecrets(Node* n) {
  for (auto& c : n->children) {
    // The rule on the key with its parent's, as a path: "api" + "key" is an API key.
    if (n->secret || (n->kind == Node::Kind::kMap && IsSecretKey(n->key + "." + c->key))) c->secret = true;
    MarkSecrets(c.get());
  }
}

void Loader::Validate() {
  std::vector<std::string> tops;
  for (const auto& [n, k] : schema_.top) tops.push_back(n);
  for (const auto& f : opts_.free_form_sections) tops.push_back(f);
  auto unknown = [&](const Node& n, const std::string& path, const std::string& guess,
                     const std::string& guess_path) {
    const bool redact = IsSecretPath(path) || (!guess_path.empty() && IsSecretPath(guess_path));
    std::string msg = guess.empty() ? "unknown key" : fmt::format("unknown key (did you mean \"{}\"?)", guess);
    if (guess.empty() && path.find('.') == std::string::npos) {
      msg = fmt::format("unknown section (the sections are {})", fmt::join(tops, ", "));
    }
    Report(Diagnostic::Severity::kError, path, n.src, std::move(msg), redact, n.key_line, n.key_col);
  };
  for (auto& c : root_->children) {
    bool found = false;
    detail::SectionKind kind = schema_.KindOf(c->key, &found);
    if (!found && free_form_.count(c->key)) {
      found = true;
      kind = detail::SectionKind::kFreeForm;
    }
    if (!found) {
      std::string g = ClosestMatch(c->key, tops);
      unknown(*c, c->key, g, g);
      continue;
    }
    switch (kind) {
      case detail::SectionKind::kFreeForm:
        if (IsSecretKey(c->key)) c->secret = true;
        MarkSecrets(c.get());
        break;
      case detail::SectionKind::kScalar:
        c->spec = schema_.Find(c->key);
        break;
      case detail::SectionKind::kTyped: {
        if (c->kind != Node::Kind::kMap) {
          Fail(c->key, c->src, fmt::format("expected a section (a mapping of keys), got {}", KindName(*c)));
          break;
        }
        const auto& names = schema_.section_keys.at(c->key);
        for (auto& k : c->children) {
          std::string path = c->key + "." + k->key;
          int i = schema_.Find(path);
          if (i < 0) {
            std::string g = ClosestMatch(k->key, names);
            unknown(*k, path, g, g.empty() ? "" : c->key + "." + g);
            continue;
          }
          k->spec = i;
          k->secret = schema_.keys[static_cast<std::size_t>(i)].secret();
        }
        break;
      }
      case detail::SectionKind::kFlags: {
        if (c->kind != Node::Kind::kMap) {
          Fail(c->key, c->src, fmt::format("expected a mapping of flag: true|false, got {}", KindName(*c)));
          break;
        }
        for (auto& k : c->children) {
          std::string path = c->key + "." + k->key;
          if (k->kind != Node::Kind::kScalar) {
            Fail(path, k->src, fmt::format("expected true or false, got {}", KindName(*k)));
            continue;
          }
          bool b = false;
          std::string err;
          if (!detail::ParseBool(k->text, k->IsNull() ? "an empty value" : detail::Quote(k->text), &b, &err)) {
            Fail(path, k->src, std::move(err));
            continue;
          }
          features_[k->key] = b;
        }
        break;
      }
    }
  }
}

const Node* Loader::FindPath(std::string_view path) const {
  const Node* cur = root_.get();
  std::size_t start = 0;
  while (cur) {
    std::size_t dot = path.find('.', start);
    std::string_view seg = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (cur->kind != Node::Kind::kMap) return nullptr;
    cur = cur->Find(seg);
    if (dot == std::string_view::npos) return cur;
    start = dot + 1;
  }
  return nullptr;
}

void Loader::Convert() {
  values_.assign(schema_.keys.size(), Value{});
  for (std::size_t i = 0; i < schema_.keys.size(); ++i) {
    const detail::KeySpec& spec = schema_.keys[i];
    const Node* n = FindPath(spec.path);
    if (spec.required && (!n || (n->kind == Node::Kind::kScalar && (n->IsNull() || n->text.empty())))) {
      // A file that could not be read may hold it: say so once (its own error), not "missing".
      if (file_failed_) continue;
      Fail(spec.path, n ? n->src : Src{},
            fmt::format("required key is missing: set it in a config file, as {}, or with --set {}=…",
                        EnvName(spec.path), spec.path));
      continue;
    }
    if (!n) continue;  // its section is not a mapping: reported already
    if (n->kind != Node::Kind::kScalar) {
      Fail(spec.path, n->src, fmt::format("expected a single value, got {}", KindName(*n)));
      continue;
    }
    const bool is_null = n->IsNull();
    // What messages show of the value; built only when there is an error to report.
    auto shown_text = [&] {
      return spec.secret() ? std::string("(value redacted)")
             : is_null     ? std::string("an empty value")
                           : detail::QuoteShown(n->text);
    };
    const std::string text = is_null ? std::string() : n->text;
    std::string err;
    bool ok = true;
    switch (spec.type) {
      case Type::kBool: {
        bool b = false;
        ok = detail::ParseBool(n->text, "", &b, &err) || detail::ParseBool(n->text, shown_text(), &b, &err);
        values_[i] = b;
        break;
      }
      case Type::kInt: {
        std::int64_t v = 0;
        ok = detail::ParseInt(n->text, "", &v, &err) || detail::ParseInt(n->text, shown_text(), &v, &err);
        if (ok && (v < spec.min || v > spec.max)) {
          ok = false;
          err = fmt::format("{} is out of range [{}, {}]", v, spec.min, spec.max);
        }
        values_[i] = v;
        break;
      }
      case Type::kDouble: {
        double v = 0;
        ok = detail::ParseDouble(n->text, "", &v, &err) || detail::ParseDouble(n->text, shown_text(), &v, &err);
        values_[i] = v;
        break;
      }
      case Type::kString:
        values_[i] = text;
        break;
      case Type::kSecret:
        values_[i] = Secret(text);
        break;
      case Type::kEnum: {
        if (std::find(spec.choices.begin(), spec.choices.end(), n->text) == spec.choices.end()) {
          ok = false;
          std::vector<std::string> c(spec.choices.begin(), spec.choices.end());
          std::string g = ClosestMatch(n->text, c);
          err = fmt::format("{} is not one of {}{}", shown_text(), fmt::join(spec.choices, ", "),
                            g.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", g));
        }
        values_[i] = text;
        break;
      }
      case Type::kDuration: {
        std::chrono::milliseconds d{0};
        ok = detail::ParseDuration(n->text, "", &d, &err) ||
             detail::ParseDuration(n->text, shown_text(), &d, &err);
        if (ok && (d.count() < spec.min || d.count() > spec.max)) {
          ok = false;
          err = fmt::format("{} is out of range [{}, {}]", detail::FormatDuration(d),
                            detail::FormatDuration(std::chrono::milliseconds(spec.min)),
                            detail::FormatDuration(std::chrono::milliseconds(spec.max)));
        }
        values_[i] = d;
        break;
      }
      case Type::kUrl:
      case Type::kSecretUrl:
        if (!text.empty()) {
          ok = detail::ParseUrl(text, "", spec.choices, &err) || detail::ParseUrl(text, shown_text(), spec.choices, &err);
        }
        if (spec.type == Type::kUrl) values_[i] = text;
        else values_[i] = Secret(text);
        break;
    }
    if (!ok) Fail(spec.path, n->src, std::move(err), spec.secret());
  }
}

void Loader::ProductionChecks() {
  static const std::string kEmpty;
  auto str = [&](const char* p) -> const std::string& {
    const auto* v = std::get_if<std::string>(&values_[static_cast<std::size_t>(schema_.Find(p))]);
    return v ? *v : kEmpty;
  };
  auto boolean = [&](const char* p) {
    const auto* v = std::get_if<bool>(&values_[static_cast<std::size_t>(schema_.Find(p))]);
    return v ? *v : false;
  };
  auto secret = [&](const char* p) -> const std::string& {
    const auto* v = std::get_if<Secret>(&values_[static_cast<std::size_t>(schema_.Find(p))]);
    return v ? v->reveal() : kEmpty;
  };
  auto at = [&](const char* p) {
    const Node* n = FindPath(p);
    return n ? n->src : Src{};
  };
  if (str("service.environment") != "production") return;
  if (boolean("debug")) Warn("debug", at("debug"), "debug is on in production");
  if (!boolean("tls.verify") && FindPath("tls.verify")) Warn("tls.verify", at("tls.verify"), "TLS verification is off in production");
  if (!boolean("s3.verify_tls") && FindPath("s3.verify_tls")) {
    Warn("s3.verify_tls", at("s3.verify_tls"), "TLS verification is off in production");
  }
  const std::string& level = str("logging.level");
  if (level == "trace" || level == "debug") {
    Warn("logging.level", at("logging.level"),
         fmt::format("{} logging in production (slow, and it may log sensitive data)", level));
  }
  const std::string& akid = str("s3.access_key_id");
  if (akid == "AKIAIOSFODNN7EXAMPLE") {
    Warn("s3.access_key_id", at("s3.access_key_id"),
         "an example credential (AKIAIOSFODNN7EXAMPLE, from the AWS documentation) in production");
  } else if (akid == "minioadmin") {
    Warn("s3.access_key_id", at("s3.access_key_id"), "an example credential (MinIO's default) in production");
  }
  const std::string& sk = secret("s3.secret_access_key");
  if (sk == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") {
    Warn("s3.secret_access_key", at("s3.secret_access_key"),
         "an example credential (the AWS documentation's example secret key) in production");
  } else if (sk == "minioadmin") {
    Warn("s3.secret_access_key", at("s3.secret_access_key"),
         "an example credential (MinIO's default) in production");
  }
  const std::string& pw = secret("database.password");
  for (const char* weak : {"postgres", "password", "changeme", "esper", "secret"}) {
    if (pw == weak) {
      Warn("database.password", at("database.password"),
           "a well-known default password in production");
      break;
    }
  }
  const std::string& redis = secret("redis.url");
  for (const char* weak : {":password@", ":changeme@", ":redis@", ":secret@"}) {
    if (redis.find(weak) != std::string::npos) {
      Warn("redis.url", at("redis.url"), "a well-known default password in production");
      break;
    }
  }
}

void Loader::BuildSettings(Settings* s) {
  // Only called without errors, when every typed key holds its converted value.
  auto v = [&](const char* p) -> Value& { return values_[static_cast<std::size_t>(schema_.Find(p))]; };
  auto get = [&](const char* p, auto fallback) {
    const auto* x = std::get_if<decltype(fallback)>(&v(p));
    return x ? *x : fallback;
  };
  auto str = [&](const char* p) { return get(p, std::string()); };
  auto i64 = [&](const char* p) { return get(p, std::int64_t{0}); };
  auto i32 = [&](const char* p) { return static_cast<int>(get(p, std::int64_t{0})); };
  auto b = [&](const char* p) { return get(p, false); };
  auto d = [&](const char* p) { return get(p, std::chrono::milliseconds{0}); };
  auto sec = [&](const char* p) { return get(p, Secret()); };

  s->service.name = str("service.name");
  s->service.environment = str("service.environment");
  s->service.version = str("service.version");
  s->logging.level = str("logging.level");
  s->logging.format = str("logging.format");
  s->logging.file = str("logging.file");
  s->logging.queue_policy = str("logging.queue_policy");
  s->logging.queue_bytes = i64("logging.queue_bytes");
  s->logging.async = b("logging.async");
  s->http.connect_timeout = d("http.connect_timeout");
  s->http.request_timeout = d("http.request_timeout");
  s->http.overall_timeout = d("http.overall_timeout");
  s->http.max_connections = i32("http.max_connections");
  s->http.max_attempts = i32("http.max_attempts");
  s->http.user_agent = str("http.user_agent");
  s->s3.endpoint_url = str("s3.endpoint_url");
  s->s3.region = str("s3.region");
  s->s3.bucket = str("s3.bucket");
  s->s3.addressing_style = str("s3.addressing_style");
  s->s3.max_connections = i32("s3.max_connections");
  s->s3.max_attempts = i32("s3.max_attempts");
  s->s3.connect_timeout = d("s3.connect_timeout");
  s->s3.request_timeout = d("s3.request_timeout");
  s->s3.verify_tls = b("s3.verify_tls");
  s->s3.access_key_id = str("s3.access_key_id");
  s->s3.secret_access_key = sec("s3.secret_access_key");
  s->s3.session_token = sec("s3.session_token");
  s->storage.backend = str("storage.backend");
  s->storage.local_root = str("storage.local_root");
  s->database.host = str("database.host");
  s->database.port = i32("database.port");
  s->database.name = str("database.name");
  s->database.user = str("database.user");
  s->database.password = sec("database.password");
  s->database.pool_size = i32("database.pool_size");
  s->database.connect_timeout = d("database.connect_timeout");
  s->database.sslmode = str("database.sslmode");
  s->redis.url = sec("redis.url");
  s->redis.redacted_url = RedactUrl(s->redis.url.reveal());
  s->redis.pool_size = i32("redis.pool_size");
  for (const auto& name : detail::ServiceNames()) {
    s->services[name] = str(("services." + name).c_str());
  }
  s->performance.worker_threads = i32("performance.worker_threads");
  s->performance.max_concurrency = i32("performance.max_concurrency");
  s->performance.cache_size_mb = i64("performance.cache_size_mb");
  s->tls.verify = b("tls.verify");
  s->tls.ca_file = str("tls.ca_file");
  s->features = std::move(features_);
  s->debug = b("debug");
}

namespace {
std::size_t CountLeaves(const Node& n) {
  if (n.kind == Node::Kind::kScalar) return 1;
  std::size_t c = 0;
  for (const auto& ch : n.children) c += CountLeaves(*ch);
  return c;
}
}  // namespace

Result<std::shared_ptr<const Snapshot>> Loader::Run() {
  SetDefaults();
  std::vector<std::string> files = opts_.files;
  if (files.empty()) {
    auto it = env_->find("ESPER_CONFIG");
    if (it != env_->end()) {
      std::string_view list = it->second;
      while (!list.empty()) {
        std::size_t colon = list.find(':');
        std::string_view one = list.substr(0, colon);
        if (!one.empty()) files.emplace_back(one);
        if (colon == std::string_view::npos) break;
        list.remove_prefix(colon + 1);
      }
    }
  }
  for (const auto& f : files) LoadFile(f);
  for (const auto& t : opts_.texts) LoadText(t.name, t.text);
  ApplyEnvironment();
  ApplyOverrides();
  FillMissingDefaults();
  ApplyRenames();
  Validate();
  Convert();
  if (errors_ == 0) ProductionChecks();
  std::sort(order_.begin(), order_.end());
  {
    std::vector<Diagnostic> sorted;
    sorted.reserve(diags_.size());
    for (const auto& o : order_) sorted.push_back(std::move(diags_[std::get<4>(o)]));
    diags_ = std::move(sorted);
  }
  auto summary = [&](Diagnostic::Severity sev, std::size_t n) {
    if (n == 0) return;
    Diagnostic d;
    d.severity = sev;
    d.omitted = n;
    d.message = fmt::format("and {} more {}{}, not listed (a load lists the first {})", n,
                            sev == Diagnostic::Severity::kError ? "error" : "warning", n == 1 ? "" : "s",
                            std::max<std::size_t>(opts_.max_errors, 1));
    diags_.push_back(std::move(d));
  };
  summary(Diagnostic::Severity::kError, omitted_errors_);
  summary(Diagnostic::Severity::kWarning, omitted_warnings_);
  if (out_) *out_ = diags_;
  if (errors_ > 0) {
    std::vector<Diagnostic> errs;
    for (auto& d : diags_) {
      if (d.is_error()) errs.push_back(std::move(d));
    }
    return Error::InvalidArgument(fmt::format("configuration has {} error{}:\n{}", errors_,
                                              errors_ == 1 ? "" : "s", RenderDiagnostics(errs)));
  }
  auto impl = std::make_unique<Snapshot::Impl>();
  BuildSettings(&impl->settings);
  impl->leaves = CountLeaves(*root_);
  impl->root = std::move(root_);
  for (auto& f : files_) impl->files.push_back(std::move(f.name));
  impl->sources = std::move(sources_);
  impl->values = std::move(values_);
  for (auto& d : diags_) impl->warnings.push_back(std::move(d));
  return std::shared_ptr<const Snapshot>(std::make_shared<Snapshot>(std::move(impl)));
}

}  // namespace

Result<std::shared_ptr<const Snapshot>> Load(const LoadOptions& options, std::vector<Diagnostic>* diagnostics) {
  Loader l(options, diagnostics);
  return l.Run();
}

}  // namespace esper::config
