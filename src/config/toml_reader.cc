#include "config/toml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace reaperd::config {

Position PositionOf(const toml::source_region& region) noexcept {
  return {static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

std::string_view TypeName(const toml::node& node) noexcept {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

void ParseContext::Fail(Position where, std::string key, std::string message) {
  if (error_) return;
  error_ = ConfigError{source_, where.line, where.column, std::move(key), std::move(message)};
}

void ParseContext::NotePresent(const std::string& key, Position where) {
  keys_.present.push_back(key);
  where_.insert_or_assign(key, where);
}

std::optional<Position> ParseContext::Where(std::string_view key) const {
  auto it = where_.find(key);
  if (it == where_.end()) return std::nullopt;
  return it->second;
}

std::string TableReader::Dotted(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
}

const toml::node* TableReader::Find(std::string_view key) {
  asked_.emplace_back(key);
  ctx_.NoteKnown(Dotted(key));
  if (!ctx_.ok()) return nullptr;
  const toml::node* node = table_.get(key);
  if (node != nullptr) ctx_.NotePresent(Dotted(key), PositionOf(node->source()));
  return node;
}

void TableReader::WrongType(std::string_view key, const toml::node& node,
                            std::string_view expected) {
  ctx_.Fail(PositionOf(node.source()), std::string(key),
            fmt::format("expected {}, got {}", expected, TypeName(node)));
}

std::optional<std::int64_t> TableReader::Integer(std::string_view key, const toml::node& node,
                                                 std::int64_t lo, std::int64_t hi) {
  const auto* v = node.as_integer();
  if (v == nullptr) {
    WrongType(key, node, "an integer");
    return std::nullopt;
  }
  const std::int64_t x = v->get();
  if (x < lo || x > hi) {
    ctx_.Fail(PositionOf(node.source()), std::string(key),
              fmt::format("{} is out of range {}..{}", x, lo, hi));
    return std::nullopt;
  }
  return x;
}

void TableReader::Int(std::string_view key, int& out, int lo, int hi) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  if (auto x = Integer(Dotted(key), *node, lo, hi)) out = static_cast<int>(*x);
}

void TableReader::Uint32(std::string_view key, std::uint32_t& out, std::uint32_t lo,
                         std::uint32_t hi) {
  std::optional<std::uint32_t> v;
  Uint32(key, v, lo, hi);
  if (v) out = *v;
}

void TableReader::Uint32(std::string_view key, std::optional<std::uint32_t>& out, std::uint32_t lo,
                         std::uint32_t hi) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  if (auto x = Integer(Dotted(key), *node, lo, hi)) out = static_cast<std::uint32_t>(*x);
}

void TableReader::Double(std::string_view key, double& out, double lo, double hi) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  double x = 0;
  // A whole number is a fine percentage: "warn_available_percent = 10" means 10.0.
  if (const auto* f = node->as_floating_point()) {
    x = f->get();
  } else if (const auto* i = node->as_integer()) {
    x = static_cast<double>(i->get());
  } else {
    WrongType(Dotted(key), *node, "a number");
    return;
  }
  // Written so that nan fails too.
  if (!(x >= lo && x <= hi)) {
    ctx_.Fail(PositionOf(node->source()), Dotted(key),
              fmt::format("{} is out of range {}..{}", x, lo, hi));
    return;
  }
  out = x;
}

void TableReader::Bool(std::string_view key, bool& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  if (const auto* b = node->as_boolean()) {
    out = b->get();
  } else {
    WrongType(Dotted(key), *node, "a boolean");
  }
}

void TableReader::String(std::string_view key, std::string& out) {
  std::optional<std::string> v;
  String(key, v);
  if (v) out = std::move(*v);
}

void TableReader::String(std::string_view key, std::optional<std::string>& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  if (const auto* s = node->as_string()) {
    out = s->get();
  } else {
    WrongType(Dotted(key), *node, "a string");
  }
}

void TableReader::StringArray(std::string_view key, std::vector<std::string>& out) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  const auto* array = node->as_array();
  if (array == nullptr) {
    WrongType(Dotted(key), *node, "an array of strings");
    return;
  }
  std::vector<std::string> values;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const auto* s = element.as_string();
    if (s == nullptr) {
      WrongType(fmt::format("{}[{}]", Dotted(key), i), element, "a string");
      return;
    }
    values.push_back(s->get());
  }
  out = std::move(values);
}

void TableReader::Uint32Array(std::string_view key, std::vector<std::uint32_t>& out,
                              std::uint32_t lo, std::uint32_t hi) {
  const toml::node* node = Find(key);
  if (node == nullptr) return;
  const auto* array = node->as_array();
  if (array == nullptr) {
    WrongType(Dotted(key), *node, "an array of integers");
    return;
  }
  std::vector<std::uint32_t> values;
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto x = Integer(fmt::format("{}[{}]", Dotted(key), i), *array->get(i), lo, hi);
    if (!x) return;
    values.push_back(static_cast<std::uint32_t>(*x));
  }
  out = std::move(values);
}

void TableReader::Choice(std::string_view key, std::span<const std::string_view> names,
                         std::size_t& index) {
  std::optional<std::string> value;
  String(key, value);
  if (!value || !ctx_.ok()) return;
  auto it = std::find(names.begin(), names.end(), *value);
  if (it != names.end()) {
    index = static_cast<std::size_t>(it - names.begin());
    return;
  }
  std::string accepted;
  for (std::string_view n : names) {
    accepted += fmt::format("{}\"{}\"", accepted.empty() ? "" : ", ", n);
  }
  ctx_.Fail(ctx_.Where(Dotted(key)).value_or(Position{}), Dotted(key),
            fmt::format("\"{}\" is not one of {}", *value, accepted));
}

void TableReader::RejectUnknown() {
  if (!ctx_.ok()) return;
  for (auto&& [k, node] : table_) {
    if (std::find(asked_.begin(), asked_.end(), k.str()) != asked_.end()) continue;
    // A key's own region is where it is written, which for a [table.header] is that header.
    const bool is_table = node.is_table() || node.is_array_of_tables();
    ctx_.Fail(PositionOf(k.source()), Dotted(k.str()),
              is_table ? fmt::format("unknown table [{}]", Dotted(k.str())) : "unknown key");
    return;
  }
}

}  // namespace reaperd::config
