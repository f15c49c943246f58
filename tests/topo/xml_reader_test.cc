#include "topo/xml_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace tutti::topo {
namespace {

TEST(XmlReaderTest, ElementsAttributesTextAndComments) {
  const char* text = R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE topology SYSTEM "hwloc2.dtd">
<!-- a comment before the root -->
<system version='1'>
  <cpu numaid="0" affinity="0000ffff">  <!-- trailing comment -->
    <pci busid="0000:01:00.0" link_speed="16.0 GT/s PCIe"/>
    <pci busid = "0000:02:00.0" ><gpu sm="90"/></pci>
  </cpu>
  <indexes length="4">0 1 </indexes>
  <name>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#65;&#x42;&#xe9;</name>
</system>
)";
  XmlElement root;
  Status status = parseXml(text, &root);
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_EQ(root.name, "system");
  EXPECT_EQ(root.attributeOr("version", ""), "1");
  ASSERT_EQ(root.children.size(), 3u);
  const XmlElement& cpu = root.children[0];
  EXPECT_EQ(cpu.line, 5);
  ASSERT_EQ(cpu.children.size(), 2u);
  EXPECT_EQ(*cpu.children[0].attribute("link_speed"), "16.0 GT/s PCIe");
  EXPECT_TRUE(cpu.children[0].children.empty());
  EXPECT_EQ(cpu.children[1].attributeOr("busid", ""), "0000:02:00.0");
  EXPECT_EQ(cpu.children[1].children[0].attributeOr("sm", ""), "90");
  EXPECT_EQ(cpu.attribute("missing"), nullptr);
  EXPECT_EQ(root.children[1].text, "0 1 ");
  EXPECT_EQ(root.children[2].text, "a <b> & \"c\" 'd' AB\xc3\xa9");
}

TEST(XmlReaderTest, MalformedDocumentsAreErrorsWithTheLine) {
  struct Case {
    const char* text;
    const char* mentions;
  };
  const Case cases[] = {
      {"<a><b></a>", "</a> closes <b>"},
      {"<a>\n<b x=\"1\" x=\"2\"/></a>", "line 2"},
      {"<a x=1/>", "expected a quote"},
      {"<a x=\"1/>", "not closed"},
      {"<a>", "not closed"},
      {"<a/><b/>", "second root"},
      {"text", "outside the root"},
      {"", "no root element"},
      {"<a>&bogus;</a>", "unknown entity"},
      {"<a><![CDATA[x]]></a>", "CDATA"},
      {"<!-- never closed <a/>", "unterminated comment"},
      {"<!DOCTYPE a [ <!ENTITY x \"y\"> ]><a/>", "internal subset"},
      {"<a x=\"1\"y=\"2\"/>", "space before an attribute"},
  };
  for (const Case& c : cases) {
    XmlElement root;
    Status status = parseXml(c.text, &root);
    ASSERT_FALSE(status.isOk()) << c.text;
    EXPECT_EQ(status.code(), tuttiInvalidArgument);
    EXPECT_NE(status.message().find(c.mentions), std::string::npos)
        << c.text << " -> " << status.message();
  }
}

TEST(XmlReaderTest, DeepNestingIsRefused) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "<a>";
  for (int i = 0; i < 300; ++i) text += "</a>";
  XmlElement root;
  Status status = parseXml(text, &root);
  ASSERT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("too deep"), std::string::npos);
}

}  // namespace
}  // namespace tutti::topo
