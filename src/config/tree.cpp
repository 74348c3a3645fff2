#include "config/tree.h"

#include <fmt/format.h>
#include <yaml.h>

#include <algorithm>
#include <limits>

#include "esper/core/redact.h"

namespace esper::config::detail {

namespace {
constexpr std::size_t kIndexThreshold = 8;
}

namespace {

std::size_t HashKey(std::string_view k) { return std::hash<std::string_view>()(k); }

// Places child position `pos` (key `k`) in the table; the table has room.
void Place(std::vector<std::uint32_t>& table, std::string_view k, std::size_t pos) {
  const std::size_t mask = table.size() - 1;
  std::size_t h = HashKey(k) & mask;
  while (table[h] != 0) h = (h + 1) & mask;
  table[h] = static_cast<std::uint32_t>(pos + 1);
}

void Rebuild(Node& n, std::size_t capacity) {
  std::size_t size = 16;
  while (size < capacity * 2) size <<= 1;
  n.index.assign(size, 0);
  for (std::size_t i = 0; i < n.children.size(); ++i) Place(n.index, n.children[i]->key, i);
}

}  // namespace

std::int64_t Node::Position(std::string_view k) const {
  if (!index.empty()) {
    const std::size_t mask = index.size() - 1;
    for (std::size_t h = HashKey(k) & mask; index[h] != 0; h = (h + 1) & mask) {
      std::size_t pos = index[h] - 1;
      if (children[pos]->key == k) return static_cast<std::int64_t>(pos);
    }
    return -1;
  }
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (children[i]->key == k) return static_cast<std::int64_t>(i);
  }
  return -1;
}

Node* Node::Find(std::string_view k) const {
  std::int64_t pos = Position(k);
  return pos < 0 ? nullptr : children[static_cast<std::size_t>(pos)].get();
}

Node* Node::Add(std::unique_ptr<Node> child) {
  Node* raw = child.get();
  children.push_back(std::move(child));
  if (kind != Kind::kMap) return raw;
  if (!index.empty()) {
    if (children.size() * 2 > index.size()) {
      Rebuild(*this, children.size() * 2);
    } else {
      Place(index, raw->key, children.size() - 1);
    }
  } else if (children.size() > kIndexThreshold) {
    Rebuild(*this, children.size() * 2);
  }
  return raw;
}

std::unique_ptr<Node> Node::Remove(std::size_t pos) {
  std::unique_ptr<Node> out = std::move(children[pos]);
  children.erase(children.begin() + static_cast<std::ptrdiff_t>(pos));
  if (!index.empty()) Rebuild(*this, children.size() * 2);
  return out;
}

Node* Node::AddUnique(std::unique_ptr<Node>& child) {
  if (Node* existing = Find(child->key)) return existing;
  Add(std::move(child));
  return nullptr;
}

bool Node::IsNull() const {
  return kind == Kind::kScalar && plain &&
         (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL");
}

std::size_t Chars(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

namespace {

struct Frame {
  std::unique_ptr<Node> node;
  bool want_key = true;  // mapping: the next event is a key
  bool drop = false;     // mapping: discard the next value (its key was rejected)
  std::string key;
  std::uint32_t key_line = 0, key_col = 0;
};

// Where the parse stopped (0-based line and character column): a reader error (a bad byte: invalid
// UTF-8, NUL, a control character) has an offset, not a mark — libyaml's mark stays at 0:0.
std::pair<std::size_t, std::size_t> ErrorAt(const yaml_parser_t& p, std::string_view text) {
  if (p.error != YAML_READER_ERROR) return {p.problem_mark.line, p.problem_mark.column};
  const std::size_t end = std::min(p.problem_offset, text.size());
  const std::size_t line_start = end == 0 ? std::string_view::npos : text.rfind('\n', end - 1);
  const std::size_t from = line_start == std::string_view::npos ? 0 : line_start + 1;
  return {static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), '\n')),
          Chars(text.substr(from, end - from))};
}

class Builder {
 public:
  Builder(std::uint32_t file, std::vector<YamlProblem>* problems, std::size_t max_problems, std::size_t* more)
      : file_(file), problems_(problems), max_problems_(max_problems), more_(more) {}

