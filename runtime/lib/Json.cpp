//===- Json.cpp - A tiny JSON reader
//---------------------------------------===//

#include "Json.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <unordered_set>

namespace samoyeds {
namespace json {

const Value *Value::get(const std::string &key) const {
  if (kind != Kind::Object)
    return nullptr;
  for (const auto &kv : object)
    if (kv.first == key)
      return &kv.second;
  return nullptr;
}

const char *kindName(Value::Kind kind) {
  switch (kind) {
  case Value::Kind::Null:
    return "null";
  case Value::Kind::Bool:
    return "boolean";
  case Value::Kind::Number:
    return "number";
  case Value::Kind::String:
    return "string";
  case Value::Kind::Array:
    return "array";
  case Value::Kind::Object:
    return "object";
  }
  return "?";
}

std::string quote(const std::string &s) {
  static const char *hex = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kQuoteLimit; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\'' || c == '\\')
      out += '\\';
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  if (s.size() <= kQuoteLimit)
    return out + "'";
  return out + "...' (" + std::to_string(s.size()) + " bytes)";
}

namespace {
class Parser {
public:
  explicit Parser(const std::string &text) : text(text) {}

  bool run(Value &out, std::string &error) {
    skipSpace();
    bool ok = parseValue(out, 0);
    if (ok) {
      skipSpace();
      if (!atEnd())
        ok = fail("trailing characters after the JSON value");
    }
    if (!ok)
      error = message;
    return ok;
  }

private:
  const std::string &text;
  size_t pos = 0;
  std::string message;

  bool atEnd() const { return pos >= text.size(); }

