//===- JsonSchemaTest.cpp - Tests of the declarative JSON reader ----------===//
//
// The rules and the generic object reader of runtime/lib/JsonSchema.h, on
// small documents: what each rule accepts and the located message of each
// refusal. (BundleTest and WeightFileTest check them in the two schemas.)
//
//===----------------------------------------------------------------------===//

#include "JsonSchema.h"

#include <gtest/gtest.h>

#include <climits>

using namespace samoyeds::json;

namespace {

Value parsed(const std::string &text) {
  Value v;
  std::string err;
  EXPECT_TRUE(parse(text, v, err)) << err;
  return v;
}

/// The message `rule` gives for `text` at path "f" of file "doc.json" (""
/// when it accepts it, with the value in `out`).
template <class T>
std::string refusal(const Rule<T> &rule, const std::string &text, T &out) {
  Reader r("doc.json");
  bool ok = rule(r, parsed(text), "f", out);
  EXPECT_EQ(ok, r.error().empty()) << r.error();
  return r.error();
}

template <class T>
std::string refusal(const Rule<T> &rule, const std::string &text) {
  T out{};
  return refusal(rule, text, out);
}

TEST(JsonSchema, Integers) {
  int64_t out = 0;
  EXPECT_EQ(refusal(integer(1, 16), "16", out), "");
  EXPECT_EQ(out, 16);
  EXPECT_EQ(refusal(integer(1, 16), "0"),
            "doc.json: f: value 0 out of range [1, 16]");
  EXPECT_EQ(refusal(integer(1, 16), "\"2\""),
            "doc.json: f: expected an integer in [1, 16], got string");
  EXPECT_EQ(refusal(integer(1, 16), "2.5"),
            "doc.json: f: expected an integer in [1, 16], got a number with "
            "a fraction or exponent");
  EXPECT_EQ(refusal(integer(), "true"),
            "doc.json: f: expected an integer, got boolean");
  EXPECT_EQ(refusal(integer(), "-9223372036854775808"), "");
}

TEST(JsonSchema, Numbers) {
  double out = 0;
  EXPECT_EQ(refusal(number(), "1.702", out), "");
  EXPECT_EQ(out, 1.702);
  EXPECT_EQ(refusal(number(), "7", out), "");
  EXPECT_EQ(out, 7.0);
  EXPECT_EQ(refusal(number(), "-2.5e-3", out), "");
  EXPECT_EQ(out, -2.5e-3);
  EXPECT_EQ(refusal(number(), "\"7\""),
            "doc.json: f: expected a number, got string");
  EXPECT_EQ(refusal(number(), "null"), "doc.json: f: expected a number, got "
                                       "null");
  for (const std::string &huge :
       {std::string("1e999"), std::string("-1e400"), std::string(400, '9')})
    EXPECT_EQ(refusal(number(), huge),
              "doc.json: f: expected a finite number, got one beyond the "
              "range of a double")
        << huge;
}

TEST(JsonSchema, Strings) {
  auto shortString = [](const std::string &s) { return s.size() < 3; };
  Rule<std::string> rule = string(+shortString, "fewer than 3 bytes");
  std::string out;
  EXPECT_EQ(refusal(rule, "\"ab\"", out), "");
  EXPECT_EQ(out, "ab");
  EXPECT_EQ(refusal(rule, "\"abc\""),
            "doc.json: f: expected fewer than 3 bytes, got 'abc'");
  EXPECT_EQ(refusal(rule, "[]"),
            "doc.json: f: expected fewer than 3 bytes, got array");
  EXPECT_EQ(refusal(string(), "null"), "doc.json: f: expected a string, got "
                                       "null");
  EXPECT_EQ(refusal(literal("v1"), "\"v2\""),
            "doc.json: f: expected \"v1\", got 'v2'");
}

TEST(JsonSchema, ChoicesQuoteWhatTheyGet) {
  enum class Color { Red, Green, Blue };
  Rule<Color> rule = oneOf<Color>(
      {{"red", Color::Red}, {"green", Color::Green}, {"blue", Color::Blue}});
  Color out = Color::Red;
  EXPECT_EQ(refusal(rule, "\"blue\"", out), "");
  EXPECT_EQ(out, Color::Blue);
  EXPECT_EQ(refusal(rule, "\"re\\u0000d\""),
            "doc.json: f: expected \"red\", \"green\" or \"blue\", got "
            "'re\\x00d'");
  EXPECT_EQ(refusal(rule, "1"),
            "doc.json: f: expected \"red\", \"green\" or \"blue\", got number");
}

TEST(JsonSchema, NamesAndReferences) {
  std::unordered_map<std::string, int> index;
  std::vector<std::string> list;
  Rule<std::vector<std::string>> names =
      arrayOf(newName(string(), index, list, "symbol"));
  Reader r;
  EXPECT_TRUE(names(r, parsed("[\"T\", \"P\"]"), "symbols", list));
  EXPECT_EQ(index.at("P"), 1);
  EXPECT_FALSE(names(r, parsed("[\"Q\", \"T\"]"), "symbols", list));
  EXPECT_EQ(r.error(), "symbols[1]: duplicate symbol 'T'");
  int at = -1;
  EXPECT_EQ(refusal(reference(index, "symbol"), "\"P\"", at), "");
  EXPECT_EQ(at, 1);
  EXPECT_EQ(refusal(reference(index, "symbol"), "\"X\""),
            "doc.json: f: unknown symbol 'X'");
  EXPECT_EQ(refusal(reference(index, "symbol"), "7"),
            "doc.json: f: expected a symbol name, got number");
}

TEST(JsonSchema, ArrayCounts) {
  Rule<std::vector<int64_t>> three = arrayOf(integer(), 3, 3);
  EXPECT_EQ(refusal(three, "[1, 2]"), "doc.json: f: expected 3 entries, got 2");
  EXPECT_EQ(refusal(arrayOf(integer(), 2, 3), "[]"),
            "doc.json: f: expected 2 to 3 entries, got 0");
  EXPECT_EQ(refusal(arrayOf(integer(), 1), "[]"),
            "doc.json: f: expected at least 1 entries, got 0");
  EXPECT_EQ(refusal(three, "[1, 2, \"3\"]"),
            "doc.json: f[2]: expected an integer, got string");
  EXPECT_EQ(refusal(three, "{}"), "doc.json: f: expected an array, got object");
}

struct Point {
  int64_t x = -1, y = -1;
  int z = -1;
};

const Fields<Point> kPoint = {
    {"x", integer(0, 9), &Point::x},
    {"y", integer(0, 9), &Point::y, Presence::Optional},
    {"z", integer(0, 9), &Point::z, Presence::Optional}};

TEST(JsonSchema, ObjectsReadTheirFieldsInOrder) {
  Point p;
  EXPECT_EQ(refusal(object(kPoint), R"({"x": 1, "z": 3, "w": 4})", p), "");
  EXPECT_EQ(p.x, 1);
  EXPECT_EQ(p.y, -1); // Optional and absent: unchanged.
  EXPECT_EQ(p.z, 3);  // Converted to the member's type.
  EXPECT_EQ(refusal(object(kPoint), R"({"y": 1})"),
            "doc.json: f.x: missing required field");
  EXPECT_EQ(refusal(object(kPoint), R"({"x": 10, "y": 20})"),
            "doc.json: f.x: value 10 out of range [0, 9]");
  EXPECT_EQ(refusal(object(kPoint, Members::Closed), R"({"x": 1, "w": 4})"),
            "doc.json: f: unknown field 'w' (expected \"x\", \"y\" or \"z\")");
  EXPECT_EQ(refusal(object(kPoint), "[]"),
            "doc.json: f: expected an object, got array");
  // At the document itself.
  Reader r("doc.json");
  EXPECT_FALSE(readFields(r, parsed("1"), "", kPoint, p));
  EXPECT_EQ(r.error(), "doc.json: (root): expected an object, got number");
}

TEST(JsonSchema, VariantsAreClosedObjectsOfOneTag) {
  Rule<Point> rule = variant<Point>(
      "point", {{{"x", integer(0, 9), &Point::x}},
                {{"y", integer(0, 9), &Point::y},
                 {"z", integer(0, 9), &Point::z, Presence::Optional}}});
  Point p;
  EXPECT_EQ(refusal(rule, R"({"y": 2, "z": 3})", p), "");
  EXPECT_EQ(p.y, 2);
  EXPECT_EQ(p.z, 3);
  EXPECT_EQ(refusal(rule, R"({"w": 2})"),
            "doc.json: f: unknown point 'w' (expected \"x\" or \"y\")");
  EXPECT_EQ(refusal(rule, R"({})"),
            "doc.json: f: expected a key \"x\" or \"y\", got {}");
  EXPECT_EQ(refusal(rule, R"({"x": 1, "z": 3})"),
            "doc.json: f: unknown field 'z' (expected \"x\")");
  EXPECT_EQ(refusal(rule, "2"), "doc.json: f: expected an object with a key "
                                "\"x\" or \"y\", got number");
}

TEST(JsonSchema, TheFirstFailureAndItsContextAreKept) {
  Reader r("doc.json");
  {
    Reader::Context named(r, "point 'p': ");
    EXPECT_FALSE(r.fail("a", "first"));
  }
  EXPECT_FALSE(r.fail("b", "second"));
  EXPECT_EQ(r.error(), "doc.json: a: point 'p': first");
  Reader plain;
  EXPECT_FALSE(plain.fail("a.b", "why"));
  EXPECT_EQ(plain.error(), "a.b: why");
}

TEST(JsonSchema, SatisfyingAddsACheck) {
  Rule<int64_t> even = satisfying(
      integer(), +[](const int64_t &v) -> std::string {
        return v % 2 ? "odd: " + std::to_string(v) : "";
      });
  EXPECT_EQ(refusal(even, "4"), "");
  EXPECT_EQ(refusal(even, "5"), "doc.json: f: odd: 5");
}

} // namespace
