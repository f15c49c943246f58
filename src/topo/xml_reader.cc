#include "topo/xml_reader.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "topo/file_limits.h"

namespace tutti::topo {
namespace {

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':';
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class Reader {
 public:
  explicit Reader(const std::string& text) : text_(text) {}

  Status document(XmlElement* root) {
    if (text_.size() > kMaxTopologyFileBytes) {
      return makeError(tuttiInvalidArgument,
                       "XML: {} bytes, more than the {} a topology file may have", text_.size(),
                       kMaxTopologyFileBytes);
    }
    bool haveRoot = false;
    while (true) {
      skipSpace();
      if (atEnd()) break;
      if (startsWith("<?")) {
        TUTTI_RETURN_IF_ERROR(skipPast("?>", "processing instruction"));
      } else if (startsWith("<!--")) {
        TUTTI_RETURN_IF_ERROR(skipPast("-->", "comment"));
      } else if (startsWith("<!DOCTYPE")) {
        TUTTI_RETURN_IF_ERROR(doctype());
      } else if (peek() == '<') {
        if (haveRoot) return error("a second root element");
        TUTTI_RETURN_IF_ERROR(element(root, 0));
        haveRoot = true;
      } else {
        return error("text outside the root element");
      }
    }
    if (!haveRoot) return error("no root element");
    return Status::ok();
  }

 private:
  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }
  bool startsWith(const char* prefix) const {
    return text_.compare(pos_, strlen(prefix), prefix) == 0;
  }
  void advance(size_t n = 1) {
    for (size_t i = 0; i < n && !atEnd(); ++i) {
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
  }
  void skipSpace() {
    while (!atEnd() && isSpace(peek())) advance();
  }
  Status error(const std::string& what) const {
    return makeError(tuttiInvalidArgument, "XML line {}: {}", line_, what);
  }

  Status skipPast(const char* terminator, const char* what) {
    size_t end = text_.find(terminator, pos_);
    if (end == std::string::npos) return error(fmt::format("unterminated {}", what));
    advance(end + strlen(terminator) - pos_);
    return Status::ok();
  }

  // <!DOCTYPE name SYSTEM "file"> without an internal subset.
  Status doctype() {
    size_t end = text_.find('>', pos_);
    if (end == std::string::npos) return error("unterminated <!DOCTYPE");
    if (text_.find('[', pos_) < end) return error("<!DOCTYPE with an internal subset");
    advance(end + 1 - pos_);
    return Status::ok();
  }

  Status name(std::string* out) {
    size_t start = pos_;
    while (!atEnd() && isNameChar(peek())) advance();
    if (pos_ == start) return error("expected a name");
    *out = text_.substr(start, pos_ - start);
    return Status::ok();
  }

  // Appends the character data of [start, end), entities decoded.
  Status decode(size_t start, size_t end, std::string* out) {
    for (size_t i = start; i < end; ++i) {
      char c = text_[i];
      if (c != '&') {
        out->push_back(c);
        continue;
      }
      size_t semicolon = text_.find(';', i);
      if (semicolon == std::string::npos || semicolon >= end) return error("unterminated entity");
      std::string entity = text_.substr(i + 1, semicolon - i - 1);
      if (entity == "lt") {
        out->push_back('<');
      } else if (entity == "gt") {
        out->push_back('>');
      } else if (entity == "amp") {
        out->push_back('&');
      } else if (entity == "quot") {
        out->push_back('"');
      } else if (entity == "apos") {
        out->push_back('\'');
      } else if (entity.size() > 1 && entity[0] == '#') {
        bool hex = entity[1] == 'x' || entity[1] == 'X';
        const char* digits = entity.c_str() + (hex ? 2 : 1);
        char* stop = nullptr;
        unsigned long code = std::strtoul(digits, &stop, hex ? 16 : 10);
        if (*digits == '\0' || *stop != '\0' || code == 0 || code > 0x10FFFF) {
          return error(fmt::format("bad character reference &{};", entity));
        }
        appendUtf8(static_cast<uint32_t>(code), out);
      } else {
        return error(fmt::format("unknown entity &{};", entity));
      }
      i = semicolon;
    }
    return Status::ok();
  }

  static void appendUtf8(uint32_t code, std::string* out) {
    if (code < 0x80) {
      out->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (code >> 6)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (code >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (code >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  Status attribute(XmlElement* element) {
    std::string key;
    TUTTI_RETURN_IF_ERROR(name(&key));
    skipSpace();
    if (peek() != '=') return error(fmt::format("attribute '{}' without a value", key));
    advance();
    skipSpace();
    char quote = peek();
    if (quote != '"' && quote != '\'')
      return error(fmt::format("attribute '{}': expected a quote", key));
    advance();
    size_t start = pos_;
    size_t end = text_.find(quote, pos_);
    if (end == std::string::npos) return error(fmt::format("attribute '{}' is not closed", key));
    if (std::memchr(text_.data() + start, '<', end - start) != nullptr) {
      return error(fmt::format("'<' in attribute '{}'", key));
    }
    if (end - start > kMaxXmlAttributeBytes) {
      return error(fmt::format("attribute '{}' has {} bytes, more than the {} allowed", key,
                               end - start, kMaxXmlAttributeBytes));
    }
    if (element->attributes.size() >= static_cast<size_t>(kMaxXmlAttributesPerElement)) {
      return error(
          fmt::format("more than {} attributes on one element", kMaxXmlAttributesPerElement));
    }
    std::string value;
    TUTTI_RETURN_IF_ERROR(decode(start, end, &value));
    advance(end + 1 - pos_);
    if (element->attribute(key) != nullptr) return error(fmt::format("attribute '{}' twice", key));
    element->attributes.emplace_back(std::move(key), std::move(value));
    return Status::ok();
  }

  Status element(XmlElement* out, int depth) {
    if (depth > kMaxXmlDepth) {
      return error(fmt::format("elements nested too deep (more than {} levels)", kMaxXmlDepth));
    }
    if (++elements_ > kMaxXmlElements) {
      return error(fmt::format("more than {} elements", kMaxXmlElements));
    }
    out->line = line_;
    advance();  // '<'
    TUTTI_RETURN_IF_ERROR(name(&out->name));
    while (true) {
      bool spaced = isSpace(peek());
      skipSpace();
      if (atEnd()) return error(fmt::format("<{}> is not closed", out->name));
      if (startsWith("/>")) {
        advance(2);
        return Status::ok();
      }
      if (peek() == '>') {
        advance();
        break;
      }
      if (!spaced)
        return error(fmt::format("<{}>: expected a space before an attribute", out->name));
      TUTTI_RETURN_IF_ERROR(attribute(out));
    }
    // Content: text, comments and children up to the matching end tag.
    while (true) {
      size_t next = text_.find('<', pos_);
      if (next == std::string::npos) return error(fmt::format("<{}> is not closed", out->name));
      TUTTI_RETURN_IF_ERROR(decode(pos_, next, &out->text));
      advance(next - pos_);
      if (startsWith("<!--")) {
        TUTTI_RETURN_IF_ERROR(skipPast("-->", "comment"));
      } else if (startsWith("<![CDATA[")) {
        return error("CDATA sections are not supported");
      } else if (startsWith("<?")) {
        TUTTI_RETURN_IF_ERROR(skipPast("?>", "processing instruction"));
      } else if (startsWith("</")) {
        advance(2);
        std::string closing;
        TUTTI_RETURN_IF_ERROR(name(&closing));
        skipSpace();
        if (closing != out->name || peek() != '>') {
          return error(fmt::format("</{}> closes <{}> (line {})", closing, out->name, out->line));
        }
        advance();
        return Status::ok();
      } else {
        out->children.emplace_back();
        TUTTI_RETURN_IF_ERROR(element(&out->children.back(), depth + 1));
      }
    }
  }

  const std::string& text_;
  size_t pos_ = 0;
  int line_ = 1;
  int elements_ = 0;
};

}  // namespace

const std::string* XmlElement::attribute(const std::string& key) const {
  for (const auto& [k, v] : attributes) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string XmlElement::attributeOr(const std::string& key, const std::string& fallback) const {
  const std::string* value = attribute(key);
  return value != nullptr ? *value : fallback;
}

Status parseXml(const std::string& text, XmlElement* root) {
  *root = XmlElement();
  return Reader(text).document(root);
}

}  // namespace tutti::topo
