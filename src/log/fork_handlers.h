// Private: the pthread_atfork handlers that keep every live logger working across fork()
// (fork_handlers.cpp, with LoggerCore's PrepareFork / ParentAfterFork / ChildAfterFork).
#pragma once

namespace esper::log::detail {

class LoggerCore;

/// Installs the handlers on the first call; `c` is prepared for every fork until unregistered.
void RegisterForFork(LoggerCore* c);
void UnregisterForFork(LoggerCore* c);

}  // namespace esper::log::detail
