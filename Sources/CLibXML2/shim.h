#include <libxml/xmlversion.h>
// Debian's libxml2 is built with ICU, and its encoding header then includes the system's ICU
// headers, which clash with Foundation's own copy of ICU in any Swift module that sees both.
// Nothing here uses libxml2's ICU converters, so hide them.
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlwriter.h>
#include <libxml/xmlschemas.h>
#include <libxml/parser.h>
