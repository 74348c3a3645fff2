// Format strings are checked at compile time, named placeholders included. Built only by the
// LogFormatCheck.* tests: each defines one ESPER_CASE_*; every case but `ok` must fail to
// compile with its own error (the tests match it in the build's output), and `ok` proves the
// failures come from the format strings.
#include "esper/log/logger.h"

void Use(esper::log::Logger& l) {
#if defined(ESPER_CASE_ok)
  ESPER_LOG_INFO(l, "loaded {layer} in {ms:.1f} ms", 5, 1.5);
  ESPER_LOG_INFO(l, "positional {} {:>4}", 5, 1.5);
#elif defined(ESPER_CASE_mixed)
  ESPER_LOG_INFO(l, "loaded {layer} in {} ms", 5, 1.5);  // named and positional mixed
#elif defined(ESPER_CASE_count)
  ESPER_LOG_INFO(l, "loaded {layer}", 5, 1.5);  // two arguments, one name
#elif defined(ESPER_CASE_spec)
  ESPER_LOG_INFO(l, "loaded {layer:d}", 1.5);  // 'd' is not a spec for a double
#elif defined(ESPER_CASE_positional)
  ESPER_LOG_INFO(l, "value {:d}", "text");  // fmt's own check still applies
#endif
}