  std::unique_ptr<Node> Run(std::string_view text) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
      Problem(0, 0, "out of memory initialising the YAML parser");
      return nullptr;
    }
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    bool done = false;
    bool ok = true;
    while (!done && ok) {
      yaml_event_t ev;
      if (!yaml_parser_parse(&parser, &ev)) {
        std::string msg = fmt::format("YAML syntax error: {}", parser.problem ? parser.problem : "unknown");
        if (parser.error == YAML_READER_ERROR && parser.problem_value >= 0) {
          const auto v = static_cast<unsigned>(parser.problem_value);
          msg += v > 0xFF ? fmt::format(" (character U+{:04X})", v) : fmt::format(" (byte 0x{:02X})", v);
        }
        if (parser.context) {
          msg += fmt::format(" ({} at line {})", parser.context, parser.context_mark.line + 1);
        }
        const auto [line, col] = ErrorAt(parser, text);
        Problem(static_cast<std::uint32_t>(line + 1), static_cast<std::uint32_t>(col + 1), std::move(msg));
        ok = false;
        break;
      }
      ok = Handle(ev, &done);
      yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (!ok) return nullptr;
    if (!root_) {
      root_ = std::make_unique<Node>();
      root_->kind = Node::Kind::kMap;
    }
    return std::move(root_);
  }

 private:
  void Problem(std::uint32_t line, std::uint32_t col, std::string msg) {
    if (!problems_) return;
    if (problems_->size() < max_problems_ || !more_) {
      problems_->push_back({line, col, std::move(msg)});
    } else {
      ++*more_;
    }
  }
  static std::uint32_t Line(const yaml_mark_t& m) { return static_cast<std::uint32_t>(m.line + 1); }
  static std::uint32_t Col(const yaml_mark_t& m) { return static_cast<std::uint32_t>(m.column + 1); }

  std::unique_ptr<Node> MakeNode(Node::Kind kind, const yaml_mark_t& m) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->src.kind = Origin::Kind::kFile;
    n->src.file = file_;
    n->src.line = Line(m);
    n->src.col = Col(m);
    return n;
  }

  // Attaches a finished value to the frame on top (or makes it the root).
  bool Attach(std::unique_ptr<Node> n) {
    if (stack_.empty()) {
      if (n->kind != Node::Kind::kMap) {
        if (n->IsNull()) return true;  // an empty document
        Problem(n->src.line, n->src.col,
                "the top level of a configuration file must be a mapping of sections "
                "(\"section:\" lines)");
        return false;
      }
      root_ = std::move(n);
      return true;
    }
    Frame& p = stack_.back();
    if (p.node->kind == Node::Kind::kSeq) {
      p.node->children.push_back(std::move(n));
      return true;
    }
    p.want_key = true;
    if (p.drop) {
      p.drop = false;
      return true;
    }
    n->key = std::move(p.key);
    n->key_line = p.key_line;
    n->key_col = p.key_col;
    if (const Node* first = p.node->AddUnique(n)) {
      Problem(n->key_line, n->key_col,
              fmt::format("duplicate key \"{}\" (first defined at line {})", n->key, first->key_line));
    }
    return true;
  }

  // A scalar (or alias) in key position.
  void Key(Frame& p, std::string key, const yaml_mark_t& m) {
    p.want_key = false;
    p.drop = false;
    p.key_line = Line(m);
    p.key_col = Col(m);
    if (key.empty()) {
      Problem(p.key_line, p.key_col, "empty key");
      p.drop = true;
    } else if (key.find('.') != std::string::npos) {
      Problem(p.key_line, p.key_col,
              fmt::format("key \"{}\" contains '.', which separates levels; nest it instead", key));
      p.drop = true;
    }
    p.key = std::move(key);
  }

  bool Handle(const yaml_event_t& ev, bool* done) {
    switch (ev.type) {
      case YAML_STREAM_START_EVENT:
      case YAML_DOCUMENT_END_EVENT:
        return true;
      case YAML_STREAM_END_EVENT:
        *done = true;
        return true;
      case YAML_DOCUMENT_START_EVENT:
        if (++documents_ > 1) {
          Problem(Line(ev.start_mark), Col(ev.start_mark),
                  "a configuration file holds one YAML document; found a second '---'");
          return false;
        }
        return true;
      case YAML_ALIAS_EVENT: {
        Problem(Line(ev.start_mark), Col(ev.start_mark),
                fmt::format("aliases (*{}) are not supported; repeat the value instead",
                            reinterpret_cast<const char*>(ev.data.alias.anchor)));
        if (stack_.empty()) return false;
        Frame& p = stack_.back();
        if (p.node->kind == Node::Kind::kMap) {
          if (p.want_key) {
            p.want_key = false;
            p.drop = true;
          } else {
            p.want_key = true;
            p.drop = false;
          }
        }
        return true;
      }
      case YAML_SCALAR_EVENT: {
        std::string text(reinterpret_cast<const char*>(ev.data.scalar.value), ev.data.scalar.length);
        if (ev.data.scalar.tag) {
          Problem(Line(ev.start_mark), Col(ev.start_mark),
                  fmt::format("explicit tags ({}) are not supported; the schema gives each key its type",
                              reinterpret_cast<const char*>(ev.data.scalar.tag)));
        }
        if (!stack_.empty() && stack_.back().node->kind == Node::Kind::kMap && stack_.back().want_key) {
          Key(stack_.back(), std::move(text), ev.start_mark);
          return true;
        }
        auto n = MakeNode(Node::Kind::kScalar, ev.start_mark);
        n->text = std::move(text);
        n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return Attach(std::move(n));
      }
      case YAML_MAPPING_START_EVENT:
      case YAML_SEQUENCE_START_EVENT: {
        if (!stack_.empty() && stack_.back().node->kind == Node::Kind::kMap && stack_.back().want_key) {
          Problem(Line(ev.start_mark), Col(ev.start_mark),
                  "a key must be a plain value, not a mapping or sequence");
          return false;
        }
        const unsigned char* tag = ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.tag
                                                                        : ev.data.sequence_start.tag;
        if (tag) {
          Problem(Line(ev.start_mark), Col(ev.start_mark),
                  fmt::format("explicit tags ({}) are not supported; the schema gives each key its type",
                              reinterpret_cast<const char*>(tag)));
        }
        if (stack_.size() >= static_cast<std::size_t>(kMaxDepth)) {
          Problem(Line(ev.start_mark), Col(ev.start_mark),
                  fmt::format("nesting deeper than {} levels", kMaxDepth));
          return false;
        }
        Frame f;
        f.node = MakeNode(ev.type == YAML_MAPPING_START_EVENT ? Node::Kind::kMap : Node::Kind::kSeq,
                          ev.start_mark);
        stack_.push_back(std::move(f));
        return true;
      }
      case YAML_MAPPING_END_EVENT:
      case YAML_SEQUENCE_END_EVENT: {
        std::unique_ptr<Node> n = std::move(stack_.back().node);
        stack_.pop_back();
        return Attach(std::move(n));
      }
      case YAML_NO_EVENT:
        return true;
    }
    return true;
  }

  std::uint32_t file_;
  std::vector<YamlProblem>* problems_;
  std::size_t max_problems_;
  std::size_t* more_;
  std::vector<Frame> stack_;
  std::unique_ptr<Node> root_;
  int documents_ = 0;
};

}  // namespace

