// A small reader for the XML that topology files use: elements, attributes (single or double
// quotes), text, comments, the <?xml?> declaration, <!DOCTYPE>, self-closing tags and the five
// predefined entities plus numeric character references. No namespaces, CDATA or DTD contents:
// those are errors, not silently skipped.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace tutti::topo {

struct XmlElement {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;  // in document order
  std::vector<XmlElement> children;
  std::string text;  // character data directly inside, concatenated
  int line = 0;      // where the start tag is

  // The attribute's value, or nullptr.
  const std::string* attribute(const std::string& key) const;
  // The attribute's value, or fallback.
  std::string attributeOr(const std::string& key, const std::string& fallback) const;
};

// Parses a whole document into its root element. Errors are tuttiInvalidArgument with the line;
// a document over a cap of file_limits.h (bytes, elements, attributes per element, bytes per
// attribute, depth) is one, naming the cap.
Status parseXml(const std::string& text, XmlElement* root);

}  // namespace tutti::topo
