// Private: conversion of scalar text by declared type, and small text helpers.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace esper::config::detail {

// Each Parse* returns true and sets *out, or returns false and sets *err to the reason,
// phrased around `shown` (the quoted value, or "(value redacted)" for a secret).
bool ParseBool(std::string_view text, std::string_view shown, bool* out, std::string* err);
bool ParseInt(std::string_view text, std::string_view shown, std::int64_t* out, std::string* err);
bool ParseDouble(std::string_view text, std::string_view shown, double* out, std::string* err);
bool ParseDuration(std::string_view text, std::string_view shown, std::chrono::milliseconds* out,
                   std::string* err);
/// scheme://rest, scheme among `schemes` (any when empty).
bool ParseUrl(std::string_view text, std::string_view shown, const std::vector<std::string_view>& schemes,
              std::string* err);

/// "30s", "250ms", "1m30s" — the canonical text of a duration.
std::string FormatDuration(std::chrono::milliseconds d);
/// A value as any output may show it: a URL (text holding "://") with its credentials redacted
/// (esper::RedactUrl: user-info, ?password=, …); other text as it is.
std::string ShownText(std::string_view text);
/// ShownText quoted for a message: "\"http://u:***@h\"".
std::string QuoteShown(std::string_view text);

/// A YAML double-quoted scalar that reads back as `s` (invalid UTF-8 bytes as U+FFFD): the JSON
/// escapes, plus \xNN / \uNNNN for what YAML may not hold raw (DEL, C1 controls, U+2028, …).
/// Printable on a terminal too: messages quote values with it.
std::string Quote(std::string_view s);
/// How YAML 1.2's core schema resolves a plain scalar: 'n' null, 'b' bool, 'i' int, 'f' float,
/// 's' string (used only to render free-form values in JSON and to quote in YAML dumps).
char CoreSchemaKind(std::string_view text);

}  // namespace esper::config::detail