std::unique_ptr<Node> ParseYaml(std::string_view text, std::uint32_t file_index,
                                std::vector<YamlProblem>* problems, std::size_t max_problems, std::size_t* more) {
  Builder b(file_index, problems, max_problems, more);
  return b.Run(text);
}

namespace {

// Walks the events of a YAML text and records where secret values are (see SecretSpans).
class SecretWalk {
 public:
  std::vector<SecretSpan> Run(std::string_view text) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return {{0, 0, kEnd, 0}};  // nothing known: mask all
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    bool done = false;
    while (!done) {
      yaml_event_t ev;
      if (!yaml_parser_parse(&parser, &ev)) {
        Stopped(text, ErrorAt(parser, text));
        break;
      }
      done = ev.type == YAML_STREAM_END_EVENT;
      Handle(ev);
      last_end_ = ev.end_mark;
      yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return std::move(spans_);
  }

 private:
  static constexpr std::uint32_t kEnd = std::numeric_limits<std::uint32_t>::max();
  struct Frame {
    bool map = false;
    bool want_key = true;
    std::string key;       // this collection's key in its parent ("" at the top, in a sequence)
    std::string last_key;  // a mapping: the key whose value comes next
  };

  static std::uint32_t U32(std::size_t v) { return v > kEnd ? kEnd : static_cast<std::uint32_t>(v); }
  void Span(const yaml_mark_t& from, const yaml_mark_t& to) {
    spans_.push_back({U32(from.line), U32(from.column), U32(to.line), U32(to.column)});
  }
  void ValueDone() {
    if (!stack_.empty() && stack_.back().map) stack_.back().want_key = true;
  }

