// The content type `esper s3 cp` gives an upload without --content-type: guessed from the file
// name's extension as `aws s3 cp` does (Python's mimetypes: the system's /etc/mime.types, then a
// small built-in table), so the same file uploaded by either tool reads back with the same type.
//
//   GuessContentType("model.json")   // "application/json"
//   GuessContentType("blob")         // "" (the store's default, application/octet-stream)
//
// Thread safety: any thread (the table is read once).
#pragma once

#include <string>
#include <string_view>

namespace esper::cli::s3cmd {

/// The type for `name`'s extension, or "" when none is known.
std::string GuessContentType(std::string_view name);

}  // namespace esper::cli::s3cmd
