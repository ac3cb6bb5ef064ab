//===- JsonSchema.h - Declarative reading of JSON documents -----*- C++ -*-===//
//
// The runtime's JSON documents (manifest.json, a weight file's `samoyeds`
// metadata) are read against tables of fields: each field names its key,
// whether it must be present, the rule its value must follow (an integer in
// a range, a string of a set, an array of objects, ...) and where the value
// goes. One generic reader walks the tables, so every rule has one place and
// every error has the same shape:
//
//   PREFIX: PATH: message       e.g. "manifest.json: launches[0].grid[1]: ..."
//
// Messages name the value they refuse: "missing required field",
// "expected X, got Y", "value V out of range [lo, hi]", "unknown NOUN 'S'",
// "duplicate NOUN 'S'". Every value taken from the document is quoted
// (json::quote: bounded and escaped). Checks between fields stay code, run
// after the fields they compare.
//
//===----------------------------------------------------------------------===//

#ifndef SAMOYEDS_RUNTIME_JSONSCHEMA_H
#define SAMOYEDS_RUNTIME_JSONSCHEMA_H

#include "Json.h"

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace samoyeds {
namespace json {

/// Records the first failure of a read as "PREFIX: PATH: CONTEXTmessage".
class Reader {
public:
  /// `prefix` (the file, or "") starts every message.
  explicit Reader(std::string prefix = "") : prefix(std::move(prefix)) {}

  /// Records that the value at `path` ("" for the document itself) breaks
  /// its rule, unless a failure is recorded already; returns false.
  bool fail(const std::string &path, const std::string &message);

  /// The message of the first failure ("" while there is none).
  const std::string &error() const { return message; }

  /// Puts `text` ("weight 'w': ") before the message of failures recorded
  /// while it lives: what the path alone does not say.
  class Context {
  public:
    Context(Reader &reader, std::string text)
        : reader(reader), saved(std::move(reader.context)) {
      reader.context = std::move(text);
    }
    ~Context() { reader.context = std::move(saved); }
    Context(const Context &) = delete;
    Context &operator=(const Context &) = delete;

  private:
    Reader &reader;
    std::string saved;
  };

private:
  std::string prefix, context, message;
};

/// "parent.key", or "key" when `parent` is the document ("").
std::string memberPath(const std::string &parent, const std::string &key);
/// "parent[index]".
std::string elementPath(const std::string &parent, size_t index);

/// Reads `value`, found at `path`, into `out`; false (after Reader::fail)
/// when the value breaks the rule.
template <class T>
using Rule = std::function<bool(Reader &reader, const Value &value,
                                const std::string &path, T &out)>;

//===----------------------------------------------------------------------===//
// Rules of scalar values
//===----------------------------------------------------------------------===//

/// An integer in [lo, hi], written without fraction or exponent.
Rule<int64_t> integer(int64_t lo = INT64_MIN, int64_t hi = INT64_MAX);

/// A finite number, with or without fraction or exponent (one beyond the
/// range of a double, e.g. 1e999, is refused).
Rule<double> number();

/// `true` or `false`.
Rule<bool> boolean();

/// Any string.
Rule<std::string> string();

/// A string that `valid` accepts; `expected` says which ("sm_XX[X][a-z]").
Rule<std::string> string(bool (*valid)(const std::string &),
                         std::string expected);

/// Exactly the string `text`.
Rule<std::string> literal(const std::string &text);

/// A name listed in `index` (of the symbols, buffers, ...), read as its
/// position there. `noun` ("symbol") names what it refers to.
Rule<int> reference(const std::unordered_map<std::string, int> &index,
                    const std::string &noun);

/// A string that `name` accepts and that is not yet in `index`, where it is
/// entered at position `list.size()` (the entry being read is appended to
/// `list` once read). `noun` ("buffer name") names it in the duplicate error.
template <class List>
Rule<std::string> newName(Rule<std::string> name,
                          std::unordered_map<std::string, int> &index,
                          const List &list, const std::string &noun) {
  return
      [name, &index, &list, noun](Reader &r, const Value &v,
                                  const std::string &path, std::string &out) {
        if (!name(r, v, path, out))
          return false;
        return index.emplace(out, int(list.size())).second ||
               r.fail(path, "duplicate " + noun + " " + quote(out));
      };
}

/// `"a", "b" or "c"`: the strings of `names`, JSON-quoted.
std::string listChoices(const std::vector<std::string> &names);

/// Sets `index` to the position of string `v` in `names`; fails with
/// "expected "a" or "b", got 'S'" (or the kind it got) otherwise.
bool readChoice(Reader &r, const Value &v, const std::string &path,
                const std::vector<std::string> &names, size_t &index);

/// One of the strings of `choices`, read as its value.
template <class E>
Rule<E> oneOf(const std::vector<std::pair<std::string, E>> &choices) {
  std::vector<std::string> names;
  std::vector<E> values;
  for (const auto &[name, value] : choices) {
    names.push_back(name);
    values.push_back(value);
  }
  return [names, values](Reader &r, const Value &v, const std::string &path,
                         E &out) {
    size_t index = 0;
    if (!readChoice(r, v, path, names, index))
      return false;
    out = values[index];
    return true;
  };
}

/// What `rule` reads, when `why(value)` is "" (else fails with its text).
template <class T>
Rule<T> satisfying(Rule<T> rule, std::string (*why)(const T &)) {
  return
      [rule, why](Reader &r, const Value &v, const std::string &path, T &out) {
        if (!rule(r, v, path, out))
          return false;
        std::string problem = why(out);
        return problem.empty() || r.fail(path, problem);
      };
}

//===----------------------------------------------------------------------===//
// Arrays and objects
//===----------------------------------------------------------------------===//

/// Fails unless `v` is an array of `min` to `max` entries.
bool expectArray(Reader &r, const Value &v, const std::string &path, size_t min,
                 size_t max);

/// An array of `min` to `max` entries that `rule` reads, each appended to
/// `out` once read.
template <class T>
Rule<std::vector<T>> arrayOf(Rule<T> rule, size_t min = 0,
                             size_t max = SIZE_MAX) {
  return [rule, min, max](Reader &r, const Value &v, const std::string &path,
                          std::vector<T> &out) {
    if (!expectArray(r, v, path, min, max))
      return false;
    for (size_t i = 0; i < v.array.size(); ++i) {
      T entry{};
      if (!rule(r, v.array[i], elementPath(path, i), entry))
        return false;
      out.push_back(std::move(entry));
    }
    return true;
  };
}

enum class Presence { Required, Optional };

/// Stores nothing: for a field that is checked and not kept.
struct Ignore {
  template <class T, class V> void operator()(T &, const V &) const {}
};
constexpr Ignore ignore{};

/// Stores into `(object.*outer).*inner` ("params.n" of a weight).
template <class T, class S, class M> auto at(S T::*outer, M S::*inner) {
  return [outer, inner](T &object, auto value) {
    (object.*outer).*inner = static_cast<M>(value);
  };
}

/// A member of an object of type T: its key, its presence and how its
/// value is read into the object.
template <class T> struct Field {
  std::string key;
  Rule<T> read;
  Presence presence = Presence::Required;

  /// A field whose rule reads into the whole object.
  Field(std::string key, Rule<T> read, Presence presence = Presence::Required)
      : key(std::move(key)), read(std::move(read)), presence(presence) {}

  /// A field whose value `rule` reads and `store` keeps: a member pointer
  /// (read in place when of type V, else converted to its type),
  /// `store(object, value)`, or ignore.
  template <class V, class Store>
  Field(std::string key, Rule<V> rule, Store store,
        Presence presence = Presence::Required)
      : key(std::move(key)), read(storing(std::move(rule), store)),
        presence(presence) {}

private:
  template <class V, class Store>
  static Rule<T> storing(Rule<V> rule, Store store) {
    return [rule, store](Reader &r, const Value &v, const std::string &path,
                         T &object) {
      if constexpr (std::is_same_v<Store, V T::*>) {
        return rule(r, v, path, object.*store); // In place: lists grow.
      } else {
        V value{};
        if (!rule(r, v, path, value))
          return false;
        if constexpr (std::is_member_object_pointer_v<Store>) {
          auto &member = object.*store;
          member = static_cast<std::decay_t<decltype(member)>>(value);
        } else {
          store(object, std::move(value));
        }
        return true;
      }
    };
  }
};

template <class T> using Fields = std::vector<Field<T>>;

/// Whether members that no field names are refused.
enum class Members { Open, Closed };

/// Fails unless `v` is an object; with Members::Closed, also when a member
/// is not one of `keys`.
bool expectObject(Reader &r, const Value &v, const std::string &path,
                  Members members = Members::Open,
                  const std::vector<std::string> &keys = {});

/// The keys of `fields`, in order.
template <class T> std::vector<std::string> keysOf(const Fields<T> &fields) {
  std::vector<std::string> keys;
  for (const Field<T> &f : fields)
    keys.push_back(f.key);
  return keys;
}

/// Reads the object `v` (at `path`) into `out`: every field of `fields`, in
/// order (a missing required one fails; an absent optional one leaves `out`
/// as it is). Other members are ignored, or refused when `members` is
/// Closed.
template <class T>
bool readFields(Reader &r, const Value &v, const std::string &path,
                const Fields<T> &fields, T &out,
                Members members = Members::Open) {
  if (!expectObject(r, v, path, members,
                    members == Members::Closed ? keysOf(fields)
                                               : std::vector<std::string>()))
    return false;
  for (const Field<T> &f : fields) {
    std::string at = memberPath(path, f.key);
    if (const Value *member = v.get(f.key)) {
      if (!f.read(r, *member, at, out))
        return false;
    } else if (f.presence == Presence::Required) {
      return r.fail(at, "missing required field");
    }
  }
  return true;
}

/// An object read by readFields.
template <class T>
Rule<T> object(Fields<T> fields, Members members = Members::Open) {
  return [fields = std::move(fields),
          members](Reader &r, const Value &v, const std::string &path, T &out) {
    return readFields(r, v, path, fields, out, members);
  };
}

/// Sets `choice` to the first of `tags` that `v` (an object) has as a key;
/// fails with "unknown NOUN 'KEY' (expected ...)" when it has none.
bool readTag(Reader &r, const Value &v, const std::string &path,
             const std::string &noun, const std::vector<std::string> &tags,
             size_t &choice);

/// An object of one of several forms ({"const": c}, {"ceil_div": [...]}):
/// each alternative's first field is its tag, and the object is read as the
/// first alternative whose tag it has, with no other members than that
/// alternative's fields. `noun` ("grid entry") names an unknown tag.
template <class T>
Rule<T> variant(const std::string &noun, std::vector<Fields<T>> alternatives) {
  std::vector<std::string> tags;
  for (const Fields<T> &a : alternatives)
    tags.push_back(a.front().key);
  return [noun, tags, alternatives = std::move(alternatives)](
             Reader &r, const Value &v, const std::string &path, T &out) {
    size_t choice = 0;
    return readTag(r, v, path, noun, tags, choice) &&
           readFields(r, v, path, alternatives[choice], out, Members::Closed);
  };
}

} // namespace json
} // namespace samoyeds

#endif // SAMOYEDS_RUNTIME_JSONSCHEMA_H
