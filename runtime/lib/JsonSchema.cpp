//===- JsonSchema.cpp - Declarative reading of JSON documents -------------===//

#include "JsonSchema.h"

#include <algorithm>
#include <cmath>

namespace samoyeds {
namespace json {

bool Reader::fail(const std::string &path, const std::string &text) {
  if (message.empty())
    message = (prefix.empty() ? "" : prefix + ": ") +
              (path.empty() ? "(root)" : path) + ": " + context + text;
  return false;
}

std::string memberPath(const std::string &parent, const std::string &key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string elementPath(const std::string &parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

/// "expected WHAT, got KIND" for a value of the wrong kind.
static bool wrongKind(Reader &r, const Value &v, const std::string &path,
                      const std::string &what) {
  return r.fail(path, "expected " + what + ", got " + kindName(v.kind));
}

Rule<int64_t> integer(int64_t lo, int64_t hi) {
  std::string range =
      lo == INT64_MIN && hi == INT64_MAX
          ? ""
          : " [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return [lo, hi, range](Reader &r, const Value &v, const std::string &path,
                         int64_t &out) {
    if (v.isNumber() && !v.isInteger)
      return r.fail(path, "expected an integer" +
                              (range.empty() ? "" : " in" + range) +
                              ", got a number with a fraction or exponent");
    if (!v.isNumber())
      return wrongKind(r, v, path,
                       "an integer" + (range.empty() ? "" : " in" + range));
    if (v.integer < lo || v.integer > hi)
      return r.fail(path, "value " + std::to_string(v.integer) +
                              " out of range" + range);
    out = v.integer;
    return true;
  };
}

Rule<double> number() {
  return [](Reader &r, const Value &v, const std::string &path, double &out) {
    if (!v.isNumber())
      return wrongKind(r, v, path, "a number");
    if (!std::isfinite(v.number))
      return r.fail(path, "expected a finite number, got one beyond the "
                          "range of a double");
    out = v.number;
    return true;
  };
}

Rule<std::string> string() {
  return
      [](Reader &r, const Value &v, const std::string &path, std::string &out) {
        if (!v.isString())
          return wrongKind(r, v, path, "a string");
        out = v.string;
        return true;
      };
}

Rule<bool> boolean() {
  return [](Reader &r, const Value &v, const std::string &path, bool &out) {
    if (!v.isBool())
      return wrongKind(r, v, path, "true or false");
    out = v.boolean;
    return true;
  };
}

Rule<std::string> string(bool (*valid)(const std::string &),
                         std::string expected) {
  return [valid, expected](Reader &r, const Value &v, const std::string &path,
                           std::string &out) {
    if (!v.isString())
      return wrongKind(r, v, path, expected);
    if (!valid(v.string))
      return r.fail(path, "expected " + expected + ", got " + quote(v.string));
    out = v.string;
    return true;
  };
}

Rule<std::string> literal(const std::string &text) {
  std::vector<std::string> names = {text};
  return [names](Reader &r, const Value &v, const std::string &path,
                 std::string &out) {
    size_t index;
    if (!readChoice(r, v, path, names, index))
      return false;
    out = v.string;
    return true;
  };
}

Rule<int> reference(const std::unordered_map<std::string, int> &index,
                    const std::string &noun) {
  return [&index, noun](Reader &r, const Value &v, const std::string &path,
                        int &out) {
    if (!v.isString())
      return wrongKind(r, v, path, "a " + noun + " name");
    auto it = index.find(v.string);
    if (it == index.end())
      return r.fail(path, "unknown " + noun + " " + quote(v.string));
    out = it->second;
    return true;
  };
}

std::string listChoices(const std::vector<std::string> &names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i == 0                  ? ""
            : i + 1 == names.size() ? " or "
                                    : ", ") +
           ("\"" + names[i] + "\"");
  return out;
}

bool readChoice(Reader &r, const Value &v, const std::string &path,
                const std::vector<std::string> &names, size_t &index) {
  if (!v.isString())
    return wrongKind(r, v, path, listChoices(names));
  auto it = std::find(names.begin(), names.end(), v.string);
  if (it == names.end())
    return r.fail(path, "expected " + listChoices(names) + ", got " +
                            quote(v.string));
  index = size_t(it - names.begin());
  return true;
}

bool expectArray(Reader &r, const Value &v, const std::string &path, size_t min,
                 size_t max) {
  if (!v.isArray())
    return wrongKind(r, v, path, "an array");
  size_t n = v.array.size();
  if (n >= min && n <= max)
    return true;
  std::string count = min == max ? std::to_string(min)
                      : max == SIZE_MAX
                          ? "at least " + std::to_string(min)
                          : std::to_string(min) + " to " + std::to_string(max);
  return r.fail(path,
                "expected " + count + " entries, got " + std::to_string(n));
}

bool expectObject(Reader &r, const Value &v, const std::string &path,
                  Members members, const std::vector<std::string> &keys) {
  if (!v.isObject())
    return wrongKind(r, v, path, "an object");
  if (members == Members::Open)
    return true;
  for (const auto &member : v.object)
    if (std::find(keys.begin(), keys.end(), member.first) == keys.end())
      return r.fail(path, "unknown field " + quote(member.first) +
                              " (expected " + listChoices(keys) + ")");
  return true;
}

bool readTag(Reader &r, const Value &v, const std::string &path,
             const std::string &noun, const std::vector<std::string> &tags,
             size_t &choice) {
  if (!v.isObject())
    return wrongKind(r, v, path, "an object with a key " + listChoices(tags));
  for (choice = 0; choice < tags.size(); ++choice)
    if (v.get(tags[choice]))
      return true;
  if (v.object.empty())
    return r.fail(path, "expected a key " + listChoices(tags) + ", got {}");
  return r.fail(path, "unknown " + noun + " " + quote(v.object.front().first) +
                          " (expected " + listChoices(tags) + ")");
}

} // namespace json
} // namespace samoyeds
