// The CLI's only way to write to stdout and stderr.
//
// fmt::print throws when a write fails (std::terminate when that happens on a library thread, as
// `esper http get -v` printed from the loop thread), and fwrite to a full disk or /dev/full fails
// in silence until a flush nobody checks. These never throw; a failed write is remembered, and
// Main() turns it into exit 1 with the reason ("write to stdout: No space left on device") on
// whichever stream still works. curl does the same (its exit 23).
//
//   cli::Print("{} values\n", n);          // stdout
//   cli::PrintErr("esper: {}\n", why);     // stderr
//   if (!cli::Write(chunk)) return …;      // raw bytes to stdout (a response body)
//
// Text that came from outside (a server's headers, an error message quoting a response body)
// goes through TerminalSafe before it reaches a terminal.
//
// Thread safety: any thread; each call is one fwrite, which stdio locks.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>

#include "esper/core/result.h"

namespace esper::cli {

/// Writes `bytes` to stdout / stderr. false when this write, or an earlier one to the same
/// stream, failed.
bool Write(std::string_view bytes);
bool WriteErr(std::string_view bytes);

template <typename... Args>
bool Print(fmt::format_string<Args...> format, Args&&... args) {
  return Write(fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
bool PrintErr(fmt::format_string<Args...> format, Args&&... args) {
  return WriteErr(fmt::format(format, std::forward<Args>(args)...));
}

/// Flushes stdout and stderr now (a failure is remembered, as a failed write is).
void Flush();
/// Flushes stdout and stderr, and says whether every write to them succeeded: the first failure,
/// stdout's first ("write to stdout: No space left on device").
Status FlushOutput();

/// `text` with every control character but newline and tab (ESC, BEL, CR, DEL, …) written as
/// \xNN, so that a server's bytes cannot move the cursor, retitle the terminal or hide text.
std::string TerminalSafe(std::string_view text);

}  // namespace esper::cli
