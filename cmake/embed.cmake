# Turns the file IN into a C++ source OUT that defines reaperd::config::kDefaultConfigToml.
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUT} "// Generated from ${IN}; do not edit.\n#include <string_view>\n"
  "namespace reaperd::config {\nnamespace {\nconstexpr unsigned char kBytes[] = {${bytes} 0};\n}\n"
  "extern const std::string_view kDefaultConfigToml;\n"
  "const std::string_view kDefaultConfigToml(reinterpret_cast<const char*>(kBytes), sizeof(kBytes) - 1);\n}\n")
