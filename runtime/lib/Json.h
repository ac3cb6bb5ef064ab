//===- Json.h - A tiny JSON reader ------------------------------*- C++ -*-===//
//
// Just enough JSON for manifest.json: objects (insertion ordered), arrays,
// strings with escapes (UTF-8 checked), numbers, true/false/null. Errors
// carry line:column.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_RUNTIME_JSON_H
#define SAMOYEDS_RUNTIME_JSON_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace samoyeds {
namespace json {

/// A parsed JSON value.
class Value {
public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  /// True when the number was written without fraction or exponent.
  bool isInteger = false;
  int64_t integer = 0;
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;

  bool isNull() const { return kind == Kind::Null; }
  bool isObject() const { return kind == Kind::Object; }
  bool isArray() const { return kind == Kind::Array; }
  bool isString() const { return kind == Kind::String; }
  bool isNumber() const { return kind == Kind::Number; }
  bool isBool() const { return kind == Kind::Bool; }

  /// Member `key` of an object, or null when absent (or not an object).
  const Value *get(const std::string &key) const;
};

/// Returns a short name of the kind ("object", "string", ...).
const char *kindName(Value::Kind kind);

/// Parses `text` into `out`. On failure returns false and sets `error` to
/// "LINE:COL: message". Nesting deeper than kMaxDepth, invalid UTF-8 in a
/// string and duplicate keys are errors.
bool parse(const std::string &text, Value &out, std::string &error);

/// The deepest nesting of arrays and objects parse() accepts.
constexpr int kMaxDepth = 256;

/// The most bytes of a value quote() shows.
constexpr size_t kQuoteLimit = 64;

/// `s` for an error message: in single quotes, at most kQuoteLimit bytes
/// (longer values end in "...' (N bytes)"), with `'`, `\` and every byte
/// outside printable ASCII escaped (`\'`, `\\`, `\xNN`). Every value an
/// error message takes from a file goes through it.
std::string quote(const std::string &s);

} // namespace json
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_JSON_H