  void Handle(const yaml_event_t& ev) {
    const bool start = ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT;
    const bool end = ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT;
    if (secret_depth_ >= 0) {  // inside the collection value of a secret key
      if (start) stack_.push_back({ev.type == YAML_MAPPING_START_EVENT, true, {}, {}});
      if (end) {
        stack_.pop_back();
        if (stack_.size() == static_cast<std::size_t>(secret_depth_)) {
          Span(secret_start_, ev.end_mark);
          secret_depth_ = -1;
          ValueDone();
        }
      }
      return;
    }
    const bool key_position = !stack_.empty() && stack_.back().map && stack_.back().want_key;
    if (start) {
      if (key_position) stack_.back().want_key = false;  // a complex key: its value follows
      if (pending_ && !key_position) {
        secret_depth_ = static_cast<int>(stack_.size());
        secret_start_ = ev.start_mark;
        pending_ = false;
      }
      std::string key = !key_position && !stack_.empty() && stack_.back().map ? stack_.back().last_key : "";
      stack_.push_back({ev.type == YAML_MAPPING_START_EVENT, true, std::move(key), {}});
    } else if (end) {
      if (!stack_.empty()) stack_.pop_back();
      ValueDone();
    } else if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT) {
      std::string_view text;
      if (ev.type == YAML_SCALAR_EVENT) {
        text = std::string_view(reinterpret_cast<const char*>(ev.data.scalar.value), ev.data.scalar.length);
      }
      if (key_position) {
        Frame& f = stack_.back();
        f.want_key = false;
        f.last_key = text;
        // The key with its parent's: "api" + "key" is an API key (esper::IsSecretKey on the path).
        pending_ = IsSecretKey(f.key + "." + f.last_key);
        pending_from_ = ev.end_mark;
        return;
      }
      if (pending_ || (text.find("://") != std::string_view::npos && UrlHasCredentials(text))) {
        Span(ev.start_mark, ev.end_mark);
      }
      pending_ = false;
      ValueDone();
    }
  }

  // The byte offset of character column `col` in `line` (its end when shorter).
  static std::size_t ByteOf(std::string_view line, std::size_t col) {
    std::size_t i = 0;
    for (std::size_t c = 0; i < line.size(); ++i) {
      if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80 && c++ == col) break;
    }
    return i;
  }
  static bool MayHoldASecret(std::string_view s) {
    return IsSecretKey(s) || (s.find("://") != std::string_view::npos && s.find_first_of("@?") != std::string_view::npos);
  }

  // The parse stopped at an error: what is past the last event is not known.
  void Stopped(std::string_view text, std::pair<std::size_t, std::size_t> error) {
    const yaml_mark_t eof{0, kEnd, 0};
    if (pending_) Span(pending_from_, eof);  // a secret key whose value did not parse
    if (secret_depth_ >= 0) Span(secret_start_, eof);
    // The unparsed rest, up to the line of the error (the only one a diagnostic shows): a stretch
    // that names a secret or holds a URL with user-info or a query is masked to the end of its
    // line — from the error on when only the text after the error looks so, else from the stop.
    std::size_t line = 0, pos = 0;
    while (line < last_end_.line && pos < text.size()) {
      pos = text.find('\n', pos);
      if (pos == std::string_view::npos) return;
      ++pos;
      ++line;
    }
    std::size_t col = last_end_.column;
    for (; line <= error.first && pos <= text.size(); ++line) {
      const std::size_t eol = std::min(text.find('\n', pos), text.size());
      const std::string_view whole = text.substr(pos, eol - pos);
      const std::size_t err_col = line == error.first ? std::max(error.second, col) : col;
      const std::size_t from = ByteOf(whole, col), at = ByteOf(whole, err_col);
      if (MayHoldASecret(whole.substr(from, at - from))) {
        spans_.push_back({U32(line), U32(col), U32(line), kEnd});
      } else if (MayHoldASecret(whole.substr(at))) {
        spans_.push_back({U32(line), U32(err_col), U32(line), kEnd});
      }
      col = 0;
      if (eol == text.size()) break;
      pos = eol + 1;
    }
  }

  std::vector<SecretSpan> spans_;
  std::vector<Frame> stack_;
  bool pending_ = false;     // the last key named a secret and its value has not started
  yaml_mark_t pending_from_{};
  int secret_depth_ = -1;    // inside a secret collection value: the stack size it ends at
  yaml_mark_t secret_start_{};
  yaml_mark_t last_end_{};
};

}  // namespace

std::vector<SecretSpan> SecretSpans(std::string_view text) { return SecretWalk().Run(text); }

}  // namespace esper::config::detail
