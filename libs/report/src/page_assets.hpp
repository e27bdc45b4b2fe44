#pragma once
// The page's scripts and styles, compiled in (see libs/report/CMakeLists.txt).
namespace crest::report::assets {
extern const char* const kUplotJs;
extern const char* const kUplotCss;
extern const char* const kReportJs;
extern const char* const kReportCss;
}  // namespace crest::report::assets
