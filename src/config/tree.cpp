#include "config/tree.h"

#include <fmt/format.h>
#include <yaml.h>

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

Node* Node::AddUnique(std::unique_ptr<Node>& child) {
  if (Node* existing = Find(child->key)) return existing;
  Add(std::move(child));
  return nullptr;
}

bool Node::IsNull() const {
  return kind == Kind::kScalar && plain &&
         (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL");
}

namespace {

struct Frame {
  std::unique_ptr<Node> node;
  bool want_key = true;  // mapping: the next event is a key
  bool drop = false;     // mapping: discard the next value (its key was rejected)
  std::string key;
  std::uint32_t key_line = 0, key_col = 0;
};

class Builder {
 public:
  Builder(std::uint32_t file, std::vector<YamlProblem>* problems) : file_(file), problems_(problems) {}

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
        if (parser.context) {
          msg += fmt::format(" ({} at line {})", parser.context, parser.context_mark.line + 1);
        }
        Problem(static_cast<std::uint32_t>(parser.problem_mark.line + 1),
                static_cast<std::uint32_t>(parser.problem_mark.column + 1), std::move(msg));
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
    if (problems_) problems_->push_back({line, col, std::move(msg)});
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
  std::vector<Frame> stack_;
  std::unique_ptr<Node> root_;
  int documents_ = 0;
};

}  // namespace

std::unique_ptr<Node> ParseYaml(std::string_view text, std::uint32_t file_index,
                                std::vector<YamlProblem>* problems) {
  Builder b(file_index, problems);
  return b.Run(text);
}

}  // namespace esper::config::detail
