# With CREST_FUZZ=ON and clang, every target of the build is compiled with coverage
# instrumentation for libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer; the fuzz
# targets themselves (fuzz/CMakeLists.txt) link libFuzzer's main. scripts/fuzz uses a build
# directory of its own (build/fuzz) for this.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(WARNING "CREST_FUZZ needs clang (CMAKE_CXX_COMPILER=clang++); fuzz targets skipped")
  return()
endif()
set(CREST_FUZZ_SANITIZERS address,undefined)
add_compile_options(-fsanitize=fuzzer-no-link,${CREST_FUZZ_SANITIZERS}
  -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
add_link_options(-fsanitize=${CREST_FUZZ_SANITIZERS})