  /// Records an error at the current position; always returns false.
  bool fail(const std::string &what) {
    if (!message.empty())
      return false;
    int line = 1, col = 1;
    for (size_t i = 0; i < pos && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    message = std::to_string(line) + ":" + std::to_string(col) + ": " + what;
    return false;
  }

  void skipSpace() {
    while (!atEnd() && (text[pos] == ' ' || text[pos] == '\t' ||
                        text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  bool literal(const char *word) {
    size_t n = std::char_traits<char>::length(word);
    if (text.compare(pos, n, word) != 0)
      return fail(std::string("invalid literal, expected '") + word + "'");
    pos += n;
    return true;
  }

  bool parseValue(Value &out, int depth) {
    if (atEnd())
      return fail("unexpected end of input, expected a value");
    char c = text[pos];
    if ((c == '{' || c == '[') && depth >= kMaxDepth)
      return fail("nesting deeper than " + std::to_string(kMaxDepth));
    switch (c) {
    case '{':
      return parseObject(out, depth);
    case '[':
      return parseArray(out, depth);
    case '"':
      out.kind = Value::Kind::String;
      return parseString(out.string);
    case 't':
      out.kind = Value::Kind::Bool;
      out.boolean = true;
      return literal("true");
    case 'f':
      out.kind = Value::Kind::Bool;
      out.boolean = false;
      return literal("false");
    case 'n':
      out.kind = Value::Kind::Null;
      return literal("null");
    default:
      if (c == '-' || (c >= '0' && c <= '9'))
        return parseNumber(out);
      return fail("unexpected character " + quote(std::string(1, c)));
    }
  }

  bool parseObject(Value &out, int depth) {
    out.kind = Value::Kind::Object;
    ++pos;
    skipSpace();
    if (!atEnd() && text[pos] == '}') {
      ++pos;
      return true;
    }
    std::unordered_set<std::string> keys;
    for (;;) {
      skipSpace();
      if (atEnd() || text[pos] != '"')
        return fail("expected a string key");
      std::string key;
      if (!parseString(key))
        return false;
      if (!keys.insert(key).second)
        return fail("duplicate key " + quote(key));
      skipSpace();
      if (atEnd() || text[pos] != ':')
        return fail("expected ':' after key");
      ++pos;
      skipSpace();
      Value v;
      if (!parseValue(v, depth + 1))
        return false;
      out.object.emplace_back(std::move(key), std::move(v));
      skipSpace();
      if (atEnd())
        return fail("unexpected end of input in object");
      if (text[pos] == ',') {
        ++pos;
        continue;
      }
      if (text[pos] == '}') {
        ++pos;
        return true;
      }
      return fail("expected ',' or '}' in object");
    }
  }

  bool parseArray(Value &out, int depth) {
    out.kind = Value::Kind::Array;
    ++pos;
    skipSpace();
    if (!atEnd() && text[pos] == ']') {
      ++pos;
      return true;
    }
    for (;;) {
      skipSpace();
      Value v;
      if (!parseValue(v, depth + 1))
        return false;
      out.array.push_back(std::move(v));
      skipSpace();
      if (atEnd())
        return fail("unexpected end of input in array");
      if (text[pos] == ',') {
        ++pos;
        continue;
      }
      if (text[pos] == ']') {
        ++pos;
        return true;
      }
      return fail("expected ',' or ']' in array");
    }
  }

  static void appendUtf8(std::string &s, uint32_t cp) {
    if (cp < 0x80) {
      s += char(cp);
    } else if (cp < 0x800) {
      s += char(0xc0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += char(0xe0 | (cp >> 12));
      s += char(0x80 | ((cp >> 6) & 0x3f));
      s += char(0x80 | (cp & 0x3f));
    } else {
      s += char(0xf0 | (cp >> 18));
      s += char(0x80 | ((cp >> 12) & 0x3f));
      s += char(0x80 | ((cp >> 6) & 0x3f));
      s += char(0x80 | (cp & 0x3f));
    }
  }

  bool hex4(uint32_t &cp) {
    if (pos + 4 > text.size())
      return fail("truncated \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text[pos + i];
      cp <<= 4;
      if (h >= '0' && h <= '9')
        cp |= uint32_t(h - '0');
      else if (h >= 'a' && h <= 'f')
        cp |= uint32_t(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        cp |= uint32_t(h - 'A' + 10);
      else
        return fail("invalid hex digit in \\u escape");
    }
    pos += 4;
    return true;
  }

  /// Appends the UTF-8 sequence at `pos` (a lead byte >= 0x80) to `out`;
  /// false for a stray continuation byte, a truncated or overlong
  /// sequence, a surrogate or a code point above U+10FFFF.
  bool utf8Sequence(std::string &out) {
    unsigned char lead = static_cast<unsigned char>(text[pos]);
    int extra = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : -1;
    if (extra < 0 || lead > 0xf4 || pos + size_t(extra) >= text.size())
      return false;
    uint32_t cp = lead & (0x3fu >> extra);
    for (int i = 1; i <= extra; ++i) {
      unsigned char c = static_cast<unsigned char>(text[pos + size_t(i)]);
      if ((c & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (c & 0x3fu);
    }
    static const uint32_t minimum[] = {0, 0x80, 0x800, 0x10000};
    if (cp < minimum[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
      return false;
    out.append(text, pos, size_t(extra) + 1);
    pos += size_t(extra) + 1;
    return true;
  }

  bool parseString(std::string &out) {
    ++pos; // opening quote
    for (;;) {
      if (atEnd())
        return fail("unterminated string");
      char c = text[pos];
      if (c == '"') {
        ++pos;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in string");
      if (static_cast<unsigned char>(c) >= 0x80) {
        if (!utf8Sequence(out))
          return fail("invalid UTF-8 in string");
        continue;
      }
      if (c != '\\') {
        out += c;
        ++pos;
        continue;
      }
      ++pos;
      if (atEnd())
        return fail("unterminated escape");
      char e = text[pos++];
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (!hex4(cp))
          return false;
        if (cp >= 0xd800 && cp < 0xdc00) {
          uint32_t lo = 0;
          if (text.compare(pos, 2, "\\u") != 0)
            return fail("unpaired surrogate in \\u escape");
          pos += 2;
          if (!hex4(lo))
            return false;
          if (lo < 0xdc00 || lo >= 0xe000)
            return fail("invalid low surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp < 0xe000) {
          return fail("unpaired surrogate in \\u escape");
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos;
        return fail("invalid escape " + quote(std::string("\\") + e));
      }
    }
  }

  bool parseNumber(Value &out) {
    size_t start = pos;
    bool integer = true;
    if (text[pos] == '-')
      ++pos;
    auto digits = [&]() {
      size_t s = pos;
      while (!atEnd() && text[pos] >= '0' && text[pos] <= '9')
        ++pos;
      return pos > s;
    };
    if (atEnd())
      return fail("invalid number");
    if (text[pos] == '0') {
      ++pos;
    } else if (!digits()) {
      return fail("invalid number");
    }
    if (!atEnd() && text[pos] == '.') {
      integer = false;
      ++pos;
      if (!digits())
        return fail("expected digits after '.'");
    }
    if (!atEnd() && (text[pos] == 'e' || text[pos] == 'E')) {
      integer = false;
      ++pos;
      if (!atEnd() && (text[pos] == '+' || text[pos] == '-'))
        ++pos;
      if (!digits())
        return fail("expected digits in exponent");
    }
    std::string token = text.substr(start, pos - start);
    out.kind = Value::Kind::Number;
    out.number = std::strtod(token.c_str(), nullptr);
    out.isInteger = false;
    if (integer) {
      errno = 0;
      long long v = std::strtoll(token.c_str(), nullptr, 10);
      if (errno == 0) {
        out.isInteger = true;
        out.integer = v;
      }
    }
    return true;
  }
};
} // namespace

bool parse(const std::string &text, Value &out, std::string &error) {
  out = Value();
  Parser p(text);
  return p.run(out, error);
}

} // namespace json
} // namespace samoyeds
