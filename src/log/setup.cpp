#include "esper/log/setup.h"

namespace esper::log {

Result<std::unique_ptr<Logger>> setup_service_logging(std::string_view service, std::string_view level,
                                                      std::string_view format, bool async,
                                                      std::string_view log_file) {
  ESPER_ASSIGN_OR_RETURN(Level lvl, ParseLevel(level));
  ESPER_ASSIGN_OR_RETURN(Format fmt_kind, ParseFormat(format));
  Options o;
  o.name = std::string(service);
  o.level = lvl;
  o.async = async;
  o.sinks.push_back({.sink = std::make_shared<StreamSink>(StreamSink::Stream::kStderr), .format = fmt_kind});
  if (!log_file.empty()) {
    ESPER_ASSIGN_OR_RETURN(auto file, FileSink::Create(std::string(log_file)));
    o.sinks.push_back({.sink = std::move(file), .format = fmt_kind});
  }
  return Logger::Create(std::move(o));
}

}  // namespace esper::log
